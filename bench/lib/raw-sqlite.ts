import SQLite from 'better-sqlite3';
import { openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

/**
 * The physical limits on SQLite: the same rows written through one prepared better-sqlite3
 * statement on a fresh file with the product's schema (its migrations) and its pragmas. No
 * Kysely, no validation, no JSON building: what the disk and SQLite allow on this machine.
 */

/** Creates `file` with the product's schema, through its own migrations. */
export async function migratedSqlite(file: string): Promise<void> {
  const database = openDatabase({ sqliteFile: file });
  const result = await migrateToLatest(database);
  await database.close();
  if (result.error) throw result.error;
}

/** Opens `file` with the pragmas of src/db/database.ts `openSqlite` (keep the two in step). */
export function openRawSqlite(file: string): SQLite.Database {
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  return db;
}

export type Row = readonly (string | number | null)[];

export function insertSql(table: string, columns: readonly string[]): string {
  return `insert into ${table} (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`;
}

/** Inserts `rows` with one prepared statement, `perTransaction` rows per commit. Returns ms. */
export function rawBatchedInserts(
  db: SQLite.Database,
  sql: string,
  rows: readonly Row[],
  perTransaction = 1000,
): number {
  const statement = db.prepare(sql);
  const batch = db.transaction((slice: readonly Row[]) => {
    for (const row of slice) statement.run(row);
  });
  const started = performance.now();
  for (let i = 0; i < rows.length; i += perTransaction) batch(rows.slice(i, i + perTransaction));
  return performance.now() - started;
}

/** One row per transaction (one durable commit each, synchronous=FULL). Returns ms. */
export function rawSingleCommits(db: SQLite.Database, sql: string, rows: readonly Row[]): number {
  const statement = db.prepare(sql);
  const started = performance.now();
  for (const row of rows) statement.run(row); // autocommit: each statement is its own transaction
  return performance.now() - started;
}

/**
 * A plain full scan of a workspace's activities grouped by lead (the timeline index covers
 * it), every result row stepped through: the read floor of anything that walks every lead's
 * history. Returns the activity rows counted and ms.
 */
export function rawGroupedScan(db: SQLite.Database, workspaceId: string): { rows: number; ms: number } {
  const statement = db.prepare(
    'select lead_id, count(*) as n from activities where workspace_id = ? group by lead_id',
  );
  const started = performance.now();
  let rows = 0;
  for (const row of statement.iterate(workspaceId) as Iterable<{ lead_id: string; n: number }>) rows += row.n;
  return { rows, ms: performance.now() - started };
}

/**
 * The rows a rescore replays, read into JavaScript objects in one walk of the history index in
 * lead and time order, with the columns a replay needs (`properties` for `withProperties`
 * only): what any replay in this process pays before it replays or writes anything. Returns
 * the rows read and ms.
 */
export function rawReplayRead(
  db: SQLite.Database,
  workspaceId: string,
  types: readonly string[],
  withProperties: readonly string[],
): { rows: number; ms: number } {
  const list = (values: readonly string[]) => values.map(() => '?').join(', ');
  const properties =
    withProperties.length > 0 ? `case when type in (${list(withProperties)}) then properties end` : 'null';
  const statement = db.prepare(
    `select id, lead_id, type, occurred_at, ${properties} as properties from activities
     where workspace_id = ? and type in (${list(types)}) order by lead_id, occurred_at, id`,
  );
  const started = performance.now();
  let rows = 0;
  for (const _row of statement.iterate(...withProperties, workspaceId, ...types)) rows++;
  return { rows, ms: performance.now() - started };
}

/**
 * What a score explanation must read at the least, for each of `leadIds`: the lead row by
 * primary key, and its scoring-state row when the schema keeps states in their own table
 * (`lead_score_states`; later schemas keep the state on the lead row). Returns ms for all of
 * them and the tables read.
 */
export function rawLeadReads(
  db: SQLite.Database,
  workspaceId: string,
  leadIds: readonly string[],
): { ms: number; tables: string[] } {
  const lead = db.prepare('select * from leads where workspace_id = ? and id = ?');
  const separate = db
    .prepare("select 1 from sqlite_master where type = 'table' and name = 'lead_score_states'")
    .get();
  const state = separate
    ? db.prepare('select state from lead_score_states where workspace_id = ? and lead_id = ?')
    : undefined;
  const started = performance.now();
  for (const id of leadIds) {
    if (!lead.get(workspaceId, id)) throw new Error(`lead ${id} not found`);
    state?.get(workspaceId, id);
  }
  return { ms: performance.now() - started, tables: separate ? ['leads', 'lead_score_states'] : ['leads'] };
}
