import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isDomainError } from '../errors.ts';
import { decodeCursor, encodeCursor, parseTime } from './cursor.ts';

function refusedAt(path: string) {
  return (error: unknown) =>
    isDomainError(error) && error.code === 'VALIDATION_FAILED' && error.errors[0]?.path === path;
}

describe('cursors', () => {
  test('decode what encode made for the same list (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.nat({ max: 8.64e15 }), fc.uuid(), (list, value, id) => {
        assert.deepEqual(decodeCursor(list, encodeCursor(list, value, id)), { value, id });
      }),
    );
  });

  test('are opaque url-safe text, short enough for every list’s cursor limit (200)', () => {
    const cursor = encodeCursor(
      'leads/01900000-0000-7000-8000-000000000000/timeline',
      8.64e15,
      'x'.repeat(36),
    );
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.ok(!Buffer.from(cursor, 'base64url').toString().includes('timeline'), 'the list is not readable');
    assert.ok(cursor.length <= 120, String(cursor.length));
  });

  test('refuse a cursor of another list, sort or lead at /query/cursor, saying to start again', () => {
    const id = '01900000-0000-7000-8000-000000000000';
    for (const [made, used] of [
      ['leads?sort=createdAt', 'leads?sort=-createdAt'],
      ['leads?sort=createdAt', 'leads?sort=-updatedAt'],
      [`leads/${id}/timeline`, 'leads/01900000-0000-7000-8000-000000000001/timeline'],
      [`leads/${id}/timeline`, 'leads?sort=-createdAt'],
      ['forms', 'forms/quarantine'],
    ]) {
      assert.throws(
        () => decodeCursor(used!, encodeCursor(made!, 1767225600000, id)),
        (error: unknown) =>
          refusedAt('/query/cursor')(error) &&
          isDomainError(error) &&
          /another list.*start again without it/.test(error.errors[0]?.message ?? ''),
        `${made} used on ${used}`,
      );
    }
  });

  test('refuse anything else as a validation error at /query/cursor, never another error (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        try {
          const decoded = decodeCursor('tasks', text);
          // A random string may decode by chance: then it must be well-formed.
          assert.ok(Number.isSafeInteger(decoded.value));
          assert.equal(typeof decoded.id, 'string');
        } catch (error) {
          assert.ok(refusedAt('/query/cursor')(error), String(error));
        }
      }),
    );
  });

  test('refuse values the database cannot compare with an integer column, and odd ids', () => {
    const forge = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const tag = JSON.parse(Buffer.from(encodeCursor('tasks', 1, 'x'), 'base64url').toString())[0];
    assert.doesNotThrow(
      () => decodeCursor('tasks', forge([tag, 1, 'x'])),
      'the forgeries below differ in one way',
    );
    for (const forged of [
      forge([tag, 1.5, 'x']),
      forge([tag, 1e300, 'x']),
      forge([tag, -1e300, 'x']),
      forge([tag, '1', 'x']),
      forge([tag, 1, 2]),
      forge([tag, 1, 'x', 'extra']),
      forge([tag, 1]),
      forge([1, 'x']),
      forge([1, tag, 'x']),
      forge({ value: 1, id: 'x' }),
      forge([tag, 1, 'x'.repeat(201)]),
      forge([tag, 1, 'a\u0000b']),
      forge([tag, 1, '\ud800']),
      forge(null),
      '',
      '%%%',
    ]) {
      assert.throws(() => decodeCursor('tasks', forged), refusedAt('/query/cursor'), forged);
    }
  });
});

describe('parseTime', () => {
  test('reads epoch milliseconds, as a number or digits', () => {
    assert.equal(parseTime(1767225600000, '/t'), 1767225600000);
    assert.equal(parseTime('1767225600000', '/t'), 1767225600000);
    assert.equal(parseTime('0', '/t'), 0);
    assert.equal(parseTime('2026', '/t'), 2026, 'digits are always epoch milliseconds');
    assert.equal(parseTime(1.9, '/t'), 1);
  });

  test('reads ISO 8601 dates (UTC midnight) and date-times with a zone', () => {
    assert.equal(parseTime('2026-01-01', '/t'), Date.UTC(2026, 0, 1));
    assert.equal(parseTime('2026-01-01T10:00:00Z', '/t'), Date.UTC(2026, 0, 1, 10));
    assert.equal(parseTime('2026-01-01T10:00:00.5+01:00', '/t'), Date.UTC(2026, 0, 1, 9, 0, 0, 500));
    assert.equal(parseTime('2026-01-01 10:00+0100', '/t'), Date.UTC(2026, 0, 1, 9));
  });

  test('refuses everything else at the given path', () => {
    for (const bad of [
      'yesterday',
      '-1',
      'x 1',
      'March 7',
      '2026-01',
      '2026-01-01T10:00:00',
      '2026-13-01',
      '99999999999999999999',
      '',
      -1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ]) {
      assert.throws(() => parseTime(bad, '/query/createdFrom'), refusedAt('/query/createdFrom'), String(bad));
    }
  });
});
