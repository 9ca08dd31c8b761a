import type { Kysely } from 'kysely';
import type { Engine } from '../db/database.ts';
import { parseJson, toJson } from '../db/json.ts';
import type { DB } from '../db/schema.ts';
import type { Rotation, RoutingConfig, RoutingRule } from './model.ts';

export async function readConfig(db: Kysely<DB>, workspaceId: string): Promise<RoutingConfig> {
  const row = await db
    .selectFrom('routing_settings')
    .select(['rules', 'fallback_owner_id', 'updated_at'])
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst();
  if (!row) return { rules: [], fallbackOwnerId: null, updatedAt: null };
  return {
    rules: parseJson<RoutingRule[]>(row.rules, []),
    fallbackOwnerId: row.fallback_owner_id,
    updatedAt: Number(row.updated_at),
  };
}

/** Stores the whole configuration (rules and fallback) of a workspace. */
export async function writeConfig(db: Kysely<DB>, workspaceId: string, config: RoutingConfig): Promise<void> {
  const values = {
    rules: toJson(config.rules),
    fallback_owner_id: config.fallbackOwnerId,
    updated_at: config.updatedAt ?? 0,
  };
  await db
    .insertInto('routing_settings')
    .values({ workspace_id: workspaceId, ...values })
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
  // The row must exist to be locked: insert it empty unless it is there.
  await db
    .insertInto('routing_turns')
    .values({ workspace_id: workspaceId, pool, weights: toJson({}), updated_at: now })
    .onConflict((oc) => oc.columns(['workspace_id', 'pool']).doNothing())
    .execute();
  const select = db
    .selectFrom('routing_turns')
    .select('weights')
    .where('workspace_id', '=', workspaceId)
    .where('pool', '=', pool);
  const row = await (engine === 'postgres' ? select.forUpdate() : select).executeTakeFirst();
  return parseJson<Rotation>(row?.weights, {});
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

export async function insertAssignment(
  db: Kysely<DB>,
  workspaceId: string,
  a: AssignmentRecord,
): Promise<void> {
  await db
    .insertInto('assignments')
    .values({
      workspace_id: workspaceId,
      id: a.id,
      lead_id: a.leadId,
      owner_id: a.ownerId,
      previous_owner_id: a.previousOwnerId,
      cause_kind: a.causeKind,
      rule_id: a.ruleId,
      at: a.at,
    })
    .execute();
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

/** How many leads were assigned to this person since `since` (epoch ms, inclusive). */
export async function countAssignedSince(
  db: Kysely<DB>,
  workspaceId: string,
  ownerId: string,
  since: number,
): Promise<number> {
  const row = await db
    .selectFrom('assignments')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('owner_id', '=', ownerId)
    .where('at', '>=', since)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * The owner of a company's account: among the live leads of this domain that have an owner
 * (the lead being routed left out), the person who owns most of them; on a tie, the one who
 * owns the earliest. Reads the leads table directly (through its domain index): the lead
 * service has no account query, and this one is routing's alone.
 */
export async function accountOwner(
  db: Kysely<DB>,
  workspaceId: string,
  companyDomain: string,
  exceptLeadId: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('leads')
    .select((eb) => [
      'owner_id',
      eb.fn.countAll<number | string>().as('n'),
      eb.fn.min<number | string>('created_at').as('first'),
    ])
    .where('workspace_id', '=', workspaceId)
    .where('company_domain', '=', companyDomain)
    .where('owner_id', 'is not', null)
    .where('archived_at', 'is', null)
    .where('merged_into_id', 'is', null)
    .where('id', '!=', exceptLeadId)
    .groupBy('owner_id')
    .orderBy('n', 'desc')
    .orderBy('first', 'asc')
    .limit(1)
    .executeTakeFirst();
  return row?.owner_id ?? undefined;
}
