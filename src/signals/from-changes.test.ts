import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Lead, newLead, type TimelineEntry } from '../leads/model.ts';
import type { LeadChange } from '../leads/reactions.ts';
import type { Score } from '../scoring/engine.ts';
import { defaultScoreThresholds, scoreCrossings, signalsFromChanges } from './from-changes.ts';

const T0 = Date.UTC(2026, 0, 1);

function lead(fitScore: number, overrides: Partial<Lead> = {}): Lead {
  const base = newLead('lead-1', 'ws', { email: 'ada@example.org' }, 'lead', T0);
  return { ...base, ...overrides, scoring: { ...base.scoring, fitScore } };
}

/** Scores a lead by its fit alone: enough to move a score in these tests. */
const scoreOf = (l: Lead): Score => ({
  score: l.scoring.fitScore,
  fitScore: l.scoring.fitScore,
  behaviourScore: 0,
  negativeScore: 0,
  grade: 'A1',
  fitGrade: 'A',
  engagement: 1,
});

const ctx = { scoreOf, thresholds: defaultScoreThresholds, now: T0 + 1000 };

function entry(type: string, properties: Record<string, unknown>, at = T0): TimelineEntry {
  return { id: `e-${type}`, leadId: 'lead-1', type, occurredAt: at, properties };
}

describe('signalsFromChanges', () => {
  it('turns a created lead into lead.created carrying the lead and its score', () => {
    const after = lead(20);
    const [signal, ...rest] = signalsFromChanges(
      [{ leadId: 'lead-1', before: null, after, entries: [entry('lead_created', { via: 'api' })] }],
      ctx,
    );
    assert.equal(rest.length, 0, 'a new lead crosses no threshold: it had no score before');
    assert.equal(signal!.type, 'lead.created');
    assert.equal(signal!.leadId, 'lead-1');
    assert.equal(signal!.at, T0);
    assert.equal(signal!.data.via, 'api');
    const json = signal!.data.lead as { id: string; score: number; email: string };
    assert.deepEqual([json.id, json.score, json.email], ['lead-1', 20, 'ada@example.org']);
    assert.ok(!('scoring' in json), 'the lead is shown as the API shows it');
  });

  it('maps updates, stage changes, becoming hot and form submissions from the entries', () => {
    const before = lead(10);
    const after = lead(10, { stage: 'mql' });
    const signals = signalsFromChanges(
      [
        {
          leadId: 'lead-1',
          before,
          after,
          entries: [
            entry('lead_updated', { via: 'api', changed: ['company', 'jobTitle'] }),
            entry('stage_changed', { from: 'lead', to: 'mql', cause: 'rule' }),
            entry('temperature_changed', { from: 'warm', to: 'hot' }),
            entry('temperature_changed', { from: 'hot', to: 'warm' }),
            entry('form_submitted', { form: 'demo', page: '/pricing' }),
            entry('page_view', { path: '/' }),
          ],
        },
      ],
      ctx,
    );
    assert.deepEqual(
      signals.map((s) => [s.type, withoutLead(s.data)]),
      [
        ['lead.updated', { changed: ['company', 'jobTitle'] }],
        ['lead.stage_changed', { from: 'lead', to: 'mql', cause: 'rule' }],
        ['lead.became_hot', { from: 'warm', to: 'hot' }],
        [
          'form.submitted',
          { activityId: 'e-form_submitted', properties: { form: 'demo', page: '/pricing' } },
        ],
      ],
    );
    for (const s of signals) assert.equal((s.data.lead as { stage: string }).stage, 'mql');
  });

  it('raises lead.score_crossed for each threshold crossed, up and down, with from and to', () => {
    const up = signalsFromChanges(
      [{ leadId: 'lead-1', before: lead(40), after: lead(80), entries: [] }],
      ctx,
    );
    assert.deepEqual(
      up.map((s) => withoutLead(s.data)),
      [
        { threshold: 50, direction: 'up', from: 40, to: 80 },
        { threshold: 75, direction: 'up', from: 40, to: 80 },
      ],
    );
    assert.ok(up.every((s) => s.type === 'lead.score_crossed' && s.at === ctx.now));
    const down = signalsFromChanges([{ leadId: 'lead-1', before: lead(60), after: lead(50), entries: [] }], {
      ...ctx,
      thresholds: [50, 60],
    });
    assert.deepEqual(
      down.map((s) => withoutLead(s.data)),
      [{ threshold: 60, direction: 'down', from: 60, to: 50 }],
      'reaching a threshold exactly counts as being at it',
    );
  });

  it('derives nothing it cannot know: no lead loaded means no lead, no score and no crossing', () => {
    const change: LeadChange = {
      leadId: 'lead-1',
      entries: [entry('form_submitted', { form: 'contact' }), entry('page_view', {})],
    };
    const signals = signalsFromChanges([change], ctx);
    assert.deepEqual(
      signals.map((s) => [s.type, s.leadId, s.data]),
      [['form.submitted', 'lead-1', { activityId: 'e-form_submitted', properties: { form: 'contact' } }]],
    );
    assert.deepEqual(
      signalsFromChanges([{ leadId: 'lead-1', before: lead(10), after: lead(10), entries: [] }], ctx),
      [],
      'an unchanged score and no entries: nothing happened',
    );
  });
});

describe('scoreCrossings', () => {
  it('crosses each threshold between the scores once, in the order the score passed them', () => {
    assert.deepEqual(scoreCrossings(0, 100, [75, 50, 50]), [
      { threshold: 50, direction: 'up' },
      { threshold: 75, direction: 'up' },
    ]);
    assert.deepEqual(scoreCrossings(100, 0, [50, 75]), [
      { threshold: 75, direction: 'down' },
      { threshold: 50, direction: 'down' },
    ]);
    assert.deepEqual(scoreCrossings(49.5, 50, [50]), [{ threshold: 50, direction: 'up' }]);
    assert.deepEqual(scoreCrossings(50, 50, [50]), []);
  });

  it('a move there and back crosses the same thresholds in both directions', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 5 }),
        (a, b, thresholds) => {
          const there = scoreCrossings(a, b, thresholds).map((c) => c.threshold);
          const back = scoreCrossings(b, a, thresholds).map((c) => c.threshold);
          assert.deepEqual([...back].reverse(), there);
          // Above a crossed threshold afterwards exactly when the move went up.
          for (const t of there) assert.equal(b >= t, b > a);
        },
      ),
    );
  });
});

function withoutLead(data: Record<string, unknown>): Record<string, unknown> {
  const { lead: _lead, ...rest } = data;
  return rest;
}
