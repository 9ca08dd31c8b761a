import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { newId } from '../db/ids.ts';
import { MAGNET_LINK_TTL_MS, magnetLink, magnetToken, verifyMagnetToken } from './magnet-links.ts';
import { renderToken, verifyRenderToken } from './spam-tokens.ts';

const NOW = Date.UTC(2026, 0, 10, 12);
const SECRET = 'form-secret-1';
const FORM = '0190a0b0-0000-7000-8000-000000000001';
const SUBMISSION = '0190a0b0-1234-7abc-8def-0123456789ab';

describe('lead-magnet links', () => {
  it('name the submission, and work for 30 days from when they were minted', () => {
    const token = magnetToken(SECRET, FORM, SUBMISSION, NOW);
    assert.match(token, /^[A-Za-z0-9_-]{22}\.[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
    const expiresAt = NOW + MAGNET_LINK_TTL_MS;
    assert.deepEqual(verifyMagnetToken(SECRET, FORM, token, NOW), {
      ok: true,
      submissionId: SUBMISSION,
      expiresAt,
    });
    assert.equal(verifyMagnetToken(SECRET, FORM, token, expiresAt - 1).ok, true);
    assert.deepEqual(verifyMagnetToken(SECRET, FORM, token, expiresAt), { ok: false, reason: 'expired' });
  });

  it('are refused for another form or secret, and when any part was edited', () => {
    const token = magnetToken(SECRET, FORM, SUBMISSION, NOW);
    const bad = { ok: false, reason: 'bad_signature' };
    assert.deepEqual(verifyMagnetToken(SECRET, '0190a0b0-0000-7000-8000-000000000002', token, NOW), bad);
    assert.deepEqual(verifyMagnetToken('other-secret', FORM, token, NOW), bad);
    const [id, expiry, mac] = token.split('.') as [string, string, string];
    // Someone stretching the link's life, or pointing it at another submission.
    const later = `${id}.${(Number.parseInt(expiry, 36) + 1).toString(36)}.${mac}`;
    assert.deepEqual(verifyMagnetToken(SECRET, FORM, later, NOW), bad);
    const otherId = magnetToken(SECRET, FORM, newId(NOW), NOW).split('.')[0];
    assert.deepEqual(verifyMagnetToken(SECRET, FORM, `${otherId}.${expiry}.${mac}`, NOW), bad);
  });

  it('refuse anything that is not a token without an HMAC computed, including a render token of the form', () => {
    for (const junk of ['', 'x', 'a.b.c', `${'A'.repeat(22)}.zz.${'A'.repeat(43)}x`, 'A'.repeat(500)])
      assert.deepEqual(verifyMagnetToken(SECRET, FORM, junk, NOW), { ok: false, reason: 'malformed' });
    // The same key signs render tokens: neither kind passes for the other.
    const render = renderToken(SECRET, FORM, NOW);
    assert.equal(verifyMagnetToken(SECRET, FORM, render, NOW).ok, false);
    assert.equal(verifyRenderToken(SECRET, FORM, magnetToken(SECRET, FORM, SUBMISSION, NOW), NOW).ok, false);
  });

  it('accept only the canonical spelling of the submission id', () => {
    const token = magnetToken(SECRET, FORM, SUBMISSION, NOW);
    const [id, expiry, mac] = token.split('.') as [string, string, string];
    // base64url of 16 bytes ends in a character whose low 4 bits are padding: another one decodes alike.
    const last = id.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) + 1]!;
    const respelled = `${id.slice(0, -1)}${twin}.${expiry}.${mac}`;
    assert.deepEqual(verifyMagnetToken(SECRET, FORM, respelled, NOW), { ok: false, reason: 'malformed' });
  });

  it('round-trip every submission id', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.integer({ min: 0, max: 2 ** 42 }), (id, now) => {
        const check = verifyMagnetToken(SECRET, FORM, magnetToken(SECRET, FORM, id, now), now);
        assert.deepEqual(check, { ok: true, submissionId: id, expiresAt: now + MAGNET_LINK_TTL_MS });
      }),
    );
  });

  it('are addresses under the public URL and the form slug', () => {
    const link = magnetLink(
      'https://leads.example',
      { id: FORM, slug: 'guide', secret: SECRET },
      SUBMISSION,
      NOW,
    );
    assert.match(link, /^https:\/\/leads\.example\/f\/guide\/magnet\/[A-Za-z0-9_.-]+$/);
    assert.ok(link.length < 120, 'short enough for an email line and a URL path parameter');
  });
});
