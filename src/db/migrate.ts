import { type Kysely, type MigrationResultSet, Migrator, sql } from 'kysely';
import type { Database } from './database.ts';
import { migrations } from './migrations/index.ts';
import { columnTypes } from './migrations/types.ts';
import type { DB } from './schema.ts';

/**
 * PostgreSQL advisory lock held while migrating: processes starting together migrate one at a
 * time. (The migrator reads only Leadline's own schema: see CurrentSchemaIntrospector.)
 */
const MIGRATION_LOCK_KEY = 742_019_001;

export interface MigrateOptions {
  /**
   * Told the names of the migrations about to run, before they run (not called when there are
   * none): one that builds an index over a large table can take minutes, and a start that says
   * nothing meanwhile looks hung.
   */
  onPending?: ((names: string[]) => void) | undefined;
}

/**
 * Applies every pending migration. Reports `{ error, results }` rather than throwing, whatever
 * failed: reading the migrations done as much as applying one.
 */
export async function migrateToLatest(
  database: Database,
  options: MigrateOptions = {},
): Promise<MigrationResultSet> {
  try {
    return await migrateLocked(database, options);
  } catch (error) {
    return { error };
  }
}

async function migrateLocked(database: Database, options: MigrateOptions): Promise<MigrationResultSet> {
  if (database.engine !== 'postgres') return migrateWith(database, database.db, undefined, options);
  return database.db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(connection);
    try {
      // Kysely's migration tables are named with the schema, so that they are this schema's
      // whatever else the database holds (another Leadline's, or a test file's each).
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
