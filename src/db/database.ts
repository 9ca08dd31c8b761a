import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { CompiledQuery, type Driver, Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { GroupCommit } from './group-commit.ts';
import type { DB } from './schema.ts';
import { withStatementCache } from './statement-cache.ts';

export type Engine = 'sqlite' | 'postgres';

export interface DatabaseOptions {
  /** `postgres://…` for PostgreSQL; otherwise SQLite in `sqliteFile`. */
  databaseUrl?: string | undefined;
  /** SQLite database file. (Default: `<dataDir>/leadline.db`) */
  sqliteFile?: string;
  /** PostgreSQL schema to use instead of `public` (each test file gets its own). */
  pgSchema?: string;
  /** Largest PostgreSQL pool. (Default: 10) */
  pgPoolSize?: number;
}

/** The database handle every service receives: Kysely for queries, `writes` for grouped commits. */
export interface Database {
  db: Kysely<DB>;
  engine: Engine;
  writes: GroupCommit;
  close(): Promise<void>;
}

const INT8_OID = 20;

export function openDatabase(options: DatabaseOptions): Database {
  const db = options.databaseUrl ? openPostgres(options.databaseUrl, options) : openSqlite(options);
  const engine: Engine = options.databaseUrl ? 'postgres' : 'sqlite';
  const writes = new GroupCommit(db);
  return {
    db,
    engine,
    writes,
    async close() {
      await writes.drain();
      await db.destroy();
    },
  };
}

function openSqlite(options: DatabaseOptions): Kysely<DB> {
  const file = options.sqliteFile ?? path.resolve('data', 'leadline.db');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  // WAL lets readers run beside the writer; synchronous=FULL makes every commit durable
  // across a power loss, not just a process crash. Group commit (group-commit.ts) pays for
  // the extra fsync by committing many requests at once.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('cache_size = -65536');
  sqlite.pragma('temp_store = MEMORY');
  return new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }) });
}

/**
 * SQLite whose transactions start with `BEGIN IMMEDIATE`, taking the write lock at once. A
 * deferred `BEGIN` reads first and upgrades at its first write; if another process (a CLI
 * import beside the server) committed in between, that upgrade fails with SQLITE_BUSY_SNAPSHOT
 * at once (busy_timeout cannot help) and the whole group commit fails. An immediate
 * transaction waits for the lock instead, up to busy_timeout.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }
}

function openPostgres(url: string, options: DatabaseOptions): Kysely<DB> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.pgPoolSize ?? 10,
    // Epoch-millisecond times are bigint columns; they fit a JS number exactly.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as never,
    },
    ...(options.pgSchema ? { options: `-c search_path=${options.pgSchema}` } : {}),
  });
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}
