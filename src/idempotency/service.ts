import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database } from '../db/database.ts';
import { pruneInChunks } from '../db/prune.ts';
import type { DB, IdempotencyKeyRow } from '../db/schema.ts';
import { DomainError } from '../errors.ts';
import * as store from './store.ts';

/** How long a stored response answers retries with the same key. (24 hours) */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Keys deleted per transaction by `prune`: the writer is held only briefly. (5,000) */
const PRUNE_CHUNK = 5_000;

export interface StoredResponse {
  status: number;
  body: unknown;
}

export type IdempotencyService = ReturnType<typeof createIdempotencyService>;

/**
 * What makes two requests "the same": method, path and body, the body as the JSON it parsed to
 * (spacing and key order do not count, so a client that rebuilds its object for a retry still
 * gets the replay).
 */
export function fingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${canonicalJson(body ?? null)}`)
    .digest('hex');
}

/**
 * The fingerprint before key order stopped counting (members in the order sent). Keys are kept
 * 24 hours: a retry, just after an upgrade, of a request sent just before it is still a replay.
 * Asked only when a stored fingerprint differs; it can go once no such key can be stored.
 */
export function fingerprintAsSent(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${JSON.stringify(body ?? null)}`)
    .digest('hex');
}

/**
 * The JSON text of a parsed JSON value with every object's keys sorted, at every depth; arrays
 * keep their order (it means something). Built in one pass, without a sorted copy of the value:
 * it runs on every write sent with an Idempotency-Key.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let items = '';
    for (let i = 0; i < value.length; i++) items += `${i === 0 ? '' : ','}${canonicalJson(value[i])}`;
    return `[${items}]`;
  }
  let members = '';
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key];
    // Left out, as JSON.stringify leaves it out (a default ajv did not fill, say).
    if (item === undefined) continue;
    members += `${members === '' ? '' : ','}${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `{${members}}`;
}

export function createIdempotencyService({ database, clock }: { database: Database; clock: () => number }) {
  return {
    /**
     * Runs `work` in a grouped transaction. With a key, a retry of the same request replays
     * the stored response and writes nothing, and a different request with a used key is
     * refused. The key and the write commit together, so a crash cannot separate them.
     */
    async run(
      workspaceId: string,
      key: string | undefined,
      requestFingerprint: string,
      work: (trx: Transaction<DB>) => Promise<StoredResponse>,
      /** The request's `fingerprintAsSent`, for a key stored before the fingerprint changed. */
      fingerprintBefore?: () => string,
    ): Promise<StoredResponse & { replayed: boolean }> {
      /** The stored answer under this key, replayed; a different request's use of it refused. */
      const replay = (stored: IdempotencyKeyRow): StoredResponse & { replayed: boolean } => {
        if (stored.fingerprint !== requestFingerprint && stored.fingerprint !== fingerprintBefore?.()) {
          throw new DomainError(
            'IDEMPOTENCY_KEY_REUSED',
            'This Idempotency-Key was used for a different request.',
            [{ path: '/headers/idempotency-key', message: 'was already used with another request body' }],
          );
        }
        return { status: stored.status_code, body: JSON.parse(stored.response), replayed: true };
      };
      const fresh = (stored: IdempotencyKeyRow | undefined, now: number) =>
        stored && stored.created_at > now - IDEMPOTENCY_WINDOW_MS ? stored : undefined;
      try {
        return await database.writes.run(async (trx) => {
          const now = clock();
          if (key) {
            const stored = fresh(await store.findKey(trx, workspaceId, key), now);
            if (stored) return replay(stored);
          }
          let response: StoredResponse;
          try {
            response = await work(trx);
          } catch (error) {
            // Writes in this process are serialised by group commit, so the lookup above saw every
            // earlier use of the key; only a transaction elsewhere (another API process on
            // PostgreSQL) can have committed it since, its work being why this one failed (the
            // lead it waited for was accepted meanwhile): its answer is this request's answer.
            if (key && fresh(await store.findKey(trx, workspaceId, key).catch(() => undefined), now))
              throw new KeyUsedMeanwhile();
            throw error;
          }
          if (key) {
            const saved = await store.saveKey(
              trx,
              {
                workspace_id: workspaceId,
                key,
                fingerprint: requestFingerprint,
                status_code: response.status,
                response: JSON.stringify(response.body),
                created_at: now,
              },
              now - IDEMPOTENCY_WINDOW_MS,
            );
            // The same, found at the end: another process's request with this key committed
            // first. Throwing rolls this one's work back.
            if (!saved) throw new KeyUsedMeanwhile();
          }
          return { ...response, replayed: false };
        });
      } catch (error) {
        if (!(error instanceof KeyUsedMeanwhile) || !key) throw error;
        const stored = fresh(await store.findKey(database.db, workspaceId, key), clock());
        if (stored) return replay(stored);
        throw new DomainError(
          'IDEMPOTENCY_KEY_IN_FLIGHT',
          'Another request with this Idempotency-Key was being processed; retry to get its response.',
          [{ path: '/headers/idempotency-key', message: 'is in use by another request just now' }],
          1,
        );
      }
    },

    /**
     * Deletes the keys past the window: they answer nothing any more, and each holds a whole
     * response (a lead's email, name and phone; a batch's results). Returns how many.
     */
    async prune(workspaceIds: readonly string[]): Promise<number> {
      const before = clock() - IDEMPOTENCY_WINDOW_MS;
      return pruneInChunks(database, workspaceIds, PRUNE_CHUNK, (trx, workspaceId, limit) =>
        store.deleteKeysOlderThan(trx, workspaceId, before, limit),
      );
    },
  };
}

/** Another process's request with the same key committed while this one ran: answer with its response. */
class KeyUsedMeanwhile extends Error {
  constructor() {
    super('the Idempotency-Key was stored by another request meanwhile');
  }
}
