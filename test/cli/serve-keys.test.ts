import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { describe, it } from 'node:test';

import { main, node, root, tempFolder } from '../support/cli.ts';

/**
 * The `leadline` command as an operator runs it: real processes on a temporary data folder
 * (SQLite), talking HTTP on a free port.
 */

const dataDir = () => tempFolder('leadline-cli-');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function environment(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // Never the caller's PostgreSQL or key: these tests own their data folder.
  const { DATABASE_URL: _db, LEADLINE_BOOTSTRAP_KEY: _key, ...inherited } = process.env;
  return { ...inherited, LEADLINE_DATA_DIR: dir, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...extra };
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a one-shot command to its end. */
async function run(args: string[], env: NodeJS.ProcessEnv): Promise<Finished> {
  const child = spawn(node, [main, ...args], { cwd: root, env });
  return finished(child, { stdout: '', stderr: '' });
}

function finished(child: ChildProcess, output: { stdout: string; stderr: string }): Promise<Finished> {
  child.stdout?.on('data', (chunk) => {
    output.stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output.stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out:\n${output.stdout}\n${output.stderr}`));
    }, 30_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // Let the pipes flush what the process wrote last.
      setImmediate(() => resolve({ code, signal, ...output }));
    });
  });
}

interface Server {
  url: string;
  output: { stdout: string; stderr: string };
  exited: Promise<Finished>;
  child: ChildProcess;
}

/** Starts `leadline serve` and resolves once it listens. */
async function serve(dir: string, extra: Record<string, string> = {}): Promise<Server> {
  const port = await freePort();
  const child = spawn(node, [main, 'serve'], {
    cwd: root,
    env: environment(dir, { PORT: String(port), ...extra }),
  });
  const output = { stdout: '', stderr: '' };
  const exited = finished(child, output);
  const deadline = Date.now() + 30_000;
  while (!output.stdout.includes('Leadline is listening')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve did not start:\n${output.stdout}\n${output.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { url: `http://127.0.0.1:${port}`, output, exited, child };
}

async function stop(server: Server): Promise<Finished> {
  server.child.kill('SIGTERM');
  return server.exited;
}

/** The admin key `serve` prints on an empty database, if it printed one. */
function printedKey(stdout: string): string | undefined {
  return /shown this once:\s+(ll_[A-Za-z0-9_-]+)/.exec(stdout)?.[1];
}

async function api(server: Server, key: string, method: string, route: string, body?: unknown) {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('leadline serve', () => {
  it('prints an admin key once on an empty database, and none on the next start; SIGTERM exits 0', async () => {
    const dir = dataDir();
    const first = await serve(dir, { LOG_LEVEL: 'info' });
    const key = printedKey(first.output.stdout);
    assert.ok(key, first.output.stdout);
    // Migrations are announced before they run (a large one takes minutes), then reported done.
    const announced = first.output.stdout.search(/applying \d+ database migration\(s\)/);
    assert.ok(announced >= 0, first.output.stdout);
    assert.ok(first.output.stdout.indexOf('database migrated') > announced, first.output.stdout);
    const workspace = await api(first, key, 'GET', '/api/v1/workspace');
    assert.equal(workspace.status, 200);
    assert.equal(workspace.body.slug, 'default');
    const health = await fetch(`${first.url}/readyz`);
    assert.equal(health.status, 200);
    const stopped = await stop(first);
    assert.equal(stopped.code, 0, stopped.stderr);

    const second = await serve(dir, { LOG_LEVEL: 'info' });
    assert.equal(printedKey(second.output.stdout), undefined);
    assert.doesNotMatch(second.output.stdout, /shown this once/);
    assert.doesNotMatch(second.output.stdout, /database migration|database migrated/);
    assert.equal((await api(second, key, 'GET', '/api/v1/workspace')).status, 200);
    assert.equal((await stop(second)).code, 0);
  });

  it('makes LEADLINE_BOOTSTRAP_KEY the first admin key, without echoing it', async () => {
    const dir = dataDir();
    const bootstrapKey = 'ci-bootstrap-key-0123456789';
    const server = await serve(dir, { LEADLINE_BOOTSTRAP_KEY: bootstrapKey });
    try {
      assert.ok(!server.output.stdout.includes(bootstrapKey));
      assert.match(server.output.stdout, /the value of LEADLINE_BOOTSTRAP_KEY/);
      const created = await api(server, bootstrapKey, 'POST', '/api/v1/keys', {
        name: 'made by bootstrap',
        scope: 'read',
      });
      assert.equal(created.status, 201);
      assert.equal((await api(server, 'll_not-the-key', 'GET', '/api/v1/workspace')).status, 401);
    } finally {
      assert.equal((await stop(server)).code, 0);
    }
    // Set on a database that has its workspace already: ignored, and the log says so.
    const again = await serve(dir, { LEADLINE_BOOTSTRAP_KEY: 'another-bootstrap-key-0123' });
    const stopped = await stop(again);
    assert.equal(stopped.code, 0);
    assert.match(stopped.stdout, /LEADLINE_BOOTSTRAP_KEY is ignored: the database already has a workspace/);
  });

  it('refuses invalid configuration with a message naming the variable', async () => {
    const result = await run(['serve'], environment(dataDir(), { PORT: 'abc' }));
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /PORT/);
    const short = await run(['serve'], environment(dataDir(), { LEADLINE_BOOTSTRAP_KEY: 'short' }));
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /LEADLINE_BOOTSTRAP_KEY/);
  });

  it('keeps an acknowledged write across a kill -9', async () => {
    const dir = dataDir();
    const server = await serve(dir);
    const key = printedKey(server.output.stdout)!;
    const created = await api(server, key, 'POST', '/api/v1/leads', {
      email: 'durable@crash.io',
      firstName: 'Dura',
    });
    assert.equal(created.status, 201);
    server.child.kill('SIGKILL');
    const killed = await server.exited;
    assert.equal(killed.signal, 'SIGKILL');

    const restarted = await serve(dir);
    try {
      const lead = await api(restarted, key, 'GET', `/api/v1/leads/${created.body.id}`);
      assert.equal(lead.status, 200);
      assert.equal(lead.body.email, 'durable@crash.io');
      assert.equal(lead.body.firstName, 'Dura');
    } finally {
      await stop(restarted);
    }
  });
});

describe('leadline keys, migrate', () => {
  it('keys create prints only the key, which has the scope asked for', async () => {
    const dir = dataDir();
    const server = await serve(dir);
    const admin = printedKey(server.output.stdout)!;
    try {
      const result = await run(
        ['keys', 'create', '--workspace', 'default', '--name', 'ci', '--scope', 'read'],
        environment(dir),
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^ll_[A-Za-z0-9_-]{43}\n$/);
      const key = result.stdout.trim();
      assert.equal((await api(server, key, 'GET', '/api/v1/leads')).status, 200);
      const write = await api(server, key, 'POST', '/api/v1/leads', { email: 'no@scope.io' });
      assert.equal(write.status, 403);
      assert.equal(write.body.code, 'FORBIDDEN');
      const listed = await api(server, admin, 'GET', '/api/v1/keys');
      const ci = (listed.body.data as Array<{ name: string; scope: string }>).find((k) => k.name === 'ci');
      assert.equal(ci?.scope, 'read');

      const unknown = await run(
        ['keys', 'create', '--workspace', 'nowhere', '--name', 'x'],
        environment(dir),
      );
      assert.notEqual(unknown.code, 0);
      assert.equal(unknown.stdout, '');
      assert.match(unknown.stderr, /nowhere/);
      const badScope = await run(['keys', 'create', '--name', 'x', '--scope', 'root'], environment(dir));
      assert.notEqual(badScope.code, 0);
      assert.match(badScope.stderr, /--scope/);
    } finally {
      await stop(server);
    }
  });

  it('keys create on an empty database also shows the admin key it had to create, on stderr', async () => {
    const dir = dataDir();
    const result = await run(['keys', 'create', '--name', 'first', '--scope', 'write'], environment(dir));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^ll_[A-Za-z0-9_-]{43}\n$/);
    const admin = printedKey(result.stderr);
    assert.ok(admin, result.stderr);
    const server = await serve(dir);
    try {
      assert.equal(printedKey(server.output.stdout), undefined);
      assert.equal((await api(server, admin, 'GET', '/api/v1/keys')).status, 200);
    } finally {
      await stop(server);
    }
  });

  it('migrate applies the migrations once, then says the database is up to date', async () => {
    const dir = dataDir();
    const first = await run(['migrate'], environment(dir));
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^applying \d+ migration\(s\)…\napplied: /);
    const second = await run(['migrate'], environment(dir));
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /database is up to date/);
    assert.doesNotMatch(second.stdout, /applied|applying/);
  });

  it('answers an unknown command with usage and exit code 2', async () => {
    const result = await run(['frobnicate'], environment(dataDir()));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Unknown command "frobnicate"/);
    assert.match(result.stderr, /Usage: leadline/);
  });
});
