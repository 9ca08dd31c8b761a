import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionSlots } from './connection-slots.ts';

const never = new AbortController().signal;

describe('ConnectionSlots', () => {
  it('hands out free slots at once, then in arrival order as they are released', async () => {
    const slots = new ConnectionSlots(2);
    const a = await slots.acquire(1_000, never);
    const b = await slots.acquire(1_000, never);
    const order: string[] = [];
    const c = slots.acquire(1_000, never).then((release) => {
      order.push('c');
      return release;
    });
    const d = slots.acquire(1_000, never).then((release) => {
      order.push('d');
      return release;
    });
    a();
    a(); // a second release of the same slot frees nothing
    (await c)();
    b();
    (await d)();
    assert.deepEqual(order, ['c', 'd']);
    const releases = await Promise.all([slots.acquire(10, never), slots.acquire(10, never)]);
    await assert.rejects(slots.acquire(10, never), /busy for 10 ms/, 'two slots, never three');
    for (const release of releases) release();
  });

  it('gives up waiting after waitMs or when the signal aborts, and then holds no place in line', async () => {
    const slots = new ConnectionSlots(1);
    const held = await slots.acquire(1_000, never);
    await assert.rejects(slots.acquire(20, never), /every connection stayed busy for 20 ms/);
    const stop = new AbortController();
    const waiting = slots.acquire(1_000, stop.signal);
    stop.abort(new Error('shutting down'));
    await assert.rejects(waiting, /shutting down/);
    await assert.rejects(slots.acquire(1_000, stop.signal), /shutting down/);
    held();
    (await slots.acquire(10, never))();
  });
});
