import { signalTypes } from '../signals/bus.ts';

/**
 * Outbound webhooks: subscriptions to business signals, delivered as Standard Webhooks
 * (signed JSON POSTs) by durable jobs with retries. Pure types and decisions; SQL in store.ts,
 * HTTP in src/outbound/target-guard.ts, the job in delivery.ts.
 */

/** What a subscription can ask for: every signal type (src/signals/bus.ts), or `*` for all. */
export const webhookEventTypes = signalTypes;
/** The event of `POST /webhooks/:id/test`: not a signal, sent only on request. */
export const PING_EVENT = 'webhook.ping';

export interface WebhookSubscription {
  id: string;
  url: string;
  /** Event types it receives; `['*']`: all of them. */
  events: string[];
  description: string | null;
  enabled: boolean;
  /** Why it is disabled (410 Gone, sustained failure, a person); null while enabled. */
  disabledReason: string | null;
  disabledAt: number | null;
  health: WebhookHealth;
  createdAt: number;
  updatedAt: number;
}

/** The subscription with the secrets it signs with: only the service and the delivery job see these. */
export interface SigningSubscription extends WebhookSubscription {
  secret: string;
  previousSecret: string | null;
  /** Until when (epoch ms) the previous secret still signs beside the new one. */
  previousSecretUntil: number | null;
}

export interface WebhookHealth {
  lastSuccessAt: number | null;
  /** The first failed attempt since the last success; null when the last attempt succeeded. */
  failingSince: number | null;
  /** Failed attempts (any message) since the last success. */
  consecutiveFailures: number;
}

/** What caused a delivery: a signal, a replay through the API, or a test ping. */
export const deliveryTriggers = ['event', 'replay', 'test'] as const;
export type DeliveryTrigger = (typeof deliveryTriggers)[number];

/** One attempt to deliver one message to one subscription: a line of the delivery log. */
export interface Delivery {
  id: string;
  subscriptionId: string;
  messageId: string;
  eventType: string;
  trigger: DeliveryTrigger;
  /** 1 for the first attempt of its job; a replay starts again at 1. */
  attempt: number;
  attemptedAt: number;
  succeeded: boolean;
  /** The target's HTTP status; null when no answer came (refused, network error, timeout). */
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  /** The start of the target's answer. (Max RESPONSE_LOG_CHARS) */
  response: string | null;
  /** When the next attempt is due; null: none (succeeded, gave up, or disabled). */
  nextRetryAt: number | null;
}

/** An event as it is sent: its id is the `webhook-id` header. */
export interface WebhookMessage {
  id: string;
  eventType: string;
  leadId: string | null;
  data: Record<string, unknown>;
  /** The exact JSON sent; null until rendered (the lead is loaded at the first attempt). */
  body: string | null;
  occurredAt: number;
}

/** Subscriptions one workspace may have: each capture enqueues a job per matching one. (100) */
export const MAX_SUBSCRIPTIONS = 100;
/** Characters of a target's answer kept in the delivery log. (1,000) */
export const RESPONSE_LOG_CHARS = 1_000;
/** How long a rotated-out secret still signs beside the new one. (24 h) */
export const SECRET_ROTATION_GRACE_MS = 24 * 3_600_000;

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * Delays before attempts 2…8 (the Standard Webhooks / Svix schedule): 5 s, 5 min, 30 min, 2 h,
 * 5 h, 10 h, 10 h. The last attempt comes 27.6 h after the first, so a target that is down for
 * a whole day still gets every message.
 */
export const RETRY_SCHEDULE_MS: readonly number[] = [
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
];
/** The first attempt and one per scheduled retry. (8) */
export const MAX_ATTEMPTS = RETRY_SCHEDULE_MS.length + 1;
/** The longest wait a Retry-After may ask for before it is capped. (24 h) */
export const MAX_RETRY_AFTER_MS = 24 * HOUR;

/**
 * Auto-disable: a subscription is disabled when it has not had a success for this long and
 * its last AUTO_DISABLE_MIN_FAILURES attempts (at least) all failed. (5 days)
 */
export const AUTO_DISABLE_AFTER_MS = 5 * 24 * HOUR;
/** See AUTO_DISABLE_AFTER_MS. The count keeps a target that gets one event a week from being disabled by two failures. (10) */
export const AUTO_DISABLE_MIN_FAILURES = 10;

/**
 * Circuit breaker: once a subscription's last this-many attempts in a row failed, its event
 * deliveries stop connecting to it, except one probe per BREAKER_PROBE_EVERY_MS. A target
 * that times out holds a worker slot for the whole DELIVERY_TIMEOUT_MS (10 s); without the
 * breaker a dead one that gets many events would occupy every slot and hold up SLA timers and
 * alerts of all workspaces. (5)
 */
export const BREAKER_FAILURES = 5;
/** While the breaker is open, at most one attempt per this long reaches the target. (60 s) */
export const BREAKER_PROBE_EVERY_MS = 60 * SECOND;

/** The delivery log is kept this long after each attempt, then pruned. (30 days) */
export const DELIVERY_LOG_RETENTION_MS = 30 * 24 * HOUR;
/**
 * A message (the event as sent: it carries the lead, personal data) is kept this long after it
 * was queued, then pruned: beyond every scheduled attempt (27.6 h) and the retry of a dead
 * delivery job (possible for 30 days after it died). Replays need it. (32 days)
 */
export const MESSAGE_RETENTION_MS = 32 * 24 * HOUR;

/** Whether a subscription's `events` list takes this event type. */
export function wantsEvent(events: readonly string[], type: string): boolean {
  return events.includes('*') || events.includes(type);
}

/** `events` as stored: `*` alone when it is there, else the types once each, in the order given. */
export function normaliseEvents(events: readonly string[]): string[] {
  return events.includes('*') ? ['*'] : [...new Set(events)];
}

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` failed: the schedule, plus up to
 * 10 % so deliveries that failed together (a target down) do not all return in one instant.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = RETRY_SCHEDULE_MS[Math.min(Math.max(attempt, 1), RETRY_SCHEDULE_MS.length) - 1]!;
  return Math.round(base * (1 + 0.1 * random()));
}

/** `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 section 5.6.7). */
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * A Retry-After header (delay in seconds, or an HTTP date) as milliseconds from `now`;
 * undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only the IMF-fixdate form senders must use: Date.parse alone reads "-5" as the year 2001.
  if (!IMF_FIXDATE.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What one attempt got back: an HTTP answer, or none (`status` null) with an error. */
export interface AttemptResult {
  status: number | null;
  error: string | null;
  /** The answer's Retry-After header. */
  retryAfter?: string | undefined;
}

export interface AttemptVerdict {
  succeeded: boolean;
  /** 410 Gone: the receiver says the endpoint is gone for good; the subscription is disabled. */
  gone: boolean;
  /** When to try again; null: not again. */
  nextRetryAt: number | null;
}

/**
 * Judges an attempt: 2xx succeeded; 410 disables; anything else (3xx included: redirects are
 * not followed) is retried on the schedule until the attempts run out. A 429 or 503 with
 * Retry-After waits at least as long as asked (at most MAX_RETRY_AFTER_MS), never less than
 * the schedule, so the retries still span a day.
 */
export function judgeAttempt(
  result: AttemptResult,
  attempt: number,
  maxAttempts: number,
  now: number,
  random: () => number = Math.random,
): AttemptVerdict {
  const { status } = result;
  if (status !== null && status >= 200 && status < 300)
    return { succeeded: true, gone: false, nextRetryAt: null };
  if (status === 410) return { succeeded: false, gone: true, nextRetryAt: null };
  if (attempt >= maxAttempts) return { succeeded: false, gone: false, nextRetryAt: null };
  let delay = retryDelayMs(attempt, random);
  if (status === 429 || status === 503) {
    const asked = parseRetryAfter(result.retryAfter, now);
    if (asked !== undefined) delay = Math.max(delay, Math.min(asked, MAX_RETRY_AFTER_MS));
  }
  return { succeeded: false, gone: false, nextRetryAt: now + delay };
}

/** Why a subscription with this health should be disabled now; undefined: keep it. */
export function autoDisableReason(health: WebhookHealth, now: number): string | undefined {
  if (health.failingSince === null || health.consecutiveFailures < AUTO_DISABLE_MIN_FAILURES)
    return undefined;
  if (now - health.failingSince < AUTO_DISABLE_AFTER_MS) return undefined;
  const days = Math.floor((now - health.failingSince) / (24 * HOUR));
  return `every delivery failed for ${days} days (${health.consecutiveFailures} attempts in a row)`;
}

/** The secrets an attempt at `now` signs with: the current one, and the previous one during its grace period. */
export function signingSecrets(sub: SigningSubscription, now: number): string[] {
  return sub.previousSecret && sub.previousSecretUntil !== null && sub.previousSecretUntil > now
    ? [sub.secret, sub.previousSecret]
    : [sub.secret];
}

/**
 * A message's body, the Standard Webhooks payload structure: `type`, `timestamp` (of the
 * event, ISO 8601) and `data` (with the lead id first, when it is about a lead).
 */
export function messageBody(
  type: string,
  occurredAt: number,
  leadId: string | null,
  data: Record<string, unknown>,
): string {
  return JSON.stringify({
    type,
    timestamp: new Date(occurredAt).toISOString(),
    data: leadId === null ? data : { leadId, ...data },
  });
}

/** A failure as the delivery log shows it: the status and the start of the answer, or the error. */
export function failureText(result: AttemptResult, responseBody: string | null): string | null {
  if (result.status !== null && result.status >= 200 && result.status < 300) return null;
  if (result.status === null) return result.error ?? 'no answer';
  const snippet = (responseBody ?? '').replace(/\s+/g, ' ').trim().slice(0, 200);
  return snippet ? `HTTP ${result.status}: ${snippet}` : `HTTP ${result.status}`;
}

/**
 * How long an event delivery waits instead of connecting, or undefined: go ahead. The breaker
 * is open while the subscription's last BREAKER_FAILURES attempts or more all failed; then an
 * attempt goes ahead only as the probe (none reached the target for BREAKER_PROBE_EVERY_MS),
 * or when it is the message's last. The wait is the one a failure would have given (the
 * schedule), at least until the next probe is due: a deferred attempt counts as a failed one
 * that never left, so a message waits out an outage on its schedule instead of piling up.
 * Replays and test pings are a person asking: they always go.
 */
export function breakerWaitMs(
  health: WebhookHealth,
  lastAttemptAt: number | undefined,
  trigger: DeliveryTrigger,
  attempt: number,
  maxAttempts: number,
  now: number,
  random: () => number = Math.random,
): number | undefined {
  if (trigger !== 'event' || health.consecutiveFailures < BREAKER_FAILURES) return undefined;
  if (attempt >= maxAttempts) return undefined;
  if (lastAttemptAt === undefined || now - lastAttemptAt >= BREAKER_PROBE_EVERY_MS) return undefined;
  return Math.max(retryDelayMs(attempt, random), lastAttemptAt + BREAKER_PROBE_EVERY_MS - now);
}
