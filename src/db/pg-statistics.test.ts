import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_CHANGES, needsAnalyze, type TableActivity } from './pg-statistics.ts';

const NOW = Date.UTC(2026, 10, 24, 12);
const MINUTE = 60_000;

function table(overrides: Partial<TableActivity>): TableActivity {
  return {
    table: 'leads',
    liveRows: 100_000,
    plannedRows: 100_000,
    changedSinceAnalyze: 0,
    analyzedAt: NOW - MINUTE,
    ...overrides,
  };
}

describe('needsAnalyze', () => {
  it('analyzes a table that was never analyzed once it has enough changes', () => {
    const fresh = { plannedRows: -1, analyzedAt: null, liveRows: 20_000 };
    assert.equal(needsAnalyze(table({ ...fresh, changedSinceAnalyze: 20_000 }), NOW), true);
    // PostgreSQL before 14 says 0 rows, not -1, for a table never analyzed.
    assert.equal(needsAnalyze(table({ ...fresh, plannedRows: 0, changedSinceAnalyze: 20_000 }), NOW), true);
  });

  it('leaves small tables alone: a few hundred rows plan well without statistics', () => {
    const fresh = { plannedRows: -1, analyzedAt: null, liveRows: MIN_CHANGES - 1 };
    assert.equal(needsAnalyze(table({ ...fresh, changedSinceAnalyze: MIN_CHANGES - 1 }), NOW), false);
    assert.equal(needsAnalyze(table({ ...fresh, changedSinceAnalyze: MIN_CHANGES }), NOW), true);
  });

  it('analyzes a table again once it has doubled since its statistics', () => {
    const grown = { plannedRows: 50_000, changedSinceAnalyze: 50_000 };
    assert.equal(needsAnalyze(table({ ...grown, liveRows: 99_999 }), NOW), false);
    assert.equal(needsAnalyze(table({ ...grown, liveRows: 100_000 }), NOW), true);
  });

  it('refreshes a table whose rows churn at the same size at most every ten minutes', () => {
    // A tenth of the rows changed (autovacuum's own threshold), the size unchanged.
    const churned = { changedSinceAnalyze: 10_000 };
    assert.equal(needsAnalyze(table({ ...churned, analyzedAt: NOW - 9 * MINUTE }), NOW), false);
    assert.equal(needsAnalyze(table({ ...churned, analyzedAt: NOW - 10 * MINUTE }), NOW), true);
    assert.equal(
      needsAnalyze(table({ changedSinceAnalyze: 9_999, analyzedAt: NOW - 60 * MINUTE }), NOW),
      false,
    );
  });
});
