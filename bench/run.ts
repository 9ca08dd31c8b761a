/**
 * Benchmark runner: `npm run bench` lists the benchmarks, `npm run bench -- NAME [--quick]
 * [--profile] [--keep]` runs one (`all` runs every one). Each prints its figures beside the
 * physical limit measured in the same run, and writes bench/results/NAME.json.
 * Engine: SQLite, or PostgreSQL when DATABASE_URL is set (each run creates and drops its own
 * database next to the one DATABASE_URL names).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchmark as formBurst } from './form-burst.ts';
import { benchmark as importBench } from './import.ts';
import { benchmark as ingest } from './ingest.ts';
import { benchmark as jobs } from './jobs.ts';
import {
  type BenchContext,
  type Benchmark,
  fdatasyncPerS,
  freshTmp,
  machine,
  revision,
  root,
} from './lib/context.ts';
import { printProfile, summariseProfile } from './lib/profile.ts';
import { benchmark as rescore } from './rescore.ts';
import { benchmark as scoreExplain } from './score-explain.ts';
import { benchmark as speedToLead } from './speed-to-lead.ts';
import { benchmark as upsertLatency } from './upsert-latency.ts';
import { benchmark as upsertThroughput } from './upsert-throughput.ts';

const benchmarks: Benchmark[] = [
  ingest,
  importBench,
  upsertLatency,
  upsertThroughput,
  rescore,
  scoreExplain,
  jobs,
  speedToLead,
  formBurst,
];
const resultsDir = path.join(root, 'bench', 'results');

function list(): void {
  process.stdout.write('Usage: npm run bench -- NAME|all [--quick] [--profile] [--keep]\n\n');
  for (const b of benchmarks) process.stdout.write(`  ${b.name.padEnd(18)} ${b.description}\n`);
  process.stdout.write(
    '\n  --quick    sizes shrunk 10x (a smoke run)\n' +
      '  --profile  V8 CPU profile of the process doing the product work, summarised after the run\n' +
      '  --keep     keep the temp data folder\n' +
      '  DATABASE_URL=postgres://…  run on PostgreSQL instead of SQLite\n',
  );
}

function formatValue(value: unknown): string {
  return typeof value === 'number' ? value.toLocaleString('en-US') : String(value);
}

async function runOne(
  bench: Benchmark,
  flags: { quick: boolean; profile: boolean; keep: boolean },
): Promise<boolean> {
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const tmp = freshTmp(bench.name);
  const ctx: BenchContext = {
    engine: databaseUrl ? 'postgres' : 'sqlite',
    databaseUrl,
    quick: flags.quick,
    profile: flags.profile,
    profileDir: resultsDir,
    tmp,
    log: (line) => process.stderr.write(`  ${line}\n`),
  };
  process.stdout.write(`\n== ${bench.name} [${ctx.engine}${flags.quick ? ', quick' : ''}]\n`);
  const before = { ...machine(), disk_fdatasync_per_s: fdatasyncPerS(tmp) };
  process.stdout.write(
    `  machine: load ${before.loadavg_1m} (1 min) on ${before.cores} cores, ${before.disk_fdatasync_per_s.toLocaleString('en-US')} fdatasync/s\n`,
  );
  const started = performance.now();
  try {
    const result = await bench.run(ctx);
    const wall = (performance.now() - started) / 1000;
    const width = Math.max(...Object.keys(result.figures).map((k) => k.length));
    for (const [key, value] of Object.entries(result.figures)) {
      process.stdout.write(`  ${key.padEnd(width)}  ${formatValue(value)}\n`);
    }
    process.stdout.write(`  limit: ${result.limit}\n`);
    for (const note of result.notes ?? []) process.stdout.write(`  note: ${note}\n`);
    const profiles = flags.profile
      ? fs
          .readdirSync(resultsDir)
          .filter((f) => f.startsWith(`${bench.name}-`) && f.endsWith('.cpuprofile'))
          .map((f) => summariseProfile(path.join(resultsDir, f)))
      : undefined;
    for (const p of profiles ?? []) printProfile(p, (line) => process.stdout.write(`${line}\n`));
    const json = {
      name: bench.name,
      engine: ctx.engine,
      at: new Date().toISOString(),
      quick: flags.quick,
      figures: result.figures,
      limit: result.limit,
      params: result.params,
      notes: result.notes ?? [],
      wall_s: Math.round(wall * 10) / 10,
      revision: revision(),
      node: process.version,
      machine: before,
      loadavg_1m_after: machine().loadavg_1m,
      ...(profiles ? { profiles } : {}),
    };
    const suffix = ctx.engine === 'postgres' ? '.postgres' : '';
    const out = path.join(resultsDir, `${bench.name}${suffix}${flags.quick ? '.quick' : ''}.json`);
    fs.mkdirSync(resultsDir, { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
    process.stdout.write(`  (${wall.toFixed(1)} s; wrote ${path.relative(root, out)})\n`);
    return true;
  } catch (error) {
    process.stdout.write(
      `  FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return false;
  } finally {
    if (!flags.keep) fs.rmSync(tmp, { recursive: true, force: true });
    else process.stdout.write(`  (kept ${tmp})\n`);
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: {
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
  });
  const [name] = positionals;
  if (!name || values.help) {
    list();
    return 0;
  }
  const chosen = name === 'all' ? benchmarks : benchmarks.filter((b) => b.name === name);
  if (chosen.length === 0) {
    process.stderr.write(`Unknown benchmark "${name}".\n\n`);
    list();
    return 2;
  }
  if (values.profile) {
    for (const f of fs.readdirSync(resultsDir).filter((f) => f.endsWith('.cpuprofile')))
      if (chosen.some((b) => f.startsWith(`${b.name}-`))) fs.rmSync(path.join(resultsDir, f));
  }
  let ok = true;
  for (const bench of chosen) ok = (await runOne(bench, values)) && ok;
  return ok ? 0 : 1;
}

process.exitCode = await main();
