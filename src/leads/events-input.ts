import Type, { type Static } from 'typebox';
import type { FieldError } from '../errors.ts';
import { parseIsoTime } from '../time.ts';
import { compileValidator } from '../validate.ts';
import {
  type EventInput,
  type EventSubject,
  isEventType,
  MAX_FUTURE_MS,
  MAX_PROPERTIES_BYTES,
  MAX_PROPERTY_KEYS,
  type ParsedEvent,
} from './events-model.ts';
import type { Parsed } from './input.ts';
import { timelineTypes } from './model.ts';
import { normaliseEmail } from './normalise.ts';

/** Client event ids: what fits in a URL, a log line and a UUID, ULID or `source:123` key. */
export const EVENT_ID_PATTERN = '^[A-Za-z0-9_.:-]{1,128}$';

const AnonymousIdSchema = Type.String({ minLength: 1, maxLength: 128 });
const LeadIdSchema = Type.String({ minLength: 1, maxLength: 64 });
const EmailSchema = Type.String({ maxLength: 320 });

/** One item of `POST /api/v1/events`. Checked per item, so one bad event does not fail the call. */
export const EventInputSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: EVENT_ID_PATTERN })),
    type: Type.String({ maxLength: 64 }),
    leadId: Type.Optional(LeadIdSchema),
    email: Type.Optional(EmailSchema),
    anonymousId: Type.Optional(AnonymousIdSchema),
    occurredAt: Type.Optional(Type.Union([Type.String({ maxLength: 40 }), Type.Integer({ minimum: 0 })])),
    properties: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { maxProperties: MAX_PROPERTY_KEYS }),
    ),
  },
  { additionalProperties: false },
);
type RawEvent = Static<typeof EventInputSchema>;

const checkEvent = compileValidator(EventInputSchema);

const TIME_MESSAGE = 'must be an ISO 8601 time with a time zone, or epoch milliseconds';
/** The largest time a JavaScript Date holds. */
const MAX_TIME = 8.64e15;

/**
 * Why `value` is not an event time: a well-formed time out of range is told so, not that it
 * lacks a zone. Times are stored as epoch milliseconds from 0: nothing before 1970.
 */
function timeError(value: unknown): string {
  const ms = typeof value === 'number' || typeof value === 'string' ? readTime(value) : Number.NaN;
  if (Number.isInteger(ms) && ms < 0) return 'must not be before 1970-01-01T00:00:00Z (epoch milliseconds 0)';
  if (Number.isInteger(ms) && ms > MAX_TIME)
    return 'must not be after +275760-09-13T00:00:00Z (epoch milliseconds 8640000000000000)';
  return TIME_MESSAGE;
}

/** Epoch milliseconds of an ISO 8601 time or epoch-ms number (or digit string); undefined if it is neither. */
export function parseEventTime(value: string | number): number | undefined {
  const ms = readTime(value);
  return Number.isInteger(ms) && ms >= 0 && ms <= MAX_TIME ? ms : undefined;
}

/** Epoch milliseconds `value` names, in range or not; NaN if it is not a time. */
function readTime(value: string | number): number {
  if (typeof value === 'number') return value;
  if (/^\d{1,16}$/.test(value)) return Number(value);
  return parseIsoTime(value);
}

/** The subject fields in the order their errors are reported. */
const subjectFields = ['leadId', 'email', 'anonymousId'] as const;

/**
 * Validates and normalises one event. `basePath` prefixes the field paths (`/events/3/type`).
 * Pure: the same input and `now` always give the same result.
 */
export function parseEventInput(raw: unknown, context: { now: number }, basePath = ''): ParsedEvent {
  const shapeErrors = checkEvent(raw, basePath).map((e) =>
    e.path === `${basePath}/occurredAt`
      ? { ...e, message: timeError((raw as { occurredAt?: unknown }).occurredAt) }
      : e,
  );
  if (shapeErrors.length > 0) return { ok: false, errors: shapeErrors };
  const input = raw as RawEvent;
  const errors: FieldError[] = [];

  if (!isEventType(input.type)) {
    const system = (timelineTypes as readonly string[]).includes(input.type);
    errors.push({
      path: `${basePath}/type`,
      message: system ? 'is a system timeline type that only Leadline writes' : 'is not a known event type',
    });
  }

  const subject = parseSubject(input, basePath, errors);

  let occurredAt = context.now;
  if (input.occurredAt !== undefined) {
    const parsed = parseEventTime(input.occurredAt);
    if (parsed === undefined)
      errors.push({ path: `${basePath}/occurredAt`, message: timeError(input.occurredAt) });
    else if (parsed > context.now + MAX_FUTURE_MS)
      errors.push({ path: `${basePath}/occurredAt`, message: 'must not be more than 1 day in the future' });
    else occurredAt = parsed;
  }

  const properties = input.properties ?? {};
  const size = jsonBytes(properties);
  if (size === undefined) errors.push({ path: `${basePath}/properties`, message: 'must be JSON' });
  else if (size > MAX_PROPERTIES_BYTES)
    errors.push({ path: `${basePath}/properties`, message: 'must be at most 16 KiB as JSON' });

  if (errors.length > 0 || !subject) return { ok: false, errors };
  const value: EventInput = {
    id: input.id,
    type: input.type as EventInput['type'],
    subject,
    occurredAt,
    properties,
  };
  return { ok: true, value };
}

function parseSubject(input: RawEvent, basePath: string, errors: FieldError[]): EventSubject | undefined {
  const given = subjectFields.filter((field) => input[field] !== undefined);
  if (given.length === 0) {
    errors.push({ path: `${basePath}/email`, message: 'is required unless leadId or anonymousId is given' });
    return undefined;
  }
  if (given.length > 1) {
    for (const field of given.slice(1)) {
      errors.push({
        path: `${basePath}/${field}`,
        message: `cannot be combined with ${given[0]}: give exactly one of leadId, email or anonymousId`,
      });
    }
    return undefined;
  }
  if (input.leadId !== undefined) return { kind: 'lead', leadId: input.leadId };
  if (input.anonymousId !== undefined) return { kind: 'anonymous', anonymousId: input.anonymousId };
  const email = normaliseEmail(input.email!);
  if (!email.ok) {
    errors.push({ path: `${basePath}/email`, message: email.message });
    return undefined;
  }
  return { kind: 'email', email: email.value };
}

/** UTF-8 size of `value` as JSON; undefined when it cannot be JSON (a BigInt, a cycle). */
function jsonBytes(value: unknown): number | undefined {
  try {
    return Buffer.byteLength(JSON.stringify(value), 'utf8');
  } catch {
    return undefined;
  }
}

/** The body of `POST /api/v1/identify`. */
export const IdentifyInputSchema = Type.Object(
  { anonymousId: AnonymousIdSchema, email: Type.Optional(EmailSchema), leadId: Type.Optional(LeadIdSchema) },
  { additionalProperties: false },
);

const checkIdentify = compileValidator(IdentifyInputSchema);

/** Who an anonymous visitor turned out to be. */
export interface IdentifyInput {
  anonymousId: string;
  target: { kind: 'lead'; leadId: string } | { kind: 'email'; email: string };
}

/** Validates an identify request: an anonymous id and exactly one of email or leadId. */
export function parseIdentifyInput(raw: unknown): Parsed<IdentifyInput> {
  const shapeErrors = checkIdentify(raw);
  if (shapeErrors.length > 0) return { ok: false, errors: shapeErrors };
  const input = raw as Static<typeof IdentifyInputSchema>;
  if ((input.email === undefined) === (input.leadId === undefined)) {
    const path = input.email === undefined ? '/email' : '/leadId';
    return { ok: false, errors: [{ path, message: 'give exactly one of email or leadId' }] };
  }
  if (input.leadId !== undefined)
    return {
      ok: true,
      value: { anonymousId: input.anonymousId, target: { kind: 'lead', leadId: input.leadId } },
    };
  const email = normaliseEmail(input.email!);
  if (!email.ok) return { ok: false, errors: [{ path: '/email', message: email.message }] };
  return {
    ok: true,
    value: { anonymousId: input.anonymousId, target: { kind: 'email', email: email.value } },
  };
}
