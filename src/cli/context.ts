import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { createServices, type Services } from '../app.ts';
import { type Config, loadConfig } from '../config.ts';

/** How a one-shot command opens the database. */
export interface ServicesOptions {
  /**
   * Whether a command run on a database without workspaces creates workspace "default" and its
   * first admin key, as any first run does. (Default: true) A dry run passes false: it writes
   * nothing.
   */
  bootstrap?: boolean;
}

/**
 * Whether there is no database yet: SQLite without its file (a new data folder), where opening
 * it would create it. Always false on PostgreSQL, whose database is made by its server.
 */
export function noDatabaseYet(config: Config = loadConfig()): boolean {
  // The file createServices opens.
  return config.databaseUrl === undefined && !fs.existsSync(path.join(config.dataDir, 'leadline.db'));
}

/** Services for a one-shot CLI command, logging only warnings to stderr. */
export async function withServices<T>(
  run: (services: Services) => Promise<T>,
  options: ServicesOptions = {},
): Promise<T> {
  const config = loadConfig();
  const services = await createServices(config, { logger: pino({ level: 'warn' }, pino.destination(2)) });
  try {
    const boot =
      options.bootstrap === false ? undefined : await services.workspaces.bootstrap(config.bootstrapKey);
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
