import fs from 'node:fs';
import path from 'node:path';
import { presets } from '../src/scoring/presets.ts';
import { relevantTypes, typesReadingProperties } from '../src/scoring/service.ts';
import type { BenchContext, Benchmark, BenchResult } from './lib/context.ts';
import { anchoredClock, largeWorkspace, servicesOn, type WorkspaceMeta } from './lib/large-workspace.ts';
import { best, type Limit } from './lib/limits.ts';
import { peakRssMb, resetPeakRss } from './lib/peak-rss.ts';
import { profileInProcess } from './lib/profile.ts';
import { openRawSqlite, rawGroupedScan, rawReplayRead } from './lib/raw-sqlite.ts';
import { percentile, rate, round } from './lib/stats.ts';

/** The model the workspace changes to: from the default model to the B2B SaaS preset's. */
const NEW_MODEL = 'b2b-saas';

/** Copies the cached database files into a fresh data folder for this run. */
function copyInto(from: string, dataDir: string): number {
  fs.mkdirSync(dataDir, { recursive: true });
  const started = performance.now();
  for (const name of fs.readdirSync(from).filter((f) => f.startsWith('leadline.db')))
    fs.copyFileSync(path.join(from, name), path.join(dataDir, name));
  return performance.now() - started;
}

/**
 * The limit: every activity row of the workspace counted by lead, on a fresh connection with
 * the product's pragmas (raw-sqlite.ts), the file as the product left it.
 */
function scanLimit(ctx: BenchContext, file: string, workspaceId: string): Limit {
  ctx.log('measuring the grouped scan limit…');
  const db = openRawSqlite(file);
  try {
    const { rows, ms } = rawGroupedScan(db, workspaceId);
    const perS = rate(rows, ms);
    ctx.log(
      `scan: ${rows.toLocaleString('en-US')} rows in ${(ms / 1000).toFixed(1)} s, ${perS.toLocaleString('en-US')} rows/s`,
    );
    return {
      perS,
      how: `${rows.toLocaleString('en-US')} activity rows by \`select lead_id, count(*) from activities where workspace_id = ? group by lead_id\` (every row stepped through) on a fresh better-sqlite3 connection with the product's pragmas`,
    };
  } finally {
    db.close();
  }
}

/**
 * What reading the replayed rows into JavaScript costs alone (rawReplayRead), on a fresh
 * connection: no replay and no write can beat it, whatever the scan does.
 */
function replayReadLimit(
  ctx: BenchContext,
  file: string,
  workspaceId: string,
  types: readonly string[],
  withProperties: readonly string[],
): number {
  ctx.log('measuring the read of the replayed rows…');
  const db = openRawSqlite(file);
  try {
    const { rows, ms } = rawReplayRead(db, workspaceId, types, withProperties);
    const perS = rate(rows, ms);
    ctx.log(
      `read: ${rows.toLocaleString('en-US')} rows in ${(ms / 1000).toFixed(1)} s, ${perS.toLocaleString('en-US')} rows/s`,
    );
    return perS;
  } finally {
    db.close();
  }
}

/** Leads per stage and per temperature now, to show what the rescore decided. */
function outcome(file: string, workspaceId: string): Record<string, Record<string, number>> {
  const db = openRawSqlite(file);
  try {
    const group = (column: 'stage' | 'temperature') =>
      Object.fromEntries(
        (
          db
            .prepare(
              `select ${column} as k, count(*) as n from leads where workspace_id = ? group by ${column}`,
            )
            .all(workspaceId) as Array<{ k: string; n: number }>
        ).map((row) => [row.k, row.n]),
      );
    return { stages: group('stage'), temperatures: group('temperature') };
  } finally {
    db.close();
  }
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  if (ctx.engine !== 'sqlite')
    throw new Error('rescore runs on SQLite only (issue 3 sets its figures on SQLite); unset DATABASE_URL');
  const leadCount = ctx.quick ? 100_000 : 1_000_000;
  const eventCount = leadCount * 10;
  const { dir, meta, built } = await largeWorkspace(ctx, leadCount, eventCount);
  const dataDir = path.join(ctx.tmp, 'rescore');
  const copyMs = copyInto(dir, dataDir);
  ctx.log(`copied ${meta.build.size_mb.toLocaleString('en-US')} MB in ${(copyMs / 1000).toFixed(1)} s`);
  const file = path.join(dataDir, 'leadline.db');

  const first = scanLimit(ctx, file, meta.workspaceId);
  const measured = await measureRescore(ctx, dataDir, meta);
  const after = outcome(file, meta.workspaceId);
  const limit = best([first, scanLimit(ctx, file, meta.workspaceId)]);
  const readPerS = replayReadLimit(ctx, file, meta.workspaceId, measured.types, measured.propertyTypes);
  const readScanRatio = round(readPerS / limit.perS, 3);

  const seconds = measured.ms / 1000;
  const eventsPerS = rate(measured.replayed, measured.ms);
  const scanRatio = eventsPerS / limit.perS;
  return {
    figures: {
      leads_per_s: rate(measured.leads, measured.ms),
      seconds: round(seconds, 1),
      events_per_s: eventsPerS,
      scan_rows_per_s: limit.perS,
      scan_ratio: round(scanRatio, 3),
      replay_read_rows_per_s: readPerS,
      replay_read_scan_ratio: readScanRatio,
      chunk_p50_ms: round(percentile(measured.chunkMs, 50), 1),
      chunk_p99_ms: round(percentile(measured.chunkMs, 99), 1),
      chunk_max_ms: round(percentile(measured.chunkMs, 100), 1),
      chunks: measured.chunkMs.length + 1,
      write_p50_ms: round(percentile(measured.writeMs, 50), 1),
      write_p99_ms: round(percentile(measured.writeMs, 99), 1),
      write_max_ms: round(percentile(measured.writeMs, 100), 1),
      cpu_s: round(measured.cpuS, 1),
      peak_rss_mb: round(measured.peakRssMb, 1),
      band_changed: measured.bandChanged,
      stage_changed: measured.stageChanged,
      prefetched_leads: measured.prefetched,
    },
    limit: limit.how,
    params: {
      leads: meta.leads,
      events: meta.events,
      activities_before: meta.activities,
      events_replayed: measured.replayed,
      replayed_types: measured.types,
      activities_by_type: meta.byType,
      events_per_lead: meta.perLead,
      model_change: `default model (version 0) -> the ${NEW_MODEL} preset's model (services.scoring.saveModel), then services.rescore.run(workspace) to completion`,
      slowest_chunks: measured.slowest,
      first_chunk_with_count_ms: round(measured.firstChunkMs, 1),
      after,
      limit_runs: limit.runs,
      peak_rss_reset: measured.peakRssReset,
      cache: dir,
      build: meta.build,
      copy_s: round(copyMs / 1000, 1),
      data: 'events over the 90 days before the clock (anchored, the same age every run), in arrival order, log-normal per lead (sigma 1.2); leads created in the 30 days before; pre-scored once by the product with the default model',
    },
    notes: [
      `goals (issue 3): the whole rescore under 30 s (measured ${round(seconds, 1)} s) and events_per_s >= 0.3 of scan_rows_per_s (measured ${round(scanRatio, 3)})`,
      `replay_read_rows_per_s: the replayed rows alone read into JavaScript objects (one walk of the history index in lead and time order, on a fresh connection, after the rescore): ${readScanRatio} of the scan before any replay or write`,
      'events_per_s counts the activities the rescore replays (types some rule of the new model, the stage rules or the temperature names); the scan counts every activity row of the workspace',
      'chunk_*_ms: time between two progress reports (the first left out: it includes counting the live leads); with the worker thread it includes waiting for the worker',
      'write_*_ms: how long each chunk’s work ran inside its transaction (the COMMIT after it not counted): about how long a capture waits behind the rescore',
      'prefetched_leads: leads whose new scores the worker thread computed (the writer computed the rest itself: a chunk another write touched, or a failed worker)',
      'cpu_s: user + system CPU of this process (all threads) during the rescore; near `seconds` means CPU-bound on one core',
      ...(built
        ? [
            'this run built the cached workspace first, in this process: peak_rss_mb includes the heap the build left behind (run again for the rescore alone)',
          ]
        : []),
    ],
  };
}

async function measureRescore(
  ctx: BenchContext,
  dataDir: string,
  meta: WorkspaceMeta,
): Promise<{
  ms: number;
  leads: number;
  replayed: number;
  types: string[];
  /** The replayed types whose properties the rescore reads. */
  propertyTypes: string[];
  chunkMs: number[];
  /** The first chunk with the live-lead count before it, ms. */
  firstChunkMs: number;
  /** The five longest chunks after the first: which (2 = second), leads done after it, ms. */
  slowest: Array<{ chunk: number; leads_done: number; ms: number }>;
  cpuS: number;
  peakRssMb: number;
  peakRssReset: boolean;
  bandChanged: number;
  stageChanged: number;
  prefetched: number;
  /** How long each chunk's transaction ran. */
  writeMs: number[];
}> {
  const services = await servicesOn(dataDir, anchoredClock());
  try {
    const workspace = await services.workspaces.getWorkspace(meta.workspaceId);
    await services.scoring.saveModel(workspace.id, presets[NEW_MODEL].model, 'bench');
    const context = await services.scoring.context(workspace);
    const types = relevantTypes(context).sort();
    const propertyTypes = typesReadingProperties(context).sort();
    const replayed = types.reduce((sum, type) => sum + (meta.byType[type] ?? 0), 0);
    ctx.log(
      `rescoring ${meta.leads.toLocaleString('en-US')} leads (${replayed.toLocaleString('en-US')} events to replay)…`,
    );

    const chunkMs: number[] = [];
    const writeMs: number[] = [];
    const doneAt: number[] = [];
    let last = performance.now();
    let lastLog = last;
    const onProgress = (p: { done: number; total: number; lastWriteMs: number }) => {
      const now = performance.now();
      chunkMs.push(now - last);
      writeMs.push(p.lastWriteMs);
      doneAt.push(p.done);
      last = now;
      if (now - lastLog < 5000) return;
      lastLog = now;
      ctx.log(`  ${p.done.toLocaleString('en-US')} / ${p.total.toLocaleString('en-US')}`);
    };
    const peakRssReset = resetPeakRss();
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    last = started;
    const work = () => services.rescore.run(workspace, { onProgress });
    const progress = ctx.profile
      ? await profileInProcess(path.join(ctx.profileDir, 'rescore-service.cpuprofile'), work)
      : await work();
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpu0);
    if (progress.status !== 'done') throw new Error(`rescore ${progress.status}: ${progress.error}`);
    // The last report comes after the loop, not after a chunk; the first interval also holds
    // the count of live leads the run starts with (a read outside any write): both left out.
    chunkMs.pop();
    const firstChunkMs = chunkMs.shift() ?? Number.NaN;
    doneAt.shift();
    const slowest = chunkMs
      .map((ms, i) => ({ chunk: i + 2, leads_done: doneAt[i]!, ms: round(ms, 1) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 5);
    return {
      ms,
      leads: progress.done,
      replayed,
      types,
      propertyTypes,
      chunkMs,
      firstChunkMs,
      slowest,
      cpuS: (cpu.user + cpu.system) / 1e6,
      peakRssMb: peakRssMb(),
      peakRssReset,
      bandChanged: progress.bandChanged,
      stageChanged: progress.stageChanged,
      prefetched: progress.prefetched,
      writeMs: writeMs.slice(0, -1),
    };
  } finally {
    await services.close();
  }
}

export const benchmark: Benchmark = {
  name: 'rescore',
  description:
    'SQLite: 1,000,000 leads and 10,000,000 events (generated, cached), bulk rescore after a model change',
  run,
};
