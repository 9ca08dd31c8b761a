import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  anonymousExpiry,
  type EventInput,
  type EventLookups,
  type ParsedEvent,
  planEvents,
  settleResults,
} from './events-model.ts';

const now = Date.UTC(2026, 0, 1);
const DAY = 24 * 60 * 60 * 1000;

function event(subject: EventInput['subject'], id?: string): ParsedEvent {
  return { ok: true, value: { id, type: 'page_view', subject, occurredAt: now - 1, properties: { p: 1 } } };
}

function plan(parsed: ParsedEvent[], lookups: Partial<EventLookups> = {}) {
  let next = 0;
  return planEvents(
    parsed,
    { leadIds: new Map(), emails: new Map(), identities: new Map(), ...lookups },
    { now, retentionDays: 90, newId: () => `gen-${next++}`, pathOf: (i) => `/events/${i}` },
  );
}

describe('planEvents', () => {
  test('sends each event to its lead, or to the anonymous store when the visitor is unknown', () => {
    const result = plan(
      [
        event({ kind: 'lead', leadId: 'merged' }, 'a'),
        event({ kind: 'email', email: 'jane@acme.io' }),
        event({ kind: 'anonymous', anonymousId: 'known-visitor' }),
        event({ kind: 'anonymous', anonymousId: 'new-visitor' }, 'd'),
      ],
      {
        leadIds: new Map([['merged', 'survivor']]),
        emails: new Map([['jane@acme.io', 'jane']]),
        identities: new Map([['known-visitor', 'kim']]),
      },
    );
    assert.deepEqual(
      result.entries.map((e) => [e.id, e.leadId, e.type, e.occurredAt, e.properties]),
      [
        ['a', 'survivor', 'page_view', now - 1, { p: 1 }],
        ['gen-0', 'jane', 'page_view', now - 1, { p: 1 }],
        ['gen-1', 'kim', 'page_view', now - 1, { p: 1 }],
      ],
    );
    assert.deepEqual(result.anonymous, [
      {
        id: 'd',
        anonymousId: 'new-visitor',
        type: 'page_view',
        occurredAt: now - 1,
        properties: { p: 1 },
        expiresAt: now + 90 * DAY,
      },
    ]);
    assert.deepEqual(result.results, [
      { index: 0, status: 'stored', id: 'a', leadId: 'survivor' },
      { index: 1, status: 'stored', id: 'gen-0', leadId: 'jane' },
      { index: 2, status: 'stored', id: 'gen-1', leadId: 'kim' },
      { index: 3, status: 'stored', id: 'd' },
    ]);
  });

  test('rejects unknown lead ids and passes parse errors through, in request order', () => {
    const errors = [{ path: '/events/1/type', message: 'is not a known event type' }];
    const result = plan([event({ kind: 'lead', leadId: 'ghost' }), { ok: false, errors }]);
    assert.deepEqual(result.results, [
      {
        index: 0,
        status: 'rejected',
        errors: [{ path: '/events/0/leadId', message: 'is not a lead in this workspace' }],
      },
      { index: 1, status: 'rejected', errors },
    ]);
    assert.deepEqual([result.entries, result.anonymous], [[], []]);
  });

  test('plans an id repeated within the batch once per store; the repeats are duplicates', () => {
    const result = plan(
      [
        event({ kind: 'lead', leadId: 'l' }, 'same'),
        event({ kind: 'lead', leadId: 'l' }, 'same'),
        // The anonymous store holds ids apart from timelines, as across calls.
        event({ kind: 'anonymous', anonymousId: 'v' }, 'same'),
        event({ kind: 'anonymous', anonymousId: 'v' }, 'same'),
      ],
      { leadIds: new Map([['l', 'l']]) },
    );
    assert.equal(result.entries.length, 1);
    assert.equal(result.anonymous.length, 1);
    assert.deepEqual(
      result.results.map((r) => [r.status, r.leadId]),
      [
        ['stored', 'l'],
        ['duplicate', 'l'],
        ['stored', undefined],
        ['duplicate', undefined],
      ],
    );
  });

  test('answers an id stored by an earlier call as a duplicate of the lead holding it, before its email', () => {
    // The service looked the retry up instead of capturing its email: no lead resolved for it.
    const result = plan([event({ kind: 'email', email: 'new@acme.io' }, 'kept')], {
      stored: new Map([['kept', 'holder']]),
    });
    assert.deepEqual(result.entries, []);
    assert.deepEqual(result.results, [{ index: 0, status: 'duplicate', id: 'kept', leadId: 'holder' }]);
  });

  test('an email without a resolved lead is a bug in the caller, not bad input', () => {
    assert.throws(() => plan([event({ kind: 'email', email: 'lost@acme.io' })]), /no lead was resolved/);
  });
});

describe('settleResults', () => {
  test('turns planned events the database already held into duplicates', () => {
    const planned = [
      { index: 0, status: 'stored' as const, id: 'new', leadId: 'l' },
      { index: 1, status: 'stored' as const, id: 'old', leadId: 'l' },
      { index: 2, status: 'duplicate' as const, id: 'new', leadId: 'l' },
      { index: 3, status: 'rejected' as const, errors: [] },
    ];
    assert.deepEqual(
      settleResults(planned, new Set(['new'])).map((r) => r.status),
      ['stored', 'duplicate', 'duplicate', 'rejected'],
    );
  });
});

describe('anonymousExpiry', () => {
  test('adds the retention in days', () => {
    assert.equal(anonymousExpiry(now, 90), now + 90 * DAY);
    assert.equal(anonymousExpiry(now, 1), now + DAY);
  });
});
