import type { Kysely } from 'kysely';
import { deleteOlderThan } from '../db/prune.ts';
import type { DB, IdempotencyKeyRow } from '../db/schema.ts';

export async function findKey(
  db: Kysely<DB>,
  workspaceId: string,
  key: string,
): Promise<IdempotencyKeyRow | undefined> {
  return db
    .selectFrom('idempotency_keys')
    .select(['workspace_id', 'key', 'fingerprint', 'status_code', 'response', 'created_at'])
    .where('workspace_id', '=', workspaceId)
    .where('key', '=', key)
    .executeTakeFirst();
}

/**
 * Stores a key's response. An existing row is replaced only if it was created at or before
 * `expiredAt` (outside the window). Returns false when a live row holds the key: another
 * transaction (another process) claimed it first, and this request must not overwrite its answer.
 */
export async function saveKey(db: Kysely<DB>, row: IdempotencyKeyRow, expiredAt: number): Promise<boolean> {
  const result = await db
    .insertInto('idempotency_keys')
    .values(row)
    .onConflict((oc) =>
      oc
        .columns(['workspace_id', 'key'])
        .doUpdateSet({
          fingerprint: row.fingerprint,
          status_code: row.status_code,
          response: row.response,
          created_at: row.created_at,
        })
        .where('idempotency_keys.created_at', '<=', expiredAt),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/**
 * Deletes up to `limit` of a workspace's keys created before `before` (through
 * idempotency_keys_age_ix); returns how many. Chunked like the other retention prunes.
 */
export function deleteKeysOlderThan(
  db: Kysely<DB>,
  workspaceId: string,
  before: number,
  limit: number,
): Promise<number> {
  return deleteOlderThan(
    db,
    { table: 'idempotency_keys', timeColumn: 'created_at', keyColumn: 'key' },
    workspaceId,
    before,
    limit,
  );
}
