import { isEmailAddress } from '../email/model.ts';
import type { FieldError } from '../errors.ts';
import type { TimelineEntry } from '../leads/model.ts';
import type { Signal } from '../signals/bus.ts';

/**
 * Owner alerts on high-intent moments. A rule says when (its trigger) and how (its channels);
 * a firing is one rule matching one lead at one moment, and becomes one alert per channel.
 * Pure types and decisions; SQL in store.ts, use cases in service.ts, texts in messages.ts.
 */

export const alertTriggerTypes = ['activity', 'became_hot', 'score_crossed', 'sla_warning'] as const;
export type AlertTriggerType = (typeof alertTriggerTypes)[number];

export type AlertTrigger =
  /**
   * An activity on the lead's timeline (`demo_requested`). With `atLeast` > 1 the rule fires when
   * the lead's count of that activity within the last `withinDays` reaches `atLeast`, then not
   * again for that lead until `withinDays` have passed.
   */
  | { type: 'activity'; activity: string; atLeast: number; withinDays: number | null }
  /**
   * The lead's temperature became hot: a `temperature_changed` entry to hot, the moment the
   * `lead.became_hot` signal stands for (read from the write's entries, see `changeFirings`).
   */
  | { type: 'became_hot' }
  /**
   * The score crossed upwards one of the workspace's score thresholds that is ≥ `threshold`
   * (signal `lead.score_crossed`; thresholds are the workspace setting `scoreThresholds`).
   */
  | { type: 'score_crossed'; threshold: number }
  /** An SLA of the lead is about to breach (signal `sla.warning`). */
  | { type: 'sla_warning' };

export const webhookFormats = ['json', 'slack'] as const;
export type WebhookFormat = (typeof webhookFormats)[number];

export type AlertChannel =
  /** Email to the lead's owner (see `chooseRecipients` for who gets it when there is none). */
  | { type: 'email' }
  /** POST to a URL: generic JSON, or a Slack incoming-webhook payload. */
  | { type: 'webhook'; url: string; format: WebhookFormat };

export interface AlertRule {
  id: string;
  name: string;
  enabled: boolean;
  trigger: AlertTrigger;
  channels: AlertChannel[];
  /** Gets the email when the lead has no owner who can receive it. */
  fallbackEmail: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface AlertRuleDraft {
  name: string;
  enabled?: boolean | undefined;
  trigger: AlertTrigger;
  channels: AlertChannel[];
  fallbackEmail?: string | null | undefined;
}

/** What fired, with the facts the message shows. Times are epoch ms. */
export type AlertFacts =
  | { type: 'activity'; activity: string; occurredAt: number; count: number; withinDays: number | null }
  | { type: 'became_hot'; at: number }
  | { type: 'score_crossed'; at: number; threshold: number; from: number | null; to: number | null }
  | { type: 'sla_warning'; at: number; data: Record<string, unknown> };

/** pending: queued or being retried; sent: delivered (email: handed to the mail queue); skipped: nobody to tell. */
export const alertStatuses = ['pending', 'sent', 'failed', 'skipped'] as const;
export type AlertStatus = (typeof alertStatuses)[number];

/** One alert on one channel: the alerts log a rep or manager reads. */
export interface Alert {
  id: string;
  ruleId: string;
  ruleName: string;
  leadId: string;
  trigger: AlertFacts;
  channel: AlertChannel;
  status: AlertStatus;
  /** Recipient addresses, or the webhook URL. */
  target: string | null;
  error: string | null;
  firedAt: number;
  sentAt: number | null;
}

/** One rule matching one lead at one moment; `moment` names the moment in idempotency keys. */
export interface Firing {
  rule: AlertRule;
  leadId: string;
  moment: string;
  facts: AlertFacts;
}

export const DAY_MS = 86_400_000;

/**
 * Activities that happened longer ago than this do not alert: an import of last year's demo
 * requests is history, not a moment to act on. (24 h)
 */
export const STALE_ACTIVITY_MS = DAY_MS;

/** Most rules a workspace may have. (100) */
export const MAX_RULES = 100;

/** The longest window an activity rule may count over (`withinDays`). (365) */
export const MAX_WITHIN_DAYS = 365;

/**
 * How long the alerts log keeps an alert, from when it fired; then it is pruned. Longer than
 * the longest window (MAX_WITHIN_DAYS): a windowed rule reads the log to stay quiet for a
 * lead it fired for within its window. (400 days)
 */
export const ALERT_RETENTION_MS = (MAX_WITHIN_DAYS + 35) * DAY_MS;

/**
 * The rules a workspace starts with: each emails the lead's owner. Written the first time the
 * workspace's rules are needed (see the service), then the workspace's to change or delete.
 */
export function defaultRuleDrafts(): AlertRuleDraft[] {
  const email: AlertChannel[] = [{ type: 'email' }];
  return [
    {
      name: 'Demo requested',
      trigger: { type: 'activity', activity: 'demo_requested', atLeast: 1, withinDays: null },
      channels: email,
    },
    {
      name: 'Pricing viewed 3 times in 7 days',
      trigger: { type: 'activity', activity: 'pricing_viewed', atLeast: 3, withinDays: 7 },
      channels: email,
    },
    { name: 'Lead became hot', trigger: { type: 'became_hot' }, channels: email },
    { name: 'SLA about to breach', trigger: { type: 'sla_warning' }, channels: email },
  ];
}

/** A rule as the API takes it: loose shapes, checked and normalised by `prepareRule`. */
export interface RuleInput {
  name?: string | undefined;
  enabled?: boolean | undefined;
  trigger?: TriggerInput | undefined;
  channels?: ChannelInput[] | undefined;
  fallbackEmail?: string | null | undefined;
}

export interface TriggerInput {
  type: string;
  activity?: string | undefined;
  atLeast?: number | undefined;
  withinDays?: number | null | undefined;
  threshold?: number | undefined;
}

export interface ChannelInput {
  type: string;
  url?: string | undefined;
  format?: string | undefined;
}

function parseTrigger(
  input: TriggerInput,
  activityTypes: readonly string[],
  errors: FieldError[],
): AlertTrigger | undefined {
  const path = '/trigger';
  const stray = (field: keyof TriggerInput) => {
    if (input[field] !== undefined)
      errors.push({ path: `${path}/${field}`, message: `does not apply to a ${input.type} trigger` });
  };
  switch (input.type) {
    case 'activity': {
      stray('threshold');
      if (input.activity === undefined || !activityTypes.includes(input.activity)) {
        errors.push({ path: `${path}/activity`, message: `must be one of: ${activityTypes.join(', ')}` });
        return undefined;
      }
      const atLeast = input.atLeast ?? 1;
      const withinDays = input.withinDays ?? null;
      if (atLeast > 1 && withinDays === null)
        errors.push({ path: `${path}/withinDays`, message: 'is required when atLeast is more than 1' });
      if (atLeast <= 1 && withinDays !== null)
        errors.push({ path: `${path}/withinDays`, message: 'only applies when atLeast is more than 1' });
      return { type: 'activity', activity: input.activity, atLeast, withinDays };
    }
    case 'score_crossed':
      stray('activity');
      stray('atLeast');
      stray('withinDays');
      if (input.threshold === undefined) {
        errors.push({ path: `${path}/threshold`, message: 'is required for a score_crossed trigger' });
        return undefined;
      }
      return { type: 'score_crossed', threshold: input.threshold };
    case 'became_hot':
    case 'sla_warning':
      for (const field of ['activity', 'atLeast', 'withinDays', 'threshold'] as const) stray(field);
      return { type: input.type };
    default:
      errors.push({ path: `${path}/type`, message: `must be one of: ${alertTriggerTypes.join(', ')}` });
      return undefined;
  }
}

function parseChannels(inputs: readonly ChannelInput[], errors: FieldError[]): AlertChannel[] {
  const channels: AlertChannel[] = [];
  inputs.forEach((input, i) => {
    const path = `/channels/${i}`;
    if (input.type === 'email') {
      if (input.url !== undefined) errors.push({ path: `${path}/url`, message: 'does not apply to email' });
      if (input.format !== undefined)
        errors.push({ path: `${path}/format`, message: 'does not apply to email' });
      channels.push({ type: 'email' });
    } else if (input.type === 'webhook') {
      const format = input.format ?? 'json';
      if (!(webhookFormats as readonly string[]).includes(format))
        errors.push({ path: `${path}/format`, message: `must be one of: ${webhookFormats.join(', ')}` });
      if (input.url === undefined) errors.push({ path: `${path}/url`, message: 'is required for a webhook' });
      else channels.push({ type: 'webhook', url: input.url, format: format as WebhookFormat });
    } else {
      errors.push({ path: `${path}/type`, message: 'must be email or webhook' });
    }
  });
  if (inputs.filter((c) => c.type === 'email').length > 1)
    errors.push({ path: '/channels', message: 'may have one email channel' });
  const urls = channels.flatMap((c) => (c.type === 'webhook' ? [c.url] : []));
  if (new Set(urls).size !== urls.length)
    errors.push({ path: '/channels', message: 'must not repeat a webhook url' });
  return channels;
}

/**
 * A new rule (`current` null: `name`, `trigger` and `channels` are required) or a changed one
 * (absent fields keep their value), checked beyond what a schema can say. Webhook URLs are
 * checked against the SSRF guard by the service (it needs DNS).
 */
export function prepareRule(
  current: AlertRule | null,
  input: RuleInput,
  id: string,
  activityTypes: readonly string[],
  now: number,
): { ok: true; rule: AlertRule } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const name = input.name !== undefined ? input.name.trim() : current?.name;
  if (name === undefined || name === '') errors.push({ path: '/name', message: 'must not be blank' });
  const trigger =
    input.trigger !== undefined ? parseTrigger(input.trigger, activityTypes, errors) : current?.trigger;
  if (trigger === undefined && input.trigger === undefined)
    errors.push({ path: '/trigger', message: 'is required' });
  const channels = input.channels !== undefined ? parseChannels(input.channels, errors) : current?.channels;
  if (channels === undefined) errors.push({ path: '/channels', message: 'is required' });
  const fallbackEmail =
    input.fallbackEmail !== undefined ? input.fallbackEmail : (current?.fallbackEmail ?? null);
  if (fallbackEmail !== null && !isEmailAddress(fallbackEmail))
    errors.push({ path: '/fallbackEmail', message: 'must be an email address' });
  if (errors.length > 0 || name === undefined || trigger === undefined || channels === undefined)
    return { ok: false, errors };
  return {
    ok: true,
    rule: {
      id,
      name,
      enabled: input.enabled ?? current?.enabled ?? true,
      trigger,
      channels,
      fallbackEmail,
      createdAt: current?.createdAt ?? now,
      updatedAt: now,
    },
  };
}

/** The enabled rules of a workspace, indexed the way the write path looks them up. */
export interface RuleIndex {
  /** Activity rules by activity type. */
  byActivity: ReadonlyMap<string, readonly AlertRule[]>;
  /** "Became hot" rules. */
  hot: readonly AlertRule[];
  /** Rules that follow signals (score crossed, SLA warning). */
  bySignal: readonly AlertRule[];
  /** Some rule needs the derived lead signals (`lead.score_crossed`). */
  wantsLeadSignals: boolean;
}

export function indexRules(rules: readonly AlertRule[]): RuleIndex {
  const byActivity = new Map<string, AlertRule[]>();
  const hot: AlertRule[] = [];
  const bySignal: AlertRule[] = [];
  for (const rule of rules) {
    if (!rule.enabled || rule.channels.length === 0) continue;
    if (rule.trigger.type === 'activity') {
      const list = byActivity.get(rule.trigger.activity);
      if (list) list.push(rule);
      else byActivity.set(rule.trigger.activity, [rule]);
    } else if (rule.trigger.type === 'became_hot') {
      hot.push(rule);
    } else {
      bySignal.push(rule);
    }
  }
  const wantsLeadSignals = bySignal.some((r) => r.trigger.type === 'score_crossed');
  return { byActivity, hot, bySignal, wantsLeadSignals };
}

/** An activity entry a windowed rule must count before it may fire. */
export interface WindowCandidate {
  rule: AlertRule & { trigger: { type: 'activity'; withinDays: number } };
  leadId: string;
  entry: TimelineEntry;
}

/** A temperature change to hot (what `lead.became_hot` is derived from in src/signals/from-changes.ts). */
function becameHot(entry: TimelineEntry): boolean {
  return (
    entry.type === 'temperature_changed' && entry.properties.to === 'hot' && entry.properties.from !== 'hot'
  );
}

/**
 * The entries of one write that alert. Activity rules without a count fire once per entry;
 * windowed rules (`atLeast` > 1) yield one candidate per rule and lead (its latest entry),
 * which the service counts. "Became hot" rules fire on a temperature change to hot. Read
 * from the entries rather than the `lead.became_hot` signal: following signals would make
 * every workspace with the default rules ask for signals on every write, and deriving them
 * (scores before and after, the lead as JSON) costs more than the capture's own checks.
 * Entries older than STALE_ACTIVITY_MS are ignored.
 */
export function changeFirings(
  index: RuleIndex,
  changes: ReadonlyArray<{ leadId: string; entries: readonly TimelineEntry[] }>,
  now: number,
): { firings: Firing[]; windowed: WindowCandidate[] } {
  const firings: Firing[] = [];
  if (index.byActivity.size === 0 && index.hot.length === 0) return { firings, windowed: [] };
  let windowed: Map<string, WindowCandidate> | undefined;
  for (const change of changes) {
    for (const entry of change.entries) {
      if (index.hot.length > 0 && becameHot(entry) && now - entry.occurredAt <= STALE_ACTIVITY_MS) {
        for (const rule of index.hot)
          firings.push({
            rule,
            leadId: change.leadId,
            moment: `hot:${entry.occurredAt}`,
            facts: { type: 'became_hot', at: entry.occurredAt },
          });
        continue;
      }
      const rules = index.byActivity.get(entry.type);
      if (!rules || now - entry.occurredAt > STALE_ACTIVITY_MS) continue;
      for (const rule of rules) {
        const trigger = rule.trigger as Extract<AlertTrigger, { type: 'activity' }>;
        if (trigger.atLeast > 1 && trigger.withinDays !== null) {
          const key = `${rule.id}:${change.leadId}`;
          windowed ??= new Map();
          const seen = windowed.get(key);
          if (!seen || entry.occurredAt >= seen.entry.occurredAt)
            windowed.set(key, { rule: rule as WindowCandidate['rule'], leadId: change.leadId, entry });
          continue;
        }
        firings.push({
          rule,
          leadId: change.leadId,
          moment: entry.id,
          facts: {
            type: 'activity',
            activity: entry.type,
            occurredAt: entry.occurredAt,
            count: 1,
            withinDays: null,
          },
        });
      }
    }
  }
  return { firings, windowed: windowed ? [...windowed.values()] : [] };
}

/** What a windowed candidate counts: its activity, from `withinDays` before its entry up to the entry. */
export function candidateWindow(candidate: WindowCandidate): {
  leadId: string;
  type: string;
  after: number;
  until: number;
} {
  const { rule, leadId, entry } = candidate;
  return {
    leadId,
    type: entry.type,
    after: entry.occurredAt - rule.trigger.withinDays * DAY_MS,
    until: entry.occurredAt,
  };
}

/** The key of a rule and lead in `lastFired` maps. */
export const ruleLeadKey = (ruleId: string, leadId: string) => `${ruleId}:${leadId}`;

/**
 * The windowed candidates that fire, from their counts (`counts[i]` is candidate i's, see
 * `candidateWindow`) and when each rule last fired for each lead (by `ruleLeadKey`).
 */
export function windowFirings(
  candidates: readonly WindowCandidate[],
  counts: readonly number[],
  lastFired: ReadonlyMap<string, number>,
  now: number,
): Firing[] {
  const firings: Firing[] = [];
  candidates.forEach(({ rule, leadId, entry }, i) => {
    const count = counts[i] ?? 0;
    const { atLeast, withinDays } = rule.trigger;
    if (!windowFires(count, atLeast, withinDays, lastFired.get(ruleLeadKey(rule.id, leadId)), now)) return;
    firings.push({
      rule,
      leadId,
      moment: entry.id,
      facts: { type: 'activity', activity: entry.type, occurredAt: entry.occurredAt, count, withinDays },
    });
  });
  return firings;
}

/**
 * Whether a windowed rule fires: the count within the window reached `atLeast`, and the rule
 * has not fired for the lead within the last `withinDays` (so the 4th and 5th view of the
 * same week stay quiet).
 */
export function windowFires(
  count: number,
  atLeast: number,
  withinDays: number,
  lastFiredAt: number | undefined,
  now: number,
): boolean {
  if (count < atLeast) return false;
  return lastFiredAt === undefined || lastFiredAt <= now - withinDays * DAY_MS;
}

const numberOrNull = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

/**
 * The signals of one write that alert (score crossings, SLA warnings). Several thresholds crossed by the same jump fire a
 * score rule once, for the highest. Signals about no lead are not owner alerts.
 */
export function signalFirings(rules: readonly AlertRule[], signals: readonly Signal[]): Firing[] {
  const firings = new Map<string, Firing>();
  for (const signal of signals) {
    const leadId = signal.leadId;
    if (!leadId) continue;
    for (const rule of rules) {
      const trigger = rule.trigger;
      if (trigger.type === 'score_crossed' && signal.type === 'lead.score_crossed') {
        const threshold = numberOrNull(signal.data.threshold);
        if (signal.data.direction !== 'up' || threshold === null || threshold < trigger.threshold) continue;
        const key = `${rule.id}:${leadId}:score`;
        const seen = firings.get(key);
        if (seen && seen.facts.type === 'score_crossed' && seen.facts.threshold >= threshold) continue;
        firings.set(key, {
          rule,
          leadId,
          moment: `score:${threshold}:${signal.at}`,
          facts: {
            type: 'score_crossed',
            at: signal.at,
            threshold,
            from: numberOrNull(signal.data.from),
            to: numberOrNull(signal.data.to),
          },
        });
      } else if (trigger.type === 'sla_warning' && signal.type === 'sla.warning') {
        const sla = String(signal.data.timerId ?? signal.data.slaId ?? signal.data.id ?? '');
        // The facts are stored with the alert and its job: the lead itself is read when it is sent.
        const { lead: _lead, ...data } = signal.data;
        firings.set(`${rule.id}:${leadId}:sla:${sla}:${signal.at}`, {
          rule,
          leadId,
          moment: `sla:${sla}:${signal.at}`,
          facts: { type: 'sla_warning', at: signal.at, data },
        });
      }
    }
  }
  return [...firings.values()];
}

/** The alert's idempotency key: the same firing on the same channel is recorded (and sent) once. */
export function alertKey(firing: Firing, channelIndex: number): string {
  return `alert:${firing.rule.id}:${firing.leadId}:${firing.moment}:${channelIndex}`;
}

/** A user as alerts need one (src/users/model.ts User has these fields and more). */
export interface Person {
  id: string;
  name: string;
  email: string;
  managerId: string | null;
  active: boolean;
}

export type Recipients = { to: string[]; via: 'owner' | 'manager' | 'fallback' };

/**
 * Who gets an email alert: the lead's owner when it has one who is active; else that owner's
 * manager (an owner who left or is deactivated); else the rule's `fallbackEmail`; else nobody
 * (the alert is logged as skipped).
 */
export function chooseRecipients(
  owner: Person | undefined,
  manager: Person | undefined,
  fallbackEmail: string | null,
): Recipients | null {
  if (owner?.active && owner.email) return { to: [owner.email], via: 'owner' };
  if (owner && manager?.active && manager.email) return { to: [manager.email], via: 'manager' };
  if (fallbackEmail) return { to: [fallbackEmail], via: 'fallback' };
  return null;
}

/** Lower wins: the more specific a trigger, the more an email about it says. */
const emailPriority: Record<AlertTriggerType, number> = {
  activity: 0,
  sla_warning: 1,
  score_crossed: 2,
  became_hot: 3,
};

/**
 * The owner gets one email per lead and moment. A demo request also makes the lead hot: of
 * the email alerts one write fired for a lead, the most specific trigger (an activity, then
 * an SLA warning, a score crossing, "became hot"), then the first recorded, is the one sent;
 * the others are logged as covered by it.
 */
export function emailWinner<A extends Pick<Alert, 'id' | 'channel' | 'trigger'>>(
  alerts: readonly A[],
): A | undefined {
  return alerts
    .filter((a) => a.channel.type === 'email')
    .sort(
      (a, b) => emailPriority[a.trigger.type] - emailPriority[b.trigger.type] || (a.id < b.id ? -1 : 1),
    )[0];
}

/**
 * The email alerts among `alerts` (fired together, at one moment) that another one covers
 * (`emailWinner` per lead), each with the alert that covers it. They are logged as skipped at
 * once, without a delivery job of their own.
 */
export function coveredEmails<A extends Pick<Alert, 'id' | 'leadId' | 'channel' | 'trigger'>>(
  alerts: readonly A[],
): Map<string, A> {
  const byLead = new Map<string, A[]>();
  for (const alert of alerts) {
    if (alert.channel.type !== 'email') continue;
    const list = byLead.get(alert.leadId);
    if (list) list.push(alert);
    else byLead.set(alert.leadId, [alert]);
  }
  const covered = new Map<string, A>();
  for (const list of byLead.values()) {
    if (list.length < 2) continue;
    const winner = emailWinner(list)!;
    for (const alert of list) if (alert !== winner) covered.set(alert.id, winner);
  }
  return covered;
}

/** What a covered email alert's log entry says. */
export function coveredText(winner: Pick<Alert, 'id' | 'ruleName'>): string {
  return `covered by alert ${winner.id} (${winner.ruleName}): one email per lead and moment`;
}
