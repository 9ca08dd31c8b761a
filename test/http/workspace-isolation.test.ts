import assert from 'node:assert/strict';
import { it } from 'node:test';
import { insertAlerts } from '../../src/alerts/store.ts';
import { insertMessage } from '../../src/email/mailbox-store.ts';
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

/** A user of workspace A who owns A's task (made once, through A's key). */
const aUsers = new WeakMap<TestApp, string>();
async function aTaskOwner(t: TestApp, fx: Fixture): Promise<string> {
  const known = aUsers.get(t);
  if (known) return known;
  const created = await call(t, fx.a.key, 'POST', '/api/v1/users', { name: 'A Rep', email: 'rep@acme-a.io' });
  assert.equal(created.statusCode, 201, created.body);
  aUsers.set(t, created.json().id);
  // A's SLA policy, for the policy checks.
  const policies = await call(t, fx.a.key, 'PUT', '/api/v1/sla/policies', {
    policies: [{ id: 'a-policy', name: 'A policy', when: [{ stage: 'sql' }], within: { hours: 4 } }],
  });
  assert.equal(policies.statusCode, 200, policies.body);
  return created.json().id;
}

/** Workspace A's open task on A's first lead (made once, before the snapshot). */
const aTasks = new WeakMap<TestApp, string>();
async function aTaskOf(t: TestApp, fx: Fixture): Promise<string> {
  const known = aTasks.get(t);
  if (known) return known;
  const ownerId = await aTaskOwner(t, fx);
  const created = await call(t, fx.a.key, 'POST', '/api/v1/tasks', {
    ownerId,
    type: 'call',
    dueAt: t.clock.now + 3_600_000,
    leadId: fx.a.leads[0]!.id,
    title: 'A task',
  });
  assert.equal(created.statusCode, 201, created.body);
  aTasks.set(t, created.json().id);
  return created.json().id;
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
      consents: await read(`/api/v1/leads/${lead.id}/consents`),
    });
  }
  return {
    workspace: await read('/api/v1/workspace'),
    keys: await read('/api/v1/keys'),
    properties: await read('/api/v1/properties'),
    scoringModel: await read('/api/v1/scoring/model'),
    scoringVersions: await read('/api/v1/scoring/model/versions'),
    lifecycleSettings: await read('/api/v1/lifecycle/settings'),
    trackingSettings: await read('/api/v1/tracking/settings'),
    tasks: await read('/api/v1/tasks?limit=500'),
    slaPolicies: await read('/api/v1/sla/policies'),
    leadSla: await read(`/api/v1/leads/${fx.a.leads[0]!.id}/sla`),
    lifecycleMetrics: await read('/api/v1/lifecycle/metrics'),
    users: await read('/api/v1/users'),
    teams: await read('/api/v1/teams'),
    routingRules: await read('/api/v1/routing/rules'),
    routingSettings: await read('/api/v1/routing/settings'),
    webhooks: await read('/api/v1/webhooks'),
    alertRules: await read('/api/v1/alerts/rules'),
    landingPages: await read('/api/v1/landing-pages'),
    quarantine: await read('/api/v1/forms/quarantine?limit=500'),
    forms: await read('/api/v1/forms?includeArchived=true&limit=500'),
    formSubmissions: await read(`/api/v1/forms/${await aFormId(t, fx)}/submissions?limit=500`),
    formMagnetFile: await call(
      t,
      fx.a.key,
      'GET',
      `/api/v1/forms/${await aFormId(t, fx)}/lead-magnet/file`,
    ).then(
      (response) => `${response.statusCode} ${response.headers['content-disposition']} ${response.body}`,
    ),
    alerts: await read('/api/v1/alerts?limit=500'),
    mailbox: await read('/api/v1/mailbox'),
    inboundSources: await read('/api/v1/inbound-sources'),
    inboundLeads: await read(`/api/v1/inbound-sources/${await aInboundId(t, fx)}/leads?limit=500`),
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
  'POST /api/v1/tasks': async (t, fx) => {
    const aUser = await aTaskOwner(t, fx);
    const dueAt = t.clock.now + 60_000;
    // B can name neither A's user as owner nor A's lead.
    const response = await call(t, fx.b.key, 'POST', '/api/v1/tasks', {
      ownerId: aUser,
      type: 'call',
      dueAt,
    });
    assert.equal(response.statusCode, 422, response.body);
    assert.equal(response.json().errors[0].path, '/ownerId');
  },
  'GET /api/v1/tasks': async (t, fx) => {
    const aTask = await aTaskOf(t, fx);
    const response = await call(t, fx.b.key, 'GET', `/api/v1/tasks?leadId=${fx.a.leads[0]!.id}`);
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(!response.body.includes(aTask));
  },
  'GET /api/v1/tasks/:id': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'GET', `/api/v1/tasks/${await aTaskOf(t, fx)}`));
  },
  'PATCH /api/v1/tasks/:id': async (t, fx) => {
    assertNotFound(
      await call(t, fx.b.key, 'PATCH', `/api/v1/tasks/${await aTaskOf(t, fx)}`, { title: 'B was here' }),
    );
  },
  'POST /api/v1/tasks/:id/complete': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'POST', `/api/v1/tasks/${await aTaskOf(t, fx)}/complete`, {}));
  },
  'POST /api/v1/tasks/:id/snooze': async (t, fx) => {
    assertNotFound(
      await call(t, fx.b.key, 'POST', `/api/v1/tasks/${await aTaskOf(t, fx)}/snooze`, { minutes: 5 }),
    );
  },
  'POST /api/v1/tasks/:id/reassign': async (t, fx) => {
    const task = await aTaskOf(t, fx);
    const response = await call(t, fx.b.key, 'POST', `/api/v1/tasks/${task}/reassign`, {
      ownerId: 'someone',
    });
    assert.ok([404, 422].includes(response.statusCode), response.body);
    const own = await call(t, fx.a.key, 'GET', `/api/v1/tasks/${task}`);
    assert.equal(own.json().title, 'A task');
  },
  'POST /api/v1/tasks/:id/cancel': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'POST', `/api/v1/tasks/${await aTaskOf(t, fx)}/cancel`));
  },
  'GET /api/v1/sla/policies': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/sla/policies');
    assert.equal(response.statusCode, 200);
    assert.ok(!response.body.includes('A policy'));
  },
  'PUT /api/v1/sla/policies': async (t, fx) => {
    const response = await call(t, fx.b.key, 'PUT', '/api/v1/sla/policies', {
      policies: [
        { id: 'a-policy', name: 'B policy', when: [{ activity: 'demo_requested' }], within: { minutes: 1 } },
      ],
    });
    assert.equal(response.statusCode, 200, response.body);
    const aPolicies = (await call(t, fx.a.key, 'GET', '/api/v1/sla/policies')).json().policies;
    assert.deepEqual(
      aPolicies.map((p: { name: string }) => p.name),
      ['A policy'],
    );
  },
  'GET /api/v1/leads/:id/sla': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'GET', `/api/v1/leads/${fx.a.leads[0]!.id}/sla`));
  },
  'GET /api/v1/sla/metrics': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/sla/metrics');
    assert.equal(response.statusCode, 200);
    assert.ok(!response.body.includes('a-policy'));
  },
  // Landing pages. A has the page `a-landing` embedding its form `a-landing-form`.
  'POST /api/v1/landing-pages': async (t, fx) => {
    // B cannot embed A's form; A's slug is taken (slugs are global), which says nothing of A.
    const foreignForm = await call(t, fx.b.key, 'POST', '/api/v1/landing-pages', {
      slug: 'b-landing',
      name: 'B',
      variants: [{ key: 'a', headline: 'B', formSlug: 'a-landing-form' }],
    });
    assert.equal(foreignForm.statusCode, 422, foreignForm.body);
    assert.equal(foreignForm.json().errors[0].path, '/variants/0/formSlug');
    const takenSlug = await call(t, fx.b.key, 'POST', '/api/v1/landing-pages', {
      slug: 'a-landing',
      name: 'B',
      variants: [{ key: 'a', headline: 'B' }],
    });
    assert.equal(takenSlug.statusCode, 409, takenSlug.body);
    assert.ok(!takenSlug.body.includes('a-secret-headline'));
  },
  'GET /api/v1/landing-pages': async (t, fx) => {
    for (const status of ['', '?status=published', '?status=archived', '?status=draft']) {
      const response = await call(t, fx.b.key, 'GET', `/api/v1/landing-pages${status}`);
      assert.equal(response.statusCode, 200, response.body);
      assert.ok(!response.body.includes('a-landing'), status);
    }
  },
  'GET /api/v1/landing-pages/:id': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'GET', `/api/v1/landing-pages/${await aLandingPage(t, fx)}`));
  },
  'GET /api/v1/landing-pages/:id/preview': async (t, fx) => {
    const response = await call(
      t,
      fx.b.key,
      'GET',
      `/api/v1/landing-pages/${await aLandingPage(t, fx)}/preview`,
    );
    assertNotFound(response);
    assert.ok(!response.body.includes('a-secret-headline'));
  },
  'PATCH /api/v1/landing-pages/:id': async (t, fx) => {
    const id = await aLandingPage(t, fx);
    assertNotFound(await call(t, fx.b.key, 'PATCH', `/api/v1/landing-pages/${id}`, { name: 'Hijacked' }));
  },
  'DELETE /api/v1/landing-pages/:id': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'DELETE', `/api/v1/landing-pages/${await aLandingPage(t, fx)}`));
    const page = await t.app.inject({ method: 'GET', url: '/l/a-landing' });
    assert.equal(page.statusCode, 200, 'A’s page is still live');
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
  'POST /api/v1/leads/:id/flags': async (t, fx) => {
    const url = `/api/v1/leads/${fx.a.leads[0]!.id}/flags`;
    assertNotFound(await call(t, fx.b.key, 'POST', url, { pql: true, serviceQualified: true }));
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
  // Users, teams and routing. A has a rep ('a-rep'), a team ('a-team') that rule 'a-rule'
  // routes to, the rep as fallback owner, and a1 assigned to the rep.
  'POST /api/v1/users': async (t, fx) => {
    // The same email in another workspace is another person.
    const response = await call(t, fx.b.key, 'POST', '/api/v1/users', {
      name: 'b-rep',
      email: 'a-rep@acme-a.io',
    });
    assert.equal(response.statusCode, 201, response.body);
    assert.notEqual(response.json().id, await aRepId(t, fx));
  },
  'GET /api/v1/users': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/users');
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(!response.body.includes(await aRepId(t, fx)));
    assert.ok(!response.json().data.some((u: { name: string }) => u.name === 'a-rep'));
  },
  'GET /api/v1/users/:id': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', `/api/v1/users/${await aRepId(t, fx)}`);
    assertNotFound(response);
    assert.ok(!response.body.includes('a-rep'));
  },
  'PATCH /api/v1/users/:id': async (t, fx) => {
    const url = `/api/v1/users/${await aRepId(t, fx)}`;
    assertNotFound(await call(t, fx.b.key, 'PATCH', url, { name: 'Mallory', active: false }));
  },
  'DELETE /api/v1/users/:id': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'DELETE', `/api/v1/users/${await aRepId(t, fx)}`));
  },
  'POST /api/v1/teams': async (t, fx) => {
    const response = await call(t, fx.b.key, 'POST', '/api/v1/teams', {
      name: 'a-team',
      members: [{ userId: await aRepId(t, fx) }],
    });
    assert.equal(response.statusCode, 422, response.body);
    assert.equal(response.json().errors[0].path, '/members/0/userId');
  },
  'GET /api/v1/teams': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/teams');
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(!response.body.includes(await aTeamId(t, fx)));
    assert.ok(!response.body.includes('a-team'));
  },
  'GET /api/v1/teams/:id': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', `/api/v1/teams/${await aTeamId(t, fx)}`);
    assertNotFound(response);
    assert.ok(!response.body.includes('a-team'));
  },
  'PATCH /api/v1/teams/:id': async (t, fx) => {
    assertNotFound(
      await call(t, fx.b.key, 'PATCH', `/api/v1/teams/${await aTeamId(t, fx)}`, { members: [] }),
    );
  },
  'DELETE /api/v1/teams/:id': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'DELETE', `/api/v1/teams/${await aTeamId(t, fx)}`));
  },
  'GET /api/v1/routing/rules': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/routing/rules');
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json().rules, []);
  },
  'PUT /api/v1/routing/rules': async (t, fx) => {
    const response = await call(t, fx.b.key, 'PUT', '/api/v1/routing/rules', {
      rules: [
        { id: 'a-rule', name: 'b steals', strategy: { type: 'round_robin', teamId: await aTeamId(t, fx) } },
        { name: 'b steals too', strategy: { type: 'owner', userId: await aRepId(t, fx) } },
      ],
    });
    assert.equal(response.statusCode, 422, response.body);
    assert.deepEqual(
      response.json().errors.map((e: { path: string }) => e.path),
      ['/rules/1/strategy/userId', '/rules/0/strategy/teamId'],
    );
  },
  'GET /api/v1/routing/settings': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/routing/settings');
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().fallbackOwnerId, null);
  },
  'PUT /api/v1/routing/settings': async (t, fx) => {
    const response = await call(t, fx.b.key, 'PUT', '/api/v1/routing/settings', {
      fallbackOwnerId: await aRepId(t, fx),
    });
    assert.equal(response.statusCode, 422, response.body);
  },
  'POST /api/v1/leads/:id/assign': async (t, fx) => {
    const aLead = `/api/v1/leads/${fx.a.leads[1]!.id}/assign`;
    assertNotFound(await call(t, fx.b.key, 'POST', aLead, { route: true }));
    const bRep = (await call(t, fx.b.key, 'GET', '/api/v1/users')).json().data[0].id;
    assertNotFound(await call(t, fx.b.key, 'POST', aLead, { ownerId: bRep }));
    // B's lead cannot be given to A's rep.
    const toA = await call(t, fx.b.key, 'POST', `/api/v1/leads/${fx.b.leadId}/assign`, {
      ownerId: await aRepId(t, fx),
    });
    assert.equal(toA.statusCode, 422, toA.body);
  },
  // Outbound webhooks. A has one subscription ('a-hook', created disabled: nothing is sent).
  'GET /api/v1/webhooks': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/webhooks');
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(!response.body.includes(await aWebhookId(t, fx)));
    assert.ok(!response.body.includes('a-hook'));
  },
  'POST /api/v1/webhooks': async (t, fx) => {
    const response = await call(t, fx.b.key, 'POST', '/api/v1/webhooks', {
      url: 'https://93.184.215.14/b-hook',
      events: ['*'],
      enabled: false,
    });
    assert.equal(response.statusCode, 201, response.body);
  },
  'GET /api/v1/webhooks/:id': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', `/api/v1/webhooks/${await aWebhookId(t, fx)}`);
    assertNotFound(response);
    assert.ok(!response.body.includes('a-hook'));
  },
  'PATCH /api/v1/webhooks/:id': async (t, fx) => {
    const url = `/api/v1/webhooks/${await aWebhookId(t, fx)}`;
    assertNotFound(await call(t, fx.b.key, 'PATCH', url, { enabled: true, url: 'https://93.184.215.14/b' }));
  },
  'DELETE /api/v1/webhooks/:id': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'DELETE', `/api/v1/webhooks/${await aWebhookId(t, fx)}`));
  },
  'POST /api/v1/webhooks/:id/rotate-secret': async (t, fx) => {
    const url = `/api/v1/webhooks/${await aWebhookId(t, fx)}/rotate-secret`;
    assertNotFound(await call(t, fx.b.key, 'POST', url));
  },
  'GET /api/v1/webhooks/:id/deliveries': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'GET', `/api/v1/webhooks/${await aWebhookId(t, fx)}/deliveries`));
  },
  'POST /api/v1/webhooks/:id/deliveries/:deliveryId/replay': async (t, fx) => {
    const url = `/api/v1/webhooks/${await aWebhookId(t, fx)}/deliveries/${fx.a.leads[0]!.id}/replay`;
    assertNotFound(await call(t, fx.b.key, 'POST', url));
  },
  'POST /api/v1/webhooks/:id/test': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'POST', `/api/v1/webhooks/${await aWebhookId(t, fx)}/test`));
  },
  // Alerts and the dev mailbox. A has its own rule ('a-only-alert'), an alert on a1 and a
  // message in its mailbox ('a-secret-mail').
  'GET /api/v1/mailbox': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/mailbox');
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(!response.body.includes('a-secret-mail'));
    assert.ok(!response.body.includes(await aMailId(t, fx)));
  },
  'GET /api/v1/mailbox/:id': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', `/api/v1/mailbox/${await aMailId(t, fx)}`);
    assertNotFound(response);
    assert.ok(!response.body.includes('a-secret-mail'));
  },
  'DELETE /api/v1/mailbox': async (t, fx) => {
    const response = await call(t, fx.b.key, 'DELETE', '/api/v1/mailbox');
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), { deleted: 0 });
  },
  'GET /api/v1/alerts/rules': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/alerts/rules');
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(!response.body.includes('a-only-alert'));
    assert.ok(!response.body.includes(await aRuleId(t, fx)));
  },
  'POST /api/v1/alerts/rules': async (t, fx) => {
    const response = await call(t, fx.b.key, 'POST', '/api/v1/alerts/rules', {
      name: 'b-alert',
      trigger: { type: 'became_hot' },
      channels: [{ type: 'email' }],
    });
    assert.equal(response.statusCode, 201, response.body);
  },
  'GET /api/v1/alerts/rules/:id': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', `/api/v1/alerts/rules/${await aRuleId(t, fx)}`);
    assertNotFound(response);
    assert.ok(!response.body.includes('a-only-alert'));
  },
  'PATCH /api/v1/alerts/rules/:id': async (t, fx) => {
    const url = `/api/v1/alerts/rules/${await aRuleId(t, fx)}`;
    assertNotFound(await call(t, fx.b.key, 'PATCH', url, { enabled: false, fallbackEmail: 'mallory@b.io' }));
  },
  'DELETE /api/v1/alerts/rules/:id': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'DELETE', `/api/v1/alerts/rules/${await aRuleId(t, fx)}`));
  },
  'GET /api/v1/alerts': async (t, fx) => {
    const all = await call(t, fx.b.key, 'GET', '/api/v1/alerts?limit=500');
    assert.equal(all.statusCode, 200, all.body);
    const aLeadIds = fx.a.leads.map((lead) => lead.id);
    for (const alert of all.json().data) {
      assert.notEqual(alert.id, 'a-alert-1');
      assert.ok(!aLeadIds.includes(alert.leadId));
    }
    const byLead = await call(t, fx.b.key, 'GET', `/api/v1/alerts?leadId=${fx.a.leads[0]!.id}`);
    assert.deepEqual(byLead.json().data, []);
  },
  // Website tracking. A has its own URL rule ('a_only_guide') and allowed origin (acme-a.io).
  // Forms. A has 'a-secret-form' (slug a-form) with one submission.
  'POST /api/v1/forms': async (t, fx) => {
    const fields = [{ name: 'email', type: 'email', maps: 'email' }];
    // Slugs are global: A's is taken for B too, and the answer says nothing else of A's form.
    const taken = await call(t, fx.b.key, 'POST', '/api/v1/forms', { name: 'B', slug: 'a-form', fields });
    assert.equal(taken.statusCode, 409, taken.body);
    assert.ok(!taken.body.includes('a-secret-form') && !taken.body.includes(await aFormId(t, fx)));
    const own = await call(t, fx.b.key, 'POST', '/api/v1/forms', { name: 'B form', slug: 'b-form', fields });
    assert.equal(own.statusCode, 201, own.body);
  },
  'GET /api/v1/forms': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/forms?includeArchived=true&limit=500');
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(!response.body.includes('a-secret-form'));
    assert.ok(!response.body.includes(await aFormId(t, fx)));
  },
  'GET /api/v1/forms/:id': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', `/api/v1/forms/${await aFormId(t, fx)}`);
    assertNotFound(response);
    assert.ok(!response.body.includes('a-secret-form'));
  },
  'PATCH /api/v1/forms/:id': async (t, fx) => {
    const url = `/api/v1/forms/${await aFormId(t, fx)}`;
    assertNotFound(await call(t, fx.b.key, 'PATCH', url, { notify: ['mallory@b.io'], status: 'closed' }));
  },
  'DELETE /api/v1/forms/:id': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'DELETE', `/api/v1/forms/${await aFormId(t, fx)}`));
    const page = await t.app.inject({ method: 'GET', url: '/f/a-form' });
    assert.equal(page.statusCode, 200, 'A’s form still takes submissions');
  },
  'GET /api/v1/forms/:id/submissions': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', `/api/v1/forms/${await aFormId(t, fx)}/submissions`);
    assertNotFound(response);
    assert.ok(!response.body.includes(fx.a.leads[0]!.id));
  },
  // A's form 'a-form' has a lead-magnet file ('a-secret-magnet-bytes').
  'PUT /api/v1/forms/:id/lead-magnet/file': async (t, fx) => {
    const url = `/api/v1/forms/${await aFormId(t, fx)}/lead-magnet/file?filename=b.pdf`;
    assertNotFound(await call(t, fx.b.key, 'PUT', url, 'b-bytes', { 'content-type': 'application/pdf' }));
  },
  'GET /api/v1/forms/:id/lead-magnet/file': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', `/api/v1/forms/${await aFormId(t, fx)}/lead-magnet/file`);
    assertNotFound(response);
    assert.ok(!response.body.includes('a-secret-magnet'));
  },
  'DELETE /api/v1/forms/:id/lead-magnet/file': async (t, fx) => {
    assertNotFound(
      await call(t, fx.b.key, 'DELETE', `/api/v1/forms/${await aFormId(t, fx)}/lead-magnet/file`),
    );
  },
  // Form quarantine. A holds a bot's submission from 'a-spam@acme-a.io'.
  'GET /api/v1/forms/quarantine': async (t, fx) => {
    const aFormId = (await call(t, fx.a.key, 'GET', '/api/v1/forms/quarantine')).json().data[0].formId;
    for (const query of ['', '?status=quarantined', `?formId=${aFormId}`]) {
      const response = await call(t, fx.b.key, 'GET', `/api/v1/forms/quarantine${query}`);
      assert.equal(response.statusCode, 200, response.body);
      assert.ok(!response.body.includes('a-spam@acme-a.io'), query);
    }
  },
  'GET /api/v1/forms/quarantine/:id': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', `/api/v1/forms/quarantine/${await aQuarantineId(t, fx)}`);
    assertNotFound(response);
    assert.ok(!response.body.includes('a-spam@acme-a.io'));
  },
  'POST /api/v1/forms/quarantine/:id/release': async (t, fx) => {
    const id = await aQuarantineId(t, fx);
    assertNotFound(await call(t, fx.b.key, 'POST', `/api/v1/forms/quarantine/${id}/release`));
    const bLeads = (await call(t, fx.b.key, 'GET', '/api/v1/leads?limit=500')).body;
    assert.ok(!bLeads.includes('a-spam@acme-a.io'), 'nothing was submitted into B');
  },
  'POST /api/v1/forms/quarantine/:id/discard': async (t, fx) => {
    assertNotFound(
      await call(t, fx.b.key, 'POST', `/api/v1/forms/quarantine/${await aQuarantineId(t, fx)}/discard`),
    );
  },
  // Consent: A's a1 granted 'a_only_purpose' ('a-secret-consent').
  'GET /api/v1/leads/:id/consents': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', `/api/v1/leads/${fx.a.leads[0]!.id}/consents`);
    assertNotFound(response);
    assert.ok(!response.body.includes('a-secret-consent'));
  },
  'POST /api/v1/leads/:id/consents': async (t, fx) => {
    for (const body of [
      { purpose: 'a_only_purpose', status: 'withdrawn' },
      { purpose: 'b_purpose', status: 'granted', text: 'B', version: 'v1', doubleOptIn: true },
    ])
      assertNotFound(await call(t, fx.b.key, 'POST', `/api/v1/leads/${fx.a.leads[0]!.id}/consents`, body));
  },
  'GET /api/v1/tracking/settings': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/tracking/settings');
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(!response.body.includes('a_only_guide'));
    assert.ok(!response.body.includes('acme-a.io'));
  },
  'PUT /api/v1/tracking/settings': async (t, fx) => {
    const response = await call(t, fx.b.key, 'PUT', '/api/v1/tracking/settings', {
      urlRules: [{ match: '/b-pricing*', activity: 'pricing_viewed' }],
      allowedOrigins: ['https://tenant-b.io'],
    });
    assert.equal(response.statusCode, 200, response.body);
    // B's page views go to B under B's origins; A's settings do not apply to them.
    const collected = await t.app.inject({
      method: 'POST',
      url: '/t/collect',
      headers: { 'content-type': 'text/plain', origin: 'https://acme-a.io' },
      payload: JSON.stringify({
        w: 'tenant-b',
        a: 'b-visitor-0000000001',
        e: [{ t: 'page_view', i: 'b-hit-0001', u: 'https://acme-a.io/guides/x', ts: 1 }],
      }),
    });
    assert.equal(collected.statusCode, 403, collected.body);
  },
  // Inbound sources. A has a generic source ('a-inbound') with one failed external lead.
  'GET /api/v1/inbound-sources': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', '/api/v1/inbound-sources');
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(!response.body.includes('a-inbound'));
    assert.ok(!response.body.includes(await aInboundId(t, fx)));
  },
  'POST /api/v1/inbound-sources': async (t, fx) => {
    const response = await call(t, fx.b.key, 'POST', '/api/v1/inbound-sources', {
      kind: 'generic',
      name: 'b-inbound',
    });
    assert.equal(response.statusCode, 201, response.body);
  },
  'GET /api/v1/inbound-sources/:id': async (t, fx) => {
    const response = await call(t, fx.b.key, 'GET', `/api/v1/inbound-sources/${await aInboundId(t, fx)}`);
    assertNotFound(response);
    assert.ok(!response.body.includes('a-inbound'));
  },
  'PATCH /api/v1/inbound-sources/:id': async (t, fx) => {
    const url = `/api/v1/inbound-sources/${await aInboundId(t, fx)}`;
    const patch = { name: 'b was here', secrets: { token: 'b'.repeat(20) } };
    assertNotFound(await call(t, fx.b.key, 'PATCH', url, patch));
  },
  'DELETE /api/v1/inbound-sources/:id': async (t, fx) => {
    assertNotFound(await call(t, fx.b.key, 'DELETE', `/api/v1/inbound-sources/${await aInboundId(t, fx)}`));
  },
  'GET /api/v1/inbound-sources/:id/leads': async (t, fx) => {
    const source = await aInboundId(t, fx);
    const response = await call(t, fx.b.key, 'GET', `/api/v1/inbound-sources/${source}/leads`);
    assertNotFound(response);
    assert.ok(!response.body.includes('a-inbound-lead'));
  },
  'POST /api/v1/inbound-sources/:id/leads/:leadId/retry': async (t, fx) => {
    const source = await aInboundId(t, fx);
    const [entry] = (await call(t, fx.a.key, 'GET', `/api/v1/inbound-sources/${source}/leads`)).json().data;
    const url = `/api/v1/inbound-sources/${source}/leads/${entry.id}/retry`;
    assertNotFound(await call(t, fx.b.key, 'POST', url));
  },
};

/** The id of A's inbound source, read with A's key. */
async function aInboundId(t: TestApp, fx: Fixture): Promise<string> {
  return (await call(t, fx.a.key, 'GET', '/api/v1/inbound-sources')).json().data[0].id;
}

/** The id of A's webhook subscription, read with A's key. */
async function aWebhookId(t: TestApp, fx: Fixture): Promise<string> {
  return (await call(t, fx.a.key, 'GET', '/api/v1/webhooks')).json().data[0].id;
}

/** The id of A's quarantined submission (from a-spam@acme-a.io), read with A's key. */
async function aQuarantineId(t: TestApp, fx: Fixture): Promise<string> {
  const entries = (await call(t, fx.a.key, 'GET', '/api/v1/forms/quarantine')).json().data;
  return entries.find((e: { email: string }) => e.email === 'a-spam@acme-a.io').id;
}

/** The id of A's form `a-form`, read with A's key. */
async function aFormId(t: TestApp, fx: Fixture): Promise<string> {
  const forms = (await call(t, fx.a.key, 'GET', '/api/v1/forms?limit=500')).json().data;
  return forms.find((f: { slug: string }) => f.slug === 'a-form').id;
}

/** The id of A's landing page `a-landing`, read with A's key. */
async function aLandingPage(t: TestApp, fx: Fixture): Promise<string> {
  const pages = (await call(t, fx.a.key, 'GET', '/api/v1/landing-pages')).json().data;
  return pages.find((p: { slug: string }) => p.slug === 'a-landing').id;
}

/** The id of A's own alert rule, read with A's key. */
async function aRuleId(t: TestApp, fx: Fixture): Promise<string> {
  const rules = (await call(t, fx.a.key, 'GET', '/api/v1/alerts/rules')).json().data;
  return rules.find((r: { name: string }) => r.name === 'a-only-alert').id;
}

/** The id of the message in A's dev mailbox, read with A's key. */
async function aMailId(t: TestApp, fx: Fixture): Promise<string> {
  return (await call(t, fx.a.key, 'GET', '/api/v1/mailbox')).json().data[0].id;
}

/** The id of A's rep, read with A's key. */
async function aRepId(t: TestApp, fx: Fixture): Promise<string> {
  const users = (await call(t, fx.a.key, 'GET', '/api/v1/users')).json().data;
  return users.find((u: { name: string }) => u.name === 'a-rep').id;
}

/** The id of A's team, read with A's key. */
async function aTeamId(t: TestApp, fx: Fixture): Promise<string> {
  return (await call(t, fx.a.key, 'GET', '/api/v1/teams')).json().data[0].id;
}

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
  // A's sales team: a rep, a team, a rule routing to it, the rep as fallback, a1 assigned to them.
  const aRep = await post(aKey, '/api/v1/users', { name: 'a-rep', email: 'a-rep@acme-a.io' });
  const aTeam = await post(aKey, '/api/v1/teams', { name: 'a-team', members: [{ userId: aRep.id }] });
  const aRules = await call(t, aKey, 'PUT', '/api/v1/routing/rules', {
    rules: [{ id: 'a-rule', name: 'a-only-routing', strategy: { type: 'round_robin', teamId: aTeam.id } }],
  });
  assert.equal(aRules.statusCode, 200, aRules.body);
  const aRouting = await call(t, aKey, 'PUT', '/api/v1/routing/settings', { fallbackOwnerId: aRep.id });
  assert.equal(aRouting.statusCode, 200, aRouting.body);
  await post(aKey, `/api/v1/leads/${a1.id}/assign`, { ownerId: aRep.id });
  await post(aKey, '/api/v1/webhooks', {
    url: 'https://93.184.215.14/a-hook',
    events: ['*'],
    description: 'a-hook',
    enabled: false,
  });
  const aWorkspace = (await call(t, aKey, 'GET', '/api/v1/workspace')).json();
  await post(aKey, '/api/v1/alerts/rules', {
    name: 'a-only-alert',
    trigger: { type: 'activity', activity: 'meeting_booked' },
    channels: [{ type: 'email' }],
    fallbackEmail: 'a-secret@acme-a.io',
  });
  // An alert and a mailbox message of A, written directly: running jobs would touch more of A.
  await t.services.database.writes.run(async (trx) => {
    await insertMessage(trx, aWorkspace.id, {
      id: 'a-mail-1',
      from: 'Leadline <leadline@localhost>',
      to: ['a-owner@acme-a.io'],
      replyTo: null,
      subject: 'a-secret-mail',
      text: 'secret',
      html: null,
      headers: {},
      createdAt: t.clock.now,
    });
    await insertAlerts(trx, aWorkspace.id, [
      {
        id: 'a-alert-1',
        key: 'a-alert-key',
        ruleId: 'a-rule',
        ruleName: 'a-only-alert',
        leadId: a1.id,
        trigger: { type: 'became_hot', at: t.clock.now },
        channel: { type: 'email' },
        firedAt: t.clock.now,
      },
    ]);
  });

  const aTracking = await call(t, aKey, 'PUT', '/api/v1/tracking/settings', {
    urlRules: [{ match: '/guides/*', activity: 'custom', name: 'a_only_guide' }],
    allowedOrigins: ['https://acme-a.io'],
  });
  assert.equal(aTracking.statusCode, 200, aTracking.body);

  // A's landing page, embedding a form of A's.
  await post(aKey, '/api/v1/forms', {
    name: 'A landing form',
    slug: 'a-landing-form',
    fields: [{ name: 'email', type: 'email', required: true, maps: 'email' }],
  });
  await post(aKey, '/api/v1/landing-pages', {
    slug: 'a-landing',
    name: 'A landing page',
    variants: [{ key: 'a', headline: 'a-secret-headline', formSlug: 'a-landing-form' }],
  });

  // A's quarantine holds a bot's submission (no render token) to A's form; a1 granted a consent.
  const aQuarantineForm = await post(aKey, '/api/v1/forms', {
    name: 'A quarantine form',
    slug: 'a-quarantine-form',
    fields: [{ name: 'email', type: 'email', required: true, maps: 'email' }],
  });
  const spam = await t.app.inject({
    method: 'POST',
    url: '/f/a-quarantine-form',
    headers: { 'content-type': 'application/json' },
    payload: { email: 'a-spam@acme-a.io' },
  });
  assert.equal(spam.statusCode, 200, spam.body);
  const aQuarantine = await call(t, aKey, 'GET', `/api/v1/forms/quarantine?formId=${aQuarantineForm.id}`);
  assert.equal(aQuarantine.json().data.length, 1, aQuarantine.body);
  await post(aKey, `/api/v1/leads/${a1.id}/consents`, {
    purpose: 'a_only_purpose',
    status: 'granted',
    text: 'a-secret-consent',
    version: 'v1',
  });

  // A's own form ('a-secret-form') with one submission, by a1.
  const aForm = await post(aKey, '/api/v1/forms', {
    name: 'a-secret-form',
    slug: 'a-form',
    fields: [{ name: 'email', type: 'email', required: true, maps: 'email' }],
    spam: { minFillSeconds: 0 },
  });
  const aSubmission = await t.app.inject({
    method: 'POST',
    url: '/f/a-form',
    headers: { 'content-type': 'application/json' },
    payload: { email: a1.email },
  });
  assert.equal(aSubmission.statusCode, 200, aSubmission.body);
  assert.equal((await call(t, aKey, 'GET', `/api/v1/forms/${aForm.id}/submissions`)).json().data.length, 1);
  // Its lead-magnet file, uploaded after the submission (which then emailed nothing).
  const aMagnet = await call(
    t,
    aKey,
    'PUT',
    `/api/v1/forms/${aForm.id}/lead-magnet/file?filename=a-secret.pdf`,
    'a-secret-magnet-bytes',
    { 'content-type': 'application/pdf' },
  );
  assert.equal(aMagnet.statusCode, 200, aMagnet.body);

  // A's inbound source ('a-inbound') and one external lead it could not capture (no email).
  const aInbound = await post(aKey, '/api/v1/inbound-sources', { kind: 'generic', name: 'a-inbound' });
  const aDelivery = await t.app.inject({
    method: 'POST',
    url: `/in/${aInbound.source.id}`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${aInbound.secrets.token}` },
    payload: { id: 'a-inbound-lead', company: 'Acme A' },
  });
  assert.equal(aDelivery.json().failed, 1, aDelivery.body);

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
    await aTaskOf(t, fx); // A's user, SLA policy and task exist before the snapshot
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
