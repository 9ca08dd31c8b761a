import type { Kysely } from 'kysely';
import { insertBulk, placeholderRows, selectCompiled } from '../db/bulk-insert.ts';
import { paddedInList, placeholders } from '../db/in-list.ts';
import type { ConsentRow, DB } from '../db/schema.ts';
import { type ConsentRecord, type ConsentStatus, MAX_HISTORY } from './model.ts';

const consentColumns = [
  'id',
  'lead_id',
  'purpose',
  'status',
  'version',
  'text',
  'privacy_url',
  'source',
  'form_id',
  'page_url',
  'ip',
  'user_agent',
  'confirmation_id',
  'recorded_at',
  'created_at',
] as const;

function toRecord(row: Pick<ConsentRow, (typeof consentColumns)[number]>): ConsentRecord {
  return {
    id: row.id,
    leadId: row.lead_id,
    purpose: row.purpose,
    status: row.status as ConsentStatus,
    version: row.version,
    text: row.text,
    privacyUrl: row.privacy_url,
    evidence: {
      source: row.source,
      formId: row.form_id,
      pageUrl: row.page_url,
      ip: row.ip,
      userAgent: row.user_agent,
      confirmationId: row.confirmation_id,
    },
    recordedAt: Number(row.recorded_at),
    createdAt: Number(row.created_at),
  };
}

/** The columns `insertRecords` binds, in order. */
const insertColumns = ['workspace_id', ...consentColumns] as const;

/** A record's row values in the order of `insertColumns`. */
function consentValues(workspaceId: string, r: ConsentRecord): unknown[] {
  return [
    workspaceId,
    r.id,
    r.leadId,
    r.purpose,
    r.status,
    r.version,
    r.text,
    r.privacyUrl,
    r.evidence.source,
    r.evidence.formId,
    r.evidence.pageUrl,
    r.evidence.ip,
    r.evidence.userAgent,
    r.evidence.confirmationId,
    r.recordedAt,
    r.createdAt,
  ];
}

/** The records of `leadIds` (a lead and the leads merged into it), newest first (at most MAX_HISTORY). */
export async function listRecords(
  db: Kysely<DB>,
  workspaceId: string,
  leadIds: readonly string[],
): Promise<ConsentRecord[]> {
  const rows = await db
    .selectFrom('consents')
    .select(consentColumns)
    .where('workspace_id', '=', workspaceId)
    .where('lead_id', 'in', paddedInList([...leadIds]))
    .orderBy('recorded_at', 'desc')
    .orderBy('id', 'desc')
    .limit(MAX_HISTORY)
    .execute();
  return rows.map(toRecord);
}

/**
 * The latest record of each of `purposes` among the records of `leadIds` (a lead and the leads
 * merged into it); absent: never recorded.
 */
export async function latestOf(
  db: Kysely<DB>,
  workspaceId: string,
  leadIds: readonly string[],
  purposes: readonly string[],
): Promise<Map<string, ConsentRecord>> {
  const latest = new Map<string, ConsentRecord>();
  const list = paddedInList([...leadIds]);
  for (const purpose of new Set(purposes)) {
    // Compiled once per list length: the query builder cost more than the lookup (a form
    // submission records consent for the lead it just captured).
    const [row] = await selectCompiled<Pick<ConsentRow, (typeof consentColumns)[number]>>(
      db,
      'latestConsentOf',
      list.length,
      (q, n) =>
        q
          .selectFrom('consents')
          .select(consentColumns)
          .where('workspace_id', '=', '')
          .where('lead_id', 'in', placeholders(n))
          .where('purpose', '=', '')
          .orderBy('recorded_at', 'desc')
          .orderBy('id', 'desc')
          .limit(1),
      [workspaceId, ...list, purpose, 1],
    );
    if (row) latest.set(purpose, toRecord(row));
  }
  return latest;
}

/**
 * The latest record of every purpose ever recorded for `leadIds`: the current state, read
 * apart from the history's newest MAX_HISTORY records (a purpose decided long ago and many
 * records of another since is still in force).
 */
export async function currentRecords(
  db: Kysely<DB>,
  workspaceId: string,
  leadIds: readonly string[],
): Promise<ConsentRecord[]> {
  const purposes = await db
    .selectFrom('consents')
    .select('purpose')
    .distinct()
    .where('workspace_id', '=', workspaceId)
    .where('lead_id', 'in', paddedInList([...leadIds]))
    .execute();
  const latest = await latestOf(
    db,
    workspaceId,
    leadIds,
    purposes.map((row) => row.purpose),
  );
  return [...latest.values()];
}

export async function insertRecords(
  db: Kysely<DB>,
  workspaceId: string,
  records: readonly ConsentRecord[],
): Promise<void> {
  if (records.length === 0) return;
  await insertBulk(
    db,
    'insertConsents',
    records.map((r) => consentValues(workspaceId, r)),
    64,
    (q, n) => q.insertInto('consents').values(placeholderRows(insertColumns, n) as never),
  );
}

export interface Confirmation {
  id: string;
  leadId: string;
  email: string;
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  confirmedAt: number | null;
}

export async function insertConfirmation(
  db: Kysely<DB>,
  workspaceId: string,
  c: Confirmation,
): Promise<void> {
  await db
    .insertInto('consent_confirmations')
    .values({
      workspace_id: workspaceId,
      id: c.id,
      lead_id: c.leadId,
      email: c.email,
      token_hash: c.tokenHash,
      created_at: c.createdAt,
      expires_at: c.expiresAt,
      confirmed_at: c.confirmedAt,
      confirm_ip: null,
      confirm_user_agent: null,
    })
    .execute();
}

export async function findConfirmation(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
): Promise<Confirmation | undefined> {
  const row = await db
    .selectFrom('consent_confirmations')
    .select(['id', 'lead_id', 'email', 'token_hash', 'created_at', 'expires_at', 'confirmed_at'])
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return (
    row && {
      id: row.id,
      leadId: row.lead_id,
      email: row.email,
      tokenHash: row.token_hash,
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
      confirmedAt: row.confirmed_at === null ? null : Number(row.confirmed_at),
    }
  );
}

/** Marks a confirmation used; false when it already was (another click won). */
export async function markConfirmed(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  at: number,
  ip: string | null,
  userAgent: string | null,
): Promise<boolean> {
  const result = await db
    .updateTable('consent_confirmations')
    .set({ confirmed_at: at, confirm_ip: ip, confirm_user_agent: userAgent })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('confirmed_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Confirmation emails made for a lead since `since` (epoch ms): the resend cap. */
export async function countConfirmationsSince(
  db: Kysely<DB>,
  workspaceId: string,
  leadId: string,
  since: number,
): Promise<number> {
  const row = await db
    .selectFrom('consent_confirmations')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('lead_id', '=', leadId)
    .where('created_at', '>=', since)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
