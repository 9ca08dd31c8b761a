import assert from 'node:assert/strict';
import { it } from 'node:test';
import { newId } from './ids.ts';

const uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

it('makes unique ids that sort in creation order, even within one millisecond', () => {
  const ids = Array.from({ length: 20_000 }, () => newId());
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
  for (const id of ids.slice(0, 100)) assert.match(id, uuidV7);
});

it('carries the millisecond in its first 48 bits', () => {
  const at = Date.UTC(2031, 4, 6, 7, 8, 9, 123);
  const id = newId(at);
  assert.equal(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16), at);
});

it('keeps sorting forward when the clock steps back', () => {
  const later = newId(Date.UTC(2032, 0, 1));
  const earlierClock = newId(Date.UTC(2030, 0, 1));
  assert.match(earlierClock, uuidV7);
  assert.ok(earlierClock > later);
});
