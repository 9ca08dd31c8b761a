import type { StageChange } from '../scoring/qualify.ts';
import { type Stage, stages } from './model.ts';

/**
 * How long leads stay in each stage, from the stage history (pure). A lead enters its first
 * stage when it is created; every recorded change closes one stay and opens the next.
 */

export const DAY_MS = 24 * 60 * 60 * 1000;

/** One stay of a lead in a stage; `exitedAt` null: it is there now (duration up to now). */
export interface StagePeriod {
  stage: Stage;
  enteredAt: number;
  exitedAt: number | null;
  durationMs: number;
}

/** A lead's stays in order, from its creation and its stage changes (oldest first). */
export function stagePeriods(
  lead: { stage: Stage; createdAt: number },
  changes: readonly StageChange[],
  now: number,
): StagePeriod[] {
  const periods: StagePeriod[] = [];
  const first = changes[0];
  let current: { stage: Stage; enteredAt: number } | null =
    first === undefined
      ? { stage: lead.stage, enteredAt: lead.createdAt }
      : first.from === null
        ? null
        : { stage: first.from, enteredAt: Math.min(lead.createdAt, first.at) };
  for (const change of changes) {
    if (current) {
      periods.push({
        ...current,
        exitedAt: change.at,
        durationMs: Math.max(0, change.at - current.enteredAt),
      });
    }
    current = { stage: change.to, enteredAt: change.at };
  }
  if (current) periods.push({ ...current, exitedAt: null, durationMs: Math.max(0, now - current.enteredAt) });
  return periods;
}

/** Time in each stage a lead has been in, summed over its stays, in stage order. */
export function timeInStages(
  periods: readonly StagePeriod[],
): Array<{ stage: Stage; durationMs: number; stays: number }> {
  const byStage = new Map<Stage, { durationMs: number; stays: number }>();
  for (const p of periods) {
    const total = byStage.get(p.stage) ?? { durationMs: 0, stays: 0 };
    total.durationMs += p.durationMs;
    total.stays += 1;
    byStage.set(p.stage, total);
  }
  return stages.flatMap((stage) => {
    const total = byStage.get(stage);
    return total ? [{ stage, ...total }] : [];
  });
}

/** Milliseconds in days, to 2 decimals. */
export function days(ms: number): number {
  return Math.round((ms / DAY_MS) * 100) / 100;
}

/** The middle value (the mean of the two middle ones for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Accepted ÷ decided, to 4 decimals; null when sales decided nothing. */
export function acceptanceRate(accepted: number, rejected: number): number | null {
  const decided = accepted + rejected;
  return decided === 0 ? null : Math.round((accepted / decided) * 10_000) / 10_000;
}
