import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newLead } from '../leads/model.ts';
import { DAY_MS } from './decay.ts';
import { applyActivities, emptyState } from './engine.ts';
import { explainScore } from './explain.ts';
import { defaultGrades, type ScoringModel } from './model.ts';

const t0 = Date.UTC(2026, 4, 1);

const model: ScoringModel = {
  halfLifeDays: 10,
  grades: defaultGrades,
  competitorDomains: [],
  fit: [
    { id: 'size', label: 'Company size', points: 15, when: { companySize: { min: 50 } } },
    { id: 'industry', label: 'Industry', points: 20, when: { industry: { in: ['retail'] } } },
  ],
  behaviour: [
    { id: 'pricing', label: 'Pricing visit', points: 25, type: 'page_view', cap: 30 },
    { id: 'webinar', label: 'Webinar', points: 15, type: 'webinar_attended' },
  ],
  negative: [
    { id: 'student', label: 'Student', points: -30, when: { jobTitle: { matches: ['student'] } } },
    { id: 'unsub', label: 'Unsubscribed', points: -20, type: 'email_unsubscribed', once: true },
  ],
};

const lead = newLead('l1', 'w1', { companySize: 80, jobTitle: 'PhD student' }, 'lead', t0);

describe('explainScore', () => {
  const state = applyActivities(
    model,
    emptyState(model),
    [
      { id: 'a', type: 'page_view', occurredAt: t0, properties: {} },
      { id: 'b', type: 'page_view', occurredAt: t0, properties: {} },
      { id: 'c', type: 'email_unsubscribed', occurredAt: t0 + DAY_MS, properties: {} },
    ],
    t0,
  );

  test('lists every rule that counts, with points then and now, times, counts and caps', () => {
    const now = t0 + 10 * DAY_MS;
    const explanation = explainScore(model, state, lead, now);
    assert.deepEqual(explanation.rules, [
      {
        id: 'size',
        label: 'Company size',
        kind: 'fit',
        pointsThen: 15,
        pointsNow: 15,
        firstAt: null,
        lastAt: null,
        count: 1,
        capped: 0,
      },
      {
        id: 'pricing',
        label: 'Pricing visit',
        kind: 'behaviour',
        pointsThen: 30,
        pointsNow: 15,
        firstAt: t0,
        lastAt: t0,
        count: 2,
        capped: 20,
      },
      {
        id: 'student',
        label: 'Student',
        kind: 'negative',
        pointsThen: -30,
        pointsNow: -30,
        firstAt: null,
        lastAt: null,
        count: 1,
        capped: 0,
      },
      {
        id: 'unsub',
        label: 'Unsubscribed',
        kind: 'negative',
        pointsThen: -20,
        pointsNow: -20,
        firstAt: t0 + DAY_MS,
        lastAt: t0 + DAY_MS,
        count: 1,
        capped: 0,
      },
    ]);
    assert.equal(explanation.fitScore, 15);
    assert.equal(explanation.behaviourScore, 15);
    assert.equal(explanation.negativeScore, -50);
    assert.equal(explanation.uncapped, -20);
    assert.equal(explanation.score, 0);
    assert.equal(explanation.grade, 'D3');
    assert.equal(explanation.at, now);
    assert.equal(explanation.halfLifeDays, 10);
  });

  test('keeps points of a rule the model no longer has, marked removed', () => {
    const edited: ScoringModel = { ...model, behaviour: [model.behaviour[1]!] };
    const rules = explainScore(edited, state, lead, t0).rules;
    const removed = rules.find((r) => r.id === 'pricing');
    assert.equal(removed?.removed, true);
    assert.equal(removed?.label, 'pricing');
    assert.equal(rules.at(-1)?.id, 'pricing');
  });

  test('a lead without activities is explained by its fit alone', () => {
    const explanation = explainScore(model, null, newLead('l2', 'w1', { companySize: 80 }, 'lead', t0), t0);
    assert.deepEqual(
      explanation.rules.map((r) => r.id),
      ['size'],
    );
    assert.equal(explanation.score, 15);
  });
});
