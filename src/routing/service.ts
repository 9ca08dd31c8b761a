import type { Kysely, Transaction } from 'kysely';
import type pino from 'pino';
import { ConfigCache } from '../db/config-cache.ts';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { DB } from '../db/schema.ts';
import { type FieldError, validationError } from '../errors.ts';
import type { Lead, LeadCapture, TimelineEntry } from '../leads/model.ts';
import type { LeadChange } from '../leads/reactions.ts';
import type { LeadService, WorkspaceContext } from '../leads/service.ts';
import { type ConditionContext, conditionContext } from '../scoring/conditions.ts';
import type { Score } from '../scoring/engine.ts';
import type { ScoringModel } from '../scoring/model.ts';
import { leadScore } from '../scoring/qualify.ts';
import type { ScoringService } from '../scoring/service.ts';
import type { Signals } from '../signals/bus.ts';
import type { UserService } from '../users/service.ts';
import type { TeamService } from '../users/teams-service.ts';
import {
  checkRules,
  type Decision,
  leadView,
  newlyMatching,
  type RoutingConfig,
  type RuleInput,
  referencesOf,
  routes,
  type StrategyType,
} from './model.ts';
import { type Choice, nobody, RoutingPass } from './pass.ts';
import * as store from './store.ts';

export type { Decision } from './model.ts';

export interface RoutingServiceDeps {
  database: Database;
  leads: LeadService;
  scoring: ScoringService;
  users: UserService;
  teams: TeamService;
  signals: Signals;
  clock: () => number;
  logger: pino.Logger;
}

export type RoutingService = ReturnType<typeof createRoutingService>;

/** Why a lead got its owner: a rule (or the fallback), a person, an API client, an SLA breach. */
export interface AssignmentCause {
  kind: 'rule' | 'user' | 'api' | 'sla';
  ruleId?: string | undefined;
  reason?: string | undefined;
  /** Set by routing itself: the strategy that chose (`fallback` for the fallback owner). */
  strategy?: StrategyType | 'fallback' | undefined;
  /** The user who decided (kind `user`); must be a user of the workspace. */
  byUserId?: string | undefined;
}

/**
 * How long a workspace's routing configuration is cached when no word of a change comes: every
 * capture asks whether there is anything to route. A change made by any process is announced
 * as it commits (config-cache.ts), and this is the bound should a process's listening
 * connection be down, or on SQLite. (5 s)
 */
const CONFIG_CACHE_MS = 5_000;

/** A lead with its score at the moment (what the API answers with). */
export interface ScoredLead {
  lead: Lead;
  score: Score;
}

/** An owner to give a lead, and why; `previousOwnerId` is what the timeline records as before. */
interface Assignment {
  lead: Lead;
  ownerId: string;
  previousOwnerId: string | null;
  cause: AssignmentCause;
  ruleName: string | null;
}

const contexts = new WeakMap<ScoringModel, ConditionContext>();
function contextOf(model: ScoringModel): ConditionContext {
  let context = contexts.get(model);
  if (!context) {
    context = conditionContext(model.competitorDomains);
    contexts.set(model, context);
  }
  return context;
}

const notActive = (path: string, ownerId: string): FieldError => ({
  path,
  message: `"${ownerId}" is not an active user of this workspace`,
});

function assignmentEntry(a: Assignment, now: number): TimelineEntry {
  return {
    id: newId(),
    leadId: a.lead.id,
    type: 'lead_assigned',
    occurredAt: now,
    properties: {
      ownerId: a.ownerId,
      previousOwnerId: a.previousOwnerId,
      cause: a.cause.kind,
      ruleId: a.cause.ruleId ?? null,
      ruleName: a.ruleName,
      strategy: a.cause.strategy ?? null,
      reason: a.cause.reason ?? null,
      ...(a.cause.byUserId ? { byUserId: a.cause.byUserId } : {}),
    },
  };
}

/**
 * Routing: who gets a lead. Ordered rules (first match whose strategy finds someone wins),
 * then the fallback owner; every assignment is a timeline entry, an assignment row (what
 * capacity limits count) and a `lead.assigned` signal, written in the caller's transaction.
 * The leads of one write are routed together (`RoutingPass`) and their owners written at once.
 */
export function createRoutingService(deps: RoutingServiceDeps) {
  const { database, leads, scoring, users, teams, signals, clock, logger } = deps;
  const cache = new ConfigCache<RoutingConfig>({ kind: 'routing', database, ttlMs: CONFIG_CACHE_MS, clock });
  const passDeps = { engine: database.engine, users, teams, leads };
  const openPass = (trx: Kysely<DB>, workspaceId: string, now: number) =>
    new RoutingPass(passDeps, trx, workspaceId, now);

  function configIn(db: Kysely<DB>, workspaceId: string): Promise<RoutingConfig> {
    return cache.read(workspaceId, () => store.readConfig(db, workspaceId));
  }

  /**
   * Changes the configuration in its own unit of the group commit. The cache is dropped inside
   * the unit (the later units of its group read the new configuration, one writer at a time),
   * and again once the group has committed or failed: a unit that read and cached the change
   * before a failed commit must not keep it. Other processes drop theirs as it commits.
   */
  async function changeConfig(
    workspaceId: string,
    change: (trx: Transaction<DB>) => Promise<RoutingConfig>,
  ): Promise<RoutingConfig> {
    try {
      return await database.writes.run(async (trx) => {
        const next = await change(trx);
        await cache.changedIn(trx, workspaceId);
        return next;
      });
    } finally {
      cache.forget(workspaceId);
    }
  }

  // A team a rule routes to cannot be removed from under it. Under the configuration's lock: a
  // rules change naming the team, in another process, either committed before (and is seen
  // here) or waits for this removal (and then finds the team gone).
  teams.guardRemoval(async (trx, workspaceId, teamId) => {
    const config = await store.lockConfig(trx, workspaceId, database.engine);
    return referencesOf(config.rules)
      .teams.filter((t) => t.id === teamId)
      .map((t) => ({ path: t.path, message: `rule "${t.rule}" routes to this team` }));
  });

  /** The lead as the transaction sees it (locked on PostgreSQL until it ends). */
  const leadIn = (trx: Transaction<DB>, workspace: WorkspaceContext, id: string): Promise<Lead> =>
    leads.updateIn(trx, workspace, id, (lead) => ({ lead, entries: [], stageChanges: [] }));

  /** The lead as it now stands, with its score now (what the API answers with). */
  async function scoredIn(
    trx: Transaction<DB>,
    workspace: WorkspaceContext,
    leadId: string,
  ): Promise<ScoredLead> {
    const lead = await leadIn(trx, workspace, leadId);
    const { model } = await scoring.activeModelIn(trx, workspace.id);
    return { lead, score: leadScore(model, lead.scoring, clock()) };
  }

  /** The assignment rows (capacity counts them) and the `lead.assigned` signals of timeline entries. */
  async function recordIn(
    trx: Kysely<DB>,
    workspaceId: string,
    entries: readonly TimelineEntry[],
  ): Promise<void> {
    if (entries.length === 0) return;
    await store.insertAssignments(
      trx,
      workspaceId,
      entries.map((entry) => {
        const p = entry.properties as {
          ownerId: string;
          previousOwnerId: string | null;
          cause: string;
          ruleId: string | null;
        };
        return {
          id: newId(),
          leadId: entry.leadId,
          ownerId: p.ownerId,
          previousOwnerId: p.previousOwnerId,
          causeKind: p.cause,
          ruleId: p.ruleId,
          at: entry.occurredAt,
        };
      }),
    );
    await signals.emitIn(
      trx,
      workspaceId,
      entries.map((entry) => ({
        type: 'lead.assigned' as const,
        leadId: entry.leadId,
        at: entry.occurredAt,
        data: { ...entry.properties },
      })),
      entries[0]!.occurredAt,
    );
  }

  /**
   * Writes owners decided for leads this transaction has written (a reaction's `after`): the
   * owners, their timeline entries, assignment rows and signals, each in one go for the batch.
   */
  async function assignManyIn(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    assignments: readonly Assignment[],
    now: number,
  ): Promise<void> {
    if (assignments.length === 0) return;
    const entries = assignments.map((a) => assignmentEntry(a, now));
    await leads.setOwnersIn(
      trx,
      workspace,
      assignments.map((a, i) => ({ lead: a.lead, ownerId: a.ownerId, entries: [entries[i]!] })),
    );
    await recordIn(trx, workspace.id, entries);
  }

  /** Sets one lead's owner (locking and reading it) and records it; nothing when it is already the owner. */
  async function assignOneIn(
    trx: Transaction<DB>,
    workspace: WorkspaceContext,
    leadId: string,
    ownerId: string,
    cause: AssignmentCause,
  ): Promise<void> {
    const rule = cause.ruleId
      ? (await configIn(trx, workspace.id)).rules.find((r) => r.id === cause.ruleId)
      : undefined;
    const described = { ...cause, strategy: cause.strategy ?? rule?.strategy.type };
    const written: TimelineEntry[] = [];
    await leads.updateIn(trx, workspace, leadId, (lead, now) => {
      if (lead.ownerId === ownerId) return { lead, entries: [], stageChanges: [] };
      const entry = assignmentEntry(
        { lead, ownerId, previousOwnerId: lead.ownerId, cause: described, ruleName: rule?.name ?? null },
        now,
      );
      written.push(entry);
      return { lead: { ...lead, ownerId }, entries: [entry], stageChanges: [] };
    });
    await recordIn(trx, workspace.id, written);
  }

  /** Active users among `ids`. */
  async function activeIn(
    trx: Kysely<DB>,
    workspaceId: string,
    ids: readonly string[],
  ): Promise<Set<string>> {
    return new Set((await users.findIn(trx, workspaceId, ids)).filter((u) => u.active).map((u) => u.id));
  }

  /**
   * The capture check: an `ownerId` a capture gives must be an active user of the workspace
   * (one lookup for the batch). A refused capture is a bad item, the others are written.
   */
  async function checkCaptures(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    captures: readonly LeadCapture[],
  ): Promise<Map<number, FieldError[]>> {
    const refused = new Map<number, FieldError[]>();
    const owners = captures.flatMap((c) => (c.ownerId ? [c.ownerId] : []));
    if (owners.length === 0) return refused;
    const active = await activeIn(trx, workspace.id, owners);
    captures.forEach((c, i) => {
      if (c.ownerId && !active.has(c.ownerId)) refused.set(i, [notActive('/ownerId', c.ownerId)]);
    });
    return refused;
  }

  /**
   * Owners a capture set itself (`ownerId` of POST /api/v1/leads), recorded as assignments by
   * `api`. The capture check refused inactive ones already; captures that skip it (written by
   * other domains) are checked here, and fail the write.
   */
  async function recordGivenOwnersIn(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    given: ReadonlyArray<{ lead: Lead; previousOwnerId: string | null }>,
    now: number,
  ): Promise<void> {
    const active = await activeIn(
      trx,
      workspace.id,
      given.map((g) => g.lead.ownerId!),
    );
    const errors = given
      .filter((g) => !active.has(g.lead.ownerId!))
      .map((g) => notActive('/ownerId', g.lead.ownerId!));
    if (errors.length > 0) throw validationError(errors);
    await assignManyIn(
      trx,
      workspace,
      given.map((g) => ({
        lead: g.lead,
        ownerId: g.lead.ownerId!,
        previousOwnerId: g.previousOwnerId,
        cause: { kind: 'api' },
        ruleName: null,
      })),
      now,
    );
  }

  /**
   * The lead reaction: a capture's own owners are recorded; the unowned leads are routed when
   * they are created, and again when a change makes some rule match — all of one write in one
   * pass. Costs one cached lookup per write when the workspace routes nothing.
   */
  async function react(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    changes: readonly LeadChange[],
    now: number,
  ): Promise<void> {
    const given: Array<{ lead: Lead; previousOwnerId: string | null }> = [];
    const unowned: LeadChange[] = [];
    for (const change of changes) {
      const { before, after } = change;
      // Without the lead, nothing routing looks at changed; an assignment is routing's own write.
      if (!after || before === undefined) continue;
      if (change.entries.some((e) => e.type === 'lead_assigned')) continue;
      const previousOwnerId = before?.ownerId ?? null;
      if (after.ownerId !== null && after.ownerId !== previousOwnerId) {
        given.push({ lead: after, previousOwnerId });
      } else if (after.ownerId === null && after.archivedAt === null && after.mergedIntoId === null) {
        unowned.push(change);
      }
    }
    if (given.length > 0) await recordGivenOwnersIn(trx, workspace, given, now);
    if (unowned.length === 0) return;
    const config = await configIn(trx, workspace.id);
    if (!routes(config)) return;
    const { model } = await scoring.activeModelIn(trx, workspace.id);
    const context = contextOf(model);
    const pass = openPass(trx, workspace.id, now);
    const decided: Assignment[] = [];
    for (const { before, after } of unowned) {
      const lead = after!;
      const view = leadView(lead, leadScore(model, lead.scoring, now).score);
      if (before) {
        const was = leadView(before, leadScore(model, before.scoring, now).score);
        if (!newlyMatching(config.rules, was, view, context)) continue;
      }
      const decision = await pass.decide(lead, view, config, context, null);
      if (decision.ownerId === null) {
        logger.info(
          { workspaceId: workspace.id, leadId: lead.id, reason: decision.reason },
          'lead left unassigned',
        );
        continue;
      }
      pass.gave(decision.ownerId, lead);
      decided.push({
        lead,
        ownerId: decision.ownerId,
        previousOwnerId: null,
        cause: {
          kind: 'rule',
          ruleId: decision.ruleId ?? undefined,
          strategy: decision.strategy ?? undefined,
          reason: decision.reason,
        },
        ruleName: decision.ruleName,
      });
    }
    await pass.save();
    await assignManyIn(trx, workspace, decided, now);
  }

  /**
   * Sets the owner and records it; nothing when it is already the owner. The owner must be an
   * active user (422 on /ownerId), `byUserId` a user of the workspace (422 on /byUserId).
   */
  async function assignIn(
    trx: Transaction<DB>,
    workspace: WorkspaceContext,
    leadId: string,
    ownerId: string,
    cause: AssignmentCause,
  ): Promise<void> {
    const found = new Map(
      (await users.findIn(trx, workspace.id, cause.byUserId ? [ownerId, cause.byUserId] : [ownerId])).map(
        (u) => [u.id, u],
      ),
    );
    if (!found.get(ownerId)?.active)
      throw validationError([{ path: '/ownerId', message: 'is not an active user of this workspace' }]);
    if (cause.byUserId !== undefined && !found.has(cause.byUserId))
      throw validationError([{ path: '/byUserId', message: 'is not a user of this workspace' }]);
    await assignOneIn(trx, workspace, leadId, ownerId, cause);
  }

  return {
    react,
    checkCaptures,
    assignIn,

    /** Forgets cached configurations (of a workspace, or all): another process changed them. */
    forgetCached: (workspaceId?: string) => cache.forget(workspaceId),

    /**
     * The next available rep for a lead by the strategy of the rule that assigned it (else by
     * the rotation of a team its owner belongs to), never the current owner; assigns the lead
     * to them and returns their id. Null when nobody is available: the lead keeps its owner.
     */
    async reassignNextIn(
      trx: Transaction<DB>,
      workspace: WorkspaceContext,
      leadId: string,
      reason: string,
      kind: AssignmentCause['kind'] = 'sla',
    ): Promise<string | null> {
      const now = clock();
      const lead = await leadIn(trx, workspace, leadId);
      const current = lead.ownerId;
      const config = await configIn(trx, workspace.id);
      const last = await store.lastAssignment(trx, workspace.id, leadId);
      const rule = last?.ruleId ? config.rules.find((r) => r.id === last.ruleId) : undefined;
      const pass = openPass(trx, workspace.id, now);
      let pick: Choice = nobody('no rule or team to take from');
      if (rule) pick = await pass.pickByRule(rule, lead, current);
      if (pick.ownerId === null && current !== null) {
        for (const teamId of await teams.teamIdsOfIn(trx, workspace.id, current)) {
          pick = await pass.pickFromTeam(teamId, `team:${teamId}`, current);
          if (pick.ownerId !== null) break;
        }
      }
      await pass.save();
      if (pick.ownerId === null) {
        logger.info(
          { workspaceId: workspace.id, leadId, reason: pick.reason },
          'nobody to reassign the lead to',
        );
        return null;
      }
      // The pass chose a reachable (hence active) user: no check to repeat.
      await assignOneIn(trx, workspace, leadId, pick.ownerId, {
        kind,
        ruleId: rule?.id,
        strategy: rule?.strategy.type,
        reason: `${reason} (${pick.reason})`,
      });
      return pick.ownerId;
    },

    /** Assigns by hand (POST /leads/:id/assign with `ownerId`); returns the lead as it now is. */
    async assignManuallyIn(
      trx: Transaction<DB>,
      workspace: WorkspaceContext,
      leadId: string,
      ownerId: string,
      cause: AssignmentCause,
    ): Promise<ScoredLead> {
      await assignIn(trx, workspace, leadId, ownerId, cause);
      return scoredIn(trx, workspace, leadId);
    },

    /** Runs the rules again for one lead (owned or not) and assigns what they decide. */
    async routeIn(
      trx: Transaction<DB>,
      workspace: WorkspaceContext,
      leadId: string,
    ): Promise<ScoredLead & { decision: Decision }> {
      const now = clock();
      const lead = await leadIn(trx, workspace, leadId);
      const config = await configIn(trx, workspace.id);
      const { model } = await scoring.activeModelIn(trx, workspace.id);
      const view = leadView(lead, leadScore(model, lead.scoring, now).score);
      const pass = openPass(trx, workspace.id, now);
      const decision = await pass.decide(lead, view, config, contextOf(model), null);
      await pass.save();
      if (decision.ownerId !== null && decision.ownerId !== lead.ownerId) {
        await assignOneIn(trx, workspace, leadId, decision.ownerId, {
          kind: 'rule',
          ruleId: decision.ruleId ?? undefined,
          strategy: decision.strategy ?? undefined,
          reason: decision.reason,
        });
      }
      return { ...(await scoredIn(trx, workspace, leadId)), decision };
    },

    /** The routing rules and fallback owner of a workspace. */
    config: (workspaceId: string) => store.readConfig(database.db, workspaceId),

    /** Replaces the ordered rule list; the people and teams it names must exist. */
    async putRules(workspaceId: string, input: readonly RuleInput[]): Promise<RoutingConfig> {
      const checked = checkRules(input, newId);
      if (!checked.ok) throw validationError(checked.errors);
      return changeConfig(workspaceId, async (trx) => {
        // Locked before the references are checked: a team removal in another process either
        // committed already (the team is not found) or waits until this change has committed.
        const current = await store.lockConfig(trx, workspaceId, database.engine);
        const refs = referencesOf(checked.rules);
        const knownUsers = new Set(
          (
            await users.findIn(
              trx,
              workspaceId,
              refs.users.map((u) => u.id),
            )
          ).map((u) => u.id),
        );
        const errors: FieldError[] = refs.users
          .filter((u) => !knownUsers.has(u.id))
          .map((u) => ({ path: u.path, message: 'is not a user of this workspace' }));
        const knownTeams = new Map<string, boolean>();
        for (const team of refs.teams) {
          if (!knownTeams.has(team.id))
            knownTeams.set(team.id, (await teams.getIn(trx, workspaceId, team.id)) !== undefined);
          if (!knownTeams.get(team.id))
            errors.push({ path: team.path, message: 'is not a team of this workspace' });
        }
        if (errors.length > 0) throw validationError(errors);
        const updatedAt = clock();
        await store.writeRules(trx, workspaceId, checked.rules, updatedAt);
        return { ...current, rules: checked.rules, updatedAt };
      });
    },

    /** Sets (or, with null, clears) the fallback owner. */
    async putSettings(
      workspaceId: string,
      settings: { fallbackOwnerId: string | null },
    ): Promise<RoutingConfig> {
      return changeConfig(workspaceId, async (trx) => {
        const current = await store.lockConfig(trx, workspaceId, database.engine);
        if (settings.fallbackOwnerId !== null) {
          const [user] = await users.findIn(trx, workspaceId, [settings.fallbackOwnerId]);
          if (!user)
            throw validationError([{ path: '/fallbackOwnerId', message: 'is not a user of this workspace' }]);
        }
        const updatedAt = clock();
        await store.writeFallbackOwner(trx, workspaceId, settings.fallbackOwnerId, updatedAt);
        return { ...current, fallbackOwnerId: settings.fallbackOwnerId, updatedAt };
      });
    },
  };
}
