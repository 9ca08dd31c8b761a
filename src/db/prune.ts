import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from './database.ts';
import type { DB } from './schema.ts';

/**
 * Runs `deleteChunk` for each workspace, each call in a write of its own, until one deletes
 * fewer than `chunk` rows; returns how many rows went in all. Chunked so that a retention prune
 * never holds the writer for long.
 */
export async function pruneInChunks(
  database: Pick<Database, 'writes'>,
  workspaceIds: readonly string[],
  chunk: number,
  deleteChunk: (trx: Transaction<DB>, workspaceId: string, limit: number) => Promise<number>,
): Promise<number> {
  let deleted = 0;
  for (const workspaceId of workspaceIds) {
    for (;;) {
      const n = await database.writes.run((trx) => deleteChunk(trx, workspaceId, chunk));
      deleted += n;
      if (n < chunk) break;
    }
  }
  return deleted;
}

/**
 * Deletes up to `limit` of a workspace's rows of `table` whose `timeColumn` is before `before`
 * (and whose `stateColumn` is `state`, when given); returns how many. Chunked so that a prune
 * never holds the writer for long: callers loop until fewer than `limit` come back. The
 * retention prunes of jobs, alerts, the dev mailbox, the inbound log, the form quarantine,
 * idempotency keys and expired anonymous activities share it; each store names its own table.
 */
export async function deleteOlderThan(
  db: Kysely<DB>,
  target: {
    table:
      | 'jobs'
      | 'alerts'
      | 'mailbox_messages'
      | 'inbound_leads'
      | 'form_quarantine'
      | 'idempotency_keys'
      | 'anonymous_activities';
    // `decided_at` (form quarantine): null until decided, so undecided rows are never before anything.
    timeColumn: 'updated_at' | 'fired_at' | 'created_at' | 'received_at' | 'decided_at' | 'expires_at';
    state?: string;
    /** The column `state` is compared with. (Default: state) */
    stateColumn?: 'state' | 'status';
    /** The row's key within its workspace. (Default: id; idempotency keys: key) */
    keyColumn?: 'id' | 'key';
  },
  workspaceId: string,
  before: number,
  limit: number,
): Promise<number> {
  const table = sql.table(target.table);
  const stateFilter =
    target.state === undefined ? sql`` : sql`and ${sql.ref(target.stateColumn ?? 'state')} = ${target.state}`;
  const key = sql.ref(target.keyColumn ?? 'id');
  const result = await sql`
    delete from ${table}
    where workspace_id = ${workspaceId}
      and ${key} in (
        select ${key} from ${table}
        where workspace_id = ${workspaceId} and ${sql.ref(target.timeColumn)} < ${before} ${stateFilter}
        limit ${limit}
      )`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}
