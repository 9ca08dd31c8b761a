import type { Kysely } from 'kysely';
import type { DB, TaskRow } from '../db/schema.ts';
import type { Task, TaskSource, TaskStatus, TaskType } from './model.ts';

const columns = [
  'workspace_id',
  'id',
  'lead_id',
  'owner_id',
  'type',
  'title',
  'notes',
  'due_at',
  'status',
  'source',
  'source_id',
  'outcome',
  'completed_at',
  'snoozes',
  'created_at',
  'updated_at',
] as const;

function toTask(row: Pick<TaskRow, (typeof columns)[number]>): Task {
  return {
    workspaceId: row.workspace_id,
    id: row.id,
    leadId: row.lead_id,
    ownerId: row.owner_id,
    type: row.type as TaskType,
    title: row.title,
    notes: row.notes,
    dueAt: row.due_at,
    status: row.status as TaskStatus,
    source: row.source as TaskSource,
    sourceId: row.source_id,
    outcome: row.outcome,
    completedAt: row.completed_at,
    snoozes: row.snoozes,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toRow(task: Task): TaskRow {
  return {
    workspace_id: task.workspaceId,
    id: task.id,
    lead_id: task.leadId,
    owner_id: task.ownerId,
    type: task.type,
    title: task.title,
    notes: task.notes,
    due_at: task.dueAt,
    status: task.status,
    source: task.source,
    source_id: task.sourceId,
    outcome: task.outcome,
    completed_at: task.completedAt,
    snoozes: task.snoozes,
    created_at: task.createdAt,
    updated_at: task.updatedAt,
  };
}

export async function insertTask(db: Kysely<DB>, task: Task): Promise<void> {
  await db.insertInto('tasks').values(toRow(task)).execute();
}

/**
 * Writes a change to an open task; false when it was no longer open (another process completed
 * or cancelled it since it was read): only open tasks change.
 */
export async function updateOpenTask(db: Kysely<DB>, task: Task): Promise<boolean> {
  const { workspace_id, id, created_at: _created, ...rest } = toRow(task);
  const result = await db
    .updateTable('tasks')
    .set(rest)
    .where('workspace_id', '=', workspace_id)
    .where('id', '=', id)
    .where('status', '=', 'open')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Gives every task of lead `from` to lead `into` (a merge: the survivor's people keep them). */
export async function moveTasks(
  db: Kysely<DB>,
  workspaceId: string,
  from: string,
  into: string,
  now: number,
): Promise<void> {
  await db
    .updateTable('tasks')
    .set({ lead_id: into, updated_at: now })
    .where('workspace_id', '=', workspaceId)
    .where('lead_id', '=', from)
    .execute();
}

/**
 * The task; with `lock` (PostgreSQL, in a write that stores the task back) the row stays locked
 * until the transaction ends, so another process's change to it waits instead of being undone.
 */
export async function findTask(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  lock = false,
): Promise<Task | undefined> {
  const select = db
    .selectFrom('tasks')
    .select(columns)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id);
  const row = await (lock ? select.forUpdate() : select).executeTakeFirst();
  return row && toTask(row);
}

export interface TaskFilter {
  ownerId?: string | undefined;
  leadId?: string | undefined;
  status?: TaskStatus | undefined;
  /** Only tasks due before this time (epoch ms): "what is overdue now". */
  dueBefore?: number | undefined;
  /** Page after this (dueAt, id). */
  after?: { dueAt: number; id: string } | undefined;
  limit: number;
}

/** Tasks by due time, soonest first. */
export async function listTasks(db: Kysely<DB>, workspaceId: string, filter: TaskFilter): Promise<Task[]> {
  let query = db
    .selectFrom('tasks')
    .select(columns)
    .where('workspace_id', '=', workspaceId)
    .orderBy('due_at')
    .orderBy('id')
    .limit(filter.limit);
  if (filter.ownerId) query = query.where('owner_id', '=', filter.ownerId);
  if (filter.leadId) query = query.where('lead_id', '=', filter.leadId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.dueBefore !== undefined) query = query.where('due_at', '<', filter.dueBefore);
  if (filter.after) {
    const { dueAt, id } = filter.after;
    query = query.where((eb) =>
      eb.or([eb('due_at', '>', dueAt), eb.and([eb('due_at', '=', dueAt), eb('id', '>', id)])]),
    );
  }
  return (await query.execute()).map(toTask);
}
