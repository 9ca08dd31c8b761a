import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isDomainError } from '../errors.ts';
import { type Lead, newLead } from '../leads/model.ts';
import { defaultModel } from '../scoring/model.ts';
import type { ScoringContext } from '../scoring/qualify.ts';
import { type Stage, stages } from './model.ts';
import { defaultQualificationRule } from './qualification.ts';
import { parseLifecycleSettings } from './settings.ts';
import { defaultStageRules } from './stage-rules.ts';
import { defaultTemperatureConfig } from './temperature.ts';
import {
  acceptMql,
  answerQualification,
  checkMinorUnit,
  checkOpportunityInput,
  editOpportunity,
  isDateOnly,
  loseOpportunity,
  openOpportunity,
  recycleLead,
  rejectMql,
  setFlags,
  winOpportunity,
} from './transitions.ts';
import { acceptanceRate, median, stagePeriods, timeInStages } from './velocity.ts';

const t0 = Date.UTC(2026, 2, 1);
const DAY = 24 * 60 * 60 * 1000;
let counter = 0;
const newId = () => `id-${++counter}`;
const by = 'key:k1';

function leadAt(stage: Stage, patch: Partial<Lead> = {}): Lead {
  return { ...newLead('lead-1', 'ws', { email: 'a@acme.io' }, stage, t0), ...patch };
}

function refused(fn: () => unknown): void {
  assert.throws(fn, (error) => isDomainError(error) && error.code === 'STAGE_TRANSITION_INVALID');
}

const ctx: ScoringContext = {
  version: 0,
  model: defaultModel,
  stageRules: defaultStageRules,
  temperature: defaultTemperatureConfig,
  qualification: defaultQualificationRule,
};

describe('sales decisions', () => {
  test('accepting an MQL makes it an SQL, with the decision on the history and the timeline', () => {
    const out = acceptMql(leadAt('mql'), { note: 'ok' }, by, t0 + DAY, newId);
    assert.deepEqual([out.lead.stage, out.lead.stageChangedAt], ['sql', t0 + DAY]);
    assert.deepEqual(
      out.stageChanges.map((c) => [c.from, c.to, c.causeKind, c.cause]),
      [['mql', 'sql', 'sales', { decision: 'accepted', note: 'ok', by }]],
    );
    assert.deepEqual(out.entries[0]!.properties, {
      from: 'mql',
      to: 'sql',
      cause: 'sales',
      decision: 'accepted',
      note: 'ok',
      by,
    });
  });

  test('only MQLs are decided on', () => {
    for (const stage of stages.filter((s) => s !== 'mql')) {
      refused(() => acceptMql(leadAt(stage), { note: null }, by, t0, newId));
      refused(() =>
        rejectMql(leadAt(stage), { reason: 'other', note: null, disqualify: false }, by, t0, newId),
      );
    }
  });

  test('a rejection goes back to nurture, or out for good', () => {
    const input = { reason: 'no_budget' as const, note: null };
    assert.equal(rejectMql(leadAt('mql'), { ...input, disqualify: false }, by, t0, newId).lead.stage, 'lead');
    const out = rejectMql(leadAt('mql'), { ...input, disqualify: true }, by, t0, newId);
    assert.equal(out.lead.stage, 'disqualified');
    assert.deepEqual(out.stageChanges[0]!.cause, {
      decision: 'rejected',
      reason: 'no_budget',
      note: null,
      by,
    });
  });
});

describe('flags', () => {
  test('set and clear by a person, with the time of each clear; a flag already as asked is left alone', () => {
    const lead = leadAt('lead', { scoring: { ...leadAt('lead').scoring, pql: true } });
    const out = setFlags(
      lead,
      { pql: false, serviceQualified: true, reason: 'test account' },
      by,
      t0 + DAY,
      newId,
    );
    assert.deepEqual([out.lead.scoring.pql, out.lead.scoring.serviceQualified], [false, true]);
    assert.deepEqual(out.lead.flagsClearedAt, { pql: t0 + DAY, serviceQualified: null });
    assert.deepEqual(
      out.entries.map((e) => [e.type, e.properties]),
      [
        ['flag_cleared', { flag: 'pql', by, reason: 'test account' }],
        ['flag_set', { flag: 'serviceQualified', by, reason: 'test account' }],
      ],
    );
    const again = setFlags(out.lead, { pql: false, serviceQualified: true }, by, t0 + 2 * DAY, newId);
    assert.equal(again.lead, out.lead);
    assert.deepEqual(again.entries, []);
  });
});

describe('recycling', () => {
  test('goes only backwards, to lead or subscriber; disqualified may come back; customers never', () => {
    const allowed: string[] = [];
    for (const from of stages) {
      for (const to of ['subscriber', 'lead'] as const) {
        try {
          const out = recycleLead(leadAt(from), { reason: 'why', stage: to }, by, t0, newId);
          assert.equal(out.lead.stage, to);
          assert.equal(out.stageChanges[0]!.causeKind, 'recycle');
          allowed.push(`${from}>${to}`);
        } catch (error) {
          assert.ok(isDomainError(error) && error.code === 'STAGE_TRANSITION_INVALID');
        }
      }
    }
    assert.deepEqual(allowed, [
      'lead>subscriber',
      'mql>subscriber',
      'mql>lead',
      'sql>subscriber',
      'sql>lead',
      'opportunity>subscriber',
      'opportunity>lead',
      'disqualified>subscriber',
      'disqualified>lead',
    ]);
  });

  test('a lead with an open opportunity is closed as lost, not recycled', () => {
    const open = openOpportunity(leadAt('sql'), {}, by, t0, newId).lead;
    refused(() => recycleLead(open, { reason: 'stalled', stage: 'lead' }, by, t0, newId));
  });
});

describe('opportunities', () => {
  test('open → edit → won: stage, deal fields, timeline and history', () => {
    const opened = openOpportunity(leadAt('sql'), { amount: 100, currency: 'EUR' }, by, t0, newId);
    assert.deepEqual([opened.lead.stage, opened.lead.opportunity?.status], ['opportunity', 'open']);
    assert.deepEqual(
      opened.entries.map((e) => [e.type, e.properties.action, e.properties.to]),
      [
        ['opportunity_updated', 'opened', undefined],
        ['stage_changed', 'opened', 'opportunity'],
      ],
    );
    refused(() => openOpportunity(opened.lead, {}, by, t0, newId));

    const unchanged = editOpportunity(opened.lead, { amount: 100 }, by, t0, newId);
    assert.equal(unchanged.lead, opened.lead, 'nothing changed: the same lead, nothing to write');
    assert.equal(unchanged.entries.length, 0);
    // An amount needs its currency, whether left out at the start or cleared later.
    const namesCurrency = (error: unknown) =>
      (error as { errors: Array<{ path: string }> }).errors[0]?.path === '/currency';
    assert.throws(() => editOpportunity(opened.lead, { currency: null }, by, t0, newId), namesCurrency);
    assert.throws(() => openOpportunity(leadAt('sql'), { amount: 5 }, by, t0, newId), namesCurrency);
    const edited = editOpportunity(opened.lead, { amount: 150, currency: 'USD' }, by, t0, newId);
    assert.deepEqual([edited.lead.opportunity?.amount, edited.lead.opportunity?.currency], [150, 'USD']);
    assert.deepEqual(edited.entries[0]!.properties.changed, ['amount', 'currency']);
    const unpriced = editOpportunity(opened.lead, { amount: null, currency: null }, by, t0, newId);
    assert.deepEqual([unpriced.lead.opportunity?.amount, unpriced.lead.opportunity?.currency], [null, null]);

    const won = winOpportunity(edited.lead, { value: null, currency: null }, by, t0 + DAY, newId);
    assert.equal(won.lead.stage, 'customer');
    assert.deepEqual(
      [won.lead.opportunity?.status, won.lead.opportunity?.value, won.lead.opportunity?.closedAt],
      ['won', 150, t0 + DAY],
    );
    refused(() => winOpportunity(won.lead, { value: 1, currency: null }, by, t0, newId));
    refused(() => loseOpportunity(won.lead, { reason: 'x' }, by, t0, newId));
    refused(() => editOpportunity(won.lead, { amount: 1 }, by, t0, newId));
  });

  test("a value won needs a currency: the deal's, or given with it for a deal opened without one", () => {
    const namesCurrency = (error: unknown) =>
      (error as { errors: Array<{ path: string }> }).errors[0]?.path === '/currency';
    const bare = openOpportunity(leadAt('sql'), {}, by, t0, newId).lead;
    assert.throws(() => winOpportunity(bare, { value: 500, currency: null }, by, t0, newId), namesCurrency);
    const noValue = winOpportunity(bare, { value: null, currency: null }, by, t0, newId);
    assert.deepEqual([noValue.lead.opportunity?.value, noValue.lead.opportunity?.currency], [null, null]);
    const given = winOpportunity(bare, { value: 500, currency: 'JPY' }, by, t0, newId);
    assert.deepEqual([given.lead.opportunity?.value, given.lead.opportunity?.currency], [500, 'JPY']);
    assert.throws(() => winOpportunity(bare, { value: 500.5, currency: 'JPY' }, by, t0, newId));
    const priced = openOpportunity(leadAt('sql'), { amount: 100, currency: 'EUR' }, by, t0, newId).lead;
    assert.throws(() => winOpportunity(priced, { value: 90, currency: 'USD' }, by, t0, newId), namesCurrency);
    const same = winOpportunity(priced, { value: 90.25, currency: 'EUR' }, by, t0, newId);
    assert.deepEqual([same.lead.opportunity?.value, same.lead.opportunity?.currency], [90.25, 'EUR']);
  });

  test('lost recycles to lead; a lead a capture made a customer keeps its stage', () => {
    const open = openOpportunity(leadAt('lead'), {}, by, t0, newId).lead;
    const lost = loseOpportunity(open, { reason: 'price' }, by, t0, newId);
    assert.deepEqual([lost.lead.stage, lost.lead.opportunity?.lostReason], ['lead', 'price']);
    assert.equal(lost.stageChanges[0]!.causeKind, 'opportunity');
    const captured = loseOpportunity({ ...open, stage: 'customer' }, { reason: 'price' }, by, t0, newId);
    assert.deepEqual([captured.lead.stage, captured.stageChanges.length], ['customer', 0]);
  });

  test('a lead captured at stage opportunity gets its deal without a stage change; customers and disqualified get none', () => {
    const out = openOpportunity(leadAt('opportunity'), {}, by, t0, newId);
    assert.deepEqual([out.lead.opportunity?.status, out.stageChanges.length], ['open', 0]);
    refused(() => openOpportunity(leadAt('customer'), {}, by, t0, newId));
    refused(() => openOpportunity(leadAt('disqualified'), {}, by, t0, newId));
  });

  test('values: amounts of 0 or more, ISO 4217 codes in upper case, dates that exist', () => {
    assert.deepEqual(
      checkOpportunityInput({ amount: 0, currency: 'JPY', expectedCloseDate: '2028-02-29' }),
      [],
    );
    assert.deepEqual(checkOpportunityInput({ amount: null, currency: null, expectedCloseDate: null }), []);
    const paths = (input: Parameters<typeof checkOpportunityInput>[0]) =>
      checkOpportunityInput(input).map((e) => e.path);
    assert.deepEqual(paths({ amount: -0.01 }), ['/amount']);
    assert.deepEqual(paths({ amount: 1e14 }), ['/amount']);
    for (const currency of ['eur', 'EURO', 'XYZ', '€'])
      assert.deepEqual(paths({ currency }), ['/currency'], currency);
    for (const date of ['2026-02-29', '2026-13-01', '26-01-01', '2026-01-01T00:00:00Z'])
      assert.equal(isDateOnly(date), false, date);
  });
});

describe('BANT answers', () => {
  test('all four confirmed: qualified, and an SQL in the same change', () => {
    const yes = { status: 'yes' as const, value: null, note: null };
    const partly = answerQualification(ctx, leadAt('mql'), { budget: yes, need: yes }, by, t0, newId);
    assert.equal(partly.lead.stage, 'mql');
    assert.deepEqual(partly.entries[0]!.properties.changed, {
      budget: { status: 'yes', value: null, note: null },
      need: { status: 'yes', value: null, note: null },
    });
    const done = answerQualification(ctx, partly.lead, { authority: yes, timeline: yes }, by, t0 + 1, newId);
    assert.equal(done.lead.stage, 'sql');
    assert.deepEqual(done.stageChanges[0]!.cause, { framework: 'bant', by });
    assert.deepEqual(
      done.lead.qualification?.criteria.budget,
      { ...yes, by, at: t0 },
      'untouched criteria keep theirs',
    );
    const again = answerQualification(ctx, done.lead, { budget: yes }, by, t0 + 2, newId);
    assert.equal(again.lead, done.lead, 'the same answer changes nothing');
  });
});

describe('velocity', () => {
  test('periods from creation through every change, the last one up to now', () => {
    const change = (from: Stage, to: Stage, at: number) => ({
      id: `${from}-${to}`,
      leadId: 'lead-1',
      from,
      to,
      at,
      causeKind: 'rule' as const,
      cause: {},
    });
    const periods = stagePeriods(
      { stage: 'lead', createdAt: t0 },
      [
        change('lead', 'mql', t0 + DAY),
        change('mql', 'lead', t0 + 3 * DAY),
        change('lead', 'mql', t0 + 4 * DAY),
      ],
      t0 + 6 * DAY,
    );
    assert.deepEqual(
      periods.map((p) => [p.stage, p.durationMs / DAY, p.exitedAt === null]),
      [
        ['lead', 1, false],
        ['mql', 2, false],
        ['lead', 1, false],
        ['mql', 2, true],
      ],
    );
    assert.deepEqual(
      timeInStages(periods).map((s) => [s.stage, s.durationMs / DAY, s.stays]),
      [
        ['lead', 2, 2],
        ['mql', 4, 2],
      ],
    );
    assert.deepEqual(
      stagePeriods({ stage: 'sql', createdAt: t0 }, [], t0 + DAY).map((p) => [p.stage, p.durationMs]),
      [['sql', DAY]],
    );
  });

  test('median and acceptance rate', () => {
    assert.equal(median([]), null);
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.equal(acceptanceRate(0, 0), null);
    assert.equal(acceptanceRate(2, 1), 0.6667);
  });
});

describe('lifecycle settings', () => {
  test('every part is validated, its errors prefixed with its name', () => {
    const result = parseLifecycleSettings({
      stageRules: 'none',
      temperature: { warm: {} },
      qualification: { framework: 'champ', required: ['budget'] },
    });
    assert.ok(!result.ok);
    assert.deepEqual(result.errors.map((e) => e.path).sort(), [
      '/qualification/required/0',
      '/stageRules',
      '/temperature/warm',
    ]);
    const ok = parseLifecycleSettings({
      stageRules: { moves: [] },
      temperature: {},
      qualification: { framework: 'bant' },
    });
    assert.ok(ok.ok);
    assert.deepEqual(ok.value.stageRules, { moves: [], flags: [] });
    assert.deepEqual(ok.value.temperature, defaultTemperatureConfig);
    assert.deepEqual(ok.value.qualification, defaultQualificationRule);
  });
});

describe("amounts in a currency's minor unit", () => {
  test('each currency has its own number of decimals', () => {
    const fits = (amount: number, currency: string) =>
      checkMinorUnit(amount, currency, '/amount').length === 0;
    assert.deepEqual(
      [
        fits(12000, 'JPY'),
        fits(12000.5, 'JPY'),
        fits(0.01, 'EUR'),
        fits(0.005, 'EUR'),
        fits(1.234, 'BHD'),
        fits(1.2345, 'BHD'),
      ],
      [true, false, true, false, true, false],
    );
    assert.deepEqual(checkMinorUnit(0.1 + 0.2, 'EUR', '/value'), [
      { path: '/value', message: 'must have at most 2 decimals in EUR' },
    ]);
  });
});
