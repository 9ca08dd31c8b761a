import { createTransport } from 'nodemailer';
import type { Database } from '../db/database.ts';
import { insertMessage } from './mailbox-store.ts';
import { type MailMessage, messageIdFor } from './model.ts';

/** One message on its way out, as the `email.send` job hands it over. */
export interface OutgoingMail {
  workspaceId: string;
  /** The job's id: the Message-ID and the dev mailbox id derive from it, so a repeat is recognisable. */
  id: string;
  from: string;
  message: MailMessage;
}

/** Where mail goes: an SMTP server, or the dev mailbox when none is configured. */
export interface MailTransport {
  readonly name: 'smtp' | 'mailbox';
  /** Resolves once the server accepted the message (or the mailbox stored it); throws otherwise. */
  send(mail: OutgoingMail, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Connections kept open to the SMTP server per process. (5) */
const SMTP_CONNECTIONS = 5;
/** An idle pooled connection is closed after this long, so a stopping worker is not held up for long. (5 s) */
const SMTP_IDLE_MS = 5_000;

/**
 * nodemailer's pooled SMTP transport for an `smtp://` or `smtps://` URL (credentials in the URL,
 * percent-encoded). `smtps://` is TLS from the first byte (default port 465); `smtp://` upgrades
 * with STARTTLS when the server offers it (default port 587). One pool per process: the jobs
 * of every workspace share its connections.
 */
export function smtpTransport(smtpUrl: string): MailTransport {
  const url = new URL(smtpUrl);
  const secure = url.protocol === 'smtps:';
  const transporter = createTransport({
    pool: true,
    maxConnections: SMTP_CONNECTIONS,
    idleTimeout: SMTP_IDLE_MS,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    ...(url.username
      ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }
      : {}),
    // Fail a dead server fast: the job retries later, and a hung send would hold a worker slot.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    // Message content comes from templates and leads: never let it name files or URLs to inline.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return {
    name: 'smtp',
    async send({ id, from, message }, signal) {
      await transporter.sendMail({
        from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html !== undefined ? { html: message.html } : {}),
        ...(message.replyTo !== undefined ? { replyTo: message.replyTo } : {}),
        ...(message.headers !== undefined ? { headers: message.headers } : {}),
        messageId: messageIdFor(id, from),
        signal,
      });
    },
    async close() {
      transporter.close();
    },
  };
}

/**
 * The dev mailbox: without SMTP, messages are kept in the database and read through
 * `GET /api/v1/mailbox`, so alerts and sequences can be seen working before any mail setup.
 */
export function mailboxTransport(database: Database, clock: () => number): MailTransport {
  return {
    name: 'mailbox',
    async send({ workspaceId, id, from, message }) {
      await database.writes.run((trx) =>
        insertMessage(trx, workspaceId, {
          id,
          from,
          to: message.to,
          replyTo: message.replyTo ?? null,
          subject: message.subject,
          text: message.text,
          html: message.html ?? null,
          headers: message.headers ?? {},
          createdAt: clock(),
        }),
      );
    },
    async close() {},
  };
}
