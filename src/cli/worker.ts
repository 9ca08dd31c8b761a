import { createServices, type Services } from '../app.ts';
import { loadConfig } from '../config.ts';
import { validationError } from '../errors.ts';
import { JobWorker } from '../jobs/worker.ts';
import { commandArgs, USAGE_EXIT } from './arguments.ts';
import { onShutdownSignal } from './shutdown.ts';

/** How often finished jobs past their retention are pruned. (1 h) */
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Starts a job worker on `services` and the hourly prune of finished jobs. Returns the stop:
 * running jobs get the worker's grace period to finish.
 */
export async function startWorker(services: Services, concurrency?: number): Promise<() => Promise<void>> {
  const worker = new JobWorker(services.jobs, services.logger, concurrency ? { concurrency } : {});
  await worker.start();
  const prune = async () => {
    try {
      const deleted = await services.jobs.prune(await services.workspaces.listIds());
      if (deleted > 0) services.logger.info({ deleted }, 'pruned finished jobs');
    } catch (err) {
      services.logger.error({ err }, 'pruning finished jobs failed');
    }
    await pruneRecords(services);
  };
  // Once at start too: workers restarted more often than hourly would otherwise never prune.
  void prune();
  const timer = setInterval(prune, PRUNE_EVERY_MS).unref();
  return async () => {
    clearInterval(timer);
    await worker.stop();
  };
}

/**
 * Prunes what grows with traffic past its retention: webhook messages and delivery log,
 * alerts log, dev mailbox, form quarantine, inbound lead log, idempotency keys (the retentions:
 * webhooks/model.ts, alerts/model.ts, email/service.ts, forms/quarantine-service.ts,
 * inbound/model.ts, idempotency/service.ts).
 */
async function pruneRecords(services: Services): Promise<void> {
  try {
    const ids = await services.workspaces.listIds();
    const deleted = {
      webhooks: await services.webhooks.prune(ids),
      alerts: await services.alerts.prune(ids),
      mailbox: await services.mail.prune(ids),
      quarantine: await services.quarantine.prune(ids),
      inbound: await services.inbound.prune(ids),
      idempotencyKeys: await services.idempotency.prune(ids),
    };
    if (Object.values(deleted).some((n) => n > 0))
      services.logger.info({ deleted }, 'pruned records past their retention');
  } catch (err) {
    services.logger.error({ err }, 'pruning records past their retention failed');
  }
}

export function parseConcurrency(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw validationError([{ path: '--concurrency', message: 'must be an integer from 1 to 256' }]);
  return n;
}

/** `leadline worker [--concurrency N]`: runs jobs only (no HTTP), until SIGINT or SIGTERM. */
export async function runWorker(args: string[]): Promise<number> {
  const parsed = commandArgs('worker', '[--concurrency N]', {
    args,
    options: { concurrency: { type: 'string' } },
    allowPositionals: false,
  });
  if (!parsed) return USAGE_EXIT;
  const { values } = parsed;
  const concurrency = parseConcurrency(values.concurrency);
  const services = await createServices(loadConfig());
  const stopWorker = await startWorker(services, concurrency);
  process.stdout.write(`Leadline worker is running (${services.database.engine})\n`);
  await new Promise<void>((resolve) => {
    onShutdownSignal(services.logger, async () => {
      await stopWorker();
      await services.close();
      resolve();
    });
  });
  return 0;
}
