import { type FieldError, pointer } from '../errors.ts';
import type { Lead } from '../leads/model.ts';
import { normaliseCountry } from '../leads/normalise.ts';
import { stages } from '../lifecycle/model.ts';
import { type Temperature, temperatures } from '../lifecycle/temperature.ts';
import {
  type ConditionContext,
  type Conditions,
  checkConditions,
  type FieldTest,
  leadMatches,
} from '../scoring/conditions.ts';
import { isRegion, type Region, regions, regionsOf } from '../scoring/regions.ts';
import { isOutOfOffice, isWorking, type TeamMember, type User } from '../users/model.ts';
import { startOfLocalDay } from '../users/zoned-time.ts';

/**
 * Lead routing, the pure part: which rules a lead matches, the strategies' choices given the
 * people and their loads, and the smooth weighted round robin. The service loads the data,
 * keeps the rotation state and writes the assignment.
 */

export const strategyTypes = ['owner', 'round_robin', 'territory', 'account'] as const;
export type StrategyType = (typeof strategyTypes)[number];

/** Countries and/or regions, handed to one person or taken in turns by one team. */
export interface Territory {
  /** ISO 3166-1 alpha-2 codes. */
  countries: string[];
  regions: Region[];
  userId: string | null;
  teamId: string | null;
}

export type Strategy =
  /** Always this person. */
  | { type: 'owner'; userId: string }
  /** Weighted turns over a team's available members. */
  | { type: 'round_robin'; teamId: string }
  /** The first territory that contains the lead's country. */
  | { type: 'territory'; territories: Territory[] }
  /** The owner of the lead's company (another live lead of its domain); else the next rule. */
  | { type: 'account' };

export interface RoutingRule {
  /** Stable id (kept across edits: round-robin turns and the timeline refer to it). */
  id: string;
  name: string;
  enabled: boolean;
  /**
   * Conditions on the lead, all of which must hold (null: every lead): lead fields and
   * `properties.<name>` in the scoring condition language, plus `score` (min/max, the decayed
   * score at the moment of routing), `temperature` and `stage` (in/notIn).
   */
  when: Conditions | null;
  strategy: Strategy;
}

export interface RoutingConfig {
  rules: RoutingRule[];
  /** Who gets a lead no rule could place; null: such leads stay unassigned. */
  fallbackOwnerId: string | null;
  updatedAt: number | null;
}

/** What routing decided for a lead, and why. `ownerId` null: nobody (the lead keeps its owner, if any). */
export interface Decision {
  ownerId: string | null;
  ruleId: string | null;
  ruleName: string | null;
  strategy: StrategyType | 'fallback' | null;
  reason: string;
}

export const emptyConfig: RoutingConfig = { rules: [], fallbackOwnerId: null, updatedAt: null };

/** True when routing has anything to do in the workspace (the reaction's cheap exit). */
export function routes(config: RoutingConfig): boolean {
  return config.fallbackOwnerId !== null || config.rules.some((r) => r.enabled);
}

// ---------------------------------------------------------------------------------------------
// Matching

/** Fields a rule's conditions may name beside the lead fields of the scoring language. */
export const routingFields = ['score', 'temperature', 'stage'] as const;

/** The lead as rule conditions see it: its fields plus its score now and its temperature. */
export type LeadView = Lead & { score: number; temperature: Temperature };

export function leadView(lead: Lead, score: number): LeadView {
  return { ...lead, score, temperature: lead.scoring.temperature };
}

export function ruleMatches(rule: RoutingRule, view: LeadView, context: ConditionContext): boolean {
  return rule.enabled && (rule.when === null || leadMatches(rule.when, view, context));
}

/**
 * Whether the change from `before` to `after` makes some rule match that did not (the lead
 * became an MQL, hot, or reached a score): when an unowned lead is routed again.
 */
export function newlyMatching(
  rules: readonly RoutingRule[],
  before: LeadView,
  after: LeadView,
  context: ConditionContext,
): boolean {
  return rules.some((rule) => ruleMatches(rule, after, context) && !ruleMatches(rule, before, context));
}

/** The first territory that contains this country (by code or by region); null if none. */
export function territoryFor(territories: readonly Territory[], country: string | null): Territory | null {
  if (!country) return null;
  const code = country.toUpperCase();
  const inRegions = regionsOf(code);
  return (
    territories.find((t) => t.countries.includes(code) || t.regions.some((r) => inRegions.includes(r))) ??
    null
  );
}

// ---------------------------------------------------------------------------------------------
// Availability

/** Leads a person received: since their local midnight, and in the last 30 days. */
export interface Load {
  today: number;
  last30Days: number;
}

export const noLoad: Load = { today: 0, last30Days: 0 };

const DAY_MS = 86_400_000;

/** `load` plus `given` leads received now (they fall in both windows). */
export function plusGiven(load: Load, given: number): Load {
  return given === 0 ? load : { today: load.today + given, last30Days: load.last30Days + given };
}

/** One count of received leads: these people's assignments since `since` (epoch ms), into `window`. */
export interface LoadWindow {
  window: keyof Load;
  since: number;
  userIds: string[];
}

/**
 * The counts that give these people's loads at `now`, as few as can be: one over the rolling 30
 * days for everyone with a 30-day capacity, one per local midnight (people of one time zone
 * share it) for everyone with a daily capacity. People without a capacity need no count.
 */
export function loadWindows(people: readonly User[], now: number): LoadWindow[] {
  const rolling: string[] = [];
  const daily = new Map<number, string[]>();
  for (const user of people) {
    if (user.capacity.rolling30Days !== null) rolling.push(user.id);
    if (user.capacity.daily !== null) {
      const since = startOfLocalDay(user.timezone, now);
      const ids = daily.get(since);
      if (ids) ids.push(user.id);
      else daily.set(since, [user.id]);
    }
  }
  const windows: LoadWindow[] = [...daily].map(([since, userIds]) => ({ window: 'today', since, userIds }));
  if (rolling.length > 0) windows.push({ window: 'last30Days', since: now - 30 * DAY_MS, userIds: rolling });
  return windows;
}

export function hasCapacity(user: User, load: Load): boolean {
  const { daily, rolling30Days } = user.capacity;
  return (
    (daily === null || load.today < daily) && (rolling30Days === null || load.last30Days < rolling30Days)
  );
}

/** May take a turn of a team's rotation: working now (active, not away, in hours) and under capacity. */
export function isAvailable(user: User, at: number, load: Load): boolean {
  return isWorking(user, at) && hasCapacity(user, load);
}

/**
 * May receive a lead addressed to them by name (a fixed owner, a territory's person, an
 * account's owner, the fallback): active and not out of office. Working hours and capacity do
 * not apply — the lead is theirs; SLA timers deal with the hours.
 */
export function isReachable(user: User, at: number): boolean {
  return user.active && !isOutOfOffice(user, at);
}

// ---------------------------------------------------------------------------------------------
// Accounts

/** How many live leads of a company one person owns, and when the first of them was created. */
export interface AccountShare {
  ownerId: string;
  leads: number;
  firstCreatedAt: number;
}

/**
 * The owner of a company's account: who owns most of its live leads; on a tie, who owns the
 * earliest (then the first given). Null when none of its leads has an owner.
 */
export function accountOwnerOf(shares: readonly AccountShare[]): string | null {
  let best: AccountShare | null = null;
  for (const share of shares) {
    if (
      best === null ||
      share.leads > best.leads ||
      (share.leads === best.leads && share.firstCreatedAt < best.firstCreatedAt)
    )
      best = share;
  }
  return best?.ownerId ?? null;
}

/** `shares` with one more lead, created at `createdAt`, owned by `ownerId`. */
export function withShare(
  shares: readonly AccountShare[],
  ownerId: string,
  createdAt: number,
): AccountShare[] {
  const mine = shares.find((s) => s.ownerId === ownerId);
  if (!mine) return [...shares, { ownerId, leads: 1, firstCreatedAt: createdAt }];
  return shares.map((s) =>
    s === mine ? { ownerId, leads: s.leads + 1, firstCreatedAt: Math.min(s.firstCreatedAt, createdAt) } : s,
  );
}

// ---------------------------------------------------------------------------------------------
// Smooth weighted round robin

/** Each member's current weight in a rotation, by user id (what `routing_turns` stores). */
export type Rotation = Record<string, number>;

/**
 * One turn of smooth weighted round robin (as nginx balances upstreams): every eligible member
 * gains its weight, the one with the most (the earlier member on a tie) is chosen and gives
 * back the sum of the eligible weights. Over sum(weights) turns with everyone eligible each
 * member is chosen exactly `weight` times, spread out rather than in runs (A A B for 2:1 is
 * A B A). Members not eligible this turn neither gain nor lose: they are skipped, not owed.
 * Returns null (and no new state) when nobody is eligible.
 */
export function takeTurn(
  members: readonly TeamMember[],
  rotation: Readonly<Rotation>,
  eligible: (userId: string) => boolean,
): { userId: string; rotation: Rotation } | null {
  const next: Rotation = {};
  let total = 0;
  let chosen: string | null = null;
  let best = Number.NEGATIVE_INFINITY;
  for (const member of members) {
    const current = rotation[member.userId] ?? 0;
    next[member.userId] = current;
    if (!eligible(member.userId)) continue;
    const gained = current + member.weight;
    next[member.userId] = gained;
    total += member.weight;
    if (gained > best) {
      best = gained;
      chosen = member.userId;
    }
  }
  if (chosen === null) return null;
  next[chosen]! -= total;
  return { userId: chosen, rotation: next };
}

// ---------------------------------------------------------------------------------------------
// Rule input

/** A rule as the API takes it: `id` optional (made when absent), `enabled` defaults to true. */
export interface RuleInput {
  id?: string;
  name: string;
  enabled?: boolean;
  when?: Conditions;
  strategy: {
    type: StrategyType;
    userId?: string;
    teamId?: string;
    territories?: Array<{ countries?: string[]; regions?: string[]; userId?: string; teamId?: string }>;
  };
}

const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** Most rules of a workspace. (200) */
export const MAX_RULES = 200;

function checkList(test: FieldTest, allowed: readonly string[], path: string, errors: FieldError[]): void {
  const operators = Object.keys(test);
  if (operators.length === 0 || operators.some((op) => op !== 'in' && op !== 'notIn'))
    errors.push({ path, message: 'takes only in and notIn' });
  for (const list of ['in', 'notIn'] as const) {
    test[list]?.forEach((value, i) => {
      if (typeof value !== 'string' || !allowed.includes(value.trim().toLowerCase()))
        errors.push({ path: `${path}/${list}/${i}`, message: `must be one of: ${allowed.join(', ')}` });
    });
  }
}

/** Checks a rule's conditions: the scoring language for lead fields, and the routing fields. */
export function checkRoutingConditions(when: Conditions, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const leadFields: Conditions = {};
  for (const [field, test] of Object.entries(when)) {
    const at = `${path}/${pointer(field)}`;
    if (field === 'score') {
      const operators = Object.keys(test);
      if (operators.length === 0 || operators.some((op) => op !== 'min' && op !== 'max'))
        errors.push({ path: at, message: 'takes only min and max' });
      if (test.min !== undefined && test.max !== undefined && test.min > test.max)
        errors.push({ path: `${at}/max`, message: 'must be at least min' });
    } else if (field === 'temperature') checkList(test, temperatures, at, errors);
    else if (field === 'stage') checkList(test, stages, at, errors);
    else leadFields[field] = test;
  }
  errors.push(...checkConditions(leadFields, path, 'lead'));
  return errors;
}

function checkTerritories(
  list: NonNullable<RuleInput['strategy']['territories']>,
  path: string,
  errors: FieldError[],
): Territory[] {
  return list.map((t, i) => {
    const at = `${path}/${i}`;
    const countries: string[] = [];
    (t.countries ?? []).forEach((raw, j) => {
      const result = normaliseCountry(raw);
      if (result.ok) countries.push(result.value);
      else errors.push({ path: `${at}/countries/${j}`, message: result.message });
    });
    const inRegions: Region[] = [];
    (t.regions ?? []).forEach((raw, j) => {
      const region = raw.trim().toUpperCase();
      if (isRegion(region)) inRegions.push(region);
      else errors.push({ path: `${at}/regions/${j}`, message: `must be one of: ${regions.join(', ')}` });
    });
    if ((t.countries ?? []).length === 0 && (t.regions ?? []).length === 0)
      errors.push({ path: at, message: 'needs countries or regions' });
    if ((t.userId === undefined) === (t.teamId === undefined))
      errors.push({ path: at, message: 'needs exactly one of userId and teamId' });
    return { countries, regions: inRegions, userId: t.userId ?? null, teamId: t.teamId ?? null };
  });
}

function checkStrategy(input: RuleInput['strategy'], path: string, errors: FieldError[]): Strategy {
  const only = (allowed: string[]) => {
    for (const key of ['userId', 'teamId', 'territories'] as const) {
      if (input[key] !== undefined && !allowed.includes(key))
        errors.push({ path: `${path}/${key}`, message: `is not used by strategy ${input.type}` });
    }
  };
  const required = (key: 'userId' | 'teamId' | 'territories') => {
    if (input[key] === undefined)
      errors.push({ path: `${path}/${key}`, message: `is required by strategy ${input.type}` });
  };
  switch (input.type) {
    case 'owner':
      only(['userId']);
      required('userId');
      return { type: 'owner', userId: input.userId ?? '' };
    case 'round_robin':
      only(['teamId']);
      required('teamId');
      return { type: 'round_robin', teamId: input.teamId ?? '' };
    case 'territory':
      only(['territories']);
      required('territories');
      return {
        type: 'territory',
        territories: checkTerritories(input.territories ?? [], `${path}/territories`, errors),
      };
    case 'account':
      only([]);
      return { type: 'account' };
  }
}

/**
 * Checks an ordered rule list and gives each rule its id (`newId` for rules without one).
 * References to people and teams are checked by the service, against the database.
 */
export function checkRules(
  input: readonly RuleInput[],
  newId: () => string,
  path = '/rules',
): { ok: true; rules: RoutingRule[] } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (input.length > MAX_RULES) errors.push({ path, message: `must have at most ${MAX_RULES} rules` });
  const ids = new Set<string>();
  const rules = input.map((raw, i): RoutingRule => {
    const at = `${path}/${i}`;
    const id = raw.id ?? newId();
    if (!RULE_ID.test(id))
      errors.push({
        path: `${at}/id`,
        message: 'must be 1-64 letters, digits, _ or -, starting with a letter or digit',
      });
    if (ids.has(id)) errors.push({ path: `${at}/id`, message: 'is the id of an earlier rule' });
    ids.add(id);
    const name = raw.name.trim();
    if (name === '') errors.push({ path: `${at}/name`, message: 'is required' });
    if (raw.when) errors.push(...checkRoutingConditions(raw.when, `${at}/when`));
    return {
      id,
      name,
      enabled: raw.enabled ?? true,
      when: raw.when ?? null,
      strategy: checkStrategy(raw.strategy, `${at}/strategy`, errors),
    };
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules };
}

/** Every person and team the rules name, with where and by which rule (for error messages). */
export function referencesOf(rules: readonly RoutingRule[], path = '/rules') {
  const users: Array<{ id: string; path: string; rule: string }> = [];
  const teams: Array<{ id: string; path: string; rule: string }> = [];
  rules.forEach((rule, i) => {
    const at = `${path}/${i}/strategy`;
    const s = rule.strategy;
    if (s.type === 'owner') users.push({ id: s.userId, path: `${at}/userId`, rule: rule.name });
    if (s.type === 'round_robin') teams.push({ id: s.teamId, path: `${at}/teamId`, rule: rule.name });
    if (s.type === 'territory') {
      s.territories.forEach((t, j) => {
        if (t.userId !== null)
          users.push({ id: t.userId, path: `${at}/territories/${j}/userId`, rule: rule.name });
        if (t.teamId !== null)
          teams.push({ id: t.teamId, path: `${at}/territories/${j}/teamId`, rule: rule.name });
      });
    }
  });
  return { users, teams };
}
