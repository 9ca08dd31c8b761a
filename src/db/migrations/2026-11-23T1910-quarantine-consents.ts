import type { Migration } from './types.ts';

/**
 * Issue 5, spam and consent: the form quarantine (suspected spam kept whole, to be released
 * or discarded by a person, never silently dropped), the consent ledger (one row per
 * recorded decision: the current state of a purpose is its latest row, and the history is
 * every row), and double opt-in confirmations (the emailed link's hashed secret).
 */
export const quarantineConsents: Migration = {
  name: '2026-11-23T1910-quarantine-consents',
  async up(db, t) {
    await db.schema
      .createTable('form_quarantine')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('form_id', 'text', (c) => c.notNull())
      .addColumn('email', 'text')
      .addColumn('submission', t.json, (c) => c.notNull())
      .addColumn('reasons', t.json, (c) => c.notNull())
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text')
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('decided_at', t.int64)
      .addPrimaryKeyConstraint('form_quarantine_pk', ['workspace_id', 'id'])
      .execute();
    // Newest first (and the retention prune), by status (the review list), by form.
    await db.schema
      .createIndex('form_quarantine_newest_ix')
      .on('form_quarantine')
      .columns(['workspace_id', 'created_at', 'id'])
      .execute();
    await db.schema
      .createIndex('form_quarantine_status_ix')
      .on('form_quarantine')
      .columns(['workspace_id', 'status', 'created_at', 'id'])
      .execute();
    await db.schema
      .createIndex('form_quarantine_form_ix')
      .on('form_quarantine')
      .columns(['workspace_id', 'form_id', 'created_at', 'id'])
      .execute();

    await db.schema
      .createTable('consents')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text', (c) => c.notNull())
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('version', 'text')
      .addColumn('text', 'text')
      .addColumn('privacy_url', 'text')
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('form_id', 'text')
      .addColumn('page_url', 'text')
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('confirmation_id', 'text')
      .addColumn('recorded_at', t.int64, (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('consents_pk', ['workspace_id', 'id'])
      .execute();
    // A lead's ledger, per purpose in time order: its latest row is the purpose's state.
    await db.schema
      .createIndex('consents_lead_ix')
      .on('consents')
      .columns(['workspace_id', 'lead_id', 'purpose', 'recorded_at', 'id'])
      .execute();

    await db.schema
      .createTable('consent_confirmations')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text', (c) => c.notNull())
      .addColumn('email', 'text', (c) => c.notNull())
      // SHA-256 of the link's secret: a leaked database does not hand out working links.
      .addColumn('token_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('expires_at', t.int64, (c) => c.notNull())
      .addColumn('confirmed_at', t.int64)
      .addColumn('confirm_ip', 'text')
      .addColumn('confirm_user_agent', 'text')
      .addPrimaryKeyConstraint('consent_confirmations_pk', ['workspace_id', 'id'])
      .execute();
    // "How many confirmation emails did this lead get in the last hour?" (the resend cap).
    await db.schema
      .createIndex('consent_confirmations_lead_ix')
      .on('consent_confirmations')
      .columns(['workspace_id', 'lead_id', 'created_at'])
      .execute();
  },
};
