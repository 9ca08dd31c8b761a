import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { LeadService, Rescored, WorkspaceContext } from '../leads/service.ts';
import type { ScoringContext } from './qualify.ts';
import { isFresh, RescoreReader, type WriteStamp, writeStamp } from './rescore-prefetch.ts';
import { type ChangeCount, countChanges, type RescoredLead } from './rescore-result.ts';
import type { ScoringService } from './service.ts';

/**
 * Bulk rescore: every live lead of a workspace replayed from its history with the active
 * model (after a model change), in chunks, each its own short transaction so that captures
 * never wait behind it for long: a chunk aims at `CHUNK_TARGET_MS` and adapts its size.
 * Progress is kept per workspace in this process, for the API and the CLI's progress bar.
 */

/** What one chunk aims to take, in ms: capture waits at most about this long behind it. (50) */
export const CHUNK_TARGET_MS = 50;
const MIN_CHUNK = 20;
/**
 * Leads in a chunk at most. Past about a thousand a chunk costs more per lead, not less: its
 * rows and histories stay alive until it is written, so each young-generation collection copies
 * more. Benchmark (1M leads, 10M events, runs taking turns): 29.4-31.3 s and 51-55 s of CPU with
 * 2,000; 26.9-29.0 s and 47-50 s with 1,000; 27.5-29.8 s with 500; 29.7-29.8 s with 250. A
 * chunk's write then held captures back 27-33 ms at p99 instead of 55-67 ms. (1,000)
 */
const MAX_CHUNK = 1000;

export interface RescoreProgress {
  id: string;
  workspaceId: string;
  dryRun: boolean;
  status: 'running' | 'done' | 'failed';
  /** Live leads when the run started. */
  total: number;
  done: number;
  /** Leads whose score band (0–24, 25–49, 50–74, 75–100) would change / changed. */
  bandChanged: number;
  /** Leads whose stage would change / changed. */
  stageChanged: number;
  startedAt: number;
  finishedAt: number | null;
  error: string | null;
  /** Leads whose new scores a worker thread computed (SQLite); the writer did the rest. Not in the API. */
  prefetched: number;
  /** How long the last chunk's transaction ran (what a capture may wait behind it), ms. Not in the API. */
  lastWriteMs: number;
}

export interface RescoreDeps {
  database: Database;
  leads: LeadService;
  scoring: ScoringService;
  clock: () => number;
  /** Told when the worker thread fails (the writer then rescores the rest itself). */
  logger?: Pick<Logger, 'warn'>;
  /**
   * Workspaces with at least this many live leads are rescored with a worker thread beside
   * the writer (SQLite; see rescore-prefetch.ts). (Default: 2,000)
   */
  prefetchFrom?: number;
}

/** One chunk of leads: its ids and, when a worker computes it, the stamp it must still match. */
interface Chunk {
  ids: string[];
  prefetch?: { computed: Promise<RescoredLead[] | undefined>; stamp: WriteStamp; ownWrites: number };
}

export type RescoreService = ReturnType<typeof createRescoreService>;

export function createRescoreService({
  database,
  leads,
  scoring,
  clock,
  logger,
  prefetchFrom = 2_000,
}: RescoreDeps) {
  const latest = new Map<string, RescoreProgress>();
  /** Workspaces whose model changed while their rescore was running: run again after it. */
  const again = new Set<string>();

  function add(progress: RescoreProgress, counted: ChangeCount): void {
    progress.done += counted.done;
    progress.bandChanged += counted.bandChanged;
    progress.stageChanged += counted.stageChanged;
  }

  /**
   * Rescores every live lead (or, with `dryRun`, only computes what would change with
   * `context`'s rules, writing nothing). `onProgress` is called after every chunk.
   */
  async function run(
    workspace: WorkspaceContext,
    options: { context?: ScoringContext; dryRun?: boolean; onProgress?: (p: RescoreProgress) => void } = {},
  ): Promise<RescoreProgress> {
    const dryRun = options.dryRun ?? false;
    const progress: RescoreProgress = {
      id: newId(),
      workspaceId: workspace.id,
      dryRun,
      status: 'running',
      total: 0,
      done: 0,
      bandChanged: 0,
      stageChanged: 0,
      startedAt: clock(),
      finishedAt: null,
      error: null,
      prefetched: 0,
      lastWriteMs: 0,
    };
    if (!dryRun) latest.set(workspace.id, progress);
    let after: string | null = null;
    let size = 200;
    let reader: RescoreReader | undefined;
    /** The rescore's own write units so far (the freshness check counts them). */
    let ownWrites = 0;

    /** The next chunk's ids, in id order (undefined: none left). */
    const takeIds = async (): Promise<string[] | undefined> => {
      const ids = await leads.idsAfter(workspace.id, after, size);
      if (ids.length === 0) return undefined;
      after = ids.at(-1)!;
      return ids;
    };

    /** The worker's answer, or undefined once it failed: it is not used again, the rest is done here. */
    const fromWorker = <T>(work: Promise<T>): Promise<T | undefined> =>
      work.catch((error: unknown) => {
        if (reader)
          logger?.warn(
            { err: error, workspaceId: workspace.id },
            'rescore worker failed; the writer goes on alone',
          );
        void reader?.stop();
        reader = undefined;
        return undefined;
      });

    /** The next chunk; with a worker, its computation is started now. */
    const takeChunk = async (): Promise<Chunk | undefined> => {
      const ids = await takeIds();
      if (!ids) return undefined;
      const stamp = reader && writeStamp(database);
      if (!reader || !stamp) return { ids };
      const context = await scoring.contextIn(database.db, workspace);
      const computed = fromWorker(reader.rescore(workspace.id, context, ids, clock()));
      return { ids, prefetch: { computed, stamp, ownWrites } };
    };

    /** Writes one chunk: the worker's results if still fresh, else rescored here. */
    const writeChunk = async (chunk: Chunk): Promise<{ rescored: Rescored[]; ms: number }> => {
      const computed = chunk.prefetch && (await chunk.prefetch.computed);
      ownWrites++;
      return database.writes.run(async (trx) => {
        const started = performance.now();
        const now = computed && writeStamp(database);
        const fresh =
          computed && now && isFresh(chunk.prefetch!.stamp, now, ownWrites - chunk.prefetch!.ownWrites);
        const rescored = fresh
          ? await leads.writeRescoredIn(trx, workspace, computed)
          : await leads.rescoreIn(trx, workspace, chunk.ids);
        if (fresh) progress.prefetched += rescored.length;
        return { rescored, ms: performance.now() - started };
      });
    };

    /** What rescoring these leads with `context` would change, computed in this thread. */
    const countHere = async (ids: string[], context: ScoringContext): Promise<ChangeCount> =>
      countChanges(
        context.model,
        await leads.rescoreIn(database.db, workspace, ids, { context, write: false }),
        clock(),
      );

    /** The chunk's size follows the time it held the writer (or, dry, took to count). */
    const adapt = (ms: number) => {
      size = Math.max(MIN_CHUNK, Math.min(MAX_CHUNK, Math.round(size * (ms > 0 ? CHUNK_TARGET_MS / ms : 2))));
    };

    try {
      progress.total = await leads.countLive(workspace.id);
      if (progress.total >= prefetchFrom && database.sqliteFile && database.dataVersion)
        reader = new RescoreReader(database.sqliteFile);
      if (dryRun) {
        const context = options.context!;
        for (let ids = await takeIds(); ids; ids = await takeIds()) {
          const started = performance.now();
          // Two chunks at a time: the worker counts the second while this thread counts the first.
          const other = reader && (await takeIds());
          const elsewhere = other && fromWorker(reader!.count(workspace.id, context, other, clock()));
          add(progress, await countHere(ids, context));
          if (other) add(progress, (await elsewhere) ?? (await countHere(other, context)));
          adapt(performance.now() - started);
          options.onProgress?.(progress);
        }
      } else {
        for (let chunk = await takeChunk(); chunk; ) {
          // Asked before this chunk is written, so the worker computes it meanwhile.
          const next = await takeChunk();
          const written = await writeChunk(chunk);
          const { model } = await scoring.activeModel(workspace.id);
          add(progress, countChanges(model, written.rescored, clock()));
          progress.lastWriteMs = written.ms;
          adapt(written.ms);
          options.onProgress?.(progress);
          chunk = next;
        }
      }
      progress.status = 'done';
    } catch (error) {
      progress.status = 'failed';
      progress.error = error instanceof Error ? error.message : String(error);
    } finally {
      // Unset first: a request still pending is then dropped quietly, not reported as a failure.
      const stopping = reader;
      reader = undefined;
      await stopping?.stop();
    }
    progress.finishedAt = clock();
    options.onProgress?.(progress);
    return progress;
  }

  return {
    run,

    /**
     * Starts a rescore in the background (the API after a model change). A change during a
     * running rescore schedules one more pass, so no lead keeps a score of the old model.
     */
    start(workspace: WorkspaceContext): RescoreProgress {
      const current = latest.get(workspace.id);
      if (current?.status === 'running') {
        again.add(workspace.id);
        return current;
      }
      const pass = async (): Promise<void> => {
        await run(workspace);
        if (again.delete(workspace.id)) await pass();
      };
      void pass();
      return latest.get(workspace.id)!;
    },

    status: (workspaceId: string): RescoreProgress | undefined => latest.get(workspaceId),

    /** Waits for a running rescore of the workspace (tests, shutdown). */
    async settled(workspaceId: string): Promise<void> {
      while (latest.get(workspaceId)?.status === 'running' || again.has(workspaceId))
        await new Promise((resolve) => setTimeout(resolve, 10));
    },
  };
}
