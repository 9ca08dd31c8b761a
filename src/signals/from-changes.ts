import { leadJson } from '../leads/json.ts';
import type { Lead, TimelineEntry } from '../leads/model.ts';
import type { LeadChange } from '../leads/reactions.ts';
import type { Score } from '../scoring/engine.ts';
import type { Signal } from './bus.ts';

/** Scores a `lead.score_crossed` signal is raised at, when the workspace names none. */
export const defaultScoreThresholds: readonly number[] = [50, 75];

export interface SignalContext {
  /** The lead's score at the moment of the write (`leadScore` with the workspace's model at `now`). */
  scoreOf: (lead: Lead) => Score;
  /** Scores whose crossing, up or down, is a `lead.score_crossed` signal (workspace setting `scoreThresholds`). */
  thresholds: readonly number[];
  now: number;
}

/**
 * The business signals one lead-writing transaction produced, derived from its changes:
 * `lead.created`, `lead.updated`, `lead.stage_changed`, `lead.became_hot`,
 * `lead.score_crossed` and `form.submitted`, in change order. Pure.
 *
 * Every signal about a lead whose new state the write loaded carries that lead, as the API
 * shows it and scored now, in `data.lead`: webhook receivers need not call back for it.
 */
export function signalsFromChanges(changes: readonly LeadChange[], ctx: SignalContext): Signal[] {
  const out: Signal[] = [];
  for (const change of changes) {
    const after = change.after;
    const afterScore = after ? ctx.scoreOf(after) : undefined;
    // Rendered once per change, when it has a signal (most changes of a bulk write have none),
    // and shared by the change's signals: they are read, never mutated.
    let lead: ReturnType<typeof leadJson> | undefined;
    const emit = (type: Signal['type'], at: number, data: Record<string, unknown>) => {
      if (after) lead ??= leadJson(after, afterScore);
      out.push({ type, leadId: change.leadId, at, data: lead ? { ...data, lead } : data });
    };

    if (change.before === null) {
      const created = change.entries.find((e) => e.type === 'lead_created');
      emit('lead.created', created?.occurredAt ?? after?.createdAt ?? ctx.now, {
        ...(created && { via: created.properties.via ?? null }),
      });
    }
    for (const entry of change.entries) signalOfEntry(entry, emit);
    if (change.before && after && afterScore) {
      const from = ctx.scoreOf(change.before).score;
      for (const crossing of scoreCrossings(from, afterScore.score, ctx.thresholds))
        emit('lead.score_crossed', ctx.now, { ...crossing, from, to: afterScore.score });
    }
  }
  return out;
}

function signalOfEntry(
  entry: TimelineEntry,
  emit: (type: Signal['type'], at: number, data: Record<string, unknown>) => void,
): void {
  const p = entry.properties;
  switch (entry.type) {
    case 'lead_updated':
      emit('lead.updated', entry.occurredAt, { changed: Array.isArray(p.changed) ? p.changed : [] });
      return;
    case 'stage_changed':
      emit('lead.stage_changed', entry.occurredAt, {
        from: p.from ?? null,
        to: p.to ?? null,
        cause: p.cause ?? null,
      });
      return;
    case 'temperature_changed':
      if (p.to === 'hot' && p.from !== 'hot')
        emit('lead.became_hot', entry.occurredAt, { from: p.from ?? null, to: 'hot' });
      return;
    case 'form_submitted':
      emit('form.submitted', entry.occurredAt, { activityId: entry.id, properties: p });
      return;
  }
}

/**
 * The thresholds a score crossed going from `from` to `to`: up when it reached one it was
 * below (`from < t <= to`), down when it fell below one it had reached (`to < t <= from`).
 * Ascending for an upward move, descending for a downward one: the order it passed them.
 */
export function scoreCrossings(
  from: number,
  to: number,
  thresholds: readonly number[],
): Array<{ threshold: number; direction: 'up' | 'down' }> {
  const sorted = [...new Set(thresholds)].sort((a, b) => a - b);
  if (to > from)
    return sorted.filter((t) => from < t && t <= to).map((threshold) => ({ threshold, direction: 'up' }));
  if (to < from)
    return sorted
      .filter((t) => to < t && t <= from)
      .reverse()
      .map((threshold) => ({ threshold, direction: 'down' }));
  return [];
}
