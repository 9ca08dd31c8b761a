/** Tasks for sales reps: a call, an email, a LinkedIn message, a meeting — with an owner and a due time. */

export const taskTypes = ['call', 'email', 'linkedin_message', 'meeting', 'other'] as const;
export type TaskType = (typeof taskTypes)[number];

export const taskStatuses = ['open', 'done', 'cancelled'] as const;
export type TaskStatus = (typeof taskStatuses)[number];

/** Who made a task: a person through the API, or a rule, a sequence or an SLA policy. */
export const taskSources = ['api', 'rule', 'sequence', 'sla'] as const;
export type TaskSource = (typeof taskSources)[number];

export interface Task {
  workspaceId: string;
  id: string;
  leadId: string | null;
  ownerId: string;
  type: TaskType;
  title: string;
  notes: string | null;
  dueAt: number;
  status: TaskStatus;
  source: TaskSource;
  /** The rule, sequence or policy that made it; null for the API. */
  sourceId: string | null;
  outcome: string | null;
  completedAt: number | null;
  /** How many times it was snoozed (a reminder that keeps moving is a signal for managers). */
  snoozes: number;
  createdAt: number;
  updatedAt: number;
}

export interface TaskDraft {
  leadId?: string | null | undefined;
  ownerId: string;
  type: TaskType;
  title?: string | undefined;
  notes?: string | null | undefined;
  dueAt: number;
}

/** The title a task gets when none is given: "Call Ada Lovelace". */
export function defaultTitle(type: TaskType, leadName: string | null): string {
  const verb: Record<TaskType, string> = {
    call: 'Call',
    email: 'Email',
    linkedin_message: 'Message on LinkedIn',
    meeting: 'Meet',
    other: 'Follow up with',
  };
  return `${verb[type]} ${leadName ?? 'the lead'}`;
}

/** The idempotency key of a task's due reminder: one per task and due time, so a snooze gets a new one. */
export function dueJobKey(taskId: string, dueAt: number): string {
  return `task-due:${taskId}:${dueAt}`;
}

export type TaskChange =
  | { kind: 'complete'; outcome: string | null }
  | { kind: 'snooze'; until: number }
  | { kind: 'reassign'; ownerId: string }
  | { kind: 'cancel' }
  | {
      kind: 'edit';
      title?: string | undefined;
      notes?: string | null | undefined;
      dueAt?: number | undefined;
      type?: TaskType | undefined;
    };

export type TaskChangeOutcome = { ok: true; task: Task } | { ok: false; message: string };

/** Applies a change to a task at `now`. Only open tasks change; completing twice is refused. */
export function changeTask(task: Task, change: TaskChange, now: number): TaskChangeOutcome {
  if (task.status !== 'open') return { ok: false, message: `the task is ${task.status}` };
  switch (change.kind) {
    case 'complete':
      return {
        ok: true,
        task: { ...task, status: 'done', outcome: change.outcome, completedAt: now, updatedAt: now },
      };
    case 'cancel':
      return { ok: true, task: { ...task, status: 'cancelled', completedAt: now, updatedAt: now } };
    case 'snooze':
      if (change.until <= now) return { ok: false, message: 'a snooze must end in the future' };
      return { ok: true, task: { ...task, dueAt: change.until, snoozes: task.snoozes + 1, updatedAt: now } };
    case 'reassign':
      return { ok: true, task: { ...task, ownerId: change.ownerId, updatedAt: now } };
    case 'edit':
      return {
        ok: true,
        task: {
          ...task,
          ...(change.title !== undefined ? { title: change.title } : {}),
          ...(change.notes !== undefined ? { notes: change.notes } : {}),
          ...(change.dueAt !== undefined ? { dueAt: change.dueAt } : {}),
          ...(change.type !== undefined ? { type: change.type } : {}),
          updatedAt: now,
        },
      };
  }
}
