import { sql } from 'kysely';
import type { Migration } from './types.ts';

/**
 * Durable jobs (issue 4). One partial index serves the claim: queued jobs by due time and
 * running jobs by lease expiry (`run_at` holds either), so a job whose worker died is claimed
 * again once its lease runs out, with no sweeper.
 *
 * The claim index is the one index that does not start with `workspace_id`: workers claim due
 * jobs across every workspace, in due order. Were the data ever sharded by workspace, each
 * shard would keep its own queue.
 */
export const jobs: Migration = {
  name: '2026-11-23T1400-jobs',
  async up(db, t) {
    await db.schema
      .createTable('jobs')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('payload', t.json, (c) => c.notNull())
      .addColumn('key', 'text')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('run_at', t.int64, (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('locked_by', 'text')
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addColumn('finished_at', t.int64)
      .addPrimaryKeyConstraint('jobs_pk', ['workspace_id', 'id'])
      .execute();
    await db.schema
      .createIndex('jobs_due_ix')
      .on('jobs')
      .column('run_at')
      .where(sql<boolean>`state in ('queued', 'running')`)
      .execute();
    await db.schema
      .createIndex('jobs_key_ux')
      .on('jobs')
      .columns(['workspace_id', 'key'])
      .unique()
      .where(sql<boolean>`key is not null`)
      .execute();
    // Listing by state (dead letters first of all) and pruning finished jobs.
    await db.schema
      .createIndex('jobs_state_ix')
      .on('jobs')
      .columns(['workspace_id', 'state', 'updated_at'])
      .execute();
  },
};
