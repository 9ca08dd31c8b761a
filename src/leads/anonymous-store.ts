import { type Kysely, sql } from 'kysely';
import { newId } from '../db/ids.ts';
import { paddedInList } from '../db/in-list.ts';
import { toJson } from '../db/json.ts';
import { deleteOlderThan } from '../db/prune.ts';
import type { DB } from '../db/schema.ts';
import type { AnonymousActivity } from './events-model.ts';

/**
 * The SQL of anonymous visitors: their activities before anyone knows who they are, and the
 * links (`anonymous_identities`) made when they identify. A row whose `expires_at` has passed
 * is dead: no read here returns it, and `deleteExpired` removes it.
 */

/**
 * Stores anonymous activities in multi-row statements. A row whose id is already stored and
 * live is skipped (a retry); one whose id belongs to an expired row replaces it, because an
 * expired row no longer exists as far as readers are concerned. Returns the ids written.
 */
export async function insertActivities(
  db: Kysely<DB>,
  workspaceId: string,
  activities: AnonymousActivity[],
  createdAt: number,
): Promise<Set<string>> {
  const inserted = new Set<string>();
  // 8 bound values a row: 1,000 rows stay far below both engines' parameter limits.
  const perStatement = 1000;
  for (let i = 0; i < activities.length; i += perStatement) {
    const rows = await db
      .insertInto('anonymous_activities')
      .values(
        activities.slice(i, i + perStatement).map((a) => ({
          workspace_id: workspaceId,
          id: a.id,
          anonymous_id: a.anonymousId,
          type: a.type,
          occurred_at: a.occurredAt,
          properties: toJson(a.properties),
          created_at: createdAt,
          expires_at: a.expiresAt,
        })),
      )
      .onConflict((oc) =>
        oc
          .columns(['workspace_id', 'id'])
          .doUpdateSet((eb) => ({
            anonymous_id: eb.ref('excluded.anonymous_id'),
            type: eb.ref('excluded.type'),
            occurred_at: eb.ref('excluded.occurred_at'),
            properties: eb.ref('excluded.properties'),
            created_at: eb.ref('excluded.created_at'),
            expires_at: eb.ref('excluded.expires_at'),
          }))
          .where('anonymous_activities.expires_at', '<', createdAt),
      )
      .returning('id')
      .execute();
    for (const row of rows) inserted.add(row.id);
  }
  return inserted;
}

/**
 * Locks these visitors until the transaction ends (PostgreSQL; SQLite serialises its writers):
 * an identify of a visitor moves its stored activities to the lead, and an event of the same
 * visitor written at that moment by another process would be left behind, unlinked and never
 * scored, had it not waited (or made the identify wait) here. Transaction-scoped advisory
 * locks keyed by workspace and visitor, taken in key order so that two batches never hold one
 * each while waiting for the other's.
 */
export async function lockVisitors(
  db: Kysely<DB>,
  workspaceId: string,
  anonymousIds: string[],
): Promise<void> {
  if (anonymousIds.length === 0) return;
  await sql`
    select pg_advisory_xact_lock(k) from (
      select distinct hashtextextended(${workspaceId} || ':' || a, 0) as k
      from unnest(${anonymousIds}::text[]) as a
      order by k
    ) as keys`.execute(db);
}

/** The lead each of these anonymous ids was identified as; unknown ids are absent from the map. */
export async function findIdentities(
  db: Kysely<DB>,
  workspaceId: string,
  anonymousIds: string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const perStatement = 500;
  for (let i = 0; i < anonymousIds.length; i += perStatement) {
    const rows = await db
      .selectFrom('anonymous_identities')
      .select(['anonymous_id', 'lead_id'])
      .where('workspace_id', '=', workspaceId)
      .where('anonymous_id', 'in', paddedInList(anonymousIds.slice(i, i + perStatement)))
      .execute();
    for (const row of rows) found.set(row.anonymous_id, row.lead_id);
  }
  return found;
}

/**
 * Links an anonymous id to a lead. Returns false when the id was already linked (to any lead):
 * the caller re-reads the link to tell a repeat from a conflict.
 */
export async function insertIdentity(
  db: Kysely<DB>,
  workspaceId: string,
  anonymousId: string,
  leadId: string,
  createdAt: number,
): Promise<boolean> {
  const rows = await db
    .insertInto('anonymous_identities')
    .values({ workspace_id: workspaceId, anonymous_id: anonymousId, lead_id: leadId, created_at: createdAt })
    .onConflict((oc) => oc.columns(['workspace_id', 'anonymous_id']).doNothing())
    .returning('anonymous_id')
    .execute();
  return rows.length > 0;
}

/**
 * Moves a visitor's live activities onto a lead's timeline (keeping their ids, so a repeat
 * moves nothing twice and a retried event stays a duplicate) and deletes all of the visitor's
 * anonymous rows, the expired ones included. One INSERT … SELECT: the rows never travel
 * through the process. Returns how many activities reached the timeline.
 */
export async function moveToLead(
  db: Kysely<DB>,
  workspaceId: string,
  anonymousId: string,
  leadId: string,
  now: number,
): Promise<number> {
  const result = await db
    .insertInto('activities')
    .columns(['workspace_id', 'id', 'lead_id', 'type', 'occurred_at', 'properties', 'created_at'])
    .expression((eb) =>
      eb
        .selectFrom('anonymous_activities')
        .select((s) => [
          'workspace_id',
          'id',
          s.val(leadId).as('lead_id'),
          'type',
          'occurred_at',
          'properties',
          'created_at',
        ])
        .where('workspace_id', '=', workspaceId)
        .where('anonymous_id', '=', anonymousId)
        .where('expires_at', '>=', now),
    )
    .onConflict((oc) => oc.columns(['workspace_id', 'id']).doNothing())
    .executeTakeFirst();
  // An id the lead's side already holds for another event (a client that reused one id for a
  // visitor's event and a known lead's): both were acknowledged as stored, so this one moves
  // under an id of its own rather than being dropped. The same event stored twice (same lead,
  // type and time: a retry after the visitor was identified elsewhere) stays once.
  const clashes = await db
    .selectFrom('anonymous_activities as an')
    .innerJoin('activities as a', (join) =>
      join.onRef('a.workspace_id', '=', 'an.workspace_id').onRef('a.id', '=', 'an.id'),
    )
    .select(['an.type', 'an.occurred_at', 'an.properties', 'an.created_at'])
    .where('an.workspace_id', '=', workspaceId)
    .where('an.anonymous_id', '=', anonymousId)
    .where('an.expires_at', '>=', now)
    .where((eb) =>
      eb.or([
        eb('a.lead_id', '!=', leadId),
        eb('a.type', '!=', eb.ref('an.type')),
        eb('a.occurred_at', '!=', eb.ref('an.occurred_at')),
      ]),
    )
    .execute();
  if (clashes.length > 0) {
    await db
      .insertInto('activities')
      .values(
        clashes.map((row) => ({
          workspace_id: workspaceId,
          id: newId(),
          lead_id: leadId,
          type: row.type,
          occurred_at: row.occurred_at,
          properties: row.properties,
          created_at: row.created_at,
        })),
      )
      .execute();
  }
  await db
    .deleteFrom('anonymous_activities')
    .where('workspace_id', '=', workspaceId)
    .where('anonymous_id', '=', anonymousId)
    .execute();
  return Number(result.numInsertedOrUpdatedRows ?? 0) + clashes.length;
}

/**
 * The workspaces that hold anonymous activities, by a loose index scan: one index probe per
 * workspace instead of a scan of every row (`select distinct` reads the whole index).
 */
export async function workspacesWithAnonymous(db: Kysely<DB>): Promise<string[]> {
  const result = await sql<{ workspace_id: string | null }>`
    with recursive w (workspace_id) as (
      select (select workspace_id from anonymous_activities order by workspace_id limit 1)
      union all
      select (
        select a.workspace_id from anonymous_activities a
        where a.workspace_id > w.workspace_id order by a.workspace_id limit 1
      )
      from w where w.workspace_id is not null
    )
    select workspace_id from w where workspace_id is not null`.execute(db);
  return result.rows.map((row) => row.workspace_id!);
}

/** Deletes up to `limit` of a workspace's activities that expired before `now`; returns how many. */
export function deleteExpired(
  db: Kysely<DB>,
  workspaceId: string,
  now: number,
  limit: number,
): Promise<number> {
  return deleteOlderThan(
    db,
    { table: 'anonymous_activities', timeColumn: 'expires_at' },
    workspaceId,
    now,
    limit,
  );
}
