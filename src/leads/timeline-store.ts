import type { Kysely } from 'kysely';
import { executeBulk, placeholderRows } from '../db/bulk-insert.ts';
import { parseJson, toJson } from '../db/json.ts';
import type { DB } from '../db/schema.ts';
import type { TimelineEntry } from './model.ts';

/** The columns `insertEntries` binds, in order. */
const activityColumns = [
  'workspace_id',
  'id',
  'lead_id',
  'type',
  'occurred_at',
  'properties',
  'created_at',
] as const;

/**
 * Appends timeline entries (activities and system entries). An entry whose id is already
 * stored is skipped: that is what makes client-supplied event ids safe to retry.
 * Returns the ids that were new.
 */
export async function insertEntries(
  db: Kysely<DB>,
  workspaceId: string,
  entries: TimelineEntry[],
  createdAt: number,
): Promise<Set<string>> {
  const inserted = new Set<string>();
  const perStatement = 1000;
  for (let i = 0; i < entries.length; i += perStatement) {
    const slice = entries.slice(i, i + perStatement);
    const parameters: unknown[] = [];
    for (const e of slice) {
      parameters.push(workspaceId, e.id, e.leadId, e.type, e.occurredAt, toJson(e.properties), createdAt);
    }
    const { rows } = await executeBulk<{ id: string }>(
      db,
      'insertEntries',
      slice.length,
      (bulk, n) =>
        bulk
          .insertInto('activities')
          .values(placeholderRows(activityColumns, n) as never)
          .onConflict((oc) => oc.columns(['workspace_id', 'id']).doNothing())
          .returning('id'),
      parameters,
    );
    for (const row of rows) inserted.add(row.id);
  }
  return inserted;
}

export async function listEntries(
  db: Kysely<DB>,
  workspaceId: string,
  leadId: string,
  limit: number,
  after?: { occurredAt: number; id: string },
): Promise<TimelineEntry[]> {
  let select = db
    .selectFrom('activities')
    .select(['id', 'lead_id', 'type', 'occurred_at', 'properties'])
    .where('workspace_id', '=', workspaceId)
    .where('lead_id', '=', leadId);
  if (after) {
    select = select.where((eb) =>
      eb.or([
        eb('occurred_at', '<', after.occurredAt),
        eb.and([eb('occurred_at', '=', after.occurredAt), eb('id', '<', after.id)]),
      ]),
    );
  }
  const rows = await select.orderBy('occurred_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map((row) => ({
    id: row.id,
    leadId: row.lead_id,
    type: row.type,
    occurredAt: row.occurred_at,
    properties: parseJson<Record<string, unknown>>(row.properties, {}),
  }));
}

/** Moves a merged-away lead's timeline to the lead it was merged into. */
export async function moveEntries(
  db: Kysely<DB>,
  workspaceId: string,
  fromLeadId: string,
  toLeadId: string,
): Promise<void> {
  await db
    .updateTable('activities')
    .set({ lead_id: toLeadId })
    .where('workspace_id', '=', workspaceId)
    .where('lead_id', '=', fromLeadId)
    .execute();
}
