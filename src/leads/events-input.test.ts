import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseEventInput, parseEventTime, parseIdentifyInput } from './events-input.ts';
import { eventTypes, MAX_FUTURE_MS } from './events-model.ts';
import { timelineTypes } from './model.ts';

const now = Date.UTC(2026, 0, 1);
const parse = (raw: unknown) => parseEventInput(raw, { now }, '/events/0');
const paths = (raw: unknown) => {
  const parsed = parse(raw);
  assert.equal(parsed.ok, false, 'expected the event to be rejected');
  return parsed.ok ? [] : parsed.errors.map((e) => e.path);
};

describe('parseEventInput', () => {
  test('normalises a full event', () => {
    assert.deepEqual(
      parse({
        id: 'src:42',
        type: 'pricing_viewed',
        email: '  Jane@ACME.io ',
        occurredAt: '2025-12-31T23:00:00+01:00',
        properties: { path: '/pricing', plan: { tier: 'pro' } },
      }),
      {
        ok: true,
        value: {
          id: 'src:42',
          type: 'pricing_viewed',
          subject: { kind: 'email', email: 'jane@acme.io' },
          occurredAt: Date.UTC(2025, 11, 31, 22),
          properties: { path: '/pricing', plan: { tier: 'pro' } },
        },
      },
    );
  });

  test('defaults occurredAt to now, properties to {} and leaves the id to the service', () => {
    assert.deepEqual(parse({ type: 'page_view', anonymousId: 'v1' }), {
      ok: true,
      value: {
        id: undefined,
        type: 'page_view',
        subject: { kind: 'anonymous', anonymousId: 'v1' },
        occurredAt: now,
        properties: {},
      },
    });
    const byLead = parse({ type: 'call_logged', leadId: 'lead-1', occurredAt: now - 5 });
    assert.ok(byLead.ok);
    assert.deepEqual(byLead.value.subject, { kind: 'lead', leadId: 'lead-1' });
    assert.equal(byLead.value.occurredAt, now - 5);
  });

  test('accepts every listed type and no system timeline type', () => {
    for (const type of eventTypes) assert.equal(parse({ type, leadId: 'x' }).ok, true, type);
    for (const type of timelineTypes) {
      const parsed = parse({ type, leadId: 'x' });
      assert.equal(parsed.ok, false, type);
      if (!parsed.ok) assert.match(parsed.errors[0]!.message, /system timeline type/);
    }
    const unknown = parse({ type: 'Page_View', leadId: 'x' });
    assert.deepEqual(unknown.ok ? [] : unknown.errors, [
      { path: '/events/0/type', message: 'is not a known event type' },
    ]);
  });

  test('needs exactly one of leadId, email or anonymousId', () => {
    assert.deepEqual(paths({ type: 'page_view' }), ['/events/0/email']);
    assert.deepEqual(paths({ type: 'page_view', leadId: 'a', email: 'a@b.co' }), ['/events/0/email']);
    assert.deepEqual(paths({ type: 'page_view', leadId: 'a', email: 'a@b.co', anonymousId: 'v' }), [
      '/events/0/email',
      '/events/0/anonymousId',
    ]);
    assert.deepEqual(paths({ type: 'page_view', email: 'a@b.co', anonymousId: 'v' }), [
      '/events/0/anonymousId',
    ]);
  });

  test('checks the id, the subject fields and unknown fields', () => {
    assert.deepEqual(paths({ type: 'page_view', leadId: 'a', id: '' }), ['/events/0/id']);
    assert.deepEqual(paths({ type: 'page_view', leadId: 'a', id: 'a/b' }), ['/events/0/id']);
    assert.deepEqual(paths({ type: 'page_view', leadId: 'a', id: 'x'.repeat(129) }), ['/events/0/id']);
    assert.equal(parse({ type: 'page_view', leadId: 'a', id: `A-z_0.9:${'x'.repeat(120)}` }).ok, true);
    assert.deepEqual(paths({ type: 'page_view', anonymousId: '' }), ['/events/0/anonymousId']);
    assert.deepEqual(paths({ type: 'page_view', anonymousId: 'v'.repeat(129) }), ['/events/0/anonymousId']);
    assert.deepEqual(paths({ type: 'page_view', email: 'jane at acme' }), ['/events/0/email']);
    assert.deepEqual(paths({ type: 'page_view', leadId: 'a', extra: 1 }), ['/events/0/extra']);
    assert.deepEqual(paths(['page_view']), ['/events/0']);
    assert.deepEqual(paths(null), ['/events/0']);
  });

  test('refuses times that are malformed, zone-less or more than a day ahead', () => {
    const timeErrors = (occurredAt: unknown) => {
      const parsed = parse({ type: 'page_view', leadId: 'a', occurredAt });
      return parsed.ok ? [] : parsed.errors.map((e) => `${e.path} ${e.message}`);
    };
    assert.deepEqual(timeErrors('yesterday'), [
      '/events/0/occurredAt must be an ISO 8601 time with a time zone, or epoch milliseconds',
    ]);
    assert.equal(timeErrors('2026-01-01T10:00:00').length, 1);
    assert.equal(timeErrors(-1).length, 1);
    assert.equal(timeErrors(1.5).length, 1);
    assert.equal(timeErrors(true).length, 1);
    assert.deepEqual(timeErrors(now + MAX_FUTURE_MS + 1), [
      '/events/0/occurredAt must not be more than 1 day in the future',
    ]);
    assert.deepEqual(timeErrors(now + MAX_FUTURE_MS), []);
  });

  test('bounds properties: an object, at most 100 keys and 16 KiB of JSON', () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    assert.equal(parse({ type: 'custom', leadId: 'a', properties: keys(100) }).ok, true);
    assert.deepEqual(paths({ type: 'custom', leadId: 'a', properties: keys(101) }), ['/events/0/properties']);
    assert.deepEqual(paths({ type: 'custom', leadId: 'a', properties: [1, 2] }), ['/events/0/properties']);
    assert.deepEqual(paths({ type: 'custom', leadId: 'a', properties: 'x' }), ['/events/0/properties']);
    // 16 KiB counts UTF-8 bytes, not characters: 6,000 'é' are 12,000 bytes, 9,000 are 18,000.
    assert.equal(parse({ type: 'custom', leadId: 'a', properties: { t: 'é'.repeat(6000) } }).ok, true);
    assert.deepEqual(paths({ type: 'custom', leadId: 'a', properties: { t: 'é'.repeat(9000) } }), [
      '/events/0/properties',
    ]);
    assert.deepEqual(paths({ type: 'custom', leadId: 'a', properties: { n: 10n } }), [
      '/events/0/properties',
    ]);
  });

  test('reports every bad field of one event together', () => {
    assert.deepEqual(paths({ type: 'nope', occurredAt: 'soon', properties: { n: 10n } }), [
      '/events/0/type',
      '/events/0/email',
      '/events/0/occurredAt',
      '/events/0/properties',
    ]);
  });
});

describe('parseEventTime', () => {
  test('reads ISO 8601 with a zone, dates as UTC, and epoch milliseconds', () => {
    assert.equal(parseEventTime('2026-03-01T10:00:00Z'), Date.UTC(2026, 2, 1, 10));
    assert.equal(parseEventTime('2026-03-01T10:00:00.250-02:30'), Date.UTC(2026, 2, 1, 12, 30, 0, 250));
    assert.equal(parseEventTime('2026-03-01'), Date.UTC(2026, 2, 1));
    assert.equal(parseEventTime('1767225600000'), 1767225600000);
    assert.equal(parseEventTime(0), 0);
    for (const bad of [
      '2026-03-01T10:00',
      '2026-13-01T00:00:00Z',
      '01/03/2026',
      '',
      ' 2026-03-01',
      8.64e15 + 1,
    ])
      assert.equal(parseEventTime(bad), undefined, String(bad));
  });

  test('round-trips every representable instant, as a number and as an ISO string', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(9999, 11, 31) }), (ms) => {
        assert.equal(parseEventTime(ms), ms);
        assert.equal(parseEventTime(new Date(ms).toISOString()), ms);
      }),
    );
  });
});

describe('parseIdentifyInput', () => {
  test('takes an anonymous id and exactly one of email or leadId', () => {
    assert.deepEqual(parseIdentifyInput({ anonymousId: 'v1', email: ' Jane@Acme.io' }), {
      ok: true,
      value: { anonymousId: 'v1', target: { kind: 'email', email: 'jane@acme.io' } },
    });
    assert.deepEqual(parseIdentifyInput({ anonymousId: 'v1', leadId: 'lead-1' }), {
      ok: true,
      value: { anonymousId: 'v1', target: { kind: 'lead', leadId: 'lead-1' } },
    });
    const errorPaths = (raw: unknown) => {
      const parsed = parseIdentifyInput(raw);
      return parsed.ok ? [] : parsed.errors.map((e) => e.path);
    };
    assert.deepEqual(errorPaths({ anonymousId: 'v1' }), ['/email']);
    assert.deepEqual(errorPaths({ anonymousId: 'v1', email: 'a@b.co', leadId: 'x' }), ['/leadId']);
    assert.deepEqual(errorPaths({ anonymousId: 'v1', email: 'nope' }), ['/email']);
    assert.deepEqual(errorPaths({ email: 'a@b.co' }), ['/anonymousId']);
    assert.deepEqual(errorPaths({ anonymousId: '', email: 'a@b.co' }), ['/anonymousId']);
  });
});
