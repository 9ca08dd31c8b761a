import { loadConfig, sqliteFileOf } from '../config.ts';
import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { commandArgs, USAGE_EXIT } from './arguments.ts';

export async function runMigrate(args: string[]): Promise<number> {
  // It takes no options: one it does not know must not be run past (`migrate --dry-run`).
  if (!commandArgs('migrate', '', { args, options: {} })) return USAGE_EXIT;
  const config = loadConfig();
  const database = openDatabase({
    databaseUrl: config.databaseUrl,
    sqliteFile: sqliteFileOf(config),
  });
  try {
    const { error, results } = await migrateToLatest(database, {
      // Said before they run: building an index over a large table can take minutes.
      onPending: (names) => process.stdout.write(`applying ${names.length} migration(s)…\n`),
    });
    for (const r of results ?? [])
      process.stdout.write(`${r.status === 'Success' ? 'applied' : r.status}: ${r.migrationName}\n`);
    if (error) {
      process.stderr.write(`migration failed: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    }
    if ((results ?? []).length === 0) process.stdout.write('database is up to date\n');
    return 0;
  } finally {
    await database.close();
  }
}
