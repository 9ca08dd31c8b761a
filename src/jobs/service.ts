import type { Kysely } from 'kysely';
import type pino from 'pino';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import { retryReleasingConnection } from '../db/lock-wait.ts';
import { notify } from '../db/notify.ts';
import type { DB } from '../db/schema.ts';
import { DomainError } from '../errors.ts';
import {
  afterFailure,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_TIMEOUT_MS,
  errorText,
  exponentialBackoff,
  type Job,
  type JobKind,
  type JobRequest,
  type JobState,
  PermanentJobFailure,
} from './model.ts';
import * as store from './store.ts';

export interface JobServiceDeps {
  database: Database;
  clock: () => number;
  logger: pino.Logger;
}

export type JobService = ReturnType<typeof createJobService>;

/**
 * How long a claimed job is held before another worker may take it: longer than any run may
 * last (LONGEST_RUN_MS), so only a dead worker's jobs are taken again. (2 min)
 */
export const LEASE_MS = 120_000;
/** The longest `timeoutMs` a kind may set. (90 s) */
const LONGEST_RUN_MS = 90_000;
/** NOTIFY channel workers listen on (PostgreSQL). */
const CHANNEL = 'leadline_jobs';
/** Finished jobs are kept this long for `jobs list`, then pruned. (24 h) */
export const DONE_RETENTION_MS = 24 * 3_600_000;
/** Dead letters are kept this long for `jobs list --state dead` and a retry, then pruned. (30 days) */
export const DEAD_RETENTION_MS = 30 * 86_400_000;

/** `noop` does nothing: for checking that workers run, and for the `jobs` benchmark. */
export const noopKind: JobKind<unknown> = { kind: 'noop', run: async () => {} };

/**
 * Durable jobs: enqueued in the caller's transaction (so a job exists exactly when the write
 * that caused it committed), claimed and run by workers (worker.ts), retried with backoff,
 * dead after their last attempt and retryable from the API or CLI.
 */
export function createJobService({ database, clock, logger }: JobServiceDeps) {
  const { db } = database;
  const kinds = new Map<string, JobKind<unknown>>([[noopKind.kind, noopKind]]);
  const wakeListeners = new Set<() => void>();
  let enqueuedSinceCommit = false;
  const channel = database.channel(CHANNEL);

  // A group that enqueued jobs wakes this process's workers once it is durable, and on
  // PostgreSQL the workers of every other process: one NOTIFY per group, after the commit (a
  // crash in between only leaves the jobs to the other workers' next poll).
  database.writes.onCommitted(() => {
    if (!enqueuedSinceCommit) return;
    enqueuedSinceCommit = false;
    for (const wake of wakeListeners) wake();
    if (database.engine === 'postgres')
      notify(db, channel).catch((err: unknown) => logger.warn({ err }, 'job notify failed'));
  });

  /**
   * Completions wait here and are written together, one statement for all that finished
   * while the previous statement ran: at a thousand jobs a second, one UPDATE per job would
   * cost more than the jobs. Outside group commit on purpose: a completion lost in a crash
   * only means the job runs again when its lease ends, which every handler must allow.
   */
  const doneQueue: Array<{ worker: string; job: Job; settle: (error?: unknown) => void }> = [];
  let flushing = false;
  function completeSoon(worker: string, job: Job): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      doneQueue.push({ worker, job, settle: (error) => (error ? reject(error) : resolve()) });
      if (!flushing) {
        flushing = true;
        void flushDone();
      }
    });
  }
  async function flushDone(): Promise<void> {
    try {
      while (doneQueue.length > 0) {
        const batch = doneQueue.splice(0, 500);
        const byWorker = new Map<string, typeof batch>();
        for (const item of batch) {
          const list = byWorker.get(item.worker);
          if (list) list.push(item);
          else byWorker.set(item.worker, [item]);
        }
        for (const [worker, items] of byWorker) {
          try {
            await store.completeJobs(
              db,
              worker,
              items.map((i) => i.job),
              clock(),
            );
            for (const item of items) item.settle();
          } catch (error) {
            for (const item of items) item.settle(error);
          }
        }
      }
    } finally {
      flushing = false;
    }
  }

  /**
   * Claims up to `limit` due jobs for `worker`. On SQLite a commit is acknowledged only once
   * WalSync has flushed it; a poll can see a committed job before that, so the claim waits for
   * the flush: no email or webhook leaves about a write that a power cut could still undo.
   */
  async function claim(worker: string, limit: number): Promise<Job[]> {
    const now = clock();
    // On SQLite another process may hold the write lock (an import): the claim waits for it
    // between tries, leaving the connection to this process's reads (lock-wait.ts).
    const claimed = await retryReleasingConnection(() =>
      store.claimDue(db, database.engine, worker, limit, now, now + LEASE_MS),
    );
    if (claimed.length > 0) await database.writes.flushed();
    return claimed;
  }

  function kindOf(name: string): JobKind<unknown> | undefined {
    return kinds.get(name);
  }

  async function enqueueIn(
    trx: Kysely<DB>,
    workspaceId: string,
    requests: JobRequest | readonly JobRequest[],
  ): Promise<string[]> {
    const list = Array.isArray(requests) ? (requests as readonly JobRequest[]) : [requests as JobRequest];
    if (list.length === 0) return [];
    const now = clock();
    const ids = await store.insertJobs(
      trx,
      list.map((r) => ({
        workspaceId,
        id: newId(),
        kind: r.kind,
        payload: r.payload,
        key: r.key ?? null,
        runAt: r.runAt ?? now,
        maxAttempts: r.maxAttempts ?? kinds.get(r.kind)?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      })),
      now,
    );
    if (ids.length > 0) enqueuedSinceCommit = true;
    return ids;
  }

  /**
   * Runs one claimed job: the handler under a timeout, then done, retry or dead. Never
   * throws: a failure is the job's, not the worker's.
   */
  async function runClaimed(worker: string, job: Job, shutdown?: AbortSignal): Promise<'done' | 'failed'> {
    const kind = kinds.get(job.kind);
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new Error('timed out')),
      Math.min(kind?.timeoutMs ?? DEFAULT_TIMEOUT_MS, LONGEST_RUN_MS),
    );
    const signal = shutdown ? AbortSignal.any([timeout.signal, shutdown]) : timeout.signal;
    try {
      if (!kind) throw new Error(`no handler for job kind "${job.kind}" in this process`);
      if (job.attempts > job.maxAttempts)
        throw new Error('its worker stopped during the last attempt (lease expired)');
      const problem = kind.check?.(job.payload);
      // A payload that is wrong now stays wrong: no retry can help.
      if (problem) throw new PermanentJobFailure(`invalid payload: ${problem}`);
      const run = kind.run({
        workspaceId: job.workspaceId,
        id: job.id,
        kind: job.kind,
        payload: job.payload,
        key: job.key,
        attempt: job.attempts,
        maxAttempts: job.maxAttempts,
        signal,
      });
      // A handler that ignores its signal still stops counting at the timeout.
      await Promise.race([
        run,
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        ),
      ]);
      clearTimeout(timer);
    } catch (error) {
      clearTimeout(timer);
      const now = clock();
      const outcome =
        job.attempts > job.maxAttempts
          ? ({ state: 'dead' } as const)
          : afterFailure(error, job.attempts, job.maxAttempts, now, kind?.retryDelayMs ?? exponentialBackoff);
      const message = errorText(error);
      logger.warn(
        { job: job.id, kind: job.kind, attempt: job.attempts, err: message, outcome },
        'job failed',
      );
      try {
        await database.writes.run((trx) => store.failJob(trx, worker, job, outcome, message, now));
      } catch (err) {
        // The lease runs out and another worker takes the job again: nothing is lost.
        logger.error({ err, job: job.id }, 'recording a job failure failed');
      }
      return 'failed';
    }
    // Outside the try: the run succeeded, whatever becomes of its bookkeeping. A completion that
    // cannot be written leaves the job to run again when its lease ends (handlers allow that).
    try {
      await completeSoon(worker, job);
    } catch (err) {
      logger.error({ err, job: job.id }, 'recording a job completion failed');
    }
    logger.debug({ job: job.id, kind: job.kind, worker, attempt: job.attempts }, 'job done');
    return 'done';
  }

  return {
    /** Registers how a kind of job runs. Each process that runs workers defines every kind. */
    define<P>(kind: JobKind<P>): void {
      if (kinds.has(kind.kind) && kinds.get(kind.kind) !== kind)
        throw new Error(`job kind "${kind.kind}" is defined twice`);
      kinds.set(kind.kind, kind as JobKind<unknown>);
    },

    kindOf,

    /**
     * Adds jobs in the caller's transaction: they exist exactly when its write commits. A
     * request whose `key` the workspace already has adds nothing. Returns the new jobs' ids.
     */
    enqueueIn,

    /** Adds jobs in a transaction of their own; resolves once durable. */
    enqueue: (workspaceId: string, requests: JobRequest | readonly JobRequest[]) =>
      database.writes.run((trx) => enqueueIn(trx, workspaceId, requests)),

    claim,

    runClaimed,

    /**
     * Runs every job due now, one at a time, until none is left (jobs those jobs enqueue
     * included): for tests and one-shot commands. Returns how many runs it made.
     */
    async runDue(worker = 'inline'): Promise<number> {
      let runs = 0;
      for (;;) {
        // One at a time: each run gets a whole lease, however long the ones before it took.
        const claimed = await claim(worker, 1);
        if (claimed.length === 0) return runs;
        for (const job of claimed) {
          await runClaimed(worker, job);
          runs++;
        }
      }
    },

    /** When the earliest queued job is due (or a running one's lease ends); undefined: none. */
    nextDueAt: () => store.nextDueAt(db),

    /** Calls `wake` when this process committed new jobs; returns the unsubscribe. */
    onEnqueued(wake: () => void): () => void {
      wakeListeners.add(wake);
      return () => wakeListeners.delete(wake);
    },

    /** Calls `wake` when any process committed new jobs (PostgreSQL NOTIFY); resolves to the stop. */
    listen: (wake: () => void) => database.listen(channel, wake),

    async get(workspaceId: string, id: string): Promise<Job> {
      const job = await store.findJob(db, workspaceId, id);
      if (!job) throw new DomainError('NOT_FOUND', `Job ${id} was not found.`);
      return job;
    },

    list: (workspaceId: string, filter: store.JobFilter) => store.listJobs(db, workspaceId, filter),

    counts: (workspaceId: string): Promise<Record<JobState, number>> => store.countByState(db, workspaceId),

    /** Queues a dead (or done) job again with fresh attempts, due now. */
    async retry(workspaceId: string, id: string): Promise<Job> {
      const requeued = await database.writes.run(async (trx) => {
        const ok = await store.requeueJob(trx, workspaceId, id, clock());
        if (ok) enqueuedSinceCommit = true;
        return ok;
      });
      if (!requeued) {
        const job = await store.findJob(db, workspaceId, id);
        if (!job) throw new DomainError('NOT_FOUND', `Job ${id} was not found.`);
        throw new DomainError(
          'CONFLICT',
          `Job ${id} is ${job.state}; only dead or done jobs can be retried.`,
        );
      }
      return (await store.findJob(db, workspaceId, id))!;
    },

    /**
     * Deletes done jobs finished more than DONE_RETENTION_MS ago and dead ones older than
     * DEAD_RETENTION_MS, in chunks; returns how many.
     */
    async prune(workspaceIds: readonly string[]): Promise<number> {
      let deleted = 0;
      const now = clock();
      for (const workspaceId of workspaceIds) {
        for (const [state, before] of [
          ['done', now - DONE_RETENTION_MS],
          ['dead', now - DEAD_RETENTION_MS],
        ] as const) {
          for (;;) {
            const n = await database.writes.run((trx) =>
              store.pruneFinished(trx, workspaceId, state, before, 5_000),
            );
            deleted += n;
            if (n < 5_000) break;
          }
        }
      }
      return deleted;
    },
  };
}
