import type { Kysely } from 'kysely';
import { insertBulk, placeholderRows } from '../db/bulk-insert.ts';
import { paddedInList } from '../db/in-list.ts';
import { parseJson, toJson } from '../db/json.ts';
import type { DB } from '../db/schema.ts';
import type { ScoreState } from './engine.ts';
import type { ScoringModel } from './model.ts';

/** The SQL of scoring: model versions and the per-rule scoring state of leads. */

export interface ModelVersion {
  version: number;
  model: ScoringModel;
  /** Who saved it: an API key id, `cli`, or `preset:<name>`. */
  createdBy: string;
  createdAt: number;
}

export async function latestModel(db: Kysely<DB>, workspaceId: string): Promise<ModelVersion | undefined> {
  const row = await db
    .selectFrom('scoring_models')
    .select(['version', 'model', 'created_by', 'created_at'])
    .where('workspace_id', '=', workspaceId)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  return (
    row && {
      version: row.version,
      model: parseJson<ScoringModel>(row.model, null as never),
      createdBy: row.created_by,
      createdAt: row.created_at,
    }
  );
}

export async function listModelVersions(
  db: Kysely<DB>,
  workspaceId: string,
): Promise<Array<Omit<ModelVersion, 'model'>>> {
  const rows = await db
    .selectFrom('scoring_models')
    .select(['version', 'created_by', 'created_at'])
    .where('workspace_id', '=', workspaceId)
    .orderBy('version', 'desc')
    .execute();
  return rows.map((r) => ({ version: r.version, createdBy: r.created_by, createdAt: r.created_at }));
}

/** Inserts a version; false when another writer took that version number first. */
export async function insertModel(
  db: Kysely<DB>,
  workspaceId: string,
  version: ModelVersion,
): Promise<boolean> {
  const result = await db
    .insertInto('scoring_models')
    .values({
      workspace_id: workspaceId,
      version: version.version,
      model: toJson(version.model),
      created_by: version.createdBy,
      created_at: version.createdAt,
    })
    .onConflict((oc) => oc.columns(['workspace_id', 'version']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function findStates(
  db: Kysely<DB>,
  workspaceId: string,
  leadIds: readonly string[],
): Promise<Map<string, ScoreState>> {
  const states = new Map<string, ScoreState>();
  for (let i = 0; i < leadIds.length; i += 500) {
    const rows = await db
      .selectFrom('lead_score_states')
      .select(['lead_id', 'state'])
      .where('workspace_id', '=', workspaceId)
      .where('lead_id', 'in', paddedInList(leadIds.slice(i, i + 500)))
      .execute();
    for (const row of rows) states.set(row.lead_id, parseJson<ScoreState>(row.state, null as never));
  }
  return states;
}

const stateColumns = ['workspace_id', 'lead_id', 'state', 'updated_at'] as const;

/** Writes the states (insert or replace), a few statements for any number. */
export async function saveStates(
  db: Kysely<DB>,
  workspaceId: string,
  states: ReadonlyMap<string, ScoreState>,
  now: number,
): Promise<void> {
  const rows = [...states].map(([leadId, state]) => [workspaceId, leadId, toJson(state), now]);
  await insertBulk(db, 'saveStates', rows, 500, (bulk, n) =>
    bulk
      .insertInto('lead_score_states')
      .values(placeholderRows(stateColumns, n) as never)
      .onConflict((oc) =>
        oc.columns(['workspace_id', 'lead_id']).doUpdateSet((eb) => ({
          state: eb.ref('excluded.state'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      ),
  );
}

export async function deleteStates(
  db: Kysely<DB>,
  workspaceId: string,
  leadIds: readonly string[],
): Promise<void> {
  for (let i = 0; i < leadIds.length; i += 500) {
    await db
      .deleteFrom('lead_score_states')
      .where('workspace_id', '=', workspaceId)
      .where('lead_id', 'in', paddedInList(leadIds.slice(i, i + 500)))
      .execute();
  }
}
