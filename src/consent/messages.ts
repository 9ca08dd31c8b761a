import { escapeHtml, oneLine } from '../html-text.ts';
import type { ConsentGrant } from './model.ts';

/**
 * What double opt-in says: the confirmation email and the page the link opens. Pure; every
 * value that came from a form or a lead is escaped in HTML.
 */

export interface ConfirmationEmailInput {
  /** Who asks: the workspace's name (the company the person gave consent to). */
  sender: string;
  /** The person's first name, if known. */
  firstName: string | null;
  grants: readonly ConsentGrant[];
  /** `${LEADLINE_PUBLIC_URL}/c/{token}` */
  link: string;
  expiresAt: number;
}

/** The confirmation email: what was asked for, in the words shown, and the one link that confirms it. */
export function confirmationEmail(input: ConfirmationEmailInput): {
  subject: string;
  text: string;
  html: string;
} {
  const sender = oneLine(input.sender) || 'us';
  const hello = input.firstName ? `Hello ${oneLine(input.firstName)},` : 'Hello,';
  const until = new Date(input.expiresAt).toISOString().slice(0, 10);
  const notices = [...new Set(input.grants.flatMap((g) => (g.privacyUrl ? [g.privacyUrl] : [])))];
  const subject = `Please confirm your email address for ${sender}`;
  const text = [
    hello,
    '',
    `You (or someone using this address) asked ${sender} for:`,
    ...input.grants.map((g) => `- ${oneLine(g.text)}`),
    '',
    'Confirm with this link:',
    input.link,
    '',
    `The link works until ${until}. If this was not you, ignore this email: nothing happens without your confirmation.`,
    ...(notices.length > 0 ? ['', `Privacy notice: ${notices.join(' ')}`] : []),
  ].join('\n');
  const html =
    `<p>${escapeHtml(hello)}</p>` +
    `<p>You (or someone using this address) asked ${escapeHtml(sender)} for:</p>` +
    `<ul>${input.grants.map((g) => `<li>${escapeHtml(oneLine(g.text))}</li>`).join('')}</ul>` +
    `<p><a href="${escapeHtml(input.link)}">Yes, confirm</a></p>` +
    `<p>The link works until ${until}. If this was not you, ignore this email: nothing happens without your confirmation.</p>` +
    notices.map((url) => `<p><a href="${escapeHtml(url)}">Privacy notice</a></p>`).join('');
  return { subject, text, html };
}

export type ConfirmPageKind = 'confirmed' | 'already_confirmed' | 'superseded' | 'expired' | 'invalid';

const pageTexts: Record<ConfirmPageKind, { title: string; body: string }> = {
  confirmed: { title: 'Thank you — you are confirmed', body: 'Your confirmation has been recorded.' },
  already_confirmed: {
    title: 'Already confirmed',
    body: 'This link was used before: your confirmation stands.',
  },
  superseded: {
    title: 'Nothing left to confirm',
    body: 'Your choices were changed after this email was sent, so they stay as you last set them.',
  },
  expired: {
    title: 'This link has expired',
    body: 'Confirmation links work for 14 days. Fill in the form again to get a new one.',
  },
  invalid: {
    title: 'This link is not valid',
    body: 'It may have been cut short by your email program: try copying the whole link.',
  },
};

/** The small, self-contained page `/c/{token}` answers with (no scripts, no outside resources). */
export function confirmPage(
  kind: ConfirmPageKind,
  details: { sender?: string | undefined; purposes?: string[] } = {},
): string {
  const { title, body } = pageTexts[kind];
  const sender = details.sender ? oneLine(details.sender) : undefined;
  const what =
    kind === 'confirmed' && details.purposes && details.purposes.length > 0
      ? `<ul>${details.purposes.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>`
      : '';
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<meta name="robots" content="noindex">' +
    `<title>${escapeHtml(title)}</title>` +
    '<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}' +
    'h1{font-size:1.5rem}</style></head><body><main>' +
    `<h1>${escapeHtml(title)}</h1>` +
    `<p>${escapeHtml(body)}</p>${what}` +
    (sender ? `<p>${escapeHtml(sender)}</p>` : '') +
    '</main></body></html>'
  );
}
