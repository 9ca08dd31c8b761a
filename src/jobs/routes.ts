import Type from 'typebox';
import { decodeIdCursor } from '../http/cursor.ts';
import type { HttpApp } from '../http/types.ts';
import { type Job, jobStates } from './model.ts';
import type { JobService } from './service.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const NullableTime = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const JobSchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  state: Type.Enum(jobStates),
  key: Type.Union([Type.String(), Type.Null()]),
  payload: Type.Unknown(),
  runAt: Type.String({ format: 'date-time', description: 'Due time; for a running job, its lease expiry.' }),
  attempts: Type.Integer(),
  maxAttempts: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  lockedBy: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  finishedAt: NullableTime,
});

export function jobJson(job: Job) {
  return {
    id: job.id,
    kind: job.kind,
    state: job.state,
    key: job.key,
    payload: job.payload,
    runAt: iso(job.runAt)!,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    lastError: job.lastError,
    lockedBy: job.lockedBy,
    createdAt: iso(job.createdAt)!,
    updatedAt: iso(job.updatedAt)!,
    finishedAt: iso(job.finishedAt),
  };
}

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** Jobs are operations data (payloads name leads and targets): admin keys only. */
export function registerJobRoutes(app: HttpApp, jobs: JobService): void {
  const tags = ['jobs'];
  app.get(
    '/api/v1/jobs',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'List jobs, newest first (dead letters with state=dead)',
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Enum(jobStates)),
            kind: Type.Optional(Type.String({ maxLength: 100 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(
              Type.String({ maxLength: 64, description: 'nextCursor of the previous page' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            data: Type.Array(JobSchema),
            counts: Type.Optional(
              Type.Record(Type.String(), Type.Integer(), {
                description: 'Jobs per state (first page only).',
              }),
            ),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { state, kind, cursor } = request.query;
      const limit = request.query.limit ?? 50;
      const workspaceId = request.principal.workspaceId;
      const list = await jobs.list(workspaceId, { state, kind, before: decodeIdCursor(cursor), limit });
      return {
        data: list.map(jobJson),
        // Counting reads every job of the workspace: the first page only.
        ...(cursor === undefined ? { counts: await jobs.counts(workspaceId) } : {}),
        nextCursor: list.length === limit ? list[list.length - 1]!.id : null,
      };
    },
  );

  app.get(
    '/api/v1/jobs/:id',
    {
      config: { scope: 'admin' },
      schema: { tags, summary: 'One job', params: IdParams, response: { 200: JobSchema } },
    },
    async (request) => jobJson(await jobs.get(request.principal.workspaceId, request.params.id)),
  );

  app.post(
    '/api/v1/jobs/:id/retry',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Queue a dead (or done) job again, due now, with fresh attempts',
        params: IdParams,
        response: { 200: JobSchema },
      },
    },
    async (request) => jobJson(await jobs.retry(request.principal.workspaceId, request.params.id)),
  );
}
