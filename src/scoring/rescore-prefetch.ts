import { Worker } from 'node:worker_threads';
import type { Database } from '../db/database.ts';
import type { ScoringContext } from './qualify.ts';
import { type ChangeCount, fromColumns, type RescoredColumns, type RescoredLead } from './rescore-result.ts';

/**
 * A bulk rescore on SQLite in two threads: a worker reads the next chunk's leads and histories
 * on its own connection and replays them, while the writer stores the chunk before. The
 * writer's work (one UPDATE per lead, the commit) and the worker's (the reads and the replay)
 * then overlap instead of taking turns on one thread.
 *
 * A result is used only if it is still what the writer would compute now: between the moment
 * the worker was asked (its snapshot is at least that recent) and the write, nothing but the
 * rescore's own chunk writes, which touch other leads, may have begun in this process, and no
 * other process may have committed (`isFresh`). Otherwise the writer rescores the chunk itself,
 * as it does without a worker; so does it after any failure of the worker. This relies on every
 * write that changes leads, activities, models or settings going through `database.writes` (the
 * group commit), as they all do; only job claims and prunes write their own tables directly.
 */

/** Where the writes stood at a moment (see `GroupCommit.progress`, `Database.dataVersion`). */
export interface WriteStamp {
  taken: number;
  ended: number;
  dataVersion: number;
}

export function writeStamp(database: Database): WriteStamp | undefined {
  if (!database.dataVersion) return undefined;
  return { ...database.writes.progress(), dataVersion: database.dataVersion() };
}

/**
 * Whether a snapshot taken after `then` still shows what the database holds `now`: at `then`
 * no write was in progress; since, exactly `ownSince` writes were taken (the rescore's own,
 * counted by it, including the current one), and no other connection committed.
 */
export function isFresh(then: WriteStamp, now: WriteStamp, ownSince: number): boolean {
  return (
    then.taken === then.ended && now.taken - then.taken === ownSince && now.dataVersion === then.dataVersion
  );
}

export interface RescoreRequest {
  id: number;
  /** `rescore`: the results to write; `count`: only what they would change (a dry run). */
  mode: 'rescore' | 'count';
  workspaceId: string;
  /** The rules, sent with the first request and whenever they change. */
  context?: ScoringContext;
  ids: string[];
  now: number;
}

export type RescoreResponse =
  | { id: number; ok: true; columns: RescoredColumns }
  | { id: number; ok: true; counted: ChangeCount }
  | { id: number; ok: false; error: string };

/** The worker thread that rescores chunks from its own snapshot (rescore-worker.ts). */
export class RescoreReader {
  readonly #worker: Worker;
  readonly #pending = new Map<
    number,
    { resolve: (r: RescoreResponse) => void; reject: (e: Error) => void }
  >();
  #next = 0;
  #sentContext: ScoringContext | undefined;
  #failed: Error | undefined;

  constructor(databaseFile: string) {
    const entry = import.meta.url.endsWith('.ts') ? './rescore-worker.ts' : './rescore-worker.js';
    this.#worker = new Worker(new URL(entry, import.meta.url), { workerData: { databaseFile } });
    // Only a pending request keeps the process alive (see `#ask`).
    this.#worker.unref();
    this.#worker.on('message', (response: RescoreResponse) => {
      const pending = this.#pending.get(response.id);
      if (!pending) return;
      this.#pending.delete(response.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (response.ok) pending.resolve(response);
      else pending.reject(new Error(`rescore worker: ${response.error}`));
    });
    const fail = (error: Error) => {
      this.#failed ??= error;
      for (const { reject } of this.#pending.values()) reject(error);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`rescore worker exited (${code})`)));
  }

  /** The leads rescored with `context` at `now`, from a snapshot taken after this call. */
  async rescore(
    workspaceId: string,
    context: ScoringContext,
    ids: string[],
    now: number,
  ): Promise<RescoredLead[]> {
    const response = await this.#ask('rescore', workspaceId, context, ids, now);
    if (!('columns' in response)) throw new Error('rescore worker: a count came back for a rescore');
    return fromColumns(response.columns);
  }

  /** What rescoring the leads with `context` at `now` would change (a dry run). */
  async count(
    workspaceId: string,
    context: ScoringContext,
    ids: string[],
    now: number,
  ): Promise<ChangeCount> {
    const response = await this.#ask('count', workspaceId, context, ids, now);
    if (!('counted' in response)) throw new Error('rescore worker: results came back for a count');
    return response.counted;
  }

  #ask(
    mode: RescoreRequest['mode'],
    workspaceId: string,
    context: ScoringContext,
    ids: string[],
    now: number,
  ): Promise<RescoreResponse> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = ++this.#next;
    const request: RescoreRequest = { id, mode, workspaceId, ids, now };
    if (context !== this.#sentContext) {
      request.context = context;
      this.#sentContext = context;
    }
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage(request);
    });
  }

  async stop(): Promise<void> {
    await this.#worker.terminate();
  }
}
