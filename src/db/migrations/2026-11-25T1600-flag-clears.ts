import type { Migration } from './types.ts';

/**
 * When a person last cleared each flag (`leads.pql_cleared_at`,
 * `leads.service_qualified_cleared_at`): the activities before that moment, replayed by a
 * rescore or arriving late, do not set the flag again; a later one does.
 */
export const flagClears: Migration = {
  name: '2026-11-25T1600-flag-clears',
  async up(db, t) {
    // One ALTER per column: SQLite adds one column per statement.
    await db.schema.alterTable('leads').addColumn('pql_cleared_at', t.int64).execute();
    await db.schema.alterTable('leads').addColumn('service_qualified_cleared_at', t.int64).execute();
  },
};
