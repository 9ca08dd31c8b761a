import type { Kysely } from 'kysely';
import { insertBulk, placeholderRows } from '../db/bulk-insert.ts';
import type { Engine } from '../db/database.ts';
import { paddedInList } from '../db/in-list.ts';
import { parseJson, toJson } from '../db/json.ts';
import type { DB } from '../db/schema.ts';
import type { Rotation, RoutingConfig, RoutingRule } from './model.ts';

/**
 * `updated_at` of a settings row inserted only to be locked (a team removal before the
 * workspace configured anything): it reads as never configured.
 */
const NEVER = 0;

function settingsSelect(db: Kysely<DB>, workspaceId: string) {
  return db
    .selectFrom('routing_settings')
    .select(['rules', 'fallback_owner_id', 'updated_at'])
    .where('workspace_id', '=', workspaceId);
}

function toConfig(
  row: { rules: unknown; fallback_owner_id: string | null; updated_at: number | string } | undefined,
): RoutingConfig {
  if (!row) return { rules: [], fallbackOwnerId: null, updatedAt: null };
  const updatedAt = Number(row.updated_at);
  return {
    rules: parseJson<RoutingRule[]>(row.rules, []),
    fallbackOwnerId: row.fallback_owner_id,
    updatedAt: updatedAt === NEVER ? null : updatedAt,
  };
}

export async function readConfig(db: Kysely<DB>, workspaceId: string): Promise<RoutingConfig> {
  return toConfig(await settingsSelect(db, workspaceId).executeTakeFirst());
}

/**
 * The configuration, its row locked until the transaction ends on PostgreSQL: rule changes,
 * settings changes and team removals of every process take this lock first, so none of them
 * decides on a configuration another is changing. SQLite's writer lock already serialises them.
 */
export async function lockConfig(
  db: Kysely<DB>,
  workspaceId: string,
  engine: Engine,
): Promise<RoutingConfig> {
  const locked = () => {
    const select = settingsSelect(db, workspaceId);
    return (engine === 'postgres' ? select.forUpdate() : select).executeTakeFirst();
  };
  const row = await locked();
  if (row) return toConfig(row);
  // Nothing to lock yet: insert the empty row (a concurrent first change inserting it too waits
  // for this transaction, then inserts nothing), then lock it.
  await db
    .insertInto('routing_settings')
    .values({ workspace_id: workspaceId, rules: toJson([]), fallback_owner_id: null, updated_at: NEVER })
    .onConflict((oc) => oc.column('workspace_id').doNothing())
    .execute();
  return toConfig(await locked());
}

/** Replaces the rules; the fallback owner is left as stored. */
export async function writeRules(
  db: Kysely<DB>,
  workspaceId: string,
  rules: readonly RoutingRule[],
  now: number,
): Promise<void> {
  const values = { rules: toJson(rules), updated_at: now };
  await db
    .insertInto('routing_settings')
    .values({ workspace_id: workspaceId, fallback_owner_id: null, ...values })
    .onConflict((oc) => oc.column('workspace_id').doUpdateSet(values))
    .execute();
}

/** Sets the fallback owner; the rules are left as stored. */
export async function writeFallbackOwner(
  db: Kysely<DB>,
  workspaceId: string,
  ownerId: string | null,
  now: number,
): Promise<void> {
  const values = { fallback_owner_id: ownerId, updated_at: now };
  await db
    .insertInto('routing_settings')
    .values({ workspace_id: workspaceId, rules: toJson([]), ...values })
    .onConflict((oc) => oc.column('workspace_id').doUpdateSet(values))
    .execute();
}

/**
 * A rotation's state, locked until the transaction ends on PostgreSQL (two API processes must
 * not hand out the same turn); SQLite's writer lock already serialises every write.
 */
export async function lockRotation(
  db: Kysely<DB>,
  workspaceId: string,
  pool: string,
  engine: Engine,
  now: number,
): Promise<Rotation> {
  const locked = () => {
    const select = db
      .selectFrom('routing_turns')
      .select('weights')
      .where('workspace_id', '=', workspaceId)
      .where('pool', '=', pool);
    return (engine === 'postgres' ? select.forUpdate() : select).executeTakeFirst();
  };
  const row = await locked();
  if (row) return parseJson<Rotation>(row.weights, {});
  // A pool's first turn: the row must exist to be locked (a concurrent first turn waits here).
  await db
    .insertInto('routing_turns')
    .values({ workspace_id: workspaceId, pool, weights: toJson({}), updated_at: now })
    .onConflict((oc) => oc.columns(['workspace_id', 'pool']).doNothing())
    .execute();
  return parseJson<Rotation>((await locked())?.weights, {});
}

export async function saveRotation(
  db: Kysely<DB>,
  workspaceId: string,
  pool: string,
  rotation: Rotation,
  now: number,
): Promise<void> {
  await db
    .updateTable('routing_turns')
    .set({ weights: toJson(rotation), updated_at: now })
    .where('workspace_id', '=', workspaceId)
    .where('pool', '=', pool)
    .execute();
}

export interface AssignmentRecord {
  id: string;
  leadId: string;
  ownerId: string;
  previousOwnerId: string | null;
  causeKind: string;
  ruleId: string | null;
  at: number;
}

/** The columns `insertAssignments` binds, in order. */
const assignmentColumns = [
  'workspace_id',
  'id',
  'lead_id',
  'owner_id',
  'previous_owner_id',
  'cause_kind',
  'rule_id',
  'at',
] as const;

export async function insertAssignments(
  db: Kysely<DB>,
  workspaceId: string,
  assignments: readonly AssignmentRecord[],
): Promise<void> {
  const rows = assignments.map((a) => [
    workspaceId,
    a.id,
    a.leadId,
    a.ownerId,
    a.previousOwnerId,
    a.causeKind,
    a.ruleId,
    a.at,
  ]);
  // 8 bound values a row: 500 rows stay far below both engines' parameter limits.
  await insertBulk(db, 'insertAssignments', rows, 500, (bulk, n) =>
    bulk.insertInto('assignments').values(placeholderRows(assignmentColumns, n) as never),
  );
}

/** The lead's latest assignment, if it ever had one. */
export async function lastAssignment(
  db: Kysely<DB>,
  workspaceId: string,
  leadId: string,
): Promise<AssignmentRecord | undefined> {
  const row = await db
    .selectFrom('assignments')
    .select(['id', 'lead_id', 'owner_id', 'previous_owner_id', 'cause_kind', 'rule_id', 'at'])
    .where('workspace_id', '=', workspaceId)
    .where('lead_id', '=', leadId)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return (
    row && {
      id: row.id,
      leadId: row.lead_id,
      ownerId: row.owner_id,
      previousOwnerId: row.previous_owner_id,
      causeKind: row.cause_kind,
      ruleId: row.rule_id,
      at: Number(row.at),
    }
  );
}

/**
 * How many leads each of these people was assigned since `since` (epoch ms, inclusive), by
 * person; people with none are absent. One grouped count over the owner index.
 */
export async function countAssignedSince(
  db: Kysely<DB>,
  workspaceId: string,
  ownerIds: readonly string[],
  since: number,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < ownerIds.length; i += 500) {
    const rows = await db
      .selectFrom('assignments')
      .select((eb) => ['owner_id', eb.fn.countAll<number | string>().as('n')])
      .where('workspace_id', '=', workspaceId)
      .where('owner_id', 'in', paddedInList(ownerIds.slice(i, i + 500)))
      .where('at', '>=', since)
      .groupBy('owner_id')
      .execute();
    for (const row of rows) counts.set(row.owner_id, Number(row.n));
  }
  return counts;
}
