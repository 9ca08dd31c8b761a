import assert from 'node:assert/strict';
import { it } from 'node:test';
import { registeredRoutes } from '../../src/http/server.ts';
import { authHeaders, describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

/**
 * Tenant isolation, route by route: workspace B's admin key is pointed at workspace A's ids on
 * every /api/v1 route, and A's data must read the same afterwards. The table of checks must
 * cover every registered route, so a new route fails this file until it gets its own check.
 */

type Json = Record<string, unknown> & { id: string };

interface Fixture {
  a: { key: string; workspaceId: string; readKeyId: string; readKey: string; leads: Json[] };
  b: { key: string; workspaceId: string; leadId: string };
}

/** Routes that need no key: listed so that marking another /api/v1 route public is noticed. */
const publicApiRoutes = ['GET /api/v1/openapi.json', 'HEAD /api/v1/openapi.json'];

async function call(
  t: TestApp,
  key: string,
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
) {
  return t.app.inject({
    method,
    url,
    headers: authHeaders(key, headers),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

function assertNotFound(response: { statusCode: number; body: string; headers: Record<string, unknown> }) {
  assert.equal(response.statusCode, 404, response.body);
  assert.match(String(response.headers['content-type']), /application\/problem\+json/);
}

/** Everything workspace A's own admin key can see, to compare before and after B's attempts. */
async function snapshot(t: TestApp, fx: Fixture) {
  const read = async (url: string) => {
    const response = await call(t, fx.a.key, 'GET', url);
    assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
    return response.json();
  };
  const leads: unknown[] = [];
  for (const lead of fx.a.leads) {
    leads.push({
      lead: await read(`/api/v1/leads/${lead.id}`),
      timeline: await read(`/api/v1/leads/${lead.id}/timeline?limit=500`),
      score: await read(`/api/v1/leads/${lead.id}/score`),
      stages: await read(`/api/v1/leads/${lead.id}/stages`),
      qualification: await read(`/api/v1/leads/${lead.id}/qualification`),
    });
  }
  return {
    workspace: await read('/api/v1/workspace'),
    keys: await read('/api/v1/keys'),
    properties: await read('/api/v1/properties'),
    scoringModel: await read('/api/v1/scoring/model'),
    scoringVersions: await read('/api/v1/scoring/model/versions'),
    lifecycleSettings: await read('/api/v1/lifecycle/settings'),
    lifecycleMetrics: await read('/api/v1/lifecycle/metrics'),
    list: await read('/api/v1/leads?includeArchived=true&limit=500'),
    leads,
    export: (await call(t, fx.a.key, 'GET', '/api/v1/exports/leads?format=jsonl')).body,
  };
}

/** One check per route: B's key, A's ids, and what B must (not) get. */
const checks: Record<string, (t: TestApp, fx: Fixture) => Promise<void>> = {
  'GET /api/v1/workspace': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/workspace');
    assert.equal(response.statusCode, 200);
    assert.equal(response.json().id, fx.b.workspaceId);
    assert.ok(!response.body.includes(fx.a.workspaceId));
  },
  'PATCH /api/v1/workspace': async (t, fx) => {
    const response = await call(t, fx.b.key, 'PATCH', '/api/v1/workspace', {
      settings: { strictProperties: true, defaultCountry: 'DE' },
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().id, fx.b.workspaceId);
  },
  'GET /api/v1/keys': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/keys');
    assert.equal(response.statusCode, 200);
    const ids = response.json().data.map((k: Json) => k.id);
    assert.ok(ids.length > 0);
    assert.ok(!ids.includes(fx.a.readKeyId));
  },
  'POST /api/v1/keys': async (t, fx) => {
    const response = await call(t, fx.b.key, 'POST', '/api/v1/keys', { name: 'b second', scope: 'admin' });
    assert.equal(response.statusCode, 201, response.body);
    const workspace = await call(t, response.json().key, 'GET', '/api/v1/workspace');
    assert.equal(workspace.json().id, fx.b.workspaceId);
  },
  'DELETE /api/v1/keys/:id': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'DELETE', `/api/v1/keys/${fx.a.readKeyId}`));
    const stillWorks = await call(t, fx.a.readKey, 'GET', '/api/v1/leads');
    assert.equal(stillWorks.statusCode, 200);
  },
  'GET /api/v1/scoring/model': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/scoring/model');
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().version, 0, "B still scores by the built-in model, not A's");
    assert.ok(!response.body.includes('a-only-rule'));
  },
  'PUT /api/v1/scoring/model': async (t, fx) => {
    const response = await call(t, fx.b.key, 'PUT', '/api/v1/scoring/model', {
      fit: [{ id: 'b-rule', points: 90, when: { company: { matches: ['acme'] } } }],
    });
    assert.equal(response.statusCode, 200, response.body);
    await t.services.rescore.settled(fx.b.workspaceId);
  },
  'GET /api/v1/scoring/model/versions': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/scoring/model/versions');
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().data.length, 1, "B's history has only B's own save");
  },
  'POST /api/v1/scoring/rescore': async (t, fx) => {
    const response = await call(t, fx.b.key, 'POST', '/api/v1/scoring/rescore');
    assert.equal(response.statusCode, 202, response.body);
    await t.services.rescore.settled(fx.b.workspaceId);
    assert.equal((await call(t, fx.b.key, 'GET', '/api/v1/scoring/rescore')).json().latest.total, 1);
  },
  'GET /api/v1/scoring/rescore': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/scoring/rescore');
    assert.equal(response.statusCode, 200, response.body);
    const latest = response.json().latest;
    assert.ok(latest === null || latest.total === 1, 'B sees only its own rescore (1 lead)');
  },
  'GET /api/v1/leads/:id/score': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'GET', `/api/v1/leads/${fx.a.leads[0]!.id}/score`));
  },
  'GET /api/v1/properties': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/properties');
    assert.equal(response.statusCode, 200);
    const names = response.json().data.map((p: { name: string }) => p.name);
    assert.ok(!names.includes('aOnly'));
  },
  'POST /api/v1/properties': async (t, fx) => {
    // A has `plan` as an enum; B may define its own `plan`, of another type.
    const response = await call(t, fx.b.key, 'POST', '/api/v1/properties', { name: 'plan', type: 'number' });
    assert.equal(response.statusCode, 201, response.body);
  },
  'GET /api/v1/properties/:name': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'GET', '/api/v1/properties/aOnly'));
  },
  'PATCH /api/v1/properties/:name': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'PATCH', '/api/v1/properties/aOnly', { label: 'Hijacked' }));
  },
  'DELETE /api/v1/properties/:name': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'DELETE', '/api/v1/properties/aOnly'));
  },
  'GET /api/v1/jobs': async (t, fx) => {
    const [aJob] = await t.services.jobs.enqueue(fx.a.workspaceId, { kind: 'noop', payload: { a: 1 } });
    const response = await call(t, fx.b.key, 'GET', '/api/v1/jobs?limit=500');
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(!response.json().data.some((j: Json) => j.id === aJob));
    const own = await call(t, fx.a.key, 'GET', '/api/v1/jobs?limit=500');
    assert.ok(own.json().data.some((j: Json) => j.id === aJob));
  },
  'GET /api/v1/jobs/:id': async (t, fx) => {
    const [aJob] = await t.services.jobs.enqueue(fx.a.workspaceId, { kind: 'noop', payload: {} });
    assertNotFound(await call(t, fx.b.key, 'GET', `/api/v1/jobs/${aJob}`));
  },
  'POST /api/v1/jobs/:id/retry': async (t, fx) => {
    const [aJob] = await t.services.jobs.enqueue(fx.a.workspaceId, { kind: 'noop', payload: {} });
    await t.services.jobs.runDue();
    assertNotFound(await call(t, fx.b.key, 'POST', `/api/v1/jobs/${aJob}/retry`));
    assert.equal((await t.services.jobs.get(fx.a.workspaceId, aJob!)).state, 'done');
  },
  'POST /api/v1/leads': async (t, fx) => {
    const [a1] = fx.a.leads;
    // A's email and A's idempotency key: B gets a lead of its own, not A's lead or A's stored answer.
    const response = await call(
      t,
      fx.b.key,
      'POST',
      '/api/v1/leads',
      { email: a1!.email, firstName: 'Mallory' },
      { 'idempotency-key': 'a-used-this-key' },
    );
    assert.equal(response.statusCode, 201, response.body);
    assert.notEqual(response.json().id, a1!.id);
    assert.equal(response.json().firstName, 'Mallory');
    assert.equal(response.headers['idempotent-replayed'], undefined);
  },
  'POST /api/v1/leads/batch': async (t, fx) => {
    const response = await call(
      t,
      fx.b.key,
      'POST',
      '/api/v1/leads/batch',
      { leads: fx.a.leads.map((lead) => ({ email: lead.email, lastName: 'Mallory' })) },
      { 'idempotency-key': 'a-used-this-batch-key' },
    );
    assert.equal(response.statusCode, 200, response.body);
    const aIds = fx.a.leads.map((lead) => lead.id);
    for (const result of response.json().results) {
      assert.notEqual(result.status, 'rejected');
      assert.ok(!aIds.includes(result.id));
    }
  },
  'GET /api/v1/leads': async (t, fx) => {
    const aIds = new Set(fx.a.leads.map((lead) => lead.id));
    for (const url of [
      '/api/v1/leads?includeArchived=true&limit=500',
      `/api/v1/leads?q=${encodeURIComponent(String(fx.a.leads[0]!.email))}`,
      '/api/v1/leads?q=acme-a',
    ]) {
      const response = await call(t, fx.b.key, 'GET', url);
      assert.equal(response.statusCode, 200);
      for (const lead of response.json().data) assert.ok(!aIds.has(lead.id), url);
    }
  },
  'GET /api/v1/leads/:id': async (t, fx) => {
    for (const lead of fx.a.leads) {
      const response = await call(t, fx.b.key, 'GET', `/api/v1/leads/${lead.id}`);
      assertNotFound(response);
      assert.ok(!response.body.includes(String(lead.email)));
    }
  },
  'GET /api/v1/leads/:id/timeline': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'GET', `/api/v1/leads/${fx.a.leads[0]!.id}/timeline`));
  },
  'POST /api/v1/leads/:id/archive': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'POST', `/api/v1/leads/${fx.a.leads[0]!.id}/archive`));
  },
  'POST /api/v1/leads/:id/merge': async (t, fx) => {
    const [a1, a2] = fx.a.leads;
    const url = (id: string) => `/api/v1/leads/${id}/merge`;
    assertNotFound(await call(t, fx.b.key, 'POST', url(a1!.id), { otherId: a2!.id }));
    assertNotFound(await call(t, fx.b.key, 'POST', url(a1!.id), { otherId: fx.b.leadId }));
    // B's own lead swallowing A's lead must fail too.
    assertNotFound(await call(t, fx.b.key, 'POST', url(fx.b.leadId), { otherId: a2!.id }));
  },
  'POST /api/v1/imports': async (t, fx) => {
    const csv = `email,firstname,company\n${fx.a.leads.map((lead) => `${lead.email},Mallory,Evil Corp`).join('\n')}\n`;
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/imports',
      headers: authHeaders(fx.b.key, { 'content-type': 'text/csv' }),
      payload: csv,
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().rejected, 0);
    assert.equal(response.json().created + response.json().updated, fx.a.leads.length);
  },
  'GET /api/v1/exports/leads': async (t, fx) => {
    for (const format of ['csv', 'jsonl']) {
      const response = await call(t, fx.b.key, 'GET', `/api/v1/exports/leads?format=${format}`);
      assert.equal(response.statusCode, 200, response.body);
      assert.ok(response.body.includes('bob@tenant-b.io'), `${format}: B's own lead is exported`);
      for (const lead of fx.a.leads) assert.ok(!response.body.includes(lead.id), `${format}: A's lead id`);
      for (const secret of ['secret', 'Acme A', fx.a.workspaceId]) {
        assert.ok(!response.body.includes(secret), `${format}: ${secret}`);
      }
    }
  },
  'POST /api/v1/events': async (t, fx) => {
    const [a1] = fx.a.leads;
    const response = await call(t, fx.b.key, 'POST', '/api/v1/events', {
      events: [
        { type: 'page_view', leadId: a1!.id },
        { type: 'pricing_viewed', email: a1!.email },
        { type: 'page_view', anonymousId: 'visitor-a' },
        // A stored an event with this client id: in B it is new, not a "duplicate" that leaks it.
        { id: 'evt-a-1', type: 'page_view', email: 'only-in-b@example.org' },
      ],
    });
    assert.equal(response.statusCode, 200, response.body);
    const [byId, byEmail, anonymous, reusedId] = response.json().results;
    assert.equal(byId.status, 'rejected');
    assert.equal(byEmail.status, 'stored');
    assert.ok(!fx.a.leads.some((lead) => lead.id === byEmail.leadId));
    assert.equal(anonymous.status, 'stored');
    assert.equal(reusedId.status, 'stored');
  },
  'POST /api/v1/identify': async (t, fx) => {
    const [a1] = fx.a.leads;
    assertNotFound(
      await call(t, fx.b.key, 'POST', '/api/v1/identify', { anonymousId: 'visitor-a', leadId: a1!.id }),
    );
    const byEmail = await call(t, fx.b.key, 'POST', '/api/v1/identify', {
      anonymousId: 'visitor-a',
      email: a1!.email,
    });
    assert.equal(byEmail.statusCode, 200, byEmail.body);
    assert.ok(!fx.a.leads.some((lead) => lead.id === byEmail.json().leadId));
  },
  // Lifecycle. A's leads are where each move would succeed: a1 an MQL with a BANT answer, a2
  // with an open opportunity, a3 an SQL that A accepted under an Idempotency-Key.
  'POST /api/v1/leads/:id/accept': async (t, fx) => {
    const [a1, , a3] = fx.a.leads;
    assertNotFound(await call(t, fx.b.key, 'POST', `/api/v1/leads/${a1!.id}/accept`, {}));
    // A's idempotency key and body on A's lead: B gets no replay of A's stored answer.
    const replay = await call(
      t,
      fx.b.key,
      'POST',
      `/api/v1/leads/${a3!.id}/accept`,
      { note: 'A accepts' },
      {
        'idempotency-key': 'a-accept-key',
      },
    );
    assertNotFound(replay);
    assert.equal(replay.headers['idempotent-replayed'], undefined);
  },
  'POST /api/v1/leads/:id/reject': async (t, fx) => {
    const url = `/api/v1/leads/${fx.a.leads[0]!.id}/reject`;
    assertNotFound(await call(t, fx.b.key, 'POST', url, { reason: 'no_budget', disqualify: true }));
  },
  'POST /api/v1/leads/:id/recycle': async (t, fx) => {
    const url = `/api/v1/leads/${fx.a.leads[2]!.id}/recycle`;
    assertNotFound(await call(t, fx.b.key, 'POST', url, { reason: 'B says so', stage: 'subscriber' }));
  },
  'POST /api/v1/leads/:id/opportunity': async (t, fx) => {
    const url = `/api/v1/leads/${fx.a.leads[0]!.id}/opportunity`;
    assertNotFound(await call(t, fx.b.key, 'POST', url, { amount: 1, currency: 'USD' }));
  },
  'PATCH /api/v1/leads/:id/opportunity': async (t, fx) => {
    const url = `/api/v1/leads/${fx.a.leads[1]!.id}/opportunity`;
    assertNotFound(await call(t, fx.b.key, 'PATCH', url, { amount: 1 }));
  },
  'POST /api/v1/leads/:id/opportunity/won': async (t, fx) => {
    const url = `/api/v1/leads/${fx.a.leads[1]!.id}/opportunity/won`;
    assertNotFound(await call(t, fx.b.key, 'POST', url, { value: 1 }));
  },
  'POST /api/v1/leads/:id/opportunity/lost': async (t, fx) => {
    const url = `/api/v1/leads/${fx.a.leads[1]!.id}/opportunity/lost`;
    assertNotFound(await call(t, fx.b.key, 'POST', url, { reason: 'B says so' }));
  },
  'GET /api/v1/leads/:id/qualification': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', `/api/v1/leads/${fx.a.leads[0]!.id}/qualification`);
    assertNotFound(response);
    assert.ok(!response.body.includes('a-budget'));
  },
  'PUT /api/v1/leads/:id/qualification': async (t, fx) => {
    const url = `/api/v1/leads/${fx.a.leads[0]!.id}/qualification`;
    const all = { status: 'yes' };
    assertNotFound(
      await call(t, fx.b.key, 'PUT', url, {
        criteria: { budget: all, authority: all, need: all, timeline: all },
      }),
    );
  },
  'GET /api/v1/leads/:id/stages': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'GET', `/api/v1/leads/${fx.a.leads[2]!.id}/stages`));
  },
  'GET /api/v1/lifecycle/metrics': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/lifecycle/metrics');
    assert.equal(response.statusCode, 200, response.body);
    const metrics = response.json();
    assert.deepEqual(
      [metrics.salesAccepted, metrics.salesRejected, metrics.acceptanceRate, metrics.rejectionReasons],
      [0, 0, null, {}],
      "A's sales decisions are not B's",
    );
  },
  'GET /api/v1/lifecycle/settings': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/lifecycle/settings');
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(!response.body.includes('a-only-move'));
    assert.equal(response.json().qualification.minConfirmed, 4, "B has the defaults, not A's 3 of 4");
  },
  'PUT /api/v1/lifecycle/settings': async (t, fx) => {
    const response = await call(t, fx.b.key, 'PUT', '/api/v1/lifecycle/settings', {
      stageRules: { moves: [{ id: 'b-move', to: 'customer', minScore: 0 }] },
      temperature: {},
      qualification: { framework: 'bant', minConfirmed: 1 },
    });
    assert.equal(response.statusCode, 200, response.body);
    await t.services.rescore.settled(fx.b.workspaceId);
  },
  'GET /api/v1/lifecycle/presets': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/lifecycle/presets');
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().data.length, 4);
  },
  'POST /api/v1/lifecycle/presets/:name/apply': async (t, fx) => {
    const response = await call(t, fx.b.key, 'POST', '/api/v1/lifecycle/presets/ecommerce/apply');
    assert.equal(response.statusCode, 200, response.body);
    await t.services.rescore.settled(fx.b.workspaceId);
    const versions = (await call(t, fx.b.key, 'GET', '/api/v1/scoring/model/versions')).json().data;
    assert.equal(versions[0].createdBy, 'preset:ecommerce');
  },
};

async function setUp(t: TestApp): Promise<Fixture> {
  const aKey = t.key;
  const post = async (key: string, url: string, payload: unknown, headers: Record<string, string> = {}) => {
    const response = await call(t, key, 'POST', url, payload, headers);
    assert.ok(response.statusCode < 300, `${url}: ${response.body}`);
    return response.json();
  };
  await post(aKey, '/api/v1/properties', { name: 'plan', type: 'enum', options: ['free', 'pro'] });
  await post(aKey, '/api/v1/properties', { name: 'aOnly', type: 'string', label: 'A only' });
  const a1 = await post(
    aKey,
    '/api/v1/leads',
    {
      email: 'ada@acme-a.io',
      phone: '+442079460958',
      firstName: 'Ada',
      company: 'Acme A',
      stage: 'mql',
      properties: { plan: 'pro', aOnly: 'secret' },
      utm: { source: 'google', medium: 'cpc' },
    },
    { 'idempotency-key': 'a-used-this-key' },
  );
  const a2 = await post(aKey, '/api/v1/leads', { email: 'grace@acme-a.io', firstName: 'Grace' });
  await post(aKey, '/api/v1/events', {
    events: [
      { id: 'evt-a-1', type: 'webinar_attended', leadId: a1.id },
      { type: 'page_view', anonymousId: 'visitor-a', properties: { path: '/pricing' } },
    ],
  });
  const aModel = await call(t, aKey, 'PUT', '/api/v1/scoring/model', {
    fit: [{ id: 'a-only-rule', points: 30, when: { company: { matches: ['acme'] } } }],
    behaviour: [{ id: 'a-webinar', points: 40, type: 'webinar_attended' }],
  });
  assert.equal(aModel.statusCode, 200, aModel.body);
  await t.services.rescore.settled(t.workspaceId);
  // A's lifecycle: its own settings (BANT, 3 of 4), a BANT answer on a1, an open opportunity on
  // a2, and a3 accepted by sales.
  const aSettings = await call(t, aKey, 'PUT', '/api/v1/lifecycle/settings', {
    stageRules: { moves: [{ id: 'a-only-move', to: 'mql', minScore: 90 }] },
    temperature: {},
    qualification: { framework: 'bant', minConfirmed: 3 },
  });
  assert.equal(aSettings.statusCode, 200, aSettings.body);
  await t.services.rescore.settled(t.workspaceId);
  const q = await call(t, aKey, 'PUT', `/api/v1/leads/${a1.id}/qualification`, {
    criteria: { budget: { status: 'yes', value: 'a-budget' } },
  });
  assert.equal(q.statusCode, 200, q.body);
  await post(aKey, `/api/v1/leads/${a2.id}/opportunity`, { amount: 5000, currency: 'EUR' });
  const a3 = await post(aKey, '/api/v1/leads', { email: 'linus@acme-a.io', stage: 'mql' });
  await post(
    aKey,
    `/api/v1/leads/${a3.id}/accept`,
    { note: 'A accepts' },
    { 'idempotency-key': 'a-accept-key' },
  );
  const readKey = await post(aKey, '/api/v1/keys', { name: 'a reader', scope: 'read' });
  const aWorkspace = (await call(t, aKey, 'GET', '/api/v1/workspace')).json();

  const bWorkspace = await t.services.workspaces.createWorkspace('tenant-b', 'Tenant B');
  const { key: bKey } = await t.services.workspaces.createKey(bWorkspace.id, 'b admin', 'admin');
  const bLead = await post(bKey, '/api/v1/leads', { email: 'bob@tenant-b.io' });
  return {
    a: {
      key: aKey,
      workspaceId: aWorkspace.id,
      readKeyId: readKey.apiKey.id,
      readKey: readKey.key,
      leads: [a1, a2, a3],
    },
    b: { key: bKey, workspaceId: bWorkspace.id, leadId: bLead.id },
  };
}

describeEachEngine('workspace isolation', (engine) => {
  const get = useApp(engine);

  it('has an isolation check for every /api/v1 route, and no check for a route that is gone', () => {
    const routes = registeredRoutes(get().app).filter((r) => r.url.startsWith('/api/'));
    assert.ok(routes.length > 10, 'the route list is empty: is registeredRoutes still fed?');
    const publicOnes = routes.filter((r) => r.public).map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(publicOnes.sort(), [...publicApiRoutes].sort(), 'an /api route became public');
    const guarded = routes.filter((r) => !r.public).map((r) => `${r.method} ${r.url}`);
    // HEAD routes are Fastify's automatic twins of GET routes; they are checked with their GET.
    const expected = guarded.map((route) => route.replace(/^HEAD /, 'GET '));
    const uncovered = [...new Set(expected)].filter((route) => !(route in checks));
    assert.deepEqual(uncovered, [], `add a cross-workspace check for: ${uncovered.join(', ')}`);
    const stale = Object.keys(checks).filter((route) => !expected.includes(route));
    assert.deepEqual(stale, [], `these routes are no longer registered: ${stale.join(', ')}`);
  });

  it("a key of one workspace can neither read nor change another workspace's data, on every route", async () => {
    const t = get();
    const fx = await setUp(t);
    const before = await snapshot(t, fx);
    const guarded = new Set(
      registeredRoutes(t.app)
        .filter((r) => r.url.startsWith('/api/') && !r.public)
        .map((r) => `${r.method} ${r.url}`),
    );
    for (const [route, check] of Object.entries(checks)) {
      await check(t, fx);
      // A HEAD twin answers like its GET: 404 for A's ids, and never a body.
      const path = route.slice(route.indexOf(' ') + 1);
      if (route.startsWith('GET ') && guarded.has(`HEAD ${path}`)) {
        const url = path.replace(':id', fx.a.leads[0]!.id).replace(':name', 'aOnly');
        const response = await call(t, fx.b.key, 'HEAD', url);
        assert.equal(response.statusCode, url === path ? 200 : 404, `HEAD ${url}`);
        assert.equal(response.body, '');
      }
    }
    const after = await snapshot(t, fx);
    assert.deepEqual(after, before);

    // A's anonymous visitor kept exactly A's history: B's events and identify did not touch it.
    const identified = await call(t, fx.a.key, 'POST', '/api/v1/identify', {
      anonymousId: 'visitor-a',
      leadId: fx.a.leads[0]!.id,
    });
    assert.equal(identified.statusCode, 200, identified.body);
    assert.equal(identified.json().moved, 1);
  });
});
