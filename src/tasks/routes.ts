import Type from 'typebox';
import { decodeCursor, encodeCursor, parseTime } from '../http/cursor.ts';
import { Nullable } from '../http/schemas.ts';
import type { HttpApp } from '../http/types.ts';
import { type Task, taskStatuses, taskTypes } from './model.ts';
import type { TaskService } from './service.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const Time = Type.Union([Type.String({ maxLength: 40 }), Type.Integer({ minimum: 0 })], {
  description: 'ISO 8601 with a zone, or epoch milliseconds',
});
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const UserId = Type.String({ minLength: 1, maxLength: 64 });

export const TaskSchema = Type.Object({
  id: Type.String(),
  leadId: Nullable(Type.String()),
  ownerId: Type.String(),
  type: Type.Enum(taskTypes),
  title: Type.String(),
  notes: Nullable(Type.String()),
  dueAt: Type.String({ format: 'date-time' }),
  status: Type.Enum(taskStatuses),
  overdue: Type.Boolean(),
  source: Type.String(),
  sourceId: Nullable(Type.String()),
  outcome: Nullable(Type.String()),
  completedAt: Nullable(Type.String({ format: 'date-time' })),
  snoozes: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

function taskJson(task: Task, now: number) {
  return {
    id: task.id,
    leadId: task.leadId,
    ownerId: task.ownerId,
    type: task.type,
    title: task.title,
    notes: task.notes,
    dueAt: iso(task.dueAt)!,
    status: task.status,
    overdue: task.status === 'open' && task.dueAt < now,
    source: task.source,
    sourceId: task.sourceId,
    outcome: task.outcome,
    completedAt: iso(task.completedAt),
    snoozes: task.snoozes,
    createdAt: iso(task.createdAt)!,
    updatedAt: iso(task.updatedAt)!,
  };
}

export function registerTaskRoutes(app: HttpApp, tasks: TaskService, clock: () => number): void {
  const tags = ['tasks'];
  const one = { params: IdParams, response: { 200: TaskSchema } };

  app.post(
    '/api/v1/tasks',
    {
      schema: {
        tags,
        summary: 'Create a task (call, email, LinkedIn message, meeting) for a rep',
        body: Type.Object(
          {
            ownerId: UserId,
            type: Type.Enum(taskTypes),
            dueAt: Time,
            leadId: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
            title: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
            notes: Type.Optional(Nullable(Type.String({ maxLength: 5000 }))),
          },
          { additionalProperties: false },
        ),
        response: { 201: TaskSchema },
      },
    },
    async (request, reply) => {
      const { dueAt, ...rest } = request.body;
      const task = await tasks.create(request.principal.workspaceId, {
        ...rest,
        dueAt: parseTime(dueAt, '/dueAt'),
      });
      return reply.status(201).send(taskJson(task, clock()));
    },
  );

  app.get(
    '/api/v1/tasks',
    {
      schema: {
        tags,
        summary:
          'List tasks, soonest due first (a rep’s open tasks: ownerId + status=open; overdue: dueBefore=now)',
        querystring: Type.Object(
          {
            ownerId: Type.Optional(UserId),
            leadId: Type.Optional(Type.String({ maxLength: 64 })),
            status: Type.Optional(Type.Enum(taskStatuses)),
            dueBefore: Type.Optional(Type.String({ maxLength: 40 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(Type.String({ maxLength: 300 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ data: Type.Array(TaskSchema), nextCursor: Nullable(Type.String()) }),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 50;
      const after = q.cursor ? decodeCursor('tasks', q.cursor) : undefined;
      const list = await tasks.list(request.principal.workspaceId, {
        ownerId: q.ownerId,
        leadId: q.leadId,
        status: q.status,
        dueBefore: q.dueBefore === undefined ? undefined : parseTime(q.dueBefore, '/query/dueBefore'),
        after: after && { dueAt: after.value, id: after.id },
        limit,
      });
      const last = list[list.length - 1];
      const now = clock();
      return {
        data: list.map((t) => taskJson(t, now)),
        nextCursor: list.length === limit && last ? encodeCursor('tasks', last.dueAt, last.id) : null,
      };
    },
  );

  app.get('/api/v1/tasks/:id', { schema: { tags, summary: 'One task', ...one } }, async (request) =>
    taskJson(await tasks.get(request.principal.workspaceId, request.params.id), clock()),
  );

  app.patch(
    '/api/v1/tasks/:id',
    {
      schema: {
        tags,
        summary: 'Edit an open task',
        params: IdParams,
        body: Type.Object(
          {
            title: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
            notes: Type.Optional(Nullable(Type.String({ maxLength: 5000 }))),
            dueAt: Type.Optional(Time),
            type: Type.Optional(Type.Enum(taskTypes)),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: TaskSchema },
      },
    },
    async (request) => {
      const { dueAt, ...rest } = request.body;
      const task = await tasks.change(request.principal.workspaceId, request.params.id, {
        kind: 'edit',
        ...rest,
        ...(dueAt !== undefined ? { dueAt: parseTime(dueAt, '/dueAt') } : {}),
      });
      return taskJson(task, clock());
    },
  );

  app.post(
    '/api/v1/tasks/:id/complete',
    {
      schema: {
        tags,
        summary: 'Complete a task, with an optional outcome',
        params: IdParams,
        body: Type.Optional(
          Type.Object(
            { outcome: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))) },
            { additionalProperties: false },
          ),
        ),
        response: { 200: TaskSchema },
      },
    },
    async (request) =>
      taskJson(
        await tasks.change(request.principal.workspaceId, request.params.id, {
          kind: 'complete',
          outcome: request.body?.outcome ?? null,
        }),
        clock(),
      ),
  );

  app.post(
    '/api/v1/tasks/:id/snooze',
    {
      schema: {
        tags,
        summary: 'Move an open task’s due time to later (`until`, or `minutes` from now)',
        params: IdParams,
        body: Type.Object(
          {
            until: Type.Optional(Time),
            minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 525_600 })),
          },
          { additionalProperties: false, minProperties: 1, maxProperties: 1 },
        ),
        response: { 200: TaskSchema },
      },
    },
    async (request) => {
      const { until, minutes } = request.body;
      const at = until !== undefined ? parseTime(until, '/until') : clock() + minutes! * 60_000;
      return taskJson(
        await tasks.change(request.principal.workspaceId, request.params.id, { kind: 'snooze', until: at }),
        clock(),
      );
    },
  );

  app.post(
    '/api/v1/tasks/:id/reassign',
    {
      schema: {
        tags,
        summary: 'Give an open task to another rep',
        params: IdParams,
        body: Type.Object({ ownerId: UserId }, { additionalProperties: false }),
        response: { 200: TaskSchema },
      },
    },
    async (request) =>
      taskJson(
        await tasks.change(request.principal.workspaceId, request.params.id, {
          kind: 'reassign',
          ownerId: request.body.ownerId,
        }),
        clock(),
      ),
  );

  app.post(
    '/api/v1/tasks/:id/cancel',
    { schema: { tags, summary: 'Cancel an open task', ...one } },
    async (request) =>
      taskJson(
        await tasks.change(request.principal.workspaceId, request.params.id, { kind: 'cancel' }),
        clock(),
      ),
  );
}
