import { sql } from 'kysely';
import type { Migration } from './types.ts';

/**
 * Scoring and qualification (issue 3): versioned scoring models, each lead's score summary
 * on its row (what lists filter and sort on), the per-rule scoring state of leads that have
 * one (kept apart: it is larger, and only activities change it), and the stage history.
 */
export const qualification: Migration = {
  name: '2026-11-23T1000-qualification',
  async up(db, t) {
    await db.schema
      .createTable('scoring_models')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('model', t.json, (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('scoring_models_pk', ['workspace_id', 'version'])
      .execute();

    // One ALTER per column: SQLite adds one column per statement. Doubles are `double
    // precision` on both engines (PostgreSQL's `real` is single precision: too coarse for k).
    const add = async (
      name: string,
      type: 'integer' | 'double' | 'text' | 'json' | 'int64',
      fill?: number | string,
    ) => {
      const dataType =
        type === 'json' ? t.json : type === 'int64' ? t.int64 : type === 'double' ? 'double precision' : type;
      await db.schema
        .alterTable('leads')
        .addColumn(name, dataType, (c) => (fill === undefined ? c : c.notNull().defaultTo(fill)))
        .execute();
    };
    await add('score_model_version', 'integer');
    await add('fit_score', 'double', 0);
    await add('profile_negative', 'double', 0);
    await add('activity_negative', 'double', 0);
    // Behaviour points in the log domain (src/scoring/decay.ts): k = log2(B) + t/h.
    await add('behaviour_k', 'double');
    await add('half_life_days', 'double', 30);
    await add('last_high_intent_at', 'int64');
    await add('temperature', 'text', 'cold');
    await add('temperature_changes_at', 'int64');
    await add('pql', 'integer', 0);
    await add('service_qualified', 'integer', 0);
    await add('stage_changed_at', 'int64');
    await add('opportunity', 'json');
    await add('qualification', 'json');

    await db.schema
      .createIndex('leads_temperature_ix')
      .on('leads')
      .columns(['workspace_id', 'temperature'])
      .execute();
    // The temperature sweeper's queue: leads whose temperature will drop by decay alone.
    await db.schema
      .createIndex('leads_temperature_due_ix')
      .on('leads')
      .columns(['workspace_id', 'temperature_changes_at'])
      .where(sql<boolean>`temperature_changes_at is not null`)
      .execute();

    await db.schema
      .createTable('lead_score_states')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text', (c) => c.notNull())
      .addColumn('state', t.json, (c) => c.notNull())
      .addColumn('updated_at', t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('lead_score_states_pk', ['workspace_id', 'lead_id'])
      .execute();

    await db.schema
      .createTable('stage_changes')
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('lead_id', 'text', (c) => c.notNull())
      .addColumn('from_stage', 'text')
      .addColumn('to_stage', 'text', (c) => c.notNull())
      .addColumn('at', t.int64, (c) => c.notNull())
      /** rule | capture | import | api | user | sales */
      .addColumn('cause_kind', 'text', (c) => c.notNull())
      .addColumn('cause', t.json, (c) => c.notNull())
      .addPrimaryKeyConstraint('stage_changes_pk', ['workspace_id', 'id'])
      .execute();
    await db.schema
      .createIndex('stage_changes_lead_ix')
      .on('stage_changes')
      .columns(['workspace_id', 'lead_id', 'at'])
      .execute();
    await db.schema
      .createIndex('stage_changes_to_ix')
      .on('stage_changes')
      .columns(['workspace_id', 'to_stage', 'at'])
      .execute();
  },
};
