import type { Transaction } from 'kysely';
import type { Database } from './database.ts';
import type { DB } from './schema.ts';

/** A unique-index violation of either engine: a concurrent write took the same key first. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * Runs a write that claims a unique slug. A check inside the transaction finds a slug taken by
 * committed rows; a concurrent write (another process) can still commit the same slug first,
 * and then the unique index refuses this one: that lost race becomes `taken()`, the same
 * answer (409) as a slug found taken.
 */
export async function writeWithSlug<T>(
  database: Pick<Database, 'writes'>,
  work: (trx: Transaction<DB>) => Promise<T>,
  taken: () => Error,
): Promise<T> {
  try {
    return await database.writes.run(work);
  } catch (error) {
    if (isUniqueViolation(error)) throw taken();
    throw error;
  }
}
