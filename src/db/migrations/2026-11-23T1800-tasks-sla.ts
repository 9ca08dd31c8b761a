import type { Migration } from './types.ts';

/**
 * Tasks and speed-to-lead SLAs (issue 4). A timer is a row with its due time; the breach and
 * warning checks are jobs at those times (the jobs table is the one timer queue).
 */
export const tasksSla: Migration = {
  name: '2026-11-23T1800-tasks-sla',
  async up(db, t) {
    await db.schema
      .createTable('tasks')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text')
      .addColumn('owner_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('notes', 'text')
      .addColumn('due_at', t.int64, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('source_id', 'text')
      .addColumn('outcome', 'text')
      .addColumn('completed_at', t.int64)
      .addColumn('snoozes', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('tasks_pk', ['workspace_id', 'id'])
      .execute();
    // A rep's open tasks by due time; a lead's tasks.
    await db.schema
      .createIndex('tasks_owner_ix')
      .on('tasks')
      .columns(['workspace_id', 'owner_id', 'status', 'due_at'])
      .execute();
    await db.schema.createIndex('tasks_lead_ix').on('tasks').columns(['workspace_id', 'lead_id']).execute();
    await db.schema
      .createIndex('tasks_due_ix')
      .on('tasks')
      .columns(['workspace_id', 'status', 'due_at'])
      .execute();

    await db.schema
      .createTable('sla_policies')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('definition', t.json, (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('sla_policies_pk', ['workspace_id', 'id'])
      .execute();

    await db.schema
      .createTable('sla_timers')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text', (c) => c.notNull())
      .addColumn('policy_id', 'text', (c) => c.notNull())
      .addColumn('policy_name', 'text', (c) => c.notNull())
      .addColumn('owner_id', 'text')
      .addColumn('trigger', 'text', (c) => c.notNull())
      .addColumn('started_at', t.int64, (c) => c.notNull())
      .addColumn('due_at', t.int64, (c) => c.notNull())
      .addColumn('warn_at', t.int64)
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('met_at', t.int64)
      .addColumn('met_by', 'text')
      .addColumn('breached_at', t.int64)
      .addColumn('escalation', t.json)
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('sla_timers_pk', ['workspace_id', 'id'])
      .execute();
    await db.schema
      .createIndex('sla_timers_lead_ix')
      .on('sla_timers')
      .columns(['workspace_id', 'lead_id', 'status'])
      .execute();
    await db.schema
      .createIndex('sla_timers_status_ix')
      .on('sla_timers')
      .columns(['workspace_id', 'status', 'started_at'])
      .execute();

    // The first touch of each lead by its owner: time to first contact, per lead and in metrics.
    await db.schema
      .createTable('lead_first_contacts')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text', (c) => c.notNull())
      .addColumn('at', t.int64, (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('activity_type', 'text', (c) => c.notNull())
      .addColumn('ms_since_created', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('lead_first_contacts_pk', ['workspace_id', 'lead_id'])
      .execute();
  },
};
