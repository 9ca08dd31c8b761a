import type { Migration } from './types.ts';

/**
 * Landing pages (`/l/{slug}`): the page and its variants (JSON: they are read and written as
 * a whole, never queried one by one).
 */
export const landingPages: Migration = {
  name: '2026-11-23T1930-landing-pages',
  async up(db, t) {
    await db.schema
      .createTable('landing_pages')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('slug', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('variants', t.json, (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('landing_pages_pk', ['workspace_id', 'id'])
      .execute();
    // The one documented exception to "workspace_id first in every index": a slug is a public
    // address (`/l/{slug}`, like a host name), so it is unique across workspaces, and the public
    // page finds its workspace through it.
    await db.schema
      .createIndex('landing_pages_slug_ux')
      .on('landing_pages')
      .column('slug')
      .unique()
      .execute();
    await db.schema
      .createIndex('landing_pages_newest_ix')
      .on('landing_pages')
      .columns(['workspace_id', 'created_at', 'id'])
      .execute();
  },
};
