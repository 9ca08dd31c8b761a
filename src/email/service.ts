import type { Kysely } from 'kysely';
import type pino from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { pruneInChunks } from '../db/prune.ts';
import type { DB } from '../db/schema.ts';
import { DomainError, validationError } from '../errors.ts';
import { PermanentJobFailure } from '../jobs/model.ts';
import type { JobService } from '../jobs/service.ts';
import * as mailbox from './mailbox-store.ts';
import { classifySmtpError, type MailboxMessage, type MailMessage, messageProblem } from './model.ts';
import { type MailTransport, mailboxTransport, SMTP_SEND_BOUND_MS, smtpTransport } from './transport.ts';

export interface MailServiceDeps {
  database: Database;
  jobs: JobService;
  config: Pick<Config, 'smtpUrl' | 'mailFrom'>;
  clock: () => number;
  logger: pino.Logger;
}

/** What a sender asks for: a message, and optionally an idempotency key (one send per key). */
export interface MailRequest extends MailMessage {
  key?: string | undefined;
}

export type MailService = ReturnType<typeof createMailService>;

export const EMAIL_SEND = 'email.send';

/**
 * Attempts of one send: 2 s, 4 s … doubling to 1 h between them (the jobs' default backoff),
 * so a mail server that is down for about four hours loses nothing. (15)
 */
const SEND_ATTEMPTS = 15;
/**
 * An `email.send` run's timeout: above the worst case of one SMTP send (SMTP_SEND_BOUND_MS,
 * 60 s) plus the job's own writes, so a send still under way is never counted failed and sent
 * again by the retry. (70 s; jobs allow at most 90 s)
 */
const SEND_TIMEOUT_MS = SMTP_SEND_BOUND_MS + 10_000;
/** Messages stay in the dev mailbox this long, then are pruned: it is for seeing mail work, not an archive. (7 days) */
export const MAILBOX_RETENTION_MS = 7 * 86_400_000;
/** Rows deleted per pruning transaction. (1,000) */
const PRUNE_CHUNK = 1_000;

/**
 * Mail for every domain: `sendIn` queues an `email.send` job in the caller's transaction (a
 * request never waits on SMTP), and the job sends through the process's one SMTP pool, or keeps
 * the message in the dev mailbox when LEADLINE_SMTP_URL is unset.
 */
export function createMailService({ database, jobs, config, clock, logger }: MailServiceDeps) {
  const transport: MailTransport = config.smtpUrl
    ? smtpTransport(config.smtpUrl)
    : mailboxTransport(database, clock);

  jobs.define<MailMessage>({
    kind: EMAIL_SEND,
    maxAttempts: SEND_ATTEMPTS,
    timeoutMs: SEND_TIMEOUT_MS,
    check: messageProblem,
    async run(job) {
      const from = job.payload.from ?? config.mailFrom;
      try {
        await transport.send(
          { workspaceId: job.workspaceId, id: job.id, from, message: job.payload },
          job.signal,
        );
      } catch (error) {
        if (transport.name === 'mailbox') throw error;
        const failure = classifySmtpError(error);
        logger.debug({ job: job.id, failure }, 'smtp send failed');
        if (failure.kind === 'permanent')
          throw new PermanentJobFailure(`SMTP rejected the message: ${failure.reason}`);
        throw new Error(`SMTP send failed: ${failure.reason}`);
      }
    },
  });

  return {
    /** `smtp` when LEADLINE_SMTP_URL is set, else `mailbox`. */
    transport: transport.name,

    /**
     * Queues a message in the caller's transaction: it is sent after the commit, by a worker.
     * A `key` the workspace already queued adds nothing (one alert, one email). Invalid
     * messages throw VALIDATION_FAILED naming the field.
     */
    async sendIn(trx: Kysely<DB>, workspaceId: string, request: MailRequest): Promise<void> {
      const { key, ...message } = request;
      const problem = messageProblem(message);
      if (problem) {
        const [, field = '', text = problem] = /^(\w+): (.*)$/.exec(problem) ?? [];
        throw validationError([{ path: `/${field}`, message: text }], 'The message cannot be sent.');
      }
      await jobs.enqueueIn(trx, workspaceId, {
        kind: EMAIL_SEND,
        payload: message,
        ...(key !== undefined ? { key: `mail:${key}` } : {}),
      });
    },

    mailbox: {
      list: (workspaceId: string, limit: number, before?: { value: number; id: string }) =>
        mailbox.listMessages(database.db, workspaceId, limit, before),

      async get(workspaceId: string, id: string): Promise<MailboxMessage> {
        const message = await mailbox.findMessage(database.db, workspaceId, id);
        if (!message) throw new DomainError('NOT_FOUND', `No message ${id} in the mailbox.`);
        return message;
      },

      clear: (workspaceId: string) => database.writes.run((trx) => mailbox.clearMessages(trx, workspaceId)),
    },

    /** Deletes dev mailbox messages older than MAILBOX_RETENTION_MS, in chunks; returns how many. */
    async prune(workspaceIds: readonly string[]): Promise<number> {
      const before = clock() - MAILBOX_RETENTION_MS;
      return pruneInChunks(database, workspaceIds, PRUNE_CHUNK, (trx, workspaceId, limit) =>
        mailbox.pruneMessages(trx, workspaceId, before, limit),
      );
    },

    /** Closes the SMTP pool (its idle connections would keep the process alive). */
    close: () => transport.close(),
  };
}
