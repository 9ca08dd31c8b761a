import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigCache } from './config-cache.ts';

const sqlite = { engine: 'sqlite' as const, channel: (name: string) => name };

describe('ConfigCache', () => {
  it('keeps a value until it is forgotten or its time is up', async () => {
    let now = 0;
    const cache = new ConfigCache<number>({
      kind: 'routing',
      database: sqlite,
      ttlMs: 5_000,
      clock: () => now,
    });
    let loads = 0;
    const read = () => cache.read('w1', async () => ++loads);
    assert.equal(await read(), 1);
    assert.equal(await read(), 1, 'cached');
    cache.forget('w2');
    assert.equal(await read(), 1, 'another key forgotten');
    cache.forget('w1');
    assert.equal(await read(), 2, 'forgotten');
    cache.forget();
    assert.equal(await read(), 3, 'all forgotten');
    now = 5_000;
    assert.equal(await read(), 4, 'expired');
  });

  // The read's query may have run before the change committed and its answer come after the
  // word of the change: kept, it would hide the change until it expires.
  it('returns but does not keep a value read while something was forgotten', async () => {
    const cache = new ConfigCache<string>({
      kind: 'routing',
      database: sqlite,
      ttlMs: 5_000,
      clock: () => 0,
    });
    let answer!: (value: string) => void;
    const inFlight = cache.read('w1', () => new Promise<string>((resolve) => (answer = resolve)));
    cache.forget('w1');
    answer('old');
    assert.equal(await inFlight, 'old');
    assert.equal(await cache.read('w1', async () => 'new'), 'new');
    assert.equal(await cache.read('w1', async () => 'newer'), 'new', 'the value read afterwards is kept');
  });
});
