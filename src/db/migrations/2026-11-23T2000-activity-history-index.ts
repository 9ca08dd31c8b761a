import type { Migration } from './types.ts';

/**
 * SQLite: the timeline index carries each activity's type and properties, so reading a lead's
 * history (the bulk rescore, the timeline page) is a walk along the index instead of one
 * random table lookup per activity. A lead's activities arrive interleaved with everyone
 * else's, so through the old index each row cost a table page of its own: reading 10.4M
 * activities in lead order took 100 s here with the rows spread over 2.5 GB, 15 s through this
 * index. It replaces `activities_timeline_ix` (same leading columns), for ~0.9 KB more per
 * 10 activities; an insert still dirties one leaf of it, as before.
 *
 * PostgreSQL keeps its plain timeline index: a btree entry there may not exceed ~2.7 KB, and
 * an activity's properties may.
 */
export const activityHistoryIndex: Migration = {
  name: '2026-11-23T2000-activity-history-index',
  async up(db, _t, engine) {
    if (engine === 'postgres') return;
    await db.schema
      .createIndex('activities_history_ix')
      .on('activities')
      .columns(['workspace_id', 'lead_id', 'occurred_at', 'id', 'type', 'properties'])
      .execute();
    await db.schema.dropIndex('activities_timeline_ix').execute();
  },
};
