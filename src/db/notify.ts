import { type Kysely, sql } from 'kysely';
import type { DB } from './schema.ts';

/**
 * NOTIFY on `channel` (PostgreSQL): every process listening on it (Database.listen) hears it,
 * when the transaction `db` belongs to commits, or at once outside one.
 */
export async function notify(db: Kysely<DB>, channel: string): Promise<void> {
  await sql`select pg_notify(${channel}, '')`.execute(db);
}
