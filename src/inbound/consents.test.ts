import assert from 'node:assert/strict';
import { test } from 'node:test';
import { platformGrants } from './consents.ts';

const purposes = { '0': 'marketing', '1': 'newsletter' };

test('a checked box of a mapped id grants its purpose with the wording sent', () => {
  const [grant, ...rest] = platformGrants('linkedin', purposes, [
    { id: '0', accepted: true, text: ' Send me offers ' },
    { id: '1', accepted: false, text: 'Send me the newsletter' },
    { id: '7', accepted: true, text: 'Not mapped' },
  ]);
  assert.equal(rest.length, 0);
  assert.equal(grant?.purpose, 'marketing');
  assert.equal(grant?.text, 'Send me offers');
  assert.match(grant?.version ?? '', /^linkedin:0:[0-9a-f]{12}$/);
});

test('the version follows the wording: a reworded box is a new grant, the same one is not', () => {
  const version = (text: string) =>
    platformGrants('linkedin', purposes, [{ id: '0', accepted: true, text }])[0]?.version;
  assert.equal(version('Send me offers'), version('Send me offers'));
  assert.notEqual(version('Send me offers'), version('Send me offers and news'));
});

test('a box sent without its wording says so', () => {
  const [grant] = platformGrants('linkedin', purposes, [{ id: '1', accepted: true }]);
  assert.equal(grant?.text, 'Consent checkbox 1 of the linkedin form (its wording was not sent)');
});

test('ids are looked up as own keys only', () => {
  assert.deepEqual(
    platformGrants('linkedin', purposes, [{ id: 'constructor', accepted: true, text: 'x' }]),
    [],
  );
  assert.deepEqual(platformGrants('linkedin', purposes, undefined), []);
});
