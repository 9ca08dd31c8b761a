import type { Kysely } from 'kysely';
import type pino from 'pino';
import type { Config } from '../config.ts';
import { ConfigCache } from '../db/config-cache.ts';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import { pruneInChunks } from '../db/prune.ts';
import type { DB } from '../db/schema.ts';
import type { MailService } from '../email/service.ts';
import { DomainError, type FieldError, isDomainError, validationError } from '../errors.ts';
import {
  errorText,
  exponentialBackoff,
  PermanentJobFailure,
  RetryJobLater,
  type RunningJob,
} from '../jobs/model.ts';
import type { JobService } from '../jobs/service.ts';
import { eventTypes } from '../leads/events-model.ts';
import { leadJson } from '../leads/json.ts';
import type { Lead, TimelineEntry } from '../leads/model.ts';
import type { LeadChange } from '../leads/reactions.ts';
import type { WorkspaceContext } from '../leads/service.ts';
import { assertPublicTarget, isRefusedTarget, postJson } from '../outbound/target-guard.ts';
import type { Score } from '../scoring/engine.ts';
import type { Signal, SignalType } from '../signals/bus.ts';
import { parseRetryAfter } from '../webhooks/model.ts';
import type { Workspace } from '../workspaces/model.ts';
import { type AlertContext, alertEmail, alertJsonBody, alertSlackBody, triggerName } from './messages.ts';
import {
  ALERT_RETENTION_MS,
  type Alert,
  type AlertChannel,
  type AlertFacts,
  type AlertRule,
  alertKey,
  candidateWindow,
  changeFirings,
  chooseRecipients,
  coveredEmails,
  coveredText,
  defaultRuleDrafts,
  emailWinner,
  type Firing,
  indexRules,
  MAX_RULES,
  type Person,
  prepareRule,
  type RuleIndex,
  type RuleInput,
  signalFirings,
  type WindowCandidate,
  windowFirings,
} from './model.ts';
import * as store from './store.ts';

/** What alerts need of the lead service. */
interface Leads {
  get(workspaceId: string, id: string): Promise<Lead>;
  countActivitiesIn(
    trx: Kysely<DB>,
    workspaceId: string,
    windows: ReadonlyArray<{ leadId: string; type: string; after: number; until: number }>,
  ): Promise<number[]>;
  appendTimelineIn(trx: Kysely<DB>, workspaceId: string, entries: readonly TimelineEntry[]): Promise<void>;
}

export interface AlertServiceDeps {
  database: Database;
  jobs: JobService;
  mail: Pick<MailService, 'sendIn'>;
  leads: Leads;
  /** The workspace's people (src/users): owners and their managers. */
  users: { findIn(db: Kysely<DB>, workspaceId: string, ids: readonly string[]): Promise<Person[]> };
  workspaces: { getWorkspace(id: string): Promise<Workspace> };
  scoring: { scorer(workspaceId: string): Promise<(lead: Lead) => Score> };
  config: Pick<Config, 'publicUrl'>;
  clock: () => number;
  logger: pino.Logger;
}

export type AlertService = ReturnType<typeof createAlertService>;

export const ALERT_DELIVER = 'alert.deliver';

/** What an `alert.deliver` job carries: enough to say what happened without the rule (it may be gone). */
export interface AlertJob {
  alertId: string;
  ruleId: string;
  ruleName: string;
  leadId: string;
  channel: AlertChannel;
  facts: AlertFacts;
  fallbackEmail: string | null;
  firedAt: number;
}

/**
 * How long a workspace's indexed rules are cached when no word of a change comes. Every capture
 * and event passes through the alerts reaction; a change made by any process is announced as
 * it commits (config-cache.ts), and this is the bound should a process's listening connection
 * be down, or on SQLite. (5 s)
 */
const RULES_CACHE_MS = 5_000;
/** A webhook that has not answered in this time failed (and is retried). (10 s) */
const WEBHOOK_TIMEOUT_MS = 10_000;
/** The longest Retry-After honoured: a longer one waits this long. (1 h) */
const MAX_RETRY_AFTER_MS = 3_600_000;
/** Alerts deleted per pruning transaction. (5,000) */
const PRUNE_CHUNK = 5_000;
/** Rows per alerts insert: 13 values each, far below both engines' parameter limits. (500) */
const INSERT_CHUNK = 500;

/** The signals alerts follow; others are ignored before any lookup. */
const followedSignals = new Set<SignalType>(['lead.score_crossed', 'sla.warning']);

function jobProblem(payload: unknown): string | undefined {
  const p = payload as Partial<AlertJob> | null;
  if (typeof p !== 'object' || p === null) return 'must be an object';
  for (const field of ['alertId', 'ruleId', 'ruleName', 'leadId'] as const)
    if (typeof p[field] !== 'string') return `${field} must be a string`;
  if (typeof p.channel !== 'object' || p.channel === null) return 'channel must be an object';
  if (typeof p.facts !== 'object' || p.facts === null) return 'facts must be an object';
  if (typeof p.firedAt !== 'number') return 'firedAt must be a number';
  return undefined;
}

/**
 * Owner alerts. Rules fire inside the writing transaction — activity and "became hot"
 * triggers from the lead reaction (`react`), score crossings and SLA warnings from the signals
 * bus (`onSignals`) — and each firing records
 * one alert per channel and queues one `alert.deliver` job for it. The job reads the lead and
 * its owner as they are when it runs, then emails (through the mail queue) or posts to the
 * webhook, and records the outcome on the alert and an `alert_sent` entry on the timeline.
 */
export function createAlertService(deps: AlertServiceDeps) {
  const { database, jobs, mail, leads, users, workspaces, scoring, config, clock, logger } = deps;
  const { db } = database;
  const cache = new ConfigCache<RuleIndex>({ kind: 'alerts', database, ttlMs: RULES_CACHE_MS, clock });
  const changedIn = (trx: Kysely<DB>, workspaceId: string) => cache.changedIn(trx, workspaceId);

  const newRules = (now: number): AlertRule[] =>
    defaultRuleDrafts().map((d) => ({
      id: newId(),
      name: d.name,
      enabled: d.enabled ?? true,
      trigger: d.trigger,
      channels: d.channels,
      fallbackEmail: d.fallbackEmail ?? null,
      createdAt: now,
      updatedAt: now,
    }));

  /** Writes the default rules in `trx` unless the workspace had them already; true when written now. */
  async function seedIn(trx: Kysely<DB>, workspaceId: string): Promise<boolean> {
    const now = clock();
    if (!(await store.claimDefaults(trx, workspaceId, now))) return false;
    await store.insertRules(trx, workspaceId, newRules(now));
    return true;
  }

  /**
   * The workspace's enabled rules, indexed: from the cache, else read with `db`. `seed` (the
   * caller is in a write transaction): a workspace that never had rules gets the defaults
   * now. Without `seed` such a workspace answers as the defaults would, writing nothing.
   */
  async function indexIn(db: Kysely<DB>, workspaceId: string, seed: boolean): Promise<RuleIndex> {
    const cached = cache.peek(workspaceId);
    if (cached) return cached.value;
    const mark = cache.mark();
    let cacheable = true;
    if (!(await store.defaultsSeeded(db, workspaceId))) {
      if (!seed) return indexRules(newRules(clock()));
      // Not cached: should this transaction roll back, the rules it wrote never existed.
      cacheable = !(await seedIn(db, workspaceId));
    }
    const index = indexRules(await store.listRules(db, workspaceId));
    if (cacheable) cache.set(workspaceId, index, mark);
    return index;
  }

  /**
   * Records each firing's alerts (one per channel; a key already recorded adds nothing) and
   * queues their jobs. Of the email alerts these firings give one lead, only the winner gets a
   * job; the others are recorded as skipped, covered by it (one email per lead and moment). An
   * email alert fired at the same moment by another call (a score crossing, from the signals)
   * is sorted out when the jobs run.
   */
  async function fireIn(trx: Kysely<DB>, workspaceId: string, firings: readonly Firing[], now: number) {
    if (firings.length === 0) return;
    const alerts: Array<store.NewAlert & { fallbackEmail: string | null }> = [];
    for (const firing of firings) {
      firing.rule.channels.forEach((channel, i) => {
        alerts.push({
          id: newId(),
          key: alertKey(firing, i),
          ruleId: firing.rule.id,
          ruleName: firing.rule.name,
          leadId: firing.leadId,
          trigger: firing.facts,
          channel,
          firedAt: now,
          fallbackEmail: firing.rule.fallbackEmail,
        });
      });
    }
    const covered = coveredEmails(alerts);
    for (const alert of alerts) {
      const winner = covered.get(alert.id);
      if (!winner) continue;
      alert.status = 'skipped';
      alert.error = coveredText(winner);
    }
    for (let i = 0; i < alerts.length; i += INSERT_CHUNK) {
      const chunk = alerts.slice(i, i + INSERT_CHUNK);
      const recorded = new Set(await store.insertAlerts(trx, workspaceId, chunk));
      await jobs.enqueueIn(
        trx,
        workspaceId,
        chunk
          .filter((a) => recorded.has(a.id) && a.status !== 'skipped')
          .map((a) => ({
            kind: ALERT_DELIVER,
            key: a.key,
            payload: {
              alertId: a.id,
              ruleId: a.ruleId,
              ruleName: a.ruleName,
              leadId: a.leadId,
              channel: a.channel,
              facts: a.trigger,
              fallbackEmail: a.fallbackEmail,
              firedAt: a.firedAt,
            } satisfies AlertJob,
          })),
      );
    }
  }

  /**
   * The windowed candidates that fire: one grouped count of their activities and, for those
   * that reached their count, one grouped read of when their rules last fired — two queries
   * per write, whatever the number of leads.
   */
  async function windowedIn(
    trx: Kysely<DB>,
    workspaceId: string,
    candidates: readonly WindowCandidate[],
    now: number,
  ): Promise<Firing[]> {
    const counts = await leads.countActivitiesIn(trx, workspaceId, candidates.map(candidateWindow));
    const reached = candidates.filter((c, i) => counts[i]! >= c.rule.trigger.atLeast);
    if (reached.length === 0) return [];
    const last = await store.lastFiredAt(
      trx,
      workspaceId,
      reached.map((c) => ({ ruleId: c.rule.id, leadId: c.leadId })),
    );
    return windowFirings(candidates, counts, last, now);
  }

  /**
   * The lead reaction: activity and "became hot" triggers, inside the writing transaction.
   * Every capture passes here: a write none of whose entries a rule follows (most captures
   * carry no activity) costs a cached lookup and a look at its entries, no query.
   */
  async function react(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    changes: readonly LeadChange[],
    now: number,
  ): Promise<void> {
    const index = await indexIn(trx, workspace.id, true);
    const { firings, windowed } = changeFirings(index, changes, now);
    if (windowed.length > 0) firings.push(...(await windowedIn(trx, workspace.id, windowed, now)));
    await fireIn(trx, workspace.id, firings, now);
  }

  /** The signals subscriber: score crossed, SLA warning. */
  async function onSignals(
    trx: Kysely<DB>,
    workspaceId: string,
    signals: readonly Signal[],
    now: number,
  ): Promise<void> {
    if (!signals.some((s) => followedSignals.has(s.type))) return;
    const index = await indexIn(trx, workspaceId, true);
    if (index.bySignal.length === 0) return;
    await fireIn(trx, workspaceId, signalFirings(index.bySignal, signals), now);
  }

  /** Whether producers should derive lead signals for this workspace (some rule follows them). */
  async function interested(db: Kysely<DB>, workspaceId: string): Promise<boolean> {
    return (await indexIn(db, workspaceId, false)).wantsLeadSignals;
  }

  // -------------------------------------------------------------------------------------------
  // Delivery

  /** The lead an alert is about, following merges; undefined when it is gone. */
  async function currentLead(workspaceId: string, id: string): Promise<Lead | undefined> {
    try {
      let lead = await leads.get(workspaceId, id);
      for (let hops = 0; lead.mergedIntoId && hops < 10; hops++)
        lead = await leads.get(workspaceId, lead.mergedIntoId);
      return lead;
    } catch (error) {
      if (isDomainError(error) && error.code === 'LEAD_NOT_FOUND') return undefined;
      throw error;
    }
  }

  /** Marks the alert sent and notes it on the lead's timeline, in one transaction with `more`. */
  async function recordSent(
    job: RunningJob<AlertJob>,
    lead: Lead,
    target: string,
    details: Record<string, unknown>,
    more?: (trx: Kysely<DB>) => Promise<void>,
  ) {
    const p = job.payload;
    await database.writes.run(async (trx) => {
      await more?.(trx);
      const now = clock();
      await store.markAlert(trx, job.workspaceId, p.alertId, { status: 'sent', target, sentAt: now });
      await leads.appendTimelineIn(trx, job.workspaceId, [
        {
          id: newId(),
          leadId: lead.id,
          type: 'alert_sent',
          occurredAt: now,
          properties: {
            alertId: p.alertId,
            ruleId: p.ruleId,
            ruleName: p.ruleName,
            trigger: triggerName(p.facts),
            channel: p.channel.type,
            ...details,
          },
        },
      ]);
    });
  }

  const skip = (job: RunningJob<AlertJob>, reason: string) =>
    database.writes.run((trx) =>
      store.markAlert(trx, job.workspaceId, job.payload.alertId, { status: 'skipped', error: reason }),
    );

  async function deliverEmail(
    job: RunningJob<AlertJob>,
    lead: Lead,
    ctx: AlertContext,
    owner: Person | undefined,
  ) {
    const p = job.payload;
    const manager =
      owner && !owner.active && owner.managerId
        ? (await users.findIn(db, job.workspaceId, [owner.managerId]))[0]
        : undefined;
    const recipients = chooseRecipients(owner, manager, p.fallbackEmail);
    if (!recipients) {
      await skip(
        job,
        'nobody to email: the lead has no active owner (or manager of its owner) and the rule no fallbackEmail',
      );
      return;
    }
    const email = alertEmail(ctx);
    try {
      await recordSent(
        job,
        lead,
        recipients.to.join(', '),
        { to: recipients.to, via: recipients.via },
        (trx) =>
          // Keyed by the alert: a repeated run of this job queues the email once.
          mail.sendIn(trx, job.workspaceId, { to: recipients.to, ...email, key: `alert:${p.alertId}` }),
      );
    } catch (error) {
      // A recipient address the mail service refuses will be refused next time too.
      if (isDomainError(error) && error.code === 'VALIDATION_FAILED')
        throw new PermanentJobFailure(
          `the email cannot be sent: ${error.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
        );
      throw error;
    }
  }

  async function deliverWebhook(
    job: RunningJob<AlertJob>,
    lead: Lead,
    ctx: AlertContext,
    score: Score | null,
  ) {
    const channel = job.payload.channel as Extract<AlertChannel, { type: 'webhook' }>;
    const workspace = await workspaces.getWorkspace(job.workspaceId);
    const body =
      channel.format === 'slack'
        ? alertSlackBody(ctx)
        : alertJsonBody(ctx, leadJson(lead, score ?? undefined));
    let result: Awaited<ReturnType<typeof postJson>>;
    try {
      result = await postJson(
        channel.url,
        JSON.stringify(body),
        { 'user-agent': 'Leadline-Alerts/1' },
        {
          allowPrivate: workspace.settings.allowPrivateWebhookTargets === true,
          signal: job.signal,
          timeoutMs: WEBHOOK_TIMEOUT_MS,
        },
      );
    } catch (error) {
      if (isRefusedTarget(error))
        throw new PermanentJobFailure(`target refused: ${(error as Error).message}`);
      throw error;
    }
    const { status } = result;
    if (status >= 200 && status < 300) {
      await recordSent(job, lead, new URL(channel.url).host, { format: channel.format, status });
      return;
    }
    const answer = `the target answered HTTP ${status}${result.body ? `: ${result.body.slice(0, 200)}` : ''}`;
    if (status === 429 || status === 503) {
      const asked = parseRetryAfter(result.headers['retry-after'], clock());
      // At least the job's own backoff: a `Retry-After: 0` must not burn every attempt in seconds.
      if (asked !== undefined)
        throw new RetryJobLater(
          answer,
          Math.max(exponentialBackoff(job.attempt), Math.min(asked, MAX_RETRY_AFTER_MS)),
        );
    }
    // A timeout, throttling or a server error may pass; any other answer will be the same next time.
    if (status >= 500 || status === 408 || status === 425 || status === 429) throw new Error(answer);
    throw new PermanentJobFailure(answer);
  }

  jobs.define<AlertJob>({
    kind: ALERT_DELIVER,
    check: jobProblem,
    timeoutMs: 30_000,
    async run(job) {
      const p = job.payload;
      // An email alert reads the alerts of its lead and moment (itself among them) before
      // anything else: one covered by another is skipped without loading lead, score or owner.
      const moment =
        p.channel.type === 'email'
          ? await store.alertsFiredAt(db, job.workspaceId, p.leadId, p.firedAt)
          : undefined;
      const alert = moment
        ? moment.find((a) => a.id === p.alertId)
        : await store.findAlert(db, job.workspaceId, p.alertId);
      // Done already: a run repeated after a crash between the send and the job's completion.
      // A failed alert is delivered: its dead job was retried (POST /api/v1/jobs/:id/retry).
      if (alert && (alert.status === 'sent' || alert.status === 'skipped')) return;
      try {
        const winner = moment && emailWinner(moment);
        if (winner && winner.id !== p.alertId) {
          await skip(job, coveredText(winner));
          return;
        }
        const lead = await currentLead(job.workspaceId, p.leadId);
        if (!lead) throw new PermanentJobFailure(`lead ${p.leadId} no longer exists`);
        const scoreObj = (await scoring.scorer(job.workspaceId))(lead);
        // Emails go to the owner and name them, Slack messages name them; a JSON body has no use for them.
        const needsOwner = p.channel.type === 'email' || p.channel.format === 'slack';
        const owner =
          needsOwner && lead.ownerId
            ? (await users.findIn(db, job.workspaceId, [lead.ownerId]))[0]
            : undefined;
        const ctx: AlertContext = {
          alertId: p.alertId,
          ruleId: p.ruleId,
          ruleName: p.ruleName,
          facts: p.facts,
          firedAt: p.firedAt,
          lead,
          score: scoreObj.score,
          link: `${config.publicUrl}/leads/${encodeURIComponent(lead.id)}`,
          ownerName: owner?.name ?? null,
        };
        if (p.channel.type === 'email') await deliverEmail(job, lead, ctx, owner);
        else await deliverWebhook(job, lead, ctx, scoreObj);
      } catch (error) {
        const last = error instanceof PermanentJobFailure || job.attempt >= job.maxAttempts;
        logger.debug(
          { alert: p.alertId, attempt: job.attempt, last, err: errorText(error) },
          'alert delivery failed',
        );
        await database.writes.run((trx) =>
          store.markAlert(trx, job.workspaceId, p.alertId, {
            status: last ? 'failed' : 'pending',
            error: errorText(error),
          }),
        );
        throw error;
      }
    },
  });

  // -------------------------------------------------------------------------------------------
  // Rules

  async function ensureSeeded(workspaceId: string): Promise<void> {
    if (await store.defaultsSeeded(db, workspaceId)) return;
    await database.writes.run(async (trx) => {
      if (await seedIn(trx, workspaceId)) await changedIn(trx, workspaceId);
    });
  }

  /** Webhook targets must pass the SSRF guard; its error is re-pointed at the channel's url. */
  async function checkTargets(workspaceId: string, channels: readonly AlertChannel[]): Promise<void> {
    const webhooks = channels.flatMap((c, i) => (c.type === 'webhook' ? [{ url: c.url, i }] : []));
    if (webhooks.length === 0) return;
    const workspace = await workspaces.getWorkspace(workspaceId);
    const allowPrivate = workspace.settings.allowPrivateWebhookTargets === true;
    const errors: FieldError[] = [];
    for (const { url, i } of webhooks) {
      try {
        await assertPublicTarget(url, allowPrivate);
      } catch (error) {
        if (!isDomainError(error)) throw error;
        for (const e of error.errors.length > 0 ? error.errors : [{ path: '/url', message: error.message }])
          errors.push({ path: `/channels/${i}${e.path}`, message: e.message });
      }
    }
    if (errors.length > 0) throw validationError(errors);
  }

  const notFound = (id: string) =>
    new DomainError('ALERT_RULE_NOT_FOUND', `No alert rule ${id} in this workspace.`);

  return {
    react,
    onSignals,
    interested,

    /** Forgets cached rules (of a workspace, or all): another process changed them. */
    forgetCached: (workspaceId?: string) => cache.forget(workspaceId),

    /** The workspace's rules, oldest first (the defaults are written on first use). */
    async listRules(workspaceId: string): Promise<AlertRule[]> {
      await ensureSeeded(workspaceId);
      return store.listRules(db, workspaceId);
    },

    async getRule(workspaceId: string, id: string): Promise<AlertRule> {
      await ensureSeeded(workspaceId);
      const rule = await store.findRule(db, workspaceId, id);
      if (!rule) throw notFound(id);
      return rule;
    },

    async createRule(workspaceId: string, input: RuleInput): Promise<AlertRule> {
      const prepared = prepareRule(null, input, newId(), eventTypes, clock());
      if (!prepared.ok) throw validationError(prepared.errors);
      await checkTargets(workspaceId, prepared.rule.channels);
      return database.writes.run(async (trx) => {
        await seedIn(trx, workspaceId);
        if ((await store.countRules(trx, workspaceId)) >= MAX_RULES)
          throw validationError([
            { path: '/', message: `a workspace may have at most ${MAX_RULES} alert rules` },
          ]);
        await store.insertRules(trx, workspaceId, [prepared.rule]);
        await changedIn(trx, workspaceId);
        return prepared.rule;
      });
    },

    /** Changes the given fields; `trigger` and `channels` are replaced whole. */
    async updateRule(workspaceId: string, id: string, input: RuleInput): Promise<AlertRule> {
      // Checked before the transaction: webhook targets are looked up in DNS, which must not
      // hold the writer.
      const found = await store.findRule(db, workspaceId, id);
      if (!found) throw notFound(id);
      const checked = prepareRule(found, input, id, eventTypes, clock());
      if (!checked.ok) throw validationError(checked.errors);
      if (input.channels !== undefined) await checkTargets(workspaceId, checked.rule.channels);
      return database.writes.run(async (trx) => {
        // The change applied to the rule as it is now, not as read above: a change of its other
        // fields committed meanwhile (by another request, another process) is kept, and a rule
        // deleted meanwhile is not written back. Locked on PostgreSQL until this commits;
        // SQLite's writer lock serialises writers already.
        const current = await store.findRule(trx, workspaceId, id, database.engine === 'postgres');
        if (!current) throw notFound(id);
        const prepared = prepareRule(current, input, id, eventTypes, clock());
        if (!prepared.ok) throw validationError(prepared.errors);
        await store.updateRule(trx, workspaceId, prepared.rule);
        await changedIn(trx, workspaceId);
        return prepared.rule;
      });
    },

    async deleteRule(workspaceId: string, id: string): Promise<void> {
      const deleted = await database.writes.run(async (trx) => {
        // Seeded first: deleting a default rule must not bring the defaults back on the next read.
        await seedIn(trx, workspaceId);
        const done = await store.deleteRule(trx, workspaceId, id);
        await changedIn(trx, workspaceId);
        return done;
      });
      if (!deleted) throw notFound(id);
    },

    /** Deletes alerts fired more than ALERT_RETENTION_MS ago, in chunks; returns how many. */
    async prune(workspaceIds: readonly string[]): Promise<number> {
      const before = clock() - ALERT_RETENTION_MS;
      return pruneInChunks(database, workspaceIds, PRUNE_CHUNK, (trx, workspaceId, limit) =>
        store.pruneAlerts(trx, workspaceId, before, limit),
      );
    },

    /** The alerts log, newest first. */
    listAlerts: (workspaceId: string, filter: store.AlertFilter): Promise<Alert[]> =>
      store.listAlerts(db, workspaceId, filter),
  };
}
