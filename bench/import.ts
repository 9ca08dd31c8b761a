import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { type BenchContext, type Benchmark, type BenchResult, nodeBin, root } from './lib/context.ts';
import { csvField, exportRowInput, hubspotColumns, hubspotExport } from './lib/data.ts';
import { batchedInsertLimit, best } from './lib/limits.ts';
import { withClient } from './lib/raw-pg.ts';
import { leadRows, type TableRows } from './lib/rows.ts';
import { benchKey } from './lib/server.ts';
import { freshTarget } from './lib/setup.ts';
import { rate, round } from './lib/stats.ts';

const SEED = 75;
const TIME = '/usr/bin/time';

/**
 * Writes the export to a cache file (the generator is deterministic, so a file of the same
 * size, seed and generator source is reused across runs). Returns its path and row counts.
 */
async function exportFile(
  ctx: BenchContext,
  rows: number,
): Promise<{ file: string; counts: Record<string, number> }> {
  const generator = fs.readFileSync(path.join(root, 'bench/lib/data.ts'));
  const tag = createHash('sha256').update(generator).update(`${SEED}:${rows}`).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), 'leadline-bench-cache');
  const file = path.join(dir, `hubspot-${rows}-${tag}.csv`);
  const countsFile = `${file}.counts.json`;
  if (fs.existsSync(file) && fs.existsSync(countsFile)) {
    ctx.log(`reusing ${file}`);
    return { file, counts: JSON.parse(fs.readFileSync(countsFile, 'utf8')) as Record<string, number> };
  }
  fs.mkdirSync(dir, { recursive: true });
  ctx.log(`writing ${rows.toLocaleString('en-US')} rows to ${file}…`);
  const partial = `${file}.${process.pid}.partial`;
  const out = fs.createWriteStream(partial);
  const counts: Record<string, number> = { good: 0, duplicate: 0, bad: 0 };
  let buffer = `${hubspotColumns.map(csvField).join(',')}\r\n`;
  for (const { kind, row } of hubspotExport(SEED, rows)) {
    counts[kind]!++;
    buffer += `${row.map(csvField).join(',')}\r\n`;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      buffer = '';
    }
  }
  out.end(buffer);
  await new Promise<void>((resolve, reject) => out.on('finish', () => resolve()).on('error', reject));
  fs.renameSync(partial, file);
  fs.writeFileSync(countsFile, JSON.stringify(counts));
  return { file, counts };
}

interface ChildRun {
  code: number | null;
  ms: number;
  peakRssMb: number | null;
  /** User + system CPU seconds of the importer (from /usr/bin/time), null without it. */
  cpuS: number | null;
  stdout: string;
  stderr: string;
}

/** Copies the largest profile in `dir` (the process that did the work) to `to`. */
function keepLargestProfile(dir: string, to: string): void {
  if (!fs.existsSync(dir)) return;
  const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
  const largest = files.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
  if (largest) fs.copyFileSync(largest, to);
}

/** `leadline import FILE` in a child process, under /usr/bin/time -v for its peak RSS. */
async function runImport(ctx: BenchContext, file: string, env: Record<string, string>): Promise<ChildRun> {
  const useTime = fs.existsSync(TIME);
  // The flag the leadline bin's shebang passes (see bin/leadline.js).
  const node = [nodeBin, '--max-semi-space-size=16'];
  // The bin runs an import in a child node with a bounded heap: NODE_OPTIONS reaches both, and
  // the child's profile (the larger one) is kept as import-cli.cpuprofile.
  const profileDir = path.join(ctx.tmp, 'profiles');
  const profileEnv = ctx.profile ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` } : {};
  const cli = [
    path.join(root, 'bin/leadline.js'),
    'import',
    file,
    '--rejects',
    path.join(ctx.tmp, 'rejects.csv'),
  ];
  const rssFile = path.join(ctx.tmp, 'rss.txt');
  const [command, ...args] = useTime
    ? [TIME, '-v', '-o', rssFile, ...node, ...cli]
    : [...node, path.join(root, 'bench/lib/rss-wrapper.ts'), rssFile, ...cli];
  const started = performance.now();
  const child = spawn(command!, args, {
    cwd: root,
    env: { ...env, ...profileEnv, PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout = (stdout + c.toString('utf8')).slice(-20_000);
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-20_000);
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const ms = performance.now() - started;
  if (ctx.profile) keepLargestProfile(profileDir, path.join(ctx.profileDir, 'import-cli.cpuprofile'));
  let peakRssMb: number | null = null;
  let cpuS: number | null = null;
  if (fs.existsSync(rssFile)) {
    const text = fs.readFileSync(rssFile, 'utf8');
    const user = /User time \(seconds\): ([\d.]+)/.exec(text)?.[1];
    const system = /System time \(seconds\): ([\d.]+)/.exec(text)?.[1];
    if (user && system) cpuS = Number(user) + Number(system);
    const kb =
      /Maximum resident set size \(kbytes\): (\d+)/.exec(text)?.[1] ?? /^maxrss_kb (\d+)/m.exec(text)?.[1];
    if (kb) peakRssMb = Number(kb) / 1024;
  }
  return { code, ms, peakRssMb, cpuS, stdout, stderr };
}

/** How many leads the import left in the database (a check that it did the work). */
async function countLeads(dataDir: string, databaseUrl: string | undefined): Promise<number> {
  if (databaseUrl) {
    return withClient(databaseUrl, async (c) =>
      Number((await c.query('select count(*) as n from leads')).rows[0].n),
    );
  }
  const db = new SQLite(path.join(dataDir, 'leadline.db'), { readonly: true });
  try {
    return (db.prepare('select count(*) as n from leads').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const rows = ctx.quick ? 75_000 : 750_000;
  const { file, counts } = await exportFile(ctx, rows);
  const size = fs.statSync(file).size;

  const now = Date.now();
  const measureLimit = async () => {
    ctx.log('measuring the raw insert limit…');
    const goodRows = (function* () {
      for (const r of hubspotExport(SEED, rows)) if (r.kind === 'good') yield exportRowInput(r.row);
    })();
    const limit = await batchedInsertLimit(ctx, 'leads', (): TableRows | undefined => {
      const inputs: unknown[] = [];
      for (let next = goodRows.next(); !next.done; next = goodRows.next()) {
        inputs.push(next.value);
        if (inputs.length === 50_000) break;
      }
      return inputs.length > 0 ? leadRows(inputs, '0190f0a0-0000-7000-8000-000000000001', now) : undefined;
    });
    ctx.log(`raw: ${limit.perS.toLocaleString('en-US')} rows/s`);
    return limit;
  };
  const first = await measureLimit();

  const target = await freshTarget(ctx, 'import');
  try {
    const env: Record<string, string> = {
      HOME: process.env.HOME ?? '/tmp',
      LEADLINE_DATA_DIR: target.dataDir,
      LEADLINE_BOOTSTRAP_KEY: benchKey,
      LOG_LEVEL: 'warn',
      ...(target.databaseUrl ? { DATABASE_URL: target.databaseUrl } : {}),
    };
    ctx.log(`importing ${rows.toLocaleString('en-US')} rows (${(size / 2 ** 20).toFixed(0)} MiB)…`);
    const result = await runImport(ctx, file, env);
    const notes: string[] = [];
    if (result.code !== 0) {
      notes.push(
        `import exited with ${result.code}: ${result.stderr.trim().slice(-600) || result.stdout.trim().slice(-600)}`,
      );
    }
    let leads: number | null = null;
    try {
      leads = await countLeads(target.dataDir, target.databaseUrl);
    } catch (error) {
      notes.push(`could not count leads: ${String(error)}`);
    }
    const limit = best([first, await measureLimit()]);
    const said = (key: string) => {
      const value = new RegExp(`^${key}: (\\d+)`, 'm').exec(result.stdout)?.[1];
      return value === undefined ? null : Number(value);
    };
    const tail = result.stdout.trim().split('\n').slice(-7).join(' / ');
    if (tail) notes.push(`import said: ${tail.slice(0, 600)}`);
    const ok = result.code === 0;
    return {
      figures: {
        rows_per_s: ok ? rate(rows, result.ms) : null,
        leads_per_s: ok && leads !== null ? rate(leads, result.ms) : null,
        peak_rss_mb: result.peakRssMb === null ? null : round(result.peakRssMb, 1),
        wall_s: round(result.ms / 1000, 1),
        importer_cpu_s: result.cpuS === null ? null : round(result.cpuS, 1),
        leads_in_database: leads,
        leads_expected: counts.good!,
        created: said('created'),
        updated: said('updated'),
        rejected: said('rejected'),
        rejected_expected: counts.bad!,
        raw_insert_rows_per_s: limit.perS,
        ratio: ok ? round(rate(rows, result.ms) / limit.perS, 3) : null,
      },
      limit: limit.how,
      params: {
        rows,
        file_mb: round(size / 2 ** 20, 1),
        kinds: counts,
        limit_runs: limit.runs,
        columns: hubspotColumns,
        command:
          'leadline import FILE (fresh data dir, child process, wall time includes start-up and migrations)',
        peak_rss_from: fs.existsSync(TIME) ? '/usr/bin/time -v' : 'process.resourceUsage().maxRSS',
        ...(limit.settings ? { pg_settings: limit.settings } : {}),
      },
      notes,
    };
  } finally {
    await target.drop();
  }
}

export const benchmark: Benchmark = {
  name: 'import',
  description:
    '750,000 HubSpot-style CSV rows (~5% bad) through `leadline import` in a child process: rows/s, peak RSS',
  run,
};
