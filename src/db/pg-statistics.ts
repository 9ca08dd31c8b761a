import { type Kysely, sql } from 'kysely';
import type { DB } from './schema.ts';

/**
 * PostgreSQL: keeps the planner's statistics of Leadline's tables current as they grow.
 *
 * Without statistics PostgreSQL guesses that `workspace_id = $1` picks few rows, so a lookup
 * of 500 leads by id walks the smallest index that starts with `workspace_id` and filters
 * every lead of the workspace, instead of 500 descents of the primary key. Measured on the
 * ingest benchmark's 20,000 leads: 20–28 ms a lookup without statistics, 1.5 ms after
 * ANALYZE; the benchmark's events went from 8,430 to 12,643 per second (scoring on) and from
 * 17,648 to 27,802 (off). Autovacuum analyzes a table once a tenth of it changed, at its next
 * round (a minute by default): not at all where it is off (as on the machines this was
 * measured on), and not yet in the first minute after an import.
 *
 * So every process that opens the database looks every `STATISTICS_CHECK_MS` at how far its
 * tables grew since their last analysis (`pg_stat_user_tables`, one catalog read) and
 * analyzes the ones that need it, one process at a time (an advisory lock). A table whose
 * size stays the same while its rows churn (jobs come and go) is left to autovacuum after its
 * first analysis, save a slow refresh (`DRIFT_INTERVAL_MS`).
 */

/** How often a process checks its tables, in ms. (2,000) */
export const STATISTICS_CHECK_MS = 2_000;

/** Changes since the last analysis below which a table is never analyzed: small tables plan well anyway. (1,000) */
export const MIN_CHANGES = 1_000;

/** A table this many times the size its statistics describe is analyzed again. (2) */
const GROWTH_FACTOR = 2;

/** Share of a table's rows changed since its last analysis that makes its statistics stale. (0.1, autovacuum's) */
const DRIFT_SHARE = 0.1;

/** Least time between two analyses of a table that only drifted (did not grow), in ms. (10 minutes) */
const DRIFT_INTERVAL_MS = 10 * 60 * 1000;

/** What `pg_stat_user_tables` and `pg_class` say of one table. */
export interface TableActivity {
  table: string;
  /** Rows now, as the statistics collector counts them. */
  liveRows: number;
  /** Rows as the planner's statistics know them (`reltuples`): negative (or 0) before any analysis. */
  plannedRows: number;
  /** Rows inserted, updated or deleted since the last analysis. */
  changedSinceAnalyze: number;
  /** Epoch ms of the last analysis, by anyone (autovacuum included); null if never. */
  analyzedAt: number | null;
}

/** Whether the planner's statistics of a table are stale enough to analyze it now. */
export function needsAnalyze(table: TableActivity, now: number): boolean {
  if (table.changedSinceAnalyze < MIN_CHANGES) return false;
  if (table.plannedRows <= 0 || table.analyzedAt === null) return true;
  if (table.liveRows >= GROWTH_FACTOR * table.plannedRows) return true;
  return (
    table.changedSinceAnalyze >= DRIFT_SHARE * table.plannedRows &&
    now - table.analyzedAt >= DRIFT_INTERVAL_MS
  );
}

/** The tables of the current schema with what their statistics know. */
async function tableActivity(db: Kysely<DB>): Promise<TableActivity[]> {
  const { rows } = await sql<{
    table: string;
    live_rows: string;
    planned_rows: number;
    changed: string;
    analyzed_at: Date | null;
  }>`
    select s.relname as table, s.n_live_tup as live_rows, c.reltuples as planned_rows,
      s.n_mod_since_analyze as changed, greatest(s.last_analyze, s.last_autoanalyze) as analyzed_at
    from pg_stat_user_tables s join pg_class c on c.oid = s.relid
    where s.schemaname = current_schema()`.execute(db);
  return rows.map((row) => ({
    table: row.table,
    liveRows: Number(row.live_rows),
    plannedRows: Number(row.planned_rows),
    changedSinceAnalyze: Number(row.changed),
    analyzedAt: row.analyzed_at ? row.analyzed_at.getTime() : null,
  }));
}

/**
 * Analyzes the tables of the current schema that `needsAnalyze`, unless another process is
 * doing so (then nothing: it will be seen at the next check). Returns the tables analyzed.
 */
export async function analyzeStaleTables(db: Kysely<DB>, now: number): Promise<string[]> {
  const due = (await tableActivity(db)).filter((table) => needsAnalyze(table, now)).map((t) => t.table);
  if (due.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    // Transaction-scoped: released with the transaction even if ANALYZE fails.
    const lock = sql<{ locked: boolean }>`
      select pg_try_advisory_xact_lock(hashtext(current_schema() || ':leadline-analyze')) as locked`;
    const { rows } = await lock.execute(trx);
    if (!rows[0]?.locked) return [];
    for (const table of due) await sql`analyze ${sql.id(table)}`.execute(trx);
    return due;
  });
}

/** Runs `analyzeStaleTables` every `intervalMs` until stopped; failures wait for the next round. */
export class StatisticsKeeper {
  readonly #db: Kysely<DB>;
  readonly #timer: NodeJS.Timeout;
  readonly #onAnalyzed: ((tables: string[], ms: number) => void) | undefined;
  /** The check under way: a tick that comes while an ANALYZE still runs joins it. */
  #running: Promise<string[]> | undefined;
  #stopped = false;

  constructor(
    db: Kysely<DB>,
    options: { intervalMs?: number; onAnalyzed?: (tables: string[], ms: number) => void } = {},
  ) {
    this.#db = db;
    this.#onAnalyzed = options.onAnalyzed;
    // An idle process must not be kept alive by it.
    this.#timer = setInterval(() => void this.check(), options.intervalMs ?? STATISTICS_CHECK_MS).unref();
  }

  /** One check now (the timer's; tests call it). Resolves to the tables analyzed. */
  check(): Promise<string[]> {
    if (this.#stopped) return Promise.resolve([]);
    this.#running ??= (async () => {
      const started = performance.now();
      // A lost connection, a schema being dropped: the next round tries again.
      const analyzed = await analyzeStaleTables(this.#db, Date.now()).catch(() => []);
      if (analyzed.length > 0) this.#onAnalyzed?.(analyzed, performance.now() - started);
      return analyzed;
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops the timer and waits for a check under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }
}
