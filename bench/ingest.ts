import path from 'node:path';
import pino from 'pino';
import { createServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import type { BenchContext, Benchmark, BenchResult } from './lib/context.ts';
import { type GeneratedEvent, leadInput, makeEvent, PersonGenerator } from './lib/data.ts';
import { Client, ErrorSamples } from './lib/http.ts';
import { batchedInsertLimit, best } from './lib/limits.ts';
import { profileInProcess } from './lib/profile.ts';
import { Random } from './lib/random.ts';
import { activityRows } from './lib/rows.ts';
import { freshTarget, serverOn } from './lib/setup.ts';
import { percentile, rate, round } from './lib/stats.ts';

const SERVICE_BATCH = 1000;
const HTTP_BATCH = 500;
const HTTP_CLIENTS = 2;

/** An event before its lead has an id: `lead` indexes the generated leads. */
interface PlannedEvent extends GeneratedEvent {
  lead: number;
  /** Email-tool events name the lead by email and carry the tool's own id (retry-safe). */
  byEmail: boolean;
  clientId: string | undefined;
}

/**
 * `count` events over the last 30 days in time order, spread over `leads` leads with a skew
 * (a few very active leads, a long tail), the way a site and an email tool report them.
 */
function planEvents(count: number, leads: number, seed: number): PlannedEvent[] {
  const r = new Random(seed);
  const end = Date.now() - 60_000;
  const start = end - 30 * 24 * 3600 * 1000;
  const step = (end - start) / count;
  // A random permutation so that "popular" leads are not just the first ones created.
  const order = Array.from({ length: leads }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return Array.from({ length: count }, (_, i) => {
    const event = makeEvent(r, Math.round(start + i * step + r.float() * step));
    const byEmail = event.type === 'email_opened' || event.type === 'email_clicked';
    return {
      ...event,
      lead: order[r.chance(0.5) ? r.skewedIndex(leads) : r.int(0, leads - 1)]!,
      byEmail,
      clientId: byEmail ? `esp:${seed}:${i}` : undefined,
    };
  });
}

/** The API form of an event (`POST /api/v1/events` item), once leads have ids and emails. */
function rawEvent(e: PlannedEvent, ids: string[], emails: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { type: e.type, occurredAt: new Date(e.occurredAt).toISOString() };
  if (e.clientId) out.id = e.clientId;
  if (e.byEmail) out.email = emails[e.lead];
  else out.leadId = ids[e.lead];
  out.properties = e.properties;
  return out;
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The events service called directly, in this process, on a fresh database. */
async function servicePhase(
  ctx: BenchContext,
  leadInputs: Record<string, unknown>[],
  planned: PlannedEvent[],
): Promise<{
  eventsPerS: number;
  leadsPerS: number;
  batchP99Ms: number;
  accepted: number;
  problems: string[];
}> {
  const target = await freshTarget(ctx, 'service');
  const config = loadConfig({
    LEADLINE_DATA_DIR: target.dataDir,
    LOG_LEVEL: 'warn',
    ...(target.databaseUrl ? { DATABASE_URL: target.databaseUrl } : {}),
  });
  const services = await createServices(config, { logger: pino({ level: 'warn' }) });
  const problems: string[] = [];
  try {
    const boot = await services.workspaces.bootstrap();
    const workspace = await services.workspaces.getWorkspace(boot!.workspace.id);
    const ids: string[] = [];
    const emails: string[] = [];
    const leadsStarted = performance.now();
    for (const batch of chunk(leadInputs, SERVICE_BATCH)) {
      const outcomes = await services.database.writes.run((trx) =>
        services.leads.captureRawManyIn(trx, workspace, batch, 'api', (i) => `/leads/${i}`),
      );
      for (const o of outcomes) {
        if (!o.ok) throw new Error(`a generated lead was refused: ${JSON.stringify(o.errors)}`);
        ids.push(o.lead.id);
        emails.push(o.lead.email!);
      }
    }
    const leadsPerS = rate(ids.length, performance.now() - leadsStarted);
    const batches = chunk(
      planned.map((e) => rawEvent(e, ids, emails)),
      SERVICE_BATCH,
    );
    ctx.log(`service: ${ids.length.toLocaleString('en-US')} leads at ${leadsPerS}/s; ingesting events…`);
    const batchMs: number[] = [];
    let accepted = 0;
    const work = async () => {
      const started = performance.now();
      for (const batch of batches) {
        const t = performance.now();
        const outcome = await services.events.ingest(workspace, batch);
        batchMs.push(performance.now() - t);
        accepted += outcome.accepted;
        if (outcome.rejected > 0 && problems.length < 3)
          problems.push(
            `service rejected ${outcome.rejected}: ${JSON.stringify(outcome.results.find((r) => r.status === 'rejected'))}`,
          );
      }
      return performance.now() - started;
    };
    const ms = ctx.profile
      ? await profileInProcess(path.join(ctx.profileDir, 'ingest-service.cpuprofile'), work)
      : await work();
    return {
      eventsPerS: rate(accepted, ms),
      leadsPerS,
      batchP99Ms: percentile(batchMs, 99),
      accepted,
      problems,
    };
  } finally {
    await services.database.close();
    await target.drop();
  }
}

/** POST /api/v1/events to the real server in a child process. */
async function httpPhase(
  ctx: BenchContext,
  leadInputs: Record<string, unknown>[],
  planned: PlannedEvent[],
): Promise<{
  eventsPerS: number;
  cpuUsPerEvent: number;
  batchP50Ms: number;
  batchP99Ms: number;
  accepted: number;
  errors: ErrorSamples;
  peakRss: number;
}> {
  const { server, stop } = await serverOn(ctx, 'ingest');
  const client = new Client(server.port, server.key, HTTP_CLIENTS);
  try {
    const ids: string[] = [];
    const emails: string[] = [];
    for (const batch of chunk(leadInputs, 500)) {
      const reply = await client.post('/api/v1/leads/batch', JSON.stringify({ leads: batch }));
      if (reply.status !== 200)
        throw new Error(`lead batch failed: ${reply.status} ${reply.body.slice(0, 300)}`);
      const body = JSON.parse(reply.body) as { results: Array<{ id?: string; status: string }> };
      body.results.forEach((r, i) => {
        if (!r.id) throw new Error(`a generated lead was refused: ${JSON.stringify(r)}`);
        ids.push(r.id);
        emails.push(String(batch[i]!.email).toLowerCase());
      });
    }
    const bodies = chunk(
      planned.map((e) => rawEvent(e, ids, emails)),
      HTTP_BATCH,
    ).map((events) => JSON.stringify({ events }));
    ctx.log(`http: ${ids.length.toLocaleString('en-US')} leads created; posting ${bodies.length} batches…`);
    const errors = new ErrorSamples();
    const batchMs: number[] = [];
    let accepted = 0;
    let next = 0;
    const cpu0 = server.cpuMs();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: HTTP_CLIENTS }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++]!;
          try {
            const reply = await client.post('/api/v1/events', body);
            if (reply.status !== 200) {
              errors.add(`${reply.status} ${reply.body.slice(0, 200)}`);
              continue;
            }
            const outcome = JSON.parse(reply.body) as {
              accepted: number;
              rejected: number;
              results: unknown[];
            };
            accepted += outcome.accepted;
            batchMs.push(reply.ms);
            if (outcome.rejected > 0) errors.add(`rejected ${outcome.rejected} of a batch`);
          } catch (error) {
            errors.add(String(error));
          }
        }
      }),
    );
    const ms = performance.now() - started;
    const cpuMs = server.cpuMs() - cpu0;
    return {
      eventsPerS: rate(accepted, ms),
      cpuUsPerEvent: (cpuMs / Math.max(1, accepted)) * 1000,
      batchP50Ms: percentile(batchMs, 50),
      batchP99Ms: percentile(batchMs, 99),
      accepted,
      errors,
      peakRss: server.peakRssMb(),
    };
  } finally {
    client.close();
    await stop();
  }
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const leadCount = ctx.quick ? 2_000 : 20_000;
  const eventCount = ctx.quick ? 20_000 : 200_000;
  const people = new PersonGenerator(777);
  const leadInputs = Array.from({ length: leadCount }, () => leadInput(people.next(), people.random));
  const planned = planEvents(eventCount, leadCount, 2026);

  const fakeLeadIds = Array.from(
    { length: leadCount },
    (_, i) => `0190f0a0-0000-7000-8000-${String(i).padStart(12, '0')}`,
  );
  const rawRows = activityRows(
    planned.map((e) => ({ ...e, leadId: fakeLeadIds[e.lead]! })),
    '0190f0a0-0000-7000-8000-000000000001',
    Date.now(),
  );
  const measureLimit = async () => {
    ctx.log('measuring the raw insert limit…');
    const limit = await batchedInsertLimit(ctx, 'activities', rawRows, SERVICE_BATCH);
    ctx.log(`raw: ${limit.perS.toLocaleString('en-US')} rows/s`);
    return limit;
  };
  const first = await measureLimit();

  const service = await servicePhase(ctx, leadInputs, planned);
  ctx.log(`service: ${service.eventsPerS.toLocaleString('en-US')} events/s`);
  const http = await httpPhase(ctx, leadInputs, planned);
  const limit = best([first, await measureLimit()]);

  const notes = [...service.problems];
  if (service.accepted !== eventCount)
    notes.push(`service accepted ${service.accepted} of ${eventCount} events`);
  if (http.accepted !== eventCount) notes.push(`http accepted ${http.accepted} of ${eventCount} events`);
  if (http.errors.count > 0)
    notes.push(`http errors (${http.errors.count}): ${http.errors.samples.join(' | ')}`);
  return {
    figures: {
      service_events_per_s: service.eventsPerS,
      http_events_per_s: http.eventsPerS,
      raw_insert_rows_per_s: limit.perS,
      service_ratio: round(service.eventsPerS / limit.perS, 3),
      http_ratio: round(http.eventsPerS / limit.perS, 3),
      service_batch_p99_ms: round(service.batchP99Ms, 1),
      http_batch_p50_ms: round(http.batchP50Ms, 1),
      http_batch_p99_ms: round(http.batchP99Ms, 1),
      http_errors: http.errors.count,
      server_cpu_us_per_event: round(http.cpuUsPerEvent, 1),
      server_peak_rss_mb: round(http.peakRss, 1),
      service_lead_setup_per_s: service.leadsPerS,
    },
    limit: limit.how,
    params: {
      leads: leadCount,
      events: eventCount,
      service_batch: SERVICE_BATCH,
      http_batch: HTTP_BATCH,
      http_clients: HTTP_CLIENTS,
      limit_runs: limit.runs,
      subjects: 'email_opened/email_clicked by email with a client id (~20%), the rest by leadId',
      event_mix:
        'page_view 50%, email_opened 14%, content_downloaded 8%, pricing_viewed 8%, email_clicked 6%, form_submitted 5%, webinar_* 6%, demo_requested/trial_started 3%',
      ...(limit.settings ? { pg_settings: limit.settings } : {}),
    },
    notes,
  };
}

export const benchmark: Benchmark = {
  name: 'ingest',
  description:
    '200,000 events for 20,000 leads: events service in-process (batches of 1,000) and POST /api/v1/events (500)',
  run,
};
