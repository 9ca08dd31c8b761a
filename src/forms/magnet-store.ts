import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import type { MagnetFile } from './model.ts';

/** The SQL of lead-magnet files: one row per form, the bytes with their description. */

export interface StoredMagnetFile extends MagnetFile {
  content: Buffer;
}

/** Stores a form's file, replacing the one it had. */
export async function putMagnetFile(
  db: Kysely<DB>,
  workspaceId: string,
  formId: string,
  file: MagnetFile,
  content: Buffer,
  now: number,
): Promise<void> {
  const row = {
    name: file.name,
    content_type: file.contentType,
    size: file.size,
    sha256: file.sha256,
    content,
    uploaded_at: now,
  };
  await db
    .insertInto('form_magnet_files')
    .values({ workspace_id: workspaceId, form_id: formId, ...row })
    .onConflict((oc) => oc.columns(['workspace_id', 'form_id']).doUpdateSet(row))
    .execute();
}

/** A form's file with its bytes, if it has one. */
export async function findMagnetFile(
  db: Kysely<DB>,
  workspaceId: string,
  formId: string,
): Promise<StoredMagnetFile | undefined> {
  const row = await db
    .selectFrom('form_magnet_files')
    .select(['name', 'content_type', 'size', 'sha256', 'content'])
    .where('workspace_id', '=', workspaceId)
    .where('form_id', '=', formId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    name: row.name,
    contentType: row.content_type,
    size: Number(row.size),
    sha256: row.sha256,
    content: Buffer.isBuffer(row.content) ? row.content : Buffer.from(row.content),
  };
}

/** Deletes a form's file; false when it had none. */
export async function deleteMagnetFile(
  db: Kysely<DB>,
  workspaceId: string,
  formId: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom('form_magnet_files')
    .where('workspace_id', '=', workspaceId)
    .where('form_id', '=', formId)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
