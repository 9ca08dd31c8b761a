import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, it } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { DatabaseOptions } from '../../src/db/database.ts';
import { databaseEnv, main, node, root } from '../support/cli.ts';
import { describeEachEngine, freshDatabase, pgUrl } from '../support/engines.ts';

/** Longer than any start takes: a process still running then would never have ended. (60 s) */
const HUNG_AFTER_MS = 60_000;

interface Ended {
  code: number | null;
  stderr: string;
  /** It had to be killed: it would have kept running with nothing to do. */
  hung: boolean;
}

function runLeadline(args: string[], env: Record<string, string>): Promise<Ended> {
  const { DATABASE_URL: _db, LEADLINE_BOOTSTRAP_KEY: _key, ...inherited } = process.env;
  const child = spawn(node, [main, ...args], { cwd: root, env: { ...inherited, ...env, LOG_LEVEL: 'warn' } });
  let stderr = '';
  let hung = false;
  child.stdout.resume();
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const timer = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, HUNG_AFTER_MS);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, hung });
    });
  });
}

/**
 * A database Leadline cannot migrate (here: a `kysely_migration` table of another shape, as a
 * foreign tool or a botched restore leaves it). Every command that starts on it must say why
 * and end, not hang on the connections it opened: a supervisor then restarts or alerts.
 */
describeEachEngine('a start on a database that cannot be migrated', (engine) => {
  let options: DatabaseOptions;
  let drop: () => Promise<void>;

  before(async () => {
    const fresh = await freshDatabase(engine);
    options = fresh.options;
    drop = fresh.drop;
    const statement = 'create table kysely_migration (nom integer)';
    if (engine === 'sqlite') {
      const sqlite = new SQLite(options.sqliteFile!);
      sqlite.exec(statement);
      sqlite.close();
    } else {
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      await client.query(`set search_path = ${options.pgSchema}`);
      await client.query(statement);
      await client.end();
    }
  });

  after(async () => drop?.());

  for (const args of [['serve'], ['worker'], ['migrate'], ['keys', 'create', '--name', 'x']]) {
    it(`leadline ${args[0]} exits with an error naming the cause`, async () => {
      const ended = await runLeadline(args, databaseEnv(options));
      assert.equal(ended.hung, false, `still running after ${HUNG_AFTER_MS} ms:\n${ended.stderr}`);
      assert.equal(ended.code, 1, ended.stderr);
      assert.match(ended.stderr, /migrat/);
      assert.match(ended.stderr, /name/, 'the cause: the column Leadline looked for');
    });
  }
});

/**
 * A PostgreSQL address that takes the connection and never answers (a black-holed host, a hung
 * proxy): a start must give up and say so, not hang.
 */
describeEachEngine('a start on a PostgreSQL host that never answers', (engine) => {
  if (engine !== 'postgres') return;
  let silent: net.Server;
  let port: number;

  const sockets = new Set<net.Socket>();

  before(async () => {
    silent = net.createServer((socket) => {
      sockets.add(socket.resume());
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as net.AddressInfo).port;
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('leadline migrate gives up after its connect timeout, naming it', async () => {
    const ended = await runLeadline(['migrate'], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/db`,
    });
    assert.equal(ended.hung, false, `still running after ${HUNG_AFTER_MS} ms:\n${ended.stderr}`);
    assert.equal(ended.code, 1, ended.stderr);
    assert.match(ended.stderr, /timeout/);
  });
});
