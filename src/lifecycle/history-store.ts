import type { Kysely } from 'kysely';
import { insertBulk, placeholderRows } from '../db/bulk-insert.ts';
import { parseJson, toJson } from '../db/json.ts';
import type { DB } from '../db/schema.ts';
import type { StageCauseKind, StageChange } from '../scoring/qualify.ts';
import type { Stage } from './model.ts';

/** The SQL of the stage history: every move of a lead between stages, with its cause. */

const columns = [
  'workspace_id',
  'id',
  'lead_id',
  'from_stage',
  'to_stage',
  'at',
  'cause_kind',
  'cause',
] as const;

export async function insertStageChanges(
  db: Kysely<DB>,
  workspaceId: string,
  changes: readonly StageChange[],
): Promise<void> {
  if (changes.length === 0) return;
  const rows = changes.map((c) => [
    workspaceId,
    c.id,
    c.leadId,
    c.from,
    c.to,
    c.at,
    c.causeKind,
    toJson(c.cause),
  ]);
  await insertBulk(db, 'insertStageChanges', rows, 500, (bulk, n) =>
    bulk.insertInto('stage_changes').values(placeholderRows(columns, n) as never),
  );
}

export async function listStageChanges(
  db: Kysely<DB>,
  workspaceId: string,
  leadId: string,
): Promise<StageChange[]> {
  const rows = await db
    .selectFrom('stage_changes')
    .select(['id', 'lead_id', 'from_stage', 'to_stage', 'at', 'cause_kind', 'cause'])
    .where('workspace_id', '=', workspaceId)
    .where('lead_id', '=', leadId)
    .orderBy('at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    leadId: r.lead_id,
    from: r.from_stage as Stage | null,
    to: r.to_stage as Stage,
    at: r.at,
    causeKind: r.cause_kind as StageCauseKind,
    cause: parseJson<Record<string, unknown>>(r.cause, {}),
  }));
}

/** Sales decisions on MQLs in [from, to): how many were accepted (→ SQL) and rejected. */
export async function countSalesDecisions(
  db: Kysely<DB>,
  workspaceId: string,
  from: number,
  to: number,
): Promise<{ accepted: number; rejected: number }> {
  const rows = await db
    .selectFrom('stage_changes')
    .select(['to_stage', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('workspace_id', '=', workspaceId)
    .where('cause_kind', '=', 'sales')
    .where('at', '>=', from)
    .where('at', '<', to)
    .groupBy('to_stage')
    .execute();
  let accepted = 0;
  let rejected = 0;
  for (const row of rows) {
    if (row.to_stage === 'sql') accepted += Number(row.n);
    else rejected += Number(row.n);
  }
  return { accepted, rejected };
}
