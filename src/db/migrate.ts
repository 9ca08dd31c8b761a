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
  if (database.engine !== 'postgres') return migrateSqlite(database, options);
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

/**
 * SQLite: every pending migration in one `BEGIN IMMEDIATE` transaction. Kysely takes no lock
 * on SQLite (it counts on one connection), so processes starting together on a new data folder
 * (a server and a worker) ran the same migrations at once: one failed ("table already exists"),
 * and an index could be lost for good while every migration was recorded as done. Holding the
 * write lock, the second process waits, then finds nothing pending; and a migration that fails
 * leaves the schema as it was (SQLite's DDL is transactional, though Kysely does not use that).
 */
async function migrateSqlite(database: Database, options: MigrateOptions): Promise<MigrationResultSet> {
  return database.db.connection().execute(async (connection) => {
    await sql`begin immediate`.execute(connection);
    let result: MigrationResultSet;
    try {
      result = await migrateWith(database, connection, undefined, options);
    } catch (error) {
      await sql`rollback`.execute(connection);
      throw error;
    }
    await sql.raw(result.error === undefined ? 'commit' : 'rollback').execute(connection);
    return result;
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
