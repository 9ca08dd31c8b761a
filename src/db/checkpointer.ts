import { Worker } from 'node:worker_threads';

/**
 * Runs SQLite WAL checkpoints on a worker thread with its own connection.
 *
 * A checkpoint flushes the WAL, copies its pages into the database file and flushes that
 * file: two fsyncs of megabytes. Inside the writer's COMMIT (SQLite's autocheckpoint) they
 * would stall the event loop for milliseconds; on this thread they overlap with request work.
 * The worker's connection uses `synchronous=FULL`, so it flushes the WAL before copying it:
 * the database file never receives a frame that is not durable in the WAL first.
 */
export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;

  constructor(databaseFile: string, intervalMs = CHECKPOINT_INTERVAL_MS) {
    const entry = import.meta.url.endsWith('.ts') ? './checkpoint-worker.ts' : './checkpoint-worker.js';
    this.#worker = new Worker(new URL(entry, import.meta.url), {
      workerData: { databaseFile, intervalMs },
      // The worker holds one SQLite connection and a timer: keep its heap small.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    // An idle checkpointer must not keep the process alive.
    this.#worker.unref();
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.on('error', () => {}); // a failed checkpoint is retried; the writer's safety net remains
  }

  /** Stops the worker after its current checkpoint and closes its connection. */
  async stop(): Promise<void> {
    this.#worker.ref(); // keep the process alive until the worker has closed its connection
    this.#worker.postMessage('stop');
    await this.#exited;
  }
}

/** How often the worker checkpoints whatever the WAL holds, in ms. (Default: 200) */
export const CHECKPOINT_INTERVAL_MS = 200;
