import { type MigrationResultSet, Migrator, sql } from 'kysely';
import type { Database } from './database.ts';
import { migrations } from './migrations/index.ts';
import { columnTypes } from './migrations/types.ts';

/** Applies every pending migration. Reports `{ error, results }` rather than throwing. */
export async function migrateToLatest(database: Database): Promise<MigrationResultSet> {
  const types = columnTypes(database.engine);
  // Unless told the schema, Kysely looks for its migration tables in every schema of the
  // database: beside another schema's (a test file each) it would skip creating its own lock
  // table and then fail to use it.
  const migrationTableSchema =
    database.engine === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(database.db)).rows[0]
          ?.schema
      : undefined;
  const migrator = new Migrator({
    db: database.db,
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
  return migrator.migrateToLatest();
}
