import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { tenant } from '../support/api.ts';
import { describeOnPostgres, useApp } from '../support/engines.ts';

/**
 * Without planner statistics PostgreSQL looks up leads by id through whatever small index
 * starts with `workspace_id`, filtering every lead of the workspace (20–28 ms for 500 ids among
 * 20,000 leads, instead of 1.5 ms through the primary key once analyzed, measured on the ingest
 * benchmark): Leadline analyzes its tables as they grow, whether or not autovacuum runs (it is
 * off on the machines this was found on).
 */
describeOnPostgres('planner statistics on PostgreSQL', () => {
  const get = useApp('postgres');

  it('analyzes the leads table once it has grown, and not again while it stays the same', async () => {
    const t = get();
    const w = await tenant(t, 'stats');
    const leads = Array.from({ length: 1_200 }, (_, i) => ({ email: `person${i}@example.org` }));
    for (let i = 0; i < leads.length; i += 600) {
      const batch = await w.call('POST', '/api/v1/leads/batch', { leads: leads.slice(i, i + 600) });
      assert.equal(batch.statusCode, 200, batch.body);
    }
    const { database } = t.services;
    const leadsTable = async () =>
      (
        await sql<{ analyzed: boolean; planned: number }>`
          select s.last_analyze is not null as analyzed, c.reltuples as planned
          from pg_stat_user_tables s join pg_class c on c.oid = s.relid
          where s.schemaname = current_schema() and s.relname = 'leads'`.execute(database.db)
      ).rows[0];
    // A connection reports its writes to the statistics system within about a second of going
    // idle; the keeper's timer (every 2 s) may also get there first.
    for (let waited = 0; !(await leadsTable())?.analyzed && waited < 15_000; waited += 250) {
      await database.refreshStatistics!();
      await sleep(250);
    }
    const leadsNow = await leadsTable();
    assert.equal(leadsNow?.analyzed, true, 'leads was analyzed by Leadline (not autovacuum)');
    assert.ok(Number(leadsNow?.planned) >= 1_200, `the planner knows the rows: ${leadsNow?.planned}`);

    const again = await database.refreshStatistics!();
    assert.ok(!again.includes('leads'), `leads is not analyzed again without changes: ${again}`);
  });
});
