import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { afterFailure, errorText, exponentialBackoff, PermanentJobFailure, RetryJobLater } from './model.ts';

describe('exponentialBackoff', () => {
  it('doubles from 2 s with ±20 % jitter and stops growing at one hour', () => {
    assert.equal(
      exponentialBackoff(1, () => 0.5),
      2_000,
    );
    assert.equal(
      exponentialBackoff(2, () => 0.5),
      4_000,
    );
    assert.equal(
      exponentialBackoff(5, () => 0.5),
      32_000,
    );
    assert.equal(
      exponentialBackoff(1, () => 0),
      1_600,
    );
    assert.equal(
      exponentialBackoff(1, () => 1),
      2_400,
    );
    assert.equal(
      exponentialBackoff(40, () => 0.5),
      3_600_000,
    );
  });
});

describe('afterFailure', () => {
  const delay = (attempt: number) => attempt * 1000;

  it('queues the job again after the kind’s delay while attempts remain', () => {
    assert.deepEqual(afterFailure(new Error('x'), 1, 3, 10_000, delay), { state: 'queued', runAt: 11_000 });
    assert.deepEqual(afterFailure(new Error('x'), 2, 3, 10_000, delay), { state: 'queued', runAt: 12_000 });
  });

  it('makes the job dead after its last attempt', () => {
    assert.deepEqual(afterFailure(new Error('x'), 3, 3, 10_000, delay), { state: 'dead' });
  });

  it('goes dead at once on a permanent failure, and retries when the handler asks', () => {
    assert.deepEqual(afterFailure(new PermanentJobFailure('gone'), 1, 10, 0, delay), { state: 'dead' });
    assert.deepEqual(afterFailure(new RetryJobLater('busy', 60_000), 1, 10, 5, delay), {
      state: 'queued',
      runAt: 60_005,
    });
  });
});

describe('errorText', () => {
  it('names the error and keeps it short', () => {
    assert.equal(errorText(new TypeError('bad')), 'TypeError: bad');
    assert.equal(errorText('plain'), 'plain');
    assert.equal(errorText(new Error('y'.repeat(5000))).length, 2000);
  });
});
