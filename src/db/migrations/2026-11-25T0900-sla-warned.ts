import type { Migration } from './types.ts';

/**
 * When a timer's warning went out (`sla_timers.warned_at`). Setting it is how the warning job
 * claims the warning, as closing the timer is how a breach claims it: a job run twice (a retry
 * through the API, a worker that died after its commit) warns the owner once.
 */
export const slaWarned: Migration = {
  name: '2026-11-25T0900-sla-warned',
  async up(db, t) {
    await db.schema.alterTable('sla_timers').addColumn('warned_at', t.int64).execute();
  },
};
