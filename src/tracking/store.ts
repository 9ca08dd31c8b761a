import type { Kysely } from 'kysely';
import { parseJson, toJson } from '../db/json.ts';
import type { DB } from '../db/schema.ts';
import { defaultTrackingSettings, type TrackingSettings, type UrlRule } from './model.ts';

/** The workspace's tracking settings, or the defaults when it never changed them. */
export async function readSettings(db: Kysely<DB>, workspaceId: string): Promise<TrackingSettings> {
  const row = await db
    .selectFrom('tracking_settings')
    .select(['url_rules', 'allowed_origins', 'updated_at'])
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst();
  if (!row) return defaultTrackingSettings;
  return {
    urlRules: parseJson<UrlRule[]>(row.url_rules, []),
    allowedOrigins: parseJson<string[]>(row.allowed_origins, []),
    updatedAt: Number(row.updated_at),
  };
}

/** Replaces the settings (inserting the row the first time). */
export async function writeSettings(
  db: Kysely<DB>,
  workspaceId: string,
  settings: Pick<TrackingSettings, 'urlRules' | 'allowedOrigins'>,
  now: number,
): Promise<void> {
  const values = {
    url_rules: toJson(settings.urlRules),
    allowed_origins: toJson(settings.allowedOrigins),
    updated_at: now,
  };
  await db
    .insertInto('tracking_settings')
    .values({ workspace_id: workspaceId, ...values })
    .onConflict((oc) => oc.column('workspace_id').doUpdateSet(values))
    .execute();
}
