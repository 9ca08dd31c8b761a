import { type Kysely, sql } from 'kysely';
import { insertBulk, placeholderRows, selectCompiled } from '../db/bulk-insert.ts';
import { paddedInList, placeholders } from '../db/in-list.ts';
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
  // 7 bound values a row: 1,000 rows stay far below both engines' parameter limits.
  const written = await insertBulk<{ id: string }>(
    db,
    'insertEntries',
    entryRows(workspaceId, entries, createdAt),
    1000,
    (bulk, n) =>
      bulk
        .insertInto('activities')
        .values(placeholderRows(activityColumns, n) as never)
        .onConflict((oc) => oc.columns(['workspace_id', 'id']).doNothing())
        .returning('id'),
    {
      table: 'activities',
      columns: activityColumns,
      suffix: 'on conflict (workspace_id, id) do nothing returning id',
    },
  );
  return new Set(written.map((row) => row.id));
}

/** Which of these activity ids are stored, and on whose timeline: id -> lead id. */
export async function findStoredEntries(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 500) {
    const list = paddedInList(ids.slice(i, i + 500));
    const rows = await selectCompiled<{ id: string; lead_id: string }>(
      db,
      'findStoredEntries',
      list.length,
      (q, n) =>
        q
          .selectFrom('activities')
          // `created_at` is not in activities_history_ix: without it SQLite (no statistics)
          // took that index as covering and scanned every activity of the workspace, instead
          // of seeking each id in the primary key. (Ingest slowed to half.)
          .select(['id', 'lead_id', 'created_at'])
          .where('workspace_id', '=', '')
          .where('id', 'in', placeholders(n)),
      [workspaceId, ...list],
    );
    for (const row of rows) out.set(row.id, row.lead_id);
  }
  return out;
}

/**
 * Appends entries whose ids Leadline has just made (system entries such as `lead_created`):
 * no id can already be stored, so no conflict check and nothing to return.
 */
export async function appendEntries(
  db: Kysely<DB>,
  workspaceId: string,
  entries: TimelineEntry[],
  createdAt: number,
): Promise<void> {
  await insertBulk(
    db,
    'appendEntries',
    entryRows(workspaceId, entries, createdAt),
    1000,
    (bulk, n) => bulk.insertInto('activities').values(placeholderRows(activityColumns, n) as never),
    { table: 'activities', columns: activityColumns },
  );
}

function entryRows(workspaceId: string, entries: TimelineEntry[], createdAt: number): unknown[][] {
  return entries.map((e) => [
    workspaceId,
    e.id,
    e.leadId,
    e.type,
    e.occurredAt,
    toJson(e.properties),
    createdAt,
  ]);
}

/** A lead's timeline page, newest first (on SQLite read from `activities_history_ix` alone). */
export function timelineQuery(
  db: Kysely<DB>,
  workspaceId: string,
  leadId: string,
  limit: number,
  after?: { occurredAt: number; id: string },
) {
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
  return select.orderBy('occurred_at', 'desc').orderBy('id', 'desc').limit(limit);
}

export async function listEntries(
  db: Kysely<DB>,
  workspaceId: string,
  leadId: string,
  limit: number,
  after?: { occurredAt: number; id: string },
): Promise<TimelineEntry[]> {
  const rows = await timelineQuery(db, workspaceId, leadId, limit, after).execute();
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

/** Which leads a history read covers: some by id (at most 500), or a run between two ids. */
export type HistoryLeads = { ids: readonly string[] } | { from: string; to: string };

/**
 * The history of these leads in `types`, in lead and time order; the properties of the types in
 * `withProperties` only (null for the others: no rule looks at them, and reading and parsing
 * them was a good part of a rescore). On SQLite a walk along `activities_history_ix`, which
 * holds every column read here: no table lookups.
 */
export function historyQuery(
  db: Kysely<DB>,
  workspaceId: string,
  leads: HistoryLeads,
  types: readonly string[],
  withProperties: readonly string[] = types,
) {
  const select = db
    .selectFrom('activities')
    // Named as TimelineEntry's fields: `activitiesOf` turns each row into the entry itself.
    .select(['id', 'lead_id as leadId', 'type', 'occurred_at as occurredAt'])
    .select((eb) =>
      withProperties.length === 0
        ? sql<string | null>`null`.as('properties')
        : eb
            .case()
            .when('type', 'in', paddedInList(withProperties))
            .then(eb.ref('properties'))
            .else(null)
            .end()
            .as('properties'),
    )
    .where('workspace_id', '=', workspaceId);
  const ofLeads =
    'ids' in leads
      ? select.where('lead_id', 'in', paddedInList(leads.ids))
      : select.where('lead_id', '>=', leads.from).where('lead_id', '<=', leads.to);
  return ofLeads
    .where('type', 'in', paddedInList(types))
    .orderBy('lead_id')
    .orderBy('occurred_at')
    .orderBy('id');
}

/**
 * Every activity of these leads whose type is in `types`, oldest first per lead: what a
 * rescore replays. System entries (`lead_created`…) are excluded by `types`. Properties are
 * read for the types in `withProperties` only (the others get `{}`).
 *
 * With `run`, `leadIds` are a rescore's chunk (see `findLeadsToRescore`): read as one stretch of
 * the history index between the first and the last, not one seek per lead (a million leads in
 * chunks of 1,000: 10.8 s instead of 12.5 s, probe alternating the two); activities of leads not
 * among them are dropped.
 */
export async function activitiesOf(
  db: Kysely<DB>,
  workspaceId: string,
  leadIds: readonly string[],
  { types, withProperties = types, run = false }: ActivitiesOptions,
): Promise<Map<string, TimelineEntry[]>> {
  const byLead = new Map<string, TimelineEntry[]>();
  if (types.length === 0 || leadIds.length === 0) return byLead;
  const wanted = run ? new Set(leadIds) : undefined;
  const parts: HistoryLeads[] = run
    ? [{ from: leadIds[0]!, to: leadIds.at(-1)! }]
    : Array.from({ length: Math.ceil(leadIds.length / 500) }, (_, i) => ({
        ids: leadIds.slice(i * 500, i * 500 + 500),
      }));
  for (const leads of parts) {
    const rows = await historyQuery(db, workspaceId, leads, types, withProperties).execute();
    // Rows come grouped by lead (the query orders by lead_id): a row of the same lead as the
    // one before goes to the same list, found by comparing ids, not by hashing each row's id
    // in the map (a rescore reads ten million rows for a million leads).
    let lead: string | undefined;
    let list: TimelineEntry[] | undefined;
    for (const row of rows) {
      if (row.leadId !== lead) {
        lead = row.leadId;
        list = wanted && !wanted.has(lead) ? undefined : [];
        if (list) byLead.set(lead, list);
      }
      if (!list) continue;
      // The row becomes the entry (its properties parsed in place): a rescore reads millions
      // of them, and a second object per row was a good share of its garbage. Rows whose
      // properties were not read share one frozen empty object, for the same reason.
      const entry = row as unknown as TimelineEntry;
      entry.properties = parseJson<Record<string, unknown>>(row.properties, noProperties);
      list.push(entry);
    }
  }
  return byLead;
}

/** The properties of a replayed activity whose properties no rule reads. */
const noProperties: Record<string, unknown> = Object.freeze({});

export interface ActivitiesOptions {
  types: readonly string[];
  /** The types whose properties are read. (Default: `types`.) */
  withProperties?: readonly string[];
  /** `leadIds` are a run: ascending, no live lead between the first and the last left out. */
  run?: boolean;
}
