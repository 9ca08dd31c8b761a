import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { PropertyValue } from '../leads/model.ts';
import { checkProperties, coercePropertyValue, type PropertyDefinition, type PropertyType } from './model.ts';

function definition(type: PropertyType, options: string[] | null = null, name = 'p'): PropertyDefinition {
  return { name, type, label: null, options, createdAt: 0, updatedAt: 0 };
}

const accepts = (type: PropertyType, value: PropertyValue, expected: PropertyValue, options?: string[]) =>
  assert.deepEqual(coercePropertyValue(definition(type, options ?? null), value), {
    ok: true,
    value: expected,
  });
const refuses = (type: PropertyType, value: PropertyValue, options?: string[]) =>
  assert.equal(
    coercePropertyValue(definition(type, options ?? null), value).ok,
    false,
    JSON.stringify(value),
  );

describe('coercePropertyValue', () => {
  test('null always passes (it removes the value)', () => {
    for (const type of ['string', 'number', 'boolean', 'date', 'enum'] as const) accepts(type, null, null);
  });

  test('string: strings only', () => {
    accepts('string', 'x', 'x');
    accepts('string', '', '');
    refuses('string', 5);
    refuses('string', true);
    refuses('string', ['x']);
  });

  test('number: numbers and numeric text', () => {
    accepts('number', 42, 42);
    accepts('number', '42', 42);
    accepts('number', ' -1.5 ', -1.5);
    accepts('number', '1e3', 1000);
    accepts('number', '.5', 0.5);
    // Thousands grouped with commas, as spreadsheets export them.
    accepts('number', '1,234', 1234);
    accepts('number', ' -1,234,567.89 ', -1234567.89);
    for (const bad of [
      '1,5',
      '1,23',
      '12,34,567',
      ',123',
      '1,234,',
      '',
      ' ',
      'abc',
      '42abc',
      'Infinity',
      'NaN',
      '0x10',
      '0b11',
      '0o7',
      true,
      ['1'],
    ] as PropertyValue[])
      refuses('number', bad);
  });

  test('boolean: booleans and yes/no, true/false, 1/0 words in any case', () => {
    accepts('boolean', true, true);
    accepts('boolean', false, false);
    for (const yes of ['true', 'YES', ' 1 ']) accepts('boolean', yes, true);
    for (const no of ['false', 'No', '0']) accepts('boolean', no, false);
    for (const bad of ['maybe', '', 1, 0, ['true']] as PropertyValue[]) refuses('boolean', bad);
  });

  test('date: a real day as YYYY-MM-DD, a real instant as UTC ISO 8601 (no zone: UTC)', () => {
    accepts('date', '2026-03-01', '2026-03-01');
    accepts('date', ' 2024-02-29 ', '2024-02-29');
    accepts('date', '2026-03-01T10:00:00Z', '2026-03-01T10:00:00.000Z');
    accepts('date', '2026-03-01T10:00:00.123+01:00', '2026-03-01T09:00:00.123Z');
    accepts('date', '2026-01-31 10:00:00Z', '2026-01-31T10:00:00.000Z');
    accepts('date', '2026-01-31T10:00', '2026-01-31T10:00:00.000Z');
    accepts('date', '2026-01-31T10:00:00.123456789Z', '2026-01-31T10:00:00.123Z');
    for (const bad of [
      '2026-01-31T24:00:00Z',
      '2026-01-31T10:60Z',
      '2026-02-29',
      '2026-02-30',
      '2026-04-31',
      '2026-13-01',
      '2026-1-1',
      '01/03/2026',
      'today',
      20260301,
    ]) {
      refuses('date', bad as PropertyValue);
    }
  });

  test('enum: one of the options, exactly', () => {
    const options = ['free', 'pro'];
    accepts('enum', 'pro', 'pro', options);
    // Decomposed (NFD) text is the composed option it reads as.
    accepts('enum', 'U\u0308ber', '\u00dcber', ['\u00dcber']);
    refuses('enum', 'Pro', options);
    refuses('enum', 'gold', options);
    refuses('enum', ['pro'], options);
    assert.deepEqual(coercePropertyValue(definition('enum', options), 'x'), {
      ok: false,
      message: 'must be one of: free, pro',
    });
  });

  test('number: any finite number survives a trip through text (property)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const result = coercePropertyValue(definition('number'), String(n));
        assert.ok(result.ok);
        assert.ok(Object.is(result.value, n) || (n === 0 && result.value === 0));
      }),
    );
  });

  test('date: every real calendar day from year 1 to 9999 passes (property)', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0001-01-01T00:00:00Z'),
          max: new Date('9999-12-31T00:00:00Z'),
          noInvalidDate: true,
        }),
        (date) => {
          const day = date.toISOString().slice(0, 10);
          assert.deepEqual(coercePropertyValue(definition('date'), day), { ok: true, value: day });
        },
      ),
    );
  });
});

describe('checkProperties', () => {
  const definitions = new Map([
    ['score', definition('number', null, 'score')],
    ['vip', definition('boolean', null, 'vip')],
  ]);

  test('coerces defined values and passes undefined ones as given', () => {
    assert.deepEqual(checkProperties({ score: '7', vip: 'no', other: 'x' }, definitions, false), {
      ok: true,
      value: { score: 7, vip: false, other: 'x' },
    });
  });

  test('reports every bad value at /properties/<name>, under the base path', () => {
    const result = checkProperties({ score: 'x', vip: 'maybe', fine: 1 }, definitions, false, '/leads/3');
    assert.deepEqual(result, {
      ok: false,
      errors: [
        { path: '/leads/3/properties/score', message: 'must be a number' },
        { path: '/leads/3/properties/vip', message: 'must be a boolean' },
      ],
    });
  });

  test('strict: undefined names are errors, defined ones still pass', () => {
    assert.deepEqual(checkProperties({ score: 1, colour: 'red' }, definitions, true), {
      ok: false,
      errors: [{ path: '/properties/colour', message: 'is not a defined property' }],
    });
    assert.deepEqual(checkProperties({ score: 1 }, definitions, true), { ok: true, value: { score: 1 } });
  });
});
