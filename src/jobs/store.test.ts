import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { claimQuery } from './store.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leadline-jobs-plan-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

it('claims through the due-jobs index, never by scanning every job kept', async () => {
  const file = path.join(dir, 'leadline.db');
  const database = openDatabase({ sqliteFile: file });
  assert.equal((await migrateToLatest(database)).error, undefined);
  const compiled = claimQuery(database.db, 'sqlite', 'w', 8, 1_000, 2_000).compile();
  await database.close();
  const raw = new SQLite(file, { readonly: true });
  try {
    const plan = raw
      .prepare(`explain query plan ${compiled.sql}`)
      .all(...(compiled.parameters as unknown[])) as Array<{ detail: string }>;
    const details = plan.map((p) => p.detail).join('\n');
    assert.match(details, /USING INDEX jobs_due_ix/, details);
    assert.doesNotMatch(details, /SCAN jobs\b/, details);
  } finally {
    raw.close();
  }
});
