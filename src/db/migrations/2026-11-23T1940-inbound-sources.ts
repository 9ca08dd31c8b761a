import type { Migration } from './types.ts';

/**
 * Inbound lead-form webhooks (issue 5): the sources ad platforms and other senders post leads
 * to (`/in/{id}`), and the log of every external lead they delivered.
 */
export const inboundSources: Migration = {
  name: '2026-11-23T1940-inbound-sources',
  async up(db, t) {
    await db.schema
      .createTable('inbound_sources')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('form_id', 'text')
      .addColumn('field_mapping', t.json, (c) => c.notNull())
      .addColumn('settings', t.json, (c) => c.notNull())
      // Kept in clear: signatures are checked with them (HMAC needs the key, not a hash of it),
      // and access tokens are sent to the platforms. Never returned by the API after creation.
      .addColumn('secrets', t.json, (c) => c.notNull())
      .addColumn('last_received_at', t.int64)
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('inbound_sources_pk', ['workspace_id', 'id'])
      .execute();
    // The documented exception to "workspace_id first in every index": `/in/{id}` is a public
    // address that names no workspace (like form and landing-page slugs), so a delivery finds
    // its source by id alone. Ids are UUIDv7, unique across workspaces anyway.
    await db.schema
      .createIndex('inbound_sources_public_ux')
      .on('inbound_sources')
      .column('id')
      .unique()
      .execute();

    // One row per external lead a source delivered: what dedupes retried deliveries, what a
    // fetch job works from, and the log a marketer reads (captured, pending, failed).
    await db.schema
      .createTable('inbound_leads')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('source_id', 'text', (c) => c.notNull())
      .addColumn('external_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text')
      .addColumn('event_id', 'text', (c) => c.notNull())
      // The delivered item (ids, and answers when they came with it); cleared once captured.
      .addColumn('payload', t.json)
      .addColumn('errors', t.json)
      .addColumn('warnings', t.json)
      .addColumn('fetch_attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('received_at', t.int64, (c) => c.notNull())
      .addColumn('captured_at', t.int64)
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('inbound_leads_pk', ['workspace_id', 'id'])
      .execute();
    // A retried delivery of the same external lead finds its row (and is a duplicate).
    await db.schema
      .createIndex('inbound_leads_external_ux')
      .on('inbound_leads')
      .columns(['workspace_id', 'source_id', 'external_id'])
      .unique()
      .execute();
    // A source's log, newest first (ids are time-ordered); and by status (the failed ones, the
    // counts per status a source shows).
    await db.schema
      .createIndex('inbound_leads_source_ix')
      .on('inbound_leads')
      .columns(['workspace_id', 'source_id', 'id'])
      .execute();
    await db.schema
      .createIndex('inbound_leads_status_ix')
      .on('inbound_leads')
      .columns(['workspace_id', 'source_id', 'status', 'id'])
      .execute();
  },
};
