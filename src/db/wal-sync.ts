import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Makes SQLite commits durable without blocking the event loop.
 *
 * The connection runs with `synchronous=NORMAL`: a commit writes its WAL frames into the OS
 * page cache and returns (a process crash loses nothing, a power cut could). Before any
 * request is acknowledged, `sync()` flushes the WAL file with fdatasync on libuv's thread
 * pool — the same flush `synchronous=FULL` does inside COMMIT, but here the main thread keeps
 * parsing and validating the next requests while the disk works, and one flush covers every
 * commit that happened before it started.
 *
 * Checkpoints (copying the WAL into the database file) must never copy frames that are not
 * yet on disk; they run on a connection with `synchronous=FULL`, which flushes the WAL first
 * (see checkpointer.ts).
 */
export class WalSync {
  readonly #walFile: string;
  #handle: Promise<fs.FileHandle> | undefined;
  #inFlight: Promise<void> | undefined;
  #queued: Promise<void> | undefined;

  constructor(databaseFile: string) {
    this.#walFile = `${databaseFile}-wal`;
  }

  /** Resolves once everything committed before this call is on disk. */
  sync(): Promise<void> {
    // A flush already running may have started before this caller's commit wrote its frames:
    // wait for it, then flush again. Every caller arriving meanwhile shares that second flush.
    if (this.#queued) return this.#queued;
    if (!this.#inFlight) return this.#start();
    const after = () => {
      this.#queued = undefined;
      return this.#start();
    };
    this.#queued = this.#inFlight.then(after, after);
    return this.#queued;
  }

  async close(): Promise<void> {
    await this.#queued?.catch(() => {});
    await this.#inFlight?.catch(() => {});
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle) await (await handle).close();
  }

  #start(): Promise<void> {
    const flush = this.#flush().finally(() => {
      if (this.#inFlight === flush) this.#inFlight = undefined;
    });
    this.#inFlight = flush;
    return flush;
  }

  async #flush(): Promise<void> {
    this.#handle ??= this.#open();
    try {
      await (await this.#handle).datasync();
    } catch (error) {
      this.#handle = undefined; // open afresh next time (the file may have been replaced)
      throw error;
    }
  }

  /**
   * Opens the WAL once. SQLite keeps the same file (same inode) while any connection is
   * open: a restarted WAL is overwritten in place, never recreated. The directory is flushed
   * once so that the WAL's own directory entry survives a power cut.
   */
  async #open(): Promise<fs.FileHandle> {
    const handle = await fs.open(this.#walFile, 'r');
    const directory = await fs.open(path.dirname(this.#walFile), 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
    return handle;
  }
}
