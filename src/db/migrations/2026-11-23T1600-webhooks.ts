import type { Migration } from './types.ts';

/**
 * Outbound webhooks (issue 4): subscriptions, the messages sent to them and the log of every
 * delivery attempt. Deliveries themselves are jobs (kind `webhook.deliver`).
 */
export const webhooks: Migration = {
  name: '2026-11-23T1600-webhooks',
  async up(db, t) {
    await db.schema
      .createTable('webhook_subscriptions')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('events', t.json, (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('enabled', 'integer', (c) => c.notNull())
      // Kept in clear: every delivery signs with it (HMAC needs the key, not a hash of it).
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('previous_secret', 'text')
      .addColumn('previous_secret_until', t.int64)
      .addColumn('disabled_reason', 'text')
      .addColumn('disabled_at', t.int64)
      .addColumn('last_success_at', t.int64)
      .addColumn('failing_since', t.int64)
      .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('webhook_subscriptions_pk', ['workspace_id', 'id'])
      .execute();

    // One row per event sent out, shared by every subscription that receives it: its id is the
    // `webhook-id` header, the same on retries and replays (receivers dedupe on it).
    await db.schema
      .createTable('webhook_messages')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text')
      .addColumn('data', t.json, (c) => c.notNull())
      // The exact bytes sent (and signed); null until rendered, when the lead had to be loaded.
      .addColumn('body', 'text')
      .addColumn('occurred_at', t.int64, (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('webhook_messages_pk', ['workspace_id', 'id'])
      .execute();

    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('subscription_id', 'text', (c) => c.notNull())
      .addColumn('message_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('trigger', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('attempted_at', t.int64, (c) => c.notNull())
      .addColumn('succeeded', 'integer', (c) => c.notNull())
      .addColumn('status_code', 'integer')
      .addColumn('duration_ms', 'integer', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('response', 'text')
      .addColumn('next_retry_at', t.int64)
      .addPrimaryKeyConstraint('webhook_deliveries_pk', ['workspace_id', 'id'])
      .execute();
    // The delivery log of one subscription, newest first (ids are time-ordered).
    await db.schema
      .createIndex('webhook_deliveries_subscription_ix')
      .on('webhook_deliveries')
      .columns(['workspace_id', 'subscription_id', 'id'])
      .execute();
  },
};
