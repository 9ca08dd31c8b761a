import { type Compilable, CompiledQuery, type Kysely, type QueryResult } from 'kysely';
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
 */

type Build = (db: Kysely<DB>, rowCount: number) => Compilable;

/** SQL text by dialect adapter (one per Kysely instance), then by statement name and row count. */
const compiled = new WeakMap<object, Map<string, string>>();

/**
 * Runs the statement `build(db, rowCount)` describes with `parameters`, which must be the
 * rows' values in the order the compiled statement binds them: row by row, and within a row
 * in the column order of the placeholder row `build` inserts.
 */
export async function executeBulk<Row>(
  db: Kysely<DB>,
  name: string,
  rowCount: number,
  build: Build,
  parameters: readonly unknown[],
): Promise<QueryResult<Row>> {
  const executor = db.getExecutor();
  let texts = compiled.get(executor.adapter);
  if (!texts) {
    texts = new Map();
    compiled.set(executor.adapter, texts);
  }
  const key = `${name}:${rowCount}`;
  let text = texts.get(key);
  if (text === undefined) {
    text = build(db, rowCount).compile().sql;
    texts.set(key, text);
  }
  return db.executeQuery<Row>(CompiledQuery.raw(text, parameters as unknown[]));
}

/** `rowCount` copies of a placeholder row whose keys are `columns`, in that order. */
export function placeholderRows<C extends string>(
  columns: readonly C[],
  rowCount: number,
): Record<C, string>[] {
  const row = Object.fromEntries(columns.map((c) => [c, ''])) as Record<C, string>;
  return Array.from({ length: rowCount }, () => row);
}
