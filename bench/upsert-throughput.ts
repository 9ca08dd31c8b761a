import type { BenchContext, Benchmark, BenchResult } from './lib/context.ts';
import { leadInput, PersonGenerator } from './lib/data.ts';
import { Client, ErrorSamples } from './lib/http.ts';
import { batchedInsertLimit, best } from './lib/limits.ts';
import { leadRows } from './lib/rows.ts';
import { serverOn } from './lib/setup.ts';
import { percentile, rate, round } from './lib/stats.ts';

const CLIENTS = 8;
const BATCH = 500;
const BATCH_CLIENTS = 2;

/**
 * `clients` closed-loop workers share one queue of request bodies: each sends its next request
 * as soon as its previous one is answered. Returns per-request latencies and the wall time.
 */
async function closedLoop(
  client: Client,
  path: string,
  bodies: string[],
  clients: number,
  check: (status: number, body: string) => string | undefined,
  errors: ErrorSamples,
): Promise<{ ms: number[]; wallMs: number }> {
  const ms: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        try {
          const reply = await client.post(path, body);
          const problem = check(reply.status, reply.body);
          if (problem) errors.add(problem);
          else ms.push(reply.ms);
        } catch (error) {
          errors.add(String(error));
        }
      }
    }),
  );
  return { ms, wallMs: performance.now() - started };
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const singles = ctx.quick ? 2_000 : 20_000;
  const batched = ctx.quick ? 20_000 : 200_000;
  const warmup = ctx.quick ? 200 : 1_000;
  const people = new PersonGenerator(4242);
  const next = () => leadInput(people.next(), people.random);

  ctx.log(`generating ${(warmup + singles + batched).toLocaleString('en-US')} leads…`);
  const warmupBodies = Array.from({ length: warmup }, () => JSON.stringify(next()));
  const singleBodies = Array.from({ length: singles }, () => JSON.stringify(next()));
  const batchInputs = Array.from({ length: batched }, next);
  const batchBodies: string[] = [];
  for (let i = 0; i < batchInputs.length; i += BATCH) {
    batchBodies.push(JSON.stringify({ leads: batchInputs.slice(i, i + BATCH) }));
  }

  const rawRows = leadRows(batchInputs, '0190f0a0-0000-7000-8000-000000000001', Date.now());
  const measureLimit = () => {
    ctx.log('measuring the raw insert limit…');
    return batchedInsertLimit(ctx, 'leads', rawRows, 1000);
  };
  const first = await measureLimit();

  const { server, stop } = await serverOn(ctx, 'upsert-throughput');
  const client = new Client(server.port, server.key, CLIENTS);
  let stopped = false;
  try {
    const single = (status: number, body: string) =>
      status === 201 ? undefined : `${status} ${body.slice(0, 200)}`;
    const warmupErrors = new ErrorSamples();
    await closedLoop(client, '/api/v1/leads', warmupBodies, CLIENTS, single, warmupErrors);

    ctx.log(`${singles.toLocaleString('en-US')} single upserts from ${CLIENTS} clients…`);
    const errors = new ErrorSamples();
    const cpu0 = server.cpuMs();
    const one = await closedLoop(client, '/api/v1/leads', singleBodies, CLIENTS, single, errors);

    ctx.log(`${batched.toLocaleString('en-US')} leads in batches of ${BATCH} from ${BATCH_CLIENTS} clients…`);
    const cpu1 = server.cpuMs();
    const batchErrors = new ErrorSamples();
    const many = await closedLoop(
      client,
      '/api/v1/leads/batch',
      batchBodies,
      BATCH_CLIENTS,
      (status, body) => {
        if (status !== 200) return `${status} ${body.slice(0, 200)}`;
        const result = JSON.parse(body) as { created: number; rejected: number };
        return result.created === BATCH
          ? undefined
          : `created ${result.created} of ${BATCH}, rejected ${result.rejected}`;
      },
      batchErrors,
    );
    const cpu2 = server.cpuMs();
    const peakRss = server.peakRssMb();
    client.close();
    await stop();
    stopped = true;
    const limit = best([first, await measureLimit()]);
    const leadsPerS = rate(one.ms.length, one.wallMs);
    const batchLeadsPerS = rate(many.ms.length * BATCH, many.wallMs);
    const notes: string[] = [];
    if (errors.count) notes.push(`single errors: ${errors.samples.join(' | ')}`);
    if (batchErrors.count) notes.push(`batch errors: ${batchErrors.samples.join(' | ')}`);
    if (warmupErrors.count) notes.push(`warm-up errors: ${warmupErrors.samples.join(' | ')}`);
    return {
      figures: {
        leads_per_s: leadsPerS,
        p50_ms: round(percentile(one.ms, 50)),
        p99_ms: round(percentile(one.ms, 99)),
        errors: errors.count,
        server_cpu_ms_per_request: round((cpu1 - cpu0) / singles, 3),
        batch_leads_per_s: batchLeadsPerS,
        batch_p50_ms: round(percentile(many.ms, 50)),
        batch_p99_ms: round(percentile(many.ms, 99)),
        batch_errors: batchErrors.count,
        server_cpu_us_per_batch_lead: round(((cpu2 - cpu1) / batched) * 1000, 1),
        server_peak_rss_mb: round(peakRss, 1),
        raw_insert_rows_per_s: limit.perS,
        batch_ratio: round(batchLeadsPerS / limit.perS, 3),
      },
      limit: limit.how,
      params: {
        single_leads: singles,
        single_clients: CLIENTS,
        warmup_requests: warmup,
        batch_leads: batched,
        batch_size: BATCH,
        batch_clients: BATCH_CLIENTS,
        limit_runs: limit.runs,
        client: 'node:http keep-alive agent, closed loop (each client waits for its reply)',
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
  name: 'upsert-throughput',
  description: `20,000 new leads one per request from ${CLIENTS} keep-alive clients; 200,000 in batches of ${BATCH} from ${BATCH_CLIENTS}`,
  run,
};
