/**
 * Outgoing mail: the message every sender (alerts, nurture sequences, lead magnets) hands to
 * the mail service, and the pure decisions about it. Sending happens from the `email.send`
 * job, through SMTP or into the dev mailbox (transport.ts).
 */

/** An email to send; `from` defaults to the configured sender (LEADLINE_MAIL_FROM). */
export interface MailMessage {
  to: string[];
  subject: string;
  text: string;
  html?: string | undefined;
  from?: string | undefined;
  replyTo?: string | undefined;
  /** Extra headers (List-Unsubscribe…); names must not be ones the transport sets itself. */
  headers?: Record<string, string> | undefined;
}

/** A message kept by the dev mailbox. */
export interface MailboxMessage {
  id: string;
  from: string;
  to: string[];
  replyTo: string | null;
  subject: string;
  text: string;
  html: string | null;
  headers: Record<string, string>;
  createdAt: number;
}

/** Most recipients one message may have: mail for many people is one message each. (50) */
export const MAX_RECIPIENTS = 50;
/** Largest text or HTML body. (1 MB) */
export const MAX_BODY_CHARS = 1_000_000;

/** Headers the transport writes itself: a caller setting them would forge or break the message. */
const reservedHeaders = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'subject',
  'reply-to',
  'message-id',
  'date',
  'sender',
  'content-type',
  'content-transfer-encoding',
  'mime-version',
]);

const address = /^[^\s@<>(),;:"[\]]+@[^\s@<>(),;:"[\]]+\.[^\s@<>(),;:"[\]]+$|^[^\s@<>(),;:"[\]]+@localhost$/i;

/** A bare address such as ada@example.com (no display name). */
export function isEmailAddress(value: string): boolean {
  return value.length <= 254 && address.test(value);
}

/** `address` or `Name <address>`, as LEADLINE_MAIL_FROM and `from` take it. */
export function isSender(value: string): boolean {
  const named = /^[^<>\r\n]*<([^<>]+)>$/.exec(value.trim());
  return isEmailAddress(named ? named[1]! : value.trim());
}

/** The address part of a sender: `Leadline <a@b.io>` -> `a@b.io`. */
export function senderAddress(sender: string): string {
  const named = /<([^<>]+)>\s*$/.exec(sender);
  return (named ? named[1]! : sender).trim();
}

/**
 * Why a message cannot be sent (undefined: it can). Used on what callers pass and on payloads
 * read back from the jobs table. Header values must be single lines: a newline would let a
 * value that came from a lead add headers of its own.
 */
export function messageProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'must be an object';
  const m = value as Record<string, unknown>;
  if (!Array.isArray(m.to) || m.to.length === 0) return 'to: must list at least one address';
  if (m.to.length > MAX_RECIPIENTS) return `to: at most ${MAX_RECIPIENTS} addresses`;
  for (const to of m.to)
    if (typeof to !== 'string' || !isEmailAddress(to)) return `to: ${String(to)} is not an email address`;
  if (typeof m.subject !== 'string' || m.subject.trim() === '') return 'subject: must be a non-empty string';
  if (/[\r\n]/.test(m.subject) || m.subject.length > 998)
    return 'subject: must be one line of at most 998 characters';
  if (typeof m.text !== 'string' || m.text.length > MAX_BODY_CHARS)
    return 'text: must be a string of at most 1 MB';
  if (m.html !== undefined && (typeof m.html !== 'string' || m.html.length > MAX_BODY_CHARS))
    return 'html: must be a string of at most 1 MB';
  if (m.from !== undefined && (typeof m.from !== 'string' || !isSender(m.from)))
    return 'from: must be an address or Name <address>';
  if (m.replyTo !== undefined && (typeof m.replyTo !== 'string' || !isEmailAddress(m.replyTo)))
    return 'replyTo: must be an email address';
  if (m.headers !== undefined) {
    if (typeof m.headers !== 'object' || m.headers === null || Array.isArray(m.headers))
      return 'headers: must be an object';
    for (const [name, headerValue] of Object.entries(m.headers)) {
      if (!/^[A-Za-z0-9-]{1,76}$/.test(name)) return `headers: ${name} is not a header name`;
      if (reservedHeaders.has(name.toLowerCase())) return `headers: ${name} is set by Leadline`;
      if (typeof headerValue !== 'string' || /[\r\n]/.test(headerValue) || headerValue.length > 998)
        return `headers: ${name} must be one line of at most 998 characters`;
    }
  }
  return undefined;
}

/**
 * The Message-ID of a send: derived from the job, so a send repeated after a crash carries the
 * same id and receiving systems can drop the duplicate.
 */
export function messageIdFor(jobId: string, sender: string): string {
  const domain = senderAddress(sender).split('@')[1] ?? 'leadline.invalid';
  return `<${jobId}@${domain}>`;
}

/** What the job does with a failed SMTP send. */
export type SmtpFailure = { kind: 'permanent'; reason: string } | { kind: 'transient'; reason: string };

/**
 * Classifies a nodemailer error: a 5xx reply (but 503, a session-state error) rejects the
 * message for good and retrying would get the same answer; 4xx replies, connection failures,
 * timeouts and authentication problems (an operator can fix the credentials) are worth
 * retrying.
 */
export function classifySmtpError(error: unknown): SmtpFailure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    message?: unknown;
    code?: unknown;
    responseCode?: unknown;
    response?: unknown;
    permanent?: unknown;
  };
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const response = typeof e.response === 'string' ? e.response : undefined;
  const message = typeof e.message === 'string' ? e.message : String(error);
  const reason = (response ?? message).slice(0, 500);
  if (e.code === 'EAUTH') return { kind: 'transient', reason };
  if (e.code === 'EENVELOPE' && code === undefined) return { kind: 'permanent', reason };
  const permanent =
    typeof e.permanent === 'boolean' ? e.permanent : code !== undefined && code >= 500 && code !== 503;
  return permanent ? { kind: 'permanent', reason } : { kind: 'transient', reason };
}
