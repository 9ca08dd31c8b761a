import assert from 'node:assert/strict';
import { it } from 'node:test';
import { authHeaders, describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

/**
 * The lifecycle through the HTTP API: sales decisions on MQLs, recycling, opportunities,
 * BANT/CHAMP qualification, the stage history with time in stage, metrics, settings and
 * presets. Each test works in a workspace of its own (settings and metrics are per workspace).
 */

const DAY = 24 * 60 * 60 * 1000;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH';
/** What the tests read of the API's answers. */
interface StageChangeJson {
  from: string | null;
  to: string;
  causeKind: string;
  cause: Record<string, unknown>;
}
interface EntryJson {
  type: string;
  properties: Record<string, unknown>;
}

async function api(t: TestApp, method: Method, url: string, payload?: unknown, headers = {}) {
  return t.app.inject({
    method,
    url,
    headers: authHeaders(t.key, headers),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

async function ok(t: TestApp, method: Method, url: string, payload?: unknown) {
  const response = await api(t, method, url, payload);
  assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
  return response.json();
}

/** Asserts a problem+json answer with this status and code, naming these fields (if any). */
function assertProblem(
  response: {
    statusCode: number;
    body: string;
    headers: Record<string, unknown>;
    json: () => { code?: string; errors?: Array<{ path: string }> };
  },
  status: number,
  code: string,
  paths: string[] = [],
) {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /application\/problem\+json/);
  assert.equal(response.json().code, code, response.body);
  const named = (response.json().errors ?? []).map((e: { path: string }) => e.path).sort();
  for (const path of paths) assert.ok(named.includes(path), `${path} not in ${response.body}`);
}

/** A workspace of its own with an admin key, on the shared app. */
async function ownWorkspace(shared: TestApp, slug: string): Promise<TestApp & { keyId: string }> {
  const workspace = await shared.services.workspaces.createWorkspace(slug, slug);
  const { key, apiKey } = await shared.services.workspaces.createKey(workspace.id, `${slug} admin`, 'admin');
  return { ...shared, key, workspaceId: workspace.id, keyId: apiKey.id };
}

async function mql(t: TestApp, email: string) {
  const lead = await ok(t, 'POST', '/api/v1/leads', { email, stage: 'mql' });
  assert.equal(lead.stage, 'mql');
  return lead;
}

const stagesOf = async (t: TestApp, id: string) => ok(t, 'GET', `/api/v1/leads/${id}/stages`);
const timelineOf = async (t: TestApp, id: string): Promise<EntryJson[]> =>
  (await ok(t, 'GET', `/api/v1/leads/${id}/timeline?limit=500`)).data;

describeEachEngine('lifecycle', (engine) => {
  const get = useApp(engine);

  it('sales accepts an MQL: it becomes an SQL, recorded with its cause; a second accept is 409 and writes nothing', async () => {
    const t = await ownWorkspace(get(), 'accepting');
    const lead = await mql(t, 'ana@northwind.io');
    const accepted = await ok(t, 'POST', `/api/v1/leads/${lead.id}/accept`, {
      note: 'Budget confirmed on the call',
    });
    assert.equal(accepted.stage, 'sql');
    assert.equal(typeof accepted.score, 'number', 'the answer is the lead with its score');

    const history = await stagesOf(t, lead.id);
    assert.equal(history.stage, 'sql');
    assert.deepEqual(
      history.changes.map((c: StageChangeJson) => [c.from, c.to, c.causeKind, c.cause]),
      [
        [
          'mql',
          'sql',
          'sales',
          { decision: 'accepted', note: 'Budget confirmed on the call', by: `key:${t.keyId}` },
        ],
      ],
    );
    const entry = (await timelineOf(t, lead.id)).find((e) => e.type === 'stage_changed');
    assert.deepEqual(
      [entry?.properties.from, entry?.properties.to, entry?.properties.cause, entry?.properties.decision],
      ['mql', 'sql', 'sales', 'accepted'],
    );

    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/accept`, {}),
      409,
      'STAGE_TRANSITION_INVALID',
    );
    assert.equal((await stagesOf(t, lead.id)).changes.length, 1, 'the refused accept wrote nothing');

    // No body at all is an empty one; a lead that is not an MQL cannot be accepted.
    const other = await mql(t, 'bo@northwind.io');
    const bare = await t.app.inject({
      method: 'POST',
      url: `/api/v1/leads/${other.id}/accept`,
      headers: authHeaders(t.key),
    });
    assert.equal(bare.statusCode, 200, bare.body);
    const fresh = await ok(t, 'POST', '/api/v1/leads', { email: 'cy@northwind.io' });
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${fresh.id}/accept`, {}),
      409,
      'STAGE_TRANSITION_INVALID',
    );
    assertProblem(await api(t, 'POST', '/api/v1/leads/no-such-lead/accept', {}), 404, 'LEAD_NOT_FOUND');
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${fresh.id}/accept`, { note: 42, by: 'someone' }),
      400,
      'VALIDATION_FAILED',
      ['/note', '/by'],
    );
  });

  it('an accept retried with its Idempotency-Key is answered again, not refused, and recorded once', async () => {
    const t = await ownWorkspace(get(), 'retrying');
    const lead = await mql(t, 'dee@northwind.io');
    const url = `/api/v1/leads/${lead.id}/accept`;
    const first = await api(t, 'POST', url, { note: 'yes' }, { 'idempotency-key': 'accept-dee' });
    assert.equal(first.statusCode, 200, first.body);
    const retry = await api(t, 'POST', url, { note: 'yes' }, { 'idempotency-key': 'accept-dee' });
    assert.equal(retry.statusCode, 200, retry.body);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(retry.json().stage, 'sql');
    assert.equal((await stagesOf(t, lead.id)).changes.length, 1);
  });

  it("a rescore does not undo a person's decision: an activity before a rejection or recycle moves the lead no more", async () => {
    const t = await ownWorkspace(get(), 'decisions');
    const rejected = await ok(t, 'POST', '/api/v1/leads', { email: 'rej@acme.io' });
    const recycled = await ok(t, 'POST', '/api/v1/leads', { email: 'rec@acme.io' });
    for (const lead of [rejected, recycled])
      await ok(t, 'POST', '/api/v1/events', { events: [{ type: 'demo_requested', leadId: lead.id }] });
    t.clock.now += DAY;
    assert.equal(
      (await ok(t, 'POST', `/api/v1/leads/${rejected.id}/reject`, { reason: 'no_budget' })).stage,
      'lead',
    );
    assert.equal(
      (await ok(t, 'POST', `/api/v1/leads/${recycled.id}/recycle`, { reason: 'not ready yet' })).stage,
      'lead',
    );
    t.clock.now += DAY;
    await ok(t, 'POST', '/api/v1/scoring/rescore');
    await t.services.rescore.settled(t.workspaceId);
    for (const lead of [rejected, recycled])
      assert.equal(
        (await ok(t, 'GET', `/api/v1/leads/${lead.id}`)).stage,
        'lead',
        'the demo request was judged already',
      );
    // A new activity after the decision still moves the lead.
    await ok(t, 'POST', '/api/v1/events', { events: [{ type: 'demo_requested', leadId: rejected.id }] });
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${rejected.id}`)).stage, 'mql');
  });

  it('a person sets and clears the pql and serviceQualified flags; the activities behind a cleared flag set it no more', async () => {
    const t = await ownWorkspace(get(), 'flags');
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'flags@acme.io' });
    const usage = (at: number) => ({
      events: [{ type: 'usage_limit_reached', leadId: lead.id, occurredAt: new Date(at).toISOString() }],
    });
    await ok(t, 'POST', '/api/v1/events', usage(t.clock.now - DAY));
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${lead.id}`)).pql, true, 'set by the default flag rule');

    t.clock.now += DAY;
    const cleared = await ok(t, 'POST', `/api/v1/leads/${lead.id}/flags`, {
      pql: false,
      serviceQualified: true,
      reason: '  Hit the limit on a free test account  ',
    });
    assert.deepEqual([cleared.pql, cleared.serviceQualified], [false, true]);
    const reason = 'Hit the limit on a free test account';
    const entries = (await timelineOf(t, lead.id)).filter((e) => e.type.startsWith('flag_'));
    assert.deepEqual(
      entries
        .slice(0, 2)
        .map((e) => [e.type, e.properties])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      [
        ['flag_cleared', { flag: 'pql', by: `key:${t.keyId}`, reason }],
        ['flag_set', { flag: 'serviceQualified', by: `key:${t.keyId}`, reason }],
      ],
    );
    // The same request again changes nothing and records nothing.
    await ok(t, 'POST', `/api/v1/leads/${lead.id}/flags`, { pql: false, serviceQualified: true });
    assert.equal((await timelineOf(t, lead.id)).filter((e) => e.type.startsWith('flag_')).length, 3);

    // The activity behind the cleared flag, replayed by a rescore or sent again late, sets it no more.
    t.clock.now += DAY;
    await ok(t, 'POST', '/api/v1/scoring/rescore');
    await t.services.rescore.settled(t.workspaceId);
    await ok(t, 'POST', '/api/v1/events', usage(t.clock.now - 2 * DAY - 60_000));
    const after = await ok(t, 'GET', `/api/v1/leads/${lead.id}`);
    assert.deepEqual([after.pql, after.serviceQualified], [false, true], 'a person set serviceQualified');
    // A new one after the clear sets it again.
    await ok(t, 'POST', '/api/v1/events', usage(t.clock.now - 60_000));
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${lead.id}`)).pql, true);

    const blank = await api(t, 'POST', `/api/v1/leads/${lead.id}/flags`, { pql: false, reason: ' ' });
    assertProblem(blank, 422, 'VALIDATION_FAILED', ['/reason']);
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/flags`, { reason: 'nothing named' }),
      422,
      'VALIDATION_FAILED',
      ['/pql', '/serviceQualified'],
    );
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/flags`, { pql: 'no' }),
      400,
      'VALIDATION_FAILED',
      ['/pql'],
    );
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/flags`, { mql: false }),
      400,
      'VALIDATION_FAILED',
    );
    assert.equal(
      (await ok(t, 'GET', `/api/v1/leads/${lead.id}`)).pql,
      true,
      'refused requests wrote nothing',
    );
    assertProblem(
      await api(t, 'POST', '/api/v1/leads/0190f0a0-0000-7000-8000-000000000000/flags', { pql: false }),
      404,
      'LEAD_NOT_FOUND',
    );
    const readKey = (await t.services.workspaces.createKey(t.workspaceId, 'reader', 'read')).key;
    const forbidden = await t.app.inject({
      method: 'POST',
      url: `/api/v1/leads/${lead.id}/flags`,
      headers: authHeaders(readKey),
      payload: { pql: false },
    });
    assertProblem(forbidden, 403, 'FORBIDDEN');
  });

  it('sales rejects an MQL with a reason code: back to nurture or disqualified; the metrics count decisions and reasons', async () => {
    const t = await ownWorkspace(get(), 'rejecting');
    const [a, b, c] = [await mql(t, 'a@acme.io'), await mql(t, 'b@acme.io'), await mql(t, 'c@acme.io')];
    await ok(t, 'POST', `/api/v1/leads/${a.id}/accept`, {});
    const nurtured = await ok(t, 'POST', `/api/v1/leads/${b.id}/reject`, {
      reason: 'no_budget',
      note: 'Next year',
    });
    assert.equal(nurtured.stage, 'lead');
    const gone = await ok(t, 'POST', `/api/v1/leads/${c.id}/reject`, {
      reason: 'competitor',
      disqualify: true,
    });
    assert.equal(gone.stage, 'disqualified');
    const change = (await stagesOf(t, b.id)).changes[0];
    assert.deepEqual(
      [change.from, change.to, change.causeKind, change.cause],
      [
        'mql',
        'lead',
        'sales',
        { decision: 'rejected', reason: 'no_budget', note: 'Next year', by: `key:${t.keyId}` },
      ],
    );

    // Bad input: an unknown code or none at all is refused naming the field; nothing is written.
    const d = await mql(t, 'd@acme.io');
    const unknownCode = await api(t, 'POST', `/api/v1/leads/${d.id}/reject`, { reason: 'meh' });
    assertProblem(unknownCode, 400, 'VALIDATION_FAILED', ['/reason']);
    // The message names the codes there are, so the caller can pick one.
    assert.match(unknownCode.json().errors[0].message, /^must be one of: .*no_budget/);
    assertProblem(await api(t, 'POST', `/api/v1/leads/${d.id}/reject`, {}), 400, 'VALIDATION_FAILED', [
      '/reason',
    ]);
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${d.id}`)).stage, 'mql');
    // Only an MQL can be rejected (the rejected one is now a lead).
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${b.id}/reject`, { reason: 'no_budget' }),
      409,
      'STAGE_TRANSITION_INVALID',
    );

    const metrics = await ok(t, 'GET', '/api/v1/lifecycle/metrics');
    assert.deepEqual(
      [metrics.salesAccepted, metrics.salesRejected, metrics.acceptanceRate, metrics.rejectionReasons],
      [1, 2, 0.3333, { no_budget: 1, competitor: 1 }],
    );
    const before = await ok(t, 'GET', '/api/v1/lifecycle/metrics?from=2025-01-01&to=2025-12-01');
    assert.deepEqual([before.salesAccepted, before.salesRejected, before.acceptanceRate], [0, 0, null]);
    assertProblem(
      await api(t, 'GET', '/api/v1/lifecycle/metrics?from=2026-02-01&to=2026-01-01'),
      422,
      'VALIDATION_FAILED',
      ['/query/from'],
    );
    assertProblem(await api(t, 'GET', '/api/v1/lifecycle/metrics?to=yesterday'), 422, 'VALIDATION_FAILED', [
      '/query/to',
    ]);
  });

  it('recycles a lead back to nurture with a reason, never forwards, never a customer, and reopens a disqualified one', async () => {
    const t = await ownWorkspace(get(), 'recycling');
    const lead = await mql(t, 'eve@acme.io');
    await ok(t, 'POST', `/api/v1/leads/${lead.id}/accept`, {});

    const blank = await api(t, 'POST', `/api/v1/leads/${lead.id}/recycle`, { reason: '   ' });
    assertProblem(blank, 422, 'VALIDATION_FAILED', ['/reason']);
    assertProblem(await api(t, 'POST', `/api/v1/leads/${lead.id}/recycle`, {}), 400, 'VALIDATION_FAILED', [
      '/reason',
    ]);
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/recycle`, { reason: 'x', stage: 'mql' }),
      400,
      'VALIDATION_FAILED',
      ['/stage'],
    );
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${lead.id}`)).stage, 'sql', 'nothing written');

    const recycled = await ok(t, 'POST', `/api/v1/leads/${lead.id}/recycle`, {
      reason: 'Went quiet after the demo',
    });
    assert.equal(recycled.stage, 'lead');
    const toSubscriber = await ok(t, 'POST', `/api/v1/leads/${lead.id}/recycle`, {
      reason: 'Only wants the newsletter',
      stage: 'subscriber',
    });
    assert.equal(toSubscriber.stage, 'subscriber');
    assert.deepEqual(
      (await stagesOf(t, lead.id)).changes.map((c: StageChangeJson) => [
        c.from,
        c.to,
        c.causeKind,
        c.cause.reason ?? null,
      ]),
      [
        ['mql', 'sql', 'sales', null],
        ['sql', 'lead', 'recycle', 'Went quiet after the demo'],
        ['lead', 'subscriber', 'recycle', 'Only wants the newsletter'],
      ],
    );
    // Not forwards, not to where it is.
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/recycle`, { reason: 'again', stage: 'lead' }),
      409,
      'STAGE_TRANSITION_INVALID',
    );

    const rejected = await mql(t, 'fay@acme.io');
    await ok(t, 'POST', `/api/v1/leads/${rejected.id}/reject`, { reason: 'bad_timing', disqualify: true });
    const reopened = await ok(t, 'POST', `/api/v1/leads/${rejected.id}/recycle`, {
      reason: 'New budget year',
    });
    assert.equal(reopened.stage, 'lead');

    const customer = await ok(t, 'POST', '/api/v1/leads', { email: 'gus@acme.io', stage: 'customer' });
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${customer.id}/recycle`, { reason: 'churned' }),
      409,
      'STAGE_TRANSITION_INVALID',
    );
  });

  it('an opportunity: opened (→ opportunity), edited, won (→ customer, with its value); bad values are 422 and write nothing', async () => {
    const t = await ownWorkspace(get(), 'winning');
    const lead = await mql(t, 'hal@acme.io');
    await ok(t, 'POST', `/api/v1/leads/${lead.id}/accept`, {});
    t.clock.now += DAY;

    const bad = await api(t, 'POST', `/api/v1/leads/${lead.id}/opportunity`, {
      amount: -5,
      currency: 'XYZ',
      expectedCloseDate: '2026-02-30',
    });
    assertProblem(bad, 422, 'VALIDATION_FAILED', ['/amount', '/currency', '/expectedCloseDate']);
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/opportunity`, { amount: '12k' }),
      400,
      'VALIDATION_FAILED',
      ['/amount'],
    );
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/opportunity`, { amount: 12000 }),
      422,
      'VALIDATION_FAILED',
      ['/currency'],
    );
    const untouched = await ok(t, 'GET', `/api/v1/leads/${lead.id}`);
    assert.deepEqual([untouched.stage, untouched.opportunity], ['sql', null]);

    const opened = await ok(t, 'POST', `/api/v1/leads/${lead.id}/opportunity`, {
      amount: 12000,
      currency: 'EUR',
      expectedCloseDate: '2026-03-31',
    });
    assert.equal(opened.stage, 'opportunity');
    assert.deepEqual(opened.opportunity, {
      status: 'open',
      amount: 12000,
      currency: 'EUR',
      expectedCloseDate: '2026-03-31',
      openedAt: new Date(t.clock.now).toISOString(),
      closedAt: null,
      value: null,
      lostReason: null,
    });
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/opportunity`, { amount: 1 }),
      409,
      'STAGE_TRANSITION_INVALID',
    );

    const badEdit = await api(t, 'PATCH', `/api/v1/leads/${lead.id}/opportunity`, { currency: 'eur' });
    assertProblem(badEdit, 422, 'VALIDATION_FAILED', ['/currency']);
    // Amounts in the currency's minor unit at most: cents in EUR, none in JPY.
    assertProblem(
      await api(t, 'PATCH', `/api/v1/leads/${lead.id}/opportunity`, { amount: 12000.505 }),
      422,
      'VALIDATION_FAILED',
      ['/amount'],
    );
    const yen = await api(t, 'PATCH', `/api/v1/leads/${lead.id}/opportunity`, {
      amount: 12000.5,
      currency: 'JPY',
    });
    assertProblem(yen, 422, 'VALIDATION_FAILED', ['/amount']);
    assert.match(yen.body, /must have no decimals in JPY/);
    await ok(t, 'PATCH', `/api/v1/leads/${lead.id}/opportunity`, { amount: 12000.5 }); // cents in EUR
    assertProblem(
      await api(t, 'PATCH', `/api/v1/leads/${lead.id}/opportunity`, { currency: 'JPY' }),
      422,
      'VALIDATION_FAILED',
      ['/currency'],
    );
    const edited = await ok(t, 'PATCH', `/api/v1/leads/${lead.id}/opportunity`, {
      amount: 15000,
      expectedCloseDate: null,
    });
    assert.deepEqual(
      [edited.opportunity.amount, edited.opportunity.currency, edited.opportunity.expectedCloseDate],
      [15000, 'EUR', null],
    );

    t.clock.now += 4 * DAY;
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/opportunity/won`, { value: 0.001 }),
      422,
      'VALIDATION_FAILED',
      ['/value'],
    );
    for (const currency of ['USD', 'eur'])
      assertProblem(
        await api(t, 'POST', `/api/v1/leads/${lead.id}/opportunity/won`, { value: 100, currency }),
        422,
        'VALIDATION_FAILED',
        ['/currency'],
      );
    const won = await ok(t, 'POST', `/api/v1/leads/${lead.id}/opportunity/won`, {});
    assert.equal(won.stage, 'customer');
    assert.deepEqual(
      [won.opportunity.status, won.opportunity.value, won.opportunity.closedAt],
      ['won', 15000, new Date(t.clock.now).toISOString()],
      'the value defaults to the amount',
    );
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/opportunity/won`, {}),
      409,
      'STAGE_TRANSITION_INVALID',
    );
    assertProblem(
      await api(t, 'PATCH', `/api/v1/leads/${lead.id}/opportunity`, { amount: 1 }),
      409,
      'STAGE_TRANSITION_INVALID',
    );

    const changes = (await stagesOf(t, lead.id)).changes;
    assert.deepEqual(
      changes.map((c: StageChangeJson) => [c.from, c.to, c.causeKind]),
      [
        ['mql', 'sql', 'sales'],
        ['sql', 'opportunity', 'opportunity'],
        ['opportunity', 'customer', 'opportunity'],
      ],
    );
    assert.deepEqual(changes[2].cause, {
      action: 'won',
      value: 15000,
      currency: 'EUR',
      by: `key:${t.keyId}`,
    });
    const updates = (await timelineOf(t, lead.id)).filter((e) => e.type === 'opportunity_updated');
    assert.deepEqual(
      updates.map((e) => e.properties.action),
      ['won', 'edited', 'edited', 'opened'],
      'one entry per change, newest first; the refused ones wrote none',
    );
    assert.deepEqual(updates[1]!.properties.changed, ['amount', 'expectedCloseDate']);

    // Sales cycle: created, then a customer 5 days later.
    const metrics = await ok(t, 'GET', '/api/v1/lifecycle/metrics');
    assert.deepEqual(metrics.salesCycle, { customers: 1, averageDays: 5, medianDays: 5 });
  });

  it('a deal opened without a currency is won with a value only when the currency comes with it', async () => {
    const t = await ownWorkspace(get(), 'unpriced');
    const unpriced = await ok(t, 'POST', '/api/v1/leads', { email: 'unpriced@acme.io', stage: 'sql' });
    await ok(t, 'POST', `/api/v1/leads/${unpriced.id}/opportunity`, { expectedCloseDate: '2026-12-15' });
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${unpriced.id}/opportunity/won`, { value: 500.12345 }),
      422,
      'VALIDATION_FAILED',
      ['/currency'],
    );
    const wonUnpriced = await ok(t, 'POST', `/api/v1/leads/${unpriced.id}/opportunity/won`, {
      value: 500,
      currency: 'USD',
    });
    assert.deepEqual(
      [wonUnpriced.stage, wonUnpriced.opportunity.value, wonUnpriced.opportunity.currency],
      ['customer', 500, 'USD'],
    );
  });

  it('a stage rule that makes a lead a customer wins its open deal at its amount; it cannot be lost then', async () => {
    const t = await ownWorkspace(get(), 'rule-customer');
    const settings = await ok(t, 'GET', '/api/v1/lifecycle/settings');
    const order = { type: 'custom', where: { name: { in: ['order_placed'] } } };
    await ok(t, 'PUT', '/api/v1/lifecycle/settings', {
      ...settings,
      stageRules: { moves: [{ id: 'ordered', to: 'customer', activities: [order] }] },
    });
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'shopper@acme.io' });
    await ok(t, 'POST', `/api/v1/leads/${lead.id}/opportunity`, { amount: 250, currency: 'EUR' });
    t.clock.now += DAY;
    await ok(t, 'POST', '/api/v1/events', {
      events: [{ type: 'custom', leadId: lead.id, properties: { name: 'order_placed' } }],
    });
    const customer = await ok(t, 'GET', `/api/v1/leads/${lead.id}`);
    assert.equal(customer.stage, 'customer');
    assert.deepEqual(
      [customer.opportunity.status, customer.opportunity.value, customer.opportunity.closedAt],
      ['won', 250, new Date(t.clock.now).toISOString()],
    );
    const won = (await timelineOf(t, lead.id)).find(
      (e) => e.type === 'opportunity_updated' && e.properties.action === 'won',
    );
    assert.deepEqual([won?.properties.value, won?.properties.cause], [250, 'rule']);
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/opportunity/lost`, { reason: 'cancelled' }),
      409,
      'STAGE_TRANSITION_INVALID',
    );
  });

  it('a lost opportunity closes with its reason and recycles the lead; a new one can be opened later', async () => {
    const t = await ownWorkspace(get(), 'losing');
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'ida@acme.io' });
    // A referral: straight from `lead` to an opportunity.
    await ok(t, 'POST', `/api/v1/leads/${lead.id}/opportunity`, { amount: 800, currency: 'GBP' });
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/opportunity/lost`, {}),
      400,
      'VALIDATION_FAILED',
      ['/reason'],
    );
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/recycle`, { reason: 'stalled' }),
      409,
      'STAGE_TRANSITION_INVALID',
      [],
    );
    const lost = await ok(t, 'POST', `/api/v1/leads/${lead.id}/opportunity/lost`, {
      reason: 'Chose a cheaper tool',
    });
    assert.equal(lost.stage, 'lead');
    assert.deepEqual(
      [lost.opportunity.status, lost.opportunity.lostReason],
      ['lost', 'Chose a cheaper tool'],
    );
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${lead.id}/opportunity/lost`, { reason: 'again' }),
      409,
      'STAGE_TRANSITION_INVALID',
    );
    assert.deepEqual(
      (await stagesOf(t, lead.id)).changes.map((c: StageChangeJson) => [
        c.from,
        c.to,
        c.causeKind,
        c.cause.action,
      ]),
      [
        ['lead', 'opportunity', 'opportunity', 'opened'],
        ['opportunity', 'lead', 'opportunity', 'lost'],
      ],
    );
    const reopened = await ok(t, 'POST', `/api/v1/leads/${lead.id}/opportunity`, {});
    assert.deepEqual(
      [reopened.stage, reopened.opportunity.status, reopened.opportunity.amount],
      ['opportunity', 'open', null],
    );

    const disqualified = await mql(t, 'jo@acme.io');
    await ok(t, 'POST', `/api/v1/leads/${disqualified.id}/reject`, { reason: 'not_a_fit', disqualify: true });
    assertProblem(
      await api(t, 'POST', `/api/v1/leads/${disqualified.id}/opportunity`, {}),
      409,
      'STAGE_TRANSITION_INVALID',
    );
  });

  it('BANT answers are recorded with who and when; when the rule holds the lead becomes an SQL in the same request', async () => {
    const t = await ownWorkspace(get(), 'bant');
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'kim@acme.io' });
    const url = `/api/v1/leads/${lead.id}/qualification`;
    const empty = await ok(t, 'GET', url);
    assert.equal(empty.framework, 'bant');
    assert.deepEqual(Object.keys(empty.criteria).sort(), ['authority', 'budget', 'need', 'timeline']);
    assert.deepEqual(empty.criteria.budget, {
      status: 'unknown',
      value: null,
      note: null,
      by: null,
      at: null,
    });
    assert.deepEqual([empty.summary.confirmed, empty.summary.qualified, empty.prospect], [0, false, false]);

    // Bad input: a CHAMP criterion, another framework, a bad status. Nothing is written.
    const wrong = await api(t, 'PUT', url, { framework: 'champ', criteria: { money: { status: 'yes' } } });
    assertProblem(wrong, 422, 'VALIDATION_FAILED', ['/framework', '/criteria/money']);
    assertProblem(
      await api(t, 'PUT', url, { criteria: { budget: { status: 'maybe' } } }),
      400,
      'VALIDATION_FAILED',
      ['/criteria/budget/status'],
    );
    assert.deepEqual((await ok(t, 'GET', url)).criteria, empty.criteria);

    t.clock.now += DAY;
    const partly = await ok(t, 'PUT', url, {
      criteria: {
        budget: { status: 'yes', value: 50000, note: 'Approved for Q2' },
        authority: { status: 'yes', value: 'VP Sales signs' },
      },
    });
    assert.deepEqual(partly.criteria.budget, {
      status: 'yes',
      value: 50000,
      note: 'Approved for Q2',
      by: `key:${t.keyId}`,
      at: new Date(t.clock.now).toISOString(),
    });
    assert.deepEqual([partly.summary.confirmed, partly.prospect, partly.lead.stage], [2, false, 'lead']);
    // The same answers again change nothing and add no entry.
    await ok(t, 'PUT', url, {
      criteria: { budget: { status: 'yes', value: 50000, note: 'Approved for Q2' } },
    });
    assert.equal((await timelineOf(t, lead.id)).filter((e) => e.type === 'qualification_updated').length, 1);

    const done = await ok(t, 'PUT', url, {
      criteria: { need: { status: 'yes' }, timeline: { status: 'yes', value: 'This quarter' } },
    });
    assert.deepEqual([done.summary.confirmed, done.summary.qualified, done.prospect], [4, true, true]);
    assert.equal(done.lead.stage, 'sql', 'qualified: an SQL at once');
    assert.equal(done.criteria.budget.at, partly.criteria.budget.at, 'untouched criteria keep their time');
    const change = (await stagesOf(t, lead.id)).changes.at(-1);
    assert.deepEqual(
      [change.from, change.to, change.causeKind, change.cause],
      ['lead', 'sql', 'qualification', { framework: 'bant', by: `key:${t.keyId}` }],
    );
    const entries = (await timelineOf(t, lead.id)).filter((e) => e.type === 'qualification_updated');
    assert.deepEqual(Object.keys(entries[0]!.properties.changed as object).sort(), ['need', 'timeline']);
    assert.equal(entries[0]!.properties.qualified, true);
  });

  it('a qualified lead recycled or lost stays back until new answers come: not on its next event, capture or settings save', async () => {
    const t = await ownWorkspace(get(), 'requalify');
    const yes = { status: 'yes' };
    const all = { criteria: { budget: yes, authority: yes, need: yes, timeline: yes } };
    const recycled = await ok(t, 'POST', '/api/v1/leads', { email: 'back@acme.io' });
    const lost = await ok(t, 'POST', '/api/v1/leads', { email: 'lost@acme.io' });
    for (const lead of [recycled, lost])
      assert.equal((await ok(t, 'PUT', `/api/v1/leads/${lead.id}/qualification`, all)).lead.stage, 'sql');
    await ok(t, 'POST', `/api/v1/leads/${recycled.id}/recycle`, { reason: 'went quiet' });
    await ok(t, 'POST', `/api/v1/leads/${lost.id}/opportunity`, { amount: 1000, currency: 'EUR' });
    await ok(t, 'POST', `/api/v1/leads/${lost.id}/opportunity/lost`, { reason: 'no budget after all' });

    t.clock.now += DAY;
    for (const lead of [recycled, lost]) {
      await ok(t, 'POST', '/api/v1/events', { events: [{ type: 'email_opened', leadId: lead.id }] });
      await ok(t, 'POST', '/api/v1/leads', { email: lead.email, city: 'Lyon' });
    }
    const settings = await ok(t, 'GET', '/api/v1/lifecycle/settings');
    const { stageRules, temperature, qualification } = settings;
    await ok(t, 'PUT', '/api/v1/lifecycle/settings', { stageRules, temperature, qualification });
    // The same answers again are no new answers.
    await ok(t, 'PUT', `/api/v1/leads/${recycled.id}/qualification`, all);
    for (const lead of [recycled, lost]) {
      const now = await ok(t, 'GET', `/api/v1/leads/${lead.id}`);
      assert.equal(now.stage, 'lead', lead.email);
      assert.notEqual((await stagesOf(t, lead.id)).changes.at(-1).to, 'sql', lead.email);
    }

    // A new answer is sales' word again: an SQL, recorded with who gave it.
    const again = await ok(t, 'PUT', `/api/v1/leads/${recycled.id}/qualification`, {
      criteria: { timeline: { status: 'yes', value: 'Next quarter' } },
    });
    assert.equal(again.lead.stage, 'sql');
    const change = (await stagesOf(t, recycled.id)).changes.at(-1);
    assert.deepEqual(
      [change.from, change.to, change.causeKind, change.cause],
      ['lead', 'sql', 'qualification', { framework: 'bant', by: `key:${t.keyId}` }],
    );
  });

  it('a "no" or "unknown" answer does not qualify a recycled lead again, even when the rule still holds', async () => {
    const t = await ownWorkspace(get(), 'requalify-no');
    const settings = await ok(t, 'GET', '/api/v1/lifecycle/settings');
    const qualification = { framework: 'bant', minConfirmed: 3, required: [] };
    await ok(t, 'PUT', '/api/v1/lifecycle/settings', { ...settings, qualification });
    await t.services.rescore.settled(t.workspaceId);
    const yes = { status: 'yes' };
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'frozen@acme.io' });
    const url = `/api/v1/leads/${lead.id}/qualification`;
    const all = { criteria: { budget: yes, authority: yes, need: yes, timeline: yes } };
    assert.equal((await ok(t, 'PUT', url, all)).lead.stage, 'sql');
    await ok(t, 'POST', `/api/v1/leads/${lead.id}/recycle`, { reason: 'budget frozen until Q3' });
    t.clock.now += DAY;
    for (const status of ['no', 'unknown']) {
      const answered = await ok(t, 'PUT', url, { criteria: { budget: { status, note: 'frozen' } } });
      assert.deepEqual([answered.prospect, answered.lead.stage], [true, 'lead'], status);
    }
    const again = await ok(t, 'PUT', url, { criteria: { need: { status: 'yes', value: 'renewal in May' } } });
    assert.equal(again.lead.stage, 'sql', "a confirmation is sales' word again");
  });

  it('answers given under BANT survive a switch to CHAMP and back, and CHAMP answers the way back', async () => {
    const t = await ownWorkspace(get(), 'switch-framework');
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'sam@acme.io' });
    const url = `/api/v1/leads/${lead.id}/qualification`;
    const bant = await ok(t, 'PUT', url, {
      criteria: {
        budget: { status: 'yes', value: '10k', note: 'signed off' },
        authority: { status: 'yes', value: 'CTO' },
      },
    });
    const settings = await ok(t, 'GET', '/api/v1/lifecycle/settings');
    const use = (qualification: object) =>
      ok(t, 'PUT', '/api/v1/lifecycle/settings', { ...settings, qualification });
    await use({ framework: 'champ', minConfirmed: 3, required: ['challenges'] });
    await ok(t, 'PUT', url, { criteria: { challenges: { status: 'yes', note: 'churn' } } });
    await use({ framework: 'bant', minConfirmed: 2, required: [] });

    const back = await ok(t, 'GET', url);
    assert.deepEqual(back.criteria.budget, bant.criteria.budget);
    assert.deepEqual(back.criteria.authority, bant.criteria.authority);
    assert.deepEqual([back.summary.confirmed, back.prospect], [2, true]);
    // The settings' rescore applied the rule to the answers kept: two confirmed now suffice.
    await t.services.rescore.settled(t.workspaceId);
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${lead.id}`)).stage, 'sql');

    await ok(t, 'PUT', url, { criteria: { need: { status: 'no' } } });
    await use({ framework: 'champ', minConfirmed: 3, required: ['challenges'] });
    const champ = await ok(t, 'GET', url);
    assert.equal(champ.criteria.challenges.note, 'churn');
    assert.equal(champ.criteria.money.status, 'unknown');
  });

  it('lifecycle settings: defaults, refused with every bad field named, stored, and every lead rescored by them', async () => {
    const t = await ownWorkspace(get(), 'settings');
    const defaults = await ok(t, 'GET', '/api/v1/lifecycle/settings');
    assert.deepEqual(
      defaults.stageRules.moves.map((m: { id: string }) => m.id),
      ['mql-score', 'mql-demo'],
    );
    assert.deepEqual(defaults.qualification, { framework: 'bant', minConfirmed: 4, required: [] });
    // Fit 10 (a senior title) + 15 (company size): 25, below the default MQL threshold of 50.
    const lead = await ok(t, 'POST', '/api/v1/leads', {
      email: 'lou@acme.io',
      jobTitle: 'VP Sales',
      companySize: 200,
    });
    assert.deepEqual([lead.score, lead.stage], [25, 'lead']);

    const bad = await api(t, 'PUT', '/api/v1/lifecycle/settings', {
      stageRules: { moves: [{ id: 'mql-low', to: 'disqualified', minScore: 150 }] },
      temperature: { hot: {} },
      qualification: { framework: 'meddic' },
    });
    assertProblem(bad, 422, 'VALIDATION_FAILED', [
      '/stageRules/moves/0/minScore',
      '/temperature/hot',
      '/qualification/framework',
    ]);
    const badTo = await api(t, 'PUT', '/api/v1/lifecycle/settings', {
      stageRules: { moves: [{ id: 'mql-low', to: 'disqualified', minScore: 20 }] },
      temperature: {},
      qualification: { framework: 'bant', required: ['money'] },
    });
    assertProblem(badTo, 422, 'VALIDATION_FAILED', ['/stageRules/moves/0/to', '/qualification/required/0']);
    // A typo in an activity type would disable its rule unseen; a hot level easier to reach
    // than warm would leave warm unreachable.
    const typos = await api(t, 'PUT', '/api/v1/lifecycle/settings', {
      stageRules: {
        moves: [{ id: 'mql-demo', to: 'mql', activities: [{ type: 'demo_request' }] }],
        flags: [{ id: 'pql', flag: 'pql', activities: [{ type: 'usage_limit' }] }],
      },
      temperature: {
        highIntent: [{ type: 'pricing_view' }],
        hot: { minBehaviour: 10, highIntentWithinDays: 30 },
        warm: { minBehaviour: 20, highIntentWithinDays: 14 },
      },
      qualification: { framework: 'bant' },
    });
    assertProblem(typos, 422, 'VALIDATION_FAILED', [
      '/stageRules/moves/0/activities/0/type',
      '/stageRules/flags/0/activities/0/type',
      '/temperature/highIntent/0/type',
      '/temperature/hot/minBehaviour',
      '/temperature/hot/highIntentWithinDays',
    ]);
    assertProblem(
      await api(t, 'PUT', '/api/v1/lifecycle/settings', { stageRules: { moves: [] } }),
      400,
      'VALIDATION_FAILED',
      ['/temperature', '/qualification'],
    );
    assert.deepEqual(await ok(t, 'GET', '/api/v1/lifecycle/settings'), defaults, 'nothing stored');

    const readKey = (await t.services.workspaces.createKey(t.workspaceId, 'reader', 'read')).key;
    const forbidden = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/lifecycle/settings',
      headers: authHeaders(readKey),
      payload: defaults,
    });
    assertProblem(forbidden, 403, 'FORBIDDEN');

    const settings = {
      stageRules: { moves: [{ id: 'mql-20', label: 'Score reached 20', to: 'mql', minScore: 20 }] },
      temperature: { hot: { minBehaviour: 40 }, warm: { minBehaviour: 10 } },
      qualification: { framework: 'champ', minConfirmed: 3, required: ['challenges'] },
    };
    const saved = await api(t, 'PUT', '/api/v1/lifecycle/settings', settings);
    assert.equal(saved.statusCode, 200, saved.body);
    assert.equal(saved.json().rescore.status, 'running');
    assert.deepEqual(saved.json().qualification, settings.qualification);
    await t.services.rescore.settled(t.workspaceId);
    const stored = await ok(t, 'GET', '/api/v1/lifecycle/settings');
    assert.deepEqual(stored.stageRules, { moves: settings.stageRules.moves, flags: [] });
    assert.deepEqual(stored.temperature.hot, { minBehaviour: 40 });

    const rescored = await ok(t, 'GET', `/api/v1/leads/${lead.id}`);
    assert.equal(rescored.stage, 'mql', 'the rescore moved the lead by the new threshold');
    const change = (await stagesOf(t, lead.id)).changes.at(-1);
    assert.deepEqual([change.to, change.causeKind, change.cause.ruleId], ['mql', 'rule', 'mql-20']);

    // The qualification follows the new framework: CHAMP, 3 confirmed including challenges.
    const q = await ok(t, 'GET', `/api/v1/leads/${lead.id}/qualification`);
    assert.deepEqual(Object.keys(q.criteria).sort(), ['authority', 'challenges', 'money', 'prioritisation']);
    const answered = await ok(t, 'PUT', `/api/v1/leads/${lead.id}/qualification`, {
      criteria: { challenges: { status: 'yes' }, authority: { status: 'yes' }, money: { status: 'yes' } },
    });
    assert.deepEqual([answered.prospect, answered.lead.stage], [true, 'sql']);
  });

  it('presets: listed, applied as a new model version and settings, with a rescore; unknown names are 404', async () => {
    const t = await ownWorkspace(get(), 'presets');
    const list = await ok(t, 'GET', '/api/v1/lifecycle/presets');
    assert.deepEqual(
      list.data.map((p: { name: string }) => p.name),
      ['b2b-saas', 'real-estate', 'ecommerce', 'services'],
    );
    for (const preset of list.data) assert.ok(preset.label && preset.description.length > 50);

    assertProblem(await api(t, 'POST', '/api/v1/lifecycle/presets/crypto/apply'), 404, 'PRESET_NOT_FOUND');
    assert.equal((await ok(t, 'GET', '/api/v1/scoring/model')).version, 0, 'nothing saved');
    const writeKey = (await t.services.workspaces.createKey(t.workspaceId, 'writer', 'write')).key;
    const forbidden = await t.app.inject({
      method: 'POST',
      url: '/api/v1/lifecycle/presets/services/apply',
      headers: authHeaders(writeKey),
    });
    assertProblem(forbidden, 403, 'FORBIDDEN');

    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'max@acme.io' });
    // As `curl -X POST -H 'Content-Type: application/json' …` sends it: an empty JSON body is no body.
    const response = await api(t, 'POST', '/api/v1/lifecycle/presets/services/apply', '', {
      'content-type': 'application/json',
    });
    assert.equal(response.statusCode, 200, response.body);
    const applied = response.json();
    assert.deepEqual([applied.preset, applied.modelVersion], ['services', 1]);
    assert.deepEqual(applied.qualification, {
      framework: 'champ',
      minConfirmed: 3,
      required: ['challenges'],
    });
    await t.services.rescore.settled(t.workspaceId);
    assert.deepEqual(
      (await ok(t, 'GET', '/api/v1/scoring/model/versions')).data.map(
        (v: { version: number; createdBy: string }) => [v.version, v.createdBy],
      ),
      [[1, 'preset:services']],
    );
    const settings = await ok(t, 'GET', '/api/v1/lifecycle/settings');
    assert.deepEqual(settings.qualification, applied.qualification);
    assert.ok(settings.stageRules.moves.some((m: { id: string }) => m.id === 'mql-enquiry'));
    assert.equal((await ok(t, 'GET', '/api/v1/scoring/rescore')).latest.status, 'done');
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${lead.id}/qualification`)).framework, 'champ');
  });

  it("presets score an email tool's unsubscribes, bounces and spam complaints as negatives", async () => {
    const t = await ownWorkspace(get(), 'negatives');
    await ok(t, 'POST', '/api/v1/lifecycle/presets/b2b-saas/apply');
    await t.services.rescore.settled(t.workspaceId);
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'gone@acme.io', jobTitle: 'VP Sales' });
    const sent = await ok(t, 'POST', '/api/v1/events', {
      events: ['email_unsubscribed', 'email_bounced', 'email_complained'].map((type) => ({
        type,
        leadId: lead.id,
      })),
    });
    assert.equal(sent.accepted, 3, JSON.stringify(sent.results));
    const explained = await ok(t, 'GET', `/api/v1/leads/${lead.id}/score`);
    const negatives = explained.rules.filter((r: { kind: string }) => r.kind === 'negative');
    assert.deepEqual(
      negatives.map((r: { pointsNow: number }) => r.pointsNow).sort((a: number, b: number) => a - b),
      [-50, -30, -20],
    );
  });

  it('the stage history tells how long the lead stayed in each stage, and the metrics average those stays', async () => {
    const t = await ownWorkspace(get(), 'velocity');
    const created = t.clock.now;
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'ned@acme.io' });
    t.clock.now += 2 * DAY;
    await ok(t, 'POST', '/api/v1/events', { events: [{ type: 'demo_requested', leadId: lead.id }] });
    t.clock.now += 3 * DAY;
    await ok(t, 'POST', `/api/v1/leads/${lead.id}/accept`, {});
    t.clock.now += DAY;

    const history = await stagesOf(t, lead.id);
    assert.deepEqual(
      history.periods.map((p: { stage: string; durationMs: number; exitedAt: string | null }) => [
        p.stage,
        p.durationMs,
        p.exitedAt === null,
      ]),
      [
        ['lead', 2 * DAY, false],
        ['mql', 3 * DAY, false],
        ['sql', DAY, true],
      ],
    );
    assert.equal(history.periods[0].enteredAt, new Date(created).toISOString());
    assert.deepEqual(
      history.changes.map((c: StageChangeJson) => [c.from, c.to, c.causeKind]),
      [
        ['lead', 'mql', 'rule'],
        ['mql', 'sql', 'sales'],
      ],
    );
    assert.deepEqual(
      history.totals.map((s: { stage: string; durationMs: number; stays: number }) => [
        s.stage,
        s.durationMs,
        s.stays,
      ]),
      [
        ['lead', 2 * DAY, 1],
        ['mql', 3 * DAY, 1],
        ['sql', DAY, 1],
      ],
    );

    const metrics = await ok(t, 'GET', '/api/v1/lifecycle/metrics');
    assert.deepEqual(metrics.timeInStage, [
      { stage: 'lead', exits: 1, averageDays: 2 },
      { stage: 'mql', exits: 1, averageDays: 3 },
    ]);
    // A period that starts after the lead left `lead` still knows when it entered `mql`.
    const later = await ok(t, 'GET', `/api/v1/lifecycle/metrics?from=${created + 3 * DAY}`);
    assert.deepEqual(later.timeInStage, [{ stage: 'mql', exits: 1, averageDays: 3 }]);
  });

  it('a lead merged into another is not changed: the answer names the lead to change instead', async () => {
    const t = await ownWorkspace(get(), 'merged');
    const winner = await mql(t, 'oz@acme.io');
    const loser = await mql(t, 'oz.work@acme.io');
    await ok(t, 'POST', `/api/v1/leads/${winner.id}/merge`, { otherId: loser.id });
    const response = await api(t, 'POST', `/api/v1/leads/${loser.id}/accept`, {});
    assertProblem(response, 409, 'CONFLICT');
    assert.match(response.json().detail, new RegExp(winner.id));
  });

  it("a merge keeps the deal in progress and both leads' answers; two open deals are refused", async () => {
    const t = await ownWorkspace(get(), 'merge-deals');
    const yes = { status: 'yes' };
    const lostDeal = await ok(t, 'POST', '/api/v1/leads', { email: 'x@merge.io', stage: 'sql' });
    await ok(t, 'POST', `/api/v1/leads/${lostDeal.id}/opportunity`, { amount: 1000, currency: 'USD' });
    await ok(t, 'POST', `/api/v1/leads/${lostDeal.id}/opportunity/lost`, { reason: 'went with a rival' });
    await ok(t, 'PUT', `/api/v1/leads/${lostDeal.id}/qualification`, {
      criteria: { timeline: { status: 'unknown', note: 'ask again in May' } },
    });
    const openDeal = await ok(t, 'POST', '/api/v1/leads', { email: 'y@merge.io' });
    await ok(t, 'PUT', `/api/v1/leads/${openDeal.id}/qualification`, {
      criteria: { budget: yes, authority: yes, need: yes, timeline: yes },
    });
    await ok(t, 'POST', `/api/v1/leads/${openDeal.id}/opportunity`, { amount: 9000, currency: 'EUR' });

    const merged = await ok(t, 'POST', `/api/v1/leads/${lostDeal.id}/merge`, { otherId: openDeal.id });
    assert.deepEqual(
      [merged.stage, merged.opportunity.status, merged.opportunity.amount, merged.opportunity.currency],
      ['opportunity', 'open', 9000, 'EUR'],
    );
    const q = await ok(t, 'GET', `/api/v1/leads/${lostDeal.id}/qualification`);
    assert.deepEqual([q.summary.confirmed, q.prospect], [4, true]);
    const won = await ok(t, 'POST', `/api/v1/leads/${lostDeal.id}/opportunity/won`, {});
    assert.deepEqual([won.stage, won.opportunity.value], ['customer', 9000]);

    const a = await ok(t, 'POST', '/api/v1/leads', { email: 'a@merge.io', stage: 'sql' });
    const b = await ok(t, 'POST', '/api/v1/leads', { email: 'b@merge.io', stage: 'sql' });
    for (const lead of [a, b])
      await ok(t, 'POST', `/api/v1/leads/${lead.id}/opportunity`, { amount: 10, currency: 'EUR' });
    const refused = await api(t, 'POST', `/api/v1/leads/${a.id}/merge`, { otherId: b.id });
    assertProblem(refused, 409, 'MERGE_CONFLICT');
    assert.match(refused.json().detail, /open opportunity/);
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${b.id}`)).mergedIntoId, null, 'nothing written');
  });

  it('a merge that moves the survivor to the later stage records the change, with its cause', async () => {
    const t = await ownWorkspace(get(), 'merge-stage');
    const survivor = await ok(t, 'POST', '/api/v1/leads', { email: 'una@acme.io' });
    const other = await mql(t, 'una.work@acme.io');
    t.clock.now += DAY;
    const merged = await ok(t, 'POST', `/api/v1/leads/${survivor.id}/merge`, { otherId: other.id });
    assert.equal(merged.stage, 'mql');
    const ours = (await stagesOf(t, survivor.id)).changes.filter(
      (c: { causeKind: string }) => c.causeKind === 'merge',
    );
    assert.deepEqual(
      ours.map((c: { from: string; to: string; at: string }) => [c.from, c.to, c.at]),
      [['lead', 'mql', new Date(t.clock.now).toISOString()]],
    );
    const entries = await timelineOf(t, survivor.id);
    assert.ok(entries.some((e) => e.type === 'stage_changed' && e.properties.cause === 'merge'));
  });

  it('a merge with a customer counts one customer and one exit per move in the metrics, not two', async () => {
    const t = await ownWorkspace(get(), 'merge-metrics');
    const buyer = await mql(t, 'buyer@acme.io');
    t.clock.now += DAY;
    await ok(t, 'POST', `/api/v1/leads/${buyer.id}/accept`, {});
    await ok(t, 'POST', `/api/v1/leads/${buyer.id}/opportunity`, { amount: 1000, currency: 'EUR' });
    t.clock.now += DAY;
    await ok(t, 'POST', `/api/v1/leads/${buyer.id}/opportunity/won`, {});
    const before = await ok(t, 'GET', '/api/v1/lifecycle/metrics');
    assert.equal(before.salesCycle.customers, 1);

    t.clock.now += DAY;
    const home = await ok(t, 'POST', '/api/v1/leads', { email: 'buyer@home.example' });
    const merged = await ok(t, 'POST', `/api/v1/leads/${home.id}/merge`, { otherId: buyer.id });
    assert.equal(merged.stage, 'customer');
    const after = await ok(t, 'GET', '/api/v1/lifecycle/metrics');
    assert.deepEqual(after.salesCycle, before.salesCycle);
    assert.deepEqual(after.timeInStage, before.timeInStage);
  });
});
