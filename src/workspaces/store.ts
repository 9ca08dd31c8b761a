import type { Kysely } from 'kysely';
import { parseJson, toJson } from '../db/json.ts';
import type { ApiKeyRow, DB, WorkspaceRow } from '../db/schema.ts';
import type { ApiKey, Scope, Workspace, WorkspaceSettings } from './model.ts';

function toWorkspace(row: WorkspaceRow): Workspace {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    settings: parseJson<WorkspaceSettings>(row.settings, {}),
    createdAt: row.created_at,
  };
}

function toApiKey(row: Omit<ApiKeyRow, 'key_hash' | 'last_used_at'>): ApiKey {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    scope: row.scope as Scope,
    prefix: row.key_prefix,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

const workspaceColumns = ['id', 'slug', 'name', 'settings', 'created_at'] as const;
const keyColumns = ['workspace_id', 'id', 'name', 'scope', 'key_prefix', 'created_at', 'revoked_at'] as const;

/** Every workspace's id (for maintenance that walks all of them). */
export async function listWorkspaceIds(db: Kysely<DB>): Promise<string[]> {
  return (await db.selectFrom('workspaces').select('id').orderBy('id').execute()).map((r) => r.id);
}

export async function countWorkspaces(db: Kysely<DB>): Promise<number> {
  const row = await db
    .selectFrom('workspaces')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertWorkspace(db: Kysely<DB>, workspace: Workspace): Promise<void> {
  await db
    .insertInto('workspaces')
    .values({
      id: workspace.id,
      slug: workspace.slug,
      name: workspace.name,
      settings: toJson(workspace.settings),
      created_at: workspace.createdAt,
    })
    .execute();
}

export async function findWorkspaceBySlug(db: Kysely<DB>, slug: string): Promise<Workspace | undefined> {
  const row = await db
    .selectFrom('workspaces')
    .select(workspaceColumns)
    .where('slug', '=', slug)
    .executeTakeFirst();
  return row && toWorkspace(row);
}

/**
 * The workspace; with `lock` (PostgreSQL, in a write that stores its settings back) its row stays
 * locked until the transaction ends, so a settings change of another process waits instead of
 * being overwritten with the settings read before it.
 */
export async function findWorkspace(
  db: Kysely<DB>,
  id: string,
  lock = false,
): Promise<Workspace | undefined> {
  const select = db.selectFrom('workspaces').select(workspaceColumns).where('id', '=', id);
  const row = await (lock ? select.forUpdate() : select).executeTakeFirst();
  return row && toWorkspace(row);
}

export async function updateWorkspaceSettings(
  db: Kysely<DB>,
  id: string,
  settings: WorkspaceSettings,
): Promise<void> {
  await db
    .updateTable('workspaces')
    .set({ settings: toJson(settings) })
    .where('id', '=', id)
    .execute();
}

export async function insertApiKey(db: Kysely<DB>, key: ApiKey, keyHash: string): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({
      workspace_id: key.workspaceId,
      id: key.id,
      name: key.name,
      scope: key.scope,
      key_hash: keyHash,
      key_prefix: key.prefix,
      created_at: key.createdAt,
      last_used_at: null,
      revoked_at: null,
    })
    .execute();
}

export async function findApiKeyByHash(db: Kysely<DB>, keyHash: string): Promise<ApiKey | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .select(keyColumns)
    .where('key_hash', '=', keyHash)
    .executeTakeFirst();
  return row && toApiKey(row);
}

export async function listApiKeys(db: Kysely<DB>, workspaceId: string): Promise<ApiKey[]> {
  const rows = await db
    .selectFrom('api_keys')
    .select(keyColumns)
    .where('workspace_id', '=', workspaceId)
    .orderBy('created_at')
    .execute();
  return rows.map(toApiKey);
}

export async function revokeApiKey(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  at: number,
): Promise<boolean> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: at })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
