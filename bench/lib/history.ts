import type { Random } from './random.ts';

/**
 * The shape of a large workspace's activity history, for benchmarks that load millions of
 * events straight into the database: how many events each lead has, and the order in which
 * they arrived. Only counts and lead indexes here; the events themselves come from
 * `makeEvent` (data.ts) as they are written, so memory stays at 4 bytes per event.
 */

/**
 * How many events each of `leads` leads has, adding up to exactly `total`: log-normal
 * (σ = 1.2) around the mean, so about half the leads have under half the mean, ~9% none at
 * all, and a few hundred per million have 100+ times the mean (the very active accounts a
 * rescore must not choke on).
 */
export function eventsPerLead(r: Random, leads: number, total: number): Int32Array {
  const sigma = 1.2;
  const weights = new Float64Array(leads);
  let sum = 0;
  for (let i = 0; i < leads; i++) {
    // Box–Muller: a standard normal from two uniforms.
    const z = Math.sqrt(-2 * Math.log(1 - r.float())) * Math.cos(2 * Math.PI * r.float());
    weights[i] = Math.exp(sigma * z);
    sum += weights[i]!;
  }
  const counts = new Int32Array(leads);
  let assigned = 0;
  for (let i = 0; i < leads; i++) {
    counts[i] = Math.floor((weights[i]! / sum) * total);
    assigned += counts[i]!;
  }
  // What rounding down left over: one more event each for leads drawn at random.
  for (; assigned < total; assigned++) counts[r.int(0, leads - 1)]!++;
  return counts;
}

/**
 * The leads of `counts`' events in arrival order: lead i appears counts[i] times, shuffled
 * (Fisher–Yates), so each lead's events are spread over the whole period and interleaved with
 * everyone else's, as a live site records them (and as they then lie in the table).
 */
export function arrivalOrder(r: Random, counts: Int32Array): Int32Array {
  let total = 0;
  for (const n of counts) total += n;
  const order = new Int32Array(total);
  let at = 0;
  for (let lead = 0; lead < counts.length; lead++) {
    order.fill(lead, at, at + counts[lead]!);
    at += counts[lead]!;
  }
  for (let i = total - 1; i > 0; i--) {
    const j = r.int(0, i);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Leads with no event, the median and the largest count, for the params of a result. */
export function countSummary(counts: Int32Array): {
  none: number;
  median: number;
  max: number;
  mean: number;
} {
  const sorted = Int32Array.from(counts).sort();
  let total = 0;
  for (const n of counts) total += n;
  const firstActive = sorted.findIndex((n) => n > 0);
  return {
    none: firstActive === -1 ? sorted.length : firstActive,
    median: sorted[sorted.length >> 1] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
    mean: Math.round((total / Math.max(1, counts.length)) * 100) / 100,
  };
}
