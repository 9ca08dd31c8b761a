import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import SQLite from 'better-sqlite3';
import type { Compilable } from 'kysely';
import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { historyQuery, timelineQuery } from './timeline-store.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leadline-timeline-plan-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** SQLite's plan for a compiled query, on a migrated file. */
async function planOf(build: (database: ReturnType<typeof openDatabase>) => Compilable): Promise<string> {
  const file = path.join(dir, `plan-${Math.random().toString(36).slice(2)}.db`);
  const database = openDatabase({ sqliteFile: file });
  assert.equal((await migrateToLatest(database)).error, undefined);
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

// A lead's activities lie wherever they arrived among everyone else's: a table lookup per
// activity is what made reading histories in lead order slow (see the migration).
it('reads histories for a rescore from the history index alone, already in lead and time order', async () => {
  const plan = await planOf((d) => historyQuery(d.db, 'w', ['a', 'b'], ['page_viewed', 'demo_requested']));
  assert.match(plan, /USING COVERING INDEX activities_history_ix/, plan);
  assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
});

it('reads a timeline page from the history index alone, newest first without a sort', async () => {
  const plan = await planOf((d) => timelineQuery(d.db, 'w', 'a', 50, { occurredAt: 1, id: 'x' }));
  assert.match(plan, /USING COVERING INDEX activities_history_ix/, plan);
  assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
});
