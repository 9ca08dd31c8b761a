import type { Migration } from './types.ts';

/**
 * Tracking settings (`/api/v1/tracking/settings`): one row per workspace that changed them from
 * the defaults. The URL rules and allowed origins are small lists read on every `/t/collect`
 * (cached), so they are JSON documents rather than tables of their own.
 */
export const tracking: Migration = {
  name: '2026-11-23T1920-tracking',
  async up(db, t) {
    await db.schema
      .createTable('tracking_settings')
      .addColumn('workspace_id', 'text', (c) => c.notNull().primaryKey())
      .addColumn('url_rules', t.json, (c) => c.notNull())
      .addColumn('allowed_origins', t.json, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .execute();
  },
};
