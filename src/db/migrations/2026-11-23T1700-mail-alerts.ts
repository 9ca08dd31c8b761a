import type { Migration } from './types.ts';

/**
 * The dev mailbox (mail kept instead of sent when no SMTP server is configured), owner alert
 * rules, and the alerts log: one row per alert and channel, whose unique `key` is also what
 * makes firing idempotent (unlike job keys, it outlives the pruning of finished jobs).
 */
export const mailAlerts: Migration = {
  name: '2026-11-23T1700-mail-alerts',
  async up(db, t) {
    await db.schema
      .createTable('mailbox_messages')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('from_address', 'text', (c) => c.notNull())
      .addColumn('to_addresses', t.json, (c) => c.notNull())
      .addColumn('reply_to', 'text')
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('text_body', 'text', (c) => c.notNull())
      .addColumn('html_body', 'text')
      .addColumn('headers', t.json)
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('mailbox_messages_pk', ['workspace_id', 'id'])
      .execute();
    await db.schema
      .createIndex('mailbox_messages_newest_ix')
      .on('mailbox_messages')
      .columns(['workspace_id', 'created_at', 'id'])
      .execute();

    await db.schema
      .createTable('alert_rules')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('trigger', t.json, (c) => c.notNull())
      .addColumn('channels', t.json, (c) => c.notNull())
      .addColumn('fallback_email', 'text')
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('alert_rules_pk', ['workspace_id', 'id'])
      .execute();

    // One row per workspace once its default rules were written: deleting every rule then
    // stays deleted instead of bringing the defaults back.
    await db.schema
      .createTable('alert_settings')
      .addColumn('workspace_id', 'text', (c) => c.notNull().primaryKey())
      .addColumn('defaults_seeded_at', t.int64, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('alerts')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('rule_id', 'text', (c) => c.notNull())
      .addColumn('rule_name', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text', (c) => c.notNull())
      .addColumn('trigger', t.json, (c) => c.notNull())
      .addColumn('channel', t.json, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('target', 'text')
      .addColumn('error', 'text')
      .addColumn('fired_at', t.int64, (c) => c.notNull())
      .addColumn('sent_at', t.int64)
      .addPrimaryKeyConstraint('alerts_pk', ['workspace_id', 'id'])
      .execute();
    await db.schema
      .createIndex('alerts_key_ux')
      .on('alerts')
      .columns(['workspace_id', 'key'])
      .unique()
      .execute();
    await db.schema
      .createIndex('alerts_newest_ix')
      .on('alerts')
      .columns(['workspace_id', 'fired_at', 'id'])
      .execute();
    // "Fired for this lead within the window already?" and a lead's alerts, newest first.
    await db.schema
      .createIndex('alerts_lead_ix')
      .on('alerts')
      .columns(['workspace_id', 'lead_id', 'rule_id', 'fired_at'])
      .execute();
  },
};
