import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseInstant } from './time.ts';

describe('parseInstant', () => {
  test('reads epoch milliseconds and ISO 8601 times with a zone, in whole milliseconds', () => {
    assert.equal(parseInstant(1767225600000.9), 1767225600000);
    assert.equal(parseInstant('1767225600000'), 1767225600000);
    assert.equal(parseInstant('2026-01-01'), Date.UTC(2026, 0, 1));
    assert.equal(parseInstant('2026-01-01T10:00Z'), Date.UTC(2026, 0, 1, 10));
    assert.equal(parseInstant('2026-01-01t10:00:00.25-02:30'), Date.UTC(2026, 0, 1, 12, 30, 0, 250));
  });

  test('answers null for anything else: no zone, words, negatives, out of range', () => {
    for (const bad of ['2026-01-01T10:00:00', 'soon', '-1', 'x 1', '', -5, Number.NaN, 9e15, '2026-02-30x'])
      assert.equal(parseInstant(bad), null, String(bad));
  });
});
