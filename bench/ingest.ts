import path from 'node:path';
import pino from 'pino';
import { createServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { defaultQualificationRule } from '../src/lifecycle/qualification.ts';
import { defaultTemperatureConfig } from '../src/lifecycle/temperature.ts';
import { defaultGrades } from '../src/scoring/model.ts';
import type { BenchContext, Benchmark, BenchResult } from './lib/context.ts';
import { leadInput, PersonGenerator } from './lib/data.ts';
import { chunk, type PlannedEvent, planEvents, rawEvent } from './lib/events.ts';
import { Client, ErrorSamples } from './lib/http.ts';
import { batchedInsertLimit, best } from './lib/limits.ts';
import { profileInProcess } from './lib/profile.ts';
import { activityRows } from './lib/rows.ts';
import { freshTarget, serverOn } from './lib/setup.ts';
import { percentile, rate, round } from './lib/stats.ts';

const SERVICE_BATCH = 1000;
const HTTP_BATCH = 500;
const HTTP_CLIENTS = 2;
/** The untimed warm-up run ingests this share of the events. */
const WARMUP_SHARE = 0.1;

/**
 * Settings under which no activity is relevant to scoring or qualification: a model without
 * rules and lifecycle settings without stage moves, flags or high-intent matchers. Ingest then
 * pays only for looking the rules up, which is what "scoring off" costs at least.
 */
async function turnScoringOff(
  services: Awaited<ReturnType<typeof createServices>>,
  workspaceId: string,
): Promise<void> {
  await services.scoring.saveModel(
    workspaceId,
    { halfLifeDays: 30, grades: defaultGrades, competitorDomains: [], fit: [], behaviour: [], negative: [] },
    'bench',
  );
  await services.workspaces.updateSettings(workspaceId, {
    lifecycle: {
      stageRules: { moves: [], flags: [] },
      temperature: { ...defaultTemperatureConfig, highIntent: [] },
      qualification: defaultQualificationRule,
    },
  });
}

/**
 * The events service called directly, in this process, on a fresh database (folder `label`):
 * with the default scoring model and lifecycle settings (`scoring: 'on'`), or with nothing to
 * score (`'off'`). With `profile`, the ingest is profiled into `ingest-<label>.cpuprofile`.
 */
async function servicePhase(
  ctx: BenchContext,
  leadInputs: Record<string, unknown>[],
  planned: PlannedEvent[],
  { scoring, label, profile }: { scoring: 'on' | 'off'; label: string; profile: boolean },
): Promise<{
  eventsPerS: number;
  leadsPerS: number;
  batchP99Ms: number;
  accepted: number;
  problems: string[];
}> {
  const target = await freshTarget(ctx, label);
  const config = loadConfig({
    LEADLINE_DATA_DIR: target.dataDir,
    LOG_LEVEL: 'warn',
    ...(target.databaseUrl ? { DATABASE_URL: target.databaseUrl } : {}),
  });
  const services = await createServices(config, { logger: pino({ level: 'warn' }) });
  const problems: string[] = [];
  try {
    const boot = await services.workspaces.bootstrap();
    if (scoring === 'off') await turnScoringOff(services, boot!.workspace.id);
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
    ctx.log(`${label}: ${ids.length.toLocaleString('en-US')} leads at ${leadsPerS}/s; ingesting events…`);
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
    const ms = profile
      ? await profileInProcess(path.join(ctx.profileDir, `ingest-${label}.cpuprofile`), work)
      : await work();
    return {
      eventsPerS: rate(accepted, ms),
      leadsPerS,
      batchP99Ms: percentile(batchMs, 99),
      accepted,
      problems,
    };
  } finally {
    await services.close();
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

  // The same work twice, each on its own fresh database: with scoring, then with nothing to
  // score. A short untimed run first compiles both paths (JIT), or whichever phase ran first
  // would pay for it (~7% of a 200,000-event phase) and the cost of scoring would be off by that.
  const warmupCount = Math.round(eventCount * WARMUP_SHARE);
  ctx.log(`warming up (${warmupCount.toLocaleString('en-US')} events, untimed)…`);
  await servicePhase(ctx, leadInputs, planned.slice(0, warmupCount), {
    scoring: 'on',
    label: 'warmup',
    profile: false,
  });
  const service = await servicePhase(ctx, leadInputs, planned, {
    scoring: 'on',
    label: 'service',
    profile: ctx.profile,
  });
  ctx.log(`service: ${service.eventsPerS.toLocaleString('en-US')} events/s`);
  const off = await servicePhase(ctx, leadInputs, planned, {
    scoring: 'off',
    label: 'service-scoring-off',
    profile: ctx.profile,
  });
  ctx.log(`service, scoring off: ${off.eventsPerS.toLocaleString('en-US')} events/s`);
  const http = await httpPhase(ctx, leadInputs, planned);
  const limit = best([first, await measureLimit()]);

  const notes = [...service.problems, ...off.problems];
  if (service.accepted !== eventCount)
    notes.push(`service accepted ${service.accepted} of ${eventCount} events`);
  if (off.accepted !== eventCount)
    notes.push(`service (scoring off) accepted ${off.accepted} of ${eventCount} events`);
  const scoringCost = 1 - service.eventsPerS / off.eventsPerS;
  notes.push(
    `goal (issue 3): scoring_cost <= 0.20 (scoring on loses at most 20% of service_events_per_s); ` +
      `measured ${round(scoringCost, 3)}`,
  );
  if (http.accepted !== eventCount) notes.push(`http accepted ${http.accepted} of ${eventCount} events`);
  if (http.errors.count > 0)
    notes.push(`http errors (${http.errors.count}): ${http.errors.samples.join(' | ')}`);
  return {
    figures: {
      service_events_per_s: service.eventsPerS,
      service_events_per_s_scoring_off: off.eventsPerS,
      scoring_cost: round(scoringCost, 3),
      http_events_per_s: http.eventsPerS,
      raw_insert_rows_per_s: limit.perS,
      service_ratio: round(service.eventsPerS / limit.perS, 3),
      http_ratio: round(http.eventsPerS / limit.perS, 3),
      service_batch_p99_ms: round(service.batchP99Ms, 1),
      service_batch_p99_ms_scoring_off: round(off.batchP99Ms, 1),
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
      scoring_off:
        'a saved model with no rules; lifecycle settings with no stage moves, no flags, no high-intent matchers (no activity is relevant)',
      phase_order:
        'limit, service warm-up (10% of the events, scoring on, untimed), service (scoring on), service (scoring off), http, limit',
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
    '200,000 events for 20,000 leads: events service in-process (batches of 1,000; scoring on, then off) and POST /api/v1/events (500)',
  run,
};
