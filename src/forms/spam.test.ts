import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSpamSettings } from './model.ts';
import { assessSubmission, resolveSpamSettings, type SubmissionSignals } from './spam.ts';

const NOW = Date.UTC(2026, 0, 10, 12);
const person: SubmissionSignals = {
  settings: undefined,
  honeypotValue: '',
  token: { ok: true, renderedAt: NOW - 20_000 },
  email: 'ada@example.com',
  now: NOW,
};

describe('spam verdict', () => {
  it('accepts a person: empty honeypot, a valid token from long enough ago', () => {
    assert.deepEqual(assessSubmission(person), { verdict: 'accept' });
    assert.deepEqual(assessSubmission({ ...person, honeypotValue: undefined }), { verdict: 'accept' });
  });

  it('quarantines a token used by a written submission already, with the other reasons in order', () => {
    assert.deepEqual(assessSubmission({ ...person, tokenReused: true }), {
      verdict: 'quarantine',
      reasons: ['token_reused'],
    });
    assert.deepEqual(
      assessSubmission({ ...person, tokenReused: true, token: { ok: true, renderedAt: NOW - 10 } }),
      { verdict: 'quarantine', reasons: ['too_fast', 'token_reused'] },
    );
    // Token checks off (minFillSeconds 0): no token reason at all.
    assert.deepEqual(assessSubmission({ ...person, tokenReused: true, settings: { minFillSeconds: 0 } }), {
      verdict: 'accept',
    });
  });

  it('quarantines a filled honeypot, a fast fill, a missing or bad token, with every reason', () => {
    assert.deepEqual(assessSubmission({ ...person, honeypotValue: 'http://spam.example' }), {
      verdict: 'quarantine',
      reasons: ['honeypot'],
    });
    assert.deepEqual(assessSubmission({ ...person, token: { ok: true, renderedAt: NOW - 2999 } }), {
      verdict: 'quarantine',
      reasons: ['too_fast'],
    });
    assert.deepEqual(assessSubmission({ ...person, token: { ok: true, renderedAt: NOW - 3000 } }), {
      verdict: 'accept',
    });
    assert.deepEqual(assessSubmission({ ...person, token: undefined, honeypotValue: ['', 'x'] }), {
      verdict: 'quarantine',
      reasons: ['honeypot', 'token_missing'],
    });
    assert.deepEqual(assessSubmission({ ...person, token: { ok: false, reason: 'expired' } }), {
      verdict: 'quarantine',
      reasons: ['token_invalid'],
    });
  });

  it('follows the form settings: honeypot off, fill time off (no token needed), disposable emails', () => {
    const bot = { ...person, honeypotValue: 'x', token: undefined };
    assert.deepEqual(assessSubmission({ ...bot, settings: { honeypot: false, minFillSeconds: 0 } }), {
      verdict: 'accept',
    });
    assert.deepEqual(assessSubmission({ ...person, settings: { minFillSeconds: 30 } }), {
      verdict: 'quarantine',
      reasons: ['too_fast'],
    });
    const throwaway = { ...person, email: 'x@mailinator.com' };
    assert.deepEqual(assessSubmission(throwaway), { verdict: 'accept' }, 'off by default');
    assert.deepEqual(assessSubmission({ ...throwaway, settings: { rejectDisposable: true } }), {
      verdict: 'quarantine',
      reasons: ['disposable_email'],
    });
    assert.deepEqual(
      assessSubmission({ ...person, settings: { rejectDisposable: true }, emailDisposable: true }),
      { verdict: 'quarantine', reasons: ['disposable_email'] },
      'a caller that knows better is believed',
    );
    assert.deepEqual(assessSubmission({ ...person, email: null, settings: { rejectDisposable: true } }), {
      verdict: 'accept',
    });
  });

  it('fills absent settings with the defaults', () => {
    assert.deepEqual(resolveSpamSettings(undefined), defaultSpamSettings);
    assert.deepEqual(resolveSpamSettings({ perIpPerMinute: 2, minFillSeconds: undefined }), {
      ...defaultSpamSettings,
      perIpPerMinute: 2,
    });
  });
});
