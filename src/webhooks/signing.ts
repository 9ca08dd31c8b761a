import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
 * `{webhook-id}.{webhook-timestamp}.{body}` with a `whsec_`-prefixed base64 secret, sent as
 * `webhook-signature: v1,<base64>`. Signing goes through the `standardwebhooks` package, the
 * reference implementation receivers verify with, so both sides agree byte for byte.
 */

/** A new signing secret: 32 random bytes, base64, `whsec_` prefix (the spec's 24–64 bytes). */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * The three Standard Webhooks headers for one attempt. `secrets` are the current secret and,
 * during a rotation's grace period, the previous one: each signs, and the signatures are sent
 * space-separated, so a receiver still holding the old secret keeps verifying.
 */
export function signatureHeaders(
  secrets: readonly string[],
  messageId: string,
  at: number,
  body: string,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const timestamp = new Date(Math.floor(at / 1000) * 1000);
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestamp.getTime() / 1000),
    'webhook-signature': secrets
      .map((secret) => new Webhook(secret).sign(messageId, timestamp, body))
      .join(' '),
  };
}
