import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Gives back the memory start-up used and no longer needs: one full, memory-reducing garbage
 * collection ("last resort": it also shrinks the young generation to its minimum).
 *
 * Why: start-up (module loading, compiling every route's schemas, migrations) allocates fast, so
 * V8 grows the young generation to its maximum (two 16 MB semi-spaces with the
 * `--max-semi-space-size=16` that `npm start` passes) and keeps it committed while the server
 * waits for traffic: measured 176 MB resident at idle before, 136 MB after. Under load the young
 * generation grows back within a few collections, so throughput is unchanged.
 *
 * The collection runs once, synchronously (tens of milliseconds), before the server takes work.
 * `gc` is reached through a fresh context after exposing it, the documented way to get it
 * without starting node with `--expose-gc`.
 */
export function releaseStartupMemory(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (options: object) => void;
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
