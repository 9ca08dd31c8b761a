import pino from 'pino';
import { createServices, type Services } from '../app.ts';
import { loadConfig } from '../config.ts';

/** Services for a one-shot CLI command, logging only warnings to stderr. */
export async function withServices<T>(run: (services: Services) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const services = await createServices(config, { logger: pino({ level: 'warn' }, pino.destination(2)) });
  try {
    const boot = await services.workspaces.bootstrap(config.bootstrapKey);
    if (boot && !config.bootstrapKey) {
      // A command run on an empty database created the first admin key: show it (on stderr, so
      // stdout stays the command's own output), or nobody would ever learn it.
      process.stderr.write(
        `Created workspace "default". Its admin API key is shown this once:\n\n  ${boot.key}\n\n`,
      );
    }
    return await run(services);
  } finally {
    await services.database.close();
  }
}
