import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext, Benchmark, BenchResult } from './lib/context.ts';
import { leadInput, PersonGenerator } from './lib/data.ts';
import { Client, ErrorSamples } from './lib/http.ts';
import { best, singleCommitLimit } from './lib/limits.ts';
import { openLoop } from './lib/open-loop.ts';
import { leadRows } from './lib/rows.ts';
import { serverOn } from './lib/setup.ts';
import { percentile, round } from './lib/stats.ts';

/** New hot leads per second (issue 4): each is a POST /api/v1/leads, then its demo_requested event. */
const RATE = 100;
/** How long alerts may still arrive after the last request before the missing ones count as lost. (30 s) */
const DRAIN_MS = 30_000;

/** The owner-alert webhook's receiver: when each lead's alert arrived (performance.now()). */
async function startSink(): Promise<{
  url: string;
  received: Map<string, number>;
  duplicates: () => number;
  close: () => Promise<void>;
}> {
  const received = new Map<string, number>();
  let duplicates = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { lead?: { id?: string } };
      const id = body.lead?.id;
      if (id) {
        if (received.has(id)) duplicates++;
        else received.set(id, at);
      }
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alert`,
    received,
    duplicates: () => duplicates,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function setup(origin: string, key: string, sinkUrl: string): Promise<void> {
  const call = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${origin}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  // The benchmark's sink is on loopback: allowed for this workspace only (the SSRF rule stays on by default).
  await call('PATCH', '/api/v1/workspace', { settings: { allowPrivateWebhookTargets: true } });
  const rep = await call('POST', '/api/v1/users', { name: 'Riley Rep', email: 'riley@sales.example' });
  await call('PUT', '/api/v1/routing/settings', { fallbackOwnerId: rep.id });
  await call('POST', '/api/v1/alerts/rules', {
    name: 'Demo requested: tell the owner now',
    trigger: { type: 'activity', activity: 'demo_requested' },
    channels: [{ type: 'webhook', url: sinkUrl, format: 'json' }],
  });
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const seconds = ctx.quick ? 6 : 60;
  const count = seconds * RATE;
  const people = new PersonGenerator(20261124);
  const bodies = Array.from({ length: count }, () => JSON.stringify(leadInput(people.next(), people.random)));
  const limitRows = leadRows(
    Array.from({ length: ctx.quick ? 500 : 3000 }, () => leadInput(people.next(), people.random)),
    '0190f0a0-0000-7000-8000-000000000001',
    Date.now(),
  );
  ctx.log('measuring the single-commit limit…');
  const first = await singleCommitLimit(ctx, 'leads', limitRows);

  const sink = await startSink();
  const { server, stop } = await serverOn(ctx, 'speed-to-lead');
  const client = new Client(server.port, server.key, 256);
  let stopped = false;
  try {
    await setup(server.origin, server.key, sink.url);
    await sleep(1000);
    ctx.log(`${RATE} new hot leads/s for ${seconds} s (lead, then demo_requested), alerts to ${sink.url}…`);
    const acknowledged = new Map<string, number>();
    const errors = new ErrorSamples();
    const cpu0 = server.cpuMs();
    const started = performance.now();
    await openLoop(
      count,
      RATE,
      async (i) => {
        const lead = await client.post('/api/v1/leads', bodies[i]!);
        if (lead.status !== 201 && lead.status !== 200) return lead;
        const id = (JSON.parse(lead.body) as { id: string }).id;
        const event = await client.post(
          '/api/v1/events',
          JSON.stringify({
            events: [{ type: 'demo_requested', leadId: id, properties: { source: 'bench' } }],
          }),
        );
        if (event.status === 200) acknowledged.set(id, performance.now());
        return event;
      },
      errors,
      [200, 201],
    );
    const sendMs = performance.now() - started;
    ctx.log(`sent in ${(sendMs / 1000).toFixed(1)} s; waiting for the last alerts…`);
    const drainUntil = performance.now() + DRAIN_MS;
    while (performance.now() < drainUntil && [...acknowledged.keys()].some((id) => !sink.received.has(id)))
      await sleep(50);
    const cpuMs = server.cpuMs() - cpu0;
    const latencies: number[] = [];
    let early = 0;
    for (const [id, ackAt] of acknowledged) {
      const at = sink.received.get(id);
      if (at === undefined) continue;
      if (at < ackAt) early++;
      latencies.push(Math.max(0, at - ackAt));
    }
    const lost = acknowledged.size - latencies.length;
    client.close();
    await stop();
    stopped = true;
    const limit = best([first, await singleCommitLimit(ctx, 'leads', limitRows)]);
    const notes = [
      'latency: from the 2xx of the demo_requested event to the alert webhook arriving at the sink (same process clock); the alert is a job committed with the event and run by the in-process worker',
      `early: alerts that arrived before the client had read the event's 2xx (the job ran between the commit and the response); counted as 0 ms`,
    ];
    if (errors.count > 0) notes.push(`errors: ${errors.samples.join(' | ')}`);
    return {
      figures: {
        p50_ms: round(percentile(latencies, 50)),
        p90_ms: round(percentile(latencies, 90)),
        p99_ms: round(percentile(latencies, 99)),
        max_ms: round(percentile(latencies, 100)),
        lost,
        duplicates: sink.duplicates(),
        errors: errors.count,
        leads: acknowledged.size,
        early,
        server_cpu_busy: round(cpuMs / sendMs, 3),
        raw_single_commit_per_s: limit.perS,
      },
      limit: `${limit.how} (a durable commit: the floor under each of the two commits an alert needs, the event's and the job's)`,
      params: { rate_per_s: RATE, seconds, drain_ms: DRAIN_MS, limit_runs: limit.runs },
      notes,
    };
  } finally {
    client.close();
    if (!stopped) await stop();
    await sink.close();
  }
}

export const benchmark: Benchmark = {
  name: 'speed-to-lead',
  description: `${RATE} new hot leads/s for 60 s, each with a demo request: ms from the 2xx to the owner alert at a webhook sink`,
  run,
};
