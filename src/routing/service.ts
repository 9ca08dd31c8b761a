import type { Kysely, Transaction } from 'kysely';
import type pino from 'pino';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { DB } from '../db/schema.ts';
import { type FieldError, validationError } from '../errors.ts';
import type { Lead, TimelineEntry } from '../leads/model.ts';
import type { LeadChange } from '../leads/reactions.ts';
import type { LeadService, WorkspaceContext } from '../leads/service.ts';
import { type ConditionContext, conditionContext } from '../scoring/conditions.ts';
import type { Score } from '../scoring/engine.ts';
import type { ScoringModel } from '../scoring/model.ts';
import { leadScore } from '../scoring/qualify.ts';
import type { ScoringService } from '../scoring/service.ts';
import type { Signals } from '../signals/bus.ts';
import type { User } from '../users/model.ts';
import type { UserService } from '../users/service.ts';
import type { TeamService } from '../users/teams-service.ts';
import { startOfLocalDay } from '../users/zoned-time.ts';
import {
  checkRules,
  isAvailable,
  isReachable,
  type Load,
  leadView,
  newlyMatching,
  noLoad,
  type RoutingConfig,
  type RoutingRule,
  type RuleInput,
  referencesOf,
  routes,
  ruleMatches,
  type StrategyType,
  takeTurn,
  territoryFor,
} from './model.ts';
import * as store from './store.ts';

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

/** What routing decided for a lead, and why. `ownerId` null: nobody (the lead keeps its owner, if any). */
export interface Decision {
  ownerId: string | null;
  ruleId: string | null;
  ruleName: string | null;
  strategy: StrategyType | 'fallback' | null;
  reason: string;
}

/**
 * How long a workspace's routing configuration is cached: every capture asks whether there is
 * anything to route. A change made by this process is seen at once, one made by another
 * process within this time. (5 s)
 */
const CONFIG_CACHE_MS = 5_000;
const DAY_MS = 86_400_000;

/** A lead with its score at the moment (what the API answers with). */
export interface ScoredLead {
  lead: Lead;
  score: Score;
}

type Choice = { ownerId: string; reason: string } | { ownerId: null; reason: string };
const nobody = (reason: string): Choice => ({ ownerId: null, reason });

/**
 * Reactions, signal handlers and `…In` callers pass the writing transaction typed as
 * `Kysely<DB>`; the lead service's `updateIn` asks for the `Transaction` it is.
 */
const asTransaction = (db: Kysely<DB>) => db as Transaction<DB>;

const contexts = new WeakMap<ScoringModel, ConditionContext>();
function contextOf(model: ScoringModel): ConditionContext {
  let context = contexts.get(model);
  if (!context) {
    context = conditionContext(model.competitorDomains);
    contexts.set(model, context);
  }
  return context;
}

/**
 * Routing: who gets a lead. Ordered rules (first match whose strategy finds someone wins),
 * then the fallback owner; every assignment is a timeline entry, an assignment row (what
 * capacity limits count) and a `lead.assigned` signal, written in the caller's transaction.
 */
export function createRoutingService(deps: RoutingServiceDeps) {
  const { database, leads, scoring, users, teams, signals, clock, logger } = deps;
  const cache = new Map<string, { config: RoutingConfig; until: number }>();
  // Dropped inside the writing unit: group commit runs one writer at a time per process.
  const forget = (workspaceId: string) => cache.delete(workspaceId);

  async function configIn(db: Kysely<DB>, workspaceId: string): Promise<RoutingConfig> {
    const now = clock();
    const cached = cache.get(workspaceId);
    if (cached && cached.until > now) return cached.config;
    const config = await store.readConfig(db, workspaceId);
    if (cache.size > 10_000) cache.clear();
    cache.set(workspaceId, { config, until: now + CONFIG_CACHE_MS });
    return config;
  }

  // A team a rule routes to cannot be removed from under it.
  teams.guardRemoval(async (trx, workspaceId, teamId) => {
    const config = await store.readConfig(trx, workspaceId);
    return referencesOf(config.rules)
      .teams.filter((t) => t.id === teamId)
      .map((t) => ({ path: t.path, message: `rule "${t.rule}" routes to this team` }));
  });

  /** The lead as the transaction sees it (locked on PostgreSQL until it ends). */
  const leadIn = (trx: Kysely<DB>, workspace: WorkspaceContext, id: string): Promise<Lead> =>
    leads.updateIn(asTransaction(trx), workspace, id, (lead) => ({ lead, entries: [], stageChanges: [] }));

  /** The lead as it now stands, with its score now (what the API answers with). */
  async function scoredIn(trx: Kysely<DB>, workspace: WorkspaceContext, leadId: string): Promise<ScoredLead> {
    const lead = await leadIn(trx, workspace, leadId);
    const { model } = await scoring.activeModelIn(trx, workspace.id);
    return { lead, score: leadScore(model, lead.scoring, clock()) };
  }

  /** Leads each person received today (since their local midnight) and in the last 30 days. */
  async function loadsOf(trx: Kysely<DB>, workspaceId: string, people: readonly User[], now: number) {
    const loads = new Map<string, Load>();
    for (const user of people) {
      const { daily, rolling30Days } = user.capacity;
      if (daily === null && rolling30Days === null) continue;
      loads.set(user.id, {
        today:
          daily === null
            ? 0
            : await store.countAssignedSince(trx, workspaceId, user.id, startOfLocalDay(user.timezone, now)),
        last30Days:
          rolling30Days === null
            ? 0
            : await store.countAssignedSince(trx, workspaceId, user.id, now - 30 * DAY_MS),
      });
    }
    return loads;
  }

  /** A person named by a rule, the account or the fallback: theirs if reachable. */
  async function pickNamed(
    trx: Kysely<DB>,
    workspaceId: string,
    userId: string,
    now: number,
    exclude: string | null,
    why: string,
  ): Promise<Choice> {
    if (userId === exclude) return nobody('the only candidate is the current owner');
    const [user] = await users.findIn(trx, workspaceId, [userId]);
    if (!user) return nobody(`user ${userId} no longer exists`);
    if (!isReachable(user, now))
      return nobody(`${user.name} is ${user.active ? 'out of office' : 'inactive'}`);
    return { ownerId: user.id, reason: why };
  }

  /** The next available member of a team's rotation `pool`, which advances in this transaction. */
  async function pickFromTeam(
    trx: Kysely<DB>,
    workspaceId: string,
    teamId: string,
    pool: string,
    now: number,
    exclude: string | null,
  ): Promise<Choice> {
    const team = await teams.getIn(trx, workspaceId, teamId);
    if (!team) return nobody(`team ${teamId} no longer exists`);
    // Locked before loads are counted: a concurrent process waits here, then counts this turn.
    const rotation = await store.lockRotation(trx, workspaceId, pool, database.engine, now);
    const people = new Map(
      (
        await users.findIn(
          trx,
          workspaceId,
          team.members.map((m) => m.userId),
        )
      ).map((u) => [u.id, u]),
    );
    const loads = await loadsOf(trx, workspaceId, [...people.values()], now);
    const turn = takeTurn(team.members, rotation, (id) => {
      const user = people.get(id);
      return id !== exclude && user !== undefined && isAvailable(user, now, loads.get(id) ?? noLoad);
    });
    if (!turn) return nobody(`nobody in team ${team.name} is available`);
    await store.saveRotation(trx, workspaceId, pool, turn.rotation, now);
    return { ownerId: turn.userId, reason: `round robin over team ${team.name}` };
  }

  async function pickByRule(
    trx: Kysely<DB>,
    workspaceId: string,
    rule: RoutingRule,
    lead: Lead,
    now: number,
    exclude: string | null,
  ): Promise<Choice> {
    const s = rule.strategy;
    switch (s.type) {
      case 'owner':
        return pickNamed(trx, workspaceId, s.userId, now, exclude, 'fixed owner');
      case 'round_robin':
        return pickFromTeam(trx, workspaceId, s.teamId, `rule:${rule.id}`, now, exclude);
      case 'territory': {
        const territory = territoryFor(s.territories, lead.country);
        if (!territory) return nobody(`no territory contains country ${lead.country ?? '(none)'}`);
        const where = [...territory.countries, ...territory.regions].join(', ');
        if (territory.userId !== null)
          return pickNamed(trx, workspaceId, territory.userId, now, exclude, `territory ${where}`);
        const pick = await pickFromTeam(
          trx,
          workspaceId,
          territory.teamId!,
          `rule:${rule.id}:${territory.teamId}`,
          now,
          exclude,
        );
        return pick.ownerId ? { ...pick, reason: `territory ${where}, ${pick.reason}` } : pick;
      }
      case 'account': {
        const domain = lead.companyDomain;
        if (!domain) return nobody('the lead has no company domain');
        const owner = await store.accountOwner(trx, workspaceId, domain, lead.id);
        if (!owner) return nobody(`no other lead of ${domain} has an owner`);
        return pickNamed(trx, workspaceId, owner, now, exclude, `owner of the account ${domain}`);
      }
    }
  }

  /** Runs the rules, then the fallback, for `lead` at `now`; `exclude` is never chosen. */
  async function decideIn(
    trx: Kysely<DB>,
    workspaceId: string,
    lead: Lead,
    config: RoutingConfig,
    now: number,
    exclude: string | null = null,
  ): Promise<Decision> {
    const { model } = await scoring.activeModelIn(trx, workspaceId);
    const view = leadView(lead, leadScore(model, lead.scoring, now).score);
    const context = contextOf(model);
    const misses: string[] = [];
    for (const rule of config.rules) {
      if (!ruleMatches(rule, view, context)) continue;
      const pick = await pickByRule(trx, workspaceId, rule, lead, now, exclude);
      if (pick.ownerId !== null)
        return {
          ownerId: pick.ownerId,
          ruleId: rule.id,
          ruleName: rule.name,
          strategy: rule.strategy.type,
          reason: pick.reason,
        };
      misses.push(`rule "${rule.name}": ${pick.reason}`);
    }
    const why = misses.length === 0 ? 'no rule matched' : misses.join('; ');
    const none = { ruleId: null, ruleName: null, strategy: null };
    if (config.fallbackOwnerId === null)
      return { ownerId: null, ...none, reason: `${why}; no fallback owner` };
    const pick = await pickNamed(
      trx,
      workspaceId,
      config.fallbackOwnerId,
      now,
      exclude,
      `fallback owner (${why})`,
    );
    if (pick.ownerId === null)
      return { ownerId: null, ...none, reason: `${why}; fallback owner: ${pick.reason}` };
    return { ownerId: pick.ownerId, ruleId: null, ruleName: null, strategy: 'fallback', reason: pick.reason };
  }

  function assignmentEntry(
    leadId: string,
    ownerId: string,
    previousOwnerId: string | null,
    cause: AssignmentCause,
    rule: RoutingRule | undefined,
    now: number,
  ): TimelineEntry {
    return {
      id: newId(),
      leadId,
      type: 'lead_assigned',
      occurredAt: now,
      properties: {
        ownerId,
        previousOwnerId,
        cause: cause.kind,
        ruleId: cause.ruleId ?? null,
        ruleName: rule?.name ?? null,
        strategy: cause.strategy ?? rule?.strategy.type ?? null,
        reason: cause.reason ?? null,
        ...(cause.byUserId ? { byUserId: cause.byUserId } : {}),
      },
    };
  }

  /** The assignment row (capacity counts it) and the `lead.assigned` signal of a timeline entry. */
  async function recordIn(trx: Kysely<DB>, workspaceId: string, entry: TimelineEntry): Promise<void> {
    const p = entry.properties as {
      ownerId: string;
      previousOwnerId: string | null;
      cause: string;
      ruleId: string | null;
    };
    await store.insertAssignment(trx, workspaceId, {
      id: newId(),
      leadId: entry.leadId,
      ownerId: p.ownerId,
      previousOwnerId: p.previousOwnerId,
      causeKind: p.cause,
      ruleId: p.ruleId,
      at: entry.occurredAt,
    });
    await signals.emitIn(
      trx,
      workspaceId,
      [{ type: 'lead.assigned', leadId: entry.leadId, at: entry.occurredAt, data: { ...entry.properties } }],
      entry.occurredAt,
    );
  }

  async function checkOwner(
    trx: Kysely<DB>,
    workspaceId: string,
    ownerId: string,
    path: string,
  ): Promise<void> {
    const [owner] = await users.findIn(trx, workspaceId, [ownerId]);
    if (!owner?.active) throw validationError([{ path, message: 'is not an active user of this workspace' }]);
  }

  /** Sets the owner and records it; nothing when it is already the owner. */
  async function assignIn(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    leadId: string,
    ownerId: string,
    cause: AssignmentCause,
  ): Promise<void> {
    await checkOwner(trx, workspace.id, ownerId, '/ownerId');
    if (
      cause.byUserId !== undefined &&
      (await users.findIn(trx, workspace.id, [cause.byUserId])).length === 0
    )
      throw validationError([{ path: '/byUserId', message: 'is not a user of this workspace' }]);
    const rule = cause.ruleId
      ? (await configIn(trx, workspace.id)).rules.find((r) => r.id === cause.ruleId)
      : undefined;
    const written: TimelineEntry[] = [];
    await leads.updateIn(asTransaction(trx), workspace, leadId, (lead, now) => {
      if (lead.ownerId === ownerId) return { lead, entries: [], stageChanges: [] };
      const entry = assignmentEntry(lead.id, ownerId, lead.ownerId, cause, rule, now);
      written.push(entry);
      return { lead: { ...lead, ownerId }, entries: [entry], stageChanges: [] };
    });
    for (const entry of written) await recordIn(trx, workspace.id, entry);
  }

  /** Routes an unowned lead (a reaction): assigns it, or logs why it stays unassigned. */
  async function routeNewIn(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    lead: Lead,
    config: RoutingConfig,
    now: number,
  ): Promise<void> {
    const decision = await decideIn(trx, workspace.id, lead, config, now);
    if (decision.ownerId === null) {
      logger.info(
        { workspaceId: workspace.id, leadId: lead.id, reason: decision.reason },
        'lead left unassigned',
      );
      return;
    }
    await assignIn(trx, workspace, lead.id, decision.ownerId, {
      kind: 'rule',
      ruleId: decision.ruleId ?? undefined,
      strategy: decision.strategy ?? undefined,
      reason: decision.reason,
    });
  }

  /**
   * Owners a capture set itself (`ownerId` of POST /api/v1/leads): each must be an active
   * user (else the write fails, 422 on /ownerId); each is recorded as an assignment by `api`.
   */
  async function recordGivenOwnersIn(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    given: ReadonlyArray<{ leadId: string; ownerId: string; previousOwnerId: string | null }>,
  ): Promise<void> {
    const active = new Set(
      (
        await users.findIn(
          trx,
          workspace.id,
          given.map((g) => g.ownerId),
        )
      )
        .filter((u) => u.active)
        .map((u) => u.id),
    );
    const errors: FieldError[] = given
      .filter((g) => !active.has(g.ownerId))
      .map((g) => ({ path: '/ownerId', message: `"${g.ownerId}" is not an active user of this workspace` }));
    if (errors.length > 0) throw validationError(errors);
    for (const g of given) {
      const written: TimelineEntry[] = [];
      // The capture already set the owner: only the record of it is written.
      await leads.updateIn(asTransaction(trx), workspace, g.leadId, (lead, now) => {
        if (lead.ownerId !== g.ownerId) return { lead, entries: [], stageChanges: [] };
        const entry = assignmentEntry(lead.id, g.ownerId, g.previousOwnerId, { kind: 'api' }, undefined, now);
        written.push(entry);
        return { lead, entries: [entry], stageChanges: [] };
      });
      for (const entry of written) await recordIn(trx, workspace.id, entry);
    }
  }

  /**
   * The lead reaction: a capture's own owners are checked and recorded; an unowned lead is
   * routed when it is created, and again when a change makes some rule match. Costs one cached
   * lookup per write when the workspace routes nothing.
   */
  async function react(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    changes: readonly LeadChange[],
    now: number,
  ): Promise<void> {
    const given: Array<{ leadId: string; ownerId: string; previousOwnerId: string | null }> = [];
    const unowned: LeadChange[] = [];
    for (const change of changes) {
      const { before, after } = change;
      // Without the lead, nothing routing looks at changed; an assignment is routing's own write.
      if (!after || before === undefined) continue;
      if (change.entries.some((e) => e.type === 'lead_assigned')) continue;
      const previousOwnerId = before?.ownerId ?? null;
      if (after.ownerId !== null && after.ownerId !== previousOwnerId) {
        given.push({ leadId: after.id, ownerId: after.ownerId, previousOwnerId });
      } else if (after.ownerId === null && after.archivedAt === null && after.mergedIntoId === null) {
        unowned.push(change);
      }
    }
    if (given.length > 0) await recordGivenOwnersIn(trx, workspace, given);
    if (unowned.length === 0) return;
    const config = await configIn(trx, workspace.id);
    if (!routes(config)) return;
    const { model } = await scoring.activeModelIn(trx, workspace.id);
    const context = contextOf(model);
    for (const { before, after } of unowned) {
      if (before) {
        const was = leadView(before, leadScore(model, before.scoring, now).score);
        const is = leadView(after!, leadScore(model, after!.scoring, now).score);
        if (!newlyMatching(config.rules, was, is, context)) continue;
      }
      await routeNewIn(trx, workspace, after!, config, now);
    }
  }

  return {
    react,
    assignIn,

    /**
     * The next available rep for a lead by the strategy of the rule that assigned it (else by
     * the rotation of a team its owner belongs to), never the current owner; assigns the lead
     * to them and returns their id. Null when nobody is available: the lead keeps its owner.
     */
    async reassignNextIn(
      trx: Kysely<DB>,
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
      let pick: Choice = nobody('no rule or team to take from');
      if (rule) pick = await pickByRule(trx, workspace.id, rule, lead, now, current);
      if (pick.ownerId === null && current !== null) {
        for (const teamId of await teams.teamIdsOfIn(trx, workspace.id, current)) {
          pick = await pickFromTeam(trx, workspace.id, teamId, `team:${teamId}`, now, current);
          if (pick.ownerId !== null) break;
        }
      }
      if (pick.ownerId === null) {
        logger.info(
          { workspaceId: workspace.id, leadId, reason: pick.reason },
          'nobody to reassign the lead to',
        );
        return null;
      }
      await assignIn(trx, workspace, leadId, pick.ownerId, {
        kind,
        ruleId: rule?.id,
        strategy: rule?.strategy.type,
        reason: `${reason} (${pick.reason})`,
      });
      return pick.ownerId;
    },

    /** Assigns by hand (POST /leads/:id/assign with `ownerId`); returns the lead as it now is. */
    async assignManuallyIn(
      trx: Kysely<DB>,
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
      trx: Kysely<DB>,
      workspace: WorkspaceContext,
      leadId: string,
    ): Promise<ScoredLead & { decision: Decision }> {
      const now = clock();
      const lead = await leadIn(trx, workspace, leadId);
      const decision = await decideIn(trx, workspace.id, lead, await configIn(trx, workspace.id), now);
      if (decision.ownerId !== null && decision.ownerId !== lead.ownerId) {
        await assignIn(trx, workspace, leadId, decision.ownerId, {
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
      return database.writes.run(async (trx) => {
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
        for (const team of refs.teams) {
          if (!(await teams.getIn(trx, workspaceId, team.id)))
            errors.push({ path: team.path, message: 'is not a team of this workspace' });
        }
        if (errors.length > 0) throw validationError(errors);
        const current = await store.readConfig(trx, workspaceId);
        const next: RoutingConfig = { ...current, rules: checked.rules, updatedAt: clock() };
        await store.writeConfig(trx, workspaceId, next);
        forget(workspaceId);
        return next;
      });
    },

    /** Sets (or, with null, clears) the fallback owner. */
    async putSettings(
      workspaceId: string,
      settings: { fallbackOwnerId: string | null },
    ): Promise<RoutingConfig> {
      return database.writes.run(async (trx) => {
        if (settings.fallbackOwnerId !== null) {
          const [user] = await users.findIn(trx, workspaceId, [settings.fallbackOwnerId]);
          if (!user)
            throw validationError([{ path: '/fallbackOwnerId', message: 'is not a user of this workspace' }]);
        }
        const current = await store.readConfig(trx, workspaceId);
        const next: RoutingConfig = {
          ...current,
          fallbackOwnerId: settings.fallbackOwnerId,
          updatedAt: clock(),
        };
        await store.writeConfig(trx, workspaceId, next);
        forget(workspaceId);
        return next;
      });
    },
  };
}
