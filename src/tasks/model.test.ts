import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changeTask, defaultTitle, dueJobKey, type Task } from './model.ts';

const task: Task = {
  workspaceId: 'w',
  id: 't1',
  leadId: 'l1',
  ownerId: 'u1',
  type: 'call',
  title: 'Call Ada',
  notes: null,
  dueAt: 1_000,
  status: 'open',
  source: 'api',
  sourceId: null,
  outcome: null,
  completedAt: null,
  snoozes: 0,
  createdAt: 0,
  updatedAt: 0,
};

describe('changeTask', () => {
  it('completes an open task once', () => {
    const done = changeTask(task, { kind: 'complete', outcome: 'left a voicemail' }, 500);
    assert.ok(done.ok);
    assert.equal(done.task.status, 'done');
    assert.equal(done.task.completedAt, 500);
    assert.equal(done.task.outcome, 'left a voicemail');
    assert.deepEqual(changeTask(done.task, { kind: 'complete', outcome: null }, 600), {
      ok: false,
      message: 'the task is done',
    });
  });

  it('snoozes only into the future, counting snoozes', () => {
    const later = changeTask(task, { kind: 'snooze', until: 5_000 }, 2_000);
    assert.ok(later.ok);
    assert.equal(later.task.dueAt, 5_000);
    assert.equal(later.task.snoozes, 1);
    assert.equal(changeTask(task, { kind: 'snooze', until: 2_000 }, 2_000).ok, false);
  });

  it('reassigns, edits and cancels; a cancelled task changes no more', () => {
    const moved = changeTask(task, { kind: 'reassign', ownerId: 'u2' }, 10);
    assert.ok(moved.ok && moved.task.ownerId === 'u2');
    const edited = changeTask(task, { kind: 'edit', title: 'Call Ada back', notes: null }, 10);
    assert.ok(edited.ok && edited.task.title === 'Call Ada back' && edited.task.dueAt === 1_000);
    const cancelled = changeTask(task, { kind: 'cancel' }, 10);
    assert.ok(cancelled.ok && cancelled.task.status === 'cancelled');
    assert.equal(changeTask(cancelled.task, { kind: 'reassign', ownerId: 'u3' }, 20).ok, false);
  });
});

describe('task helpers', () => {
  it('titles a task by its type and lead', () => {
    assert.equal(defaultTitle('call', 'Ada Lovelace'), 'Call Ada Lovelace');
    assert.equal(defaultTitle('linkedin_message', null), 'Message on LinkedIn the lead');
  });

  it('gives each due time of a task its own reminder key', () => {
    assert.notEqual(dueJobKey('t1', 1), dueJobKey('t1', 2));
  });
});
