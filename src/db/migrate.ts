import { type MigrationResultSet, Migrator } from 'kysely';
import type { Database } from './database.ts';
import { migrations } from './migrations/index.ts';
import { columnTypes } from './migrations/types.ts';

/** Applies every pending migration. Reports `{ error, results }` rather than throwing. */
export async function migrateToLatest(database: Database): Promise<MigrationResultSet> {
  const types = columnTypes(database.engine);
  const migrator = new Migrator({
    db: database.db,
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
