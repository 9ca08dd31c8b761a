import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { type Json, tenant } from '../support/api.ts';
import { backendsBlockedBy, describeOnPostgres, pgUrl, type TestApp, useApp } from '../support/engines.ts';

/**
 * PostgreSQL may end a pooled connection while it sits idle: a server restart, a failover, an
 * administrator. node-postgres reports that as an `error` event on the pool, which ends the
 * process when nothing listens: the server must log it and go on with fresh connections.
 */

async function terminate(pid: number): Promise<void> {
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  try {
    await admin.query('select pg_terminate_backend($1)', [pid]);
    // Gone from the server's view: its FATAL message is then on its way to the pool.
    for (let i = 0; i < 100; i++) {
      const { rowCount } = await admin.query('select 1 from pg_stat_activity where pid = $1', [pid]);
      if (rowCount === 0) return;
      await sleep(20);
    }
    throw new Error(`backend ${pid} did not end`);
  } finally {
    await admin.end();
  }
}

describeOnPostgres('lost PostgreSQL connections', () => {
  const get = useApp('postgres');

  it('keeps serving after PostgreSQL ends an idle pooled connection', async () => {
    const t = get();
    const w = await tenant(t, 'idle');
    const before = await w.call('POST', '/api/v1/leads', { email: 'before@example.org' });
    assert.equal(before.statusCode, 201, before.body);
    const pids = new Set<number>();
    // Every connection the pool holds now (it keeps them idle after use), one query each.
    const held = await Promise.all(
      Array.from({ length: 4 }, () =>
        sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.05)`.execute(t.services.database.db),
      ),
    );
    for (const result of held) pids.add(result.rows[0]!.pid);
    for (const pid of pids) await terminate(pid);
    // The pool hears of each end on its idle socket; give it a moment to do so.
    await sleep(100);

    const after = await w.call('POST', '/api/v1/leads', { email: 'after@example.org' });
    assert.equal(after.statusCode, 201, after.body);
    const list = await w.call('GET', '/api/v1/leads');
    assert.equal(list.statusCode, 200, list.body);
    assert.deepEqual(
      list
        .json()
        .data.map((lead: Json) => lead.email)
        .sort(),
      ['after@example.org', 'before@example.org'],
    );
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(
      t.services.database.db,
    );
    assert.ok(!pids.has(rows[0]!.pid), 'a new connection serves the queries');
  });

  /**
   * Sends `request` while another session holds `leads` locked, ends the connection the
   * request waits on, then lets go: what a restart or failover does to a request in flight.
   */
  async function lostMidway<R>(t: TestApp, request: () => Promise<R>): Promise<R> {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(
      t.services.database.db,
    );
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    try {
      await admin.query('begin');
      await admin.query(`lock table "${rows[0]!.schema}".leads in access exclusive mode`);
      const adminPid = (await admin.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      const answer = request();
      let waiting: number | undefined;
      // Leadline's own connection: autovacuum, say, may wait on that lock too. Up to a minute,
      // however busy the machine.
      for (let i = 0; i < 3000 && waiting === undefined; i++) {
        waiting = (await backendsBlockedBy(admin, adminPid, { leadlineOnly: true }))[0];
        if (waiting === undefined) await sleep(20);
      }
      assert.ok(waiting, 'the request waits on the lock');
      await admin.query('select pg_terminate_backend($1)', [waiting]);
      const response = await answer;
      await admin.query('rollback');
      return response;
    } finally {
      await admin.end();
    }
  }

  it('answers 503 with Retry-After when the connection is lost mid-request, and nothing is saved', async () => {
    const t = get();
    const w = await tenant(t, 'midway');
    const capture = () => w.call('POST', '/api/v1/leads', { email: 'midway@example.org' });
    const refused = await lostMidway(t, capture);
    assert.equal(refused.statusCode, 503, refused.body);
    assert.match(refused.headers['content-type'] as string, /application\/problem\+json/);
    assert.equal(refused.headers['retry-after'], '2');
    assert.equal(refused.json().code, 'DATABASE_UNAVAILABLE');

    assert.deepEqual(
      (await w.ok('GET', '/api/v1/leads?q=midway')).data,
      [],
      'the refused capture saved nothing',
    );
    const retried = await capture();
    assert.equal(retried.statusCode, 201, retried.body);
  });

  it('gives a hosted form the page again with the answers typed, and embedded forms a 503 problem', async () => {
    const t = get();
    const w = await tenant(t, 'lost');
    const form = await w.ok('POST', '/api/v1/forms', {
      name: 'Request a demo',
      slug: `lost-${process.pid}`,
      fields: [
        { name: 'email', type: 'email', label: 'Work email', required: true, maps: 'email' },
        { name: 'first_name', type: 'text', label: 'First name', maps: 'firstName' },
      ],
    });
    const token = (await t.app.inject({ method: 'GET', url: `/f/${form.slug}/definition` })).json().token;
    t.clock.now += 5_000;
    const values = { email: 'grace@example.org', first_name: 'Grace', _ll_ts: token };
    const hosted = () =>
      t.app.inject({
        method: 'POST',
        url: `/f/${form.slug}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        payload: new URLSearchParams(values).toString(),
      });

    const page = await lostMidway(t, hosted);
    assert.equal(page.statusCode, 503, page.body);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.equal(page.headers['retry-after'], '2');
    assert.match(page.body, /could not be saved just now/);
    assert.match(page.body, /value="grace@example\.org"/, 'what was typed is still in the form');
    assert.match(page.body, /value="Grace"/);

    const embedded = await lostMidway(t, () =>
      t.app.inject({
        method: 'POST',
        url: `/f/${form.slug}`,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        payload: values,
      }),
    );
    assert.equal(embedded.statusCode, 503, embedded.body);
    assert.equal(embedded.json().code, 'DATABASE_UNAVAILABLE');
    // embed.js shows the detail to the visitor as it is.
    assert.match(embedded.json().detail, /Nothing was saved.*try again in a few seconds/);

    assert.deepEqual((await w.ok('GET', '/api/v1/leads')).data, [], 'nothing was stored');
    const sent = await hosted();
    assert.ok(sent.statusCode < 400, `${sent.statusCode} ${sent.body.slice(0, 300)}`);
    const leads = (await w.ok('GET', '/api/v1/leads')).data;
    assert.deepEqual(
      leads.map((lead: Json) => lead.email),
      ['grace@example.org'],
    );
  });
});
