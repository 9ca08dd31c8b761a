import type { Kysely } from 'kysely';
import { executeCompiled, selectCompiled } from '../db/bulk-insert.ts';
import { parseJson, toJson } from '../db/json.ts';
import type { DB, FormRow, FormSubmissionRow } from '../db/schema.ts';
import { defaultSpamSettings, type Form, type FormSettings, type FormStatus } from './model.ts';

const columns = [
  'workspace_id',
  'id',
  'slug',
  'name',
  'status',
  'definition',
  'secret',
  'created_at',
  'updated_at',
  'archived_at',
] as const;

function toForm(row: Pick<FormRow, (typeof columns)[number]>): Form {
  const settings = parseJson<Partial<FormSettings>>(row.definition, {});
  return {
    workspaceId: row.workspace_id,
    id: row.id,
    slug: row.slug,
    name: row.name,
    status: row.status as FormStatus,
    fields: settings.fields ?? [],
    consents: settings.consents ?? [],
    submitLabel: settings.submitLabel ?? null,
    thankYou: settings.thankYou ?? null,
    leadMagnet: settings.leadMagnet ?? null,
    notify: settings.notify ?? [],
    doubleOptIn: settings.doubleOptIn ?? false,
    allowedOrigins: settings.allowedOrigins ?? [],
    progressive: settings.progressive ?? null,
    spam: { ...defaultSpamSettings, ...settings.spam },
    source: settings.source ?? null,
    secret: row.secret,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    archivedAt: row.archived_at === null ? null : Number(row.archived_at),
  };
}

function definitionOf(form: Form): string {
  const settings: FormSettings = {
    fields: form.fields,
    consents: form.consents,
    submitLabel: form.submitLabel,
    thankYou: form.thankYou,
    leadMagnet: form.leadMagnet,
    notify: form.notify,
    doubleOptIn: form.doubleOptIn,
    allowedOrigins: form.allowedOrigins,
    progressive: form.progressive,
    spam: form.spam,
    source: form.source,
  };
  return toJson(settings);
}

function toRow(form: Form): FormRow {
  return {
    workspace_id: form.workspaceId,
    id: form.id,
    slug: form.slug,
    name: form.name,
    status: form.status,
    definition: definitionOf(form),
    secret: form.secret,
    created_at: form.createdAt,
    updated_at: form.updatedAt,
    archived_at: form.archivedAt,
  };
}

/** Inserts a form; false when its slug is taken (by any workspace), and nothing is written. */
export async function insertForm(db: Kysely<DB>, form: Form): Promise<boolean> {
  const result = await db
    .insertInto('forms')
    .values(toRow(form))
    .onConflict((oc) => oc.column('slug').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Whether a slug belongs to a form other than `exceptId` (of any workspace). */
export async function slugTaken(db: Kysely<DB>, slug: string, exceptId: string): Promise<boolean> {
  const row = await db
    .selectFrom('forms')
    .select('id')
    .where('slug', '=', slug)
    .where('id', '!=', exceptId)
    .executeTakeFirst();
  return row !== undefined;
}

export async function updateForm(db: Kysely<DB>, form: Form): Promise<void> {
  const { workspace_id, id, created_at: _created, secret: _secret, ...changes } = toRow(form);
  await db
    .updateTable('forms')
    .set(changes)
    .where('workspace_id', '=', workspace_id)
    .where('id', '=', id)
    .execute();
}

/**
 * The form; with `lock` (PostgreSQL, in a write that stores it back) its row stays locked until
 * the transaction ends, so another process's change to it waits instead of being undone.
 */
export async function findForm(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  lock = false,
): Promise<Form | undefined> {
  const select = db
    .selectFrom('forms')
    .select(columns)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id);
  const row = await (lock ? select.forUpdate() : select).executeTakeFirst();
  return row && toForm(row);
}

/** The form at a public address, whatever its workspace (slugs are global). */
export async function findFormBySlug(db: Kysely<DB>, slug: string): Promise<Form | undefined> {
  const row = await db.selectFrom('forms').select(columns).where('slug', '=', slug).executeTakeFirst();
  return row && toForm(row);
}

export interface FormFilter {
  includeArchived: boolean;
  limit: number;
  /** The last form of the previous page (newest first). */
  before?: { value: number; id: string } | undefined;
}

/** A workspace's forms, newest first. */
export async function listForms(db: Kysely<DB>, workspaceId: string, filter: FormFilter): Promise<Form[]> {
  let query = db.selectFrom('forms').select(columns).where('workspace_id', '=', workspaceId);
  if (!filter.includeArchived) query = query.where('archived_at', 'is', null);
  const before = filter.before;
  if (before)
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', before.value),
        eb.and([eb('created_at', '=', before.value), eb('id', '<', before.id)]),
      ]),
    );
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
  return rows.map(toForm);
}

// ---------------------------------------------------------------------------------------------
// Submissions

export interface SubmissionRecord {
  id: string;
  formId: string;
  leadId: string;
  createdAt: number;
}

export async function insertSubmission(
  db: Kysely<DB>,
  workspaceId: string,
  submission: SubmissionRecord & {
    fingerprint: string;
    /** renderTokenHash of the token it came with, when that verified. */
    tokenHash: string | null;
    magnetEmailed: boolean;
  },
): Promise<void> {
  // The statements of every submission are compiled once: through the query builder each
  // cost more than SQLite took to run it.
  await executeCompiled(
    db,
    'insertSubmission',
    (q) =>
      q.insertInto('form_submissions').values({
        workspace_id: '',
        form_id: '',
        id: '',
        lead_id: '',
        fingerprint: '',
        created_at: 0,
        token_hash: '',
        magnet_emailed: 0,
      }),
    [
      workspaceId,
      submission.formId,
      submission.id,
      submission.leadId,
      submission.fingerprint,
      submission.createdAt,
      submission.tokenHash,
      submission.magnetEmailed ? 1 : 0,
    ],
  );
}

/** Whether a written submission of the form came with this render token (by its hash). */
export async function tokenUsed(
  db: Kysely<DB>,
  workspaceId: string,
  formId: string,
  tokenHash: string,
): Promise<boolean> {
  const rows = await selectCompiled<{ id: string }>(
    db,
    'tokenUsed',
    1,
    (q) =>
      q
        .selectFrom('form_submissions')
        .select('id')
        .where('workspace_id', '=', '')
        .where('form_id', '=', '')
        .where('token_hash', '=', '')
        .limit(1),
    [workspaceId, formId, tokenHash, 1],
  );
  return rows.length > 0;
}

/** Lead magnet emails queued to a lead by submissions (of any form) since `since` (epoch ms). */
export async function countMagnetEmailsSince(
  db: Kysely<DB>,
  workspaceId: string,
  leadId: string,
  since: number,
): Promise<number> {
  const row = await db
    .selectFrom('form_submissions')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('lead_id', '=', leadId)
    .where('created_at', '>=', since)
    .where('magnet_emailed', '=', 1)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The latest submission of the form with this fingerprint since `since` (epoch ms), if any. */
export async function findRecentSubmission(
  db: Kysely<DB>,
  workspaceId: string,
  formId: string,
  fingerprint: string,
  since: number,
): Promise<SubmissionRecord | undefined> {
  const [row] = await selectCompiled<Pick<FormSubmissionRow, 'id' | 'form_id' | 'lead_id' | 'created_at'>>(
    db,
    'findRecentSubmission',
    1,
    (q) =>
      q
        .selectFrom('form_submissions')
        .select(['id', 'form_id', 'lead_id', 'created_at'])
        .where('workspace_id', '=', '')
        .where('form_id', '=', '')
        .where('fingerprint', '=', '')
        .where('created_at', '>=', 0)
        .orderBy('created_at', 'desc')
        .limit(1),
    [workspaceId, formId, fingerprint, since, 1],
  );
  return row && { id: row.id, formId: row.form_id, leadId: row.lead_id, createdAt: Number(row.created_at) };
}

/** A form's submissions, newest first. */
export async function listSubmissions(
  db: Kysely<DB>,
  workspaceId: string,
  formId: string,
  limit: number,
  before?: { value: number; id: string },
): Promise<SubmissionRecord[]> {
  let query = db
    .selectFrom('form_submissions')
    .select(['id', 'form_id', 'lead_id', 'created_at'])
    .where('workspace_id', '=', workspaceId)
    .where('form_id', '=', formId);
  if (before)
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', before.value),
        eb.and([eb('created_at', '=', before.value), eb('id', '<', before.id)]),
      ]),
    );
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map((row) => ({
    id: row.id,
    formId: row.form_id,
    leadId: row.lead_id,
    createdAt: Number(row.created_at),
  }));
}
