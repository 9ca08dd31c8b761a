import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { after, before, it } from 'node:test';
import pino from 'pino';
import { createServices, type Services } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { DatabaseOptions } from '../../src/db/database.ts';
import { databaseEnv, main, node, root } from '../support/cli.ts';
import { describeEachEngine, freshDatabase } from '../support/engines.ts';

interface WorkerProcess {
  child: ChildProcessWithoutNullStreams;
  stdout: string;
  /** Resolves when the worker says it runs: its signal handlers are in place from then on. */
  running: Promise<void>;
  exited: Promise<number | null>;
}

function startWorker(env: Record<string, string>): WorkerProcess {
  const { DATABASE_URL: _db, LEADLINE_BOOTSTRAP_KEY: _key, ...inherited } = process.env;
  const child = spawn(node, [main, 'worker', '--concurrency', '16'], {
    cwd: root,
    env: { ...inherited, ...env, LOG_LEVEL: 'debug' },
  });
  let running!: () => void;
  const out: WorkerProcess = {
    child,
    stdout: '',
    running: new Promise((resolve) => {
      running = resolve;
    }),
    exited: new Promise((resolve) => child.on('close', resolve)),
  };
  child.stdout.on('data', (chunk: Buffer) => {
    out.stdout += chunk.toString('utf8');
    if (out.stdout.includes('Leadline worker is running')) running();
  });
  child.stderr.resume();
  return out;
}

/** The ids of the jobs a worker's log says it finished. */
function jobsDone(stdout: string): string[] {
  const ids: string[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; job?: string };
    if (entry.msg === 'job done' && entry.job) ids.push(entry.job);
  }
  return ids;
}

/**
 * Several `leadline worker` processes share one queue. Each claims with one statement (FOR
 * UPDATE SKIP LOCKED on PostgreSQL; an immediate write transaction on SQLite): every job must
 * run exactly once, counted from the workers' own logs and from the jobs table.
 */
describeEachEngine('worker processes sharing one queue', (engine) => {
  const workerCount = engine === 'postgres' ? 4 : 2;
  const jobCount = engine === 'postgres' ? 10_000 : 2_000;
  let services: Services;
  let options: DatabaseOptions;
  let drop: () => Promise<void>;
  const workers: WorkerProcess[] = [];

  before(async () => {
    const fresh = await freshDatabase(engine);
    options = fresh.options;
    drop = fresh.drop;
    services = await createServices(loadConfig({ LOG_LEVEL: 'silent' }), {
      database: options,
      logger: pino({ level: 'silent' }),
    });
    await services.workspaces.bootstrap();
  });

  after(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await services.close();
    await drop();
  });

  it(`${workerCount} workers run ${jobCount.toLocaleString('en-US')} jobs, each exactly once`, async () => {
    const workspace = await services.workspaces.resolveWorkspace('default');
    const ids: string[] = [];
    for (let i = 0; i < jobCount; i += 1000) {
      const requests = Array.from({ length: Math.min(1000, jobCount - i) }, (_, j) => ({
        kind: 'noop',
        payload: { n: i + j },
      }));
      ids.push(...(await services.jobs.enqueue(workspace.id, requests)));
    }
    assert.equal(ids.length, jobCount);

    for (let i = 0; i < workerCount; i++) workers.push(startWorker(databaseEnv(options)));
    const deadline = Date.now() + 240_000;
    for (;;) {
      const counts = await services.jobs.counts(workspace.id);
      if (counts.queued === 0 && counts.running === 0) break;
      assert.ok(Date.now() < deadline, `jobs still waiting: ${JSON.stringify(counts)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // A worker still starting when the others have drained the queue would die of the signal
    // before its handler is in place: stop them once all run.
    await Promise.all(workers.map((w) => w.running));
    for (const w of workers) w.child.kill('SIGTERM');
    const codes = await Promise.all(workers.map((w) => w.exited));
    assert.deepEqual(codes, Array(workerCount).fill(0), 'every worker shut down cleanly on SIGTERM');

    const perWorker = workers.map((w) => jobsDone(w.stdout));
    const all = perWorker.flat();
    assert.equal(all.length, jobCount, 'as many runs as jobs');
    assert.equal(new Set(all).size, jobCount, 'no job ran twice');
    assert.deepEqual([...all].sort(), [...ids].sort(), 'every job ran');
    // PostgreSQL's NOTIFY wakes every worker at once; SQLite workers of other processes only
    // poll (each second), so there one fast worker may take all the jobs before another looks.
    if (engine === 'postgres')
      assert.ok(perWorker.filter((done) => done.length > 0).length >= 2, 'the work was shared');

    const counts = await services.jobs.counts(workspace.id);
    assert.equal(counts.done, jobCount);
    const listed = await services.jobs.list(workspace.id, { state: 'done', limit: jobCount });
    assert.ok(
      listed.every((j) => j.attempts === 1),
      'each job was claimed once',
    );
  });
});
