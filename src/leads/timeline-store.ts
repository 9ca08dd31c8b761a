import type { Kysely } from 'kysely';
import { parseJson, toJson } from '../db/json.ts';
import type { DB } from '../db/schema.ts';
import type { TimelineEntry } from './model.ts';

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
    const rows = await db
      .insertInto('activities')
      .values(
        entries.slice(i, i + perStatement).map((e) => ({
          workspace_id: workspaceId,
          id: e.id,
          lead_id: e.leadId,
          type: e.type,
          occurred_at: e.occurredAt,
          properties: toJson(e.properties),
          created_at: createdAt,
        })),
      )
      .onConflict((oc) => oc.columns(['workspace_id', 'id']).doNothing())
      .returning('id')
      .execute();
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
