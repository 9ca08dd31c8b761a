import type { Kysely } from 'kysely';
import { paddedInList } from '../db/in-list.ts';
import { parseJson, toJson } from '../db/json.ts';
import type { DB } from '../db/schema.ts';
import type { ScoreState } from './engine.ts';
import type { ScoringModel } from './model.ts';

/**
 * The SQL of scoring: model versions, and reading the per-rule scoring state of leads (it is
 * written with the lead's score columns, by the lead store's `updateLeadsScoring`).
 */

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

/** The per-rule scoring states of these leads (kept on the lead row); leads without one are absent. */
export async function findStates(
  db: Kysely<DB>,
  workspaceId: string,
  leadIds: readonly string[],
): Promise<Map<string, ScoreState>> {
  const states = new Map<string, ScoreState>();
  for (let i = 0; i < leadIds.length; i += 500) {
    const rows = await db
      .selectFrom('leads')
      .select(['id', 'score_state'])
      .where('workspace_id', '=', workspaceId)
      .where('id', 'in', paddedInList(leadIds.slice(i, i + 500)))
      .where('score_state', 'is not', null)
      .execute();
    for (const row of rows) states.set(row.id, parseJson<ScoreState>(row.score_state, null as never));
  }
  return states;
}
