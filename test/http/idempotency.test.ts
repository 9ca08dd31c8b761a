import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { sql } from 'kysely';
import type { Services } from '../../src/app.ts';
import { isDomainError } from '../../src/errors.ts';
import { fingerprint, fingerprintAsSent, IDEMPOTENCY_WINDOW_MS } from '../../src/idempotency/service.ts';
import {
  authHeaders,
  describeEachEngine,
  describeOnPostgres,
  startTwoProcesses,
  type TestApp,
  useApp,
} from '../support/engines.ts';

function post(t: TestApp, url: string, payload: unknown, idempotencyKey?: string) {
  return t.app.inject({
    method: 'POST',
    url,
    headers: authHeaders(t.key, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
    payload: payload as object,
  });
}

async function timelineTypes(t: TestApp, leadId: string): Promise<string[]> {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/v1/leads/${leadId}/timeline?limit=500`,
    headers: authHeaders(t.key),
  });
  assert.equal(response.statusCode, 200, response.body);
  return response.json().data.map((e: { type: string }) => e.type);
}

async function leadsMatching(t: TestApp, q: string): Promise<Array<{ id: string }>> {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/v1/leads?q=${encodeURIComponent(q)}`,
    headers: authHeaders(t.key),
  });
  return response.json().data;
}

describeEachEngine('Idempotency-Key', (engine) => {
  const get = useApp(engine);

  it('replays the first response (status and body) to a retry, and writes once', async () => {
    const t = get();
    const body = { email: 'once@idem.io', firstName: 'Once' };
    const first = await post(t, '/api/v1/leads', body, 'create-once');
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    t.clock.now += 1000;
    const retry = await post(t, '/api/v1/leads', body, 'create-once');
    assert.equal(retry.statusCode, 201);
    assert.deepEqual(retry.json(), first.json());
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.deepEqual(await timelineTypes(t, first.json().id), ['lead_created']);

    // An update retried is not applied twice either (a second application would add an entry).
    const update = { email: 'once@idem.io', city: 'Ghent' };
    const updated = await post(t, '/api/v1/leads', update, 'update-once');
    assert.equal(updated.statusCode, 200, updated.body);
    t.clock.now += 1000;
    await post(t, '/api/v1/leads', { email: 'once@idem.io', city: 'Bruges' });
    const replayed = await post(t, '/api/v1/leads', update, 'update-once');
    assert.equal(replayed.statusCode, 200);
    assert.deepEqual(replayed.json(), updated.json());
    assert.deepEqual(await timelineTypes(t, first.json().id), [
      'lead_updated',
      'lead_updated',
      'lead_created',
    ]);
  });

  it('replays a retry whose JSON has the same members in another order or spacing', async () => {
    const t = get();
    const send = (json: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/leads',
        headers: authHeaders(t.key, { 'idempotency-key': 'key-order', 'content-type': 'application/json' }),
        payload: json,
      });
    const first = await send('{"email":"ko@example.org","firstName":"A","utm":{"source":"x","medium":"y"}}');
    assert.equal(first.statusCode, 201, first.body);
    for (const retry of [
      '{"firstName":"A","email":"ko@example.org","utm":{"source":"x","medium":"y"}}',
      '{ "utm": { "medium": "y", "source": "x" }, "firstName": "A", "email": "ko@example.org" }',
    ]) {
      const replayed = await send(retry);
      assert.equal(replayed.statusCode, 201, replayed.body);
      assert.equal(replayed.headers['idempotent-replayed'], 'true');
      assert.deepEqual(replayed.json(), first.json());
    }
    const changed = await send(
      '{"firstName":"A","email":"ko@example.org","utm":{"source":"y","medium":"x"}}',
    );
    assert.equal(changed.statusCode, 422, changed.body);
    assert.deepEqual(await timelineTypes(t, first.json().id), ['lead_created']);
  });

  it('replays a retry of a request whose key was stored before key order stopped counting', async () => {
    const t = get();
    const body = { email: 'upgrade@example.org', firstName: 'U' };
    const sent = (headers = {}) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/leads',
        headers: authHeaders(t.key, headers),
        payload: body,
      });
    const lead = (await sent()).json();
    // As the version before stored it: the fingerprint of the members in the order sent.
    await t.services.idempotency.run(
      t.workspaceId,
      'before-upgrade',
      fingerprintAsSent('POST', '/api/v1/leads', body),
      async () => ({ status: 201, body: lead }),
    );
    const retry = await sent({ 'idempotency-key': 'before-upgrade' });
    assert.equal(retry.statusCode, 201, retry.body);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.deepEqual(retry.json(), lead);
  });

  it('refuses the same key with another body (422), and changes nothing', async () => {
    const t = get();
    const first = await post(t, '/api/v1/leads', { email: 'first@idem.io' }, 'reused');
    assert.equal(first.statusCode, 201);
    const other = await post(t, '/api/v1/leads', { email: 'second@idem.io' }, 'reused');
    assert.equal(other.statusCode, 422, other.body);
    assert.match(String(other.headers['content-type']), /application\/problem\+json/);
    assert.equal(other.json().code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(other.json().errors[0].path, '/headers/idempotency-key');
    assert.deepEqual(await leadsMatching(t, 'second@idem.io'), []);
    // The same body on another route is another request too.
    const batch = await post(t, '/api/v1/leads/batch', { leads: [{ email: 'first@idem.io' }] }, 'reused');
    assert.equal(batch.statusCode, 422);
  });

  it('works for batches: a retry gets the same per-lead results and writes nothing', async () => {
    const t = get();
    const body = { leads: [{ email: 'b1@idem.io' }, { email: 'broken' }, { email: 'b2@idem.io' }] };
    const first = await post(t, '/api/v1/leads/batch', body, 'batch-once');
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual([first.json().created, first.json().rejected], [2, 1]);
    t.clock.now += 1000;
    const retry = await post(t, '/api/v1/leads/batch', body, 'batch-once');
    assert.equal(retry.statusCode, 200);
    assert.deepEqual(retry.json(), first.json());
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    for (const result of first.json().results.filter((r: { id?: string }) => r.id)) {
      assert.deepEqual(await timelineTypes(t, result.id), ['lead_created']);
    }
    const changed = await post(t, '/api/v1/leads/batch', { leads: [{ email: 'b3@idem.io' }] }, 'batch-once');
    assert.equal(changed.statusCode, 422);
    assert.deepEqual(await leadsMatching(t, 'b3@idem.io'), []);
  });

  it('writes exactly once when five identical requests with one key arrive together', async () => {
    const t = get();
    const body = { email: 'race@idem.io', company: 'Race Ltd' };
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => post(t, '/api/v1/leads', body, 'racing')),
    );
    for (const response of responses) {
      assert.equal(response.statusCode, 201, response.body);
      assert.deepEqual(response.json(), responses[0]!.json());
    }
    assert.equal(responses.filter((r) => r.headers['idempotent-replayed'] === 'true').length, 4);
    const leads = await leadsMatching(t, 'race@idem.io');
    assert.equal(leads.length, 1);
    assert.deepEqual(await timelineTypes(t, leads[0]!.id), ['lead_created']);

    const batchBody = { leads: [{ email: 'race-b@idem.io' }, { email: 'race-b@idem.io', city: 'Oslo' }] };
    const batches = await Promise.all(
      Array.from({ length: 5 }, () => post(t, '/api/v1/leads/batch', batchBody, 'racing-batch')),
    );
    for (const response of batches) assert.deepEqual(response.json(), batches[0]!.json());
    const raced = await leadsMatching(t, 'race-b@idem.io');
    assert.equal(raced.length, 1);
    assert.deepEqual(await timelineTypes(t, raced[0]!.id), ['lead_updated', 'lead_created']);
  });

  it('does not keep a key whose request failed validation, and forgets keys after 24 hours', async () => {
    const t = get();
    const bad = await post(t, '/api/v1/leads', { email: 'not-an-email' }, 'fix-and-retry');
    assert.equal(bad.statusCode, 422);
    const fixed = await post(t, '/api/v1/leads', { email: 'fixed@idem.io' }, 'fix-and-retry');
    assert.equal(fixed.statusCode, 201, fixed.body);

    const old = await post(t, '/api/v1/leads', { email: 'old@idem.io' }, 'old-key');
    assert.equal(old.statusCode, 201);
    t.clock.now += IDEMPOTENCY_WINDOW_MS + 1;
    const reused = await post(t, '/api/v1/leads', { email: 'new@idem.io' }, 'old-key');
    assert.equal(reused.statusCode, 201, reused.body);
    assert.notEqual(reused.json().id, old.json().id);
    // ...and the key now answers for its new request.
    const retry = await post(t, '/api/v1/leads', { email: 'new@idem.io' }, 'old-key');
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.deepEqual(retry.json(), reused.json());
  });

  it('prunes the keys past the window (each holds a whole response), keeping the live ones', async () => {
    const t = get();
    const keys = () =>
      t.services.database.db
        .selectFrom('idempotency_keys')
        .select(['key', 'created_at'])
        .where('workspace_id', '=', t.workspaceId)
        .execute();
    assert.equal((await post(t, '/api/v1/leads', { email: 'stale@idem.io' }, 'stale-key')).statusCode, 201);
    t.clock.now += IDEMPOTENCY_WINDOW_MS + 1;
    const live = await post(t, '/api/v1/leads', { email: 'live@idem.io' }, 'live-key');
    assert.equal(live.statusCode, 201, live.body);
    const stale = (await keys()).filter((k) => k.created_at < t.clock.now - IDEMPOTENCY_WINDOW_MS);
    assert.ok(stale.some((k) => k.key === 'stale-key'));

    assert.equal(await t.services.idempotency.prune([t.workspaceId]), stale.length);
    const left = await keys();
    assert.ok(left.every((k) => k.created_at >= t.clock.now - IDEMPOTENCY_WINDOW_MS));
    assert.ok(left.some((k) => k.key === 'live-key'));
    const retry = await post(t, '/api/v1/leads', { email: 'live@idem.io' }, 'live-key');
    assert.equal(retry.headers['idempotent-replayed'], 'true');
  });

  it('refuses a key another transaction claimed meanwhile, and rolls the work back', async () => {
    // What another API process does between this request's look-up and its save; in one process
    // group commit serialises them, so the race is staged inside the unit of work.
    const t = get();
    const workspace = await t.services.workspaces.resolveWorkspace('default');
    const attempt = t.services.idempotency.run(workspace.id, 'claimed', 'fingerprint-1', async (trx) => {
      const { lead } = await t.services.leads.captureIn(trx, workspace, { email: 'ghost@idem.io' }, 'api');
      await trx
        .insertInto('idempotency_keys')
        .values({
          workspace_id: workspace.id,
          key: 'claimed',
          fingerprint: 'fingerprint-2',
          status_code: 201,
          response: '{}',
          created_at: t.clock.now,
        })
        .execute();
      return { status: 201, body: lead };
    });
    await assert.rejects(
      attempt,
      (error) =>
        isDomainError(error) &&
        error.code === 'IDEMPOTENCY_KEY_IN_FLIGHT' &&
        // Answered 409 naming the header, with Retry-After: 1 (the other request is about done).
        error.errors[0]?.path === '/headers/idempotency-key' &&
        error.retryAfterSeconds === 1,
    );
    assert.deepEqual(await leadsMatching(t, 'ghost@idem.io'), []);
  });

  it('refuses an empty or overlong key with 400', async () => {
    const t = get();
    for (const key of ['', 'k'.repeat(256)]) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/leads',
        headers: authHeaders(t.key, { 'idempotency-key': key }),
        payload: { email: 'k@idem.io' },
      });
      assert.equal(response.statusCode, 400, response.body);
      assert.equal(response.json().errors[0].path, '/headers/idempotency-key');
    }
    assert.deepEqual(await leadsMatching(t, 'k@idem.io'), []);
  });
});

describeOnPostgres('an Idempotency-Key sent to two processes at once', () => {
  let first: Services;
  let second: Services;
  let close: () => Promise<void>;

  before(async () => {
    ({ first, second, close } = await startTwoProcesses('postgres'));
    await first.workspaces.bootstrap();
  });

  after(async () => {
    await close?.();
  });

  it("gets the first one's answer in the other, not the error its work meets afterwards", async () => {
    const workspace = await first.workspaces.resolveWorkspace('default');
    const lead = (
      await first.database.writes.run((trx) =>
        first.leads.captureIn(trx, workspace, { email: 'twice@idem.example.org', stage: 'mql' }, 'api'),
      )
    ).lead;
    const print = fingerprint('POST', `/api/v1/leads/${lead.id}/accept`, {});
    const accept = (services: Services) =>
      services.idempotency.run(workspace.id, 'accept-once', print, async (trx) => ({
        status: 200,
        body: {
          stage: (await services.lifecycle.acceptIn(trx, workspace, lead.id, null, 'key:test')).lead.stage,
        },
      }));
    // The first process accepts and holds its transaction open (a unit behind it in the same
    // group waits on `gate`); the second then asks with the same key: it finds no key yet, and
    // its accept waits for the lead, which is an SQL by the time it gets it.
    const gate = deferred();
    const accepted = deferred();
    const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
    // A unit holding the first process's writer, so that the accept and the unit behind it
    // queue up and then run as one group (see group-commit.test.ts).
    const opening = deferred();
    const holder = first.database.writes.run(() => opening.promise);
    await settle();
    const firstAnswer = accept(first);
    const held = first.database.writes.run(async () => {
      accepted.open();
      await gate.promise;
    });
    await settle();
    opening.open();
    await holder;
    await accepted.promise;
    const secondAnswer = accept(second);
    try {
      await waitForLockWait(second);
    } finally {
      gate.open(); // a failure above must not leave the first process's writer held
    }
    await held;
    assert.deepEqual(await firstAnswer, { status: 200, body: { stage: 'sql' }, replayed: false });
    assert.deepEqual(await secondAnswer, { status: 200, body: { stage: 'sql' }, replayed: true });
    const stages = await first.lifecycle.stages(workspace.id, lead.id);
    assert.equal(stages.changes.filter((c) => c.to === 'sql').length, 1, 'accepted once');
  });
});

function deferred() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Resolves once a statement of `services` waits for a row lock (PostgreSQL). */
async function waitForLockWait(services: Services): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const { rows } = await sql<{ n: string }>`
      select count(*) as n from pg_stat_activity
      where application_name = 'leadline' and wait_event_type = 'Lock'`.execute(services.database.db);
    if (Number(rows[0]!.n) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no statement waited for a lock');
}
