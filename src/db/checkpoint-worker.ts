import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

/** Worker thread entry of checkpointer.ts: a PASSIVE checkpoint every `intervalMs`. */
const { databaseFile, intervalMs } = workerData as { databaseFile: string; intervalMs: number };

const db = new SQLite(databaseFile);
db.pragma('synchronous = FULL');
// PASSIVE never waits for the writer or readers, and copies only what no reader still needs.
db.pragma('busy_timeout = 0');
const checkpoint = db.prepare('pragma wal_checkpoint(passive)');

const timer = setInterval(() => {
  try {
    checkpoint.get();
  } catch {
    // SQLITE_BUSY: another checkpoint (another process) is running; try again next tick.
  }
}, intervalMs);

parentPort!.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
