/**
 * Continuous decay in the log domain (DESIGN.md, "Scoring without batch jobs").
 *
 * Points B held at time t with half-life h are kept as one number k = log2(B) + u(t), where
 * u(t) = (t − DECAY_EPOCH_MS) / h is the time in half-lives. Then:
 * - the value at `now` is 2^(k − u(now)): exact at any moment, no batch job;
 * - adding a points at time t is k' = log2(2^k + a·2^u(t)), done as a log-add-exp so 2^u(t)
 *   is never formed (u reaches 20,000+ with a one-day half-life, and 2^1024 is Infinity);
 * - "value above θ now" is k > log2(θ) + u(now), a range on an indexed column;
 * - an activity that arrives late simply adds its points at its own time.
 * No points is k = null (log2(0) = −∞ does not survive JSON).
 *
 * Times are measured from 2020-01-01 so that u stays small and k keeps its precision: a double
 * carries ~16 significant digits, so k ≈ 30,000 (a one-day half-life, 80 years on) still
 * resolves values to about 1e-11 of themselves.
 */

/** One day in milliseconds. */
export const DAY_MS = 86_400_000;

/** Origin of the log-domain clock: 2020-01-01T00:00:00Z, epoch milliseconds. */
export const DECAY_EPOCH_MS = Date.UTC(2020, 0, 1);

/** Points in the log domain: log2(points) + u(t); null for none. */
export type LogPoints = number | null;

export function halfLifeMs(halfLifeDays: number): number {
  return halfLifeDays * DAY_MS;
}

/** Time `at` (epoch ms) in half-lives since `DECAY_EPOCH_MS`. */
export function halfLives(at: number, hMs: number): number {
  return (at - DECAY_EPOCH_MS) / hMs;
}

/** log2(2^a + 2^b) without overflow; null stands for −∞ (no points). */
export function logAddExp2(a: LogPoints, b: LogPoints): LogPoints {
  if (a === null) return b;
  if (b === null) return a;
  const high = Math.max(a, b);
  const low = Math.min(a, b);
  // log1p keeps precision when the smaller term is tiny next to the larger.
  return high + Math.log1p(2 ** (low - high)) / Math.LN2;
}

/** `points` (> 0) awarded at `at`, in the log domain; null for points ≤ 0. */
export function encodePoints(points: number, at: number, hMs: number): LogPoints {
  return points > 0 ? Math.log2(points) + halfLives(at, hMs) : null;
}

/** k after adding `points` (≥ 0) at time `at`. Order of additions does not matter. */
export function addPoints(k: LogPoints, points: number, at: number, hMs: number): LogPoints {
  return logAddExp2(k, encodePoints(points, at, hMs));
}

/** The decayed value of k at `now`: 2^(k − u(now)). Before the points were awarded this is larger, not zero. */
export function valueAt(k: LogPoints, now: number, hMs: number): number {
  return k === null ? 0 : 2 ** (k - halfLives(now, hMs));
}

/**
 * The bound that makes "value at `now` > θ" an index range: valueAt(k, now) > θ ⟺ k > bound.
 * θ ≤ 0 gives −Infinity (every k that is not null). Store k in a REAL/double column.
 */
export function thresholdK(theta: number, now: number, hMs: number): number {
  return theta > 0 ? Math.log2(theta) + halfLives(now, hMs) : Number.NEGATIVE_INFINITY;
}

/** When the value of k decays to θ (> 0), epoch ms (fractional); null when k is null or θ ≤ 0. */
export function timeValueReaches(k: LogPoints, theta: number, hMs: number): number | null {
  if (k === null || theta <= 0) return null;
  return DECAY_EPOCH_MS + (k - Math.log2(theta)) * hMs;
}

/**
 * k re-expressed for another half-life, keeping its value at `at`: from then on the points decay
 * at the new rate. (A model whose half-life changed is best rescored from the activities; this
 * keeps a state usable in between.)
 */
export function rebaseK(k: LogPoints, fromHMs: number, toHMs: number, at: number): LogPoints {
  if (k === null || fromHMs === toHMs) return k;
  // log2(value at `at`) is k − u_from(at); taken in the log domain, so no underflow.
  return k - halfLives(at, fromHMs) + halfLives(at, toHMs);
}
