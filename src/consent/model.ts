import { createHash, timingSafeEqual } from 'node:crypto';
import type { TimelineEntry } from '../leads/model.ts';

/**
 * Consent: what a lead agreed to, in which wording, and the evidence of it. The ledger is
 * append-only: each decision (granted, pending confirmation, withdrawn) is a record, the
 * latest record of a purpose is its state, and the whole history stays (it is the proof).
 * Pure types and decisions; SQL in store.ts, use cases in service.ts.
 */

export const consentStatuses = ['granted', 'pending', 'withdrawn'] as const;
export type ConsentStatus = (typeof consentStatuses)[number];

/**
 * Purposes: `marketing`, `newsletter`, `product_updates` — the same rule as a form's consent
 * checkboxes (`_ll_consent_<purpose>`), so a purpose recorded by API can be asked by a form.
 */
export const PURPOSE_PATTERN = '^[a-z][a-z0-9_]{0,39}$';
const purposeRegex = new RegExp(PURPOSE_PATTERN);
export const isPurpose = (value: string): boolean => purposeRegex.test(value);

/** What a person agreed to: the purpose, the exact wording shown and its version, the notice. */
export interface ConsentGrant {
  purpose: string;
  text: string;
  version: string;
  privacyUrl?: string | null | undefined;
}

/** Where and how a decision was made. */
export interface ConsentEvidence {
  /** `form`, `api`, `import`, `webhook`…; `double_opt_in` is a confirmation link. */
  source: string;
  formId?: string | null | undefined;
  pageUrl?: string | null | undefined;
  ip?: string | null | undefined;
  userAgent?: string | null | undefined;
  /** When it was decided (epoch ms), if not now: evidence collected elsewhere and imported. */
  at?: number | undefined;
}

export interface ConsentRecord {
  id: string;
  leadId: string;
  purpose: string;
  status: ConsentStatus;
  version: string | null;
  text: string | null;
  privacyUrl: string | null;
  evidence: {
    source: string;
    formId: string | null;
    pageUrl: string | null;
    ip: string | null;
    userAgent: string | null;
    /** The double opt-in confirmation a pending record waits for, or a granted one came from. */
    confirmationId: string | null;
  };
  /** When the decision was made (epoch ms). */
  recordedAt: number;
  /** When Leadline wrote it (epoch ms). */
  createdAt: number;
}

/** A double opt-in link's confirmation waits this long, then the link is expired (410). (14 days) */
export const CONFIRMATION_TTL_MS = 14 * 86_400_000;
/**
 * Confirmation emails one lead may be sent per hour: a form that anyone can fill must not
 * become a way to flood someone's inbox with confirmation requests. Past it, the consent is
 * still recorded as pending, without another email. (3)
 */
export const MAX_CONFIRMATIONS_PER_HOUR = 3;
/** Most records one lead's history lists. (500) */
export const MAX_HISTORY = 500;

/** Orders records as they happened: by decision time, then id (ids are time-ordered). */
export function byRecordedAt(a: ConsentRecord, b: ConsentRecord): number {
  return a.recordedAt - b.recordedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The current state of each purpose: its latest record, purposes in name order. */
export function currentStates(records: readonly ConsentRecord[]): ConsentRecord[] {
  const latest = new Map<string, ConsentRecord>();
  for (const record of records) {
    const seen = latest.get(record.purpose);
    if (!seen || byRecordedAt(seen, record) < 0) latest.set(record.purpose, record);
  }
  return [...latest.values()].sort((a, b) => (a.purpose < b.purpose ? -1 : 1));
}

/** What to record for one grant. */
export interface PlannedGrant {
  grant: ConsentGrant;
  status: 'granted' | 'pending';
}

/**
 * The records a set of grants makes. The ledger records changes: a purpose already granted in
 * the same version records nothing (a person ticking the same box again). Without double
 * opt-in a grant is granted at once. With it a grant waits, pending, for the emailed link —
 * unless the purpose is granted already (in an older version): the address was confirmed for
 * it, and a pending record would take away the consent in force until the link is clicked.
 * A purpose listed twice counts once (the last).
 */
export function planGrants(
  current: ReadonlyMap<string, ConsentRecord>,
  grants: readonly ConsentGrant[],
  doubleOptIn: boolean,
): PlannedGrant[] {
  const byPurpose = new Map<string, ConsentGrant>();
  for (const grant of grants) byPurpose.set(grant.purpose, grant);
  const planned: PlannedGrant[] = [];
  for (const grant of byPurpose.values()) {
    const now = current.get(grant.purpose);
    if (now?.status === 'granted' && now.version === grant.version) continue;
    planned.push({ grant, status: doubleOptIn && now?.status !== 'granted' ? 'pending' : 'granted' });
  }
  return planned;
}

/**
 * The records a confirmation grants: the pending ones it was sent for whose purpose is still
 * pending on that record (a purpose withdrawn or decided again since keeps its later state).
 */
export function confirmable(records: readonly ConsentRecord[], confirmationId: string): ConsentRecord[] {
  return currentStates(records).filter(
    (r) => r.status === 'pending' && r.evidence.confirmationId === confirmationId,
  );
}

/** The lead's timeline entry for a record. */
export function timelineEntry(record: ConsentRecord, id: string): TimelineEntry {
  const type =
    record.status === 'granted'
      ? 'consent_granted'
      : record.status === 'pending'
        ? 'consent_requested'
        : 'consent_withdrawn';
  return {
    id,
    leadId: record.leadId,
    type,
    occurredAt: record.recordedAt,
    properties: {
      purpose: record.purpose,
      version: record.version,
      source: record.evidence.source,
      ...(record.evidence.formId ? { formId: record.evidence.formId } : {}),
      consentId: record.id,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Confirmation links

/**
 * `/c/{token}` is public and carries no workspace, yet every table is keyed workspace first:
 * the token holds the workspace id and the confirmation id (16 bytes each, from their UUIDs)
 * and a 24-byte random secret, whose SHA-256 is stored. 56 bytes, 75 base64url characters.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const TOKEN_SECRET_BYTES = 24;

const uuidBytes = (id: string) => Buffer.from(id.replaceAll('-', ''), 'hex');
function uuidText(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function encodeConfirmationToken(workspaceId: string, confirmationId: string, secret: Buffer): string {
  if (!UUID.test(workspaceId) || !UUID.test(confirmationId) || secret.length !== TOKEN_SECRET_BYTES)
    throw new Error('a confirmation token needs two UUIDs and a 24-byte secret');
  return Buffer.concat([uuidBytes(workspaceId), uuidBytes(confirmationId), secret]).toString('base64url');
}

export function decodeConfirmationToken(
  token: string,
): { workspaceId: string; confirmationId: string; secret: Buffer } | undefined {
  if (!/^[A-Za-z0-9_-]{75}$/.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64url');
  if (bytes.length !== 32 + TOKEN_SECRET_BYTES) return undefined;
  return {
    workspaceId: uuidText(bytes.subarray(0, 16)),
    confirmationId: uuidText(bytes.subarray(16, 32)),
    secret: bytes.subarray(32),
  };
}

export const hashSecret = (secret: Buffer): string => createHash('sha256').update(secret).digest('hex');

/** Constant-time check of a link's secret against the stored hash. */
export function secretMatches(secret: Buffer, storedHash: string): boolean {
  const given = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}
