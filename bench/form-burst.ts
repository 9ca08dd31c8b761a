import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext, Benchmark, BenchResult } from './lib/context.ts';
import { leadInput, type Person, PersonGenerator } from './lib/data.ts';
import { Client, ErrorSamples } from './lib/http.ts';
import { best, singleCommitLimit } from './lib/limits.ts';
import { openLoop } from './lib/open-loop.ts';
import { withClient } from './lib/raw-pg.ts';
import { openRawSqlite } from './lib/raw-sqlite.ts';
import { leadRows } from './lib/rows.ts';
import { serverOn, type Target } from './lib/setup.ts';
import { percentile, round } from './lib/stats.ts';

/** Submissions per second, as a steady open-loop schedule (the burst). */
const RATE = 500;
const SLUG = 'bench-burst';

/** The form a campaign landing page would carry: name, email, company, a consent box, UTM. */
const form = {
  name: 'Burst bench',
  slug: SLUG,
  fields: [
    { name: 'email', type: 'email', label: 'Work email', required: true, maps: 'email' },
    { name: 'first_name', type: 'text', label: 'First name', maps: 'firstName' },
    { name: 'last_name', type: 'text', label: 'Last name', maps: 'lastName' },
    { name: 'company', type: 'text', label: 'Company', maps: 'company' },
    { name: 'job_title', type: 'text', label: 'Job title', maps: 'jobTitle' },
  ],
  consents: [{ purpose: 'marketing', text: 'Send me product news.', version: '1' }],
  // Spam defence stays on (honeypot, fill time); only the per-IP limit is raised, because every
  // submission of the benchmark comes from 127.0.0.1.
  spam: { honeypot: true, minFillSeconds: 1, perIpPerMinute: 1_000_000, perFormPerMinute: 1_000_000 },
};

/** Submissions the product stored: `form_submitted` activities and leads, read from the database. */
async function storedCounts(
  target: Target,
): Promise<{ activities: number; leads: number; quarantined: number }> {
  const sqlActivities = `select count(*) as n from activities where type = 'form_submitted'`;
  const sqlLeads = 'select count(*) as n from leads';
  const sqlQuarantined = 'select count(*) as n from form_quarantine';
  if (!target.databaseUrl) {
    const db = openRawSqlite(path.join(target.dataDir, 'leadline.db'));
    try {
      const n = (sql: string) => Number((db.prepare(sql).get() as { n: number }).n);
      return { activities: n(sqlActivities), leads: n(sqlLeads), quarantined: n(sqlQuarantined) };
    } finally {
      db.close();
    }
  }
  return withClient(target.databaseUrl, async (client) => ({
    activities: Number((await client.query(sqlActivities)).rows[0].n),
    leads: Number((await client.query(sqlLeads)).rows[0].n),
    quarantined: Number((await client.query(sqlQuarantined)).rows[0].n),
  }));
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const seconds = ctx.quick ? 2 : 20;
  const count = seconds * RATE;
  const people = new PersonGenerator(20261124);
  const inputs = Array.from({ length: count + 100 }, () => people.next());
  const warmup = inputs.splice(0, 100);
  const limitRows = leadRows(
    inputs.slice(0, ctx.quick ? 500 : 3000).map((p) => leadInput(p, people.random)),
    '0190f0a0-0000-7000-8000-000000000001',
    Date.now(),
  );
  ctx.log('measuring the single-commit limit…');
  const first = await singleCommitLimit(ctx, 'leads', limitRows);

  const { server, target, stop } = await serverOn(ctx, 'form-burst');
  const client = new Client(server.port, server.key, 512);
  let stopped = false;
  try {
    const created = await client.post('/api/v1/forms', JSON.stringify(form));
    if (created.status !== 201) throw new Error(`creating the form: ${created.status} ${created.body}`);
    // A render token per submission, as each visitor's page was rendered for them (a token used
    // twice is quarantined as spam); fetched before the clock starts, 16 at a time.
    const tokens: string[] = [];
    const fetchTokens = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const definition = await client.get(`/f/${SLUG}/definition`);
        if (definition.status !== 200)
          throw new Error(`form definition: ${definition.status} ${definition.body}`);
        tokens.push((JSON.parse(definition.body) as { token: string }).token);
      }
    };
    ctx.log(`fetching ${count + warmup.length} render tokens…`);
    await Promise.all(
      Array.from({ length: 16 }, (_, k) =>
        fetchTokens(Math.ceil((count + warmup.length) / 16) + (k === 0 ? 1 : 0)),
      ),
    );
    await sleep(1500);
    let nextToken = 0;
    const body = (person: Person, i: number) =>
      new URLSearchParams({
        email: person.email,
        first_name: person.firstName,
        last_name: person.lastName,
        company: person.company.name,
        job_title: person.jobTitle,
        _ll_consent_marketing: 'on',
        _ll_hp: '',
        _ll_ts: tokens[nextToken++]!,
        _ll_page: `https://www.example.com/webinar?utm_source=linkedin&utm_campaign=burst-${i % 7}`,
        utm_source: 'linkedin',
        utm_medium: 'paid_social',
        utm_campaign: `burst-${i % 7}`,
      }).toString();
    const submit = (text: string) =>
      client.postAs(`/f/${SLUG}`, text, 'application/x-www-form-urlencoded', { accept: 'application/json' });

    ctx.log('warm-up…');
    for (const [i, input] of warmup.entries()) await submit(body(input, -i - 1));
    const before = await storedCounts(target);

    ctx.log(`${RATE} form submissions/s for ${seconds} s at POST /f/${SLUG}…`);
    const bodies = inputs.map((input, i) => body(input, i));
    const errors = new ErrorSamples();
    const cpu0 = server.cpuMs();
    const started = performance.now();
    const samples = await openLoop(count, RATE, (i) => submit(bodies[i]!), errors, [200, 201]);
    const sendMs = performance.now() - started;
    const cpuMs = server.cpuMs() - cpu0;
    const after = await storedCounts(target);
    client.close();
    await stop();
    stopped = true;

    const limit = best([first, await singleCommitLimit(ctx, 'leads', limitRows)]);
    const ms = samples.map((s) => s.ms);
    const stored = after.activities - before.activities;
    const notes = [
      'each submission is a new person (form-encoded, Accept: application/json), with consent and UTM; spam checks on',
      'acknowledged: 2xx answers; stored: form_submitted activities written during the run, counted in the database after the last answer',
    ];
    if (errors.count > 0) notes.push(`errors: ${errors.samples.join(' | ')}`);
    return {
      figures: {
        p50_ms: round(percentile(ms, 50)),
        p99_ms: round(percentile(ms, 99)),
        p99_from_schedule_ms: round(
          percentile(
            samples.map((s) => s.fromScheduleMs),
            99,
          ),
        ),
        max_ms: round(percentile(ms, 100)),
        acknowledged: samples.length,
        stored,
        stored_leads: after.leads - before.leads,
        quarantined: after.quarantined - before.quarantined,
        errors: errors.count,
        server_cpu_ms_per_request: round(cpuMs / count, 3),
        server_cpu_busy: round(cpuMs / sendMs, 3),
        raw_single_commit_per_s: limit.perS,
      },
      limit: `${limit.how} (one durable commit; group commit shares one among many submissions)`,
      params: { rate_per_s: RATE, seconds, limit_runs: limit.runs },
      notes,
    };
  } finally {
    client.close();
    if (!stopped) await stop();
  }
}

export const benchmark: Benchmark = {
  name: 'form-burst',
  description: `${RATE} form submissions/s for 20 s at POST /f/{slug}: p99, acknowledged vs stored`,
  run,
};
