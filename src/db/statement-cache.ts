import type SQLite from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * Kysely's SQLite driver prepares every query anew; preparing costs more than running a small
 * statement (and far more for a 1,000-row insert). This wrapper keeps the most recently used
 * prepared statements by SQL text. Kysely runs one query at a time on its single connection,
 * so a cached statement is never in use twice at once — except while a streamed query is
 * being iterated, which is why `iterate` always runs on a fresh statement.
 */
export function withStatementCache(sqlite: SQLite.Database, capacity = 256): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  const cached = (sql: string): SQLite.Statement => {
    let statement = cache.get(sql);
    if (statement) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      cache.delete(sql);
    } else {
      statement = sqlite.prepare(sql);
      if (cache.size >= capacity) cache.delete(cache.keys().next().value!);
    }
    cache.set(sql, statement);
    return statement;
  };
  return {
    close: () => sqlite.close(),
    prepare(sql: string): SqliteStatement {
      const statement = cached(sql);
      return {
        reader: statement.reader,
        all: (parameters) => statement.all(...parameters),
        run: (parameters) => statement.run(...parameters),
        iterate: (parameters) => sqlite.prepare(sql).iterate(...parameters) as IterableIterator<unknown>,
      };
    },
  };
}
