import assert from 'node:assert/strict';
import { test } from 'node:test';
import countries from 'i18n-iso-countries/index.js';
import { countriesIn, isRegion, macroRegions, regions, regionsOf } from './regions.ts';

test('every country is in exactly one macro region (Antarctica in none)', () => {
  for (const code of Object.keys(countries.getAlpha2Codes())) {
    const macro = regionsOf(code).filter((r) => (macroRegions as readonly string[]).includes(r));
    assert.equal(macro.length, code === 'AQ' ? 0 : 1, `${code}: ${macro.join(', ')}`);
  }
});

test('every listed code is a real country code', () => {
  const known = new Set(Object.keys(countries.getAlpha2Codes()));
  for (const region of regions)
    for (const code of countriesIn(region)) assert.ok(known.has(code), `${region}: ${code}`);
});

test('sub-regions sit inside their macro region', () => {
  assert.deepEqual(regionsOf('de'), ['EMEA', 'EU', 'DACH']);
  assert.deepEqual(regionsOf('NZ'), ['APAC', 'ANZ']);
  assert.deepEqual(regionsOf('US'), ['NA']);
  assert.deepEqual(regionsOf('ZZ'), []);
  assert.equal(isRegion('EMEA'), true);
  assert.equal(isRegion('emea'), false);
});
