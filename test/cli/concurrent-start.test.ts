import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { leadline, tempFolder } from '../support/cli.ts';

/**
 * Processes that start together on a new SQLite data folder (a server and a worker, say) each
 * migrate it: they must take turns, and leave the schema one process alone would have made.
 */

/** The tables and indexes of a data folder's database, with their definitions. */
function schemaOf(dir: string): string[] {
  const db = new SQLite(path.join(dir, 'data', 'leadline.db'), { readonly: true });
  try {
    return (
      db
        .prepare("select type, name, sql from sqlite_master where name not like 'sqlite_%' order by name")
        .all() as Array<{
        type: string;
        name: string;
        sql: string | null;
      }>
    ).map((row) => `${row.type} ${row.name}: ${row.sql}`);
  } finally {
    db.close();
  }
}

describe('processes starting together on a new SQLite data folder', () => {
  it('migrate one after the other, to the schema one process makes alone', async () => {
    const alone = tempFolder('leadline-alone-');
    assert.equal((await leadline(alone, ['migrate'])).code, 0);
    const reference = schemaOf(alone);
    assert.ok(reference.some((line) => line.startsWith('index leads_stage_ix')));

    for (let round = 0; round < 3; round++) {
      const dir = tempFolder('leadline-together-');
      const results = await Promise.all([
        leadline(dir, ['migrate']),
        leadline(dir, ['migrate']),
        leadline(dir, ['migrate']),
      ]);
      for (const result of results) assert.equal(result.code, 0, `round ${round}: ${result.stderr}`);
      assert.deepEqual(schemaOf(dir), reference, `round ${round}`);
    }
  });

  it('make one workspace and print its admin key once', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = tempFolder('leadline-first-');
      // A writing command's first start makes workspace "default" and its key.
      const results = await Promise.all([
        leadline(dir, ['keys', 'create', '--name', 'a']),
        leadline(dir, ['keys', 'create', '--name', 'b']),
        leadline(dir, ['keys', 'create', '--name', 'c']),
      ]);
      for (const result of results) assert.equal(result.code, 0, `round ${round}: ${result.stderr}`);
      const printed = results.filter((r) => r.stderr.includes('admin API key is shown this once'));
      assert.equal(printed.length, 1, `round ${round}: the key was printed ${printed.length} times`);
      const db = new SQLite(path.join(dir, 'data', 'leadline.db'), { readonly: true });
      const counts = db
        .prepare('select (select count(*) from workspaces) w, (select count(*) from api_keys) k')
        .get();
      db.close();
      assert.deepEqual(counts, { w: 1, k: 4 }, `round ${round}`);
    }
  });
});
