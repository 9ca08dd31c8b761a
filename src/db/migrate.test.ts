import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { backendsBlockedBy, describeOnPostgres, freshDatabase, pgUrl } from '../../test/support/engines.ts';
import { openDatabase } from './database.ts';
import { migrateToLatest } from './migrate.ts';

/**
 * Leadline on a PostgreSQL database it shares (with other applications, or test files): its
 * migrations read and lock only its own schema.
 */
describeOnPostgres('migrating beside other schemas', () => {
  let neighbour: { drop: () => Promise<void>; schema: string };

  before(async () => {
    const fresh = await freshDatabase('postgres');
    neighbour = { drop: fresh.drop, schema: fresh.options.pgSchema! };
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create table "${neighbour.schema}".leads (id serial primary key, note text)`);
    await admin.end();
  });

  after(async () => neighbour?.drop());

  it("neither waits on another schema's locked table nor lists it", async () => {
    const fresh = await freshDatabase('postgres');
    const database = openDatabase(fresh.options);
    const holder = new pg.Client({ connectionString: pgUrl });
    await holder.connect();
    try {
      // What another application's ALTER TABLE does to everyone reading that table.
      await holder.query('begin');
      await holder.query(`lock table "${neighbour.schema}".leads in access exclusive mode`);
      const holderPid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      let finished = false;
      const migration = migrateToLatest(database).finally(() => {
        finished = true;
      });
      let waitedOnTheLock = false;
      while (!finished && !waitedOnTheLock) {
        waitedOnTheLock = (await backendsBlockedBy(holder, holderPid)).length > 0;
        if (!waitedOnTheLock) await sleep(10);
      }
      await holder.query('rollback');
      const result = await migration;
      assert.ifError(result.error);
      assert.equal(waitedOnTheLock, false, "the migration waited on another schema's table");
      assert.ok((result.results ?? []).length > 0, 'the fresh schema was migrated');

      const tables = await database.db.introspection.getTables({ withInternalKyselyTables: true });
      assert.deepEqual([...new Set(tables.map((t) => t.schema))], [fresh.options.pgSchema]);
      const names = tables.map((t) => t.name);
      assert.ok(names.includes('leads') && names.includes('kysely_migration'), names.join(', '));
      const leads = tables.find((t) => t.name === 'leads')!;
      assert.ok(leads.columns.some((c) => c.name === 'workspace_id' && !c.isNullable));
      const listed = await database.db.introspection.getTables();
      assert.ok(!listed.some((t) => t.name.startsWith('kysely_')), "Kysely's own tables only when asked");
    } finally {
      await holder.end();
      await database.close();
      await fresh.drop();
    }
  });
});
