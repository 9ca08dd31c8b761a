import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { newId } from '../db/ids.ts';
import {
  type ConsentRecord,
  type ConsentStatus,
  confirmable,
  currentStates,
  decodeConfirmationToken,
  encodeConfirmationToken,
  hashSecret,
  isPurpose,
  planGrants,
  secretMatches,
  timelineEntry,
} from './model.ts';

const T0 = Date.UTC(2026, 0, 10);

function rec(
  purpose: string,
  status: ConsentStatus,
  at: number,
  extra: Partial<ConsentRecord> = {},
): ConsentRecord {
  return {
    id: newId(at),
    leadId: 'lead-1',
    purpose,
    status,
    version: 'v1',
    text: `I agree to ${purpose}`,
    privacyUrl: null,
    evidence: {
      source: 'form',
      formId: 'f1',
      pageUrl: null,
      ip: null,
      userAgent: null,
      confirmationId: null,
    },
    recordedAt: at,
    createdAt: at,
    ...extra,
  };
}

const grant = (purpose: string, version = 'v1') => ({ purpose, text: `I agree to ${purpose}`, version });

describe('consent ledger', () => {
  it('the latest record of each purpose is its state, whatever order records come in', () => {
    const records = [
      rec('newsletter', 'granted', T0),
      rec('newsletter', 'withdrawn', T0 + 1000),
      rec('marketing', 'pending', T0 + 500),
      rec('marketing', 'granted', T0 + 2000),
    ];
    const states = (list: ConsentRecord[]) => currentStates(list).map((r) => [r.purpose, r.status]);
    assert.deepEqual(states(records), [
      ['marketing', 'granted'],
      ['newsletter', 'withdrawn'],
    ]);
    fc.assert(
      fc.property(fc.shuffledSubarray(records, { minLength: 4, maxLength: 4 }), (shuffled) => {
        assert.deepEqual(states(shuffled), states(records));
      }),
    );
  });

  it('records a grant unless the same version is in force; double opt-in makes new grants pending', () => {
    const current = new Map([
      ['newsletter', rec('newsletter', 'granted', T0)],
      ['marketing', rec('marketing', 'withdrawn', T0)],
      ['updates', rec('updates', 'pending', T0)],
    ]);
    const plan = (
      doubleOptIn: boolean,
      grants = [grant('newsletter'), grant('marketing'), grant('updates'), grant('events')],
    ) => planGrants(current, grants, doubleOptIn).map((p) => [p.grant.purpose, p.status]);
    assert.deepEqual(plan(false), [
      ['marketing', 'granted'],
      ['updates', 'granted'],
      ['events', 'granted'],
    ]);
    assert.deepEqual(plan(true), [
      ['marketing', 'pending'],
      ['updates', 'pending'],
      ['events', 'pending'],
    ]);
    // A new wording of a purpose in force is granted at once: the address was confirmed for it.
    assert.deepEqual(plan(true, [grant('newsletter', 'v2')]), [['newsletter', 'granted']]);
    // The same purpose twice counts once, the last.
    assert.deepEqual(
      planGrants(new Map(), [grant('events', 'v1'), grant('events', 'v2')], false).map(
        (p) => p.grant.version,
      ),
      ['v2'],
    );
  });

  it('a confirmation grants only the pending records it was sent for that are still the state', () => {
    const c1 = 'conf-1';
    const records = [
      rec('newsletter', 'pending', T0, {
        evidence: { ...rec('x', 'pending', 0).evidence, confirmationId: c1 },
      }),
      rec('marketing', 'pending', T0, {
        evidence: { ...rec('x', 'pending', 0).evidence, confirmationId: c1 },
      }),
      // Withdrawn after the email went out: the link must not bring it back.
      rec('marketing', 'withdrawn', T0 + 1000),
      rec('events', 'pending', T0, {
        evidence: { ...rec('x', 'pending', 0).evidence, confirmationId: 'conf-2' },
      }),
    ];
    assert.deepEqual(
      confirmable(records, c1).map((r) => r.purpose),
      ['newsletter'],
    );
  });

  it('names timeline entries by status', () => {
    assert.deepEqual(
      (['granted', 'pending', 'withdrawn'] as const).map(
        (s) => timelineEntry(rec('newsletter', s, T0), 'e').type,
      ),
      ['consent_granted', 'consent_requested', 'consent_withdrawn'],
    );
    const entry = timelineEntry(rec('newsletter', 'granted', T0), 'e1');
    assert.deepEqual(entry.properties, {
      purpose: 'newsletter',
      version: 'v1',
      source: 'form',
      formId: 'f1',
      consentId: entry.properties.consentId,
    });
  });

  it('purposes are lower-case identifiers', () => {
    for (const ok of ['marketing', 'product_updates', 'a1']) assert.equal(isPurpose(ok), true, ok);
    for (const bad of ['', 'Marketing', '1st', 'with-dash', 'x'.repeat(41), 'a b'])
      assert.equal(isPurpose(bad), false, bad);
  });
});

describe('confirmation tokens', () => {
  it('carry the workspace and confirmation ids and a secret only its hash can check', () => {
    const workspaceId = newId();
    const confirmationId = newId();
    const secret = randomBytes(24);
    const token = encodeConfirmationToken(workspaceId, confirmationId, secret);
    assert.match(token, /^[A-Za-z0-9_-]{75}$/);
    const decoded = decodeConfirmationToken(token);
    assert.ok(decoded);
    assert.equal(decoded.workspaceId, workspaceId);
    assert.equal(decoded.confirmationId, confirmationId);
    assert.equal(secretMatches(decoded.secret, hashSecret(secret)), true);
    assert.equal(secretMatches(randomBytes(24), hashSecret(secret)), false);
    assert.equal(secretMatches(decoded.secret, 'not-a-hash'), false);
  });

  it('decode anything else to nothing, without throwing', () => {
    for (const bad of ['', 'abc', 'A'.repeat(74), 'A'.repeat(76), `${'A'.repeat(74)}=`])
      assert.equal(decodeConfirmationToken(bad), undefined, bad);
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (text) => {
        const decoded = decodeConfirmationToken(text);
        if (decoded) assert.equal(text.length, 75);
      }),
    );
  });
});
