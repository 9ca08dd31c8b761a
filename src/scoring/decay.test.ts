import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  addPoints,
  DAY_MS,
  DECAY_EPOCH_MS,
  encodePoints,
  halfLifeMs,
  logAddExp2,
  rebaseK,
  thresholdK,
  timeValueReaches,
  valueAt,
} from './decay.ts';

const h = halfLifeMs(30);
const t0 = Date.UTC(2026, 2, 1);

function close(actual: number, expected: number, relative = 1e-9): void {
  assert.ok(
    Math.abs(actual - expected) <= relative * Math.max(1, Math.abs(expected)),
    `${actual} is not close to ${expected}`,
  );
}

describe('log-domain points', () => {
  test('points halve every half-life', () => {
    const k = encodePoints(25, t0, h);
    close(valueAt(k, t0, h), 25);
    close(valueAt(k, t0 + 30 * DAY_MS, h), 12.5);
    close(valueAt(k, t0 + 60 * DAY_MS, h), 6.25);
    close(valueAt(k, t0 + 15 * DAY_MS, h), 25 / Math.SQRT2);
  });

  test('no points is null, and adds nothing', () => {
    assert.equal(valueAt(null, t0, h), 0);
    assert.equal(encodePoints(0, t0, h), null);
    assert.equal(logAddExp2(null, null), null);
    assert.equal(logAddExp2(3, null), 3);
    assert.equal(addPoints(null, 0, t0, h), null);
  });

  test('an addition far past the epoch with a short half-life neither overflows nor loses precision', () => {
    const hour = halfLifeMs(1 / 24);
    const late = Date.UTC(2090, 0, 1); // ~614,000 half-lives after the epoch: 2^u would be Infinity
    let k = addPoints(null, 10, late, hour);
    k = addPoints(k, 5, late, hour);
    close(valueAt(k, late, hour), 15, 1e-9);
    close(valueAt(k, late + 3_600_000, hour), 7.5, 1e-9);
  });

  test('a late addition decays from its own time', () => {
    const k = addPoints(addPoints(null, 10, t0 + 30 * DAY_MS, h), 10, t0, h);
    close(valueAt(k, t0 + 30 * DAY_MS, h), 15);
  });

  test('equals the naive sum of decayed points (property)', () => {
    const award = fc.record({
      points: fc.double({ min: 0.01, max: 1000, noNaN: true }),
      at: fc.integer({ min: 0, max: 400 }),
    });
    fc.assert(
      fc.property(
        fc.array(award, { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 800 }),
        (awards, nowDays) => {
          const now = DECAY_EPOCH_MS + nowDays * DAY_MS;
          let k: number | null = null;
          let naive = 0;
          for (const { points, at } of awards) {
            const t = DECAY_EPOCH_MS + at * DAY_MS;
            k = addPoints(k, points, t, h);
            naive += points * 0.5 ** ((now - t) / h);
          }
          close(valueAt(k, now, h), naive, 1e-9);
        },
      ),
    );
  });

  test('decays monotonically (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -100, max: 100, noNaN: true }),
        fc.integer({ min: 0, max: 10_000 * DAY_MS }),
        fc.integer({ min: 0, max: 1000 * DAY_MS }),
        (k, t, dt) => {
          assert.ok(valueAt(k, DECAY_EPOCH_MS + t + dt, h) <= valueAt(k, DECAY_EPOCH_MS + t, h));
        },
      ),
    );
  });
});

describe('thresholds', () => {
  test('value above θ now is k above the bound', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 500, noNaN: true }),
        fc.integer({ min: 0, max: 300 }),
        fc.double({ min: 0.1, max: 100, noNaN: true }),
        (points, days, theta) => {
          const k = encodePoints(points, t0, h)!;
          const now = t0 + days * DAY_MS;
          const value = valueAt(k, now, h);
          if (Math.abs(value - theta) > 1e-9 * theta)
            assert.equal(k > thresholdK(theta, now, h), value > theta);
        },
      ),
    );
    assert.equal(thresholdK(0, t0, h), Number.NEGATIVE_INFINITY);
  });

  test('the time points decay to θ', () => {
    const k = encodePoints(40, t0, h);
    close(timeValueReaches(k, 20, h)!, t0 + 30 * DAY_MS);
    close(timeValueReaches(k, 80, h)!, t0 - 30 * DAY_MS);
    assert.equal(timeValueReaches(null, 20, h), null);
    assert.equal(timeValueReaches(k, 0, h), null);
  });

  test('rebasing keeps the value at that time, then decays at the new rate', () => {
    const k = encodePoints(40, t0, h);
    const at = t0 + 30 * DAY_MS;
    const rebased = rebaseK(k, h, halfLifeMs(10), at);
    close(valueAt(rebased, at, halfLifeMs(10)), 20);
    close(valueAt(rebased, at + 10 * DAY_MS, halfLifeMs(10)), 10);
    assert.equal(rebaseK(null, h, 1, at), null);
  });
});
