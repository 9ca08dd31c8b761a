import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Driver,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  type SqliteDialectConfig,
} from 'kysely';
import pg from 'pg';
import { Checkpointer } from './checkpointer.ts';
import { CurrentSchemaIntrospector } from './current-schema-introspector.ts';
import { GroupCommit } from './group-commit.ts';
import { executeWaitingForLock } from './lock-wait.ts';
import { PostgresListener } from './pg-listener.ts';
import { StatisticsKeeper } from './pg-statistics.ts';
import type { DB } from './schema.ts';
import { withStatementCache } from './statement-cache.ts';
import { WalSync } from './wal-sync.ts';

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
  /** How long opening a PostgreSQL connection may take. (Default: 10,000 ms) */
  pgConnectTimeoutMs?: number;
  /**
   * Told when PostgreSQL ends a pooled connection that sat idle (a server restart, a failover,
   * an administrator's `pg_terminate_backend`): the pool drops it and opens another when one
   * is next needed. Without any listener node-postgres would throw that error out of the
   * process, so one is always attached (see `openPostgres`).
   */
  onConnectionLost?: (error: Error) => void;
  /** Told when PostgreSQL tables were analyzed because they had grown (see pg-statistics.ts). */
  onStatisticsRefreshed?: (tables: string[], ms: number) => void;
}

/** The database handle every service receives: Kysely for queries, `writes` for grouped commits. */
export interface Database {
  db: Kysely<DB>;
  engine: Engine;
  writes: GroupCommit;
  /** SQLite only: the database file (a worker thread opens its own read-only connection to it). */
  sqliteFile?: string;
  /**
   * SQLite only: `PRAGMA data_version` of the writing connection, which changes whenever another
   * connection (another process) commits: with `writes.progress()` it tells that nothing but
   * this process's own writes changed the database since a moment.
   */
  dataVersion?: () => number;
  /**
   * PostgreSQL only: calls `onNotify` with its payload on each `NOTIFY` of `channel` (one
   * connection for every channel, reconnected when lost: pg-listener.ts), so other processes hear at once;
   * without a payload once (re)connected, as what was sent meanwhile is lost. Resolves to the
   * stop. On SQLite there is no other process to hear from: a no-op.
   */
  listen(channel: string, onNotify: (payload?: string) => void): Promise<() => Promise<void>>;
  /** `name` made private to this database's schema (NOTIFY channels are per database, not per schema). */
  channel(name: string): string;
  /**
   * PostgreSQL only: analyzes now the tables that grew past their planner statistics (what a
   * timer does every few seconds, see pg-statistics.ts). Resolves to the tables analyzed.
   */
  refreshStatistics?: () => Promise<string[]>;
  close(): Promise<void>;
}

const INT8_OID = 20;

export function openDatabase(options: DatabaseOptions): Database {
  if (options.databaseUrl) {
    const db = openPostgres(options.databaseUrl, options);
    // A PostgreSQL COMMIT returns after its WAL flush (synchronous_commit): nothing to add.
    const writes = new GroupCommit(db);
    const statistics = new StatisticsKeeper(db, { onAnalyzed: options.onStatisticsRefreshed });
    const listener = new PostgresListener(options.databaseUrl);
    return {
      db,
      engine: 'postgres',
      writes,
      listen: (channel, onNotify) => listener.listen(channel, onNotify),
      channel: (name) => (options.pgSchema ? `${name}_${options.pgSchema}` : name),
      refreshStatistics: () => statistics.check(),
      async close() {
        await statistics.stop();
        await writes.drain();
        await db.destroy();
      },
    };
  }
  const file = options.sqliteFile ?? path.resolve('data', 'leadline.db');
  const { db, sqlite, transactions } = openSqlite(file);
  const wal = new WalSync(file);
  const checkpointer = new Checkpointer(file);
  const writes = new GroupCommit(db, { durable: () => wal.sync() });
  // Read before scoring writes (the model cache's check): prepared once, as `sqlite.pragma()`
  // prepares it anew each call (38 µs against 8 µs here), and read once per write transaction:
  // BEGIN IMMEDIATE holds the write lock, so no other process can commit until it ends and the
  // value read first stands.
  const readDataVersion = sqlite.prepare('pragma data_version').pluck();
  let seen: { transaction: number; version: number } | undefined;
  const dataVersion = (): number => {
    const current = transactions.current;
    if (current !== undefined && seen?.transaction === current) return seen.version;
    const version = readDataVersion.get() as number;
    if (current !== undefined) seen = { transaction: current, version };
    return version;
  };
  return {
    db,
    engine: 'sqlite',
    writes,
    sqliteFile: file,
    dataVersion,
    listen: async () => async () => {},
    channel: (name) => name,
    async close() {
      await writes.drain();
      await wal.close();
      await checkpointer.stop();
      await db.destroy();
    },
  };
}

/** The write transaction open on a SQLite connection: a serial number, or undefined between transactions. */
interface OpenTransaction {
  current: number | undefined;
}

function openSqlite(file: string): {
  db: Kysely<DB>;
  sqlite: SQLite.Database;
  transactions: OpenTransaction;
} {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  // WAL lets readers run beside the writer. Durability: with synchronous=NORMAL a commit
  // reaches the OS but not the disk; group commit acknowledges a write only after WalSync
  // has flushed the WAL (off the main thread), and checkpoints run on a worker with
  // synchronous=FULL (checkpointer.ts). Together that is synchronous=FULL's guarantee
  // without its fsyncs blocking the event loop.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  // The worker checkpoints every 200 ms; this connection's own autocheckpoint is only the
  // safety net should the worker fall behind. It runs inside a COMMIT, on this thread: at
  // 10,000 pages every commit of an import round (~100 MB of pages) checkpointed here, and the
  // 750,000-row import took 105–123 s; at 65,536 the worker does it beside the next round's
  // writes: 83–86 s (runs taking turns). (65,536 pages = 256 MB of WAL)
  sqlite.pragma('wal_autocheckpoint = 65536');
  // A WAL that grew under a burst is cut back to this size once checkpointed. (64 MB)
  sqlite.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  // No busy handler: it would sleep on this thread while another process holds the write
  // lock, and the whole server with it. Statements wait between tries instead (lock-wait.ts).
  sqlite.pragma('busy_timeout = 0');
  sqlite.pragma('cache_size = -65536');
  sqlite.pragma('temp_store = MEMORY');
  const transactions: OpenTransaction = { current: undefined };
  return {
    db: new Kysely<DB>({
      dialect: new LockWaitingDialect({ database: withStatementCache(sqlite) }, transactions),
    }),
    sqlite,
    transactions,
  };
}

/**
 * A read-only connection to a SQLite database another connection writes (WAL): for work a
 * worker thread does beside the writer. Its transactions are plain deferred reads.
 */
export function openSqliteReader(file: string): Kysely<DB> {
  const sqlite = new SQLite(file, { readonly: true, fileMustExist: true });
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('cache_size = -65536');
  return new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
}

/**
 * SQLite whose transactions start with `BEGIN IMMEDIATE`, taking the write lock at once. A
 * deferred `BEGIN` reads first and upgrades at its first write; if another process (a CLI
 * import beside the server) committed in between, that upgrade fails with SQLITE_BUSY_SNAPSHOT
 * at once (no waiting can help) and the whole group commit fails. An immediate transaction
 * waits for the lock instead. Every statement goes through `executeWaitingForLock`.
 */
class LockWaitingDialect extends SqliteDialect {
  readonly #transactions: OpenTransaction;
  #serial = 0;

  constructor(config: SqliteDialectConfig, transactions: OpenTransaction) {
    super(config);
    this.#transactions = transactions;
  }

  override createDriver(): Driver {
    const driver = super.createDriver();
    const acquire = driver.acquireConnection.bind(driver);
    const waiting = new WeakSet<DatabaseConnection>();
    driver.acquireConnection = async () => {
      const connection = await acquire();
      if (!waiting.has(connection)) {
        const execute = connection.executeQuery.bind(connection);
        connection.executeQuery = ((query: CompiledQuery) =>
          executeWaitingForLock(() => execute(query))) as DatabaseConnection['executeQuery'];
        waiting.add(connection);
      }
      return connection;
    };
    const commit = driver.commitTransaction.bind(driver);
    const rollback = driver.rollbackTransaction.bind(driver);
    driver.beginTransaction = async (connection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
      this.#transactions.current = ++this.#serial;
    };
    driver.commitTransaction = async (connection) => {
      this.#transactions.current = undefined;
      await commit(connection);
    };
    driver.rollbackTransaction = async (connection) => {
      this.#transactions.current = undefined;
      await rollback(connection);
    };
    return driver;
  }
}

function openPostgres(url: string, options: DatabaseOptions): Kysely<DB> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.pgPoolSize ?? 10,
    // What pg_stat_activity shows a DBA (and a test) for Leadline's own connections.
    application_name: 'leadline',
    // A host that takes the connection but never answers (a black-holed address, a hung
    // proxy) fails a connection attempt after 10 s instead of hanging start-up and requests
    // (which then answer 503); keep-alive probes find such a peer on idle connections too.
    connectionTimeoutMillis: options.pgConnectTimeoutMs ?? 10_000,
    keepAlive: true,
    // Queries are written without waiting for the previous reply (see LeadlinePostgresDialect).
    pipeline: true,
    // Epoch-millisecond times are bigint columns; they fit a JS number exactly.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as never,
    },
    ...(options.pgSchema ? { options: `-c search_path=${options.pgSchema}` } : {}),
  });
  // A connection lost while idle is reported here (the pool drops it).
  pool.on('error', (error) => options.onConnectionLost?.(error));
  // One lost while checked out emits `error` on the client itself, where the pool listens only
  // while it is idle: unheard, that too would end the process. Its query fails with the cause
  // (a 503 to the request), and the pool drops it when released with that error.
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<DB>({ dialect: new LeadlinePostgresDialect({ pool }) });
}

/**
 * PostgreSQL as Leadline uses it: introspection of its own schema only (see
 * CurrentSchemaIntrospector), and transactions that send their first statement right behind
 * `BEGIN`, without waiting for its answer: the pool's clients run in pipeline mode
 * (`pipeline: true`), where node-postgres writes a query at once instead of after the previous
 * one's reply, and each query still syncs on its own. A group commit of one-lead captures is
 * begin, a lookup, two inserts and commit; the wait for `BEGIN` was one of those five round
 * trips. Measured
 * (`upsert-throughput`, one lead per request, runs taking turns): 853 and 838 leads/s
 * waiting, 1,000 and 1,035 without.
 *
 * Should `BEGIN` fail, the statements behind it fail the same way (a lost connection, a
 * transaction already aborted): none of them can run outside the transaction. Its error is
 * rethrown at COMMIT all the same, so the group is never reported as written.
 * Kysely runs one statement at a time on a connection, so no other query overlaps.
 */
class LeadlinePostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new CurrentSchemaIntrospector(db);
  }

  override createDriver(): Driver {
    const driver = super.createDriver();
    const begin = driver.beginTransaction.bind(driver);
    const commit = driver.commitTransaction.bind(driver);
    const begun = new WeakMap<DatabaseConnection, Promise<unknown>>();
    driver.beginTransaction = async (connection, settings) => {
      if (settings.isolationLevel || settings.accessMode) return begin(connection, settings);
      const sent = connection.executeQuery(CompiledQuery.raw('begin'));
      sent.catch(() => {}); // seen at COMMIT (below); meanwhile the next statement fails too
      begun.set(connection, sent);
    };
    driver.commitTransaction = async (connection) => {
      await begun.get(connection);
      begun.delete(connection);
      await commit(connection);
    };
    return driver;
  }
}
