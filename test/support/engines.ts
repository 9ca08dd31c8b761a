import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { createHttpApp, createServices, type Services } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { DatabaseOptions, Engine } from '../../src/db/database.ts';
import type { HttpApp } from '../../src/http/types.ts';

/** PostgreSQL the suite runs against. (Default: the CI machine's trust-auth server) */
export const pgUrl = process.env.LEADLINE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

const pgProblem = await reachable(pgUrl);
if (pgProblem && process.env.CI !== 'true') {
  process.stderr.write(
    `# PostgreSQL at ${pgUrl} is unreachable (${pgProblem}): its half of this file is skipped.\n`,
  );
}

let counter = 0;

/** A fresh, empty database of the engine: a SQLite file in a temp folder, or a new PostgreSQL schema. */
export async function freshDatabase(
  engine: Engine,
): Promise<{ options: DatabaseOptions; drop: () => Promise<void> }> {
  const tag = `${process.pid}_${Date.now().toString(36)}_${counter++}`;
  if (engine === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leadline-test-'));
    return {
      options: { sqliteFile: path.join(dir, 'leadline.db') },
      drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = `t_${tag}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  return {
    options: { databaseUrl: pgUrl, pgSchema: schema, pgPoolSize: 4 },
    drop: async () => {
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      await client.query(`drop schema ${schema} cascade`);
      await client.end();
    },
  };
}

export interface TestApp {
  engine: Engine;
  app: HttpApp;
  services: Services;
  /** The admin key of workspace `default`. */
  key: string;
  /** Workspace `default`, the one `key` belongs to. */
  workspaceId: string;
  /** Advances the services' clock (it starts at 2026-01-01T00:00:00Z). */
  clock: { now: number };
  close: () => Promise<void>;
}

/** Builds the whole app on a fresh database with a controllable clock; nothing is mocked. */
export async function startApp(engine: Engine, env: Record<string, string> = {}): Promise<TestApp> {
  const { options, drop } = await freshDatabase(engine);
  const clock = { now: Date.UTC(2026, 0, 1) };
  const config = loadConfig({ LOG_LEVEL: 'silent', ...env });
  const services = await createServices(config, {
    database: options,
    clock: () => clock.now,
    logger: pino({ level: 'silent' }),
  }).catch(async (error: unknown) => {
    await drop();
    throw error;
  });
  const boot = await services.workspaces.bootstrap();
  const app = await createHttpApp(services);
  return {
    engine,
    app,
    services,
    key: boot!.key,
    workspaceId: boot!.workspace.id,
    clock,
    close: async () => {
      await app.close();
      await drop();
    },
  };
}

/** Two processes on one database, as `startTwoProcesses` gives them. */
export interface TwoProcesses {
  first: Services;
  second: Services;
  /** Closes both and drops the database. */
  close(): Promise<void>;
}

/**
 * Two sets of services on one fresh database stand for two API processes: each has its own
 * connections, group commit and caches. For races between processes (PostgreSQL's, mostly).
 */
export async function startTwoProcesses(
  engine: Engine,
  options: { clock?: () => number } = {},
): Promise<TwoProcesses> {
  const { options: database, drop } = await freshDatabase(engine);
  const config = loadConfig({ LOG_LEVEL: 'silent' });
  const shared = {
    database,
    logger: pino({ level: 'silent' }),
    ...(options.clock ? { clock: options.clock } : {}),
  };
  const first = await createServices(config, shared);
  const second = await createServices(config, shared).catch(async (error: unknown) => {
    await first.close();
    await drop();
    throw error;
  });
  return {
    first,
    second,
    async close() {
      await first.close();
      await second.close();
      await drop();
    },
  };
}

/**
 * Runs `body` once per engine: SQLite always, PostgreSQL when reachable. Under CI=true an
 * unreachable PostgreSQL is a failing test, never a silent skip.
 */
export function describeEachEngine(title: string, body: (engine: Engine) => void): void {
  describe(`${title} [sqlite]`, () => body('sqlite'));
  describeOnPostgres(title, () => body('postgres'));
}

/** `body` on PostgreSQL alone, under the same rule: skipped with a notice, but failing under CI=true. */
export function describeOnPostgres(title: string, body: () => void): void {
  if (!pgProblem) {
    describe(`${title} [postgres]`, body);
  } else if (process.env.CI === 'true') {
    describe(`${title} [postgres]`, () => {
      it('reaches PostgreSQL', () => {
        throw new Error(`PostgreSQL at ${pgUrl} is unreachable under CI=true: ${pgProblem}`);
      });
    });
  }
}

/** Starts one app per describe block (in `before`) and closes it after; call the getter inside tests. */
export function useApp(engine: Engine, env?: Record<string, string>): () => TestApp {
  let current: TestApp | undefined;
  before(async () => {
    current = await startApp(engine, env);
  });
  after(async () => current?.close());
  return () => {
    if (!current) throw new Error('the app did not start');
    return current;
  };
}

export function authHeaders(key: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${key}`, ...extra };
}

/**
 * The backends waiting on a lock that backend `holderPid` holds (all of them, or Leadline's own
 * connections alone). Read afresh each time: inside a transaction, as the holder usually is,
 * PostgreSQL reads pg_stat_activity once and keeps it, so a connection opened after the first
 * look would never show.
 */
export async function backendsBlockedBy(
  client: pg.Client,
  holderPid: number,
  { leadlineOnly = false } = {},
): Promise<number[]> {
  await client.query('select pg_stat_clear_snapshot()');
  const { rows } = await client.query<{ pid: number }>(
    `select pid from pg_stat_activity
      where $1 = any(pg_blocking_pids(pid)) and ($2::boolean is false or application_name = 'leadline')`,
    [holderPid, leadlineOnly],
  );
  return rows.map((r) => r.pid);
}
