import assert from 'node:assert/strict';
import { it } from 'node:test';
import pino from 'pino';
import { PermanentJobFailure } from '../../src/jobs/model.ts';
import { LEASE_MS } from '../../src/jobs/service.ts';
import * as store from '../../src/jobs/store.ts';
import { JobWorker } from '../../src/jobs/worker.ts';
import { authHeaders, describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

async function api(t: TestApp, method: 'GET' | 'POST', url: string, key = t.key) {
  return t.app.inject({ method, url, headers: authHeaders(key) });
}

describeEachEngine('jobs', (engine) => {
  const get = useApp(engine);

  it('runs a queued job once and shows it done through the API', async () => {
    const t = get();
    const [id] = await t.services.jobs.enqueue(t.workspaceId, { kind: 'noop', payload: { n: 1 } });
    const queued = await api(t, 'GET', `/api/v1/jobs/${id}`);
    assert.equal(queued.statusCode, 200, queued.body);
    assert.equal(queued.json().state, 'queued');
    assert.deepEqual(queued.json().payload, { n: 1 });
    assert.equal(await t.services.jobs.runDue(), 1);
    const done = (await api(t, 'GET', `/api/v1/jobs/${id}`)).json();
    assert.equal(done.state, 'done');
    assert.equal(done.attempts, 1);
    assert.equal(done.finishedAt, new Date(t.clock.now).toISOString());
    assert.equal(await t.services.jobs.runDue(), 0, 'a done job is not run again');
  });

  it('adds one job for one idempotency key, however often it is enqueued', async () => {
    const t = get();
    const first = await t.services.jobs.enqueue(t.workspaceId, { kind: 'noop', payload: {}, key: 'once:1' });
    const again = await t.services.jobs.enqueue(t.workspaceId, [
      { kind: 'noop', payload: {}, key: 'once:1' },
      { kind: 'noop', payload: {}, key: 'once:2' },
    ]);
    assert.equal(first.length, 1);
    assert.equal(again.length, 1, 'only the new key is added');
    const listed = (await api(t, 'GET', '/api/v1/jobs?kind=noop&state=queued&limit=500')).json();
    assert.equal(listed.data.filter((j: { key: string }) => j.key === 'once:1').length, 1);
    await t.services.jobs.runDue();
  });

  it('does not run a job before its time', async () => {
    const t = get();
    const [id] = await t.services.jobs.enqueue(t.workspaceId, {
      kind: 'noop',
      payload: {},
      runAt: t.clock.now + 60_000,
    });
    assert.equal(await t.services.jobs.runDue(), 0);
    t.clock.now += 60_000;
    assert.equal(await t.services.jobs.runDue(), 1);
    assert.equal((await t.services.jobs.get(t.workspaceId, id!)).state, 'done');
  });

  it('retries a failing job with backoff, then keeps it as a dead letter that the API can retry', async () => {
    const t = get();
    let healthy = false;
    const runs: number[] = [];
    t.services.jobs.define<{ target: string }>({
      kind: 'test.flaky',
      maxAttempts: 3,
      retryDelayMs: (attempt) => attempt * 10_000,
      run: async (job) => {
        runs.push(job.attempt);
        if (!healthy) throw new Error(`target ${job.payload.target} is down`);
      },
    });
    const [id] = await t.services.jobs.enqueue(t.workspaceId, {
      kind: 'test.flaky',
      payload: { target: 'crm' },
    });
    await t.services.jobs.runDue();
    let job = (await api(t, 'GET', `/api/v1/jobs/${id}`)).json();
    assert.equal(job.state, 'queued');
    assert.equal(job.lastError, 'Error: target crm is down');
    assert.equal(job.runAt, new Date(t.clock.now + 10_000).toISOString(), 'first retry after 10 s');
    assert.equal(await t.services.jobs.runDue(), 0, 'not before its backoff');
    t.clock.now += 10_000;
    await t.services.jobs.runDue();
    t.clock.now += 20_000;
    await t.services.jobs.runDue();
    job = (await api(t, 'GET', `/api/v1/jobs/${id}`)).json();
    assert.equal(job.state, 'dead');
    assert.equal(job.attempts, 3);
    assert.deepEqual(runs, [1, 2, 3]);

    const dead = (await api(t, 'GET', '/api/v1/jobs?state=dead')).json();
    assert.ok(dead.data.some((j: { id: string }) => j.id === id));
    assert.ok(dead.counts.dead >= 1);

    healthy = true;
    const retried = await api(t, 'POST', `/api/v1/jobs/${id}/retry`);
    assert.equal(retried.statusCode, 200, retried.body);
    assert.equal(retried.json().state, 'queued');
    assert.equal(retried.json().attempts, 0);
    await t.services.jobs.runDue();
    assert.equal((await api(t, 'GET', `/api/v1/jobs/${id}`)).json().state, 'done');
  });

  it('sends a job that cannot succeed straight to the dead letters', async () => {
    const t = get();
    t.services.jobs.define({
      kind: 'test.permanent',
      run: async () => {
        throw new PermanentJobFailure('the lead was erased');
      },
    });
    const [id] = await t.services.jobs.enqueue(t.workspaceId, { kind: 'test.permanent', payload: {} });
    await t.services.jobs.runDue();
    const job = await t.services.jobs.get(t.workspaceId, id!);
    assert.equal(job.state, 'dead');
    assert.equal(job.attempts, 1);
    assert.equal(job.lastError, 'PermanentJobFailure: the lead was erased');
  });

  it('sends a job whose payload its kind refuses straight to the dead letters', async () => {
    const t = get();
    t.services.jobs.define<{ to: string }>({
      kind: 'test.checked',
      check: (p) => (typeof (p as { to?: unknown }).to === 'string' ? undefined : 'to is missing'),
      run: async () => {},
    });
    const [id] = await t.services.jobs.enqueue(t.workspaceId, { kind: 'test.checked', payload: {} });
    await t.services.jobs.runDue();
    const job = await t.services.jobs.get(t.workspaceId, id!);
    assert.equal(job.state, 'dead');
    assert.equal(job.lastError, 'PermanentJobFailure: invalid payload: to is missing');
  });

  it('fails a job of a kind this process does not know, keeping it for a process that does', async () => {
    const t = get();
    const [id] = await t.services.jobs.enqueue(t.workspaceId, { kind: 'test.unknown', payload: {} });
    await t.services.jobs.runDue();
    const job = await t.services.jobs.get(t.workspaceId, id!);
    assert.equal(job.state, 'queued');
    assert.match(job.lastError ?? '', /no handler for job kind "test.unknown"/);
  });

  it('takes back the job of a worker that died once its lease runs out', async () => {
    const t = get();
    const [id] = await t.services.jobs.enqueue(t.workspaceId, { kind: 'noop', payload: {} });
    const claimed = await t.services.jobs.claim('worker-that-dies', 10);
    assert.ok(claimed.some((j) => j.id === id));
    assert.equal(await t.services.jobs.runDue(), 0, 'held by its lease');
    t.clock.now += LEASE_MS;
    assert.ok((await t.services.jobs.runDue()) >= 1);
    const job = await t.services.jobs.get(t.workspaceId, id!);
    assert.equal(job.state, 'done');
    assert.equal(job.attempts, 2);
  });

  it('claims no more than asked, and a stale run cannot finish the newer run of its job', async () => {
    const t = get();
    const { db, engine } = t.services.database;
    await t.services.jobs.runDue();
    const ids = await t.services.jobs.enqueue(
      t.workspaceId,
      Array.from({ length: 10 }, (_, i) => ({ kind: 'noop', payload: { i } })),
    );
    const now = t.clock.now;
    const first = await store.claimDue(db, engine, 'w1', 3, now, now + LEASE_MS);
    assert.equal(first.length, 3);
    assert.deepEqual(
      first.map((j) => j.id),
      ids.slice(0, 3),
      'oldest due first',
    );
    // The same worker takes its own job again after the lease ran out: attempt 2.
    const later = now + LEASE_MS;
    const again = await store.claimDue(db, engine, 'w1', 10, later, later + LEASE_MS);
    const rerun = again.find((j) => j.id === first[0]!.id)!;
    assert.equal(rerun.attempts, 2);
    await store.completeJobs(db, 'w1', [first[0]!], later);
    assert.equal(
      (await t.services.jobs.get(t.workspaceId, first[0]!.id)).state,
      'running',
      'attempt 1 is stale',
    );
    await store.completeJobs(db, 'w1', [rerun], later);
    assert.equal((await t.services.jobs.get(t.workspaceId, first[0]!.id)).state, 'done');
    t.clock.now = later + LEASE_MS;
    await t.services.jobs.runDue();
  });

  it('prunes done jobs after a day and dead letters after 30 days, in its own workspace only', async () => {
    const t = get();
    t.services.jobs.define({
      kind: 'test.doomed',
      run: async () => {
        throw new PermanentJobFailure('never');
      },
    });
    const [done] = await t.services.jobs.enqueue(t.workspaceId, { kind: 'noop', payload: {} });
    const [dead] = await t.services.jobs.enqueue(t.workspaceId, { kind: 'test.doomed', payload: {} });
    const [waiting] = await t.services.jobs.enqueue(t.workspaceId, {
      kind: 'noop',
      payload: {},
      runAt: t.clock.now + 60 * 86_400_000,
    });
    await t.services.jobs.runDue();
    t.clock.now += 2 * 86_400_000;
    await t.services.jobs.prune([t.workspaceId]);
    await assert.rejects(t.services.jobs.get(t.workspaceId, done!), /not found/);
    assert.equal((await t.services.jobs.get(t.workspaceId, dead!)).state, 'dead', 'dead letters stay longer');
    t.clock.now += 30 * 86_400_000;
    await t.services.jobs.prune([t.workspaceId]);
    await assert.rejects(t.services.jobs.get(t.workspaceId, dead!), /not found/);
    assert.equal(
      (await t.services.jobs.get(t.workspaceId, waiting!)).state,
      'queued',
      'queued jobs are never pruned',
    );
  });

  it('refuses to retry a job that is not dead or done, and reports bad filters by field', async () => {
    const t = get();
    const [id] = await t.services.jobs.enqueue(t.workspaceId, {
      kind: 'noop',
      payload: {},
      runAt: t.clock.now + 3_600_000,
    });
    const conflict = await api(t, 'POST', `/api/v1/jobs/${id}/retry`);
    assert.equal(conflict.statusCode, 409, conflict.body);
    assert.match(String(conflict.headers['content-type']), /application\/problem\+json/);
    assert.equal((await api(t, 'POST', '/api/v1/jobs/no-such-job/retry')).statusCode, 404);
    const bad = await api(t, 'GET', '/api/v1/jobs?state=stuck');
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal(bad.json().errors[0].path, '/query/state');
  });

  it('is for admin keys only', async () => {
    const t = get();
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers: authHeaders(t.key),
      payload: { name: 'reader', scope: 'write' },
    });
    const response = await api(t, 'GET', '/api/v1/jobs', created.json().key);
    assert.equal(response.statusCode, 403, response.body);
  });

  it('pages through jobs newest first', async () => {
    const t = get();
    await t.services.jobs.enqueue(
      t.workspaceId,
      Array.from({ length: 5 }, (_, i) => ({ kind: 'test.page', payload: { i } })),
    );
    const first = (await api(t, 'GET', '/api/v1/jobs?kind=test.page&limit=3')).json();
    assert.deepEqual(
      first.data.map((j: { payload: { i: number } }) => j.payload.i),
      [4, 3, 2],
    );
    const second = (
      await api(t, 'GET', `/api/v1/jobs?kind=test.page&limit=3&cursor=${first.nextCursor}`)
    ).json();
    assert.deepEqual(
      second.data.map((j: { payload: { i: number } }) => j.payload.i),
      [1, 0],
    );
    assert.equal(second.nextCursor, null);
    const garbage = await api(t, 'GET', '/api/v1/jobs?cursor=abc');
    assert.equal(garbage.statusCode, 422, garbage.body);
    assert.equal(garbage.json().errors[0].path, '/query/cursor');
  });

  it('a worker runs a committed job at once, and lets a running job finish when it stops', async () => {
    const t = get();
    let release: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      t.services.jobs.define({
        kind: 'test.slow',
        run: () =>
          new Promise<void>((done) => {
            resolve();
            release = done;
          }),
      });
    });
    // A poll far longer than the test: only the wake-up on commit can start the job in time.
    const worker = new JobWorker(t.services.jobs, pino({ level: 'silent' }), { pollMs: 600_000 });
    await worker.start();
    const [id] = await t.services.jobs.enqueue(t.workspaceId, { kind: 'test.slow', payload: {} });
    await started;
    const stopped = worker.stop();
    assert.equal((await t.services.jobs.get(t.workspaceId, id!)).state, 'running');
    release();
    await stopped;
    assert.equal((await t.services.jobs.get(t.workspaceId, id!)).state, 'done');
  });
});
