import type { Kysely } from 'kysely';
import { parseJson, toJson } from '../db/json.ts';
import type { DB, PropertyDefinitionRow } from '../db/schema.ts';
import type { PropertyDefinition, PropertyType } from './model.ts';

const columns = ['name', 'type', 'label', 'options', 'created_at', 'updated_at'] as const;

function toDefinition(row: Omit<PropertyDefinitionRow, 'workspace_id'>): PropertyDefinition {
  return {
    name: row.name,
    type: row.type as PropertyType,
    label: row.label,
    options: parseJson<string[] | null>(row.options, null),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function listDefinitions(db: Kysely<DB>, workspaceId: string): Promise<PropertyDefinition[]> {
  const rows = await db
    .selectFrom('property_definitions')
    .select(columns)
    .where('workspace_id', '=', workspaceId)
    .orderBy('name')
    .execute();
  return rows.map(toDefinition);
}

/**
 * The definition; with `lock` (PostgreSQL, in a write that stores it back) its row stays locked
 * until the transaction ends, so another process's change to it waits instead of being undone.
 */
export async function findDefinition(
  db: Kysely<DB>,
  workspaceId: string,
  name: string,
  lock = false,
): Promise<PropertyDefinition | undefined> {
  const select = db
    .selectFrom('property_definitions')
    .select(columns)
    .where('workspace_id', '=', workspaceId)
    .where('name', '=', name);
  const row = await (lock ? select.forUpdate() : select).executeTakeFirst();
  return row && toDefinition(row);
}

/** Inserts a definition; false when the name is already taken (also by a concurrent transaction). */
export async function insertDefinition(
  db: Kysely<DB>,
  workspaceId: string,
  d: PropertyDefinition,
): Promise<boolean> {
  const result = await db
    .insertInto('property_definitions')
    .values({
      workspace_id: workspaceId,
      name: d.name,
      type: d.type,
      label: d.label,
      options: d.options ? toJson(d.options) : null,
      created_at: d.createdAt,
      updated_at: d.updatedAt,
    })
    .onConflict((oc) => oc.columns(['workspace_id', 'name']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function updateDefinition(
  db: Kysely<DB>,
  workspaceId: string,
  d: PropertyDefinition,
): Promise<void> {
  await db
    .updateTable('property_definitions')
    .set({ label: d.label, options: d.options ? toJson(d.options) : null, updated_at: d.updatedAt })
    .where('workspace_id', '=', workspaceId)
    .where('name', '=', d.name)
    .execute();
}

export async function deleteDefinition(db: Kysely<DB>, workspaceId: string, name: string): Promise<boolean> {
  const result = await db
    .deleteFrom('property_definitions')
    .where('workspace_id', '=', workspaceId)
    .where('name', '=', name)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
