import Type from 'typebox';
import type { FieldError } from '../errors.ts';
import {
  type ActivityLike,
  type ActivityMatcher,
  ActivityMatcherSchema,
  activityMatches,
  checkActivityMatchers,
} from '../scoring/conditions.ts';
import { DAY_MS, halfLifeMs, timeValueReaches, valueAt } from '../scoring/decay.ts';
import { roundPoints } from '../scoring/engine.ts';
import { compileValidator } from '../validate.ts';

/**
 * Temperature: how ready a lead is right now — cold, warm or hot — from its behaviour score now
 * and how recently it did something high-intent (asked for a demo, looked at pricing…). It only
 * cools by itself (behaviour decays, the last high-intent activity ages), so `temperatureAt`
 * also says when it will next change if nothing happens: a sweeper records the change then.
 */
export const temperatures = ['cold', 'warm', 'hot'] as const;
export type Temperature = (typeof temperatures)[number];

/**
 * A level holds while either of its criteria does (a missing criterion is not used): the
 * behaviour score is at least `minBehaviour`, or the last high-intent activity is less than
 * `highIntentWithinDays` days old.
 */
export interface TemperatureLevel {
  minBehaviour?: number;
  highIntentWithinDays?: number;
}

export interface TemperatureConfig {
  /** Activities that count as high intent. (Default: see `defaultHighIntent`) */
  highIntent: ActivityMatcher[];
  /** (Default: behaviour ≥ 50, or high intent within 3 days) */
  hot: TemperatureLevel;
  /** (Default: behaviour ≥ 20, or high intent within 14 days) */
  warm: TemperatureLevel;
}

export const defaultHighIntentTypes = [
  'demo_requested',
  'pricing_viewed',
  'meeting_booked',
  'trial_started',
  'usage_limit_reached',
] as const;

/** The default types, plus a page view of a pricing page (what the default scoring model scores as a pricing visit). */
export const defaultHighIntent: ActivityMatcher[] = [
  ...defaultHighIntentTypes.map((type) => ({ type })),
  { type: 'page_view', where: { url: { matches: ['/pricing*'] } } },
];

export const defaultTemperatureConfig: TemperatureConfig = {
  highIntent: defaultHighIntent,
  hot: { minBehaviour: 50, highIntentWithinDays: 3 },
  warm: { minBehaviour: 20, highIntentWithinDays: 14 },
};

/** The time of the lead's last high-intent activity after `activity`: the later of the two (activities may arrive late). */
export function noteHighIntent(
  config: TemperatureConfig,
  lastHighIntentAt: number | null,
  activity: ActivityLike & { occurredAt: number },
): number | null {
  if (!config.highIntent.some((matcher) => activityMatches(matcher, activity))) return lastHighIntentAt;
  return lastHighIntentAt === null ? activity.occurredAt : Math.max(lastHighIntentAt, activity.occurredAt);
}

/** What temperature reads: the behaviour part of a score state (see scoring/engine.ts) and the last high-intent time. */
export interface TemperatureInput {
  /** Behaviour points in the log domain (`ScoreState.k`). */
  k: number | null;
  halfLifeDays: number;
  lastHighIntentAt: number | null;
}

export interface TemperatureReading {
  temperature: Temperature;
  /** The first millisecond at which the temperature differs if nothing else happens; null if never (cold). */
  changesAt: number | null;
}

function holds(level: TemperatureLevel, input: TemperatureInput, at: number): boolean {
  if (level.minBehaviour !== undefined) {
    const behaviour = roundPoints(valueAt(input.k, at, halfLifeMs(input.halfLifeDays)));
    if (behaviour >= level.minBehaviour) return true;
  }
  return (
    level.highIntentWithinDays !== undefined &&
    input.lastHighIntentAt !== null &&
    at < input.lastHighIntentAt + level.highIntentWithinDays * DAY_MS
  );
}

function levelAt(config: TemperatureConfig, input: TemperatureInput, at: number): Temperature {
  if (holds(config.hot, input, at)) return 'hot';
  if (holds(config.warm, input, at)) return 'warm';
  return 'cold';
}

/** Upper bound of when `level` stops holding: the later of its criteria's end times. */
function estimateEnd(level: TemperatureLevel, input: TemperatureInput, now: number): number {
  let end = now;
  if (level.minBehaviour !== undefined) {
    const t = timeValueReaches(input.k, level.minBehaviour, halfLifeMs(input.halfLifeDays));
    if (t === null && input.k !== null) return Number.POSITIVE_INFINITY; // minBehaviour ≤ 0: holds forever
    if (t !== null) end = Math.max(end, Math.ceil(t));
  }
  if (level.highIntentWithinDays !== undefined && input.lastHighIntentAt !== null)
    end = Math.max(end, input.lastHighIntentAt + level.highIntentWithinDays * DAY_MS);
  return end;
}

/** The temperature at `now` and when decay alone will change it. */
export function temperatureAt(
  config: TemperatureConfig,
  input: TemperatureInput,
  now: number,
): TemperatureReading {
  const temperature = levelAt(config, input, now);
  if (temperature === 'cold') return { temperature, changesAt: null };
  const level = temperature === 'hot' ? config.hot : config.warm;
  const estimate = estimateEnd(level, input, now);
  if (!Number.isFinite(estimate)) return { temperature, changesAt: null };
  // The estimate is float arithmetic and scores are compared rounded to 1e-6, so find the exact
  // first millisecond by search: `holds` is true, then false for good (both criteria only fade).
  return {
    temperature,
    changesAt: firstFalse((t) => holds(level, input, t), now, Math.max(now + 1, estimate)),
  };
}

/** The least integer t > `from` with pred(t) false, given pred(from) true and pred monotone; `guess` starts the search. */
function firstFalse(pred: (t: number) => boolean, from: number, guess: number): number {
  let lo = from;
  let hi = Math.ceil(guess);
  let step = 1;
  while (pred(hi)) {
    lo = hi;
    hi += step;
    step *= 2;
  }
  if (hi - 1 > lo) {
    // Narrow the bracket from below too: the answer is near the guess.
    let probe = hi - 1;
    step = 1;
    while (probe > lo && !pred(probe)) {
      hi = probe;
      probe -= step;
      step *= 2;
    }
    if (probe > lo) lo = probe;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (pred(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}

// ---------------------------------------------------------------------------------------------
// Validation of a workspace's configuration

const LevelSchema = Type.Object(
  {
    minBehaviour: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10_000 })),
    highIntentWithinDays: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3650 })),
  },
  { additionalProperties: false },
);

export const TemperatureConfigSchema = Type.Object(
  {
    highIntent: Type.Optional(Type.Array(ActivityMatcherSchema, { maxItems: 50 })),
    hot: Type.Optional(LevelSchema),
    warm: Type.Optional(LevelSchema),
  },
  { additionalProperties: false },
);

const checkShape = compileValidator(TemperatureConfigSchema);

export type TemperatureConfigResult =
  | { ok: true; value: TemperatureConfig }
  | { ok: false; errors: FieldError[] };

/** Validates a temperature configuration; omitted parts take the defaults. */
export function parseTemperatureConfig(raw: unknown): TemperatureConfigResult {
  const shape = checkShape(raw);
  if (shape.length > 0) return { ok: false, errors: shape };
  const input = raw as Partial<TemperatureConfig>;
  const value: TemperatureConfig = {
    highIntent: input.highIntent ?? defaultTemperatureConfig.highIntent,
    hot: input.hot ?? defaultTemperatureConfig.hot,
    warm: input.warm ?? defaultTemperatureConfig.warm,
  };
  const errors: FieldError[] = [];
  errors.push(...checkActivityMatchers(value.highIntent, '/highIntent'));
  for (const name of ['hot', 'warm'] as const) {
    const level = value[name];
    if (level.minBehaviour === undefined && level.highIntentWithinDays === undefined)
      errors.push({ path: `/${name}`, message: 'needs minBehaviour or highIntentWithinDays' });
  }
  // Hot is tried first: a hot level easier to reach than warm would leave warm unreachable.
  const { hot, warm } = value;
  if (
    hot.minBehaviour !== undefined &&
    warm.minBehaviour !== undefined &&
    hot.minBehaviour < warm.minBehaviour
  )
    errors.push({ path: '/hot/minBehaviour', message: `must be at least warm's (${warm.minBehaviour})` });
  if (
    hot.highIntentWithinDays !== undefined &&
    warm.highIntentWithinDays !== undefined &&
    hot.highIntentWithinDays > warm.highIntentWithinDays
  )
    errors.push({
      path: '/hot/highIntentWithinDays',
      message: `must be at most warm's (${warm.highIntentWithinDays})`,
    });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}
