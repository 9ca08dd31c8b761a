import type { Migration } from './types.ts';

/**
 * Forms and consent after review (issue 5): a written submission remembers the render token it
 * used (a token is good for one submission) and whether it emailed the lead magnet (the hourly
 * cap per lead); the quarantine prunes by decision time; consent finds the leads merged into one.
 */
export const formsHardening: Migration = {
  name: '2026-11-23T1950-forms-hardening',
  async up(db) {
    // SHA-256 of the render token (`_ll_ts`), base64url; null when none came or it did not verify.
    await db.schema.alterTable('form_submissions').addColumn('token_hash', 'text').execute();
    // 1 when this submission queued the lead magnet email to the lead.
    await db.schema
      .alterTable('form_submissions')
      .addColumn('magnet_emailed', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    // "Was this render token used by a submission of the form already?" Not unique: a person
    // may release from the quarantine a submission whose token was used, and a unique violation
    // would roll back the whole submission instead of answering the question.
    await db.schema
      .createIndex('form_submissions_token_ix')
      .on('form_submissions')
      .columns(['workspace_id', 'form_id', 'token_hash'])
      .execute();
    // "Lead magnet emails to this lead in the last hour?"
    await db.schema
      .createIndex('form_submissions_lead_ix')
      .on('form_submissions')
      .columns(['workspace_id', 'lead_id', 'created_at'])
      .execute();
    // The retention prune deletes decided entries only: undecided ones have no decided_at.
    await db.schema
      .createIndex('form_quarantine_decided_ix')
      .on('form_quarantine')
      .columns(['workspace_id', 'decided_at'])
      .execute();
    // The leads merged into a lead (redirect rows): a survivor's consents include theirs. Partial:
    // only the few merged rows are indexed.
    await db.schema
      .createIndex('leads_merged_into_ix')
      .on('leads')
      .columns(['workspace_id', 'merged_into_id'])
      .where('merged_into_id', 'is not', null)
      .execute();
  },
};
