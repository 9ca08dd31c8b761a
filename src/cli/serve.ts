import { parseArgs } from 'node:util';
import { createHttpApp, createServices } from '../app.ts';
import { loadConfig } from '../config.ts';

export async function runServe(args: string[]): Promise<number> {
  parseArgs({ args, options: {}, allowPositionals: false });
  const config = loadConfig();
  const services = await createServices(config);
  const boot = await services.workspaces.bootstrap(config.bootstrapKey);
  const app = await createHttpApp(services);
  await app.listen({ port: config.port, host: config.host });
  if (boot) {
    const shown = config.bootstrapKey ? '(the value of LEADLINE_BOOTSTRAP_KEY)' : boot.key;
    process.stdout.write(
      `\nCreated workspace "default". Its admin API key is shown this once:\n\n  ${shown}\n\n` +
        'Keep it safe; create more with `leadline keys create`.\n\n',
    );
  }
  process.stdout.write(
    `Leadline is listening on http://localhost:${config.port} (${services.database.engine})\n`,
  );
  const stop = async (signal: string) => {
    services.logger.info({ signal }, 'shutting down');
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return 0;
}
