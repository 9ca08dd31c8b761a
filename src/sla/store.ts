import { type Kysely, sql } from 'kysely';
import { parseJson, toJson } from '../db/json.ts';
import type { DB, SlaTimerRow } from '../db/schema.ts';
import type { SlaPolicy } from './model.ts';

export async function listPolicies(db: Kysely<DB>, workspaceId: string): Promise<SlaPolicy[]> {
  const rows = await db
    .selectFrom('sla_policies')
    .select(['id', 'definition'])
    .where('workspace_id', '=', workspaceId)
    .orderBy('position')
    .execute();
  return rows.map((r) => ({ ...parseJson<Omit<SlaPolicy, 'id'>>(r.definition, {} as never), id: r.id }));
}

/**
 * Holds the workspace's policies until the transaction ends (PostgreSQL; SQLite serialises its
 * writers): a replacement deletes them and inserts the new list, and two replacements at once
 * in two processes would each delete only the rows there before both, leaving both lists. A
 * transaction-scoped advisory lock keyed by workspace: there may be no row yet to lock.
 */
export async function lockPolicies(db: Kysely<DB>, workspaceId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${workspaceId} || ':sla_policies', 0))`.execute(db);
}

/** Replaces every policy of the workspace with `policies`, in order (after `lockPolicies`). */
export async function replacePolicies(
  db: Kysely<DB>,
  workspaceId: string,
  policies: readonly SlaPolicy[],
  now: number,
): Promise<void> {
  await db.deleteFrom('sla_policies').where('workspace_id', '=', workspaceId).execute();
  if (policies.length === 0) return;
  await db
    .insertInto('sla_policies')
    .values(
      policies.map(({ id, ...definition }, position) => ({
        workspace_id: workspaceId,
        id,
        position,
        definition: toJson(definition),
        created_at: now,
        updated_at: now,
      })),
    )
    .execute();
}

export type SlaStatus = 'pending' | 'met' | 'breached' | 'cancelled';

export interface SlaTimer {
  id: string;
  leadId: string;
  policyId: string;
  policyName: string;
  ownerId: string | null;
  trigger: string;
  startedAt: number;
  dueAt: number;
  warnAt: number | null;
  status: SlaStatus;
  metAt: number | null;
  metBy: string | null;
  breachedAt: number | null;
  escalation: { notified: string[]; reassignedTo: string | null } | null;
}

const timerColumns = [
  'id',
  'lead_id',
  'policy_id',
  'policy_name',
  'owner_id',
  'trigger',
  'started_at',
  'due_at',
  'warn_at',
  'status',
  'met_at',
  'met_by',
  'breached_at',
  'escalation',
] as const;

function toTimer(row: Pick<SlaTimerRow, (typeof timerColumns)[number]>): SlaTimer {
  return {
    id: row.id,
    leadId: row.lead_id,
    policyId: row.policy_id,
    policyName: row.policy_name,
    ownerId: row.owner_id,
    trigger: row.trigger,
    startedAt: row.started_at,
    dueAt: row.due_at,
    warnAt: row.warn_at,
    status: row.status as SlaStatus,
    metAt: row.met_at,
    metBy: row.met_by,
    breachedAt: row.breached_at,
    escalation: parseJson<SlaTimer['escalation']>(row.escalation, null),
  };
}

export async function insertTimer(
  db: Kysely<DB>,
  workspaceId: string,
  timer: SlaTimer,
  now: number,
): Promise<void> {
  await db
    .insertInto('sla_timers')
    .values({
      workspace_id: workspaceId,
      id: timer.id,
      lead_id: timer.leadId,
      policy_id: timer.policyId,
      policy_name: timer.policyName,
      owner_id: timer.ownerId,
      trigger: timer.trigger,
      started_at: timer.startedAt,
      due_at: timer.dueAt,
      warn_at: timer.warnAt,
      status: timer.status,
      met_at: null,
      met_by: null,
      breached_at: null,
      escalation: null,
      created_at: now,
    })
    .execute();
}

/** Timers of these leads still waiting for a first touch. */
export async function pendingTimers(
  db: Kysely<DB>,
  workspaceId: string,
  leadIds: readonly string[],
): Promise<SlaTimer[]> {
  if (leadIds.length === 0) return [];
  const rows = await db
    .selectFrom('sla_timers')
    .select(timerColumns)
    .where('workspace_id', '=', workspaceId)
    .where('lead_id', 'in', [...leadIds])
    .where('status', '=', 'pending')
    .execute();
  return rows.map(toTimer);
}

export async function findTimer(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
): Promise<SlaTimer | undefined> {
  const row = await db
    .selectFrom('sla_timers')
    .select(timerColumns)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toTimer(row);
}

/** A lead's timers, newest first. */
export async function timersOf(db: Kysely<DB>, workspaceId: string, leadId: string): Promise<SlaTimer[]> {
  const rows = await db
    .selectFrom('sla_timers')
    .select(timerColumns)
    .where('workspace_id', '=', workspaceId)
    .where('lead_id', '=', leadId)
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map(toTimer);
}

/** Marks pending timers met; returns the ids it changed (a timer closed meanwhile is not met). */
export async function markMet(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
  at: number,
  by: string | null,
): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .updateTable('sla_timers')
    .set({ status: 'met', met_at: at, met_by: by })
    .where('workspace_id', '=', workspaceId)
    .where('id', 'in', [...ids])
    .where('status', '=', 'pending')
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Closes a pending timer as breached (or cancelled). Conditional on `pending`, so it is the
 * claim: false when a touch met it, or another run closed it, first.
 */
export async function closeTimer(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  status: 'breached' | 'cancelled',
  at: number,
): Promise<boolean> {
  const result = await db
    .updateTable('sla_timers')
    .set({ status, breached_at: status === 'breached' ? at : null })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * Claims a pending timer's warning: true once, for the run that sets `warned_at`; false when
 * the timer is no longer pending or its warning already went out.
 */
export async function claimWarning(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  at: number,
): Promise<boolean> {
  const result = await db
    .updateTable('sla_timers')
    .set({ warned_at: at })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('warned_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** What a breach did (who was told, who got the lead). */
export async function recordEscalation(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  escalation: SlaTimer['escalation'],
): Promise<void> {
  await db
    .updateTable('sla_timers')
    .set({ escalation: toJson(escalation) })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

/** How many timers of this policy were breached for this lead since `since` (reassignment chain length). */
export async function breachesSince(
  db: Kysely<DB>,
  workspaceId: string,
  leadId: string,
  policyId: string,
  since: number,
): Promise<number> {
  const row = await db
    .selectFrom('sla_timers')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('lead_id', '=', leadId)
    .where('policy_id', '=', policyId)
    .where('status', '=', 'breached')
    .where('started_at', '>=', since)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export interface FirstContact {
  at: number;
  userId: string | null;
  activityType: string;
  msSinceCreated: number;
}

/** Records a lead's first contact; a later touch changes nothing. */
export async function recordFirstContact(
  db: Kysely<DB>,
  workspaceId: string,
  leadId: string,
  contact: FirstContact,
) {
  await db
    .insertInto('lead_first_contacts')
    .values({
      workspace_id: workspaceId,
      lead_id: leadId,
      at: contact.at,
      user_id: contact.userId,
      activity_type: contact.activityType,
      ms_since_created: contact.msSinceCreated,
    })
    .onConflict((oc) => oc.columns(['workspace_id', 'lead_id']).doNothing())
    .execute();
}

export async function firstContactOf(
  db: Kysely<DB>,
  workspaceId: string,
  leadId: string,
): Promise<FirstContact | undefined> {
  const row = await db
    .selectFrom('lead_first_contacts')
    .select(['at', 'user_id', 'activity_type', 'ms_since_created'])
    .where('workspace_id', '=', workspaceId)
    .where('lead_id', '=', leadId)
    .executeTakeFirst();
  return (
    row && {
      at: row.at,
      userId: row.user_id,
      activityType: row.activity_type,
      msSinceCreated: row.ms_since_created,
    }
  );
}

/** Timer outcomes of timers started in [from, to] (both ends included), and first-contact times of leads first touched then. */
export async function metrics(db: Kysely<DB>, workspaceId: string, from: number, to: number) {
  const statuses = await db
    .selectFrom('sla_timers')
    .select(['policy_id', 'policy_name', 'status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('workspace_id', '=', workspaceId)
    .where('started_at', '>=', from)
    .where('started_at', '<=', to)
    .groupBy(['policy_id', 'policy_name', 'status'])
    .execute();
  const contacts = await db
    .selectFrom('lead_first_contacts')
    .select('ms_since_created')
    .where('workspace_id', '=', workspaceId)
    .where('at', '>=', from)
    .where('at', '<=', to)
    .orderBy('ms_since_created')
    .execute();
  return {
    statuses: statuses.map((r) => ({
      policyId: r.policy_id,
      policyName: r.policy_name,
      status: r.status,
      n: Number(r.n),
    })),
    firstContactMs: contacts.map((r) => r.ms_since_created),
  };
}
