import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import SQLite from 'better-sqlite3';
import { tenant } from '../support/api.ts';
import { useApp } from '../support/engines.ts';

/**
 * SQLite takes one writer at a time across processes: a `leadline import` or another tool
 * holding the write lock makes a capture wait for it, beside everything else the server does;
 * after 5 s it fails with SQLITE_BUSY. That is "not now", not a bug: 503 with Retry-After,
 * nothing saved, and the same request succeeds once the lock is gone.
 */
describe('a database locked by another process [sqlite]', () => {
  const get = useApp('sqlite');

  it('answers 503 with Retry-After after waiting 5 s for the lock, and the retry succeeds', async () => {
    const t = get();
    const w = await tenant(t, 'locked');
    const other = new SQLite(t.services.database.sqliteFile!);
    const capture = () => w.call('POST', '/api/v1/leads', { email: 'locked-out@example.org' });
    try {
      other.exec('begin immediate');
      const started = Date.now();
      const refused = await capture();
      assert.equal(refused.statusCode, 503, refused.body);
      assert.ok(Date.now() - started >= 4_000, 'it waited for the lock first');
      assert.match(refused.headers['content-type'] as string, /application\/problem\+json/);
      assert.equal(refused.headers['retry-after'], '2');
      assert.equal(refused.json().code, 'DATABASE_UNAVAILABLE');
    } finally {
      other.exec('rollback');
      other.close();
    }
    assert.deepEqual((await w.ok('GET', '/api/v1/leads?q=locked-out')).data, [], 'nothing was saved');
    const retried = await capture();
    assert.equal(retried.statusCode, 201, retried.body);
  });

  it('waits for the lock without holding up the server: other requests and reads answer meanwhile, the write goes through once it is free', async () => {
    const t = get();
    const w = await tenant(t, 'waiting');
    const other = new SQLite(t.services.database.sqliteFile!);
    other.exec('begin immediate');
    let settled = false;
    let released = false;
    try {
      const capture = w.call('POST', '/api/v1/leads', { email: 'waited@example.org' }).finally(() => {
        settled = true;
      });
      // Time for the capture's transaction to meet the lock. SQLite's busy handler would then
      // sleep on this thread, and this timer (like any other request) would fire only after
      // the capture had given up, 5 s later, with a 503.
      await sleep(50);
      const health = await t.app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(health.statusCode, 200, health.body);
      // A read shares the connection: the capture waits between tries with it free.
      const listed = await w.call('GET', '/api/v1/leads');
      assert.equal(listed.statusCode, 200, listed.body);
      assert.equal(settled, false, 'the capture still waits for the lock');
      other.exec('rollback');
      released = true;
      const created = await capture;
      assert.equal(created.statusCode, 201, created.body);
    } finally {
      if (!released) other.exec('rollback');
      other.close();
    }
  });
});
