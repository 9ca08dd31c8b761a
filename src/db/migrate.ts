import { type Kysely, type MigrationResultSet, Migrator, sql } from 'kysely';
import type { Database } from './database.ts';
import { migrations } from './migrations/index.ts';
import { columnTypes } from './migrations/types.ts';
import type { DB } from './schema.ts';

/**
 * PostgreSQL advisory lock held while migrating. Kysely's migrator introspects every schema of
 * the database (has_schema_privilege on each), which fails if another client drops a schema in
 * the middle; and processes starting together should migrate one at a time anyway. Whatever
 * drops Leadline schemas (the test harness) takes the same lock.
 */
export const MIGRATION_LOCK_KEY = 742_019_001;

export interface MigrateOptions {
  /**
   * Told the names of the migrations about to run, before they run (not called when there are
   * none): one that builds an index over a large table can take minutes, and a start that says
   * nothing meanwhile looks hung.
   */
  onPending?: ((names: string[]) => void) | undefined;
}

/** Applies every pending migration. Reports `{ error, results }` rather than throwing. */
export async function migrateToLatest(
  database: Database,
  options: MigrateOptions = {},
): Promise<MigrationResultSet> {
  if (database.engine !== 'postgres') return migrateWith(database, database.db, undefined, options);
  return database.db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(connection);
    try {
      // Unless told the schema, Kysely looks for its migration tables in every schema of the
      // database: beside another schema's (a test file each) it would skip creating its own
      // lock table and then fail to use it.
      const schema = (await sql<{ schema: string }>`select current_schema() as schema`.execute(connection))
        .rows[0]?.schema;
      return await migrateWith(database, connection, schema, options);
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(connection);
    }
  });
}

async function migrateWith(
  database: Database,
  db: Kysely<DB>,
  migrationTableSchema: string | undefined,
  { onPending }: MigrateOptions,
): Promise<MigrationResultSet> {
  const types = columnTypes(database.engine);
  const migrator = new Migrator({
    db,
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
    provider: {
      async getMigrations() {
        return Object.fromEntries(
          migrations.map((m) => [
            m.name,
            { up: (db: Parameters<typeof m.up>[0]) => m.up(db, types, database.engine) },
          ]),
        );
      },
    },
  });
  if (onPending) {
    const pending = (await migrator.getMigrations()).filter((m) => m.executedAt === undefined);
    if (pending.length > 0) onPending(pending.map((m) => m.name));
  }
  return migrator.migrateToLatest();
}
