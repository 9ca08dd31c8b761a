import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { authHeaders, describeOnPostgres, pgUrl, useApp } from '../support/engines.ts';

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
    const before = await t.app.inject({
      method: 'POST',
      url: '/api/v1/leads',
      headers: authHeaders(t.key),
      payload: { email: 'before@example.org' },
    });
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

    const after = await t.app.inject({
      method: 'POST',
      url: '/api/v1/leads',
      headers: authHeaders(t.key),
      payload: { email: 'after@example.org' },
    });
    assert.equal(after.statusCode, 201, after.body);
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/leads', headers: authHeaders(t.key) });
    assert.equal(list.statusCode, 200, list.body);
    assert.deepEqual(
      list
        .json()
        .data.map((lead: { email: string }) => lead.email)
        .sort(),
      ['after@example.org', 'before@example.org'],
    );
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(
      t.services.database.db,
    );
    assert.ok(!pids.has(rows[0]!.pid), 'a new connection serves the queries');
  });

  it('answers 503 with Retry-After when the connection is lost mid-request, and nothing is saved', async () => {
    const t = get();
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(
      t.services.database.db,
    );
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    try {
      // The capture waits on this lock, on its own connection: that connection is then ended.
      await admin.query('begin');
      await admin.query(`lock table "${rows[0]!.schema}".leads in access exclusive mode`);
      const adminPid = (await admin.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      const capture = t.app.inject({
        method: 'POST',
        url: '/api/v1/leads',
        headers: authHeaders(t.key),
        payload: { email: 'midway@example.org' },
      });
      let waiting: number | undefined;
      for (let i = 0; i < 250 && waiting === undefined; i++) {
        const blocked = await admin.query<{ pid: number }>(
          'select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid))',
          [adminPid],
        );
        waiting = blocked.rows[0]?.pid;
        if (waiting === undefined) await sleep(20);
      }
      assert.ok(waiting, 'the capture waits on the lock');
      await admin.query('select pg_terminate_backend($1)', [waiting]);
      const refused = await capture;
      assert.equal(refused.statusCode, 503, refused.body);
      assert.match(refused.headers['content-type'] as string, /application\/problem\+json/);
      assert.equal(refused.headers['retry-after'], '2');
      assert.equal(refused.json().code, 'DATABASE_UNAVAILABLE');
      await admin.query('rollback');
    } finally {
      await admin.end();
    }

    const listed = await t.app.inject({
      method: 'GET',
      url: '/api/v1/leads?q=midway',
      headers: authHeaders(t.key),
    });
    assert.deepEqual(listed.json().data, [], 'the refused capture saved nothing');
    const retried = await t.app.inject({
      method: 'POST',
      url: '/api/v1/leads',
      headers: authHeaders(t.key),
      payload: { email: 'midway@example.org' },
    });
    assert.equal(retried.statusCode, 201, retried.body);
  });
});
