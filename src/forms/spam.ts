import { isDisposableEmail } from '../leads/normalise.ts';
import { defaultSpamSettings, type SpamSettings } from './model.ts';
import type { RenderTokenCheck } from './spam-tokens.ts';

/**
 * Spam defence without third parties: the pure verdict on one submission. Nothing here
 * refuses a submission outright: a suspect one is quarantined (kept, reviewable, releasable),
 * and its sender gets the same answer as everyone else, so a bot learns nothing from it.
 * Rate limits (rate-limits.ts) are the one refusal, and they say so (429).
 */

/** The settings the checks run with: a form's `spam` (absent fields take `defaultSpamSettings`). */
export function resolveSpamSettings(input: Partial<SpamSettings> | null | undefined): SpamSettings {
  const out = { ...defaultSpamSettings };
  if (!input) return out;
  for (const key of Object.keys(defaultSpamSettings) as Array<keyof SpamSettings>) {
    const value = input[key];
    if (value !== undefined && value !== null) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

export const quarantineReasons = [
  /** The honeypot field was filled in. */
  'honeypot',
  /** Submitted sooner after rendering than `minFillSeconds`. */
  'too_fast',
  /** No render token came back (a form posted by a script that never loaded it). */
  'token_missing',
  /** The render token was forged, malformed, for another form, or older than 24 h. */
  'token_invalid',
  /** The render token was used by a written submission already (a replayed page or script). */
  'token_reused',
  /** The email is at a disposable-mail domain and the form rejects those. */
  'disposable_email',
] as const;
export type QuarantineReason = (typeof quarantineReasons)[number];

export type SpamVerdict = { verdict: 'accept' } | { verdict: 'quarantine'; reasons: QuarantineReason[] };

export interface SubmissionSignals {
  /** The form's `spam` settings (absent ones: the defaults). */
  settings: Partial<SpamSettings> | null | undefined;
  /** What came in the honeypot field `_ll_hp` (absent: nothing). */
  honeypotValue: string | readonly string[] | null | undefined;
  /** `verifyRenderToken` of the `_ll_ts` that came back; undefined: none came. */
  token: RenderTokenCheck | undefined;
  /** Whether a written submission of the form used the same (valid) token already. */
  tokenReused?: boolean | undefined;
  /** The submitted email, if any. */
  email: string | null | undefined;
  /** Whether `email` is disposable; computed from `email` when not given. */
  emailDisposable?: boolean | undefined;
  /** Epoch ms of the submission. */
  now: number;
}

function filled(value: SubmissionSignals['honeypotValue']): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === 'string') return value.trim() !== '';
  return value.some((v) => v.trim() !== '');
}

/** Accept, or quarantine with every reason that applies (in the order of `quarantineReasons`). */
export function assessSubmission(signals: SubmissionSignals): SpamVerdict {
  const settings = resolveSpamSettings(signals.settings);
  const reasons: QuarantineReason[] = [];
  if (settings.honeypot && filled(signals.honeypotValue)) reasons.push('honeypot');
  if (settings.minFillSeconds > 0) {
    const token = signals.token;
    if (token === undefined) reasons.push('token_missing');
    else if (!token.ok) reasons.push('token_invalid');
    else {
      if (signals.now - token.renderedAt < settings.minFillSeconds * 1000) reasons.push('too_fast');
      if (signals.tokenReused) reasons.push('token_reused');
    }
  }
  if (settings.rejectDisposable && signals.email) {
    const disposable = signals.emailDisposable ?? isDisposableEmail(signals.email);
    if (disposable) reasons.push('disposable_email');
  }
  return reasons.length === 0 ? { verdict: 'accept' } : { verdict: 'quarantine', reasons };
}
