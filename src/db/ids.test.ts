import assert from 'node:assert/strict';
import { it } from 'node:test';
import { newId } from './ids.ts';

it('makes unique ids that sort in creation order, even within one millisecond', () => {
  const ids = Array.from({ length: 20_000 }, () => newId());
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
});
