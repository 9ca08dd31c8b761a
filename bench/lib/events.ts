import { type GeneratedEvent, makeEvent } from './data.ts';
import { Random } from './random.ts';

/** An event before its lead has an id: `lead` indexes the generated leads. */
export interface PlannedEvent extends GeneratedEvent {
  lead: number;
  /** Email-tool events name the lead by email and carry the tool's own id (retry-safe). */
  byEmail: boolean;
  clientId: string | undefined;
}

/**
 * `count` events over the `days` days before `end` in time order, spread over `leads` leads
 * with a skew (a few very active leads, a long tail), the way a site and an email tool report
 * them. (Default: the last 30 days)
 */
export function planEvents(
  count: number,
  leads: number,
  seed: number,
  options: { end?: number; days?: number } = {},
): PlannedEvent[] {
  const r = new Random(seed);
  const end = options.end ?? Date.now() - 60_000;
  const start = end - (options.days ?? 30) * 24 * 3600 * 1000;
  const step = (end - start) / count;
  // A random permutation so that "popular" leads are not just the first ones created.
  const order = Array.from({ length: leads }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return Array.from({ length: count }, (_, i) => {
    const event = makeEvent(r, Math.round(start + i * step + r.float() * step));
    const byEmail = event.type === 'email_opened' || event.type === 'email_clicked';
    return {
      ...event,
      lead: order[r.chance(0.5) ? r.skewedIndex(leads) : r.int(0, leads - 1)]!,
      byEmail,
      clientId: byEmail ? `esp:${seed}:${i}` : undefined,
    };
  });
}

/** The API form of an event (`POST /api/v1/events` item), once leads have ids and emails. */
export function rawEvent(e: PlannedEvent, ids: string[], emails: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { type: e.type, occurredAt: new Date(e.occurredAt).toISOString() };
  if (e.clientId) out.id = e.clientId;
  if (e.byEmail) out.email = emails[e.lead];
  else out.leadId = ids[e.lead];
  out.properties = e.properties;
  return out;
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
