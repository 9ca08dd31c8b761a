import type { Migration } from './types.ts';

/**
 * `leads.stage_hold`: set when a person moves a lead backwards (sales rejects an MQL, a
 * recycle, a lost deal). Without it the score rule that made the lead an MQL would make it
 * one again on its next page view; while held, only a new crossing of the threshold or an
 * activity rule (a demo request) moves it forward again.
 */
export const stageHold: Migration = {
  name: '2026-11-23T1200-stage-hold',
  async up(db) {
    await db.schema
      .alterTable('leads')
      .addColumn('stage_hold', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};
