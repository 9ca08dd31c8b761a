import type { FieldError } from '../errors.ts';
import type { TimelineEntry } from './model.ts';

/**
 * Activity types a client may send. The timeline's system types (`lead_created`,
 * `identified`…, see `timelineTypes` in model.ts) are written by Leadline only.
 */
export const eventTypes = [
  'page_view',
  'form_submitted',
  'content_downloaded',
  'webinar_registered',
  'webinar_attended',
  'email_opened',
  'email_clicked',
  'email_replied',
  // Sent by the email tool like opens and clicks; the default negatives score them.
  'email_unsubscribed',
  'email_bounced',
  'email_complained',
  // A rep's email to the lead, logged from their mailbox or CRM: a touch for speed-to-lead SLAs.
  'email_sent',
  'demo_requested',
  'pricing_viewed',
  'trial_started',
  'product_used',
  'usage_limit_reached',
  'chat_started',
  'support_request',
  'call_logged',
  'meeting_booked',
  'custom',
] as const;
export type EventType = (typeof eventTypes)[number];

export function isEventType(value: string): value is EventType {
  return (eventTypes as readonly string[]).includes(value);
}

/** Largest number of events in one `POST /api/v1/events`. */
export const MAX_EVENTS = 1000;
/** How far ahead of the server clock an event may claim to have happened: clock skew, not typos. (1 day) */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;
/** Most keys an event's `properties` may have. (100) */
export const MAX_PROPERTY_KEYS = 100;
/** Largest `properties` object, as UTF-8 JSON bytes. (16 KiB) */
export const MAX_PROPERTIES_BYTES = 16 * 1024;

/** Who an event is about: exactly one of a known lead, an email, or an anonymous visitor. */
export type EventSubject =
  | { kind: 'lead'; leadId: string }
  | { kind: 'email'; email: string }
  | { kind: 'anonymous'; anonymousId: string };

/** One event after validation and normalisation. */
export interface EventInput {
  /** The client's id, which makes retries safe; absent means Leadline generates one. */
  id: string | undefined;
  type: EventType;
  subject: EventSubject;
  /** Epoch milliseconds. */
  occurredAt: number;
  properties: Record<string, unknown>;
}

/** An event kept for an anonymous visitor until it is identified or expires. */
export interface AnonymousActivity {
  id: string;
  anonymousId: string;
  type: string;
  occurredAt: number;
  properties: Record<string, unknown>;
  /** Epoch milliseconds after which the row is ignored and purged. */
  expiresAt: number;
}

export type EventStatus = 'stored' | 'duplicate' | 'rejected';

/** One item of the answer to a batch of events, in request order. */
export interface EventResult {
  index: number;
  status: EventStatus;
  id?: string;
  leadId?: string;
  errors?: FieldError[];
}

/** What the service looked up for a batch: each map answers for the keys it knows. */
export interface EventLookups {
  /** Requested lead id -> the lead that receives its events (a merged lead's survivor). */
  leadIds: ReadonlyMap<string, string>;
  /** Normalised email -> its lead (created when unknown). */
  emails: ReadonlyMap<string, string>;
  /** Anonymous id -> the lead it was identified as. */
  identities: ReadonlyMap<string, string>;
  /**
   * Client event id -> the lead whose timeline holds it, for ids stored by an earlier call
   * (retries) that the service looked up: those events are duplicates before anything else.
   */
  stored?: ReadonlyMap<string, string>;
}

/** Where each event of a batch goes; `results` is complete except that stored/duplicate is not known yet. */
export interface EventPlan {
  /** Events for leads, first occurrence of each id only. */
  entries: TimelineEntry[];
  /** Events for visitors not identified yet, first occurrence of each id only. */
  anonymous: AnonymousActivity[];
  /** One per input; a `stored` status means "to be inserted" until the insert reports back. */
  results: EventResult[];
}

export type ParsedEvent = { ok: true; value: EventInput } | { ok: false; errors: FieldError[] };

/** When an anonymous event written at `now` expires. */
export function anonymousExpiry(now: number, retentionDays: number): number {
  return now + retentionDays * 24 * 60 * 60 * 1000;
}

/**
 * Decides where every event of a batch goes, from the lookups the service made: a lead's
 * timeline, the anonymous store, or a rejection (an unknown lead id). An id repeated within
 * the batch is stored once per store (timelines, anonymous), at its first occurrence; the later
 * ones are duplicates.
 * Pure: `newId` and `now` come from the caller.
 */
export function planEvents(
  parsed: ParsedEvent[],
  lookups: EventLookups,
  options: { now: number; retentionDays: number; newId: () => string; pathOf: (index: number) => string },
): EventPlan {
  const entries: TimelineEntry[] = [];
  const anonymous: AnonymousActivity[] = [];
  const results: EventResult[] = [];
  const seen = new Set<string>();
  const expiresAt = anonymousExpiry(options.now, options.retentionDays);

  parsed.forEach((item, index) => {
    if (!item.ok) {
      results.push({ index, status: 'rejected', errors: item.errors });
      return;
    }
    const event = item.value;
    const holder = event.id === undefined ? undefined : lookups.stored?.get(event.id);
    if (holder !== undefined) {
      results.push({ index, status: 'duplicate', id: event.id, leadId: holder });
      return;
    }
    const target = targetOf(event.subject, lookups);
    if (target.kind === 'unknown') {
      results.push({
        index,
        status: 'rejected',
        errors: [{ path: `${options.pathOf(index)}/leadId`, message: 'is not a lead in this workspace' }],
      });
      return;
    }
    const id = event.id ?? options.newId();
    // Timelines and the anonymous store hold ids apart, as they do across calls (identify gives
    // a clashing visitor event a new id): one call stores an id once per store.
    const key = target.kind === 'lead' ? id : `anonymous ${id}`;
    if (seen.has(key)) {
      results.push({
        index,
        status: 'duplicate',
        id,
        ...(target.kind === 'lead' ? { leadId: target.leadId } : {}),
      });
      return;
    }
    seen.add(key);
    if (target.kind === 'lead') {
      const { leadId } = target;
      entries.push({
        id,
        leadId,
        type: event.type,
        occurredAt: event.occurredAt,
        properties: event.properties,
      });
      results.push({ index, status: 'stored', id, leadId });
    } else {
      anonymous.push({
        id,
        anonymousId: target.anonymousId,
        type: event.type,
        occurredAt: event.occurredAt,
        properties: event.properties,
        expiresAt,
      });
      results.push({ index, status: 'stored', id });
    }
  });
  return { entries, anonymous, results };
}

function targetOf(
  subject: EventSubject,
  lookups: EventLookups,
): { kind: 'lead'; leadId: string } | { kind: 'anonymous'; anonymousId: string } | { kind: 'unknown' } {
  switch (subject.kind) {
    case 'lead': {
      const leadId = lookups.leadIds.get(subject.leadId);
      return leadId ? { kind: 'lead', leadId } : { kind: 'unknown' };
    }
    case 'email': {
      const leadId = lookups.emails.get(subject.email);
      // The service creates every unknown email's lead, so a miss here is a bug, not bad input.
      if (!leadId) throw new Error(`no lead was resolved for an event's email`);
      return { kind: 'lead', leadId };
    }
    case 'anonymous': {
      const leadId = lookups.identities.get(subject.anonymousId);
      return leadId ? { kind: 'lead', leadId } : { kind: 'anonymous', anonymousId: subject.anonymousId };
    }
  }
}

/**
 * Final statuses once the inserts have run: an event planned as stored whose id the database
 * already held (a retry) becomes a duplicate.
 */
export function settleResults(results: EventResult[], inserted: ReadonlySet<string>): EventResult[] {
  return results.map((r) =>
    r.status === 'stored' && r.id !== undefined && !inserted.has(r.id) ? { ...r, status: 'duplicate' } : r,
  );
}
