import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isCalendarDate, parseInstant, parseIsoTime } from './time.ts';

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

describe('parseIsoTime', () => {
  test('refuses dates and times that do not exist, which Date.parse rolls over', () => {
    for (const impossible of [
      '2027-02-30T09:00:00Z',
      '2026-04-31',
      '2026-02-29',
      '2026-13-01',
      '2026-00-10',
      '2026-01-01T24:00:00Z',
      '2026-01-01T10:60Z',
      '2026-01-01T10:00:60Z',
    ])
      assert.ok(Number.isNaN(parseIsoTime(impossible)), impossible);
    assert.equal(parseIsoTime('2028-02-29T23:59:59Z'), Date.UTC(2028, 1, 29, 23, 59, 59));
    assert.equal(parseInstant('2026-02-30T00:00:00Z'), null);
  });

  test('isCalendarDate reads the date at the start of a date-time, years before 100 as given', () => {
    assert.equal(isCalendarDate('2024-02-29T10:00:00Z'), true);
    assert.equal(isCalendarDate('0004-02-29'), true);
    assert.equal(isCalendarDate('0100-02-29'), false);
    assert.equal(isCalendarDate('2026-1-01'), false);
  });
});
