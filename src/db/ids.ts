import { randomFillSync } from 'node:crypto';

/**
 * New time-ordered ids: UUIDv7 (RFC 9562) with the "monotonic random" counter of its
 * section 6.2, method 2: ids made in the same millisecond still sort in creation order
 * (timelines order ties by id), and a clock that steps back never makes an id sort before an
 * earlier one.
 *
 * Written here rather than taken from `uuid` for speed: `uuid`'s v7 draws 16 fresh bytes from
 * the kernel per id (~1.3 µs, one syscall each); this one takes its randomness from a pooled
 * buffer refilled 4 KiB at a time (~0.2 µs per id). Every capture makes two or more ids.
 */

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

function randomBytes(count: number): number {
  if (poolOffset + count > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += count;
  return at;
}

/** Two hex digits per byte value. */
const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The millisecond of the last id, which never goes back. */
let lastMs = -1;
/** 42-bit counter in rand_a (12 bits) + the top 30 bits of rand_b; its top bit starts at 0. */
let counterHigh = 0; // the 12 bits of rand_a
let counterLow = 0; // the next 30 bits

export function newId(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    // A fresh random start each millisecond, with the counter's top bit clear so that
    // increments within the millisecond (up to 2^41 of them) cannot overflow.
    const at = randomBytes(6);
    counterHigh = ((pool[at]! << 4) | (pool[at + 1]! >> 4)) & 0x7ff;
    counterLow =
      ((pool[at + 2]! << 22) | (pool[at + 3]! << 14) | (pool[at + 4]! << 6) | (pool[at + 5]! >> 2)) >>> 0;
    counterLow &= 0x3fffffff;
  } else if (++counterLow > 0x3fffffff) {
    counterLow = 0;
    if (++counterHigh > 0xfff) {
      // 2^42 ids in one millisecond: borrow the next millisecond, as RFC 9562 allows.
      lastMs++;
      counterHigh = 0;
    }
  }
  const ms = lastMs;
  const tail = randomBytes(4);
  const b6 = 0x70 | (counterHigh >> 8);
  const b7 = counterHigh & 0xff;
  const b8 = 0x80 | (counterLow >>> 24); // variant 10 + the counter's top 6 bits
  const b9 = (counterLow >>> 16) & 0xff;
  const b10 = (counterLow >>> 8) & 0xff;
  const b11 = counterLow & 0xff;
  const high = Math.floor(ms / 0x1000000); // the first 24 of the 48 timestamp bits
  const low = ms % 0x1000000;
  return (
    hex[(high >>> 16) & 0xff]! +
    hex[(high >>> 8) & 0xff]! +
    hex[high & 0xff]! +
    hex[(low >>> 16) & 0xff]! +
    '-' +
    hex[(low >>> 8) & 0xff]! +
    hex[low & 0xff]! +
    '-' +
    hex[b6]! +
    hex[b7]! +
    '-' +
    hex[b8]! +
    hex[b9]! +
    '-' +
    hex[b10]! +
    hex[b11]! +
    hex[pool[tail]!]! +
    hex[pool[tail + 1]!]! +
    hex[pool[tail + 2]!]! +
    hex[pool[tail + 3]!]!
  );
}
