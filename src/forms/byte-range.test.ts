import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rangeAnswer } from './byte-range.ts';

const etag = '"abc"';

test('no Range: the whole file', () => {
  assert.deepEqual(rangeAnswer(100, etag, undefined, undefined), { kind: 'whole' });
});

test('one range, open-ended or from the end, is cut to the file', () => {
  assert.deepEqual(rangeAnswer(100, etag, 'bytes=0-9', undefined), { kind: 'part', start: 0, end: 9 });
  assert.deepEqual(rangeAnswer(100, etag, 'bytes=90-', undefined), { kind: 'part', start: 90, end: 99 });
  assert.deepEqual(rangeAnswer(100, etag, 'bytes=-10', undefined), { kind: 'part', start: 90, end: 99 });
  assert.deepEqual(rangeAnswer(100, etag, 'bytes=50-500', undefined), { kind: 'part', start: 50, end: 99 });
});

test('a range wholly past the end cannot be satisfied', () => {
  assert.deepEqual(rangeAnswer(100, etag, 'bytes=100-200', undefined), { kind: 'unsatisfiable' });
  assert.deepEqual(rangeAnswer(0, etag, 'bytes=0-0', undefined), { kind: 'unsatisfiable' });
});

test('malformed ranges (backwards too: RFC 9110 calls them invalid), other units and several ranges are ignored: the whole file', () => {
  for (const range of ['bytes=abc', 'items=0-1', 'bytes=0-1,50-60', 'bytes=9-1', 'bytes=10-5,0-1'])
    assert.deepEqual(rangeAnswer(100, etag, range, undefined), { kind: 'whole' }, range);
});

test('overlapping ranges that combine into one are served as one part', () => {
  assert.deepEqual(rangeAnswer(100, etag, 'bytes=0-10,5-20', undefined), { kind: 'part', start: 0, end: 20 });
});

test('If-Range: the part only while the file is the one named, else the whole file', () => {
  assert.deepEqual(rangeAnswer(100, etag, 'bytes=0-9', etag), { kind: 'part', start: 0, end: 9 });
  assert.deepEqual(rangeAnswer(100, etag, 'bytes=0-9', '"other"'), { kind: 'whole' });
  assert.deepEqual(rangeAnswer(100, etag, 'bytes=0-9', 'Mon, 23 Nov 2026 10:00:00 GMT'), { kind: 'whole' });
});
