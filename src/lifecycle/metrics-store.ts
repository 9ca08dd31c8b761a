import { type Kysely, sql } from 'kysely';
import { parseJson } from '../db/json.ts';
import type { DB } from '../db/schema.ts';
import type { Stage } from './model.ts';

/**
 * The SQL of the lifecycle metrics, over the stage history alone: how long leads stayed in a
 * stage before leaving it, who became a customer, why sales rejected MQLs. Times are
 * [from, to) in epoch ms. Each query reads the workspace's stage changes; `stage_changes_lead_ix`
 * (workspace, lead, at) serves the per-lead ordering.
 */

/**
 * Every move out of a stage in [from, to), with when the lead had entered that stage: the
 * lead's previous move (over its whole history before `to`), or null for its first recorded
 * move (it entered its first stage when it was created: the caller knows when).
 */
function exitsWithEntry(db: Kysely<DB>, workspaceId: string, from: number, to: number) {
  const movedInWindow = db
    .selectFrom('stage_changes')
    .select('lead_id')
    .where('workspace_id', '=', workspaceId)
    .where('at', '>=', from)
    .where('at', '<', to);
  const withEntry = db
    .selectFrom('stage_changes')
    .select((eb) => [
      'lead_id',
      'from_stage',
      'at',
      'cause_kind',
      eb.fn
        .agg<number | string | null>('lag', ['at'])
        .over((ob) => ob.partitionBy('lead_id').orderBy('at').orderBy('id'))
        .as('entered_at'),
    ])
    .where('workspace_id', '=', workspaceId)
    .where('at', '<', to)
    .where('lead_id', 'in', movedInWindow);
  return db
    .selectFrom(withEntry.as('m'))
    .where('m.at', '>=', from)
    .where('m.from_stage', 'is not', null)
    .where('m.cause_kind', '<>', MERGE);
}

/**
 * A merge moves the survivor to the later stage of the two leads (a 'merge' change): the merged
 * lead's own history already has that move, made when it happened, so counting the merge too
 * would count one person twice (two customers, two exits).
 */
const MERGE = 'merge';

/** Per stage left in [from, to) after a recorded entry: how many exits and their total time in it. */
export async function stageExitTotals(
  db: Kysely<DB>,
  workspaceId: string,
  from: number,
  to: number,
): Promise<Array<{ stage: Stage; exits: number; totalMs: number }>> {
  const rows = await exitsWithEntry(db, workspaceId, from, to)
    .where('m.entered_at', 'is not', null)
    .select((eb) => [
      'm.from_stage',
      eb.fn.countAll<number | string>().as('n'),
      eb.fn.sum<number | string>(sql<number>`m.at - m.entered_at`).as('total'),
    ])
    .groupBy('m.from_stage')
    .execute();
  return rows.map((r) => ({ stage: r.from_stage as Stage, exits: Number(r.n), totalMs: Number(r.total) }));
}

/** Leads' first recorded moves in [from, to): the stage they were created in, and when they left it. */
export async function firstExits(
  db: Kysely<DB>,
  workspaceId: string,
  from: number,
  to: number,
): Promise<Array<{ leadId: string; stage: Stage; at: number }>> {
  const rows = await exitsWithEntry(db, workspaceId, from, to)
    .where('m.entered_at', 'is', null)
    .select(['m.lead_id', 'm.from_stage', 'm.at'])
    .execute();
  return rows.map((r) => ({ leadId: r.lead_id, stage: r.from_stage as Stage, at: Number(r.at) }));
}

/** Leads that became customers in [from, to), with when (a lead won twice counts at its first win in the window). */
export async function becameCustomers(
  db: Kysely<DB>,
  workspaceId: string,
  from: number,
  to: number,
): Promise<Array<{ leadId: string; at: number }>> {
  const rows = await db
    .selectFrom('stage_changes')
    .select((eb) => ['lead_id', eb.fn.min('at').as('at')])
    .where('workspace_id', '=', workspaceId)
    .where('to_stage', '=', 'customer')
    .where('cause_kind', '<>', MERGE)
    .where('at', '>=', from)
    .where('at', '<', to)
    .groupBy('lead_id')
    .execute();
  return rows.map((r) => ({ leadId: r.lead_id, at: Number(r.at) }));
}

/** Sales rejections of MQLs in [from, to), counted by reason code. */
export async function rejectionReasonCounts(
  db: Kysely<DB>,
  workspaceId: string,
  from: number,
  to: number,
): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('stage_changes')
    .select('cause')
    .where('workspace_id', '=', workspaceId)
    .where('cause_kind', '=', 'sales')
    .where('to_stage', '<>', 'sql')
    .where('at', '>=', from)
    .where('at', '<', to)
    .execute();
  const counts: Record<string, number> = {};
  for (const row of rows) {
    const reason = parseJson<{ reason?: unknown }>(row.cause, {}).reason;
    const key = typeof reason === 'string' ? reason : 'other';
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
