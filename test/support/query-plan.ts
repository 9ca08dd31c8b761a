import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import SQLite from 'better-sqlite3';
import type { Compilable } from 'kysely';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

/**
 * SQLite's plan (`explain query plan`, one line per step) for a query the product builds, on a
 * freshly migrated file: tests that a hot query reads through the index meant for it.
 */
export async function sqlitePlan(build: (database: Database) => Compilable): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leadline-plan-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'leadline.db');
  const database = openDatabase({ sqliteFile: file });
  const migrated = await migrateToLatest(database);
  if (migrated.error) throw migrated.error;
  const compiled = build(database).compile();
  await database.close();
  const raw = new SQLite(file, { readonly: true });
  try {
    const plan = raw
      .prepare(`explain query plan ${compiled.sql}`)
      .all(...(compiled.parameters as unknown[])) as Array<{ detail: string }>;
    return plan.map((p) => p.detail).join('\n');
  } finally {
    raw.close();
  }
}
