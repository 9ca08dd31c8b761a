import pg from 'pg';
import { openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import type { Row } from './raw-sqlite.ts';

/**
 * PostgreSQL side of the benchmarks: a fresh database per run, and the physical limits
 * (COPY FROM STDIN, plain single-row commits) on a schema migrated by the product itself.
 */

/** Creates database `bench_<time>_<pid>` next to the one `adminUrl` names; `drop` removes it. */
export async function createBenchDatabase(
  adminUrl: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `bench_${Date.now().toString(36)}_${process.pid}`;
  await withClient(adminUrl, (c) => c.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withClient(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {}),
  };
}

export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates schema `schema` in the database at `url` and applies the product's migrations there. */
export async function migratedPgSchema(url: string, schema: string): Promise<void> {
  await withClient(url, (c) => c.query(`create schema ${schema}`));
  const database = openDatabase({ databaseUrl: url, pgSchema: schema, pgPoolSize: 1 });
  const result = await migrateToLatest(database);
  await database.close();
  if (result.error) throw result.error;
}

/** A client whose search_path is `schema`. */
export async function connectTo(url: string, schema: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  return client;
}

/** Server settings that decide the cost of a commit, recorded with the figures. */
export async function pgSettings(client: pg.Client): Promise<Record<string, string>> {
  const { rows } = await client.query<{ name: string; setting: string }>(
    `select name, setting from pg_settings where name in
     ('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'commit_delay', 'server_version')`,
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
}

function copyText(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return value.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/** The protocol surface of pg's connection that a COPY needs (pg-copy-streams uses the same). */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/**
 * `COPY table (columns) FROM STDIN` of rows already in memory, through pg's Submittable hook
 * (pg-copy-streams is not a dependency; this is the same protocol exchange, without streams).
 */
class CopyIn {
  readonly text: string;
  readonly #data: Buffer;
  readonly #done: { resolve: () => void; reject: (e: unknown) => void };
  #error: unknown;

  constructor(text: string, data: Buffer, done: { resolve: () => void; reject: (e: unknown) => void }) {
    this.text = text;
    this.#data = data;
    this.#done = done;
  }

  submit(connection: CopyConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    const chunk = 64 * 1024;
    for (let i = 0; i < this.#data.length; i += chunk)
      connection.sendCopyFromChunk(this.#data.subarray(i, i + chunk));
    connection.endCopyFrom();
  }

  handleCommandComplete(): void {}

  handleError(error: unknown): void {
    this.#error = error;
  }

  handleReadyForQuery(): void {
    if (this.#error) this.#done.reject(this.#error);
    else this.#done.resolve();
  }
}

/** COPY's text format of `rows`. */
export function copyData(rows: readonly Row[]): Buffer {
  return Buffer.from(`${rows.map((row) => row.map(copyText).join('\t')).join('\n')}\n`, 'utf8');
}

export function copyIn(
  client: pg.Client,
  table: string,
  columns: readonly string[],
  data: Buffer,
): Promise<void> {
  return new Promise((resolve, reject) => {
    client.query(
      new CopyIn(`copy ${table} (${columns.join(', ')}) from stdin`, data, { resolve, reject }) as never,
    );
  });
}

/**
 * COPYs `rows` in statements of `perCopy` rows, each its own commit. The text payloads are built
 * before the clock starts: the figure is the server's and the wire's. Returns ms.
 */
export async function rawCopy(
  client: pg.Client,
  table: string,
  columns: readonly string[],
  rows: readonly Row[],
  perCopy = 1000,
): Promise<number> {
  const payloads: Buffer[] = [];
  for (let i = 0; i < rows.length; i += perCopy) payloads.push(copyData(rows.slice(i, i + perCopy)));
  const started = performance.now();
  for (const data of payloads) await copyIn(client, table, columns, data);
  return performance.now() - started;
}

/** One single-row insert per commit from one client (a prepared statement). Returns ms. */
export async function rawPgSingleCommits(
  client: pg.Client,
  table: string,
  columns: readonly string[],
  rows: readonly Row[],
): Promise<number> {
  const text = `insert into ${table} (${columns.join(', ')}) values (${columns.map((_, i) => `$${i + 1}`).join(', ')})`;
  const started = performance.now();
  for (const row of rows) await client.query({ name: `single_${table}`, text, values: row as unknown[] });
  return performance.now() - started;
}
