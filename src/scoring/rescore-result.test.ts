import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Lead, newLead, type TimelineEntry } from '../leads/model.ts';
import { defaultQualificationRule } from '../lifecycle/qualification.ts';
import { defaultStageRules } from '../lifecycle/stage-rules.ts';
import { defaultTemperatureConfig } from '../lifecycle/temperature.ts';
import { defaultModel } from './model.ts';
import { rescoreLead, type ScoringContext } from './qualify.ts';
import { isFresh } from './rescore-prefetch.ts';
import { applyRescored, fromColumns, toColumns, toRescoredLead } from './rescore-result.ts';

const t0 = Date.UTC(2026, 2, 1);
const DAY = 24 * 60 * 60 * 1000;
let counter = 0;
const newId = () => `id-${++counter}`;

const ctx: ScoringContext = {
  version: 3,
  model: defaultModel,
  stageRules: defaultStageRules,
  temperature: defaultTemperatureConfig,
  qualification: defaultQualificationRule,
};

function activity(type: string, daysAgo: number, properties: Record<string, unknown> = {}): TimelineEntry {
  return { id: newId(), leadId: 'lead-1', type, occurredAt: t0 - daysAgo * DAY, properties };
}

const leads: Array<{ name: string; lead: Lead; history: TimelineEntry[] }> = [
  {
    name: 'a new lead without history',
    lead: newLead('lead-1', 'ws', { email: 'a@gmail.com' }, 'lead', t0),
    history: [],
  },
  {
    name: 'an ideal-fit lead that requested a demo (stage move, temperature change, state)',
    lead: newLead(
      'lead-1',
      'ws',
      {
        email: 'dana@northwind.io',
        jobTitle: 'VP Marketing',
        companySize: 200,
        industry: 'Software',
        country: 'US',
      },
      'lead',
      t0 - 30 * DAY,
    ),
    history: [
      activity('page_view', 3, { url: 'https://northwind.io/pricing' }),
      activity('content_downloaded', 2),
      activity('demo_requested', 1),
      ...Array.from({ length: 6 }, (_, i) => activity('email_opened', 10 + i)),
    ],
  },
];

describe('a rescore passed between threads', () => {
  for (const { name, lead, history } of leads) {
    test(`rebuilds exactly the lead the rescore computed: ${name}`, () => {
      const qualified = rescoreLead(ctx, lead, history, t0, newId);
      // As the worker sends it: in columns, through a structured clone.
      const passed = fromColumns(structuredClone(toColumns([toRescoredLead(lead, qualified)])))[0]!;
      assert.deepEqual(applyRescored(lead, passed), qualified.lead);
      assert.deepEqual(passed.entries, qualified.entries);
      assert.deepEqual(passed.stageChanges, qualified.stageChanges);
      assert.deepEqual(passed.stateJson === null ? null : JSON.parse(passed.stateJson), qualified.state);
    });
  }

  test('a chunk of results comes out of its columns as it went in, in order', () => {
    const results = [...leads, ...leads].map(({ lead, history }, i) =>
      toRescoredLead(lead, rescoreLead(ctx, { ...lead, id: `lead-${i}` }, history, t0 + i, newId)),
    );
    // Every nullable number null once, and every flag set once.
    results[0]!.scoring = { ...results[0]!.scoring, modelVersion: null, temperatureChangesAt: null };
    results[2]!.scoring = { ...results[2]!.scoring, pql: true, stageHold: true, lastHighIntentAt: null };
    results[3]!.scoring = { ...results[3]!.scoring, serviceQualified: true, behaviourK: -0 };
    assert.ok(results.some((r) => r.entries.length > 0) && results.some((r) => r.entries.length === 0));
    assert.ok(results.some((r) => r.stateJson === null) && results.some((r) => r.stateJson !== null));
    assert.deepEqual(fromColumns(structuredClone(toColumns(results))), results);
    assert.deepEqual(fromColumns(toColumns([])), []);
  });

  test('a deal the rescore won (a stage rule made the lead a customer) goes with it; an unchanged one does not', () => {
    const ordered: ScoringContext = {
      ...ctx,
      stageRules: {
        moves: [
          {
            id: 'ordered',
            to: 'customer',
            activities: [{ type: 'custom', where: { name: { in: ['order'] } } }],
          },
        ],
        flags: [],
      },
    };
    const lead: Lead = {
      ...newLead('lead-1', 'ws', { email: 'shopper@acme.io' }, 'opportunity', t0 - 9 * DAY),
      opportunity: {
        status: 'open',
        amount: 250,
        currency: 'EUR',
        expectedCloseDate: null,
        openedAt: t0 - 5 * DAY,
        closedAt: null,
        value: null,
        lostReason: null,
      },
    };
    const qualified = rescoreLead(ordered, lead, [activity('custom', 1, { name: 'order' })], t0, newId);
    assert.equal(qualified.lead.opportunity?.status, 'won');
    const passed = fromColumns(structuredClone(toColumns([toRescoredLead(lead, qualified)])))[0]!;
    assert.deepEqual(applyRescored(lead, passed), qualified.lead);
    const unchanged = rescoreLead(ordered, lead, [activity('page_view', 1)], t0, newId);
    assert.equal('opportunity' in toRescoredLead(lead, unchanged), false);
  });

  test('the demo request changed what the rescore writes (the case above is not trivial)', () => {
    const { lead, history } = leads[1]!;
    const qualified = rescoreLead(ctx, lead, history, t0, newId);
    assert.notEqual(qualified.lead.stage, lead.stage);
    assert.ok(qualified.entries.length > 0 && qualified.state !== null);
  });
});

describe('isFresh: a snapshot still shows the database', () => {
  const then = { taken: 10, ended: 10, dataVersion: 4 };
  test('when only the rescore wrote since', () => {
    assert.equal(isFresh(then, { taken: 12, ended: 11, dataVersion: 4 }, 2), true);
  });
  test('not when another write began since', () => {
    assert.equal(isFresh(then, { taken: 13, ended: 12, dataVersion: 4 }, 2), false);
  });
  test('not when a write was in progress at the snapshot', () => {
    assert.equal(
      isFresh({ taken: 10, ended: 9, dataVersion: 4 }, { taken: 11, ended: 10, dataVersion: 4 }, 1),
      false,
    );
  });
  test('not when another process committed since', () => {
    assert.equal(isFresh(then, { taken: 11, ended: 10, dataVersion: 5 }, 1), false);
  });
});
