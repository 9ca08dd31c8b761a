import type { Migration } from './types.ts';

/**
 * Users, teams and lead routing (issue 4). Routing rules are one ordered document per
 * workspace (replaced as a whole, like the scoring model); round-robin turns have their own
 * rows so that a rule's rotation can be locked on its own; every assignment is a row, which
 * is what capacity limits count.
 */
export const usersRouting: Migration = {
  name: '2026-11-23T1500-users-routing',
  async up(db, t) {
    await db.schema
      .createTable('users')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('timezone', 'text', (c) => c.notNull())
      .addColumn('working_hours', t.json)
      .addColumn('out_of_office', t.json, (c) => c.notNull())
      .addColumn('daily_capacity', 'integer')
      .addColumn('rolling_capacity', 'integer')
      .addColumn('manager_id', 'text')
      .addColumn('active', 'integer', (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('users_pk', ['workspace_id', 'id'])
      .execute();
    await db.schema
      .createIndex('users_email_ux')
      .on('users')
      .columns(['workspace_id', 'email'])
      .unique()
      .execute();

    await db.schema
      .createTable('teams')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('teams_pk', ['workspace_id', 'id'])
      .execute();
    await db.schema
      .createIndex('teams_name_ux')
      .on('teams')
      .columns(['workspace_id', 'name'])
      .unique()
      .execute();

    await db.schema
      .createTable('team_members')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('team_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('weight', 'integer', (c) => c.notNull())
      /** The member's place in the team's order: round robin breaks ties by it. */
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('team_members_pk', ['workspace_id', 'team_id', 'user_id'])
      .execute();
    await db.schema
      .createIndex('team_members_user_ix')
      .on('team_members')
      .columns(['workspace_id', 'user_id'])
      .execute();

    await db.schema
      .createTable('routing_settings')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('rules', t.json, (c) => c.notNull())
      .addColumn('fallback_owner_id', 'text')
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('routing_settings_pk', ['workspace_id'])
      .execute();

    await db.schema
      .createTable('routing_turns')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      /** Whose rotation: `rule:<ruleId>`, `rule:<ruleId>:<teamId>` (a territory's team), `team:<teamId>`. */
      .addColumn('pool', 'text', (c) => c.notNull())
      .addColumn('weights', t.json, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('routing_turns_pk', ['workspace_id', 'pool'])
      .execute();

    await db.schema
      .createTable('assignments')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text', (c) => c.notNull())
      .addColumn('owner_id', 'text', (c) => c.notNull())
      .addColumn('previous_owner_id', 'text')
      .addColumn('cause_kind', 'text', (c) => c.notNull())
      .addColumn('rule_id', 'text')
      .addColumn('at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('assignments_pk', ['workspace_id', 'id'])
      .execute();
    // Capacity: leads a person received since a moment.
    await db.schema
      .createIndex('assignments_owner_ix')
      .on('assignments')
      .columns(['workspace_id', 'owner_id', 'at'])
      .execute();
    // The assignment that gave a lead its owner (reassignment follows its rule).
    await db.schema
      .createIndex('assignments_lead_ix')
      .on('assignments')
      .columns(['workspace_id', 'lead_id', 'at'])
      .execute();
  },
};
