import type SQLite from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * Kysely's SQLite driver prepares every query anew; preparing costs more than running a small
 * statement (and far more for a 1,000-row insert). This wrapper keeps the most recently used
 * prepared statements by SQL text. Kysely runs one query at a time on its single connection,
 * so a cached statement is never in use twice at once — except while a streamed query is
 * being iterated, which is why `iterate` always runs on a fresh statement.
 */
export function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  // Multi-row inserts and long `in (...)` lists are large statements (up to ~1 MB of prepared
  // state each) in many sizes: they get a small cache of their own, so they cannot crowd out
  // the small hot statements or hold hundreds of megabytes.
  const small = new StatementLru(sqlite, 256);
  const large = new StatementLru(sqlite, 8);
  return {
    close: () => sqlite.close(),
    prepare(sql: string): SqliteStatement {
      const statement = (sql.length > LARGE_SQL_CHARS ? large : small).get(sql);
      return {
        reader: statement.reader,
        all: (parameters) => statement.all(...parameters),
        run: (parameters) => statement.run(...parameters),
        iterate: (parameters) => sqlite.prepare(sql).iterate(...parameters) as IterableIterator<unknown>,
      };
    },
  };
}

/** SQL longer than this (in characters) counts as a large statement. */
const LARGE_SQL_CHARS = 4096;

/** Least-recently-used prepared statements by SQL text (a Map keeps insertion order). */
class StatementLru {
  readonly #sqlite: SQLite.Database;
  readonly #capacity: number;
  readonly #statements = new Map<string, SQLite.Statement>();

  constructor(sqlite: SQLite.Database, capacity: number) {
    this.#sqlite = sqlite;
    this.#capacity = capacity;
  }

  get(sql: string): SQLite.Statement {
    let statement = this.#statements.get(sql);
    if (statement) {
      this.#statements.delete(sql);
    } else {
      statement = this.#sqlite.prepare(sql);
      if (this.#statements.size >= this.#capacity)
        this.#statements.delete(this.#statements.keys().next().value!);
    }
    this.#statements.set(sql, statement);
    return statement;
  }
}
