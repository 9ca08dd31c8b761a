import type { Migration } from './types.ts';

/**
 * Forms (issue 5): definitions, and one row per written submission (the duplicate window looks
 * back through them; quarantined submissions live in the quarantine instead).
 */
export const forms: Migration = {
  name: '2026-11-23T1900-forms',
  async up(db, t) {
    await db.schema
      .createTable('forms')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('slug', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      // Fields, consents, thank-you, spam settings… (FormSettings in src/forms/model.ts).
      .addColumn('definition', t.json, (c) => c.notNull())
      // HMAC key of the form's render tokens: never returned by the API.
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addColumn('archived_at', t.int64)
      .addPrimaryKeyConstraint('forms_pk', ['workspace_id', 'id'])
      .execute();
    // The one documented exception to "workspace_id first in every index": a form's slug is a
    // public address (`/f/{slug}`, like a host name), unique across workspaces, and a public
    // request names no workspace; this index is how it finds the form and its workspace.
    await db.schema.createIndex('forms_slug_ux').on('forms').column('slug').unique().execute();
    // A workspace's forms, newest first.
    await db.schema
      .createIndex('forms_created_ix')
      .on('forms')
      .columns(['workspace_id', 'created_at', 'id'])
      .execute();

    await db.schema
      .createTable('form_submissions')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('form_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('form_submissions_pk', ['workspace_id', 'id'])
      .execute();
    // "The same answers to this form within the duplicate window?"
    await db.schema
      .createIndex('form_submissions_fingerprint_ix')
      .on('form_submissions')
      .columns(['workspace_id', 'form_id', 'fingerprint', 'created_at'])
      .execute();
    // A form's submissions, newest first.
    await db.schema
      .createIndex('form_submissions_form_ix')
      .on('form_submissions')
      .columns(['workspace_id', 'form_id', 'created_at', 'id'])
      .execute();
  },
};
