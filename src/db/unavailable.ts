/**
 * Errors that say the database cannot serve right now, not that the request is wrong or the
 * code is: a lost or refused connection, a server shutting down or restarting, too many
 * connections, a lock that did not come within the wait, a full disk. The write they interrupt
 * was rolled back (never acknowledged), so the client may simply send it again: the HTTP layer
 * answers 503 with `Retry-After` instead of a 500.
 */

/** SQLSTATE codes of PostgreSQL that mean "not now" (class 08 is matched by prefix). */
const PG_UNAVAILABLE = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, in recovery
  '53300', // too_many_connections
  '53100', // disk_full
  '55P03', // lock_not_available
]);

/** Socket errors of the connection to PostgreSQL. */
const SOCKET_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * node-postgres' own errors for a connection that went away carry no code, only these messages
 * ('Connection terminated unexpectedly', 'Connection terminated', 'timeout exceeded when trying
 * to connect', 'Client has encountered a connection error and is not queryable').
 */
const PG_CLIENT_MESSAGE =
  /^(connection terminated|timeout exceeded when trying to connect|client has encountered a connection error)/i;

/**
 * A conflict with another PostgreSQL transaction (another API process) that running the write
 * again resolves (group-commit.ts retries it a few times):
 * - 23505, a unique-index conflict with a row committed while this one ran: e.g. two processes
 *   capture the same new email at once; both looked, found nothing and inserted. Running again
 *   sees the committed row and takes the update path.
 * - 40P01, a deadlock: writes of two processes locked the same rows (a round-robin turn, a
 *   lead) in opposite orders; PostgreSQL aborted this one so the other could finish.
 * - 40001, a serialization failure.
 * SQLite needs no such retry: BEGIN IMMEDIATE serialises its writers, so a conflict there is
 * not a race and would only repeat.
 */
export function isWriteConflict(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return code === '23505' || code === '40P01' || code === '40001';
}

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    // A deadlock or serialization failure still there after the retries (heavy contention
    // between processes): nothing was written, and sending it again a moment later goes through.
    // (A unique-index conflict left after them is not a race any more: it stays an error.)
    if (code === '40P01' || code === '40001') return true;
    // better-sqlite3: another process held the write lock longer than a write waits for it; the disk is full
    // or failing.
    if (/^SQLITE_(BUSY|LOCKED|FULL|IOERR)/.test(code)) return true;
    if (PG_UNAVAILABLE.has(code) || code.startsWith('08')) return true;
    // 55000 for a database closed to connections (ALTER DATABASE … ALLOW_CONNECTIONS false, as
    // for maintenance); the same code also means other things, told apart by the message.
    if (code === '55000' && /not currently accepting connections/i.test(error.message)) return true;
    if (SOCKET_UNAVAILABLE.has(code)) return true;
  }
  return PG_CLIENT_MESSAGE.test(error.message);
}
