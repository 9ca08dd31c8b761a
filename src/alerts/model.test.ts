import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { TimelineEntry } from '../leads/model.ts';
import type { Signal } from '../signals/bus.ts';
import {
  ALERT_RETENTION_MS,
  type AlertRule,
  alertKey,
  candidateWindow,
  changeFirings,
  chooseRecipients,
  coveredEmails,
  DAY_MS,
  defaultRuleDrafts,
  indexRules,
  MAX_WITHIN_DAYS,
  type Person,
  prepareRule,
  type RuleInput,
  ruleLeadKey,
  signalFirings,
  windowFires,
  windowFirings,
} from './model.ts';

const NOW = Date.UTC(2026, 0, 10);
const activityTypes = ['demo_requested', 'pricing_viewed', 'page_view'];

function rule(id: string, input: RuleInput): AlertRule {
  const prepared = prepareRule(null, input, id, activityTypes, NOW);
  if (!prepared.ok) throw new Error(JSON.stringify(prepared.errors));
  return prepared.rule;
}

const email = [{ type: 'email' }];
const demo = rule('r-demo', {
  name: 'Demo',
  trigger: { type: 'activity', activity: 'demo_requested' },
  channels: email,
});
const pricing = rule('r-pricing', {
  name: 'Pricing 3x',
  trigger: { type: 'activity', activity: 'pricing_viewed', atLeast: 3, withinDays: 7 },
  channels: email,
});
const hot = rule('r-hot', { name: 'Hot', trigger: { type: 'became_hot' }, channels: email });
const score60 = rule('r-score', {
  name: 'Score',
  trigger: { type: 'score_crossed', threshold: 60 },
  channels: email,
});
const sla = rule('r-sla', { name: 'SLA', trigger: { type: 'sla_warning' }, channels: email });

let n = 0;
function entry(leadId: string, type: string, occurredAt = NOW): TimelineEntry {
  return { id: `e${++n}`, leadId, type, occurredAt, properties: {} };
}

describe('prepareRule', () => {
  const errorsOf = (input: RuleInput, current: AlertRule | null = null) => {
    const out = prepareRule(current, input, 'x', activityTypes, NOW);
    return out.ok ? [] : out.errors.map((e) => e.path).sort();
  };

  it('normalises defaults: enabled, atLeast 1, json webhooks, no fallback', () => {
    const r = rule('r', {
      name: '  Demo  ',
      trigger: { type: 'activity', activity: 'demo_requested' },
      channels: [{ type: 'webhook', url: 'https://hooks.example.com/x' }],
    });
    assert.deepEqual(
      {
        name: r.name,
        enabled: r.enabled,
        trigger: r.trigger,
        channels: r.channels,
        fallbackEmail: r.fallbackEmail,
      },
      {
        name: 'Demo',
        enabled: true,
        trigger: { type: 'activity', activity: 'demo_requested', atLeast: 1, withinDays: null },
        channels: [{ type: 'webhook', url: 'https://hooks.example.com/x', format: 'json' }],
        fallbackEmail: null,
      },
    );
  });

  it('names every field that is wrong', () => {
    assert.deepEqual(errorsOf({}), ['/channels', '/name', '/trigger']);
    assert.deepEqual(
      errorsOf({ name: 'x', trigger: { type: 'activity', activity: 'nope' }, channels: email }),
      ['/trigger/activity'],
    );
    assert.deepEqual(
      errorsOf({
        name: 'x',
        trigger: { type: 'activity', activity: 'pricing_viewed', atLeast: 3 },
        channels: email,
      }),
      ['/trigger/withinDays'],
    );
    assert.deepEqual(
      errorsOf({
        name: 'x',
        trigger: { type: 'activity', activity: 'page_view', withinDays: 3 },
        channels: email,
      }),
      ['/trigger/withinDays'],
    );
    assert.deepEqual(errorsOf({ name: 'x', trigger: { type: 'score_crossed' }, channels: email }), [
      '/trigger/threshold',
    ]);
    assert.deepEqual(
      errorsOf({ name: 'x', trigger: { type: 'became_hot', threshold: 3 }, channels: email }),
      ['/trigger/threshold'],
    );
    assert.deepEqual(
      errorsOf({
        name: 'x',
        trigger: { type: 'became_hot' },
        channels: [{ type: 'email' }, { type: 'email' }],
      }),
      ['/channels'],
    );
    assert.deepEqual(
      errorsOf({
        name: 'x',
        trigger: { type: 'became_hot' },
        channels: [{ type: 'webhook' }, { type: 'email', url: 'https://x.io' }],
      }),
      ['/channels/0/url', '/channels/1/url'],
    );
    assert.deepEqual(
      errorsOf({
        name: 'x',
        trigger: { type: 'became_hot' },
        channels: email,
        fallbackEmail: 'not-an-email',
      }),
      ['/fallbackEmail'],
    );
  });

  it('keeps what a change leaves out', () => {
    const changed = prepareRule(pricing, { enabled: false }, pricing.id, activityTypes, NOW + 5);
    assert.ok(changed.ok);
    assert.deepEqual(changed.rule, { ...pricing, enabled: false, updatedAt: NOW + 5 });
  });

  it('gives valid default rules', () => {
    for (const draft of defaultRuleDrafts()) {
      const out = prepareRule(null, draft, 'd', activityTypes, NOW);
      assert.ok(out.ok, JSON.stringify(out));
    }
  });
});

describe('changeFirings', () => {
  const index = indexRules([demo, pricing, hot, { ...sla, enabled: false }]);

  it('fires an activity rule once per matching entry, and leaves windowed rules to be counted', () => {
    const a = entry('lead-a', 'demo_requested');
    const p1 = entry('lead-a', 'pricing_viewed', NOW - 10);
    const p2 = entry('lead-a', 'pricing_viewed', NOW - 5);
    const other = entry('lead-a', 'page_view');
    const { firings, windowed } = changeFirings(
      index,
      [{ leadId: 'lead-a', entries: [a, p1, p2, other] }],
      NOW,
    );
    assert.deepEqual(
      firings.map((f) => [f.rule.id, f.leadId, f.moment]),
      [['r-demo', 'lead-a', a.id]],
    );
    assert.deepEqual(
      windowed.map((w) => [w.rule.id, w.leadId, w.entry.id]),
      [['r-pricing', 'lead-a', p2.id]],
      'one candidate per rule and lead: the latest entry',
    );
  });

  it('ignores stale activities (imports of history)', () => {
    const old = entry('lead-a', 'demo_requested', NOW - 2 * DAY_MS);
    assert.deepEqual(changeFirings(index, [{ leadId: 'lead-a', entries: [old] }], NOW).firings, []);
  });

  it('fires "became hot" rules on a temperature change to hot, and on no other', () => {
    const toHot = { ...entry('lead-a', 'temperature_changed'), properties: { from: 'warm', to: 'hot' } };
    const toWarm = { ...entry('lead-a', 'temperature_changed'), properties: { from: 'cold', to: 'warm' } };
    const { firings } = changeFirings(index, [{ leadId: 'lead-a', entries: [toWarm, toHot] }], NOW);
    assert.deepEqual(
      firings.map((f) => [f.rule.id, f.moment, f.facts]),
      [['r-hot', `hot:${NOW}`, { type: 'became_hot', at: NOW }]],
    );
  });

  it('does nothing without activity or "became hot" rules', () => {
    const none = indexRules([score60, sla]);
    const toHot = { ...entry('x', 'temperature_changed'), properties: { from: 'warm', to: 'hot' } };
    const out = changeFirings(none, [{ leadId: 'x', entries: [entry('x', 'demo_requested'), toHot] }], NOW);
    assert.deepEqual(out, { firings: [], windowed: [] });
    assert.equal(none.wantsLeadSignals, true, 'score rules need lead.score_crossed');
    assert.equal(
      indexRules([demo, hot, sla]).wantsLeadSignals,
      false,
      'the defaults need no derived signals',
    );
  });
});

describe('windowFires', () => {
  it('fires when the count reaches the threshold, then not again within the window', () => {
    assert.equal(windowFires(2, 3, 7, undefined, NOW), false);
    assert.equal(windowFires(3, 3, 7, undefined, NOW), true);
    assert.equal(windowFires(4, 3, 7, NOW - DAY_MS, NOW), false);
    assert.equal(windowFires(3, 3, 7, NOW - 7 * DAY_MS, NOW), true);
  });

  it('never fires twice within one window (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 60 * DAY_MS }), { minLength: 1, maxLength: 40 }),
        (days, atLeast, offsets) => {
          let last: number | undefined;
          for (const at of [...offsets].sort((a, b) => a - b)) {
            if (windowFires(atLeast, atLeast, days, last, at)) {
              if (last !== undefined) assert.ok(at - last >= days * DAY_MS);
              last = at;
            }
          }
        },
      ),
    );
  });
});

describe('windowFirings', () => {
  const index = indexRules([pricing]);
  const candidates = changeFirings(
    index,
    [
      { leadId: 'lead-a', entries: [entry('lead-a', 'pricing_viewed', NOW - 60_000)] },
      { leadId: 'lead-b', entries: [entry('lead-b', 'pricing_viewed')] },
      { leadId: 'lead-c', entries: [entry('lead-c', 'pricing_viewed')] },
    ],
    NOW,
  ).windowed;

  it('counts each candidate over the 7 days up to its own entry', () => {
    assert.deepEqual(candidateWindow(candidates[0]!), {
      leadId: 'lead-a',
      type: 'pricing_viewed',
      after: NOW - 60_000 - 7 * DAY_MS,
      until: NOW - 60_000,
    });
  });

  it('fires the candidates whose count reached atLeast and whose rule was quiet for the lead within the window', () => {
    const last = new Map([[ruleLeadKey('r-pricing', 'lead-b'), NOW - DAY_MS]]);
    const firings = windowFirings(candidates, [3, 5, 2], last, NOW);
    assert.deepEqual(
      firings.map((f) => [f.leadId, f.moment, f.facts]),
      [
        [
          'lead-a',
          candidates[0]!.entry.id,
          {
            type: 'activity',
            activity: 'pricing_viewed',
            occurredAt: NOW - 60_000,
            count: 3,
            withinDays: 7,
          },
        ],
      ],
      'lead-b fired a day ago; lead-c has 2 of 3',
    );
  });

  it('keeps alerts longer than the longest window, so a windowed rule sees when it last fired', () => {
    assert.ok(ALERT_RETENTION_MS > MAX_WITHIN_DAYS * DAY_MS);
  });
});

describe('signalFirings', () => {
  const signal = (
    type: Signal['type'],
    leadId: string | undefined,
    data: Record<string, unknown> = {},
  ): Signal => ({
    type,
    leadId,
    at: NOW,
    data,
  });

  it('maps score crossings at or above the threshold (upwards, highest once) and SLA warnings', () => {
    const firings = signalFirings(
      [hot, score60, sla],
      [
        signal('lead.score_crossed', 'lead-a', { threshold: 50, direction: 'up', from: 40, to: 80 }),
        signal('lead.score_crossed', 'lead-a', { threshold: 75, direction: 'up', from: 40, to: 80 }),
        signal('lead.score_crossed', 'lead-b', { threshold: 75, direction: 'down', from: 80, to: 40 }),
        signal('lead.score_crossed', 'lead-c', { threshold: 50, direction: 'up', from: 40, to: 55 }),
        signal('sla.warning', 'lead-d', { timerId: 't1', dueAt: '2026-01-10T01:00:00.000Z' }),
        signal('sla.warning', undefined, { timerId: 't2' }),
        signal('lead.created', 'lead-e'),
      ],
    );
    assert.deepEqual(
      firings.map((f) => [f.rule.id, f.leadId, f.moment]),
      [
        ['r-score', 'lead-a', `score:75:${NOW}`],
        ['r-sla', 'lead-d', `sla:t1:${NOW}`],
      ],
    );
    const crossing = firings[0]!;
    assert.deepEqual(crossing.facts, { type: 'score_crossed', at: NOW, threshold: 75, from: 40, to: 80 });
    assert.equal(alertKey(crossing, 0), `alert:r-score:lead-a:score:75:${NOW}:0`);
  });
});

describe('chooseRecipients', () => {
  const person = (id: string, active = true, managerId: string | null = null): Person => ({
    id,
    name: id,
    email: `${id}@example.com`,
    managerId,
    active,
  });

  it('owner first, then the inactive owner’s manager, then the fallback, else nobody', () => {
    assert.deepEqual(chooseRecipients(person('owner'), undefined, 'f@example.com'), {
      to: ['owner@example.com'],
      via: 'owner',
    });
    assert.deepEqual(chooseRecipients(person('owner', false, 'boss'), person('boss'), 'f@example.com'), {
      to: ['boss@example.com'],
      via: 'manager',
    });
    assert.deepEqual(chooseRecipients(person('owner', false), undefined, 'f@example.com'), {
      to: ['f@example.com'],
      via: 'fallback',
    });
    assert.deepEqual(chooseRecipients(undefined, undefined, 'f@example.com'), {
      to: ['f@example.com'],
      via: 'fallback',
    });
    assert.equal(chooseRecipients(undefined, undefined, null), null);
    assert.equal(chooseRecipients(person('owner', false, 'boss'), person('boss', false), null), null);
  });
});

describe('coveredEmails', () => {
  const alert = (
    id: string,
    leadId: string,
    type: 'activity' | 'became_hot' | 'score_crossed',
    channel = 'email',
  ) => ({
    id,
    leadId,
    channel:
      channel === 'email'
        ? { type: 'email' as const }
        : { type: 'webhook' as const, url: 'https://x.example/', format: 'json' as const },
    trigger:
      type === 'activity'
        ? { type, activity: 'demo_requested', occurredAt: NOW, count: 1, withinDays: null }
        : type === 'became_hot'
          ? { type, at: NOW }
          : { type, at: NOW, threshold: 75, from: 40, to: 80 },
  });

  it('keeps one email per lead, the most specific trigger first; webhooks and other leads are not covered', () => {
    const hotA = alert('1', 'a', 'became_hot');
    const demoA = alert('2', 'a', 'activity');
    const scoreA = alert('3', 'a', 'score_crossed');
    const hookA = alert('4', 'a', 'became_hot', 'webhook');
    const hotB = alert('5', 'b', 'became_hot');
    const covered = coveredEmails([hotA, demoA, scoreA, hookA, hotB]);
    assert.deepEqual(
      [...covered].map(([id, winner]) => [id, winner.id]),
      [
        ['1', '2'],
        ['3', '2'],
      ],
    );
  });
});
