import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { unstorableTextErrors } from './storable-text.ts';

describe('unstorableTextErrors', () => {
  test('passes well-formed text of any script, and non-text values', () => {
    assert.deepEqual(
      unstorableTextErrors({ name: 'Zoë 李 🙂', n: 1, b: true, z: null, list: ['a', { deep: 'ok' }] }),
      [],
    );
  });

  test('names each NUL or lone surrogate by its JSON Pointer', () => {
    const errors = unstorableTextErrors(
      { a: 'x\u0000', list: ['ok', '\ud800'], nested: { 'we/ird~key': '\udfff' }, ok: '\ud83d\ude42' },
      '/query',
    );
    assert.deepEqual(errors.map((e) => e.path).sort(), [
      '/query/a',
      '/query/list/1',
      '/query/nested/we~1ird~0key',
    ]);
  });

  test('checks property names too, and a bare string at the root', () => {
    assert.deepEqual(
      unstorableTextErrors({ 'k\u0000': 1 }).map((e) => e.path),
      ['/'],
    );
    assert.deepEqual(
      unstorableTextErrors('\u0000').map((e) => e.path),
      ['/'],
    );
  });

  test('walks nesting of any depth without recursion, and stops after 20 errors', () => {
    let deep: unknown = '\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(unstorableTextErrors(deep).length, 1);
    assert.equal(unstorableTextErrors(Array.from({ length: 100 }, () => '\u0000')).length, 20);
  });

  test('agrees with PostgreSQL’s rule: well-formed and NUL-free, for any string (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const storable = text.isWellFormed() && !text.includes('\u0000');
        assert.equal(unstorableTextErrors({ text }).length === 0, storable);
      }),
    );
  });
});
