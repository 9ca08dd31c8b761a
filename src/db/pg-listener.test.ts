import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { describeOnPostgres, freshDatabase } from '../../test/support/engines.ts';
import { PostgresListener } from './pg-listener.ts';

/** One LISTEN connection for every channel of a process, on a real PostgreSQL. */
describeOnPostgres('PostgresListener', () => {
  let url = '';
  let drop: () => Promise<void>;
  let admin: pg.Client;
  /** Unique per run: what the listener's connection is called in pg_stat_activity. */
  const name = `listener-test-${process.pid}-${Date.now()}`;

  before(async () => {
    const fresh = await freshDatabase('postgres');
    drop = fresh.drop;
    url = fresh.options.databaseUrl!;
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });

  after(async () => {
    await admin?.end();
    await drop?.();
  });

  const backends = async () =>
    (
      await admin.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [
        name,
      ])
    ).rows;

  /** Resolves when `check` holds, polling (a notification or a reconnection takes a moment). */
  async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 300; i++) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.fail(`never: ${what}`);
  }

  it('listens on every channel over one connection, reconnects when it is lost, and closes with the last stop', async () => {
    const listener = new PostgresListener(url, name);
    const heard: Array<[string, string | undefined]> = [];
    const jobs = `jobs_${process.pid}`;
    const model = `model_${process.pid}`;
    const stopJobs = await listener.listen(jobs, (payload) => heard.push(['jobs', payload]));
    const stopModel = await listener.listen(model, (payload) => heard.push(['model', payload]));
    assert.equal((await backends()).length, 1, 'one connection for both channels');
    assert.deepEqual(heard, [
      ['jobs', undefined],
      ['model', undefined],
    ]);

    heard.length = 0;
    await admin.query(`select pg_notify($1, 'a'), pg_notify($2, 'b')`, [jobs, model]);
    await eventually(() => heard.length === 2, 'both notifications heard');
    assert.deepEqual(heard, [
      ['jobs', 'a'],
      ['model', 'b'],
    ]);

    // Lost: every handler is told once it is back, as what was sent meanwhile is lost.
    heard.length = 0;
    const [lost] = await backends();
    await admin.query('select pg_terminate_backend($1)', [lost!.pid]);
    await eventually(() => heard.length === 2, 'both told after the reconnection');
    assert.deepEqual(heard.map(([channel, payload]) => [channel, payload]).sort(), [
      ['jobs', undefined],
      ['model', undefined],
    ]);
    heard.length = 0;
    await admin.query(`select pg_notify($1, 'c')`, [model]);
    await eventually(() => heard.length === 1, 'heard on the new connection');
    assert.deepEqual(heard, [['model', 'c']]);

    await stopJobs();
    assert.equal((await backends()).length, 1, 'still open for the other channel');
    heard.length = 0;
    await admin.query(`select pg_notify($1, 'd'), pg_notify($2, 'e')`, [jobs, model]);
    await eventually(() => heard.length === 1, 'the model channel heard');
    assert.deepEqual(heard, [['model', 'e']], 'nothing for a stopped channel');
    await stopModel();
    await eventually(async () => (await backends()).length === 0, 'the connection closed');
  });
});
