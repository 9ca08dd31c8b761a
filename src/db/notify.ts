import { type Kysely, sql } from 'kysely';
import type { DB } from './schema.ts';

/**
 * NOTIFY on `channel` (PostgreSQL): every process listening on it (Database.listen) hears it,
 * with `payload`, when the transaction `db` belongs to commits, or at once outside one. Within
 * a transaction, a second notification with the same channel and payload is sent only once.
 */
export async function notify(db: Kysely<DB>, channel: string, payload = ''): Promise<void> {
  await sql`select pg_notify(${channel}, ${payload})`.execute(db);
}
