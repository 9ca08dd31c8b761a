import type { Lead } from '../leads/model.ts';
import {
  type ConditionContext,
  type Conditions,
  conditionContext,
  leadMatches,
  propertiesMatch,
} from './conditions.ts';
import {
  addPoints,
  DAY_MS,
  encodePoints,
  halfLifeMs,
  type LogPoints,
  logAddExp2,
  rebaseK,
  thresholdK,
  valueAt,
} from './decay.ts';
import {
  type Activity,
  type ActivityTrigger,
  type GradeThresholds,
  isProfileRule,
  MAX_SCORE,
  MIN_SCORE,
  type ProfileNegativeRule,
  type RuleBase,
  type ScoringModel,
} from './model.ts';

/**
 * The scoring engine: a lead's behaviour and activity-negative points live in a small JSON
 * state updated in O(rules) per activity; fit and profile negatives are recomputed from the lead
 * whenever asked (they follow its current fields, so an attribute change needs no state update).
 * Pure: no clock (pass `now`), no IO; states are never mutated, a new one is returned.
 *
 * Order of arrival. Plain rules, once-rules and count-only frequency rules give the same state
 * whatever order their activities arrive in (a late activity adds its points at its own time,
 * a once-rule fires at the earliest matching time). Caps and `withinDays` windows depend on
 * what happened before an activity, and a bounded state cannot hold the full history, so a late
 * activity on such a rule is judged conservatively: a cap is checked against what the rule holds
 * at the activity's time as far as the state tells (at least the true amount, so the cap is never
 * exceeded), and a window only sees the times the state kept. In time order both are exact.
 */

/** Version of the `ScoreState` shape, for the storage layer. */
export const STATE_VERSION = 1;

/**
 * How many ids of recent scoring activities a state remembers, so a replayed activity (a client
 * retry, a double delivery) is a no-op. The activity table's unique id is the real dedupe (the
 * caller scores only what it inserted); this list is a second guard against the retry of the
 * last few, kept short because every lead carries it (5 UUIDs ≈ 200 bytes of JSON). (5)
 */
export const RECENT_IDS = 5;

/** What is left under a cap after float rounding is no award. */
const EPSILON_POINTS = 1e-9;

/** Scores are reported to 6 decimals: enough for any display, and it hides the 1e-15 noise of the log domain (so 25 points just awarded read 25, not 24.999999999999996). */
export function roundPoints(points: number): number {
  return Math.round(points * 1e6) / 1e6;
}

/** One rule's share of the state. Times are epoch milliseconds. */
export interface RuleState {
  kind: 'behaviour' | 'negative';
  /** Behaviour rules: the points held, in the log domain (see decay.ts); null when none. Always null for negatives. */
  k: LogPoints;
  /** Points awarded in total, after caps ("points then"). For negatives (≤ 0) this is also what the rule holds now. */
  awarded: number;
  /** Points the cap cut off in total (≥ 0). */
  capped: number;
  /** Times the rule fired. */
  fired: number;
  /** Activities that matched the rule's type and filters (fired or counted toward a frequency). */
  matched: number;
  /** When the rule first and last fired; null if it never has. */
  firstAt: number | null;
  lastAt: number | null;
  /**
   * Frequency rules only: times of matching activities not yet used up, ascending, at most
   * `atLeast` of them (for a once-rule without window: the `atLeast` earliest, so a late earlier
   * activity can move the firing earlier). Absent when empty.
   */
  times?: number[];
}

/** What the storage layer keeps per lead (JSON). Index `k` as a double column for "behaviour above θ now". */
export interface ScoreState {
  v: typeof STATE_VERSION;
  /** The half-life, in days, the log-domain values were computed with. */
  halfLifeDays: number;
  /** Behaviour total in the log domain: log2(B) + (t − DECAY_EPOCH_MS)/h; null when none. */
  k: LogPoints;
  /** Sum of activity-negative points (≤ 0); they do not decay. */
  negative: number;
  /** By rule id. */
  rules: Record<string, RuleState>;
  /** Ids of the last `RECENT_IDS` (5) activities that matched a rule, oldest first. */
  recent: string[];
}

/** One rule firing (or a once-rule moving to an earlier time). `points` ≥ 0 for behaviour, ≤ 0 for negatives. */
export interface Award {
  ruleId: string;
  kind: 'behaviour' | 'negative';
  points: number;
  /** Points the cap cut off this time (≥ 0). */
  cut: number;
  /** When the points count from (epoch ms): the activity's time, or the time a frequency was reached. */
  at: number;
  /** A once-rule's earlier firing time was found: the same points now count from `at`. */
  moved?: true;
}

export interface ApplyResult {
  state: ScoreState;
  /** False when the activity matched no rule or was a replay: the caller may skip the write. */
  changed: boolean;
  fired: Award[];
}

export function emptyState(model: Pick<ScoringModel, 'halfLifeDays'>): ScoreState {
  return { v: STATE_VERSION, halfLifeDays: model.halfLifeDays, k: null, negative: 0, rules: {}, recent: [] };
}

interface TriggerRule {
  rule: RuleBase & ActivityTrigger;
  kind: 'behaviour' | 'negative';
}

interface CompiledModel {
  /** The activity rules by the type they react to, each list in model order. */
  triggersByType: Map<string, TriggerRule[]>;
  profileNegatives: ProfileNegativeRule[];
  context: ConditionContext;
}

const compiledCache = new WeakMap<ScoringModel, CompiledModel>();

/** The model's rules sorted by what they react to, and its condition context: worked out once per model object. */
function compiledModel(model: ScoringModel): CompiledModel {
  let entry = compiledCache.get(model);
  if (!entry) {
    const triggers: TriggerRule[] = model.behaviour.map((rule) => ({ rule, kind: 'behaviour' as const }));
    for (const rule of model.negative) if (!isProfileRule(rule)) triggers.push({ rule, kind: 'negative' });
    const triggersByType = new Map<string, TriggerRule[]>();
    for (const trigger of triggers) {
      const list = triggersByType.get(trigger.rule.type);
      if (list) list.push(trigger);
      else triggersByType.set(trigger.rule.type, [trigger]);
    }
    const profileNegatives = model.negative.filter(isProfileRule);
    entry = { triggersByType, profileNegatives, context: conditionContext(model.competitorDomains) };
    compiledCache.set(model, entry);
  }
  return entry;
}

export function contextOf(model: ScoringModel): ConditionContext {
  return compiledModel(model).context;
}

/** The state's totals, recomputed from its rules (never updated incrementally, so they cannot drift). */
function withTotals(state: ScoreState): ScoreState {
  let k: LogPoints = null;
  let negative = 0;
  for (const rule of Object.values(state.rules)) {
    if (rule.kind === 'behaviour') k = logAddExp2(k, rule.k);
    else negative += rule.awarded;
  }
  return { ...state, k, negative };
}

/** The state with its log-domain values re-expressed for another half-life, values kept as of `now`. */
export function rebaseState(state: ScoreState, halfLifeDays: number, now: number): ScoreState {
  if (state.halfLifeDays === halfLifeDays) return state;
  const from = halfLifeMs(state.halfLifeDays);
  const to = halfLifeMs(halfLifeDays);
  const rules: Record<string, RuleState> = {};
  for (const [id, rule] of Object.entries(state.rules))
    rules[id] = { ...rule, k: rebaseK(rule.k, from, to, now) };
  return withTotals({ ...state, halfLifeDays, rules });
}

function insertSorted(times: readonly number[], t: number): number[] {
  const out = [...times];
  let i = out.length;
  while (i > 0 && out[i - 1]! > t) i--;
  out.splice(i, 0, t);
  return out;
}

/** Index of the first run of `n` times spanning at most `window` ms; −1 if none. */
function firstRun(times: readonly number[], n: number, window: number): number {
  for (let i = 0; i + n <= times.length; i++) if (times[i + n - 1]! - times[i]! <= window) return i;
  return -1;
}

/**
 * A rule's state built whole, in one allocation and in the stored key order: the replay makes
 * one for every activity a rule takes (millions in a rescore), where spreading the state a few
 * times per step made a good share of the rescore's garbage. `times` is kept only when not empty.
 */
function ruleState(fields: Omit<RuleState, 'times'>, times?: number[]): RuleState {
  if (times !== undefined && times.length > 0) (fields as RuleState).times = times;
  return fields;
}

/**
 * Awards a rule's points at time `at`, limited by its cap against what it holds then. For a
 * behaviour rule that is the decayed value of its k at `at`; when later activities arrived
 * first it is an overestimate (their points are counted as if already held), which can only
 * lower the award: the cap is never exceeded. `state` is the rule's state before the activity,
 * `matched` its new count, `times` the times it keeps after.
 */
function award(
  rule: RuleBase & ActivityTrigger,
  kind: RuleState['kind'],
  state: RuleState,
  matched: number,
  times: number[] | undefined,
  at: number,
  hMs: number,
): { state: RuleState; award: Omit<Award, 'ruleId' | 'kind'> } {
  const wanted = Math.abs(rule.points);
  const held = kind === 'behaviour' ? valueAt(state.k, at, hMs) : -state.awarded;
  let amount = rule.cap === undefined ? wanted : Math.min(wanted, Math.max(0, rule.cap - held));
  if (amount < EPSILON_POINTS) amount = 0;
  const points = kind === 'behaviour' ? amount : -amount;
  const next = ruleState(
    {
      kind,
      k: kind === 'behaviour' && amount > 0 ? addPoints(state.k, amount, at, hMs) : state.k,
      awarded: state.awarded + points,
      capped: state.capped + (wanted - amount),
      fired: state.fired + 1,
      matched,
      firstAt: state.firstAt === null ? at : Math.min(state.firstAt, at),
      lastAt: state.lastAt === null ? at : Math.max(state.lastAt, at),
    },
    times,
  );
  return { state: next, award: { points, cut: wanted - amount, at } };
}

/** `current` as the rule's `kind`, with a new match count and kept times, nothing awarded. */
function counted(
  kind: RuleState['kind'],
  current: RuleState,
  matched: number,
  times: number[] | undefined,
): RuleState {
  const { k, awarded, capped, fired, firstAt, lastAt } = current;
  return ruleState({ kind, k, awarded, capped, fired, matched, firstAt, lastAt }, times);
}

/** One matching activity at time `t` applied to one rule's state (`current`, of the rule's `kind`). */
function applyToRule(
  rule: RuleBase & ActivityTrigger,
  kind: RuleState['kind'],
  current: RuleState,
  t: number,
  hMs: number,
): { state: RuleState; award?: Omit<Award, 'ruleId' | 'kind'> } {
  const n = rule.frequency?.atLeast ?? 1;
  const window = rule.frequency?.withinDays === undefined ? Infinity : rule.frequency.withinDays * DAY_MS;
  const matched = current.matched + 1;

  if (rule.once && current.fired > 0) {
    // A once-rule can only move earlier, and only without a window: the `n` earliest times are kept for that.
    if (window !== Infinity || current.firstAt === null || t >= current.firstAt)
      return { state: counted(kind, current, matched, current.times) };
    const times = insertSorted(n > 1 ? (current.times ?? []) : [current.firstAt], t).slice(0, n);
    const kept = n > 1 ? times : undefined;
    const at = times[n - 1];
    // (Fewer than n times kept: the state predates a change of the rule; a rescore fixes it.)
    if (at === undefined || at >= current.firstAt) return { state: counted(kind, current, matched, kept) };
    const moved = ruleState(
      {
        kind,
        k: kind === 'behaviour' ? encodePoints(current.awarded, at, hMs) : null,
        awarded: current.awarded,
        capped: current.capped,
        fired: current.fired,
        matched,
        firstAt: at,
        lastAt: at,
      },
      kept,
    );
    return { state: moved, award: { points: current.awarded, cut: 0, at, moved: true } };
  }

  // A rule without a frequency fires at this activity and keeps no times (stale ones from an
  // edited rule go).
  if (n === 1) return award(rule, kind, current, matched, undefined, t, hMs);
  const times = insertSorted(current.times ?? [], t);
  const start = firstRun(times, n, window);
  if (start < 0) return { state: counted(kind, current, matched, times.slice(-(n - 1))) };
  const at = times[start + n - 1]!;
  // Used-up times go; a once-rule without window keeps its `n` earliest to move earlier later.
  const rest = rule.once ? (window === Infinity ? times.slice(0, n) : []) : times.slice(start + n);
  return award(rule, kind, current, matched, rest, at, hMs);
}

/**
 * Applies one activity to `draft`, whose `rules` object and `recent` array are the caller's own
 * (they are changed in place; the rule states in them are replaced, never changed). Its totals
 * are left stale: `withTotals` settles them. Fills `fired` when given. False when no rule took
 * the activity (then nothing changed).
 */
function applyInPlace(
  model: ScoringModel,
  draft: ScoreState,
  activity: Activity,
  fired: Award[] | null,
): boolean {
  const { triggersByType, context } = compiledModel(model);
  const triggers = triggersByType.get(activity.type);
  if (triggers === undefined) return false;
  const hMs = halfLifeMs(model.halfLifeDays);
  let matched = false;
  for (const { rule, kind } of triggers) {
    if (!propertiesMatch(rule.where, activity.properties, context)) continue;
    matched = true;
    const current = draft.rules[rule.id] ?? newRuleState(kind);
    const result = applyToRule(rule, kind, current, activity.occurredAt, hMs);
    draft.rules[rule.id] = result.state;
    if (result.award && fired) fired.push({ ruleId: rule.id, kind, ...result.award });
  }
  if (!matched) return false;
  draft.recent.push(activity.id);
  while (draft.recent.length > RECENT_IDS) draft.recent.shift();
  return true;
}

/** A copy of `state` whose rules object and recent ids may be changed in place. */
function draftOf(state: ScoreState): ScoreState {
  return { ...state, rules: { ...state.rules }, recent: [...state.recent] };
}

/**
 * Applies one activity: every behaviour and activity-negative rule whose type and filters match
 * takes it. An activity whose id is among the state's recent ids is ignored (a replay). A state
 * computed with another half-life is first rebased at `now` (see `rebaseState`).
 */
export function applyActivity(
  model: ScoringModel,
  state: ScoreState,
  activity: Activity,
  now: number,
): ApplyResult {
  if (state.recent.includes(activity.id)) return { state, changed: false, fired: [] };
  const base = rebaseState(state, model.halfLifeDays, now);
  const draft = draftOf(base);
  const fired: Award[] = [];
  if (!applyInPlace(model, draft, activity, fired)) return { state: base, changed: base !== state, fired };
  return { state: withTotals(draft), changed: true, fired };
}

/**
 * A lead's state taking activities one after another, as a fold of `applyActivity` would, but
 * without copying the state and recomputing its totals for every activity (a rescore replays
 * millions): the state is copied once, changed in place, and its totals settled when read.
 * `state()` hands out a state that later activities no longer change.
 */
export interface Replay {
  /** Applies one activity; true when it changed the state. */
  apply(activity: Activity): boolean;
  /** The state so far: null when it started null and no activity has changed it yet. */
  state(): ScoreState | null;
}

export function replay(model: ScoringModel, start: ScoreState | null, now: number): Replay {
  let current = start === null ? null : rebaseState(start, model.halfLifeDays, now);
  /** `current`, copied for changing in place; null until the first change (and after `state()`). */
  let draft: ScoreState | null = null;
  return {
    apply(activity) {
      const from = draft ?? current;
      if (from?.recent.includes(activity.id)) return false;
      if (!compiledModel(model).triggersByType.has(activity.type)) return false;
      const target = draft ?? draftOf(current ?? emptyState(model));
      if (!applyInPlace(model, target, activity, null)) return false;
      draft = target;
      return true;
    },
    state() {
      if (draft !== null) {
        current = withTotals(draft);
        draft = null;
      }
      return current;
    },
  };
}

/**
 * Whether any of `activities` is older than an activity a rule it triggers already took in
 * (fired on, or counted toward a frequency), for the rules whose result depends on order:
 * caps and frequency windows are judged in time order, so applying such an activity on top
 * would give another score than the history in order, and the lead must be replayed instead.
 * Plain rules add up in any order, and a once-rule without a window moves its firing earlier
 * by itself. Filters are not looked at: a rule of the activity's type is enough (a replay
 * too many costs time, never a wrong score).
 */
export function arrivesLate(
  model: ScoringModel,
  state: ScoreState | null,
  activities: readonly Activity[],
): boolean {
  if (state === null) return false;
  const { triggersByType } = compiledModel(model);
  return activities.some((activity) =>
    (triggersByType.get(activity.type) ?? []).some(({ rule }) => {
      const dependsOnOrder =
        rule.cap !== undefined ||
        (rule.frequency !== undefined && !(rule.once && !rule.frequency.withinDays));
      if (!dependsOnOrder) return false;
      const taken = newestTaken(state.rules[rule.id]);
      return taken !== null && activity.occurredAt < taken;
    }),
  );
}

/**
 * When behaviour points were last awarded (the newest firing of a behaviour rule); null if
 * never. From then on the behaviour score only decays: the score at that moment is the exact
 * score the lead had then, every award included.
 */
export function newestAward(state: ScoreState | null): number | null {
  let newest: number | null = null;
  for (const rule of Object.values(state?.rules ?? {}))
    if (rule.kind === 'behaviour' && rule.lastAt !== null && (newest === null || rule.lastAt > newest))
      newest = rule.lastAt;
  return newest;
}

/** The latest time a rule fired or counted toward its frequency; null if none. */
function newestTaken(rule: RuleState | undefined): number | null {
  if (rule === undefined) return null;
  const pending = rule.times?.[rule.times.length - 1] ?? null;
  if (rule.lastAt === null) return pending;
  return pending === null ? rule.lastAt : Math.max(rule.lastAt, pending);
}

function newRuleState(kind: RuleState['kind']): RuleState {
  return { kind, k: null, awarded: 0, capped: 0, fired: 0, matched: 0, firstAt: null, lastAt: null };
}

/** Applies activities in the order given (a rescore passes them in time order). */
export function applyActivities(
  model: ScoringModel,
  state: ScoreState,
  activities: Iterable<Activity>,
  now: number,
): ScoreState {
  let current = state;
  for (const activity of activities) current = applyActivity(model, current, activity, now).state;
  return current;
}

/** Rules that hold for the lead right now, with their points. */
export interface RuleMatches {
  points: number;
  rules: Array<{ id: string; label: string; points: number }>;
}

function matchProfile(
  rules: ReadonlyArray<RuleBase & { when: Conditions }>,
  lead: Lead,
  model: ScoringModel,
): RuleMatches {
  const context = contextOf(model);
  const fired = rules
    .filter((rule) => leadMatches(rule.when, lead, context))
    .map(({ id, label, points }) => ({ id, label, points }));
  return { points: fired.reduce((sum, r) => sum + r.points, 0), rules: fired };
}

/** Fit points: the fit rules the lead matches now. */
export function computeFit(model: ScoringModel, lead: Lead): RuleMatches {
  return matchProfile(model.fit, lead, model);
}

/** Profile negatives: the negative rules on lead fields the lead matches now (points ≤ 0). */
export function computeProfileNegatives(model: ScoringModel, lead: Lead): RuleMatches {
  return matchProfile(compiledModel(model).profileNegatives, lead, model);
}

export type FitGrade = 'A' | 'B' | 'C' | 'D';
export type Engagement = 1 | 2 | 3 | 4;

export interface Grade {
  /** Letter and digit, e.g. "B2". */
  grade: string;
  fitGrade: FitGrade;
  engagement: Engagement;
}

/** The grade of fit points (with profile negatives) and behaviour points now. */
export function gradeFor(thresholds: GradeThresholds, fitPoints: number, behaviourPoints: number): Grade {
  const { fit, engagement: e } = thresholds;
  const fitGrade: FitGrade =
    fitPoints >= fit.A ? 'A' : fitPoints >= fit.B ? 'B' : fitPoints >= fit.C ? 'C' : 'D';
  const engagement: Engagement =
    behaviourPoints >= e['1'] ? 1 : behaviourPoints >= e['2'] ? 2 : behaviourPoints >= e['3'] ? 3 : 4;
  return { grade: `${fitGrade}${engagement}`, fitGrade, engagement };
}

export interface Score extends Grade {
  /** fit + behaviour + negative, clamped to 0–100. */
  score: number;
  fitScore: number;
  /** Behaviour points decayed to `now`. */
  behaviourScore: number;
  /** Profile and activity negatives (≤ 0). */
  negativeScore: number;
}

/** Behaviour points of a state decayed to `now` (0 for no state). */
export function behaviourAt(state: ScoreState | null, now: number): number {
  if (state === null) return 0;
  return roundPoints(valueAt(state.k, now, halfLifeMs(state.halfLifeDays)));
}

/**
 * The lead's exact score at `now`. `state` null means no scoring activity yet. Behaviour decays
 * at the half-life the state was computed with, as an index on `k` would see it (a model whose
 * half-life changed is followed by a rescore, or `applyActivity` rebases on the next activity).
 */
export function scoreAt(model: ScoringModel, state: ScoreState | null, lead: Lead, now: number): Score {
  const fitScore = roundPoints(computeFit(model, lead).points);
  const profile = computeProfileNegatives(model, lead).points;
  const behaviourScore = behaviourAt(state, now);
  const negativeScore = roundPoints(profile + (state?.negative ?? 0));
  const total = fitScore + behaviourScore + negativeScore;
  return {
    score: roundPoints(Math.min(MAX_SCORE, Math.max(MIN_SCORE, total))),
    fitScore,
    behaviourScore,
    negativeScore,
    ...gradeFor(model.grades, fitScore + profile, behaviourScore),
  };
}

/**
 * "Behaviour score above θ at `now`" as an index range: `state.k > behaviourThresholdK(...)`
 * (SQL: `behaviour_k > ?`). Valid for states computed with the same half-life.
 */
export function behaviourThresholdK(halfLifeDays: number, theta: number, now: number): number {
  return thresholdK(theta, now, halfLifeMs(halfLifeDays));
}
