import path from 'node:path';
import type { BenchContext } from './context.ts';
import {
  connectTo,
  createBenchDatabase,
  migratedPgSchema,
  pgSettings,
  rawCopy,
  rawPgSingleCommits,
} from './raw-pg.ts';
import {
  insertSql,
  migratedSqlite,
  openRawSqlite,
  rawBatchedInserts,
  rawSingleCommits,
} from './raw-sqlite.ts';
import type { TableRows } from './rows.ts';
import { rate } from './stats.ts';

/** Numbers each limit run's database file, so that every run starts empty. */
let runs = 0;

export interface Limit {
  /** Rows (or commits) per second. */
  perS: number;
  /** How it was measured, for the printed `limit:` line and the JSON. */
  how: string;
  settings?: Record<string, string>;
}

/** Rows all at once, or slice by slice (`undefined` ends) when they would not fit in memory together. */
export type RowSource = TableRows | (() => TableRows | undefined);

function* slices(source: RowSource): Generator<TableRows> {
  if (typeof source !== 'function') {
    yield source;
    return;
  }
  for (let slice = source(); slice; slice = source()) yield slice;
}

/**
 * Writes the rows into `table` of a fresh, migrated database the fastest way the engine allows
 * for batches of `perBatch` rows, each batch one commit: one prepared better-sqlite3 statement
 * in a transaction (SQLite), or one COPY FROM STDIN (PostgreSQL). Only the writes are timed.
 */
export async function batchedInsertLimit(
  ctx: BenchContext,
  table: string,
  source: RowSource,
  perBatch = 1000,
): Promise<Limit> {
  let count = 0;
  let ms = 0;
  if (!ctx.databaseUrl) {
    const file = path.join(ctx.tmp, `raw-${table}-${++runs}`, 'leadline.db');
    await migratedSqlite(file);
    const db = openRawSqlite(file);
    try {
      for (const data of slices(source)) {
        ms += rawBatchedInserts(db, insertSql(table, data.columns), data.rows, perBatch);
        count += data.rows.length;
      }
      return {
        perS: rate(count, ms),
        how: `${count.toLocaleString('en-US')} rows through one prepared better-sqlite3 insert into ${table}, ${perBatch} rows per transaction, WAL + synchronous=FULL, product schema and indexes`,
      };
    } finally {
      db.close();
    }
  }
  return withRawPg(ctx.databaseUrl, async (client) => {
    for (const data of slices(source)) {
      ms += await rawCopy(client, table, data.columns, data.rows, perBatch);
      count += data.rows.length;
    }
    return {
      perS: rate(count, ms),
      how: `${count.toLocaleString('en-US')} rows by COPY ${table} FROM STDIN (text), ${perBatch} rows per COPY and commit, one connection, product schema and indexes`,
      settings: await pgSettings(client),
    };
  });
}

/** One row per commit, one writer, durable (SQLite synchronous=FULL; PostgreSQL synchronous_commit as set). */
export async function singleCommitLimit(ctx: BenchContext, table: string, data: TableRows): Promise<Limit> {
  if (!ctx.databaseUrl) {
    const file = path.join(ctx.tmp, `raw-single-${table}-${++runs}`, 'leadline.db');
    await migratedSqlite(file);
    const db = openRawSqlite(file);
    try {
      const ms = rawSingleCommits(db, insertSql(table, data.columns), data.rows);
      return {
        perS: rate(data.rows.length, ms),
        how: `${data.rows.length.toLocaleString('en-US')} single-row transactions into ${table} through one prepared better-sqlite3 statement, WAL + synchronous=FULL`,
      };
    } finally {
      db.close();
    }
  }
  return withRawPg(ctx.databaseUrl, async (client) => {
    const ms = await rawPgSingleCommits(client, table, data.columns, data.rows);
    return {
      perS: rate(data.rows.length, ms),
      how: `${data.rows.length.toLocaleString('en-US')} single-row autocommit inserts into ${table} from one connection (prepared)`,
      settings: await pgSettings(client),
    };
  });
}

/** Runs `measure` on one connection to a fresh bench database with the product's schema, dropped after. */
async function withRawPg<T>(
  databaseUrl: string,
  measure: (client: Awaited<ReturnType<typeof connectTo>>) => Promise<T>,
): Promise<T> {
  const { url, drop } = await createBenchDatabase(databaseUrl);
  try {
    await migratedPgSchema(url, 'raw');
    const client = await connectTo(url, 'raw');
    try {
      return await measure(client);
    } finally {
      await client.end();
    }
  } finally {
    await drop();
  }
}

/**
 * The limit as the best of its measurements (one before the product's run, one after): on a
 * shared machine another process's I/O can only slow a run down, so the best is the closer
 * estimate of what the hardware allows. Every measurement is kept for the JSON.
 */
export function best(limits: readonly Limit[]): Limit & { runs: number[] } {
  const top = limits.reduce((a, b) => (b.perS > a.perS ? b : a));
  return { ...top, how: `best of ${limits.length}: ${top.how}`, runs: limits.map((l) => l.perS) };
}
