import pino from 'pino';
import { createServices, type Services } from '../app.ts';
import { loadConfig } from '../config.ts';

/** Services for a one-shot CLI command, logging only warnings to stderr. */
export async function withServices<T>(run: (services: Services) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const services = await createServices(config, { logger: pino({ level: 'warn' }, pino.destination(2)) });
  try {
    await services.workspaces.bootstrap(config.bootstrapKey);
    return await run(services);
  } finally {
    await services.database.close();
  }
}
