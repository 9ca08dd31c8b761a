import assert from 'node:assert/strict';
import { it } from 'node:test';
import { authHeaders, describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

const DAY = 24 * 60 * 60 * 1000;

interface EventResult {
  index: number;
  status: 'stored' | 'duplicate' | 'rejected';
  id?: string;
  leadId?: string;
  errors?: Array<{ path: string; message: string }>;
}

interface TimelineEntry {
  id: string;
  type: string;
  occurredAt: string;
  properties: Record<string, unknown>;
}

async function postEvents(t: TestApp, events: unknown[], key = t.key) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/events',
    headers: authHeaders(key),
    payload: { events },
  });
}

async function identify(t: TestApp, payload: Record<string, unknown>, key = t.key) {
  return t.app.inject({ method: 'POST', url: '/api/v1/identify', headers: authHeaders(key), payload });
}

async function createLead(t: TestApp, email: string, key = t.key): Promise<string> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/leads',
    headers: authHeaders(key),
    payload: { email },
  });
  assert.equal(response.statusCode, 201, response.body);
  return response.json().id;
}

async function timeline(t: TestApp, leadId: string): Promise<TimelineEntry[]> {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/v1/leads/${leadId}/timeline?limit=500`,
    headers: authHeaders(t.key),
  });
  assert.equal(response.statusCode, 200, response.body);
  return response.json().data;
}

/** The lead's activities (system entries such as lead_created or stage_changed left out), oldest first. */
async function activities(t: TestApp, leadId: string): Promise<TimelineEntry[]> {
  const system = new Set([
    'lead_created',
    'lead_updated',
    'lead_merged',
    'identified',
    'stage_changed',
    'temperature_changed',
    'flag_set',
  ]);
  return (await timeline(t, leadId)).filter((e) => !system.has(e.type)).reverse();
}

async function findLeadId(t: TestApp, email: string): Promise<string | undefined> {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/v1/leads?q=${encodeURIComponent(email)}`,
    headers: authHeaders(t.key),
  });
  return response.json().data.find((l: { email: string }) => l.email === email)?.id;
}

async function anonymousRows(t: TestApp, anonymousId: string) {
  return t.services.database.db
    .selectFrom('anonymous_activities')
    .select(['id', 'expires_at'])
    .where('anonymous_id', '=', anonymousId)
    .orderBy('id')
    .execute();
}

describeEachEngine('POST /api/v1/events', (engine) => {
  const get = useApp(engine);

  it('stores events by leadId, email and anonymousId, and shows them on the timeline', async () => {
    const t = get();
    const known = await createLead(t, 'grace@hopper.dev');
    const at = t.clock.now - 60_000;
    const response = await postEvents(t, [
      {
        type: 'page_view',
        leadId: known,
        occurredAt: new Date(at).toISOString(),
        properties: { path: '/a' },
      },
      { type: 'pricing_viewed', email: '  Grace@Hopper.DEV ', occurredAt: at + 1000 },
      { type: 'demo_requested', email: 'new.person@cobol.dev', properties: { seats: 12 } },
      { type: 'page_view', anonymousId: 'visitor-1', properties: { path: '/pricing' } },
    ]);
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual([body.accepted, body.duplicates, body.rejected], [4, 0, 0]);
    const results: EventResult[] = body.results;
    assert.deepEqual(
      results.map((r) => r.status),
      ['stored', 'stored', 'stored', 'stored'],
    );
    assert.equal(results[0]!.leadId, known);
    assert.equal(results[1]!.leadId, known, 'the email is normalised and finds the existing lead');
    assert.equal(results[3]!.leadId, undefined, 'an unidentified visitor has no lead');
    for (const r of results) assert.match(r.id!, /^[0-9a-f-]{36}$/);

    const grace = await activities(t, known);
    assert.deepEqual(
      grace.map((e) => [e.type, e.occurredAt, e.properties]),
      [
        ['page_view', new Date(at).toISOString(), { path: '/a' }],
        ['pricing_viewed', new Date(at + 1000).toISOString(), {}],
      ],
    );

    // An unknown email created its lead through the lead service (lead_created, via event).
    const created = await findLeadId(t, 'new.person@cobol.dev');
    assert.equal(created, results[2]!.leadId);
    const entries = await timeline(t, created!);
    // A demo request is high intent (hot) and, by the default stage rules, makes an MQL.
    assert.deepEqual(entries.map((e) => e.type).sort(), [
      'demo_requested',
      'lead_created',
      'stage_changed',
      'temperature_changed',
    ]);
    assert.deepEqual(entries.find((e) => e.type === 'stage_changed')!.properties.to, 'mql');
    assert.equal(entries.find((e) => e.type === 'lead_created')!.properties.via, 'event');
    assert.equal(
      entries.find((e) => e.type === 'demo_requested')!.occurredAt,
      new Date(t.clock.now).toISOString(),
    );

    const anonymous = await anonymousRows(t, 'visitor-1');
    assert.deepEqual(
      anonymous.map((r) => [r.id, r.expires_at]),
      [[results[3]!.id, t.clock.now + 90 * DAY]],
    );
  });

  it('stores a retried id once and reports it as a duplicate', async () => {
    const t = get();
    const leadId = await createLead(t, 'retry@acme.io');
    const batch = [
      { id: 'evt:retry-1', type: 'email_opened', leadId },
      { id: 'evt:retry-2', type: 'email_clicked', email: 'retry@acme.io' },
      { id: 'evt:retry-anon', type: 'page_view', anonymousId: 'visitor-retry' },
    ];
    const first = (await postEvents(t, batch)).json();
    assert.deepEqual([first.accepted, first.duplicates], [3, 0]);

    const again = await postEvents(t, [...batch, { id: 'evt:retry-3', type: 'email_replied', leadId }]);
    assert.equal(again.statusCode, 200, again.body);
    const second = again.json();
    assert.deepEqual([second.accepted, second.duplicates, second.rejected], [1, 3, 0]);
    assert.deepEqual(
      second.results.map((r: EventResult) => [r.id, r.status]),
      [
        ['evt:retry-1', 'duplicate'],
        ['evt:retry-2', 'duplicate'],
        ['evt:retry-anon', 'duplicate'],
        ['evt:retry-3', 'stored'],
      ],
    );
    assert.equal(second.results[0].leadId, leadId);

    // The same id twice within one call is stored once too.
    const within = (
      await postEvents(t, [
        { id: 'evt:twice', type: 'call_logged', leadId },
        { id: 'evt:twice', type: 'call_logged', leadId },
      ])
    ).json();
    assert.deepEqual(
      within.results.map((r: EventResult) => r.status),
      ['stored', 'duplicate'],
    );

    // The id again for another lead: a duplicate, naming the lead that holds the event.
    const otherId = await createLead(t, 'other-retry@acme.io');
    const elsewhere = (
      await postEvents(t, [{ id: 'evt:retry-1', type: 'pricing_viewed', leadId: otherId }])
    ).json();
    assert.deepEqual(
      elsewhere.results.map((r: EventResult) => [r.status, r.leadId]),
      [['duplicate', leadId]],
    );
    assert.deepEqual(await activities(t, otherId), []);

    const ids = (await activities(t, leadId)).map((e) => e.id);
    assert.deepEqual(ids.sort(), ['evt:retry-1', 'evt:retry-2', 'evt:retry-3', 'evt:twice']);
    assert.equal((await anonymousRows(t, 'visitor-retry')).length, 1);
  });

  it("stores one call's lead event and visitor event with the same id both, as two calls would", async () => {
    const t = get();
    const leadId = await createLead(t, 'clash@acme.io');
    const sent = (
      await postEvents(t, [
        { id: 'col-1', type: 'pricing_viewed', leadId },
        { id: 'col-1', type: 'page_view', anonymousId: 'visitor-clash' },
      ])
    ).json();
    assert.deepEqual(
      sent.results.map((r: EventResult) => r.status),
      ['stored', 'stored'],
    );
    assert.equal((await anonymousRows(t, 'visitor-clash')).length, 1);
    assert.equal((await identify(t, { anonymousId: 'visitor-clash', leadId })).statusCode, 200);
    assert.deepEqual((await activities(t, leadId)).map((e) => e.type).sort(), [
      'page_view',
      'pricing_viewed',
    ]);
  });

  it('writes nothing for a retry by email: an archived lead stays archived, an unknown email gets no lead', async () => {
    const t = get();
    const event = { id: 'evt:retry-archived', type: 'custom', email: 'archived-retry@acme.io' };
    const first = (await postEvents(t, [event])).json();
    assert.equal(first.results[0].status, 'stored');
    const leadId = first.results[0].leadId as string;
    const archived = await t.app.inject({
      method: 'POST',
      url: `/api/v1/leads/${leadId}/archive`,
      headers: authHeaders(t.key),
    });
    assert.equal(archived.statusCode, 200, archived.body);
    const entriesBefore = (await timeline(t, leadId)).length;

    const again = (await postEvents(t, [event])).json();
    assert.deepEqual(
      again.results.map((r: EventResult) => [r.status, r.leadId]),
      [['duplicate', leadId]],
    );
    const lead = await t.app.inject({
      method: 'GET',
      url: `/api/v1/leads/${leadId}`,
      headers: authHeaders(t.key),
    });
    assert.notEqual(lead.json().archivedAt, null, 'the retry did not restore the lead');
    assert.equal((await timeline(t, leadId)).length, entriesBefore);

    // The same id with another email: still the stored event, answered with the lead that holds it.
    const reused = (await postEvents(t, [{ ...event, email: 'someone-else@acme.io' }])).json();
    assert.deepEqual(
      reused.results.map((r: EventResult) => [r.status, r.leadId]),
      [['duplicate', leadId]],
    );
    const search = await t.app.inject({
      method: 'GET',
      url: '/api/v1/leads?q=someone-else',
      headers: authHeaders(t.key),
    });
    assert.deepEqual(search.json().data, [], 'no lead was created for the other email');
  });

  it('stores a retried id once in a large call too (PostgreSQL writes 32 rows or more as arrays)', async () => {
    const t = get();
    const leadId = await createLead(t, 'retry-large@acme.io');
    const batch = Array.from({ length: 40 }, (_, i) => ({
      id: `evt:large-${String(i).padStart(2, '0')}`,
      type: 'page_view',
      leadId,
      properties: { url: `https://example.org/page-${i}`, note: i % 2 ? null : 'it\'s "quoted", {braced}' },
    }));
    const first = (await postEvents(t, batch)).json();
    assert.deepEqual([first.accepted, first.duplicates], [40, 0], JSON.stringify(first).slice(0, 500));
    const again = (
      await postEvents(t, [...batch, { id: 'evt:large-new', type: 'page_view', leadId }, batch[0]!])
    ).json();
    assert.deepEqual([again.accepted, again.duplicates, again.rejected], [1, 41, 0]);
    assert.equal(again.results[40].status, 'stored');
    const stored = await activities(t, leadId);
    assert.equal(stored.filter((e) => e.id.startsWith('evt:large-')).length, 41);
    const third = stored.find((e) => e.id === 'evt:large-02') as unknown as
      | { properties: unknown }
      | undefined;
    assert.deepEqual(third?.properties, {
      url: 'https://example.org/page-2',
      note: 'it\'s "quoted", {braced}',
    });
  });

  it('rejects bad events one by one with field paths and stores the good ones of the call', async () => {
    const t = get();
    const leadId = await createLead(t, 'mixed@acme.io');
    const response = await postEvents(t, [
      { type: 'webinar_registered', leadId, id: 'evt:mixed-good-1' },
      { type: 'lead_created', leadId },
      { type: 'page_view', leadId, email: 'mixed@acme.io' },
      { type: 'page_view' },
      { type: 'page_view', leadId: '01900000-0000-7000-8000-000000000000' },
      { type: 'page_view', leadId, occurredAt: t.clock.now + 2 * DAY },
      { type: 'page_view', leadId, occurredAt: '2026-01-01T10:00:00' },
      { type: 'page_view', leadId, properties: { blob: 'x'.repeat(17 * 1024) } },
      {
        type: 'page_view',
        leadId,
        properties: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i])),
      },
      { type: 'page_view', leadId, id: 'has spaces' },
      { type: 'page_view', email: 'not an email' },
      'not an object',
      { type: 'page_view', leadId, colour: 'blue' },
      { type: 'webinar_attended', leadId, id: 'evt:mixed-good-2', occurredAt: t.clock.now + DAY - 1 },
      // Text PostgreSQL cannot store: a NUL, a lone surrogate. Only these events are refused.
      { type: 'page_view', leadId, properties: { title: 'x\u0000' } },
      { type: 'page_view', leadId, properties: { title: '\ud83d' } },
    ]);
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual([body.accepted, body.duplicates, body.rejected], [2, 0, 14]);
    const byIndex = (i: number) => body.results[i] as EventResult;
    const paths = (i: number) => byIndex(i).errors!.map((e) => e.path);
    assert.equal(byIndex(0).status, 'stored');
    assert.deepEqual(paths(1), ['/events/1/type']);
    assert.match(byIndex(1).errors![0]!.message, /system/);
    assert.deepEqual(paths(2), ['/events/2/email']);
    assert.deepEqual(paths(3), ['/events/3/email']);
    assert.deepEqual(byIndex(4).errors, [
      { path: '/events/4/leadId', message: 'is not a lead in this workspace' },
    ]);
    assert.deepEqual(paths(5), ['/events/5/occurredAt']);
    assert.match(byIndex(5).errors![0]!.message, /future/);
    assert.deepEqual(paths(6), ['/events/6/occurredAt']);
    assert.deepEqual(paths(7), ['/events/7/properties']);
    assert.deepEqual(paths(8), ['/events/8/properties']);
    assert.deepEqual(paths(9), ['/events/9/id']);
    assert.deepEqual(paths(10), ['/events/10/email']);
    assert.deepEqual(paths(11), ['/events/11']);
    assert.deepEqual(paths(12), ['/events/12/colour']);
    assert.equal(byIndex(13).status, 'stored');
    for (let i = 1; i <= 12; i++) assert.equal(byIndex(i).status, 'rejected');
    assert.deepEqual(
      [paths(14), paths(15)],
      [['/events/14/properties/title'], ['/events/15/properties/title']],
    );

    const stored = await activities(t, leadId);
    assert.deepEqual(stored.map((e) => e.id).sort(), ['evt:mixed-good-1', 'evt:mixed-good-2']);
  });

  it('rejects times that are not on the calendar (Date.parse would roll them over)', async () => {
    const t = get();
    const leadId = await createLead(t, 'calendar@acme.io');
    const response = await postEvents(t, [
      { type: 'page_view', leadId, occurredAt: '2025-02-29T10:00:00Z' },
      { type: 'page_view', leadId, occurredAt: '2025-04-31' },
      { type: 'page_view', leadId, occurredAt: '2025-01-01T24:00:00Z' },
      { type: 'page_view', leadId, occurredAt: '2024-02-29T10:00:00Z' },
    ]);
    assert.deepEqual(
      response.json().results.map((r: EventResult) => [r.status, r.errors?.[0]?.path]),
      [
        ['rejected', '/events/0/occurredAt'],
        ['rejected', '/events/1/occurredAt'],
        ['rejected', '/events/2/occurredAt'],
        ['stored', undefined],
      ],
    );
    const list = await t.app.inject({
      method: 'GET',
      url: '/api/v1/leads?createdFrom=2026-02-30T00:00:00Z',
      headers: authHeaders(t.key),
    });
    assert.equal(list.statusCode, 422, list.body);
    assert.equal(list.json().errors[0].path, '/query/createdFrom');
  });

  it('refuses times before 1970 saying so, not that they lack a time zone', async () => {
    const t = get();
    const leadId = await createLead(t, 'epoch@acme.io');
    const response = await postEvents(t, [
      { type: 'page_view', leadId, occurredAt: '1969-12-31T23:59:59Z' },
      { type: 'page_view', leadId, occurredAt: -1 },
      { type: 'page_view', leadId, occurredAt: '1969-12-31T23:59:59' },
      { type: 'page_view', leadId, occurredAt: '1970-01-01T00:00:00Z' },
    ]);
    assert.equal(response.statusCode, 200, response.body);
    const before1970 = 'must not be before 1970-01-01T00:00:00Z (epoch milliseconds 0)';
    assert.deepEqual(
      response.json().results.map((r: EventResult) => [r.status, r.errors?.[0]?.message]),
      [
        ['rejected', before1970],
        ['rejected', before1970],
        ['rejected', 'must be an ISO 8601 time with a time zone, or epoch milliseconds'],
        ['stored', undefined],
      ],
    );
  });

  it('rejects an unknown type with the path /events/0/type', async () => {
    const t = get();
    const response = await postEvents(t, [{ type: 'teleported', anonymousId: 'visitor-type' }]);
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json().results, [
      {
        index: 0,
        status: 'rejected',
        errors: [{ path: '/events/0/type', message: 'is not a known event type' }],
      },
    ]);
    assert.deepEqual(await anonymousRows(t, 'visitor-type'), []);
  });

  it('refuses more than 1,000 events (or none) with 400 and writes nothing', async () => {
    const t = get();
    const events = Array.from({ length: 1001 }, (_, i) => ({
      id: `evt:big-${i}`,
      type: 'page_view',
      anonymousId: 'visitor-big',
    }));
    const response = await postEvents(t, events);
    assert.equal(response.statusCode, 400, response.body);
    assert.match(response.headers['content-type'] as string, /application\/problem\+json/);
    assert.deepEqual(
      response.json().errors.map((e: { path: string }) => e.path),
      ['/events'],
    );
    assert.deepEqual(await anonymousRows(t, 'visitor-big'), []);

    const empty = await postEvents(t, []);
    assert.equal(empty.statusCode, 400, empty.body);

    const full = (await postEvents(t, events.slice(0, 1000))).json();
    assert.equal(full.accepted, 1000, 'exactly 1,000 is allowed');
    assert.equal((await anonymousRows(t, 'visitor-big')).length, 1000);
  });

  it("sends a merged lead's events to the lead it was merged into", async () => {
    const t = get();
    const survivor = await createLead(t, 'survivor@acme.io');
    const merged = await createLead(t, 'merged@acme.io');
    const merge = await t.app.inject({
      method: 'POST',
      url: `/api/v1/leads/${survivor}/merge`,
      headers: authHeaders(t.key),
      payload: { otherId: merged },
    });
    assert.equal(merge.statusCode, 200, merge.body);
    const body = (
      await postEvents(t, [
        { id: 'evt:merged-1', type: 'meeting_booked', leadId: merged },
        { id: 'evt:merged-2', type: 'chat_started', email: 'merged@acme.io' },
      ])
    ).json();
    assert.deepEqual(
      body.results.map((r: EventResult) => [r.status, r.leadId]),
      [
        ['stored', survivor],
        ['stored', survivor],
      ],
    );
    const ids = (await activities(t, survivor)).map((e) => e.id).sort();
    assert.deepEqual(ids, ['evt:merged-1', 'evt:merged-2']);
  });

  it("cannot attach events to another workspace's lead", async () => {
    const t = get();
    const leadId = await createLead(t, 'private@acme.io');
    await t.services.workspaces.createWorkspace('other');
    const { key: otherKey } = await t.services.workspaces.createKey('other', 'intruder', 'write');

    const response = await postEvents(
      t,
      [
        { id: 'evt:intrude-1', type: 'page_view', leadId },
        { id: 'evt:intrude-2', type: 'page_view', email: 'private@acme.io' },
      ],
      otherKey,
    );
    assert.equal(response.statusCode, 200, response.body);
    const [byId, byEmail] = response.json().results as EventResult[];
    assert.equal(byId!.status, 'rejected');
    assert.deepEqual(
      byId!.errors!.map((e) => e.path),
      ['/events/0/leadId'],
    );
    // The email belongs to no lead of the other workspace: it gets its own, separate lead.
    assert.equal(byEmail!.status, 'stored');
    assert.notEqual(byEmail!.leadId, leadId);

    const attach = await identify(t, { anonymousId: 'visitor-intruder', leadId }, otherKey);
    assert.equal(attach.statusCode, 404, attach.body);
    assert.equal(attach.json().code, 'LEAD_NOT_FOUND');

    assert.deepEqual(await activities(t, leadId), []);
  });

  it('honours Idempotency-Key by replaying the first answer', async () => {
    const t = get();
    const leadId = await createLead(t, 'idem@acme.io');
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: authHeaders(t.key, { 'idempotency-key': 'events-idem-1' }),
        payload: { events: [{ type: 'trial_started', leadId }] },
      });
    const first = await send();
    const second = await send();
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.deepEqual(second.json(), first.json());
    assert.equal((await activities(t, leadId)).length, 1, 'the generated-id event is not stored twice');
  });
});

describeEachEngine('POST /api/v1/identify', (engine) => {
  const get = useApp(engine);

  it("moves the visitor's history onto the lead, and later events go straight to the lead", async () => {
    const t = get();
    const leadId = await createLead(t, 'ada@engines.dev');
    const before = await postEvents(t, [
      { id: 'evt:anon-1', type: 'page_view', anonymousId: 'visitor-ada', properties: { path: '/' } },
      { id: 'evt:anon-2', type: 'pricing_viewed', anonymousId: 'visitor-ada' },
      { id: 'evt:anon-other', type: 'page_view', anonymousId: 'visitor-someone-else' },
    ]);
    assert.equal(before.json().accepted, 3);

    const response = await identify(t, { anonymousId: 'visitor-ada', email: 'ADA@engines.dev' });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), {
      anonymousId: 'visitor-ada',
      leadId,
      leadCreated: false,
      linked: true,
      moved: 2,
    });

    const entries = await timeline(t, leadId);
    const identified = entries.filter((e) => e.type === 'identified');
    assert.deepEqual(
      identified.map((e) => e.properties),
      [{ anonymousId: 'visitor-ada', moved: 2 }],
    );
    assert.deepEqual(
      (await activities(t, leadId)).map((e) => [e.id, e.type, e.properties]),
      [
        ['evt:anon-1', 'page_view', { path: '/' }],
        ['evt:anon-2', 'pricing_viewed', {}],
      ],
    );
    assert.deepEqual(await anonymousRows(t, 'visitor-ada'), []);
    assert.equal((await anonymousRows(t, 'visitor-someone-else')).length, 1, "another visitor's rows stay");

    const after = (
      await postEvents(t, [
        { id: 'evt:anon-3', type: 'content_downloaded', anonymousId: 'visitor-ada' },
        { id: 'evt:anon-1', type: 'page_view', anonymousId: 'visitor-ada' },
      ])
    ).json();
    assert.deepEqual(
      after.results.map((r: EventResult) => [r.status, r.leadId]),
      [
        ['stored', leadId],
        ['duplicate', leadId],
      ],
    );
    assert.deepEqual(await anonymousRows(t, 'visitor-ada'), []);
    assert.deepEqual(
      (await activities(t, leadId)).map((e) => e.id),
      ['evt:anon-1', 'evt:anon-2', 'evt:anon-3'],
    );
  });

  it('keeps a visitor event whose id a lead event also has: both were stored, neither is dropped', async () => {
    const t = get();
    const leadId = await createLead(t, 'clash@engines.dev');
    const visitor = await postEvents(t, [
      {
        id: 'evt:clash',
        type: 'pricing_viewed',
        anonymousId: 'visitor-clash',
        occurredAt: t.clock.now - 60_000,
      },
      { id: 'evt:same', type: 'page_view', anonymousId: 'visitor-clash', occurredAt: t.clock.now - 30_000 },
    ]);
    assert.equal(visitor.json().accepted, 2);
    const known = await postEvents(t, [
      { id: 'evt:clash', type: 'custom', leadId },
      // The same event again, now sent for the lead: a retry, not another event.
      { id: 'evt:same', type: 'page_view', leadId, occurredAt: t.clock.now - 30_000 },
    ]);
    assert.equal(known.json().accepted, 2);

    const response = await identify(t, { anonymousId: 'visitor-clash', leadId });
    assert.equal(response.json().moved, 1);
    const stored = await activities(t, leadId);
    assert.deepEqual(stored.map((e) => e.type).sort(), ['custom', 'page_view', 'pricing_viewed']);
    const moved = stored.find((e) => e.type === 'pricing_viewed')!;
    assert.notEqual(moved.id, 'evt:clash', 'under an id of its own');
    assert.deepEqual(await anonymousRows(t, 'visitor-clash'), []);
  });

  it('is a no-op the second time', async () => {
    const t = get();
    const leadId = await createLead(t, 'twice@engines.dev');
    await postEvents(t, [{ id: 'evt:twice-1', type: 'page_view', anonymousId: 'visitor-twice' }]);
    const first = await identify(t, { anonymousId: 'visitor-twice', leadId });
    assert.deepEqual([first.json().linked, first.json().moved], [true, 1]);
    const before = await timeline(t, leadId);

    const second = await identify(t, { anonymousId: 'visitor-twice', leadId });
    assert.equal(second.statusCode, 200, second.body);
    assert.deepEqual(second.json(), {
      anonymousId: 'visitor-twice',
      leadId,
      leadCreated: false,
      linked: false,
      moved: 0,
    });
    const byEmail = await identify(t, { anonymousId: 'visitor-twice', email: 'twice@engines.dev' });
    assert.equal(byEmail.json().linked, false);
    assert.deepEqual(await timeline(t, leadId), before, 'no entry was added or doubled');
  });

  it('creates the lead of an unknown email', async () => {
    const t = get();
    await postEvents(t, [{ id: 'evt:newbie-1', type: 'webinar_attended', anonymousId: 'visitor-newbie' }]);
    const response = await identify(t, { anonymousId: 'visitor-newbie', email: 'newbie@engines.dev' });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual([body.leadCreated, body.linked, body.moved], [true, true, 1]);
    assert.equal(await findLeadId(t, 'newbie@engines.dev'), body.leadId);
    assert.deepEqual((await timeline(t, body.leadId)).map((e) => e.type).sort(), [
      'identified',
      'lead_created',
      'webinar_attended',
    ]);
  });

  it('refuses with 409 an anonymous id already identified as another lead, and creates nothing', async () => {
    const t = get();
    const first = await createLead(t, 'first@engines.dev');
    assert.equal((await identify(t, { anonymousId: 'visitor-shared', leadId: first })).statusCode, 200);

    const response = await identify(t, { anonymousId: 'visitor-shared', email: 'second@engines.dev' });
    assert.equal(response.statusCode, 409, response.body);
    assert.match(response.headers['content-type'] as string, /application\/problem\+json/);
    const problem = response.json();
    assert.equal(problem.code, 'ANONYMOUS_ID_LINKED');
    assert.match(problem.detail, new RegExp(first));
    // It names the email, not the id of the lead the refusal rolls back.
    assert.match(problem.detail, /cannot be attached to second@engines\.dev\.$/);
    assert.deepEqual(
      problem.errors.map((e: { path: string }) => e.path),
      ['/anonymousId'],
    );
    assert.equal(await findLeadId(t, 'second@engines.dev'), undefined, 'the 409 rolled the new lead back');
  });

  it('validates its input', async () => {
    const t = get();
    const both = await identify(t, { anonymousId: 'visitor-x', email: 'x@engines.dev', leadId: 'abc' });
    assert.equal(both.statusCode, 422, both.body);
    const neither = await identify(t, { anonymousId: 'visitor-x' });
    assert.equal(neither.statusCode, 422, neither.body);
    assert.deepEqual(
      neither.json().errors.map((e: { path: string }) => e.path),
      ['/email'],
    );
    const badEmail = await identify(t, { anonymousId: 'visitor-x', email: 'nope' });
    assert.deepEqual(
      badEmail.json().errors.map((e: { path: string }) => e.path),
      ['/email'],
    );
    const missing = await identify(t, { email: 'x@engines.dev' });
    assert.equal(missing.statusCode, 400, missing.body);
    const unknownLead = await identify(t, { anonymousId: 'visitor-x', leadId: 'no-such-lead' });
    assert.equal(unknownLead.statusCode, 404, unknownLead.body);
  });
});

describeEachEngine('anonymous activity expiry', (engine) => {
  const get = useApp(engine);

  it('does not attach expired rows, accepts their ids again, and purges them', async () => {
    const t = get();
    const leadId = await createLead(t, 'late@engines.dev');
    await postEvents(t, [
      { id: 'evt:old-1', type: 'page_view', anonymousId: 'visitor-late' },
      { id: 'evt:old-2', type: 'page_view', anonymousId: 'visitor-gone' },
      { id: 'evt:old-3', type: 'page_view', anonymousId: 'visitor-gone' },
    ]);
    t.clock.now += 60 * DAY;
    await postEvents(t, [{ id: 'evt:fresh-1', type: 'pricing_viewed', anonymousId: 'visitor-late' }]);
    t.clock.now += 31 * DAY; // the first rows are now 91 days old; the retention is 90

    const response = await identify(t, { anonymousId: 'visitor-late', leadId });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().moved, 1);
    assert.deepEqual(
      (await activities(t, leadId)).map((e) => e.id),
      ['evt:fresh-1'],
    );

    // An expired row's id is free again: retrying it stores it anew, with a new expiry.
    const retried = (
      await postEvents(t, [{ id: 'evt:old-2', type: 'page_view', anonymousId: 'visitor-gone' }])
    ).json();
    assert.equal(retried.results[0].status, 'stored');
    assert.deepEqual(
      (await anonymousRows(t, 'visitor-gone')).map((r) => [r.id, r.expires_at]),
      [
        ['evt:old-2', t.clock.now + 90 * DAY],
        ['evt:old-3', t.clock.now - 91 * DAY + 90 * DAY],
      ],
    );

    assert.equal(await t.services.events.purgeExpiredAnonymous(), 1);
    assert.deepEqual(
      (await anonymousRows(t, 'visitor-gone')).map((r) => r.id),
      ['evt:old-2'],
    );
    assert.equal(await t.services.events.purgeExpiredAnonymous(), 0, 'nothing is left to purge');
  });

  it('purges in chunks across workspaces', async () => {
    const t = get();
    const other = await t.services.workspaces.createWorkspace('purge-other');
    const { key: otherKey } = await t.services.workspaces.createKey(other.id, 'purger', 'write');
    const many = (prefix: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, type: 'page_view', anonymousId: prefix }));
    const earlier = (await t.services.database.db.selectFrom('anonymous_activities').select('id').execute())
      .length;
    for (let i = 0; i < 6; i++) await postEvents(t, many(`bulk${i}`, 1000));
    await postEvents(t, many('bulk-other', 10), otherKey);
    t.clock.now += 91 * DAY;
    await postEvents(t, many('bulk-live', 3));

    // 6,010 rows (and what earlier tests left) expired: two chunks of 5,000 plus the rest.
    assert.equal(await t.services.events.purgeExpiredAnonymous(), earlier + 6010);
    const left = await t.services.database.db
      .selectFrom('anonymous_activities')
      .select('anonymous_id')
      .execute();
    assert.deepEqual([...new Set(left.map((r) => r.anonymous_id))], ['bulk-live']);
  });
});
