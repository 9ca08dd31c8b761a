import os from 'node:os';
import type pino from 'pino';
import { newId } from '../db/ids.ts';
import type { Job } from './model.ts';
import type { JobService } from './service.ts';

export interface WorkerOptions {
  /** Shown as `lockedBy` on the jobs it holds. (Default: host:pid:random) */
  id?: string;
  /** Jobs run at once. (Default: 8) */
  concurrency?: number;
  /**
   * Longest sleep between looks at the queue, in ms: how late a timer (a job enqueued with a
   * future `runAt`) or a job from a process that cannot notify may start. New jobs of this
   * process, and on PostgreSQL of any process, wake the worker at once. (Default: 1,000)
   */
  pollMs?: number;
  /** On stop, how long running jobs may finish before they are aborted, in ms. (Default: 10,000) */
  graceMs?: number;
}

/**
 * The claim loop: keeps up to `concurrency` jobs running, claims more as slots free up, and
 * sleeps until woken (a commit that enqueued jobs, a NOTIFY) or `pollMs` passes.
 */
export class JobWorker {
  readonly id: string;
  readonly #jobs: JobService;
  readonly #logger: pino.Logger;
  readonly #concurrency: number;
  readonly #pollMs: number;
  readonly #graceMs: number;
  readonly #active = new Set<Promise<unknown>>();
  readonly #shutdown = new AbortController();
  #stopping = false;
  #woken = false;
  /** Jobs may be waiting: set by a wake-up for new jobs, a poll, or a claim that filled every slot. */
  #mayHaveWork = true;
  #wakeUp: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #unsubscribe: Array<() => unknown> = [];

  constructor(jobs: JobService, logger: pino.Logger, options: WorkerOptions = {}) {
    this.#jobs = jobs;
    this.#logger = logger;
    this.id = options.id ?? `${os.hostname()}:${process.pid}:${newId().slice(-6)}`;
    this.#concurrency = options.concurrency ?? 8;
    this.#pollMs = options.pollMs ?? 1_000;
    this.#graceMs = options.graceMs ?? 10_000;
  }

  async start(): Promise<void> {
    if (this.#loop) return;
    const wake = () => this.#wake();
    this.#unsubscribe.push(this.#jobs.onEnqueued(wake));
    this.#unsubscribe.push(await this.#jobs.listen(wake));
    this.#loop = this.#run();
    this.#logger.info({ worker: this.id, concurrency: this.#concurrency }, 'job worker started');
  }

  /**
   * Stops claiming, lets running jobs finish for up to `graceMs`, then aborts the rest (their
   * failure is recorded and they are retried; a job that cannot record it is taken again when
   * its lease runs out).
   */
  async stop(): Promise<void> {
    if (!this.#loop || this.#stopping) return;
    this.#stopping = true;
    this.#wake();
    await this.#loop;
    const grace = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), this.#graceMs).unref(),
    );
    if ((await Promise.race([Promise.all(this.#active).then(() => 'done' as const), grace])) === 'timeout') {
      this.#shutdown.abort(new Error('the worker is shutting down'));
      await Promise.all(this.#active);
    }
    for (const unsubscribe of this.#unsubscribe) await unsubscribe();
    this.#logger.info({ worker: this.id }, 'job worker stopped');
  }

  /** `work`: new jobs may be due; otherwise a slot freed up. */
  #wake(work = true): void {
    if (work) this.#mayHaveWork = true;
    this.#woken = true;
    this.#wakeUp?.();
  }

  async #sleep(): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#mayHaveWork = true;
        resolve();
      }, this.#pollMs);
      this.#wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wakeUp = undefined;
    this.#woken = false;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      const free = this.#concurrency - this.#active.size;
      // Claims are batched: with jobs running, wait until a quarter of the slots are free
      // (one claim statement per finished job would cost more than short jobs themselves).
      const worthClaiming = this.#active.size === 0 || free >= Math.max(1, this.#concurrency / 4);
      if (!worthClaiming || !this.#mayHaveWork) {
        await this.#sleep(); // a finishing job, new jobs or the poll timer wake it
        continue;
      }
      this.#mayHaveWork = false;
      let claimed: Job[];
      try {
        claimed = await this.#jobs.claim(this.id, free);
      } catch (err) {
        this.#logger.error({ err, worker: this.id }, 'claiming jobs failed');
        await this.#sleep();
        continue;
      }
      for (const job of claimed) {
        const run: Promise<unknown> = this.#jobs
          .runClaimed(this.id, job, this.#shutdown.signal)
          .finally(() => {
            this.#active.delete(run);
            this.#wake(false);
          });
        this.#active.add(run);
      }
      // A full claim means more may be due: look again as soon as a slot frees.
      if (claimed.length === free) this.#mayHaveWork = true;
    }
  }
}
