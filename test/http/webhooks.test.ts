import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it, mock } from 'node:test';
import { Webhook } from 'standardwebhooks';
import {
  BREAKER_FAILURES,
  BREAKER_PROBE_EVERY_MS,
  DELIVERY_LOG_RETENTION_MS,
  MESSAGE_RETENTION_MS,
} from '../../src/webhooks/model.ts';
import { authHeaders, describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function api(t: TestApp, method: Method, url: string, payload?: unknown) {
  return t.app.inject({
    method,
    url,
    headers: authHeaders(t.key),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

async function ok(t: TestApp, method: Method, url: string, payload?: unknown) {
  const response = await api(t, method, url, payload);
  assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
  return response.statusCode === 204 ? undefined : response.json();
}

function assertProblem(
  response: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
) {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /application\/problem\+json/);
}

interface Received {
  headers: Record<string, string>;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: webhook bodies are read field by field in the tests.
  json: any;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A real HTTP server on 127.0.0.1 that records what it receives and answers as told. */
interface Receiver {
  url: string;
  received: Received[];
  reply: (request: Received) => Reply;
  close: () => Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    received: [],
    reply: () => ({ status: 204 }),
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const request: Received = {
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        body,
        json: JSON.parse(body),
      };
      receiver.received.push(request);
      const answer = receiver.reply(request);
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  receiver.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return receiver;
}

/**
 * Verifies a delivery with the Standard Webhooks reference library, as a receiver would. The
 * library checks the timestamp against its own clock: it is set to the delivery's (the test
 * clock) for the call.
 */
function verify(secret: string, request: Received): unknown {
  mock.timers.enable({ apis: ['Date'], now: Number(request.headers['webhook-timestamp']) * 1000 });
  try {
    return new Webhook(secret).verify(request.body, request.headers);
  } finally {
    mock.timers.reset();
  }
}

async function setAllowPrivate(t: TestApp, allow: boolean): Promise<void> {
  await ok(t, 'PATCH', '/api/v1/workspace', { settings: { allowPrivateWebhookTargets: allow } });
}

async function subscribe(
  t: TestApp,
  url: string,
  events: string[] = ['*'],
): Promise<{ id: string; secret: string }> {
  const created = await ok(t, 'POST', '/api/v1/webhooks', { url, events, description: 'test receiver' });
  return { id: created.subscription.id, secret: created.secret };
}

// biome-ignore lint/suspicious/noExplicitAny: API answers are read field by field in the tests.
async function deliveries(t: TestApp, id: string): Promise<any[]> {
  return (await ok(t, 'GET', `/api/v1/webhooks/${id}/deliveries?limit=500`)).data;
}

async function createLead(t: TestApp, email: string, fields: Record<string, unknown> = {}): Promise<string> {
  return (await ok(t, 'POST', '/api/v1/leads', { email, ...fields })).id;
}

describeEachEngine('outbound webhooks', (engine) => {
  const get = useApp(engine);
  let receiver: Receiver;

  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => receiver.close());

  /** A fresh receiver state and subscription per test; every test deletes its subscriptions. */
  async function fresh(t: TestApp, events?: string[]) {
    receiver.received = [];
    receiver.reply = () => ({ status: 204 });
    await setAllowPrivate(t, true);
    return subscribe(t, receiver.url, events);
  }

  it('refuses private targets unless the workspace allows them (SSRF)', async () => {
    const t = get();
    await setAllowPrivate(t, false);
    for (const url of [
      'http://127.0.0.1:9/hook',
      'http://10.1.2.3/hook',
      'http://[::1]:9/hook',
      'http://localhost:9/hook',
    ]) {
      const refused = await api(t, 'POST', '/api/v1/webhooks', { url, events: ['lead.created'] });
      assertProblem(refused, 422);
      assert.deepEqual(
        refused.json().errors.map((e: { path: string }) => e.path),
        ['/url'],
        url,
      );
      assert.match(refused.json().errors[0].message, /private, loopback or reserved/, url);
    }
    // Link-local and cloud metadata addresses are refused even where private targets are allowed.
    for (const allow of [false, true]) {
      await setAllowPrivate(t, allow);
      for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fd00:ec2::254]/']) {
        const refused = await api(t, 'POST', '/api/v1/webhooks', { url, events: ['lead.created'] });
        assertProblem(refused, 422);
        assert.match(refused.json().errors[0].message, /link-local or cloud metadata address/, url);
      }
    }
    await setAllowPrivate(t, false);
    // A public address is fine (nothing is sent to it in this test), but it cannot be moved inward.
    const { id } = await subscribe(t, 'https://93.184.215.14/hook', ['lead.created']);
    assertProblem(await api(t, 'PATCH', `/api/v1/webhooks/${id}`, { url: 'http://192.168.1.10/' }), 422);
    assert.equal((await ok(t, 'GET', `/api/v1/webhooks/${id}`)).url, 'https://93.184.215.14/hook');
    await ok(t, 'DELETE', `/api/v1/webhooks/${id}`);

    await setAllowPrivate(t, true);
    const allowed = await subscribe(t, receiver.url, ['lead.created']);
    // The setting is read again at every delivery: turned off, the loopback receiver is refused.
    await setAllowPrivate(t, false);
    receiver.received = [];
    await createLead(t, 'ssrf@example.org');
    await t.services.jobs.runDue();
    assert.equal(receiver.received.length, 0, 'nothing reached the loopback receiver');
    const [refusedAttempt] = await deliveries(t, allowed.id);
    assert.equal(refusedAttempt.statusCode, null);
    assert.match(refusedAttempt.error, /127\.0\.0\.1 is a private, loopback or reserved address/);
    assert.ok(refusedAttempt.nextRetryAt, 'retried: the setting may be turned back on');
    await ok(t, 'DELETE', `/api/v1/webhooks/${allowed.id}`);
  });

  it('creates, lists, changes and deletes subscriptions; the secret is shown once', async () => {
    const t = get();
    await setAllowPrivate(t, true);
    const created = await api(t, 'POST', '/api/v1/webhooks', {
      url: receiver.url,
      events: ['lead.created', 'form.submitted', 'lead.created'],
    });
    assert.equal(created.statusCode, 201, created.body);
    const { subscription, secret } = created.json();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.deepEqual(subscription.events, ['lead.created', 'form.submitted']);
    assert.equal(subscription.enabled, true);
    assert.equal(subscription.description, null);

    const listed = await api(t, 'GET', '/api/v1/webhooks');
    assert.ok(!listed.body.includes(secret), 'the secret is never listed');
    assert.deepEqual(
      listed.json().data.map((s: { id: string }) => s.id),
      [subscription.id],
    );
    const one = await api(t, 'GET', `/api/v1/webhooks/${subscription.id}`);
    assert.ok(!one.body.includes(secret));

    const changed = await ok(t, 'PATCH', `/api/v1/webhooks/${subscription.id}`, {
      events: ['*'],
      description: 'CRM sync',
      enabled: false,
    });
    assert.deepEqual(
      [changed.events, changed.description, changed.enabled, changed.disabledReason],
      [['*'], 'CRM sync', false, 'disabled through the API'],
    );

    const badEvent = await api(t, 'POST', '/api/v1/webhooks', {
      url: receiver.url,
      events: ['lead.exploded'],
    });
    assertProblem(badEvent, 400);
    assert.ok(badEvent.json().errors.some((e: { path: string }) => e.path.startsWith('/events')));
    assertProblem(await api(t, 'POST', '/api/v1/webhooks', { url: receiver.url, events: [] }), 400);
    const badUrl = await api(t, 'POST', '/api/v1/webhooks', { url: 'ftp://example.org/x', events: ['*'] });
    assertProblem(badUrl, 422);
    assert.deepEqual(badUrl.json().errors, [{ path: '/url', message: 'must use http or https' }]);
    assertProblem(
      await api(t, 'POST', '/api/v1/webhooks', { url: 'https://u:p@example.org/', events: ['*'] }),
      422,
    );
    // A URL parser drops line breaks and tabs and encodes spaces: stored, such a URL is not the one called.
    for (const url of [`${receiver.url}\r\nX-Injected: 1`, `${receiver.url}\tx`, `${receiver.url} x`]) {
      const spaced = await api(t, 'POST', '/api/v1/webhooks', { url, events: ['*'] });
      assertProblem(spaced, 400);
      assert.equal(spaced.json().errors[0].path, '/url');
    }
    assertProblem(await api(t, 'GET', '/api/v1/webhooks/nope'), 404);
    assertProblem(await api(t, 'PATCH', '/api/v1/webhooks/nope', { enabled: true }), 404);
    const badCursor = await api(t, 'GET', `/api/v1/webhooks/${subscription.id}/deliveries?cursor=zzz`);
    assertProblem(badCursor, 422);
    assert.equal(badCursor.json().errors[0].path, '/query/cursor');

    const readKey = (await ok(t, 'POST', '/api/v1/keys', { name: 'reader', scope: 'read' })).key;
    const asReader = await t.app.inject({
      method: 'GET',
      url: '/api/v1/webhooks',
      headers: authHeaders(readKey),
    });
    assertProblem(asReader, 403);

    assert.equal((await api(t, 'DELETE', `/api/v1/webhooks/${subscription.id}`)).statusCode, 204);
    assertProblem(await api(t, 'GET', `/api/v1/webhooks/${subscription.id}`), 404);
    assertProblem(await api(t, 'DELETE', `/api/v1/webhooks/${subscription.id}`), 404);
  });

  it('delivers every lead event, signed per Standard Webhooks, with the lead and its score', async () => {
    const t = get();
    // Requesting a demo is worth 60 points: one event makes the lead hot, an MQL, and crosses 50.
    await ok(t, 'PUT', '/api/v1/scoring/model', {
      behaviour: [{ id: 'demo', type: 'demo_requested', points: 60 }],
    });
    await t.services.rescore.settled(t.workspaceId);
    const { id, secret } = await fresh(t);

    const leadId = await createLead(t, 'ada@example.org', { firstName: 'Ada' });
    await createLead(t, 'ada@example.org', { company: 'Analytical Engines' });
    await ok(t, 'POST', '/api/v1/events', {
      events: [
        { type: 'demo_requested', leadId },
        { type: 'form_submitted', leadId, properties: { form: 'contact', message: 'hello' } },
      ],
    });
    await t.services.jobs.runDue();

    const byType = new Map(receiver.received.map((r) => [r.json.type as string, r]));
    assert.deepEqual([...byType.keys()].sort(), [
      'form.submitted',
      'lead.became_hot',
      'lead.created',
      'lead.score_crossed',
      'lead.stage_changed',
      'lead.updated',
    ]);
    assert.equal(receiver.received.length, byType.size, 'each event once');
    for (const request of receiver.received) {
      assert.deepEqual(verify(secret, request), request.json, `${request.json.type} verifies`);
      assert.equal(request.headers['content-type'], 'application/json');
      assert.equal(request.json.data.leadId, leadId);
      assert.equal(request.json.data.lead.id, leadId, `${request.json.type} carries the lead`);
      assert.equal(typeof request.json.data.lead.score, 'number');
      assert.equal(request.json.timestamp, new Date(t.clock.now).toISOString());
    }
    const ids = receiver.received.map((r) => r.headers['webhook-id']);
    assert.equal(new Set(ids).size, ids.length, 'one webhook-id per message');
    // A forged body fails verification.
    const forged = { ...receiver.received[0]!, body: receiver.received[0]!.body.replace('ada', 'eve') };
    assert.throws(() => verify(secret, forged), /No matching signature/);

    const data = (type: string) => byType.get(type)!.json.data;
    assert.equal(data('lead.created').lead.firstName, 'Ada');
    assert.deepEqual(data('lead.updated').changed, ['company']);
    assert.equal(data('lead.updated').lead.company, 'Analytical Engines');
    assert.deepEqual([data('lead.stage_changed').from, data('lead.stage_changed').to], ['lead', 'mql']);
    assert.equal(data('lead.became_hot').lead.temperature, 'hot');
    const crossed = data('lead.score_crossed');
    assert.deepEqual([crossed.threshold, crossed.direction, crossed.from, crossed.to], [50, 'up', 0, 60]);
    assert.equal(crossed.lead.score, 60);
    const form = data('form.submitted');
    assert.deepEqual(form.properties, { form: 'contact', message: 'hello' });
    assert.equal(form.lead.email, 'ada@example.org', 'rendered with the lead at its first attempt');

    const log = await deliveries(t, id);
    assert.equal(log.length, receiver.received.length);
    for (const entry of log) {
      assert.deepEqual(
        [entry.succeeded, entry.statusCode, entry.attempt, entry.trigger, entry.error, entry.nextRetryAt],
        [true, 204, 1, 'event', null, null],
      );
      assert.ok(ids.includes(entry.messageId));
    }
    const health = await ok(t, 'GET', `/api/v1/webhooks/${id}`);
    assert.equal(health.lastSuccessAt, new Date(t.clock.now).toISOString());
    assert.equal(health.consecutiveFailures, 0);
    await ok(t, 'DELETE', `/api/v1/webhooks/${id}`);
  });

  it("delivers other domains' signals too, loading the lead at the first attempt when it is not given", async () => {
    const t = get();
    const { id, secret } = await fresh(t, ['lead.assigned', 'task.due', 'sla.breached']);
    const leadId = await createLead(t, 'assigned@example.org', { company: 'Acme' });
    const at = t.clock.now;
    await t.services.database.writes.run((trx) =>
      t.services.signals.emitIn(
        trx,
        t.workspaceId,
        [
          { type: 'lead.assigned', leadId, at, data: { ownerId: 'user-1' } },
          { type: 'task.due', at, data: { taskId: 'task-1' } },
          { type: 'lead.created', leadId, at, data: {} },
        ],
        at,
      ),
    );
    await t.services.jobs.runDue();
    assert.deepEqual(
      receiver.received.map((r) => r.json.type),
      ['lead.assigned', 'task.due'],
      'only the subscribed types',
    );
    const [assigned, due] = receiver.received;
    verify(secret, assigned!);
    assert.deepEqual(
      [assigned!.json.data.leadId, assigned!.json.data.ownerId, assigned!.json.data.lead.company],
      [leadId, 'user-1', 'Acme'],
    );
    assert.equal(typeof assigned!.json.data.lead.score, 'number');
    assert.deepEqual(due!.json.data, { taskId: 'task-1' });
    await ok(t, 'DELETE', `/api/v1/webhooks/${id}`);
  });

  it('sends only the events a subscription asked for, with custom score thresholds', async () => {
    const t = get();
    await ok(t, 'PATCH', '/api/v1/workspace', { settings: { scoreThresholds: [30] } });
    const { id } = await fresh(t, ['lead.score_crossed']);
    const leadId = await createLead(t, 'grace@example.org');
    await ok(t, 'POST', '/api/v1/events', { events: [{ type: 'demo_requested', leadId }] });
    await t.services.jobs.runDue();
    assert.deepEqual(
      receiver.received.map((r) => [r.json.type, r.json.data.threshold, r.json.data.direction]),
      [['lead.score_crossed', 30, 'up']],
    );
    assertProblem(await api(t, 'PATCH', '/api/v1/workspace', { settings: { scoreThresholds: [101] } }), 400);
    await ok(t, 'PATCH', '/api/v1/workspace', { settings: { scoreThresholds: [50, 75] } });
    await ok(t, 'DELETE', `/api/v1/webhooks/${id}`);
  });

  it('retries failures on the schedule for over a day, honours Retry-After, and logs every attempt', async () => {
    const t = get();
    const { id } = await fresh(t, ['lead.created']);
    receiver.reply = () => ({ status: 500, body: 'database on fire' });
    const start = t.clock.now;
    await createLead(t, 'retry@example.org');
    await t.services.jobs.runDue();
    let [latest] = await deliveries(t, id);
    assert.deepEqual(
      [latest.attempt, latest.succeeded, latest.statusCode, latest.error],
      [1, false, 500, 'HTTP 500: database on fire'],
    );
    const firstRetry = Date.parse(latest.nextRetryAt) - t.clock.now;
    assert.ok(firstRetry >= 5_000 && firstRetry <= 5_500, `first retry after ${firstRetry} ms`);
    await t.services.jobs.runDue();
    assert.equal((await deliveries(t, id)).length, 1, 'not before its time');

    // A 429 with Retry-After waits as long as asked (the schedule's 5 minutes would be sooner).
    receiver.reply = () => ({ status: 429, headers: { 'retry-after': '3600' } });
    t.clock.now = Date.parse(latest.nextRetryAt);
    await t.services.jobs.runDue();
    [latest] = await deliveries(t, id);
    assert.deepEqual([latest.attempt, latest.statusCode], [2, 429]);
    assert.equal(Date.parse(latest.nextRetryAt), t.clock.now + HOUR);

    // Then down for good: every remaining attempt, each at its logged time, until none is left.
    receiver.reply = () => ({ status: 503 });
    for (let attempt = 3; attempt <= 8; attempt++) {
      t.clock.now = Date.parse(latest.nextRetryAt);
      await t.services.jobs.runDue();
      [latest] = await deliveries(t, id);
      assert.equal(latest.attempt, attempt);
    }
    assert.equal(latest.nextRetryAt, null, 'no attempt after the 8th');
    assert.ok(
      t.clock.now - start > DAY,
      `the last attempt came ${(t.clock.now - start) / HOUR} h after the first`,
    );
    const log = await deliveries(t, id);
    assert.equal(log.length, 8);
    assert.equal(new Set(log.map((d) => d.messageId)).size, 1, 'the same message each time');
    assert.equal(
      new Set(receiver.received.map((r) => r.headers['webhook-id'])).size,
      1,
      'with the same webhook-id each time',
    );
    const dead = (await ok(t, 'GET', '/api/v1/jobs?kind=webhook.deliver&state=dead')).data;
    assert.ok(dead.some((job: { payload: { subscriptionId: string } }) => job.payload.subscriptionId === id));
    const sub = await ok(t, 'GET', `/api/v1/webhooks/${id}`);
    assert.deepEqual(
      [sub.enabled, sub.consecutiveFailures, sub.failingSince],
      [true, 8, new Date(start).toISOString()],
    );

    // A success ends the failure streak (once the circuit breaker lets a probe through: a
    // minute after the last failure).
    receiver.reply = () => ({ status: 200 });
    t.clock.now += BREAKER_PROBE_EVERY_MS;
    await createLead(t, 'retry-2@example.org');
    await t.services.jobs.runDue();
    const healed = await ok(t, 'GET', `/api/v1/webhooks/${id}`);
    assert.deepEqual([healed.consecutiveFailures, healed.failingSince], [0, null]);
    await ok(t, 'DELETE', `/api/v1/webhooks/${id}`);
  });

  it('disables a subscription on 410 Gone; disabled, it receives nothing; PATCH enables it again', async () => {
    const t = get();
    const { id } = await fresh(t, ['lead.created']);
    receiver.reply = () => ({ status: 410 });
    await createLead(t, 'gone@example.org');
    await t.services.jobs.runDue();
    const gone = await ok(t, 'GET', `/api/v1/webhooks/${id}`);
    assert.deepEqual([gone.enabled, gone.disabledReason], [false, 'the target answered 410 Gone']);
    assert.equal((await deliveries(t, id))[0].nextRetryAt, null);

    receiver.received = [];
    receiver.reply = () => ({ status: 204 });
    await createLead(t, 'gone-2@example.org');
    t.clock.now += DAY;
    await t.services.jobs.runDue();
    assert.equal(receiver.received.length, 0, 'a disabled subscription receives nothing new');

    const enabled = await ok(t, 'PATCH', `/api/v1/webhooks/${id}`, { enabled: true });
    assert.deepEqual([enabled.enabled, enabled.disabledReason, enabled.consecutiveFailures], [true, null, 0]);
    await createLead(t, 'gone-3@example.org');
    await t.services.jobs.runDue();
    assert.deepEqual(
      receiver.received.map((r) => r.json.data.lead.email),
      ['gone-3@example.org'],
    );
    await ok(t, 'DELETE', `/api/v1/webhooks/${id}`);
  });

  it('disables a subscription whose deliveries all failed for 5 days (and at least 10 attempts)', async () => {
    const t = get();
    const { id } = await fresh(t, ['lead.created']);
    receiver.reply = () => ({ status: 500 });
    const start = t.clock.now;
    /** Runs every attempt of the queued deliveries, each at its logged time. */
    const exhaust = async () => {
      for (;;) {
        await t.services.jobs.runDue();
        const [latest] = await deliveries(t, id);
        if (!latest.nextRetryAt) return;
        t.clock.now = Date.parse(latest.nextRetryAt);
      }
    };
    await createLead(t, 'down-1@example.org');
    await exhaust();
    t.clock.now = start + 4 * DAY;
    await createLead(t, 'down-2@example.org');
    await t.services.jobs.runDue();
    let sub = await ok(t, 'GET', `/api/v1/webhooks/${id}`);
    assert.deepEqual([sub.enabled, sub.consecutiveFailures], [true, 9], 'failing for 4 days: still enabled');

    t.clock.now = start + 5 * DAY;
    await t.services.jobs.runDue();
    sub = await ok(t, 'GET', `/api/v1/webhooks/${id}`);
    assert.equal(sub.enabled, false);
    assert.equal(sub.disabledReason, 'every delivery failed for 5 days (10 attempts in a row)');
    assert.equal(sub.disabledAt, new Date(t.clock.now).toISOString());
    const [last] = await deliveries(t, id);
    assert.equal(last.nextRetryAt, null, 'its pending retries stop');

    receiver.received = [];
    await createLead(t, 'down-3@example.org');
    t.clock.now += DAY;
    await t.services.jobs.runDue();
    assert.equal(receiver.received.length, 0);
    await ok(t, 'DELETE', `/api/v1/webhooks/${id}`);
  });

  it('replays a delivery with the same webhook-id, and sends a test ping on request', async () => {
    const t = get();
    const { id, secret } = await fresh(t, ['lead.created']);
    await createLead(t, 'replay@example.org');
    await t.services.jobs.runDue();
    const [first] = await deliveries(t, id);

    const replay = await api(t, 'POST', `/api/v1/webhooks/${id}/deliveries/${first.id}/replay`);
    assert.equal(replay.statusCode, 202, replay.body);
    assert.equal(replay.json().messageId, first.messageId);
    t.clock.now += 60_000;
    await t.services.jobs.runDue();
    assert.equal(receiver.received.length, 2);
    const [original, again] = receiver.received;
    assert.equal(again!.headers['webhook-id'], original!.headers['webhook-id']);
    assert.equal(again!.body, original!.body, 'the same message');
    assert.notEqual(
      again!.headers['webhook-timestamp'],
      original!.headers['webhook-timestamp'],
      'signed anew',
    );
    verify(secret, again!);
    const [replayed] = await deliveries(t, id);
    assert.deepEqual([replayed.trigger, replayed.attempt, replayed.succeeded], ['replay', 1, true]);
    assertProblem(await api(t, 'POST', `/api/v1/webhooks/${id}/deliveries/nope/replay`), 404);

    const ping = await api(t, 'POST', `/api/v1/webhooks/${id}/test`);
    assert.equal(ping.statusCode, 202, ping.body);
    await t.services.jobs.runDue();
    const pinged = receiver.received.at(-1)!;
    assert.equal(pinged.json.type, 'webhook.ping');
    assert.equal(pinged.json.data.subscriptionId, id);
    verify(secret, pinged);
    const [tested] = await deliveries(t, id);
    assert.deepEqual([tested.trigger, tested.eventType, tested.succeeded], ['test', 'webhook.ping', true]);

    // Disabled: replays are refused until it is enabled again; a test ping still goes.
    await ok(t, 'PATCH', `/api/v1/webhooks/${id}`, { enabled: false });
    assertProblem(await api(t, 'POST', `/api/v1/webhooks/${id}/deliveries/${first.id}/replay`), 409);
    receiver.reply = () => ({ status: 500 });
    assert.equal((await api(t, 'POST', `/api/v1/webhooks/${id}/test`)).statusCode, 202);
    await t.services.jobs.runDue();
    const [failedPing] = await deliveries(t, id);
    assert.deepEqual([failedPing.succeeded, failedPing.nextRetryAt], [false, null], 'a ping is tried once');
    assert.equal(
      (await ok(t, 'GET', `/api/v1/webhooks/${id}`)).consecutiveFailures,
      0,
      'pings leave health alone',
    );
    await ok(t, 'DELETE', `/api/v1/webhooks/${id}`);
  });

  it('stops connecting to a failing target (circuit breaker): one probe a minute until it answers again', async () => {
    const t = get();
    const { id } = await fresh(t, ['lead.created']);
    receiver.reply = () => ({ status: 500 });
    for (let i = 0; i < BREAKER_FAILURES; i++) await createLead(t, `breaker-${i}@example.org`);
    await t.services.jobs.runDue();
    assert.equal(receiver.received.length, BREAKER_FAILURES);

    // Open: a new event waits for the next probe without connecting, and is no attempt.
    await createLead(t, 'breaker-new@example.org');
    await t.services.jobs.runDue();
    assert.equal(receiver.received.length, BREAKER_FAILURES, 'nothing reached the target');
    assert.equal((await deliveries(t, id)).length, BREAKER_FAILURES);
    const queued = (await ok(t, 'GET', '/api/v1/jobs?kind=webhook.deliver&state=queued&limit=200')).data;
    const deferred = queued.filter(
      (j: { payload: { subscriptionId: string }; lastError: string | null }) =>
        j.payload.subscriptionId === id && /circuit breaker/.test(j.lastError ?? ''),
    );
    assert.equal(deferred.length, 1);
    assert.equal(Date.parse(deferred[0].runAt), t.clock.now + BREAKER_PROBE_EVERY_MS);
    // A person's test ping is not held back.
    await ok(t, 'POST', `/api/v1/webhooks/${id}/test`);
    await t.services.jobs.runDue();
    assert.equal(receiver.received.length, BREAKER_FAILURES + 1);

    // A minute on, one probe goes; the target answers again, the breaker closes, all follow.
    receiver.reply = () => ({ status: 204 });
    t.clock.now += BREAKER_PROBE_EVERY_MS;
    await t.services.jobs.runDue();
    const delivered = receiver.received
      .filter((r) => r.json.type === 'lead.created' && r.json.data.lead.email.startsWith('breaker'))
      .map((r) => r.json.data.lead.email);
    assert.equal(new Set(delivered).size, BREAKER_FAILURES + 1, 'every event arrived');
    assert.equal((await ok(t, 'GET', `/api/v1/webhooks/${id}`)).consecutiveFailures, 0);
    await ok(t, 'DELETE', `/api/v1/webhooks/${id}`);
  });

  it('prunes the delivery log 30 days after each attempt and messages 32 days after their event', async () => {
    const t = get();
    const { id } = await fresh(t, ['lead.created']);
    const start = t.clock.now;
    await createLead(t, 'prune-1@example.org');
    await t.services.jobs.runDue();
    const [first] = await deliveries(t, id);
    t.clock.now = start + 20 * DAY;
    await createLead(t, 'prune-2@example.org');
    await t.services.jobs.runDue();
    const [second] = await deliveries(t, id);

    t.clock.now = start + DELIVERY_LOG_RETENTION_MS + 1;
    assert.ok((await t.services.webhooks.prune([t.workspaceId])) >= 1);
    assert.deepEqual(
      (await deliveries(t, id)).map((d) => d.id),
      [second.id],
      'the first attempt left the log',
    );
    assertProblem(await api(t, 'POST', `/api/v1/webhooks/${id}/deliveries/${first.id}/replay`), 404);

    // The second message can be replayed until 32 days after its event, not after.
    t.clock.now = start + 20 * DAY + MESSAGE_RETENTION_MS - 1;
    const replay = await api(t, 'POST', `/api/v1/webhooks/${id}/deliveries/${second.id}/replay`);
    assert.equal(replay.statusCode, 202, replay.body);
    await t.services.jobs.runDue();
    const [replayed] = await deliveries(t, id);
    assert.equal(replayed.trigger, 'replay');
    t.clock.now += 2;
    await t.services.webhooks.prune([t.workspaceId]);
    assert.deepEqual(
      (await deliveries(t, id)).map((d) => d.id),
      [replayed.id],
      'the replay, attempted less than 30 days ago, stays in the log',
    );
    const gone = await api(t, 'POST', `/api/v1/webhooks/${id}/deliveries/${replayed.id}/replay`);
    assertProblem(gone, 404);
    assert.match(gone.json().detail, /no longer kept/);
    await ok(t, 'DELETE', `/api/v1/webhooks/${id}`);
  });

  it('rotates the secret: both sign for 24 hours, then only the new one', async () => {
    const t = get();
    const { id, secret: old } = await fresh(t, ['lead.created']);
    const rotated = await ok(t, 'POST', `/api/v1/webhooks/${id}/rotate-secret`);
    assert.notEqual(rotated.secret, old);
    assert.equal(rotated.previousSecretValidUntil, new Date(t.clock.now + DAY).toISOString());
    await createLead(t, 'rotate-1@example.org');
    await t.services.jobs.runDue();
    const during = receiver.received.at(-1)!;
    assert.equal(during.headers['webhook-signature']!.split(' ').length, 2);
    verify(rotated.secret, during);
    verify(old, during);

    t.clock.now += DAY;
    await createLead(t, 'rotate-2@example.org');
    await t.services.jobs.runDue();
    const later = receiver.received.at(-1)!;
    verify(rotated.secret, later);
    assert.throws(() => verify(old, later), /No matching signature/);
    await ok(t, 'DELETE', `/api/v1/webhooks/${id}`);
  });
});
