import type { Kysely } from 'kysely';
import { parseJson, toJson } from '../db/json.ts';
import { deleteOlderThan } from '../db/prune.ts';
import type { DB, FormQuarantineRow } from '../db/schema.ts';
import type { Submission } from './model.ts';

/** The SQL of the form quarantine, and the entry type its rows become. */

export const quarantineStatuses = ['quarantined', 'released', 'discarded'] as const;
export type QuarantineStatus = (typeof quarantineStatuses)[number];

/** A submission held as suspected spam. */
export interface QuarantineEntry {
  id: string;
  formId: string;
  /** The submitted email, for the review list. */
  email: string | null;
  /** The whole submission as received; a release submits exactly this again. */
  submission: Submission;
  /** src/forms/spam.ts QuarantineReason values. */
  reasons: string[];
  ip: string | null;
  userAgent: string | null;
  status: QuarantineStatus;
  /** The lead its release captured. */
  leadId: string | null;
  createdAt: number;
  decidedAt: number | null;
}

const columns = [
  'id',
  'form_id',
  'email',
  'submission',
  'reasons',
  'ip',
  'user_agent',
  'status',
  'lead_id',
  'created_at',
  'decided_at',
] as const;

function toEntry(row: Pick<FormQuarantineRow, (typeof columns)[number]>): QuarantineEntry {
  return {
    id: row.id,
    formId: row.form_id,
    email: row.email,
    submission: parseJson<Submission>(row.submission, {
      values: {},
      ip: null,
      userAgent: null,
      receivedAt: 0,
    }),
    reasons: parseJson<string[]>(row.reasons, []),
    ip: row.ip,
    userAgent: row.user_agent,
    status: row.status as QuarantineStatus,
    leadId: row.lead_id,
    createdAt: Number(row.created_at),
    decidedAt: row.decided_at === null ? null : Number(row.decided_at),
  };
}

export async function insertEntry(
  db: Kysely<DB>,
  workspaceId: string,
  entry: QuarantineEntry,
): Promise<void> {
  await db
    .insertInto('form_quarantine')
    .values({
      workspace_id: workspaceId,
      id: entry.id,
      form_id: entry.formId,
      email: entry.email,
      submission: toJson(entry.submission),
      reasons: toJson(entry.reasons),
      ip: entry.ip,
      user_agent: entry.userAgent,
      status: entry.status,
      lead_id: entry.leadId,
      created_at: entry.createdAt,
      decided_at: entry.decidedAt,
    })
    .execute();
}

export async function findEntry(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
): Promise<QuarantineEntry | undefined> {
  const row = await db
    .selectFrom('form_quarantine')
    .select(columns)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toEntry(row);
}

export interface QuarantineFilter {
  formId?: string | undefined;
  status?: QuarantineStatus | undefined;
  limit: number;
  /** The last entry of the previous page (newest first). */
  before?: { value: number; id: string } | undefined;
}

/** Newest first. */
export async function listEntries(
  db: Kysely<DB>,
  workspaceId: string,
  filter: QuarantineFilter,
): Promise<QuarantineEntry[]> {
  let query = db.selectFrom('form_quarantine').select(columns).where('workspace_id', '=', workspaceId);
  if (filter.formId !== undefined) query = query.where('form_id', '=', filter.formId);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  const before = filter.before;
  if (before)
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', before.value),
        eb.and([eb('created_at', '=', before.value), eb('id', '<', before.id)]),
      ]),
    );
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
  return rows.map(toEntry);
}

/**
 * Moves a quarantined entry to released or discarded; false when it was not quarantined any
 * more (another request decided it first: the check and the change are one statement).
 */
export async function decide(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  status: Exclude<QuarantineStatus, 'quarantined'>,
  at: number,
  leadId: string | null,
): Promise<boolean> {
  const result = await db
    .updateTable('form_quarantine')
    .set({ status, decided_at: at, lead_id: leadId })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('status', '=', 'quarantined')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Sets the lead a release captured (known only after the submission ran). */
export async function setLead(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  leadId: string,
): Promise<void> {
  await db
    .updateTable('form_quarantine')
    .set({ lead_id: leadId })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

/**
 * Deletes up to `limit` entries decided (released or discarded) before `before`; returns how
 * many. Undecided entries have no decision time and are never deleted: nobody looked at them.
 */
export function pruneDecided(
  db: Kysely<DB>,
  workspaceId: string,
  before: number,
  limit: number,
): Promise<number> {
  return deleteOlderThan(
    db,
    { table: 'form_quarantine', timeColumn: 'decided_at' },
    workspaceId,
    before,
    limit,
  );
}
