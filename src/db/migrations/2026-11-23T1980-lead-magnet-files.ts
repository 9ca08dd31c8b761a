import { sql } from 'kysely';
import type { Migration } from './types.ts';

/**
 * Lead-magnet files Leadline hosts itself (issue 5: "a file or URL"): one file per form, its
 * bytes in the database so that a backup of the database is a backup of everything.
 */
export const leadMagnetFiles: Migration = {
  name: '2026-11-23T1980-lead-magnet-files',
  async up(db, t, engine) {
    await db.schema
      .createTable('form_magnet_files')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('form_id', 'text', (c) => c.notNull())
      // The file name downloads are given (Content-Disposition), as uploaded.
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('content_type', 'text', (c) => c.notNull())
      // Bytes, and the SHA-256 of the content (hex).
      .addColumn('size', t.int64, (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('content', engine === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
      .addColumn('uploaded_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('form_magnet_files_pk', ['workspace_id', 'form_id'])
      .execute();
    if (engine === 'postgres') {
      // PDFs, images and archives are compressed already: out-of-line storage without TOAST's
      // compression attempt, which would only spend CPU on every upload.
      await sql`alter table form_magnet_files alter column content set storage external`.execute(db);
    }
  },
};
