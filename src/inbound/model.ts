import type { FieldError } from '../errors.ts';
import { storableText } from '../storable-text.ts';

/**
 * Inbound lead-form webhooks: sources (Facebook Lead Ads, LinkedIn Lead Gen Forms, generic
 * JSON senders) that post leads to `/in/{id}`, and the external leads they delivered. Pure
 * types and decisions; the platforms' payload shapes are in facebook.ts, linkedin.ts and
 * generic.ts, the field mapping in mapping.ts, SQL in store.ts, use cases in service.ts.
 */

export const inboundKinds = ['facebook', 'linkedin', 'generic'] as const;
export type InboundKind = (typeof inboundKinds)[number];

/**
 * pending: waiting for its answers to be fetched from the platform; captured: the lead and its
 * `form_submitted` activity are written; failed: could not be captured (see `errors`), kept
 * to be retried.
 */
export const inboundStatuses = ['pending', 'captured', 'failed'] as const;
export type InboundStatus = (typeof inboundStatuses)[number];

/** Graph API root leads are fetched from (version included). */
export const FACEBOOK_GRAPH_URL = 'https://graph.facebook.com/v21.0';
/** LinkedIn's REST API root. */
export const LINKEDIN_API_URL = 'https://api.linkedin.com';
/** The `LinkedIn-Version` (YYYYMM) requests are made with; LinkedIn sunsets each after about a year. */
export const LINKEDIN_API_VERSION = '202601';
/** Where a generic sender puts its HMAC signature. */
export const GENERIC_SIGNATURE_HEADER = 'x-leadline-signature';

/** Most sources a workspace may have. (100) */
export const MAX_SOURCES = 100;
/** Most entries in a source's field mapping. (100) */
export const MAX_MAPPING_ENTRIES = 100;
/** Most leads one delivery may carry (Facebook batches changes; generic senders send arrays). (500) */
export const MAX_ITEMS_PER_DELIVERY = 500;
/** Largest body `/in/{id}` accepts. (1 MiB) */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Shortest secret a person may choose (app secrets, verify tokens, shared tokens). (16) */
export const MIN_SECRET_LENGTH = 16;
/**
 * How long a source's log keeps a captured entry, from its arrival. Its answers are gone once
 * captured (the lead has them); the row dedupes a platform's retries, which stop within days
 * (Meta: 36 hours), and the activity's id (`fb:…`, `li:…`) keeps deduping after. (30 days)
 */
export const CAPTURED_RETENTION_MS = 30 * 86_400_000;
/**
 * How long the log keeps a failed or pending entry, from its arrival: time to fix a mapping or
 * a token and retry; then its personal data goes. (90 days)
 */
export const UNCAPTURED_RETENTION_MS = 90 * 86_400_000;
/** Log rows deleted per transaction (pruning, a deleted source's log). (1,000) */
export const LOG_DELETE_CHUNK = 1_000;

export interface FacebookSettings {
  /** Graph API root with its version. (Default: FACEBOOK_GRAPH_URL) */
  graphBaseUrl: string;
}
export interface LinkedInSettings {
  /** (Default: LINKEDIN_API_URL) */
  apiBaseUrl: string;
  /** (Default: LINKEDIN_API_VERSION) */
  apiVersion: string;
  /**
   * The purpose in Leadline's consent ledger (`marketing`, `newsletter`…) each consent checkbox
   * of the platform form stands for, by the checkbox's id. A checked box of a listed id is
   * recorded as a grant, with the form's wording; others stay on the activity only. (Default: {};
   * absent on sources saved before it existed.)
   */
  consentPurposes?: Record<string, string>;
}

/** Most consent checkboxes a source maps to purposes. (20) */
export const MAX_CONSENT_PURPOSES = 20;
export interface GenericSettings {
  /** token: a shared token in a header; hmac: an HMAC-SHA256 signature of the body. (Default: token) */
  auth: 'token' | 'hmac';
  /** Header of the HMAC signature. (Default: x-leadline-signature) */
  signatureHeader: string;
  /** JSON path of the array of leads in a body that carries several; null: the body is one lead, or an array of them. */
  itemsPath: string | null;
  /**
   * JSON path of a lead's own id (what makes a retried delivery a duplicate); null: a hash of
   * the item, so an identical item is a duplicate but one that differs in any field (a
   * sender's timestamp) is a new external lead.
   */
  idPath: string | null;
  /** JSON path of when the lead was submitted (ISO 8601 or epoch ms/s); null: when it arrived. */
  occurredAtPath: string | null;
}

export type SourceSettings = FacebookSettings | LinkedInSettings | GenericSettings;

/** The secrets each kind has; the first of each list is required (generated when it can be). */
export const secretNames = {
  facebook: ['appSecret', 'verifyToken', 'pageAccessToken'],
  linkedin: ['clientSecret', 'accessToken'],
  generic: ['token'],
} as const satisfies Record<InboundKind, readonly string[]>;

/** A source as the API shows it: never its secrets, only which are set. */
export interface InboundSource {
  id: string;
  kind: InboundKind;
  name: string;
  /** The `source` captured leads get (`facebook_lead_ads`…). */
  source: string;
  /** A Leadline form the captured leads count as submissions of (its slug is the activity's `form`). */
  formId: string | null;
  /** External field name (Facebook field, LinkedIn predefined field or question, generic JSON path) -> target. */
  fieldMapping: Record<string, string>;
  settings: SourceSettings;
  /** Names of the secrets that are set. */
  secretsSet: string[];
  lastReceivedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A source with its secrets: inside the domain only. */
export interface SecretSource extends InboundSource {
  secrets: Record<string, string>;
}

/** One external lead a source delivered (the source's log). */
export interface InboundLead {
  id: string;
  sourceId: string;
  externalId: string;
  status: InboundStatus;
  leadId: string | null;
  eventId: string;
  /** The delivered item; null once captured. */
  payload: unknown;
  errors: FieldError[];
  warnings: FieldError[];
  fetchAttempts: number;
  receivedAt: number;
  capturedAt: number | null;
  updatedAt: number;
}

/** An answer a lead gave, from any platform. */
export type AnswerValue = string | number | boolean | string[];
export interface Answer {
  /** Names the answer can be mapped by, most specific first (predefined field, question name, id). */
  keys: string[];
  /** What the activity calls it. */
  label: string;
  value: AnswerValue;
}

/** A lead as a platform delivered it, before mapping. */
export interface ExternalLead {
  externalId: string;
  /** When the person submitted the form (epoch ms), if the platform says. */
  occurredAt: number | null;
  answers: Answer[];
  /** Platform facts for the activity (form, ad, campaign ids, test lead…); absent ones left out. */
  facts: Record<string, string | number | boolean>;
  /** The platform form's name, when known: the activity's `form` unless a Leadline form is linked. */
  formName?: string | undefined;
  /** Attribution the platform implies (utm_source facebook, medium paid_social…). */
  utm: Partial<Record<UtmKey, string>>;
  /** Consent checkboxes of the platform form, as answered. */
  consents?: Array<{ id: string; accepted: boolean; text?: string }> | undefined;
}

export const utmKeys = ['source', 'medium', 'campaign', 'term', 'content'] as const;
export type UtmKey = (typeof utmKeys)[number];

/** Activity ids are `^[A-Za-z0-9_.:-]{1,128}$`; external ids that are not get hashed. */
const SAFE_ID = /^[A-Za-z0-9_.:-]{1,80}$/;

/**
 * The id of a lead's `form_submitted` activity: `fb:{leadgen_id}`, `li:{response id}`, and for
 * generic sources `gen:{sourceId}:{id}` (their ids are only unique per sender). A retried
 * delivery makes the same id, so it cannot add a second activity.
 */
export function eventIdFor(kind: InboundKind, sourceId: string, externalId: string): string {
  if (kind === 'facebook') return `fb:${externalId}`;
  if (kind === 'linkedin') return `li:${externalId}`;
  return `gen:${sourceId}:${externalId}`;
}

/** An external id as stored: itself when safe in an activity id, else `h:` and its SHA-256 (given). */
export function safeExternalId(id: string, sha256Hex: (text: string) => string): string {
  return SAFE_ID.test(id) ? id : `h:${sha256Hex(id).slice(0, 40)}`;
}

/** The default `source` of captured leads, per kind. */
export const defaultSource: Record<InboundKind, string> = {
  facebook: 'facebook_lead_ads',
  linkedin: 'linkedin_lead_gen',
  generic: 'webhook',
};

/**
 * Parses a delivered body. Integers too large for a double (old Graph payloads sent ids as
 * numbers: `"leadgen_id": 55459717045641545`) are kept as their digits; NUL characters and
 * lone surrogates, which PostgreSQL cannot store, are dropped from strings and keys.
 */
export function parseInboundJson(
  text: string,
): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    const value: unknown = JSON.parse(
      text,
      function (this: unknown, _key, value: unknown, context?: unknown) {
        const source = (context as { source?: string } | undefined)?.source;
        if (typeof value === 'number' && !Number.isSafeInteger(value) && source && /^-?\d+$/.test(source))
          return source;
        if (typeof value === 'string') return storableText(value);
        if (value && typeof value === 'object' && !Array.isArray(value)) {
          const entries = Object.entries(value);
          if (entries.some(([k]) => storableText(k) !== k))
            return Object.fromEntries(entries.map(([k, v]) => [storableText(k), v]));
        }
        return value;
      },
    );
    return { ok: true, value };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : 'is not JSON' };
  }
}

/** A string value of an unknown field: strings as they are, numbers as their digits, else undefined. */
export function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** The largest time a JavaScript Date holds. */
const MAX_TIME = 8.64e15;

/**
 * Epoch ms of an ISO 8601 time, epoch seconds or epoch ms; undefined when it is none of these,
 * or before 1970 (activities take no earlier time: a lead "submitted" in 1960 is a sender's
 * bug, and the delivery time stands in for it).
 */
export function parseTime(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) {
    // Below 10^11 it cannot be ms after 1973: it is seconds (Facebook's created_time).
    const ms = Math.round(value < 1e11 ? value * 1000 : value);
    return ms <= MAX_TIME ? ms : undefined;
  }
  if (typeof value === 'string') {
    if (/^\d{1,16}$/.test(value)) return parseTime(Number(value));
    // Graph writes offsets without a colon (+0000), which Date.parse reads in V8 but not everywhere.
    const iso = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
    const ms = Date.parse(iso);
    return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
  }
  return undefined;
}

/**
 * How long a `Retry-After` asks to wait, in ms: delay seconds or an HTTP date (from `now`);
 * undefined when absent, unreadable or not in the future.
 */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const ms = /^\d{1,10}$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** Whether a value is a plain object (parsed JSON). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
