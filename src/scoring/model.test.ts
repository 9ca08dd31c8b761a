import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newLead } from '../leads/model.ts';
import { DAY_MS } from './decay.ts';
import { applyActivities, computeFit, emptyState, scoreAt } from './engine.ts';
import { type Activity, defaultModel, isProfileRule, scoringActivityTypes } from './model.ts';
import { validateModel } from './model-format.ts';

const t0 = Date.UTC(2026, 2, 2, 9);

/** A lead matching all four fit rules: 10 + 15 + 20 + 5 = 50. */
const ideal = newLead(
  'l1',
  'w1',
  {
    email: 'jane@acme.io',
    jobTitle: 'VP of Marketing',
    companySize: 200,
    industry: 'Software',
    country: 'US',
  },
  'lead',
  t0,
);

/** Content download, pricing visit, webinar and five email opens, all at t0: 5 + 25 + 15 + 10 = 55. */
const example: Activity[] = [
  { id: 'd', type: 'content_downloaded', occurredAt: t0, properties: { asset: 'guide.pdf' } },
  { id: 'p', type: 'page_view', occurredAt: t0, properties: { url: 'https://acme.io/pricing' } },
  { id: 'w', type: 'webinar_attended', occurredAt: t0, properties: {} },
  ...[1, 2, 3, 4, 5].map((i) => ({ id: `e${i}`, type: 'email_opened', occurredAt: t0, properties: {} })),
];

describe('the default model (the published example)', () => {
  test('is a valid model', () => {
    const result = validateModel(defaultModel);
    assert.ok(result.ok);
    assert.deepEqual(result.model, defaultModel);
  });

  test('fit: job title +10, company size +15, industry +20, location +5', () => {
    assert.deepEqual(
      computeFit(defaultModel, ideal).rules.map((r) => [r.id, r.points]),
      [
        ['senior-title', 10],
        ['company-size', 15],
        ['target-industry', 20],
        ['target-location', 5],
      ],
    );
  });

  test('50 fit + 55 behaviour = 105, capped at 100', () => {
    const state = applyActivities(defaultModel, emptyState(defaultModel), example, t0);
    assert.deepEqual(scoreAt(defaultModel, state, ideal, t0), {
      score: 100,
      fitScore: 50,
      behaviourScore: 55,
      negativeScore: 0,
      grade: 'A1',
      fitGrade: 'A',
      engagement: 1,
    });
  });

  test('after one half-life (30 days) behaviour is 27.5 and the score 77.5; after two, 13.75 and 63.75', () => {
    const state = applyActivities(defaultModel, emptyState(defaultModel), example, t0);
    const one = scoreAt(defaultModel, state, ideal, t0 + 30 * DAY_MS);
    assert.deepEqual([one.behaviourScore, one.score, one.grade], [27.5, 77.5, 'A2']);
    const two = scoreAt(defaultModel, state, ideal, t0 + 60 * DAY_MS);
    assert.deepEqual([two.behaviourScore, two.score, two.grade], [13.75, 63.75, 'A3']);
    const half = scoreAt(defaultModel, state, ideal, t0 + 15 * DAY_MS);
    assert.equal(half.behaviourScore, Math.round((55 / Math.SQRT2) * 1e6) / 1e6);
  });

  test('four email opens earn nothing; the fifth earns 10 once', () => {
    const opens = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        id: `o${i}`,
        type: 'email_opened',
        occurredAt: t0,
        properties: {},
      }));
    const score = (n: number) =>
      scoreAt(defaultModel, applyActivities(defaultModel, emptyState(defaultModel), opens(n), t0), ideal, t0)
        .behaviourScore;
    assert.deepEqual([score(4), score(5), score(12)], [0, 10, 10]);
  });

  test('names only known activity types', () => {
    for (const rule of [...defaultModel.behaviour, ...defaultModel.negative]) {
      if (!isProfileRule(rule)) assert.ok(scoringActivityTypes.includes(rule.type), rule.type);
    }
  });
});
