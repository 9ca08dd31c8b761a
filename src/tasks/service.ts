import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { DB } from '../db/schema.ts';
import { DomainError, validationError } from '../errors.ts';
import type { JobService } from '../jobs/service.ts';
import type { Lead } from '../leads/model.ts';
import type { LeadService } from '../leads/service.ts';
import type { Signals } from '../signals/bus.ts';
import {
  changeTask,
  defaultTitle,
  dueJobKey,
  type Task,
  type TaskChange,
  type TaskDraft,
  type TaskSource,
} from './model.ts';
import * as store from './store.ts';

/** What tasks need to know about users: who exists and is active. (src/users provides it.) */
export interface OwnerDirectory {
  findIn(
    db: Kysely<DB>,
    workspaceId: string,
    ids: readonly string[],
  ): Promise<Array<{ id: string; active: boolean }>>;
}

export interface TaskServiceDeps {
  database: Database;
  jobs: JobService;
  signals: Signals;
  leads: LeadService;
  users: OwnerDirectory;
  clock: () => number;
}

export type TaskService = ReturnType<typeof createTaskService>;

interface DuePayload {
  taskId: string;
  dueAt: number;
}

const leadName = (lead: Lead) =>
  [lead.firstName, lead.lastName].filter(Boolean).join(' ') || lead.email || lead.phone || null;

export function taskSignalData(task: Task): Record<string, unknown> {
  return {
    taskId: task.id,
    leadId: task.leadId,
    ownerId: task.ownerId,
    type: task.type,
    title: task.title,
    dueAt: new Date(task.dueAt).toISOString(),
    status: task.status,
  };
}

export function createTaskService({ database, jobs, signals, leads, users, clock }: TaskServiceDeps) {
  const { db } = database;

  async function requireOwner(trx: Kysely<DB>, workspaceId: string, ownerId: string, path: string) {
    const [owner] = await users.findIn(trx, workspaceId, [ownerId]);
    if (!owner) throw validationError([{ path, message: 'is not a user of this workspace' }]);
    if (!owner.active) throw validationError([{ path, message: 'is a deactivated user' }]);
  }

  async function scheduleDue(trx: Kysely<DB>, task: Task): Promise<void> {
    await jobs.enqueueIn(trx, task.workspaceId, {
      kind: 'task.due',
      payload: { taskId: task.id, dueAt: task.dueAt } satisfies DuePayload,
      key: dueJobKey(task.id, task.dueAt),
      runAt: task.dueAt,
    });
  }

  // At its due time an open task, not snoozed since, becomes the `task.due` signal (webhooks,
  // alerts). Run twice (a crash between the signal and the job's completion), it emits twice:
  // jobs run at least once.
  jobs.define<DuePayload>({
    kind: 'task.due',
    check: (p) =>
      typeof p === 'object' && p !== null && typeof (p as DuePayload).taskId === 'string'
        ? undefined
        : 'taskId is missing',
    run: async (job) => {
      await database.writes.run(async (trx) => {
        const task = await store.findTask(trx, job.workspaceId, job.payload.taskId);
        if (task?.status !== 'open' || task.dueAt !== job.payload.dueAt) return;
        // An archived lead is out of play: nobody is reminded of it. Its tasks stay open (lists
        // of overdue tasks show them if it comes back); a merge moved its tasks to the survivor.
        if (task.leadId) {
          const [lead] = await leads.findIn(trx, job.workspaceId, [task.leadId]);
          if (lead && lead.archivedAt !== null) return;
        }
        await signals.emitIn(
          trx,
          job.workspaceId,
          [
            {
              type: 'task.due',
              leadId: task.leadId ?? undefined,
              at: task.dueAt,
              data: taskSignalData(task),
            },
          ],
          clock(),
        );
      });
    },
  });

  /**
   * Creates a task in the caller's transaction (rules, sequences and SLA policies call this
   * inside their own writes). The owner must be an active user; the lead, if named, must exist.
   */
  async function createIn(
    trx: Kysely<DB>,
    workspaceId: string,
    draft: TaskDraft,
    source: { kind: TaskSource; id: string | null },
  ): Promise<Task> {
    const now = clock();
    await requireOwner(trx, workspaceId, draft.ownerId, '/ownerId');
    let lead: Lead | undefined;
    if (draft.leadId) {
      [lead] = await leads.findIn(trx, workspaceId, [draft.leadId]);
      if (!lead) throw validationError([{ path: '/leadId', message: 'is not a lead of this workspace' }]);
    }
    const task: Task = {
      workspaceId,
      id: newId(),
      leadId: lead?.id ?? null,
      ownerId: draft.ownerId,
      type: draft.type,
      title: draft.title ?? defaultTitle(draft.type, lead ? leadName(lead) : null),
      notes: draft.notes ?? null,
      dueAt: draft.dueAt,
      status: 'open',
      source: source.kind,
      sourceId: source.id,
      outcome: null,
      completedAt: null,
      snoozes: 0,
      createdAt: now,
      updatedAt: now,
    };
    await store.insertTask(trx, task);
    await scheduleDue(trx, task);
    if (lead)
      await leads.appendTimelineIn(trx, workspaceId, [
        {
          id: newId(),
          leadId: lead.id,
          type: 'task_created',
          occurredAt: now,
          properties: {
            taskId: task.id,
            type: task.type,
            ownerId: task.ownerId,
            dueAt: task.dueAt,
            source: source.kind,
          },
        },
      ]);
    return task;
  }

  return {
    createIn,

    /** A merge's part for tasks (registered with the lead reactions): they follow the survivor. */
    moveOnMergeIn: (trx: Kysely<DB>, workspaceId: string, from: string, into: string) =>
      store.moveTasks(trx, workspaceId, from, into, clock()),

    create: (workspaceId: string, draft: TaskDraft) =>
      database.writes.run((trx) => createIn(trx, workspaceId, draft, { kind: 'api', id: null })),

    async get(workspaceId: string, id: string): Promise<Task> {
      const task = await store.findTask(db, workspaceId, id);
      if (!task) throw new DomainError('TASK_NOT_FOUND', `Task ${id} was not found.`);
      return task;
    },

    list: (workspaceId: string, filter: store.TaskFilter) => store.listTasks(db, workspaceId, filter),

    /** Completes, snoozes, reassigns, cancels or edits an open task. */
    change(workspaceId: string, id: string, change: TaskChange): Promise<Task> {
      return database.writes.run(async (trx) => {
        // Locked on PostgreSQL: the whole task is written back, and two processes changing
        // different fields at once would each undo the other's (SQLite serialises writers).
        const task = await store.findTask(trx, workspaceId, id, database.engine === 'postgres');
        if (!task) throw new DomainError('TASK_NOT_FOUND', `Task ${id} was not found.`);
        if (change.kind === 'reassign') await requireOwner(trx, workspaceId, change.ownerId, '/ownerId');
        const now = clock();
        const out = changeTask(task, change, now);
        if (!out.ok) throw new DomainError('CONFLICT', `Task ${id} cannot change: ${out.message}.`);
        if (!(await store.updateOpenTask(trx, out.task)))
          throw new DomainError('CONFLICT', `Task ${id} cannot change: it was closed meanwhile.`);
        if (out.task.dueAt !== task.dueAt) await scheduleDue(trx, out.task);
        if (out.task.leadId && out.task.status !== task.status)
          await leads.appendTimelineIn(trx, workspaceId, [
            {
              id: newId(),
              leadId: out.task.leadId,
              type: out.task.status === 'done' ? 'task_completed' : 'task_cancelled',
              occurredAt: now,
              properties: {
                taskId: task.id,
                type: task.type,
                ownerId: out.task.ownerId,
                outcome: out.task.outcome,
              },
            },
          ]);
        return out.task;
      });
    },
  };
}
