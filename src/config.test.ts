import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from './config.ts';
import { isDomainError } from './errors.ts';

/** The field errors `loadConfig` refuses this environment with (none: it loads). */
function refusals(env: Record<string, string>): Array<[string, string]> {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    assert.ok(isDomainError(error), String(error));
    return error.errors.map((e) => [e.path, e.message]);
  }
}

describe('loadConfig', () => {
  test('takes a port written in digits, and builds the default public URL from it', () => {
    assert.equal(loadConfig({ PORT: '3202' }).port, 3202);
    assert.equal(loadConfig({ PORT: '3202' }).publicUrl, 'http://localhost:3202');
    assert.equal(loadConfig({}).port, 3000);
  });

  test('refuses a port that Number() would read but is not written as one', () => {
    for (const port of [' 3202', '+3202', '1e3', '0x0C83', '3202.0', '70000', '-1', 'abc'])
      assert.deepEqual(refusals({ PORT: port }), [['PORT', 'must be an integer from 0 to 65535']], port);
  });

  test('refuses a DATABASE_URL that is not a URL, naming it', () => {
    for (const url of ['postgres://u:p@h:99999/db', 'postgres://u:p#x@h/db', 'postgres://[::1/db'])
      assert.equal(refusals({ DATABASE_URL: url })[0]?.[0], 'DATABASE_URL', url);
    assert.deepEqual(refusals({ DATABASE_URL: 'postgres://u:p%23x@h:5432/db' }), []);
  });

  test('refuses a bootstrap key with spaces, which no Authorization header could carry', () => {
    assert.deepEqual(refusals({ LEADLINE_BOOTSTRAP_KEY: ' secretsecretsecret ' }), [
      ['LEADLINE_BOOTSTRAP_KEY', 'must not contain spaces'],
    ]);
    assert.deepEqual(refusals({ LEADLINE_BOOTSTRAP_KEY: 'secretsecretsecret' }), []);
  });
});
