import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { authHeaders, describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function api(t: TestApp, method: Method, url: string, payload?: unknown) {
  return t.app.inject({
    method,
    url,
    headers: authHeaders(t.key),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

// biome-ignore lint/suspicious/noExplicitAny: API answers are read field by field in the tests.
async function ok(t: TestApp, method: Method, url: string, payload?: unknown): Promise<any> {
  const response = await api(t, method, url, payload);
  assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
  return response.json();
}

async function problem(t: TestApp, method: Method, url: string, payload: unknown, status: number) {
  const response = await api(t, method, url, payload);
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /application\/problem\+json/);
  return response.json();
}

describeEachEngine('tasks', (engine) => {
  const get = useApp(engine);
  /** A webhook receiver on 127.0.0.1: the `task.due` signal is observed where it leaves Leadline. */
  const received: Array<{ type: string; data: Record<string, unknown> }> = [];
  let server: http.Server;
  let url = '';
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  let ada: string;
  let grace: string;
  let leadId: string;

  it('creates a task for a rep on a lead, titled after the lead, on the lead’s timeline', async () => {
    const t = get();
    ada = (await ok(t, 'POST', '/api/v1/users', { name: 'Ada Rep', email: 'ada@sales.example' })).id;
    grace = (await ok(t, 'POST', '/api/v1/users', { name: 'Grace Rep', email: 'grace@sales.example' })).id;
    leadId = (
      await ok(t, 'POST', '/api/v1/leads', { email: 'kim@buyer.example', firstName: 'Kim', lastName: 'Lee' })
    ).id;
    await ok(t, 'PATCH', '/api/v1/workspace', { settings: { allowPrivateWebhookTargets: true } });
    await ok(t, 'POST', '/api/v1/webhooks', { url, events: ['task.due'] });

    const due = new Date(t.clock.now + 3_600_000).toISOString();
    const created = await api(t, 'POST', '/api/v1/tasks', { ownerId: ada, type: 'call', dueAt: due, leadId });
    assert.equal(created.statusCode, 201, created.body);
    const task = created.json();
    assert.equal(task.title, 'Call Kim Lee');
    assert.equal(task.status, 'open');
    assert.equal(task.dueAt, due);
    assert.equal(task.overdue, false);
    assert.equal(task.source, 'api');
    const timeline = await ok(t, 'GET', `/api/v1/leads/${leadId}/timeline`);
    const entry = timeline.data.find((e: { type: string }) => e.type === 'task_created');
    assert.equal(entry.properties.taskId, task.id);
  });

  it('refuses a task for someone who is not a user, a lead of nobody, or a time without a zone', async () => {
    const t = get();
    const dueAt = t.clock.now + 60_000;
    const noOwner = await problem(
      t,
      'POST',
      '/api/v1/tasks',
      { ownerId: 'nobody', type: 'call', dueAt },
      422,
    );
    assert.equal(noOwner.errors[0].path, '/ownerId');
    const noLead = await problem(
      t,
      'POST',
      '/api/v1/tasks',
      { ownerId: ada, type: 'email', dueAt, leadId: 'no-such-lead' },
      422,
    );
    assert.equal(noLead.errors[0].path, '/leadId');
    const badTime = await problem(
      t,
      'POST',
      '/api/v1/tasks',
      { ownerId: ada, type: 'meeting', dueAt: '2026-01-01T10:00' },
      422,
    );
    assert.equal(badTime.errors[0].path, '/dueAt');
    await problem(t, 'POST', '/api/v1/tasks', { ownerId: ada, type: 'fax', dueAt }, 400);
  });

  it('lists a rep’s open tasks soonest first and marks the overdue ones', async () => {
    const t = get();
    await ok(t, 'POST', '/api/v1/tasks', {
      ownerId: ada,
      type: 'linkedin_message',
      dueAt: t.clock.now + 600_000,
      title: 'Connect on LinkedIn',
    });
    const open = await ok(t, 'GET', `/api/v1/tasks?ownerId=${ada}&status=open`);
    assert.deepEqual(
      open.data.map((x: { title: string }) => x.title),
      ['Connect on LinkedIn', 'Call Kim Lee'],
    );
    t.clock.now += 1_800_000;
    const overdue = await ok(t, 'GET', `/api/v1/tasks?ownerId=${ada}&dueBefore=${t.clock.now}`);
    assert.equal(overdue.data.length, 1);
    assert.equal(overdue.data[0].overdue, true);
    assert.equal((await ok(t, 'GET', `/api/v1/tasks?ownerId=${grace}`)).data.length, 0);
  });

  it('snoozes, reassigns and completes a task; a done task does not change again', async () => {
    const t = get();
    const [task] = (await ok(t, 'GET', `/api/v1/tasks?leadId=${leadId}`)).data;
    const snoozed = await ok(t, 'POST', `/api/v1/tasks/${task.id}/snooze`, { minutes: 90 });
    assert.equal(snoozed.dueAt, new Date(t.clock.now + 90 * 60_000).toISOString());
    assert.equal(snoozed.snoozes, 1);
    const moved = await ok(t, 'POST', `/api/v1/tasks/${task.id}/reassign`, { ownerId: grace });
    assert.equal(moved.ownerId, grace);
    const unknown = await problem(t, 'POST', `/api/v1/tasks/${task.id}/reassign`, { ownerId: 'ghost' }, 422);
    assert.equal(unknown.errors[0].path, '/ownerId');
    const done = await ok(t, 'POST', `/api/v1/tasks/${task.id}/complete`, { outcome: 'booked a demo' });
    assert.equal(done.status, 'done');
    assert.equal(done.outcome, 'booked a demo');
    await problem(t, 'POST', `/api/v1/tasks/${task.id}/complete`, {}, 409);
    await problem(t, 'POST', `/api/v1/tasks/${task.id}/snooze`, { minutes: 5 }, 409);
    const timeline = await ok(t, 'GET', `/api/v1/leads/${leadId}/timeline`);
    assert.ok(timeline.data.some((e: { type: string }) => e.type === 'task_completed'));
    assert.equal((await api(t, 'GET', '/api/v1/tasks/nope')).statusCode, 404);
  });

  it('sends task.due when an open task comes due, once, and not for a snoozed-away time', async () => {
    const t = get();
    received.length = 0;
    const task = await ok(t, 'POST', '/api/v1/tasks', {
      ownerId: grace,
      type: 'email',
      dueAt: t.clock.now + 60_000,
      leadId,
    });
    await ok(t, 'POST', `/api/v1/tasks/${task.id}/snooze`, { until: t.clock.now + 120_000 });
    t.clock.now += 60_000;
    await t.services.jobs.runDue();
    const mine = () => received.filter((r) => r.type === 'task.due' && r.data.taskId === task.id);
    assert.equal(mine().length, 0, 'the first due time was snoozed away');
    t.clock.now += 60_000;
    await t.services.jobs.runDue();
    const due = mine();
    assert.equal(due.length, 1);
    assert.equal(due[0]!.data.taskId, task.id);
    assert.equal(due[0]!.data.ownerId, grace);
    t.clock.now += 3_600_000;
    await t.services.jobs.runDue();
    assert.equal(mine().length, 1);
  });

  it('reminds nobody of an archived lead; a merge moves the tasks to the survivor, which is reminded', async () => {
    const t = get();
    received.length = 0;
    const lead = async (email: string) => (await ok(t, 'POST', '/api/v1/leads', { email })).id as string;
    const [archived, mergedAway, survivor] = [
      await lead('gone@buyer.example'),
      await lead('old-address@buyer.example'),
      await lead('new-address@buyer.example'),
    ];
    const task = async (leadId: string) =>
      (
        await ok(t, 'POST', '/api/v1/tasks', {
          ownerId: ada,
          type: 'call',
          dueAt: t.clock.now + 60_000,
          leadId,
        })
      ).id as string;
    const ofArchived = await task(archived);
    const ofMerged = await task(mergedAway);
    await ok(t, 'POST', `/api/v1/leads/${archived}/archive`);
    await ok(t, 'POST', `/api/v1/leads/${survivor}/merge`, { otherId: mergedAway });

    const listed = await ok(t, 'GET', `/api/v1/tasks?leadId=${survivor}`);
    assert.deepEqual(
      listed.data.map((x: { id: string }) => x.id),
      [ofMerged],
    );
    assert.equal((await ok(t, 'GET', `/api/v1/tasks?leadId=${mergedAway}`)).data.length, 0);

    t.clock.now += 60_000;
    await t.services.jobs.runDue();
    const due = received.filter((r) => r.type === 'task.due');
    assert.deepEqual(
      due.map((r) => [r.data.taskId, r.data.leadId]),
      [[ofMerged, survivor]],
    );
    assert.equal((await ok(t, 'GET', `/api/v1/tasks/${ofArchived}`)).status, 'open');
  });

  it('edits and cancels an open task', async () => {
    const t = get();
    const task = await ok(t, 'POST', '/api/v1/tasks', {
      ownerId: ada,
      type: 'other',
      dueAt: t.clock.now + 5_000,
    });
    const edited = await ok(t, 'PATCH', `/api/v1/tasks/${task.id}`, {
      title: 'Send the proposal',
      type: 'email',
    });
    assert.equal(edited.title, 'Send the proposal');
    assert.equal(edited.type, 'email');
    await problem(t, 'PATCH', `/api/v1/tasks/${task.id}`, {}, 400);
    const cancelled = await ok(t, 'POST', `/api/v1/tasks/${task.id}/cancel`);
    assert.equal(cancelled.status, 'cancelled');
  });

  it('refuses a cursor of another list (422 at /query/cursor) and pages with its own', async () => {
    const t = get();
    await ok(t, 'POST', '/api/v1/tasks', {
      ownerId: grace,
      type: 'email',
      dueAt: t.clock.now + 60_000,
      leadId,
    });
    const tasks = await ok(t, 'GET', '/api/v1/tasks?limit=1');
    assert.equal(typeof tasks.nextCursor, 'string');
    assert.equal((await ok(t, 'GET', `/api/v1/tasks?limit=1&cursor=${tasks.nextCursor}`)).data.length, 1);
    await ok(t, 'POST', '/api/v1/leads', { email: 'second@buyer.example' });
    const leads = await ok(t, 'GET', '/api/v1/leads?limit=1');
    for (const url of [
      `/api/v1/tasks?cursor=${leads.nextCursor}`,
      `/api/v1/leads?cursor=${tasks.nextCursor}`,
    ]) {
      const body = await problem(t, 'GET', url, undefined, 422);
      assert.equal(body.errors[0].path, '/query/cursor', url);
      assert.match(body.errors[0].message, /another list/, url);
    }
  });
});
