import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Download links of lead-magnet files: `{publicUrl}/f/{slug}/magnet/{token}`, one per
 * submission. The token names the submission and when the link expires, and carries an HMAC of
 * both under the form's secret: minting one writes nothing (the submission's transaction, the
 * email job and the JSON answer each mint their own), and only Leadline can make one. Anyone
 * holding a link can download until it expires, as with a URL magnet's link: the file is what a
 * visitor gets for filling in the form, not a secret of the lead.
 *
 * Shape: `<submission id: its 16 UUID bytes, base64url>.<expiry, base 36>.<HMAC-SHA256(secret,
 * "lead-magnet.<formId>.<submissionId>.<expiry>"), base64url>`, about 75 characters. The prefix
 * keeps a render token's HMAC (spam-tokens.ts, same key) from ever passing for a link's.
 */

/** How long a link works after it was minted (the submission, or the thank-you answer). (30 days) */
export const MAGNET_LINK_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** Longest token accepted for checking; anything longer is malformed (no HMAC work spent on it). */
const MAX_TOKEN_CHARS = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TOKEN = /^([A-Za-z0-9_-]{22})\.([0-9a-z]{1,12})\.([A-Za-z0-9_-]{43})$/;

export type MagnetLinkCheck =
  | { ok: true; submissionId: string; expiresAt: number }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

function mac(secret: string, formId: string, submissionId: string, expiresAt: number): Buffer {
  return createHmac('sha256', secret).update(`lead-magnet.${formId}.${submissionId}.${expiresAt}`).digest();
}

function uuidToBytes(id: string): Buffer {
  if (!UUID.test(id)) throw new Error(`a lead-magnet link names a submission by its UUID, not ${id}`);
  return Buffer.from(id.replaceAll('-', ''), 'hex');
}

function bytesToUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The token of submission `submissionId` (a UUID) of form `formId`, minted at `now` (epoch ms). */
export function magnetToken(secret: string, formId: string, submissionId: string, now: number): string {
  const expiresAt = Math.floor(now) + MAGNET_LINK_TTL_MS;
  const id = uuidToBytes(submissionId).toString('base64url');
  return `${id}.${expiresAt.toString(36)}.${mac(secret, formId, submissionId, expiresAt).toString('base64url')}`;
}

/** Checks a link's token for form `formId` at `now` (epoch ms). */
export function verifyMagnetToken(
  secret: string,
  formId: string,
  token: string,
  now: number,
): MagnetLinkCheck {
  if (token.length > MAX_TOKEN_CHARS) return { ok: false, reason: 'malformed' };
  const match = TOKEN.exec(token);
  if (!match) return { ok: false, reason: 'malformed' };
  const idBytes = Buffer.from(match[1]!, 'base64url');
  const expiresAt = Number.parseInt(match[2]!, 36);
  // The canonical spelling only: base64url's last character has bits a decoder drops.
  if (idBytes.length !== 16 || idBytes.toString('base64url') !== match[1] || !Number.isSafeInteger(expiresAt))
    return { ok: false, reason: 'malformed' };
  const submissionId = bytesToUuid(idBytes);
  const given = Buffer.from(match[3]!, 'base64url');
  const expected = mac(secret, formId, submissionId, expiresAt);
  // Constant time: the comparison must not tell a forger how many leading bytes were right.
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'bad_signature' };
  if (now >= expiresAt) return { ok: false, reason: 'expired' };
  return { ok: true, submissionId, expiresAt };
}

/** The public address of a download: `{publicUrl}/f/{slug}/magnet/{token}`. */
export function magnetUrl(publicUrl: string, slug: string, token: string): string {
  return `${publicUrl}/f/${encodeURIComponent(slug)}/magnet/${token}`;
}

/** A fresh download link of submission `submissionId` of `form`, minted at `now` (epoch ms). */
export function magnetLink(
  publicUrl: string,
  form: { id: string; slug: string; secret: string },
  submissionId: string,
  now: number,
): string {
  return magnetUrl(publicUrl, form.slug, magnetToken(form.secret, form.id, submissionId, now));
}
