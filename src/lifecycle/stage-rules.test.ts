import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newLead } from '../leads/model.ts';
import {
  newFlags,
  nextStage,
  parseStageRules,
  defaultStageRules as rules,
  type StageRules,
} from './stage-rules.ts';

const t0 = Date.UTC(2026, 7, 1);
const act = (type: string, properties: Record<string, unknown> = {}) => ({ type, properties });

describe('nextStage', () => {
  test('lead -> MQL at a score of 50', () => {
    assert.equal(nextStage(rules, 'lead', 49.99), null);
    assert.deepEqual(nextStage(rules, 'lead', 50), {
      stage: 'mql',
      cause: { ruleId: 'mql-score', reason: 'score', detail: 'score 50 ≥ 50' },
    });
  });

  test('lead -> MQL on a demo request, whatever the score', () => {
    assert.deepEqual(nextStage(rules, 'subscriber', 3, act('demo_requested')), {
      stage: 'mql',
      cause: { ruleId: 'mql-demo', reason: 'activity', detail: 'activity demo_requested' },
    });
    assert.equal(nextStage(rules, 'lead', 3, act('page_view')), null);
  });

  test('only forward: an SQL stays, a disqualified lead stays', () => {
    assert.equal(nextStage(rules, 'sql', 90, act('demo_requested')), null);
    assert.equal(nextStage(rules, 'mql', 90), null);
    assert.equal(nextStage(rules, 'disqualified', 90, act('demo_requested')), null);
  });

  test('the furthest stage wins; lead conditions must hold', () => {
    const custom: StageRules = {
      moves: [
        { id: 'mql', to: 'mql', minScore: 40 },
        {
          id: 'customer',
          to: 'customer',
          activities: [{ type: 'custom', where: { name: { in: ['order_placed'] } } }],
        },
        { id: 'sql-big', to: 'sql', minScore: 40, lead: { companySize: { min: 1000 } } },
      ],
      flags: [],
    };
    const order = act('custom', { name: 'order_placed' });
    assert.equal(nextStage(custom, 'lead', 45, order)?.stage, 'customer');
    assert.equal(nextStage(custom, 'lead', 45)?.stage, 'mql');
    const big = newLead('l', 'w', { companySize: 5000 }, 'lead', t0);
    assert.deepEqual(nextStage(custom, 'lead', 45, undefined, big)?.cause.ruleId, 'sql-big');
  });
});

describe('newFlags', () => {
  test('PQL on a usage limit, or a premium feature during a trial', () => {
    assert.deepEqual(newFlags(rules, {}, act('usage_limit_reached')), [
      {
        flag: 'pql',
        cause: { ruleId: 'pql-usage', reason: 'activity', detail: 'activity usage_limit_reached' },
      },
    ]);
    assert.equal(newFlags(rules, {}, act('product_used', { premium: true, plan: 'trial' }))[0]?.flag, 'pql');
    assert.deepEqual(newFlags(rules, {}, act('product_used', { premium: true, plan: 'paid' })), []);
    assert.deepEqual(newFlags(rules, { pql: true }, act('usage_limit_reached')), []);
  });

  test('service-qualified on purchase intent in support', () => {
    assert.equal(
      newFlags(rules, {}, act('support_request', { intent: 'upgrade' }))[0]?.flag,
      'serviceQualified',
    );
    assert.deepEqual(newFlags(rules, {}, act('support_request', { intent: 'bug' })), []);
  });
});

describe('parseStageRules', () => {
  test('accepts the defaults', () => {
    assert.deepEqual(parseStageRules(rules), { ok: true, value: rules });
    assert.deepEqual(parseStageRules({ moves: [] }), { ok: true, value: { moves: [], flags: [] } });
  });

  test('reports bad rules by path', () => {
    const result = parseStageRules({
      moves: [
        { id: 'a', to: 'disqualified', minScore: 10 },
        { id: 'a', to: 'mql' },
        { id: 'c', to: 'mql', activities: [{ type: 'page_view', where: { url: { min: 5, max: 1 } } }] },
      ],
      flags: [{ id: 'f', flag: 'vip', activities: [{ type: 'page_view' }], lead: { shoeSize: { min: 40 } } }],
    });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(
      result.errors.map((e) => e.path),
      [
        '/moves/0/to',
        '/moves/1/id',
        '/moves/1',
        '/moves/2/activities/0/where/url/max',
        '/flags/0/flag',
        '/flags/0/lead/shoeSize',
      ],
    );
  });

  test('reports schema errors first', () => {
    const result = parseStageRules({ moves: [{ id: 'a', to: 'mql', minScore: 500 }] });
    assert.equal(result.ok, false);
    if (!result.ok)
      assert.deepEqual(
        result.errors.map((e) => e.path),
        ['/moves/0/minScore'],
      );
  });
});
