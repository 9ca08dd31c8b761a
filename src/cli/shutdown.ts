import type { Logger } from 'pino';

/** How long a graceful stop may take before the process exits anyway. (30 s) */
export const SHUTDOWN_DEADLINE_MS = 30_000;

/**
 * Runs `stop` on the first SIGINT or SIGTERM, within a deadline: a stop that waits on a
 * database that no longer answers (a PostgreSQL host gone silent) would otherwise keep the
 * process alive until someone sends SIGKILL. At the deadline, or on a second signal, the
 * process exits with status 1.
 */
export function onShutdownSignal(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown took too long: exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    void stop();
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}
