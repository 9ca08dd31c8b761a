import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DAY_MS, encodePoints, halfLifeMs } from '../scoring/decay.ts';
import {
  defaultTemperatureConfig as config,
  noteHighIntent,
  parseTemperatureConfig,
  type Temperature,
  type TemperatureInput,
  temperatureAt,
  temperatures,
} from './temperature.ts';

const t0 = Date.UTC(2026, 6, 1);

function input(points: number, lastHighIntentAt: number | null = null, at = t0): TemperatureInput {
  return { k: encodePoints(points, at, halfLifeMs(30)), halfLifeDays: 30, lastHighIntentAt };
}

describe('temperatureAt', () => {
  test('cold with nothing, and it stays so', () => {
    assert.deepEqual(temperatureAt(config, input(0), t0), { temperature: 'cold', changesAt: null });
  });

  test('hot from behaviour until it decays below the threshold, to the millisecond', () => {
    const lead = input(100);
    const reading = temperatureAt(config, lead, t0);
    assert.equal(reading.temperature, 'hot');
    // 100 points fall to 50 after one half-life (30 days). Scores compare rounded to 1e-6,
    // which near 50 points is ~40 ms of decay: hence the tolerance.
    assert.ok(Math.abs(reading.changesAt! - (t0 + 30 * DAY_MS)) <= 100, String(reading.changesAt! - t0));
    assert.equal(temperatureAt(config, lead, reading.changesAt! - 1).temperature, 'hot');
    const next = temperatureAt(config, lead, reading.changesAt!);
    assert.equal(next.temperature, 'warm');
    // Warm (≥ 20) until 100 · 2^(−t/30d) = 20.
    const warmEnd = t0 + Math.log2(5) * 30 * DAY_MS;
    assert.ok(Math.abs(next.changesAt! - warmEnd) <= 200);
    assert.equal(temperatureAt(config, lead, next.changesAt!).temperature, 'cold');
  });

  test('hot for 3 days after a high-intent activity, then warm until 14 days', () => {
    const lead = input(0, t0);
    assert.deepEqual(temperatureAt(config, lead, t0 + DAY_MS), {
      temperature: 'hot',
      changesAt: t0 + 3 * DAY_MS,
    });
    assert.deepEqual(temperatureAt(config, lead, t0 + 3 * DAY_MS), {
      temperature: 'warm',
      changesAt: t0 + 14 * DAY_MS,
    });
    assert.deepEqual(temperatureAt(config, lead, t0 + 14 * DAY_MS), { temperature: 'cold', changesAt: null });
  });

  test('either criterion keeps a level: it ends when the later one does', () => {
    // 60 points fall to 50 after ~7.9 days; the high intent keeps it hot for 3 days only.
    const lead = input(60, t0);
    const end = temperatureAt(config, lead, t0).changesAt!;
    assert.ok(Math.abs(end - (t0 + Math.log2(60 / 50) * 30 * DAY_MS)) <= 100);
  });

  test('changesAt is the first millisecond of another temperature (property)', () => {
    const order = (t: Temperature) => temperatures.indexOf(t);
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 200, noNaN: true }),
        fc.option(fc.integer({ min: -30 * DAY_MS, max: 0 }), { nil: null }),
        fc.integer({ min: 0, max: 90 * DAY_MS }),
        fc.constantFrom(1, 7, 30),
        (points, intentOffset, elapsed, halfLifeDays) => {
          const lead: TemperatureInput = {
            k: encodePoints(points, t0, halfLifeMs(halfLifeDays)),
            halfLifeDays,
            lastHighIntentAt: intentOffset === null ? null : t0 + intentOffset,
          };
          const now = t0 + elapsed;
          const reading = temperatureAt(config, lead, now);
          if (reading.changesAt === null) {
            assert.equal(reading.temperature, 'cold');
            return;
          }
          assert.ok(reading.changesAt > now);
          assert.equal(temperatureAt(config, lead, reading.changesAt - 1).temperature, reading.temperature);
          const after = temperatureAt(config, lead, reading.changesAt).temperature;
          assert.ok(order(after) < order(reading.temperature), `${reading.temperature} -> ${after}`);
        },
      ),
    );
  });
});

describe('noteHighIntent', () => {
  test('keeps the latest high-intent time; other activities change nothing', () => {
    const demo = { type: 'demo_requested', occurredAt: t0, properties: {} };
    assert.equal(noteHighIntent(config, null, demo), t0);
    assert.equal(noteHighIntent(config, t0 + 1, demo), t0 + 1);
    assert.equal(noteHighIntent(config, t0 - 1, demo), t0);
    assert.equal(
      noteHighIntent(config, null, { type: 'email_opened', occurredAt: t0, properties: {} }),
      null,
    );
    const pricing = { type: 'page_view', occurredAt: t0, properties: { url: 'https://a.io/pricing' } };
    assert.equal(noteHighIntent(config, null, pricing), t0);
  });
});

describe('parseTemperatureConfig', () => {
  test('fills the defaults', () => {
    const result = parseTemperatureConfig({ hot: { minBehaviour: 70 } });
    assert.ok(result.ok);
    assert.deepEqual(result.value, { ...config, hot: { minBehaviour: 70 } });
  });

  test('reports bad fields by path', () => {
    const result = parseTemperatureConfig({
      hot: {},
      warm: { minBehaviour: -1 },
      highIntent: [{ type: 'page_view', where: { url: { region: ['X'] } } }],
    });
    assert.equal(result.ok, false);
    if (!result.ok)
      assert.deepEqual(
        result.errors.map((e) => e.path),
        ['/warm/minBehaviour'],
      );
    const meaning = parseTemperatureConfig({
      hot: {},
      highIntent: [{ type: 'page_view', where: { url: { region: ['X'] } } }],
    });
    assert.equal(meaning.ok, false);
    if (!meaning.ok)
      assert.deepEqual(
        meaning.errors.map((e) => e.path),
        ['/highIntent/0/where/url/region/0', '/hot'],
      );
  });
});
