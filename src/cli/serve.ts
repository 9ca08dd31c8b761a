import { createHttpApp, createServices } from '../app.ts';
import { loadConfig } from '../config.ts';
import type { HttpApp } from '../http/types.ts';
import { commandArgs, USAGE_EXIT } from './arguments.ts';
import { onShutdownSignal } from './shutdown.ts';
import { releaseStartupMemory } from './startup-memory.ts';
import { parseConcurrency, startWorker } from './worker.ts';

/** How often decayed temperatures are recorded, in ms. (60,000) */
const TEMPERATURE_SWEEP_MS = 60_000;

export async function runServe(args: string[]): Promise<number> {
  const parsed = commandArgs('serve', '[--no-worker] [--concurrency N]', {
    args,
    options: { 'no-worker': { type: 'boolean' }, concurrency: { type: 'string' } },
    allowPositionals: false,
  });
  if (!parsed) return USAGE_EXIT;
  const { values } = parsed;
  const concurrency = parseConcurrency(values.concurrency);
  const config = loadConfig();
  const services = await createServices(config);
  let app: HttpApp | undefined;
  try {
    const boot = await services.workspaces.bootstrap(config.bootstrapKey);
    if (!boot && config.bootstrapKey)
      services.logger.warn(
        'LEADLINE_BOOTSTRAP_KEY is ignored: the database already has a workspace (it is used only on an empty database)',
      );
    // Shown before listening: the key is committed now, and a start that then fails (port in use)
    // would otherwise lose it for good, since the next start finds the workspace and shows none.
    if (boot) {
      const shown = config.bootstrapKey ? '(the value of LEADLINE_BOOTSTRAP_KEY)' : boot.key;
      process.stdout.write(
        `\nCreated workspace "default". Its admin API key is shown this once:\n\n  ${shown}\n\n` +
          'Keep it safe; create more with `leadline keys create`.\n\n',
      );
    }
    app = await createHttpApp(services);
    releaseStartupMemory();
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // A start that failed ends the process: nothing it opened may keep it alive.
    await (app ? app.close() : services.close()); // app.close() closes the services too
    throw error;
  }
  // Anonymous activity past its retention is deleted now and then hourly; the timer is unref'd
  // so it alone never keeps the process alive, and stops when the server closes.
  const purgeAnonymous = async () => {
    try {
      const deleted = await services.events.purgeExpiredAnonymous();
      if (deleted > 0) services.logger.info({ deleted }, 'purged expired anonymous activity');
    } catch (err) {
      services.logger.error({ err }, 'purging expired anonymous activity failed');
    }
  };
  void purgeAnonymous();
  const purgeTimer = setInterval(purgeAnonymous, 60 * 60 * 1000).unref();
  app.server.once('close', () => clearInterval(purgeTimer));
  // Temperatures that drop by decay alone (hot -> warm -> cold) are recorded every minute, so
  // lists filtered by temperature and the timeline stay within a minute of the exact value.
  const settleTemperatures = async () => {
    try {
      for (const id of await services.leads.workspacesWithDueTemperatures()) {
        const settled = await services.leads.settleTemperatures(await services.workspaces.getWorkspace(id));
        if (settled > 0) services.logger.info({ workspaceId: id, settled }, 'temperatures cooled down');
      }
    } catch (err) {
      services.logger.error({ err }, 'settling temperatures failed');
    }
  };
  const temperatureTimer = setInterval(settleTemperatures, TEMPERATURE_SWEEP_MS).unref();
  app.server.once('close', () => clearInterval(temperatureTimer));
  // Embedded mode: this process also runs the jobs (alerts, webhooks, timers). `--no-worker`
  // leaves them to `leadline worker` processes.
  const stopWorker = values['no-worker'] ? async () => {} : await startWorker(services, concurrency);
  onShutdownSignal(services.logger, async () => {
    await stopWorker();
    await app.close();
    process.exit(0);
  });
  // Said last: a supervisor (or a test) that stops the server as soon as it reads this line
  // meets the shutdown above, not a process still without a SIGTERM handler (killed, not closed).
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  process.stdout.write(`Leadline is listening on http://localhost:${port} (${services.database.engine})\n`);
  return 0;
}
