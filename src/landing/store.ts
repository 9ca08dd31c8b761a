import type { Kysely } from 'kysely';
import { parseJson, toJson } from '../db/json.ts';
import type { DB, LandingPageRow } from '../db/schema.ts';
import type { LandingPage, LandingStatus, LandingVariant } from './model.ts';

const columns = [
  'workspace_id',
  'id',
  'slug',
  'name',
  'status',
  'variants',
  'created_at',
  'updated_at',
] as const;

function toPage(row: LandingPageRow): LandingPage {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    slug: row.slug,
    name: row.name,
    status: row.status as LandingStatus,
    variants: parseJson<LandingVariant[]>(row.variants, []),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toRow(page: LandingPage): LandingPageRow {
  return {
    workspace_id: page.workspaceId,
    id: page.id,
    slug: page.slug,
    name: page.name,
    status: page.status,
    variants: toJson(page.variants),
    created_at: page.createdAt,
    updated_at: page.updatedAt,
  };
}

export interface LandingPageFilter {
  /** Only pages in this status. (Default: every status but archived) */
  status?: LandingStatus | undefined;
}

/** A workspace's pages, oldest first. */
export async function listLandingPages(
  db: Kysely<DB>,
  workspaceId: string,
  filter: LandingPageFilter = {},
): Promise<LandingPage[]> {
  let select = db.selectFrom('landing_pages').select(columns).where('workspace_id', '=', workspaceId);
  select =
    filter.status !== undefined
      ? select.where('status', '=', filter.status)
      : select.where('status', '!=', 'archived');
  const rows = await select.orderBy('created_at').orderBy('id').execute();
  return rows.map(toPage);
}

/**
 * The page; with `lock` (PostgreSQL, in a write that stores it back) its row stays locked until
 * the transaction ends, so another process's change to it waits instead of being undone.
 */
export async function findLandingPage(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  lock = false,
): Promise<LandingPage | undefined> {
  const select = db
    .selectFrom('landing_pages')
    .select(columns)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id);
  const row = await (lock ? select.forUpdate() : select).executeTakeFirst();
  return row && toPage(row);
}

/** The page at a public address, whichever workspace it belongs to (slugs are global). */
export async function findLandingPageBySlug(db: Kysely<DB>, slug: string): Promise<LandingPage | undefined> {
  const row = await db
    .selectFrom('landing_pages')
    .select(columns)
    .where('slug', '=', slug)
    .executeTakeFirst();
  return row && toPage(row);
}

/** The id of the page holding this slug, in any workspace. */
export async function slugHolder(db: Kysely<DB>, slug: string): Promise<string | undefined> {
  const row = await db.selectFrom('landing_pages').select('id').where('slug', '=', slug).executeTakeFirst();
  return row?.id;
}

/** Inserts a page; false when its slug is taken (also by a concurrent transaction). */
export async function insertLandingPage(db: Kysely<DB>, page: LandingPage): Promise<boolean> {
  const result = await db
    .insertInto('landing_pages')
    .values(toRow(page))
    .onConflict((oc) => oc.column('slug').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function updateLandingPage(db: Kysely<DB>, page: LandingPage): Promise<void> {
  const { workspace_id: _w, id: _i, created_at: _c, ...changes } = toRow(page);
  await db
    .updateTable('landing_pages')
    .set(changes)
    .where('workspace_id', '=', page.workspaceId)
    .where('id', '=', page.id)
    .execute();
}
