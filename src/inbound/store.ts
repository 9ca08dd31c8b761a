import { type Kysely, sql } from 'kysely';
import { parseJson, toJson } from '../db/json.ts';
import { deleteOlderThan } from '../db/prune.ts';
import type { DB, InboundLeadRow, InboundSourceRow } from '../db/schema.ts';
import type { FieldError } from '../errors.ts';
import type { InboundKind, InboundLead, InboundStatus, SecretSource, SourceSettings } from './model.ts';

const sourceColumns = [
  'workspace_id',
  'id',
  'kind',
  'name',
  'source',
  'form_id',
  'field_mapping',
  'settings',
  'secrets',
  'last_received_at',
  'created_at',
  'updated_at',
] as const;

function toSource(row: Pick<InboundSourceRow, (typeof sourceColumns)[number]>): SecretSource {
  const secrets = parseJson<Record<string, string>>(row.secrets, {});
  return {
    id: row.id,
    kind: row.kind as InboundKind,
    name: row.name,
    source: row.source,
    formId: row.form_id,
    fieldMapping: parseJson<Record<string, string>>(row.field_mapping, {}),
    settings: parseJson<SourceSettings>(row.settings, {} as SourceSettings),
    secretsSet: Object.keys(secrets).sort(),
    secrets,
    lastReceivedAt: row.last_received_at === null ? null : Number(row.last_received_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export async function insertSource(db: Kysely<DB>, workspaceId: string, source: SecretSource): Promise<void> {
  await db
    .insertInto('inbound_sources')
    .values({
      workspace_id: workspaceId,
      id: source.id,
      kind: source.kind,
      name: source.name,
      source: source.source,
      form_id: source.formId,
      field_mapping: toJson(source.fieldMapping),
      settings: toJson(source.settings),
      secrets: toJson(source.secrets),
      last_received_at: source.lastReceivedAt,
      created_at: source.createdAt,
      updated_at: source.updatedAt,
    })
    .execute();
}

/** Writes what a person edits; false when the source is gone. */
export async function updateSource(
  db: Kysely<DB>,
  workspaceId: string,
  source: SecretSource,
): Promise<boolean> {
  const result = await db
    .updateTable('inbound_sources')
    .set({
      name: source.name,
      source: source.source,
      form_id: source.formId,
      field_mapping: toJson(source.fieldMapping),
      settings: toJson(source.settings),
      secrets: toJson(source.secrets),
      updated_at: source.updatedAt,
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', source.id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * The source with its secrets; with `lock` (PostgreSQL, in a write that stores it back) its row
 * stays locked until the transaction ends, so another process's change to it waits instead of
 * being undone.
 */
export async function findSource(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  lock = false,
): Promise<SecretSource | undefined> {
  const select = db
    .selectFrom('inbound_sources')
    .select(sourceColumns)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id);
  const row = await (lock ? select.forUpdate() : select).executeTakeFirst();
  return row && toSource(row);
}

/** The source behind a public address `/in/{id}`, whatever its workspace (the id-only index). */
export async function findPublicSource(
  db: Kysely<DB>,
  id: string,
): Promise<{ workspaceId: string; source: SecretSource } | undefined> {
  const row = await db
    .selectFrom('inbound_sources')
    .select(sourceColumns)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && { workspaceId: row.workspace_id, source: toSource(row) };
}

export async function listSources(db: Kysely<DB>, workspaceId: string): Promise<SecretSource[]> {
  const rows = await db
    .selectFrom('inbound_sources')
    .select(sourceColumns)
    .where('workspace_id', '=', workspaceId)
    .orderBy('id')
    .execute();
  return rows.map(toSource);
}

export async function countSources(db: Kysely<DB>, workspaceId: string): Promise<number> {
  const row = await db
    .selectFrom('inbound_sources')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Deletes a source (its log is deleted apart, in chunks: deleteLogChunk); false when there was none. */
export async function deleteSource(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('inbound_sources')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Deletes up to `limit` entries of a source's log; returns how many. */
export async function deleteLogChunk(
  db: Kysely<DB>,
  workspaceId: string,
  sourceId: string,
  limit: number,
): Promise<number> {
  const result = await sql`
    delete from inbound_leads
    where workspace_id = ${workspaceId}
      and id in (
        select id from inbound_leads
        where workspace_id = ${workspaceId} and source_id = ${sourceId}
        limit ${limit}
      )`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * Deletes up to `limit` log entries of a workspace (every source) that arrived before
 * `before`, only those in `status` when given; returns how many.
 */
export function pruneLog(
  db: Kysely<DB>,
  workspaceId: string,
  status: InboundStatus | undefined,
  before: number,
  limit: number,
): Promise<number> {
  return deleteOlderThan(
    db,
    {
      table: 'inbound_leads',
      timeColumn: 'received_at',
      ...(status !== undefined ? { state: status, stateColumn: 'status' as const } : {}),
    },
    workspaceId,
    before,
    limit,
  );
}

export async function markReceived(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  now: number,
): Promise<void> {
  await db
    .updateTable('inbound_sources')
    .set({ last_received_at: now })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

// ---------------------------------------------------------------------------------------------
// The log of external leads

const leadColumns = [
  'id',
  'source_id',
  'external_id',
  'status',
  'lead_id',
  'event_id',
  'payload',
  'errors',
  'warnings',
  'fetch_attempts',
  'received_at',
  'captured_at',
  'updated_at',
] as const;

function toInboundLead(row: Pick<InboundLeadRow, (typeof leadColumns)[number]>): InboundLead {
  return {
    id: row.id,
    sourceId: row.source_id,
    externalId: row.external_id,
    status: row.status as InboundStatus,
    leadId: row.lead_id,
    eventId: row.event_id,
    payload: parseJson<unknown>(row.payload, null),
    errors: parseJson<FieldError[]>(row.errors, []),
    warnings: parseJson<FieldError[]>(row.warnings, []),
    fetchAttempts: row.fetch_attempts,
    receivedAt: Number(row.received_at),
    capturedAt: row.captured_at === null ? null : Number(row.captured_at),
    updatedAt: Number(row.updated_at),
  };
}

/**
 * Records an external lead as received; false when the source already has one with this
 * external id (a retried delivery), which is left as it was.
 */
export async function insertInboundLead(
  db: Kysely<DB>,
  workspaceId: string,
  lead: InboundLead,
): Promise<boolean> {
  const inserted = await db
    .insertInto('inbound_leads')
    .values({
      workspace_id: workspaceId,
      id: lead.id,
      source_id: lead.sourceId,
      external_id: lead.externalId,
      status: lead.status,
      lead_id: lead.leadId,
      event_id: lead.eventId,
      payload: lead.payload === null ? null : toJson(lead.payload),
      errors: lead.errors.length > 0 ? toJson(lead.errors) : null,
      warnings: lead.warnings.length > 0 ? toJson(lead.warnings) : null,
      fetch_attempts: lead.fetchAttempts,
      received_at: lead.receivedAt,
      captured_at: lead.capturedAt,
      updated_at: lead.updatedAt,
    })
    .onConflict((oc) => oc.columns(['workspace_id', 'source_id', 'external_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** Writes the outcome of a capture or fetch attempt. */
export async function updateInboundLead(
  db: Kysely<DB>,
  workspaceId: string,
  lead: InboundLead,
): Promise<void> {
  await db
    .updateTable('inbound_leads')
    .set({
      status: lead.status,
      lead_id: lead.leadId,
      payload: lead.payload === null ? null : toJson(lead.payload),
      errors: lead.errors.length > 0 ? toJson(lead.errors) : null,
      warnings: lead.warnings.length > 0 ? toJson(lead.warnings) : null,
      fetch_attempts: lead.fetchAttempts,
      captured_at: lead.capturedAt,
      updated_at: lead.updatedAt,
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', lead.id)
    .execute();
}

export async function findInboundLead(
  db: Kysely<DB>,
  workspaceId: string,
  sourceId: string,
  id: string,
): Promise<InboundLead | undefined> {
  const row = await db
    .selectFrom('inbound_leads')
    .select(leadColumns)
    .where('workspace_id', '=', workspaceId)
    .where('source_id', '=', sourceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toInboundLead(row);
}

export interface InboundLeadFilter {
  status?: InboundStatus | undefined;
  limit: number;
  /** Ids before this one (the previous page's last). */
  before?: string | undefined;
}

/** A source's log, newest first. */
export async function listInboundLeads(
  db: Kysely<DB>,
  workspaceId: string,
  sourceId: string,
  filter: InboundLeadFilter,
): Promise<InboundLead[]> {
  let query = db
    .selectFrom('inbound_leads')
    .select(leadColumns)
    .where('workspace_id', '=', workspaceId)
    .where('source_id', '=', sourceId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.before) query = query.where('id', '<', filter.before);
  const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute();
  return rows.map(toInboundLead);
}

/** How many external leads each source (or the one given) has per status. */
export async function countByStatus(
  db: Kysely<DB>,
  workspaceId: string,
  sourceId?: string,
): Promise<Map<string, Record<InboundStatus, number>>> {
  let query = db
    .selectFrom('inbound_leads')
    .select((eb) => ['source_id', 'status', eb.fn.countAll<number>().as('n')])
    .where('workspace_id', '=', workspaceId);
  if (sourceId !== undefined) query = query.where('source_id', '=', sourceId);
  const rows = await query.groupBy(['source_id', 'status']).execute();
  const counts = new Map<string, Record<InboundStatus, number>>();
  for (const row of rows) {
    const entry = counts.get(row.source_id) ?? { pending: 0, captured: 0, failed: 0 };
    entry[row.status as InboundStatus] = Number(row.n);
    counts.set(row.source_id, entry);
  }
  return counts;
}
