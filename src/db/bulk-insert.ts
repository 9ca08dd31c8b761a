import { type Compilable, CompiledQuery, type Kysely, PostgresAdapter, type QueryResult } from 'kysely';
import type { DB } from './schema.ts';

/**
 * Multi-row statements of the hot write paths, compiled by Kysely once per dialect and row
 * count and then reused with fresh parameters.
 *
 * Building and compiling a 400-row insert through Kysely's query builder costs ~4 µs per row
 * (an operation node per value, then a visitor pass), as much as SQLite takes to store the
 * row. The SQL text of "insert n rows into t" never changes, so it is compiled once; only the
 * parameter array is built per call. Kysely still executes it (same connection, same
 * transaction, same statement cache), so nothing bypasses the data layer.
 *
 * Rows go in statements of a few fixed sizes (`maxRows`, 64, 8), then the fewer than 8 left
 * in one statement of their own size: 987 rows are 2 x 400 + 2 x 64 + 7 x 8 + 1 x 3. A
 * statement for every count would mean a new SQL text, hence a new SQLite prepare
 * (milliseconds for a large one), for almost every batch; the few small ones keep a handful of
 * concurrent single captures (group commit's joint runs) to one statement, one round trip on
 * PostgreSQL.
 */

type Build = (db: Kysely<DB>, rowCount: number) => Compilable;

/** SQL text by dialect adapter (one per Kysely instance), then by statement name and row count. */
const compiled = new WeakMap<object, Map<string, string>>();

const SMALLER_SIZES = [64, 8];

/**
 * Runs the statement `build(db, n)` describes over `rows`, n rows at a time, and returns
 * what the statements returned. Each row holds its values in the column order of the
 * placeholder rows `build` inserts (see `placeholderRows`).
 */
export async function insertBulk<Result>(
  db: Kysely<DB>,
  name: string,
  rows: readonly (readonly unknown[])[],
  maxRows: number,
  build: Build,
  unnest?: UnnestInsert,
): Promise<Result[]> {
  if (unnest && rows.length >= UNNEST_FROM && db.getExecutor().adapter instanceof PostgresAdapter)
    return insertUnnest(db, unnest, rows);
  const results: Result[] = [];
  let at = 0;
  const insert = async (size: number) => {
    const parameters: unknown[] = [];
    for (let i = at; i < at + size; i++) for (const value of rows[i]!) parameters.push(value);
    const { rows: returned } = await db.executeQuery<Result>(
      CompiledQuery.raw(sqlFor(db, name, size, build), parameters),
    );
    for (const row of returned) results.push(row);
    at += size;
  };
  for (const size of [maxRows, ...SMALLER_SIZES.filter((size) => size < maxRows)])
    while (rows.length - at >= size) await insert(size);
  if (at < rows.length) await insert(rows.length - at);
  return results;
}

/**
 * Rows from which PostgreSQL gets them as arrays (`insertUnnest`): for a few rows a `values`
 * list is cheaper (a group of four single captures: 0.8 ms for the lead insert as values, 1.8 ms
 * as arrays, probe). (32)
 */
const UNNEST_FROM = 32;

/** The same insert as `insertBulk`'s `build`, for PostgreSQL's arrays (`insertUnnest`). */
export interface UnnestInsert {
  table: keyof DB & string;
  /** The columns, in the order of each row's values. */
  columns: readonly string[];
  /** What follows the rows: `on conflict (…) do nothing returning id`, say. */
  suffix?: string;
}

/**
 * PostgreSQL: every row in one statement, one array parameter per column
 * (`insert into t (…) select * from unnest($1::text[], $2::bigint[], …)`). A multi-row
 * `values` list binds a parameter per value, and PostgreSQL's cost of binding and planning
 * 16,000 of them is most of the insert: 500 lead rows a transaction went in at 5.9-6.6k rows/s
 * in statements of 400, and at 12.8-17.0k rows/s as arrays (probe, same database).
 */
async function insertUnnest<Result>(
  db: Kysely<DB>,
  { table, columns, suffix = '' }: UnnestInsert,
  rows: readonly (readonly unknown[])[],
): Promise<Result[]> {
  if (rows.length === 0) return [];
  const types = await pgColumnTypes(db, table);
  const arrays = columns.map((column, i) => {
    if (!types.has(column)) throw new Error(`insertUnnest: ${table} has no column ${column}`);
    return rows.map((row) => row[i]);
  });
  const text = `insert into ${table} (${columns.join(', ')}) select * from unnest(${columns
    .map((column, i) => `$${i + 1}::${types.get(column)}[]`)
    .join(', ')}) ${suffix}`;
  const { rows: returned } = await db.executeQuery<Result>(CompiledQuery.raw(text, arrays));
  return returned;
}

/** Column types of PostgreSQL tables as `format_type` names them, read once per dialect and table. */
const typesByAdapter = new WeakMap<object, Map<string, Promise<Map<string, string>>>>();

/**
 * A PostgreSQL table's column types by column name (`bigint`, `double precision`, `jsonb`…), as
 * the migrations made them: what statements over arrays cast their parameters to.
 */
export function pgColumnTypes(db: Kysely<DB>, table: keyof DB & string): Promise<Map<string, string>> {
  const { adapter } = db.getExecutor();
  let tables = typesByAdapter.get(adapter);
  if (!tables) {
    tables = new Map();
    typesByAdapter.set(adapter, tables);
  }
  let types = tables.get(table);
  if (!types) {
    types = db
      .executeQuery<{ name: string; type: string }>(
        CompiledQuery.raw(
          `select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
           where attrelid = to_regclass($1) and attnum > 0 and not attisdropped`,
          [table],
        ),
      )
      .then(({ rows }) => new Map(rows.map((row) => [row.name, row.type])));
    // A failed read (an aborted transaction) is not kept: the next call reads again.
    types.catch(() => tables.delete(table));
    tables.set(table, types);
  }
  return types;
}

/**
 * Runs a statement whose SQL text never changes (a one-row update by key, say) with fresh
 * `parameters`, compiled by Kysely once per dialect. `build` describes it with placeholder
 * values; `parameters` must follow the order in which the compiled statement binds them.
 */
export async function executeCompiled<Result>(
  db: Kysely<DB>,
  name: string,
  build: (db: Kysely<DB>) => Compilable,
  parameters: readonly unknown[],
): Promise<QueryResult<Result>> {
  return db.executeQuery<Result>(CompiledQuery.raw(sqlFor(db, name, 1, build), parameters as unknown[]));
}

/**
 * Runs a select whose SQL text depends only on the length of its `in (…)` list: compiled by
 * Kysely once per dialect and length (lists come padded to a power of two, `paddedInList`).
 * Building it through the query builder on every call cost more than SQLite took to answer a
 * one-key lookup (~35 µs per capture). `build(db, n)` describes it with `n` placeholder list
 * values; `parameters` must follow the order in which the compiled statement binds them.
 */
export async function selectCompiled<Row>(
  db: Kysely<DB>,
  name: string,
  listLength: number,
  build: Build,
  parameters: readonly unknown[],
): Promise<Row[]> {
  const { rows } = await db.executeQuery<Row>(
    CompiledQuery.raw(sqlFor(db, name, listLength, build), parameters as unknown[]),
  );
  return rows;
}

function sqlFor(db: Kysely<DB>, name: string, rowCount: number, build: Build): string {
  const { adapter } = db.getExecutor();
  let texts = compiled.get(adapter);
  if (!texts) {
    texts = new Map();
    compiled.set(adapter, texts);
  }
  const key = `${name}:${rowCount}`;
  let text = texts.get(key);
  if (text === undefined) {
    text = build(db, rowCount).compile().sql;
    texts.set(key, text);
  }
  return text;
}

/** `rowCount` copies of a placeholder row whose keys are `columns`, in that order. */
export function placeholderRows<C extends string>(
  columns: readonly C[],
  rowCount: number,
): Record<C, string>[] {
  const row = Object.fromEntries(columns.map((c) => [c, ''])) as Record<C, string>;
  return Array.from({ length: rowCount }, () => row);
}
