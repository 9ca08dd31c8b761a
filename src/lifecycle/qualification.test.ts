import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyQualificationUpdate,
  defaultQualificationRule,
  emptyQualification,
  isProspect,
  isQualified,
  parseQualificationRule,
  parseQualificationUpdate,
  qualificationUnder,
  summariseQualification,
} from './qualification.ts';

const t0 = Date.UTC(2026, 8, 1);
const yes = { status: 'yes' } as const;
const no = { status: 'no' } as const;

describe('isQualified', () => {
  test('BANT by default needs all four confirmed', () => {
    const three = { budget: yes, authority: yes, need: yes };
    assert.equal(isQualified('bant', defaultQualificationRule, three), false);
    assert.equal(isQualified('bant', defaultQualificationRule, { ...three, timeline: yes }), true);
    assert.equal(isProspect('bant', defaultQualificationRule, { ...three, timeline: no }), false);
  });

  test('"at least N" with required criteria', () => {
    const rule = { framework: 'champ' as const, minConfirmed: 2, required: ['challenges'] };
    assert.equal(isQualified('champ', rule, { authority: yes, money: yes }), false);
    assert.equal(isQualified('champ', rule, { challenges: yes, money: yes }), true);
    assert.equal(isQualified('bant', rule, { challenges: yes, money: yes }), false);
  });

  test('summarises the criteria', () => {
    assert.deepEqual(summariseQualification('bant', defaultQualificationRule, { budget: yes, need: no }), {
      confirmed: 1,
      rejected: 1,
      unknown: 2,
      answered: false,
      qualified: false,
    });
  });
});

describe('qualification updates', () => {
  test('validates a PUT body against the workspace framework', () => {
    const ok = parseQualificationUpdate(
      { criteria: { budget: { status: 'yes', value: 50000, note: 'Approved' } } },
      'bant',
    );
    assert.deepEqual(ok, { ok: true, value: { budget: { status: 'yes', value: 50000, note: 'Approved' } } });
    const wrong = parseQualificationUpdate(
      { framework: 'champ', criteria: { money: { status: 'yes' } } },
      'bant',
    );
    assert.equal(wrong.ok, false);
    if (!wrong.ok)
      assert.deepEqual(
        wrong.errors.map((e) => e.path),
        ['/framework', '/criteria/money'],
      );
    const shape = parseQualificationUpdate({ criteria: { budget: { status: 'maybe' } } }, 'bant');
    assert.equal(shape.ok, false);
    if (!shape.ok)
      assert.deepEqual(
        shape.errors.map((e) => e.path),
        ['/criteria/budget/status'],
      );
  });

  test('records who changed which criterion and when', () => {
    const first = applyQualificationUpdate(
      null,
      'bant',
      { budget: { status: 'yes', value: 1000, note: null } },
      'u1',
      t0,
    );
    assert.deepEqual(first.changed, ['budget']);
    assert.deepEqual(first.qualification.criteria.budget, {
      status: 'yes',
      value: 1000,
      note: null,
      by: 'u1',
      at: t0,
    });
    assert.deepEqual(first.qualification.criteria.need, emptyQualification('bant').criteria.need);
    const again = applyQualificationUpdate(
      first.qualification,
      'bant',
      {
        budget: { status: 'yes', value: 1000, note: null },
        need: { status: 'no', value: null, note: 'Happy today' },
      },
      'u2',
      t0 + 1,
    );
    assert.deepEqual(again.changed, ['need']);
    assert.equal(again.qualification.criteria.budget?.by, 'u1');
    assert.equal(again.qualification.criteria.need?.at, t0 + 1);
  });

  test('another framework starts afresh, keeping the answers of the first aside for a switch back', () => {
    const bant = applyQualificationUpdate(
      null,
      'bant',
      { budget: { status: 'yes', value: null, note: null } },
      'u',
      t0,
    );
    const champ = applyQualificationUpdate(bant.qualification, 'champ', {}, 'u', t0);
    assert.deepEqual(champ.qualification, {
      ...emptyQualification('champ'),
      other: { bant: bant.qualification.criteria },
    });
    assert.deepEqual(qualificationUnder(champ.qualification, 'champ'), emptyQualification('champ'));
    const back = applyQualificationUpdate(champ.qualification, 'bant', {}, 'u', t0 + 1);
    assert.deepEqual(back.qualification.criteria, bant.qualification.criteria);
    assert.deepEqual(back.qualification.other, { champ: champ.qualification.criteria });
  });
});

describe('parseQualificationRule', () => {
  test('defaults to all four, and checks the names', () => {
    assert.deepEqual(parseQualificationRule({ framework: 'champ' }), {
      ok: true,
      value: { framework: 'champ', minConfirmed: 4, required: [] },
    });
    const bad = parseQualificationRule({ framework: 'bant', required: ['money'] });
    assert.equal(bad.ok, false);
    if (!bad.ok)
      assert.deepEqual(
        bad.errors.map((e) => e.path),
        ['/required/0'],
      );
    const unknown = parseQualificationRule({ framework: 'meddic' });
    assert.equal(unknown.ok, false);
  });
});
