import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

/**
 * Random bytes for ids, drawn from the OS 4 KiB at a time: one `randomFillSync` per 256 ids
 * instead of one per id (that call was ~3% of a capture's CPU).
 */
const pool = new Uint8Array(4096);
let offset = pool.length;

function pooledRandom16(): Uint8Array {
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + 16);
  offset += 16;
  return bytes;
}

/** A new time-ordered id (UUIDv7): index-friendly, and ~15x cheaper here than a ULID. */
export function newId(): string {
  return v7({ rng: pooledRandom16 });
}
