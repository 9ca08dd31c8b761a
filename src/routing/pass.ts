import type { Kysely } from 'kysely';
import type { Engine } from '../db/database.ts';
import type { DB } from '../db/schema.ts';
import type { Lead } from '../leads/model.ts';
import type { ConditionContext } from '../scoring/conditions.ts';
import type { Team, User } from '../users/model.ts';
import {
  type AccountShare,
  accountOwnerOf,
  type Decision,
  isAvailable,
  isReachable,
  type LeadView,
  type Load,
  loadWindows,
  noLoad,
  plusGiven,
  type Rotation,
  type RoutingConfig,
  type RoutingRule,
  ruleMatches,
  takeTurn,
  territoryFor,
  withShare,
} from './model.ts';
import * as store from './store.ts';

/** What a routing pass reads through other domains, named narrowly. */
export interface PassDeps {
  engine: Engine;
  users: { findIn(db: Kysely<DB>, workspaceId: string, ids: readonly string[]): Promise<User[]> };
  teams: { getIn(db: Kysely<DB>, workspaceId: string, id: string): Promise<Team | undefined> };
  leads: {
    accountSharesIn(
      db: Kysely<DB>,
      workspaceId: string,
      companyDomain: string,
      exceptLeadId: string,
    ): Promise<AccountShare[]>;
  };
}

export type Choice = { ownerId: string; reason: string } | { ownerId: null; reason: string };
export const nobody = (reason: string): Choice => ({ ownerId: null, reason });

/** A team's rotation as this pass holds it (locked on PostgreSQL), and whether it moved. */
interface Pool {
  team: Team;
  rotation: Rotation;
  moved: boolean;
}

/**
 * One routing pass: the decisions for the unowned leads of one write (or for one lead), made in
 * memory in the writing transaction. Each person, team, rotation, load and account is read once
 * per pass, not once per lead; rotations turn in memory and are saved once (`save`); and each
 * decision the caller keeps (`gave`) counts toward the next ones — capacity and account owners —
 * as if it were already written. The outcome is the one routing the leads one by one gives.
 *
 * Accounts are read leaving out the first lead that asks about them: a batch's leads are all
 * unowned (so none counts anyway), and a pass for one lead asks for that lead alone.
 */
export class RoutingPass {
  readonly #deps: PassDeps;
  readonly #trx: Kysely<DB>;
  readonly #workspaceId: string;
  readonly #now: number;
  readonly #users = new Map<string, User | null>();
  readonly #pools = new Map<string, Pool | null>();
  /** Loads as stored when the pass first needed them. */
  readonly #loads = new Map<string, Load>();
  /** Leads this pass gave each person. */
  readonly #given = new Map<string, number>();
  /** Accounts' shares as stored, by company domain. */
  readonly #shares = new Map<string, AccountShare[]>();
  /** Leads this pass gave, by company domain. */
  readonly #givenByDomain = new Map<string, Array<{ ownerId: string; createdAt: number }>>();

  constructor(deps: PassDeps, trx: Kysely<DB>, workspaceId: string, now: number) {
    this.#deps = deps;
    this.#trx = trx;
    this.#workspaceId = workspaceId;
    this.#now = now;
  }

  /** Runs the rules in order (first match whose strategy finds someone wins), then the fallback. */
  async decide(
    lead: Lead,
    view: LeadView,
    config: RoutingConfig,
    context: ConditionContext,
    exclude: string | null,
  ): Promise<Decision> {
    const misses: string[] = [];
    for (const rule of config.rules) {
      if (!ruleMatches(rule, view, context)) continue;
      const pick = await this.pickByRule(rule, lead, exclude);
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
    const pick = await this.pickNamed(config.fallbackOwnerId, exclude, `fallback owner (${why})`);
    if (pick.ownerId === null)
      return { ownerId: null, ...none, reason: `${why}; fallback owner: ${pick.reason}` };
    return { ownerId: pick.ownerId, ruleId: null, ruleName: null, strategy: 'fallback', reason: pick.reason };
  }

  /** What one rule's strategy finds for `lead`; `exclude` is never chosen. */
  async pickByRule(rule: RoutingRule, lead: Lead, exclude: string | null): Promise<Choice> {
    const s = rule.strategy;
    switch (s.type) {
      case 'owner':
        return this.pickNamed(s.userId, exclude, 'fixed owner');
      case 'round_robin':
        return this.pickFromTeam(s.teamId, `rule:${rule.id}`, exclude);
      case 'territory': {
        const territory = territoryFor(s.territories, lead.country);
        if (!territory) return nobody(`no territory contains country ${lead.country ?? '(none)'}`);
        const where = [...territory.countries, ...territory.regions].join(', ');
        if (territory.userId !== null) return this.pickNamed(territory.userId, exclude, `territory ${where}`);
        const pick = await this.pickFromTeam(
          territory.teamId!,
          `rule:${rule.id}:${territory.teamId}`,
          exclude,
        );
        return pick.ownerId ? { ...pick, reason: `territory ${where}, ${pick.reason}` } : pick;
      }
      case 'account': {
        const domain = lead.companyDomain;
        if (!domain) return nobody('the lead has no company domain');
        const owner = accountOwnerOf(await this.#accountShares(domain, lead.id));
        if (!owner) return nobody(`no other lead of ${domain} has an owner`);
        return this.pickNamed(owner, exclude, `owner of the account ${domain}`);
      }
    }
  }

  /** A person named by a rule, the account or the fallback: theirs if reachable. */
  async pickNamed(userId: string, exclude: string | null, why: string): Promise<Choice> {
    if (userId === exclude) return nobody('the only candidate is the current owner');
    const user = (await this.#usersIn([userId])).get(userId);
    if (!user) return nobody(`user ${userId} no longer exists`);
    if (!isReachable(user, this.#now))
      return nobody(`${user.name} is ${user.active ? 'out of office' : 'inactive'}`);
    return { ownerId: user.id, reason: why };
  }

  /** The next available member of a team's rotation `poolKey`, which turns in memory. */
  async pickFromTeam(teamId: string, poolKey: string, exclude: string | null): Promise<Choice> {
    const pool = await this.#pool(teamId, poolKey);
    if (!pool) return nobody(`team ${teamId} no longer exists`);
    const turn = takeTurn(pool.team.members, pool.rotation, (id) => {
      const user = this.#users.get(id);
      return id !== exclude && !!user && isAvailable(user, this.#now, this.#loadOf(id));
    });
    if (!turn) return nobody(`nobody in team ${pool.team.name} is available`);
    pool.rotation = turn.rotation;
    pool.moved = true;
    return { ownerId: turn.userId, reason: `round robin over team ${pool.team.name}` };
  }

  /** Counts a lead given to `ownerId` toward the decisions that follow (capacity, accounts). */
  gave(ownerId: string, lead: Lead): void {
    this.#given.set(ownerId, (this.#given.get(ownerId) ?? 0) + 1);
    if (lead.companyDomain === null) return;
    const given = this.#givenByDomain.get(lead.companyDomain);
    const share = { ownerId, createdAt: lead.createdAt };
    if (given) given.push(share);
    else this.#givenByDomain.set(lead.companyDomain, [share]);
  }

  /** Stores the rotations that turned. */
  async save(): Promise<void> {
    for (const [key, pool] of this.#pools) {
      if (pool?.moved) {
        await store.saveRotation(this.#trx, this.#workspaceId, key, pool.rotation, this.#now);
        pool.moved = false;
      }
    }
  }

  /** These users, read once per pass (unknown ids are absent). */
  async #usersIn(ids: readonly string[]): Promise<Map<string, User>> {
    const missing = ids.filter((id) => !this.#users.has(id));
    if (missing.length > 0) {
      const found = await this.#deps.users.findIn(this.#trx, this.#workspaceId, missing);
      for (const id of missing) this.#users.set(id, null);
      for (const user of found) this.#users.set(user.id, user);
    }
    const out = new Map<string, User>();
    for (const id of ids) {
      const user = this.#users.get(id);
      if (user) out.set(id, user);
    }
    return out;
  }

  /**
   * A team's rotation, locked, with its members and their loads: read on first use. Locked
   * before the loads are counted: a concurrent process waits here, then counts its turns.
   */
  async #pool(teamId: string, key: string): Promise<Pool | null> {
    const known = this.#pools.get(key);
    if (known !== undefined) return known;
    const team = await this.#deps.teams.getIn(this.#trx, this.#workspaceId, teamId);
    if (!team) {
      this.#pools.set(key, null);
      return null;
    }
    const rotation = await store.lockRotation(
      this.#trx,
      this.#workspaceId,
      key,
      this.#deps.engine,
      this.#now,
    );
    const people = await this.#usersIn(team.members.map((m) => m.userId));
    await this.#countLoads([...people.values()]);
    const pool = { team, rotation, moved: false };
    this.#pools.set(key, pool);
    return pool;
  }

  /** Reads the loads of those among `people` whose capacity is limited and not yet counted. */
  async #countLoads(people: readonly User[]): Promise<void> {
    const uncounted = people.filter((u) => !this.#loads.has(u.id));
    if (uncounted.length === 0) return;
    for (const user of uncounted) this.#loads.set(user.id, noLoad);
    for (const { window, since, userIds } of loadWindows(uncounted, this.#now)) {
      const counts = await store.countAssignedSince(this.#trx, this.#workspaceId, userIds, since);
      for (const [id, n] of counts) this.#loads.set(id, { ...this.#loads.get(id)!, [window]: n });
    }
  }

  #loadOf(userId: string): Load {
    return plusGiven(this.#loads.get(userId) ?? noLoad, this.#given.get(userId) ?? 0);
  }

  /** Who owns the account's live leads: as stored, plus the leads this pass gave. */
  async #accountShares(domain: string, leadId: string): Promise<AccountShare[]> {
    let shares = this.#shares.get(domain);
    if (!shares) {
      shares = await this.#deps.leads.accountSharesIn(this.#trx, this.#workspaceId, domain, leadId);
      this.#shares.set(domain, shares);
    }
    for (const { ownerId, createdAt } of this.#givenByDomain.get(domain) ?? [])
      shares = withShare(shares, ownerId, createdAt);
    return shares;
  }
}
