import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  RENDER_TOKEN_FUTURE_MS,
  RENDER_TOKEN_TTL_MS,
  renderToken,
  renderTokenHash,
  verifyRenderToken,
} from './spam-tokens.ts';

const NOW = Date.UTC(2026, 0, 10, 12);
const SECRET = 'form-secret-1';
const FORM = '0190a0b0-0000-7000-8000-000000000001';

describe('render tokens', () => {
  it('hand back the render time for the form and secret they were made with', () => {
    const token = renderToken(SECRET, FORM, NOW);
    assert.match(token, /^[0-9a-z]+\.[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(verifyRenderToken(SECRET, FORM, token, NOW + 5000), { ok: true, renderedAt: NOW });
  });

  it('refuse another form, another secret, or an edited time', () => {
    const token = renderToken(SECRET, FORM, NOW);
    assert.deepEqual(verifyRenderToken(SECRET, 'another-form', token, NOW), {
      ok: false,
      reason: 'bad_signature',
    });
    assert.deepEqual(verifyRenderToken('other-secret', FORM, token, NOW), {
      ok: false,
      reason: 'bad_signature',
    });
    // A bot back-dating the render to look patient.
    const [, nonce, mac] = token.split('.');
    const backdated = `${(NOW - 60_000).toString(36)}.${nonce}.${mac}`;
    assert.deepEqual(verifyRenderToken(SECRET, FORM, backdated, NOW), { ok: false, reason: 'bad_signature' });
  });

  it('differ for two renders of one millisecond (a token is good for one submission)', () => {
    const tokens = new Set(Array.from({ length: 100 }, () => renderToken(SECRET, FORM, NOW)));
    assert.equal(tokens.size, 100);
    for (const token of tokens) assert.equal(verifyRenderToken(SECRET, FORM, token, NOW).ok, true);
    const [time, , mac] = renderToken(SECRET, FORM, NOW).split('.');
    // Another nonce under the same MAC is a forgery.
    assert.deepEqual(verifyRenderToken(SECRET, FORM, `${time}.${'A'.repeat(12)}.${mac}`, NOW), {
      ok: false,
      reason: 'bad_signature',
    });
    assert.notEqual(renderTokenHash('a.b.c'), renderTokenHash('a.b.d'));
  });

  it('expire after 24 hours and refuse times ahead of the clock', () => {
    const token = renderToken(SECRET, FORM, NOW);
    assert.equal(verifyRenderToken(SECRET, FORM, token, NOW + RENDER_TOKEN_TTL_MS).ok, true);
    assert.deepEqual(verifyRenderToken(SECRET, FORM, token, NOW + RENDER_TOKEN_TTL_MS + 1), {
      ok: false,
      reason: 'expired',
    });
    assert.equal(verifyRenderToken(SECRET, FORM, token, NOW - RENDER_TOKEN_FUTURE_MS).ok, true);
    assert.deepEqual(verifyRenderToken(SECRET, FORM, token, NOW - RENDER_TOKEN_FUTURE_MS - 1), {
      ok: false,
      reason: 'future',
    });
  });

  it('call anything that is not a token malformed, without throwing', () => {
    for (const bad of [
      '',
      '.',
      'abc',
      `${NOW.toString(36)}.short`,
      'x'.repeat(500),
      `-1.${'A'.repeat(12)}.${'A'.repeat(43)}`,
      `${NOW.toString(36)}.${'A'.repeat(43)}`,
    ])
      assert.deepEqual(verifyRenderToken(SECRET, FORM, bad, NOW), { ok: false, reason: 'malformed' }, bad);
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (text) => {
        const check = verifyRenderToken(SECRET, FORM, text, NOW);
        assert.equal(check.ok, false);
      }),
    );
  });
});
