import { type Kysely, sql } from 'kysely';
import type { Engine } from '../db/database.ts';
import { parseJson, toJson } from '../db/json.ts';
import { deleteOlderThan } from '../db/prune.ts';
import type { DB, JobRow } from '../db/schema.ts';
import type { Job, JobState } from './model.ts';

/**
 * The claim index's own predicate, written out literally: SQLite uses a partial index only
 * when the query's WHERE contains its predicate term for term, and a bound `in (?, ?)` is not
 * that term (the claim then scanned every job ever kept).
 */
const DUE_STATES = sql<boolean>`state in ('queued', 'running')`;

const columns = [
  'workspace_id',
  'id',
  'kind',
  'payload',
  'key',
  'state',
  'run_at',
  'attempts',
  'max_attempts',
  'last_error',
  'locked_by',
  'created_at',
  'updated_at',
  'finished_at',
] as const;

function toJob(row: Pick<JobRow, (typeof columns)[number]>): Job {
  return {
    workspaceId: row.workspace_id,
    id: row.id,
    kind: row.kind,
    payload: parseJson<unknown>(row.payload, null),
    key: row.key,
    state: row.state as JobState,
    runAt: row.run_at,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    lastError: row.last_error,
    lockedBy: row.locked_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

export interface NewJob {
  workspaceId: string;
  id: string;
  kind: string;
  payload: unknown;
  key: string | null;
  runAt: number;
  maxAttempts: number;
}

/** Inserts queued jobs; a job whose key the workspace already has is left out. Returns the ids inserted. */
export async function insertJobs(db: Kysely<DB>, jobs: readonly NewJob[], now: number): Promise<string[]> {
  if (jobs.length === 0) return [];
  const rows = await db
    .insertInto('jobs')
    .values(
      jobs.map((j) => ({
        workspace_id: j.workspaceId,
        id: j.id,
        kind: j.kind,
        payload: toJson(j.payload),
        key: j.key,
        state: 'queued',
        run_at: j.runAt,
        attempts: 0,
        max_attempts: j.maxAttempts,
        created_at: now,
        updated_at: now,
      })),
    )
    .onConflict((oc) => oc.columns(['workspace_id', 'key']).where('key', 'is not', null).doNothing())
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Claims up to `limit` due jobs for `worker` in one statement: queued jobs whose time has come
 * and running jobs whose lease ran out (their worker died), oldest due first. Each claimed job
 * becomes running with a lease until `leaseUntil`. On PostgreSQL `FOR UPDATE SKIP LOCKED`
 * lets many workers claim at once without taking the same row or waiting on each other; on
 * SQLite the statement is its own write transaction, which serialises the claim.
 */
export async function claimDue(
  db: Kysely<DB>,
  engine: Engine,
  worker: string,
  limit: number,
  now: number,
  leaseUntil: number,
): Promise<Job[]> {
  const rows = await claimQuery(db, engine, worker, limit, now, leaseUntil).execute();
  return rows.map(toJob).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
}

/**
 * The claim statement (exported so a test can check its plan). On PostgreSQL the due rows are
 * picked in a MATERIALIZED CTE: inside `where … in (select … for update skip locked limit n)`
 * the planner may run the subquery more than once and claim more than `n` rows. SQLite has one
 * writer, so the plain form is exact there.
 */
export function claimQuery(
  db: Kysely<DB>,
  engine: Engine,
  worker: string,
  limit: number,
  now: number,
  leaseUntil: number,
) {
  const claimed = {
    state: 'running',
    run_at: leaseUntil,
    attempts: sql<number>`jobs.attempts + 1`,
    locked_by: worker,
    updated_at: now,
  };
  if (engine === 'postgres') {
    return db
      .with(
        (cte) => cte('due').materialized(),
        (q) =>
          q
            .selectFrom('jobs')
            .select(['workspace_id', 'id'])
            .where(DUE_STATES)
            .where('run_at', '<=', now)
            .orderBy('run_at')
            .limit(limit)
            .forUpdate()
            .skipLocked(),
      )
      .updateTable('jobs')
      .set(claimed)
      .from('due')
      .whereRef('jobs.workspace_id', '=', 'due.workspace_id')
      .whereRef('jobs.id', '=', 'due.id')
      .returning(columns.map((c) => `jobs.${c}` as const));
  }
  return db
    .updateTable('jobs')
    .set(claimed)
    .where((eb) =>
      eb(
        eb.refTuple('workspace_id', 'id'),
        'in',
        eb
          .selectFrom('jobs')
          .select(['workspace_id', 'id'])
          .where(DUE_STATES)
          .where('run_at', '<=', now)
          .orderBy('run_at')
          .limit(limit)
          .$asTuple('workspace_id', 'id'),
      ),
    )
    .returning(columns);
}

/** The earliest time a queued or running job is due, if any: how long a worker may sleep. */
export async function nextDueAt(db: Kysely<DB>): Promise<number | undefined> {
  const row = await db
    .selectFrom('jobs')
    .select('run_at')
    .where(DUE_STATES)
    .orderBy('run_at')
    .limit(1)
    .executeTakeFirst();
  return row?.run_at;
}

/**
 * Marks jobs done. Only while this run still holds them (same worker, same attempt): a run
 * that outlived its lease and was claimed again, by another worker or by this one, must not
 * finish the newer run's job.
 */
export async function completeJobs(
  db: Kysely<DB>,
  worker: string,
  jobs: ReadonlyArray<{ workspaceId: string; id: string; attempts: number }>,
  now: number,
): Promise<void> {
  if (jobs.length === 0) return;
  await db
    .updateTable('jobs')
    .set({ state: 'done', finished_at: now, updated_at: now, locked_by: null, last_error: null })
    .where((eb) =>
      eb(
        eb.refTuple('workspace_id', 'id', 'attempts'),
        'in',
        jobs.map((j) => eb.tuple(j.workspaceId, j.id, j.attempts)),
      ),
    )
    .where('state', '=', 'running')
    .where('locked_by', '=', worker)
    .execute();
}

/** Records a failed run: queued again for `runAt`, or dead. */
export async function failJob(
  db: Kysely<DB>,
  worker: string,
  job: { workspaceId: string; id: string; attempts: number },
  outcome: { state: 'queued'; runAt: number } | { state: 'dead' },
  error: string,
  now: number,
): Promise<void> {
  await db
    .updateTable('jobs')
    .set(
      outcome.state === 'queued'
        ? { state: 'queued', run_at: outcome.runAt, last_error: error, locked_by: null, updated_at: now }
        : { state: 'dead', last_error: error, locked_by: null, updated_at: now, finished_at: now },
    )
    .where('workspace_id', '=', job.workspaceId)
    .where('id', '=', job.id)
    .where('attempts', '=', job.attempts)
    .where('state', '=', 'running')
    .where('locked_by', '=', worker)
    .execute();
}

export async function findJob(db: Kysely<DB>, workspaceId: string, id: string): Promise<Job | undefined> {
  const row = await db
    .selectFrom('jobs')
    .select(columns)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toJob(row);
}

export interface JobFilter {
  state?: JobState | undefined;
  kind?: string | undefined;
  /** Ids after this one (newest first: ids sort by creation). */
  before?: string | undefined;
  limit: number;
}

/** Jobs of a workspace, newest first. */
export async function listJobs(db: Kysely<DB>, workspaceId: string, filter: JobFilter): Promise<Job[]> {
  let query = db
    .selectFrom('jobs')
    .select(columns)
    .where('workspace_id', '=', workspaceId)
    .orderBy('id', 'desc')
    .limit(filter.limit);
  if (filter.state) query = query.where('state', '=', filter.state);
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  if (filter.before) query = query.where('id', '<', filter.before);
  return (await query.execute()).map(toJob);
}

/** Puts a dead (or finished) job back in the queue, due now, with a fresh set of attempts. */
export async function requeueJob(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ state: 'queued', run_at: now, attempts: 0, locked_by: null, finished_at: null, updated_at: now })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('state', 'in', ['dead', 'done'])
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Job counts per state in a workspace. */
export async function countByState(db: Kysely<DB>, workspaceId: string): Promise<Record<JobState, number>> {
  const rows = await db
    .selectFrom('jobs')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('workspace_id', '=', workspaceId)
    .groupBy('state')
    .execute();
  const counts: Record<JobState, number> = { queued: 0, running: 0, done: 0, dead: 0 };
  for (const row of rows) counts[row.state as JobState] = Number(row.n);
  return counts;
}

/** Deletes a workspace's jobs in `state` (done or dead) last changed before `before`, at most `limit`; returns how many. */
export function pruneFinished(
  db: Kysely<DB>,
  workspaceId: string,
  state: 'done' | 'dead',
  before: number,
  limit: number,
): Promise<number> {
  return deleteOlderThan(db, { table: 'jobs', timeColumn: 'updated_at', state }, workspaceId, before, limit);
}
