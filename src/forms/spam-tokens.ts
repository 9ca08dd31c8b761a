import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Render tokens: a form page or definition carries one in `_ll_ts`; the submission hands it
 * back. It says when the form was rendered (so a submission can be judged "too fast" to be
 * a person) and, by its HMAC, that Leadline made it for this form: a bot cannot forge an old
 * render time without the form's secret. Nothing is stored per render; a written submission
 * keeps the hash of its token, so a token is good for one submission (a reuse is quarantined).
 *
 * Shape: `<render time, base 36>.<nonce>.<HMAC-SHA256(secret, "<formId>.<render time>.<nonce>"), base64url>`.
 * The nonce (9 random bytes, base64url) makes two pages rendered in the same millisecond two
 * tokens: without it they would be one, and the second visitor's submission a "reuse".
 */

/** A token older than this is refused: a page left open a whole day is re-rendered. (24 h) */
export const RENDER_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * How far a token's time may lie ahead of the clock that checks it: API processes' clocks
 * differ by a little; more is a forgery attempt. (60 s)
 */
export const RENDER_TOKEN_FUTURE_MS = 60_000;

/** Longest token accepted for checking; anything longer is malformed (no HMAC work spent on it). */
const MAX_TOKEN_CHARS = 80;

export type RenderTokenProblem = 'malformed' | 'bad_signature' | 'expired' | 'future';

export type RenderTokenCheck = { ok: true; renderedAt: number } | { ok: false; reason: RenderTokenProblem };

function mac(secret: string, formId: string, renderedAt: number, nonce: string): Buffer {
  return createHmac('sha256', secret).update(`${formId}.${renderedAt}.${nonce}`).digest();
}

/** A token for a form rendered at `now` (epoch ms). */
export function renderToken(secret: string, formId: string, now: number): string {
  const at = Math.floor(now);
  const nonce = randomBytes(9).toString('base64url');
  return `${at.toString(36)}.${nonce}.${mac(secret, formId, at, nonce).toString('base64url')}`;
}

/** Checks a token handed back with a submission to form `formId` at `now` (epoch ms). */
export function verifyRenderToken(
  secret: string,
  formId: string,
  token: string,
  now: number,
): RenderTokenCheck {
  if (token.length > MAX_TOKEN_CHARS) return { ok: false, reason: 'malformed' };
  const match = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return { ok: false, reason: 'malformed' };
  const renderedAt = Number.parseInt(match[1]!, 36);
  if (!Number.isSafeInteger(renderedAt)) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(match[3]!, 'base64url');
  const expected = mac(secret, formId, renderedAt, match[2]!);
  // Constant time: the comparison must not tell a forger how many leading bytes were right.
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'bad_signature' };
  if (renderedAt > now + RENDER_TOKEN_FUTURE_MS) return { ok: false, reason: 'future' };
  if (now - renderedAt > RENDER_TOKEN_TTL_MS) return { ok: false, reason: 'expired' };
  return { ok: true, renderedAt };
}

/** What a submission keeps of its token: SHA-256, base64url (the token itself is a credential). */
export function renderTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
