import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { canonicalJson, fingerprint } from './service.ts';

/** `value` rebuilt with every object's keys in reverse order. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([key, item]) => [key, reversedKeys(item)]),
  );
}

describe('canonicalJson', () => {
  test('is JSON of the same value, whatever the key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(value)));
        assert.equal(canonicalJson(reversedKeys(value)), text);
      }),
    );
  });

  test('sorts keys at every depth, keeps array order, and leaves undefined members out', () => {
    assert.equal(
      canonicalJson({ b: [{ y: 1, x: 2 }, 'a'], a: { d: null, c: undefined } }),
      '{"a":{"d":null},"b":[{"x":2,"y":1},"a"]}',
    );
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
    assert.equal(canonicalJson(undefined), 'null');
  });
});

test('fingerprint: the same body with its keys in another order is the same request', () => {
  assert.equal(
    fingerprint('POST', '/api/v1/leads', { email: 'ko@example.org', firstName: 'A' }),
    fingerprint('POST', '/api/v1/leads', { firstName: 'A', email: 'ko@example.org' }),
  );
  assert.notEqual(
    fingerprint('POST', '/api/v1/leads', { email: 'ko@example.org' }),
    fingerprint('POST', '/api/v1/leads/batch', { email: 'ko@example.org' }),
  );
});
