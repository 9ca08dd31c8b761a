import type { Migration } from './types.ts';

/**
 * SQLite: the timeline index carries each activity's type and properties, so reading a lead's
 * history (the bulk rescore, the timeline page) is a walk along the index instead of one
 * random table lookup per activity. A lead's activities arrive interleaved with everyone
 * else's, so through the old index each row cost a table page of its own: reading 10.4M
 * activities in lead order took 100 s here with the rows spread over 2.5 GB, 15 s through this
 * index; the bulk rescore of 1M leads went from 172 s to 91 s. It replaces
 * `activities_timeline_ix` (same leading columns).
 *
 * The price is on ingest: each entry now carries the properties, so the index is 1.6x larger
 * (2.4 GB instead of 1.5 GB for 10.4M activities) and inserts copy more into random leaves.
 * Measured here on the `ingest` benchmark: raw inserts 17.5–18.0k rows/s instead of
 * 24.8–25.7k, events through the service 11.6–11.9k/s instead of 13.6–15.3k/s. Clustering
 * the table by lead instead (WITHOUT ROWID) cost the same on ingest (19.1k raw, 11.1k
 * service). A lead's history in one place is what a rescore and a timeline page need; capture
 * stays far above what a site sends.
 *
 * On an existing database this migration builds the index over every activity: 108 s for
 * 10.4M activities here (the start logs that migrations are running before it waits).
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
