import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pino from 'pino';
import { createServices, type Services } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { unsafeBulkLoad } from './bulk-sqlite.ts';
import { cachedFolder, cacheTag } from './cache.ts';
import type { BenchContext } from './context.ts';
import { type GeneratedEvent, leadInput, makeEvent, PersonGenerator } from './data.ts';
import { arrivalOrder, countSummary, eventsPerLead } from './history.ts';
import { Random } from './random.ts';
import { insertSql } from './raw-sqlite.ts';
import { activityRows, leadRows } from './rows.ts';

/**
 * A large, scored SQLite workspace for benchmarks that read whole histories (the bulk rescore):
 * `leads` leads and `events` events, built once and cached, copied for each run.
 *
 * How it is built (none of it measured):
 * 1. the product creates the file (its migrations) and the workspace (`bootstrap`);
 * 2. leads and events are written straight into it with prepared better-sqlite3 inserts, rows
 *    made by the product's own parse and row mapping (rows.ts), on a no-sync connection with
 *    the secondary indexes rebuilt after the load (bulk-sqlite.ts); events arrive in time order
 *    over the 90 days before `ANCHOR`, each lead's interleaved with everyone else's;
 * 3. the product rescores every lead once with its default model, so that leads carry the
 *    fit, behaviour, stage, temperature and scoring state it would have given them as the
 *    events came in. A benchmark's rescore is then a model change on a scored workspace.
 *
 * The cache name hashes the generator's sources, the migrations and the sizes. Step 3 uses the
 * product's scoring code of the day the file was built (not in the hash: a rescore replaces
 * all of it anyway); delete `$TMPDIR/leadline-bench-cache/workspace-*` to rebuild.
 */

const SEED = 20261123;
/** The data's "now": events lie in the `HISTORY_DAYS` before it. Runs start their clock here. */
export const ANCHOR = Date.UTC(2026, 10, 1);
const HISTORY_DAYS = 90;
const DAY = 24 * 3600 * 1000;
/** Rows generated and inserted per transaction while loading. */
const SLICE = 20_000;

export interface WorkspaceMeta {
  workspaceId: string;
  leads: number;
  events: number;
  /** Rows in `activities` after step 3 (events + the timeline entries scoring added). */
  activities: number;
  /** Activity rows per type, after step 3 (what a rescore with given rules would replay). */
  byType: Record<string, number>;
  /** Events per lead. */
  perLead: ReturnType<typeof countSummary>;
  build: { load_s: number; prescore_s: number; size_mb: number; built_at: string };
}

/**
 * A clock that reads `ANCHOR` when created and runs at real speed from there: every run sees
 * the cached data at the same age, so decay and temperatures are the same from run to run.
 */
export function anchoredClock(): () => number {
  const offset = ANCHOR - Date.now();
  return () => Date.now() + offset;
}

/** The product's services on `dataDir/leadline.db` with `clock`, logging warnings only. */
export function servicesOn(dataDir: string, clock: () => number): Promise<Services> {
  return createServices(loadConfig({ LEADLINE_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }), {
    clock,
    logger: pino({ level: 'warn' }),
  });
}

/** The cached workspace's folder (building it first if needed: `built`) and what it holds. */
export async function largeWorkspace(
  ctx: BenchContext,
  leads: number,
  events: number,
): Promise<{ dir: string; meta: WorkspaceMeta; built: boolean }> {
  // The generator's sources: this file's build, the generated data, the row mapping, the loader.
  const tag = cacheTag(
    [
      'bench/lib/large-workspace.ts',
      'bench/lib/history.ts',
      'bench/lib/data.ts',
      'bench/lib/rows.ts',
      'bench/lib/bulk-sqlite.ts',
      'bench/lib/random.ts',
      'src/db/migrations',
    ],
    `${SEED}:${leads}:${events}:${ANCHOR}:${HISTORY_DAYS}`,
  );
  const prefix = `workspace-${leads}-${events}-`;
  const { dir, reused } = await cachedFolder(`${prefix}${tag}`, prefix, 'meta.json', async (partial) => {
    ctx.log(
      `building ${leads.toLocaleString('en-US')} leads, ${events.toLocaleString('en-US')} events in ${partial}…`,
    );
    const meta = await build(ctx, partial, leads, events);
    fs.writeFileSync(path.join(partial, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  });
  if (reused) ctx.log(`reusing ${dir}`);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as WorkspaceMeta;
  return { dir, meta, built: !reused };
}

async function build(ctx: BenchContext, dir: string, leads: number, events: number): Promise<WorkspaceMeta> {
  const file = path.join(dir, 'leadline.db');
  const clock = anchoredClock();
  let services = await servicesOn(dir, clock);
  const workspaceId = (await services.workspaces.bootstrap())!.workspace.id;
  await services.close();

  const r = new Random(SEED);
  const counts = eventsPerLead(r, leads, events);
  const loadStarted = performance.now();
  unsafeBulkLoad(file, ['leads', 'activities'], (db) => {
    const leadIds = loadLeads(db, workspaceId, leads);
    ctx.log(`${leads.toLocaleString('en-US')} leads written; events…`);
    loadEvents(ctx, db, workspaceId, arrivalOrder(r, counts), leadIds, r);
  });
  const loadS = (performance.now() - loadStarted) / 1000;
  ctx.log(`loaded in ${loadS.toFixed(0)} s; scoring every lead with the default model…`);

  services = await servicesOn(dir, clock);
  const prescoreStarted = performance.now();
  let lastLog = prescoreStarted;
  try {
    const workspace = await services.workspaces.getWorkspace(workspaceId);
    const progress = await services.rescore.run(workspace, {
      onProgress: (p) => {
        if (performance.now() - lastLog < 10_000) return;
        lastLog = performance.now();
        ctx.log(`  pre-scoring ${p.done.toLocaleString('en-US')} / ${p.total.toLocaleString('en-US')}`);
      },
    });
    if (progress.status !== 'done') throw new Error(`pre-scoring ${progress.status}: ${progress.error}`);
  } finally {
    await services.close();
  }
  const prescoreS = (performance.now() - prescoreStarted) / 1000;
  ctx.log(`pre-scored in ${prescoreS.toFixed(0)} s`);

  const byType = countByType(file, workspaceId);
  return {
    workspaceId,
    leads,
    events,
    activities: Object.values(byType).reduce((a, b) => a + b, 0),
    byType,
    perLead: countSummary(counts),
    build: {
      load_s: Math.round(loadS),
      prescore_s: Math.round(prescoreS),
      size_mb: Math.round(
        fs
          .readdirSync(dir)
          .filter((f) => f.startsWith('leadline.db'))
          .reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0) /
          2 ** 20,
      ),
      built_at: new Date().toISOString(),
    },
  };
}

/** Leads created over the 30 days before the history starts; returns their ids in order. */
function loadLeads(db: SQLite.Database, workspaceId: string, count: number): string[] {
  const people = new PersonGenerator(SEED);
  const ids: string[] = [];
  let insert: SQLite.Statement | undefined;
  let idColumn = -1;
  const start = ANCHOR - (HISTORY_DAYS + 30) * DAY;
  const slice = db.transaction((rows: readonly (readonly unknown[])[]) => {
    for (const row of rows) insert!.run(row);
  });
  for (let at = 0; at < count; at += SLICE) {
    const n = Math.min(SLICE, count - at);
    const inputs = Array.from({ length: n }, () => leadInput(people.next(), people.random));
    const data = leadRows(inputs, workspaceId, Math.round(start + (at / count) * 30 * DAY));
    if (data.rows.length !== n) throw new Error(`${n - data.rows.length} generated leads were refused`);
    if (!insert) {
      insert = db.prepare(insertSql('leads', data.columns));
      idColumn = data.columns.indexOf('id');
    }
    slice(data.rows);
    for (const row of data.rows) ids.push(row[idColumn] as string);
  }
  return ids;
}

/** Events in arrival order (`order[k]` is the lead of the k-th), written as they are generated. */
function loadEvents(
  ctx: BenchContext,
  db: SQLite.Database,
  workspaceId: string,
  order: Int32Array,
  leadIds: readonly string[],
  r: Random,
): void {
  const start = ANCHOR - HISTORY_DAYS * DAY;
  const step = (HISTORY_DAYS * DAY) / order.length;
  let insert: SQLite.Statement | undefined;
  const slice = db.transaction((rows: readonly (readonly unknown[])[]) => {
    for (const row of rows) insert!.run(row);
  });
  let lastLog = performance.now();
  for (let at = 0; at < order.length; at += SLICE) {
    const batch: Array<GeneratedEvent & { leadId: string }> = [];
    for (let k = at; k < Math.min(order.length, at + SLICE); k++) {
      const event = makeEvent(r, Math.round(start + k * step + r.float() * step));
      batch.push({ ...event, leadId: leadIds[order[k]!]! });
    }
    // Written a second after the last one happened, as a live ingest would.
    const data = activityRows(batch, workspaceId, batch.at(-1)!.occurredAt + 1000);
    insert ??= db.prepare(insertSql('activities', data.columns));
    slice(data.rows);
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      ctx.log(`  ${(at + batch.length).toLocaleString('en-US')} events written`);
    }
  }
}

function countByType(file: string, workspaceId: string): Record<string, number> {
  // A plain read connection: the file is the product's again (WAL).
  const db = new SQLite(file, { readonly: true });
  try {
    const rows = db
      .prepare('select type, count(*) as n from activities where workspace_id = ? group by type')
      .all(workspaceId) as Array<{ type: string; n: number }>;
    return Object.fromEntries(rows.map((row) => [row.type, row.n]));
  } finally {
    db.close();
  }
}
