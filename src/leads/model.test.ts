import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isDomainError } from '../errors.ts';
import { forwardStage, type Stage, stages } from '../lifecycle/model.ts';
import {
  applyCapture,
  type Lead,
  type LeadCapture,
  leadFields,
  mergeLeads,
  newLead,
  type Opportunity,
  propertyOf,
  searchTerms,
  searchText,
  type Touch,
} from './model.ts';
import { normaliseEmail } from './normalise.ts';

const T0 = Date.UTC(2026, 0, 1);

function touch(channel: Touch['channel'], at: number, source: string | null = null): Touch {
  return { source, channel, utm: {}, referrer: null, landingPage: null, at };
}

function lead(overrides: Partial<Lead> = {}): Lead {
  return { ...newLead('lead-1', 'ws', { email: 'ada@example.org' }, 'lead', T0), ...overrides };
}

describe('newLead', () => {
  test('takes the capture, the default stage, and empty fields as null', () => {
    const created = newLead('id-1', 'ws-1', { email: 'a@b.io', firstName: 'A', companySize: 5 }, 'lead', T0);
    assert.equal(created.id, 'id-1');
    assert.equal(created.workspaceId, 'ws-1');
    assert.equal(created.email, 'a@b.io');
    assert.equal(created.phone, null);
    assert.equal(created.companySize, 5);
    assert.equal(created.stage, 'lead');
    assert.equal(created.emailDisposable, false);
    assert.deepEqual(created.properties, {});
    assert.equal(created.archivedAt, null);
    assert.equal(created.createdAt, T0);
    assert.equal(created.updatedAt, T0);
  });

  test('dates itself from the capture time (imports), is updated now, and drops null properties', () => {
    const created = newLead(
      'id',
      'ws',
      { email: 'a@b.io', at: T0 - 1000, properties: { a: 1, b: null } },
      'lead',
      T0,
    );
    assert.equal(created.createdAt, T0 - 1000);
    assert.equal(created.updatedAt, T0);
    assert.deepEqual(created.properties, { a: 1 });
  });

  test('uses the touch as first and last touch, and for source and channel', () => {
    const first = touch('paid_search', T0, 'google');
    const created = newLead('id', 'ws', { email: 'a@b.io', touch: first, stage: 'mql' }, 'lead', T0);
    assert.deepEqual(created.firstTouch, first);
    assert.deepEqual(created.lastTouch, first);
    assert.equal(created.source, 'google');
    assert.equal(created.channel, 'paid_search');
    assert.equal(created.stage, 'mql');
  });
});

describe('applyCapture', () => {
  test('overwrites given fields, keeps absent ones, and lists what changed', () => {
    const before = lead({ firstName: 'Ada', city: 'London' });
    const { lead: after, changed } = applyCapture(
      before,
      { firstName: 'Augusta', company: 'AE' },
      T0 + 5,
      forwardStage,
    );
    assert.equal(after.firstName, 'Augusta');
    assert.equal(after.company, 'AE');
    assert.equal(after.city, 'London');
    assert.deepEqual(changed.sort(), ['company', 'firstName']);
    assert.equal(after.updatedAt, T0 + 5);
    assert.equal(before.firstName, 'Ada', 'the input lead is not mutated');
  });

  test('changes nothing, not even updatedAt, for a capture that repeats what is known', () => {
    const before = lead({ firstName: 'Ada', properties: { plan: 'pro' } });
    const { lead: after, changed } = applyCapture(
      before,
      { email: 'ada@example.org', firstName: 'Ada', properties: { plan: 'pro' } },
      T0 + 5,
      forwardStage,
    );
    assert.deepEqual(changed, []);
    assert.deepEqual(after, before);
  });

  test('merges properties key by key; null removes a key', () => {
    const before = lead({ properties: { a: 1, b: 'x', c: ['p'] } });
    const { lead: after, changed } = applyCapture(
      before,
      { properties: { a: 2, b: null, d: true, gone: null } },
      T0 + 1,
      forwardStage,
    );
    assert.deepEqual(after.properties, { a: 2, c: ['p'], d: true });
    assert.deepEqual(changed.sort(), ['properties.a', 'properties.b', 'properties.d']);
  });

  test('moves the stage forward only, and never out of disqualified', () => {
    assert.equal(applyCapture(lead({ stage: 'mql' }), { stage: 'lead' }, T0, forwardStage).lead.stage, 'mql');
    assert.equal(applyCapture(lead({ stage: 'mql' }), { stage: 'sql' }, T0, forwardStage).lead.stage, 'sql');
    assert.equal(
      applyCapture(lead({ stage: 'disqualified' }), { stage: 'customer' }, T0, forwardStage).lead.stage,
      'disqualified',
    );
  });

  test('keeps the first touch and replaces the last; a lead without one takes it as first', () => {
    const first = touch('paid_search', T0, 'google');
    const later = touch('referral', T0 + 10);
    const withTouch = lead({ firstTouch: first, lastTouch: first, source: 'google', channel: 'paid_search' });
    const { lead: after } = applyCapture(withTouch, { touch: later }, T0 + 10, forwardStage);
    assert.deepEqual(after.firstTouch, first);
    assert.deepEqual(after.lastTouch, later);
    assert.equal(after.source, 'google');
    assert.equal(after.updatedAt, T0 + 10);

    const { lead: fresh, changed } = applyCapture(lead(), { touch: later }, T0 + 10, forwardStage);
    assert.deepEqual(fresh.firstTouch, later);
    assert.equal(fresh.channel, 'referral');
    assert.ok(changed.includes('source'));
  });

  test('a touch older than those known becomes the first touch, not the last', () => {
    const first = touch('paid_search', T0, 'google');
    const last = touch('referral', T0 + 50);
    const known = lead({ firstTouch: first, lastTouch: last, source: 'google', channel: 'paid_search' });
    const older = touch('events', T0 - 1000, 'Trade Show');
    const { lead: after, changed } = applyCapture(known, { touch: older }, T0 + 60, forwardStage);
    assert.deepEqual(after.firstTouch, older);
    assert.deepEqual(after.lastTouch, last);
    assert.equal(after.source, 'Trade Show');
    assert.equal(after.channel, 'events');
    assert.ok(changed.includes('source'));

    const between = touch('email', T0 + 20);
    const { lead: kept, changed: none } = applyCapture(known, { touch: between }, T0 + 60, forwardStage);
    assert.deepEqual(kept.firstTouch, first);
    assert.deepEqual(kept.lastTouch, last);
    assert.deepEqual(none, []);
  });

  test("a dated capture's touch (an import's create date) is history: never the last touch of a lead that has one", () => {
    const only = touch('email', T0, 'newsletter');
    const known = lead({ firstTouch: only, lastTouch: only, source: 'newsletter', channel: 'email' });
    const imported = touch('offline', T0 + 5, 'import');
    const { lead: after } = applyCapture(known, { touch: imported, at: T0 + 5 }, T0 + 60, forwardStage);
    assert.deepEqual([after.firstTouch, after.lastTouch], [only, only]);
    const { lead: bare } = applyCapture(lead(), { touch: imported, at: T0 + 5 }, T0 + 60, forwardStage);
    assert.deepEqual([bare.firstTouch, bare.lastTouch], [imported, imported]);
  });

  test('restores an archived lead, unless told not to (an import)', () => {
    const { lead: after } = applyCapture(lead({ archivedAt: T0 }), {}, T0 + 1, forwardStage);
    assert.equal(after.archivedAt, null);
    assert.equal(after.updatedAt, T0 + 1);
    const { lead: kept } = applyCapture(lead({ archivedAt: T0 }), {}, T0 + 1, forwardStage, false);
    assert.deepEqual([kept.archivedAt, kept.updatedAt], [T0, lead().updatedAt]);
  });

  test('an empty capture changes nothing of any lead (property)', () => {
    const anyStage = fc.constantFrom(...stages);
    fc.assert(
      fc.property(
        anyStage,
        fc.option(fc.string()),
        fc.dictionary(fc.string(), fc.integer()),
        (stage, name, props) => {
          const before = lead({ stage, firstName: name, properties: props });
          const { lead: after, changed } = applyCapture(before, {}, T0 + 99, forwardStage);
          assert.deepEqual(changed, []);
          assert.deepEqual(after, before);
        },
      ),
    );
  });
});

describe('mergeLeads', () => {
  const forward = (a: Stage, b: Stage) => forwardStage(a, b);

  test('keeps the winner, fills its gaps from the loser, and combines properties winner-first', () => {
    const winner = lead({ id: 'w', email: 'w@x.io', firstName: 'Win', properties: { a: 1, shared: 'w' } });
    const loser = lead({
      id: 'l',
      email: 'l@x.io',
      firstName: 'Lose',
      jobTitle: 'CTO',
      phone: '+14155552671',
      properties: { b: 2, shared: 'l' },
    });
    const merged = mergeLeads(winner, loser, T0 + 50, forward);
    assert.equal(merged.id, 'w');
    assert.equal(merged.email, 'w@x.io');
    assert.equal(merged.firstName, 'Win');
    assert.equal(merged.jobTitle, 'CTO');
    assert.equal(merged.phone, '+14155552671');
    assert.deepEqual(merged.properties, { a: 1, b: 2, shared: 'w' });
    assert.equal(merged.updatedAt, T0 + 50);
  });

  test('keeps the open deal before a won one before a lost one; two open deals are a MERGE_CONFLICT', () => {
    const deal = (status: 'open' | 'won' | 'lost', closedAt: number | null, amount: number): Opportunity => ({
      status,
      amount,
      currency: 'EUR',
      expectedCloseDate: null,
      openedAt: T0,
      closedAt,
      value: null,
      lostReason: null,
    });
    const merge = (a: Opportunity | null, b: Opportunity | null) =>
      mergeLeads(
        lead({ id: 'w', email: 'w@x.io', opportunity: a }),
        lead({ id: 'l', email: 'l@x.io', opportunity: b }),
        T0 + 50,
        forward,
      ).opportunity?.amount ?? null;
    assert.equal(merge(deal('lost', T0, 1), deal('open', null, 2)), 2);
    assert.equal(merge(deal('won', T0, 1), deal('open', null, 2)), 2);
    assert.equal(merge(deal('lost', T0, 1), deal('won', T0, 2)), 2);
    assert.equal(merge(deal('lost', T0, 1), deal('lost', T0 + 1, 2)), 2, 'the later');
    assert.equal(merge(deal('won', T0, 1), deal('won', T0, 2)), 1, "the winner's on a tie");
    assert.equal(merge(null, deal('lost', T0, 2)), 2);
    assert.throws(
      () => merge(deal('open', null, 1), deal('open', null, 2)),
      (error) => isDomainError(error) && error.code === 'MERGE_CONFLICT',
    );
  });

  test("combines the two leads' BANT/CHAMP answers criterion by criterion: an answer over unknown, the later over the earlier", () => {
    const answer = (status: 'yes' | 'no' | 'unknown', at: number | null) => ({
      status,
      value: null,
      note: null,
      by: null,
      at,
    });
    const winner = lead({
      id: 'w',
      email: 'w@x.io',
      qualification: {
        framework: 'bant',
        criteria: {
          budget: answer('no', T0),
          authority: answer('unknown', null),
          need: answer('yes', T0 + 5),
          timeline: answer('unknown', null),
        },
      },
    });
    const loser = lead({
      id: 'l',
      email: 'l@x.io',
      qualification: {
        framework: 'bant',
        criteria: {
          budget: answer('yes', T0 + 1),
          authority: answer('yes', T0),
          need: answer('no', T0 + 1),
          timeline: answer('unknown', null),
        },
        other: { champ: { money: answer('yes', T0) } },
      },
    });
    const merged = mergeLeads(winner, loser, T0 + 50, forward).qualification!;
    assert.equal(merged.framework, 'bant');
    assert.deepEqual(
      Object.fromEntries(Object.entries(merged.criteria).map(([name, c]) => [name, c.status])),
      { budget: 'yes', authority: 'yes', need: 'yes', timeline: 'unknown' },
    );
    assert.deepEqual(merged.other, { champ: { money: answer('yes', T0) } });
  });

  test("keeps the later of the two leads' clears of each flag", () => {
    const winner = {
      ...lead({ id: 'w', email: 'w@x.io' }),
      flagsClearedAt: { pql: T0 - 10, serviceQualified: null },
    };
    const loser = {
      ...lead({ id: 'l', email: 'l@x.io' }),
      flagsClearedAt: { pql: T0 + 10, serviceQualified: T0 },
    };
    assert.deepEqual(mergeLeads(winner, loser, T0 + 50, forward).flagsClearedAt, {
      pql: T0 + 10,
      serviceQualified: T0,
    });
  });

  test('takes the earlier first touch (with its source), the later last touch, the furthest stage, the earliest creation', () => {
    const early = touch('paid_search', T0 - 100, 'google');
    const late = touch('referral', T0 + 100);
    const winner = lead({ id: 'w', firstTouch: late, lastTouch: late, stage: 'mql', createdAt: T0 });
    const loser = lead({
      id: 'l',
      email: null,
      firstTouch: early,
      lastTouch: early,
      source: 'google',
      channel: 'paid_search',
      stage: 'opportunity',
      createdAt: T0 - 100,
      ownerId: 'rep',
    });
    const merged = mergeLeads(winner, loser, T0 + 200, forward);
    assert.deepEqual(merged.firstTouch, early);
    assert.equal(merged.source, 'google');
    assert.equal(merged.channel, 'paid_search');
    assert.deepEqual(merged.lastTouch, late);
    assert.equal(merged.stage, 'opportunity');
    assert.equal(merged.createdAt, T0 - 100);
    assert.equal(merged.ownerId, 'rep');
  });

  test("brings the disposable flag along with the loser's email, and only then", () => {
    const disposable = lead({ id: 'l', email: 'x@mailinator.com', emailDisposable: true });
    const taken = mergeLeads(lead({ id: 'w', email: null, phone: '+14155552671' }), disposable, T0, forward);
    assert.equal(taken.email, 'x@mailinator.com');
    assert.equal(taken.emailDisposable, true);
    const kept = mergeLeads(lead({ id: 'w', email: 'w@x.io' }), disposable, T0, forward);
    assert.equal(kept.emailDisposable, false);
  });

  test('never loses a field the winner has (property)', () => {
    const value = fc.option(fc.string({ minLength: 1 }), { nil: null });
    const fields = fc.record(
      Object.fromEntries(leadFields.filter((f) => f !== 'companySize').map((f) => [f, value])),
    );
    fc.assert(
      fc.property(fields, fields, (w, l) => {
        const winner = lead({ ...(w as Partial<Lead>), id: 'w' });
        const loser = lead({ ...(l as Partial<Lead>), id: 'l' });
        const merged = mergeLeads(winner, loser, T0, forward);
        for (const field of leadFields) {
          const expected = winner[field] ?? loser[field];
          assert.equal(merged[field], expected, field);
        }
      }),
    );
  });
});

describe('searchText', () => {
  test('lower-cases name, email and company, skipping what is missing', () => {
    const capture: LeadCapture = {};
    assert.equal(searchText(newLead('i', 'w', capture, 'lead', T0)), '');
    assert.equal(
      searchText({ firstName: 'Ada', lastName: null, email: 'ADA@X.IO', company: 'Analytical Engines' }),
      'ada ada@x.io analytical engines',
    );
  });
});

describe('searchTerms', () => {
  test('trims the query and lower-cases it; a blank query is no filter', () => {
    assert.deepEqual(searchTerms('  PCT  '), ['pct']);
    assert.deepEqual(searchTerms(' \t '), []);
    assert.deepEqual(searchTerms('grace hopper'), ['grace hopper']);
  });

  test('also looks for a Unicode domain in punycode, as capture stores it', () => {
    assert.deepEqual(searchTerms('info@müller.de'), ['info@müller.de', 'info@xn--mller-kva.de']);
    assert.deepEqual(searchTerms(' MÜLLER '), ['müller', 'xn--mller-kva']);
    assert.deepEqual(searchTerms('mu\u0308ller.de'), ['müller.de', 'xn--mller-kva.de']);
    // Names stay as typed; a query that is no domain has no punycode form.
    assert.deepEqual(searchTerms('hans müller'), ['hans müller']);
    assert.deepEqual(searchTerms('josé@'), ['josé@']);
  });

  test('finds any captured email by its address or its domain as typed', () => {
    const letter = fc.constantFrom(...'abcdeéüößçñ');
    const label = fc.array(letter, { minLength: 1, maxLength: 8 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 2 }), fc.boolean(), (labels, upper) => {
        const domain = `${labels.join('.')}.de`;
        const typed = upper ? domain.toUpperCase() : domain;
        const email = normaliseEmail(`info@${typed}`);
        fc.pre(email.ok);
        if (!email.ok) return;
        const text = searchText({ firstName: null, lastName: null, email: email.value, company: null });
        for (const q of [`info@${typed}`, typed, ` ${typed.split('.')[0]} `])
          assert.ok(
            searchTerms(q).some((term) => text.includes(term)),
            `${q} in ${text}`,
          );
      }),
    );
  });
});

describe('propertyOf', () => {
  test("reads a lead's own properties only, never what a plain object inherits", () => {
    const withOwn = lead({ properties: { constructor: 'yes', plan: 'pro' } });
    const without = lead({ properties: {} });
    assert.equal(propertyOf(withOwn, 'constructor'), 'yes');
    assert.equal(propertyOf(withOwn, 'plan'), 'pro');
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__'])
      assert.equal(propertyOf(without, name), undefined, name);
  });
});
