import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { WalSync } from './wal-sync.ts';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'leadline-wal-'));
after(() => fs.rmSync(folder, { recursive: true, force: true }));

it('flushes the WAL of a real database, sharing one flush among callers that arrive during another', async () => {
  const file = path.join(folder, 'a.db');
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('create table t (x integer)');
  const wal = new WalSync(file);
  try {
    db.prepare('insert into t values (1)').run();
    const first = wal.sync();
    const second = wal.sync(); // arrives while the first may already be running: needs a flush of its own
    const third = wal.sync(); // shares the second's
    assert.notEqual(first, second);
    assert.equal(second, third);
    await Promise.all([first, second, third]);
    assert.ok(fs.statSync(`${file}-wal`).size > 0, 'the commit went to the WAL');
  } finally {
    await wal.close();
    db.close();
  }
});

it('rejects when there is no WAL to flush, and recovers once there is one', async () => {
  const file = path.join(folder, 'b.db');
  const wal = new WalSync(file);
  await assert.rejects(wal.sync(), /ENOENT/);
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.exec('create table t (x integer)');
  try {
    await wal.sync();
  } finally {
    await wal.close();
    db.close();
  }
});
