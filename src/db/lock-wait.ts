import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waiting for another process's SQLite write lock (a `leadline import` beside the server, a
 * worker process), with the event loop free. SQLite's own busy handler sleeps on the thread
 * that runs the statement: while an import held the lock, the whole server stood still
 * (single captures beside a CLI import of 100,000 rows: p99 1,069 ms, /healthz too).
 *
 * A statement that fails with plain SQLITE_BUSY (nothing of it was applied) is tried again
 * after 1, 2, 4 … 20 ms, for up to `LOCK_WAIT_MS`, then the error goes on (a 503 to a
 * request). SQLITE_BUSY_SNAPSHOT is not tried again: it needs a new transaction.
 *
 * Where it waits matters too: a statement waiting inside the connection keeps it, and every
 * other query of the process (reads included) waits behind it. The writes that meet the lock
 * often — a group commit's BEGIN, a job claim — run under `retryReleasingConnection`, so they
 * wait between tries with the connection free for the reads.
 */

/** How long a write waits for another process's write lock before it fails. (5 s) */
const LOCK_WAIT_MS = 5_000;
/** Longest pause between two tries, in ms. (20) */
const LOCK_RETRY_MAX_MS = 20;

/** Set while a caller retries by itself: statements then fail at once on the lock. */
const released = new AsyncLocalStorage<true>();

const isLockBusy = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === 'SQLITE_BUSY';

/** Retries `attempt` after pauses while it fails on the lock, until `LOCK_WAIT_MS` have passed. */
async function retrying<T>(attempt: () => Promise<T>, failedOnce: boolean): Promise<T> {
  const deadline = performance.now() + LOCK_WAIT_MS;
  for (let pause = 1; ; pause = Math.min(pause * 2, LOCK_RETRY_MAX_MS)) {
    if (failedOnce) await sleep(pause);
    failedOnce = true;
    try {
      return await attempt();
    } catch (error) {
      if (!isLockBusy(error) || performance.now() >= deadline) throw error;
    }
  }
}

/**
 * One statement on the writer connection (the dialect runs every statement through this). It
 * waits for the lock in the connection, unless a caller retries by itself
 * (`retryReleasingConnection`): then it fails at once.
 */
export function executeWaitingForLock<T>(execute: () => Promise<T>): Promise<T> {
  const failed = (error: unknown): Promise<T> =>
    isLockBusy(error) && !released.getStore() ? retrying(execute, true) : Promise.reject(error);
  try {
    // Kysely's SQLite connection throws synchronously (better-sqlite3 is synchronous): the
    // common case costs no extra await.
    return execute().catch(failed);
  } catch (error) {
    return failed(error);
  }
}

/**
 * Runs `work` — which must be safe to run again after it failed on the lock: one statement, or
 * starting a transaction — so that it waits for another process's lock between tries, with the
 * connection free for this process's other queries meanwhile.
 */
export function retryReleasingConnection<T>(work: () => Promise<T>): Promise<T> {
  return retrying(() => released.run(true, work), false);
}
