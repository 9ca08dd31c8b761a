import fs from 'node:fs';
import pino from 'pino';
import { createServices, type Services } from '../app.ts';
import { type Config, loadConfig, sqliteFileOf } from '../config.ts';
import { DomainError } from '../errors.ts';

/** How a one-shot command opens the database. */
export interface ServicesOptions {
  /**
   * A dry run (import, scoring apply) checks against a workspace that exists and writes nothing:
   * on a database without workspaces it does not create workspace "default" and its first admin
   * key, as any other first run does, but refuses (`nothingToCheckAgainst`). (Default: false)
   */
  dryRun?: boolean;
  /**
   * A command that only reads (export, a list): on a new SQLite data folder it refuses rather
   * than create a database, a workspace and an admin key to read nothing from: a typo in
   * LEADLINE_DATA_DIR, or a command run from another folder, would look like an empty success.
   * (Default: false)
   */
  readOnly?: boolean;
}

/**
 * Whether there is no database yet: SQLite without its file (a new data folder), where opening
 * it would create it. Always false on PostgreSQL, whose database is made by its server.
 */
function noDatabaseYet(config: Config): boolean {
  return config.databaseUrl === undefined && !fs.existsSync(sqliteFileOf(config));
}

/**
 * A dry run's refusal when there is no workspace at all (a new data folder, or a database no
 * command has used yet). A dry run checks against a workspace: which rows would create a lead and
 * which would update one, which leads a model would move. Creating the database and workspace
 * "default" to check against, as other commands do on first use, would be writing (and would
 * print a new admin key) when the user was promised nothing is written; checking against a
 * make-believe empty workspace would answer for one that does not exist. So it says what to do
 * instead, and leaves the data folder as it was.
 */
function nothingToCheckAgainst(): DomainError {
  return new DomainError(
    'WORKSPACE_NOT_FOUND',
    'There is no workspace to check against yet, and a dry run creates none. Start Leadline ' +
      'once (`leadline serve`) to create workspace "default", then run the dry run again.',
  );
}

/** Services for a one-shot CLI command, logging only warnings to stderr. */
export async function withServices<T>(
  run: (services: Services) => Promise<T>,
  options: ServicesOptions = {},
): Promise<T> {
  const config = loadConfig();
  if (options.dryRun && noDatabaseYet(config)) throw nothingToCheckAgainst();
  if (options.readOnly && noDatabaseYet(config))
    throw new DomainError(
      'NOT_FOUND',
      `There is no Leadline database at ${sqliteFileOf(config)} to read from. Check ` +
        'LEADLINE_DATA_DIR (default: ./data), or start Leadline once (`leadline serve`).',
    );
  const services = await createServices(config, { logger: pino({ level: 'warn' }, pino.destination(2)) });
  try {
    if (options.dryRun && (await services.workspaces.listIds()).length === 0) throw nothingToCheckAgainst();
    const boot = options.dryRun ? undefined : await services.workspaces.bootstrap(config.bootstrapKey);
    if (boot && !config.bootstrapKey) {
      // A command run on an empty database created the first admin key: show it (on stderr, so
      // stdout stays the command's own output), or nobody would ever learn it.
      process.stderr.write(
        `Created workspace "default". Its admin API key is shown this once:\n\n  ${boot.key}\n\n`,
      );
    }
    return await run(services);
  } finally {
    await services.close();
  }
}
