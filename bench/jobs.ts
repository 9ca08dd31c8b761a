import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import pino from 'pino';
import { createServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { type BenchContext, type Benchmark, type BenchResult, nodeBin, root } from './lib/context.ts';
import { createBenchDatabase, pgSettings, withClient } from './lib/raw-pg.ts';
import { rate, round } from './lib/stats.ts';

/** Worker processes on PostgreSQL (issue 4); SQLite has one writer, so one. */
const PG_WORKERS = 4;
/** Jobs each worker runs at once (`leadline worker --concurrency`). */
const CONCURRENCY = 16;

interface WorkerProcess {
  child: ChildProcess;
  stdout: string;
  ready: Promise<void>;
  exited: Promise<void>;
}

function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(
    nodeBin,
    [
      '--max-semi-space-size=16',
      path.join(root, 'bin/leadline.js'),
      'worker',
      '--concurrency',
      String(CONCURRENCY),
    ],
    {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        ...env,
        LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const out = { child, stdout: '' } as WorkerProcess;
  out.ready = new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out.stdout += chunk.toString('utf8');
      if (out.stdout.includes('worker is running')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${out.stdout.slice(-2000)}`)));
  });
  child.stderr!.resume();
  out.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  return out;
}

/** Job ids each worker logged as done. */
function doneIds(stdout: string): string[] {
  const ids: string[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.includes('"job done"')) continue;
    ids.push((JSON.parse(line) as { job: string }).job);
  }
  return ids;
}

/**
 * The limit: the same number of rows drained by a bare SKIP LOCKED queue from as many
 * connections as there are workers, each deleting 16 rows per statement (no payload parsing,
 * no bookkeeping, no retries): what PostgreSQL itself allows.
 */
async function rawQueueLimit(url: string, rows: number, clients: number): Promise<number> {
  await withClient(url, async (c) => {
    await c.query('create table raw_queue (id bigint primary key, payload jsonb not null)');
    await c.query(`insert into raw_queue select g, '{}'::jsonb from generate_series(1, ${rows}) g`);
    await c.query('analyze raw_queue');
  });
  const connections = await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client;
    }),
  );
  const started = performance.now();
  await Promise.all(
    connections.map(async (client) => {
      for (;;) {
        const { rowCount } = await client.query(
          'delete from raw_queue where id in (select id from raw_queue order by id limit 16 for update skip locked) returning id',
        );
        if (!rowCount) break;
      }
    }),
  );
  const ms = performance.now() - started;
  await Promise.all(connections.map((c) => c.end()));
  return rate(rows, ms);
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const jobCount = ctx.quick ? 5_000 : 50_000;
  const workers = ctx.engine === 'postgres' ? PG_WORKERS : 1;
  const target = ctx.databaseUrl
    ? await createBenchDatabase(ctx.databaseUrl)
    : { url: undefined, drop: async () => {} };
  const dataDir = path.join(ctx.tmp, 'jobs');
  const services = await createServices(loadConfig({ LOG_LEVEL: 'silent', LEADLINE_DATA_DIR: dataDir }), {
    database: target.url ? { databaseUrl: target.url } : { sqliteFile: path.join(dataDir, 'leadline.db') },
    logger: pino({ level: 'silent' }),
  });
  const processes: WorkerProcess[] = [];
  try {
    const boot = await services.workspaces.bootstrap();
    const workspaceId = boot!.workspace.id;
    const env: Record<string, string> = target.url
      ? { DATABASE_URL: target.url }
      : { LEADLINE_DATA_DIR: dataDir };
    ctx.log(`starting ${workers} worker process(es), ${CONCURRENCY} jobs at once each…`);
    for (let i = 0; i < workers; i++) processes.push(spawnWorker(env));
    await Promise.all(processes.map((p) => p.ready));

    // Every job in one transaction: its commit (and NOTIFY) wakes the workers at once.
    ctx.log(`enqueueing ${jobCount.toLocaleString('en-US')} no-op jobs in one transaction…`);
    const enqueueStarted = performance.now();
    await services.database.writes.run(async (trx) => {
      for (let i = 0; i < jobCount; i += 1000)
        await services.jobs.enqueueIn(
          trx,
          workspaceId,
          Array.from({ length: Math.min(1000, jobCount - i) }, (_, j) => ({
            kind: 'noop',
            payload: { n: i + j },
          })),
        );
    });
    const started = performance.now();
    const enqueueMs = started - enqueueStarted;
    ctx.log('running…');
    for (;;) {
      const counts = await services.jobs.counts(workspaceId);
      if (counts.queued === 0 && counts.running === 0) break;
      if (performance.now() - started > 600_000)
        throw new Error(`jobs left after 10 min: ${JSON.stringify(counts)}`);
      await sleep(20);
    }
    const ms = performance.now() - started;
    for (const p of processes) p.child.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    const runs = processes.map((p) => doneIds(p.stdout));
    const all = runs.flat();
    const duplicates = all.length - new Set(all).size;
    const counts = await services.jobs.counts(workspaceId);

    let limitPerS: number | null = null;
    let settings: Record<string, string> | undefined;
    if (target.url) {
      ctx.log('measuring the bare SKIP LOCKED queue limit…');
      limitPerS = await rawQueueLimit(target.url, jobCount, workers);
      settings = await withClient(target.url, pgSettings);
    }
    const jobsPerS = rate(jobCount, ms);
    return {
      figures: {
        jobs_per_s: jobsPerS,
        duplicates,
        lost: jobCount - new Set(all).size,
        done: counts.done,
        dead: counts.dead,
        seconds: round(ms / 1000, 1),
        workers,
        raw_queue_per_s: limitPerS,
        ratio: limitPerS ? round(jobsPerS / limitPerS, 3) : null,
        enqueue_per_s: rate(jobCount, enqueueMs),
      },
      limit: target.url
        ? `the same number of rows drained by a bare SKIP LOCKED queue (${workers} connections, delete … where id in (select … limit 16 for update skip locked)) in the same database`
        : 'none measured on SQLite (one writer; the figure is one worker process)',
      params: {
        jobs: jobCount,
        concurrency_per_worker: CONCURRENCY,
        per_worker_runs: runs.map((r) => r.length),
        job: 'kind noop (does nothing): the cost measured is the claim, the bookkeeping and the completion',
        timing:
          'from the commit that enqueued every job to the moment none is queued or running (polled every 20 ms)',
        ...(settings ? { pg_settings: settings } : {}),
      },
    };
  } finally {
    for (const p of processes) p.child.kill('SIGKILL');
    await services.close();
    await target.drop();
  }
}

export const benchmark: Benchmark = {
  name: 'jobs',
  description: `no-op jobs run by ${PG_WORKERS} worker processes on PostgreSQL (1 on SQLite): jobs_per_s, duplicates`,
  run,
};
