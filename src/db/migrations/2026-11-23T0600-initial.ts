import { sql } from 'kysely';
import type { Migration } from './types.ts';

/** Workspaces, API keys, leads, activities, the anonymous store, property schema, idempotency. */
export const initial: Migration = {
  name: '2026-11-23T0600-initial',
  async up(db, t) {
    await db.schema
      .createTable('workspaces')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('slug', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('settings', t.json, (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .execute();

    // The key hash index cannot start with workspace_id: a request names only its key.
    await db.schema
      .createTable('api_keys')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('key_hash', 'text', (c) => c.notNull().unique())
      .addColumn('key_prefix', 'text', (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('last_used_at', t.int64)
      .addColumn('revoked_at', t.int64)
      .addPrimaryKeyConstraint('api_keys_pk', ['workspace_id', 'id'])
      .execute();

    await db.schema
      .createTable('leads')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('email', 'text')
      .addColumn('phone', 'text')
      .addColumn('first_name', 'text')
      .addColumn('last_name', 'text')
      .addColumn('company', 'text')
      .addColumn('company_domain', 'text')
      .addColumn('job_title', 'text')
      .addColumn('company_size', 'integer')
      .addColumn('industry', 'text')
      .addColumn('country', 'text')
      .addColumn('city', 'text')
      .addColumn('website', 'text')
      .addColumn('email_disposable', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('source', 'text')
      .addColumn('channel', 'text')
      .addColumn('first_touch', t.json)
      .addColumn('last_touch', t.json)
      .addColumn('properties', t.json, (c) => c.notNull())
      .addColumn('stage', 'text', (c) => c.notNull())
      .addColumn('owner_id', 'text')
      .addColumn('search_text', 'text', (c) => c.notNull())
      .addColumn('archived_at', t.int64)
      .addColumn('merged_into_id', 'text')
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('leads_pk', ['workspace_id', 'id'])
      .execute();
    // One lead per email and per phone-only contact in a workspace: the dedupe rule.
    await db.schema
      .createIndex('leads_email_uq')
      .on('leads')
      .columns(['workspace_id', 'email'])
      .unique()
      .where(sql<boolean>`email is not null`)
      .execute();
    await db.schema
      .createIndex('leads_phone_only_uq')
      .on('leads')
      .columns(['workspace_id', 'phone'])
      .unique()
      .where(sql<boolean>`email is null and phone is not null`)
      .execute();
    await db.schema
      .createIndex('leads_created_ix')
      .on('leads')
      .columns(['workspace_id', 'created_at', 'id'])
      .execute();
    await db.schema
      .createIndex('leads_updated_ix')
      .on('leads')
      .columns(['workspace_id', 'updated_at', 'id'])
      .execute();
    await db.schema
      .createIndex('leads_stage_ix')
      .on('leads')
      .columns(['workspace_id', 'stage', 'created_at'])
      .execute();
    await db.schema
      .createIndex('leads_owner_ix')
      .on('leads')
      .columns(['workspace_id', 'owner_id', 'created_at'])
      .execute();
    await db.schema
      .createIndex('leads_channel_ix')
      .on('leads')
      .columns(['workspace_id', 'channel', 'created_at'])
      .execute();
    await db.schema
      .createIndex('leads_domain_ix')
      .on('leads')
      .columns(['workspace_id', 'company_domain'])
      .execute();

    await db.schema
      .createTable('activities')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('occurred_at', t.int64, (c) => c.notNull())
      .addColumn('properties', t.json, (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('activities_pk', ['workspace_id', 'id'])
      .execute();
    await db.schema
      .createIndex('activities_timeline_ix')
      .on('activities')
      .columns(['workspace_id', 'lead_id', 'occurred_at', 'id'])
      .execute();

    await db.schema
      .createTable('anonymous_activities')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('anonymous_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('occurred_at', t.int64, (c) => c.notNull())
      .addColumn('properties', t.json, (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('expires_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('anonymous_activities_pk', ['workspace_id', 'id'])
      .execute();
    await db.schema
      .createIndex('anonymous_activities_visitor_ix')
      .on('anonymous_activities')
      .columns(['workspace_id', 'anonymous_id', 'occurred_at'])
      .execute();
    await db.schema
      .createIndex('anonymous_activities_expiry_ix')
      .on('anonymous_activities')
      .columns(['workspace_id', 'expires_at'])
      .execute();

    await db.schema
      .createTable('anonymous_identities')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('anonymous_id', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text', (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('anonymous_identities_pk', ['workspace_id', 'anonymous_id'])
      .execute();

    await db.schema
      .createTable('property_definitions')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('label', 'text')
      .addColumn('options', t.json)
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('property_definitions_pk', ['workspace_id', 'name'])
      .execute();

    await db.schema
      .createTable('idempotency_keys')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('status_code', 'integer', (c) => c.notNull())
      .addColumn('response', 'text', (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('idempotency_keys_pk', ['workspace_id', 'key'])
      .execute();
    await db.schema
      .createIndex('idempotency_keys_age_ix')
      .on('idempotency_keys')
      .columns(['workspace_id', 'created_at'])
      .execute();
  },
};
