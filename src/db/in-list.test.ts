import assert from 'node:assert/strict';
import { it } from 'node:test';
import { paddedInList } from './in-list.ts';

it('pads an in-list to the next power of two with its last value', () => {
  assert.deepEqual(paddedInList([]), []);
  assert.deepEqual(paddedInList(['a']), ['a']);
  assert.deepEqual(paddedInList(['a', 'b', 'c']), ['a', 'b', 'c', 'c']);
  assert.equal(paddedInList(Array.from({ length: 300 }, (_, i) => i)).length, 512);
  assert.equal(paddedInList(Array.from({ length: 512 }, (_, i) => i)).length, 512);
});
