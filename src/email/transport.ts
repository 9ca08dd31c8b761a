import type { Transporter } from 'nodemailer';
import type { Database } from '../db/database.ts';
import { ConnectionSlots } from './connection-slots.ts';
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
  /**
   * Resolves once the server accepted the message (or the mailbox stored it); throws otherwise.
   * `signal` ends only the wait for a free connection (nothing was sent then): nodemailer
   * cannot call a send back, so once the message is handed over it runs to its end, bounded by
   * the SMTP timeouts below.
   */
  send(mail: OutgoingMail, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connections kept open to the SMTP server per process, and the most sends in flight: a send
 * first waits here for a free connection, so none ever queues inside nodemailer's pool, where
 * no timeout of ours applies. (5)
 */
const SMTP_CONNECTIONS = 5;
/** An idle pooled connection is closed after this long, so a stopping worker is not held up for long. (5 s) */
const SMTP_IDLE_MS = 5_000;
/** Connecting to the server. (10 s) */
const SMTP_CONNECTION_TIMEOUT_MS = 10_000;
/** The server's greeting after connecting. (10 s) */
const SMTP_GREETING_TIMEOUT_MS = 10_000;
/** Silence on an open connection, waiting for any answer. (20 s) */
const SMTP_SOCKET_TIMEOUT_MS = 20_000;
/** How long a send waits for a free connection before it gives up, unsent (the job retries). (20 s) */
export const SMTP_WAIT_MS = 20_000;
/**
 * A send's worst case against a server that stalls: the wait for a connection, connecting,
 * the greeting and one silent answer. The `email.send` job's timeout is set above it, so a
 * run is not declared failed (and retried) while its message may still be going out. A server
 * that answers every command just inside the socket timeout can still outlast it: rare, and
 * the retry then carries the same Message-ID. (60 s)
 */
export const SMTP_SEND_BOUND_MS =
  SMTP_WAIT_MS + SMTP_CONNECTION_TIMEOUT_MS + SMTP_GREETING_TIMEOUT_MS + SMTP_SOCKET_TIMEOUT_MS;

/**
 * nodemailer's pooled SMTP transport for an `smtp://` or `smtps://` URL (credentials in the URL,
 * percent-encoded). `smtps://` is TLS from the first byte (default port 465); `smtp://` upgrades
 * with STARTTLS when the server offers it (default port 587). One pool per process: the jobs
 * of every workspace share its connections. nodemailer is loaded on the first send: a process
 * that never sends (an API process, the dev mailbox) does not carry it (about 6 MB).
 */
export function smtpTransport(smtpUrl: string): MailTransport {
  const url = new URL(smtpUrl);
  const secure = url.protocol === 'smtps:';
  let transporter: Promise<Transporter> | undefined;
  const pool = () =>
    (transporter ??= import('nodemailer').then(({ createTransport }) =>
      createTransport({
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
        connectionTimeout: SMTP_CONNECTION_TIMEOUT_MS,
        greetingTimeout: SMTP_GREETING_TIMEOUT_MS,
        socketTimeout: SMTP_SOCKET_TIMEOUT_MS,
        // A connection lost mid-send fails the send instead of starting over on a new connection
        // (up to 5 times by default): the job's own retry does that, with backoff, in its bound.
        maxRequeues: 0,
        // Message content comes from templates and leads: never let it name files or URLs to inline.
        disableFileAccess: true,
        disableUrlAccess: true,
      }),
    ));
  const slots = new ConnectionSlots(SMTP_CONNECTIONS);
  return {
    name: 'smtp',
    async send({ id, from, message }, signal) {
      let release: () => void;
      try {
        release = await slots.acquire(SMTP_WAIT_MS, signal);
      } catch (error) {
        throw new Error(`not sent: waiting for an SMTP connection failed (${(error as Error).message})`);
      }
      try {
        await (await pool()).sendMail({
          from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          ...(message.html !== undefined ? { html: message.html } : {}),
          ...(message.replyTo !== undefined ? { replyTo: message.replyTo } : {}),
          ...(message.headers !== undefined ? { headers: message.headers } : {}),
          messageId: messageIdFor(id, from),
        });
      } finally {
        release();
      }
    },
    async close() {
      (await transporter)?.close();
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
