import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext, Benchmark, BenchResult } from './lib/context.ts';
import { leadInput, PersonGenerator } from './lib/data.ts';
import { Client, ErrorSamples } from './lib/http.ts';
import { best, singleCommitLimit } from './lib/limits.ts';
import { leadRows } from './lib/rows.ts';
import { serverOn } from './lib/setup.ts';
import { percentile, round } from './lib/stats.ts';

/** Requests per second, as a steady open-loop schedule. */
const RATE = 200;

interface Sample {
  /** From the request leaving the client to its response. */
  ms: number;
  /** From when the schedule said to send it (counts time the client itself fell behind). */
  fromScheduleMs: number;
}

/**
 * Sends `bodies.length` requests at `rate`/s on a timer whatever the server does (open loop:
 * a slow response does not delay the next send, so queueing shows up in the latencies).
 */
async function openLoop(
  client: Client,
  bodies: string[],
  rate: number,
  errors: ErrorSamples,
): Promise<Sample[]> {
  const samples: Sample[] = [];
  const pending: Promise<void>[] = [];
  const interval = 1000 / rate;
  const t0 = performance.now() + 5;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < bodies.length && t0 + next * interval <= now) {
        const scheduled = t0 + next * interval;
        const body = bodies[next++]!;
        pending.push(
          client.post('/api/v1/leads', body).then(
            (reply) => {
              if (reply.status !== 201 && reply.status !== 200)
                errors.add(`${reply.status} ${reply.body.slice(0, 200)}`);
              else samples.push({ ms: reply.ms, fromScheduleMs: performance.now() - scheduled });
            },
            (error: unknown) => errors.add(String(error)),
          ),
        );
      }
      if (next >= bodies.length) resolve();
      else setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
    };
    tick();
  });
  await Promise.all(pending);
  return samples;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const seconds = ctx.quick ? 2 : 20;
  const warmupSeconds = ctx.quick ? 1 : 3;
  const people = new PersonGenerator(20261123);
  const bodies = Array.from({ length: (seconds + warmupSeconds) * RATE }, () =>
    JSON.stringify(leadInput(people.next(), people.random)),
  );
  const warmup = bodies.splice(0, warmupSeconds * RATE);

  const limitRows = leadRows(
    Array.from({ length: ctx.quick ? 500 : 3000 }, () => leadInput(people.next(), people.random)),
    '0190f0a0-0000-7000-8000-000000000001',
    Date.now(),
  );
  const measureLimit = () => {
    ctx.log('measuring the single-commit limit…');
    return singleCommitLimit(ctx, 'leads', limitRows);
  };
  const first = await measureLimit();

  const { server, stop } = await serverOn(ctx, 'upsert-latency');
  const client = new Client(server.port, server.key, 256);
  let stopped = false;
  try {
    await sleep(2000);
    const idleRss = server.rssMb();
    ctx.log(`idle RSS ${idleRss.toFixed(1)} MiB; warming up ${warmupSeconds} s at ${RATE}/s…`);
    const warmupErrors = new ErrorSamples();
    await openLoop(client, warmup, RATE, warmupErrors);
    ctx.log(`measuring ${seconds} s at ${RATE}/s…`);
    const errors = new ErrorSamples();
    const cpu0 = server.cpuMs();
    const started = performance.now();
    const samples = await openLoop(client, bodies, RATE, errors);
    const wall = performance.now() - started;
    const cpuMs = server.cpuMs() - cpu0;
    const rssAfter = server.rssMb();
    client.close();
    await stop();
    stopped = true;
    const limit = best([first, await measureLimit()]);
    const ms = samples.map((s) => s.ms);
    const fromSchedule = samples.map((s) => s.fromScheduleMs);
    const notes: string[] = [];
    if (errors.count > 0) notes.push(`errors: ${errors.samples.join(' | ')}`);
    if (warmupErrors.count > 0)
      notes.push(`warm-up errors (${warmupErrors.count}): ${warmupErrors.samples.join(' | ')}`);
    return {
      figures: {
        p50_ms: round(percentile(ms, 50)),
        p90_ms: round(percentile(ms, 90)),
        p99_ms: round(percentile(ms, 99)),
        max_ms: round(percentile(ms, 100)),
        p99_from_schedule_ms: round(percentile(fromSchedule, 99)),
        errors: errors.count,
        requests: bodies.length,
        server_cpu_ms_per_request: round(cpuMs / bodies.length, 3),
        server_cpu_busy: round(cpuMs / wall, 3),
        achieved_rps: Math.round((samples.length + errors.count) / (wall / 1000)),
        idle_rss_mb: round(idleRss, 1),
        rss_after_mb: round(rssAfter, 1),
        raw_single_commit_per_s: limit.perS,
      },
      limit: limit.how,
      params: {
        rate_per_s: RATE,
        seconds,
        warmup_seconds: warmupSeconds,
        limit_runs: limit.runs,
        body: 'POST /api/v1/leads, a new lead each (email, name, company, title, country, city, utm, landing page; phone 60%)',
        client: 'node:http keep-alive agent, up to 256 sockets, open loop',
        ...(limit.settings ? { pg_settings: limit.settings } : {}),
      },
      notes,
    };
  } finally {
    client.close();
    if (!stopped) await stop();
  }
}

export const benchmark: Benchmark = {
  name: 'upsert-latency',
  description: `POST /api/v1/leads at a steady ${RATE}/s for 20 s (open loop): p50/p99, errors, idle RSS`,
  run,
};
