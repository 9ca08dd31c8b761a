import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import { notify } from '../db/notify.ts';
import type { DB } from '../db/schema.ts';
import { DomainError } from '../errors.ts';
import type { Lead, TimelineEntry } from '../leads/model.ts';
import { type ActivitiesOptions, activitiesOf } from '../leads/timeline-store.ts';
import { defaultQualificationRule } from '../lifecycle/qualification.ts';
import { defaultStageRules } from '../lifecycle/stage-rules.ts';
import { defaultTemperatureConfig } from '../lifecycle/temperature.ts';
import { activityMatches } from '../scoring/conditions.ts';
import type { WorkspaceSettings } from '../workspaces/model.ts';
import type { Score } from './engine.ts';
import { explainScore, type ScoreExplanation } from './explain.ts';
import { type Activity, defaultModel, type ScoringModel } from './model.ts';
import { leadScore, type ScoringContext } from './qualify.ts';
import * as store from './store.ts';

export interface ScoringServiceDeps {
  database: Database;
  clock: () => number;
}

export type ScoringService = ReturnType<typeof createScoringService>;

/**
 * How long a workspace's active model is cached on PostgreSQL when no word of a change comes.
 * Every capture and scored event reads it. A change made by this process is seen at once; one
 * made by another process is announced by NOTIFY on `MODEL_CHANNEL` as it commits, and this
 * is the bound should that connection be down. (SQLite needs none: see `isCurrent`.) (5 s)
 */
const MODEL_CACHE_MS = 5_000;

/** NOTIFY channel on which a process that saved a model tells the others (PostgreSQL). */
const MODEL_CHANNEL = 'scoring_model';

/** The active model: the latest saved version, or the built-in default (version 0). */
export interface ActiveModel {
  version: number;
  model: ScoringModel;
  createdBy: string | null;
  createdAt: number | null;
}

/**
 * Whether an activity can change anything scoring or qualification keeps: a rule, a stage
 * move, a flag or the temperature names its type and its conditions hold. Most page views of
 * a busy site match nothing, so ingesting them never loads or writes a lead.
 */
export function isRelevant(ctx: ScoringContext, activity: Activity): boolean {
  const matchers = relevantMatchers(ctx);
  const forType = matchers.get(activity.type);
  return forType?.some((m) => activityMatches(m, activity)) ?? false;
}

/** Activity types that can change anything scoring or qualification keeps (what a rescore replays). */
export function relevantTypes(ctx: ScoringContext): string[] {
  return [...relevantMatchers(ctx).keys()];
}

/**
 * What a rescore replays for these leads, read in `db`: their activities of the relevant
 * types, with properties only for the types some rule looks into. The writer's own rescore
 * and the worker thread's (rescore-worker.ts) both read through here.
 */
export function historiesToReplay(
  db: Kysely<DB>,
  workspaceId: string,
  leadIds: readonly string[],
  ctx: ScoringContext,
  { run = false }: Pick<ActivitiesOptions, 'run'> = {},
): Promise<Map<string, TimelineEntry[]>> {
  return activitiesOf(db, workspaceId, leadIds, {
    types: relevantTypes(ctx),
    withProperties: typesReadingProperties(ctx),
    run,
  });
}

/**
 * The relevant types some rule, move, flag or matcher of which looks at an activity's
 * properties (`where`): a replay needs the properties of these types only.
 */
export function typesReadingProperties(ctx: ScoringContext): string[] {
  return [...relevantMatchers(ctx)]
    .filter(([, matchers]) => matchers.some((m) => m.where && Object.keys(m.where).length > 0))
    .map(([type]) => type);
}

type Matcher = Parameters<typeof activityMatches>[0];
const matcherCache = new WeakMap<ScoringContext, Map<string, Matcher[]>>();

function relevantMatchers(ctx: ScoringContext): Map<string, Matcher[]> {
  let byType = matcherCache.get(ctx);
  if (byType) return byType;
  byType = new Map();
  const add = (matcher: Matcher) => {
    const list = byType!.get(matcher.type) ?? [];
    list.push(matcher);
    byType!.set(matcher.type, list);
  };
  for (const rule of [...ctx.model.behaviour, ...ctx.model.negative]) {
    if ('type' in rule) add({ type: rule.type, ...(rule.where ? { where: rule.where } : {}) });
  }
  for (const move of ctx.stageRules.moves) for (const m of move.activities ?? []) add(m);
  for (const flag of ctx.stageRules.flags) for (const m of flag.activities) add(m);
  for (const m of ctx.temperature.highIntent) add(m);
  matcherCache.set(ctx, byType);
  return byType;
}

export function createScoringService({ database, clock }: ScoringServiceDeps) {
  const cache = new Map<string, { active: ActiveModel; until: number; dataVersion: number | undefined }>();
  const contexts = new WeakMap<ActiveModel, WeakMap<object, ScoringContext>>();
  const channel = database.channel(MODEL_CHANNEL);

  /**
   * Whether a cached model is still the active one. On SQLite exactly: PRAGMA data_version
   * moves only when another process commits (a `leadline scoring apply` beside the server),
   * and inside a write transaction, which holds the write lock, none can commit before this
   * one does. A lead scored by a model already replaced would keep that score until the next
   * rescore (the rescore that follows a change may have passed it already).
   */
  function isCurrent(cached: { until: number; dataVersion: number | undefined }, now: number): boolean {
    return database.dataVersion ? cached.dataVersion === database.dataVersion() : cached.until > now;
  }

  async function activeModelIn(db: Kysely<DB>, workspaceId: string): Promise<ActiveModel> {
    const now = clock();
    const cached = cache.get(workspaceId);
    if (cached && isCurrent(cached, now)) return cached.active;
    const dataVersion = database.dataVersion?.();
    const latest = await store.latestModel(db, workspaceId);
    const active: ActiveModel = latest ?? {
      version: 0,
      model: defaultModel,
      createdBy: null,
      createdAt: null,
    };
    if (cache.size > 10_000) cache.clear();
    cache.set(workspaceId, { active, until: now + MODEL_CACHE_MS, dataVersion });
    return active;
  }

  /**
   * The rules a workspace scores and qualifies by, as `db` sees them (the model from the
   * cache). One object per (model version, settings object): matchers compiled for it stay.
   */
  async function contextIn(
    db: Kysely<DB>,
    workspace: { id: string; settings: WorkspaceSettings },
  ): Promise<ScoringContext> {
    const active = await activeModelIn(db, workspace.id);
    let bySettings = contexts.get(active);
    if (!bySettings) {
      bySettings = new WeakMap();
      contexts.set(active, bySettings);
    }
    let ctx = bySettings.get(workspace.settings);
    if (!ctx) {
      const lifecycle = workspace.settings.lifecycle;
      ctx = {
        version: active.version,
        model: active.model,
        stageRules: lifecycle?.stageRules ?? defaultStageRules,
        temperature: lifecycle?.temperature ?? defaultTemperatureConfig,
        qualification: lifecycle?.qualification ?? defaultQualificationRule,
      };
      bySettings.set(workspace.settings, ctx);
    }
    return ctx;
  }

  return {
    activeModelIn,
    activeModel: (workspaceId: string) => activeModelIn(database.db, workspaceId),

    /**
     * Forgets cached models whenever another process saves one (PostgreSQL; a no-op on
     * SQLite). Resolves to the stop.
     */
    listenForModelChanges: () => database.listen(channel, () => cache.clear()),

    contextIn,

    /** The rules as the database (outside any transaction) sees them. */
    context(workspace: { id: string; settings: WorkspaceSettings }): Promise<ScoringContext> {
      return contextIn(database.db, workspace);
    },

    /** Saves `model` as the next version; returns it. Callers rescore afterwards. */
    async saveModel(workspaceId: string, model: ScoringModel, createdBy: string): Promise<ActiveModel> {
      return database.writes.run(async (trx) => {
        for (let attempt = 0; attempt < 5; attempt++) {
          const latest = await store.latestModel(trx, workspaceId);
          const version = { version: (latest?.version ?? 0) + 1, model, createdBy, createdAt: clock() };
          if (await store.insertModel(trx, workspaceId, version)) {
            cache.delete(workspaceId);
            // Heard by every other process as this transaction commits.
            if (database.engine === 'postgres') await notify(trx, channel);
            return version;
          }
        }
        throw new DomainError('CONFLICT', 'The scoring model was changed concurrently; try again.');
      });
    },

    /** Why `lead` has its score now: every rule that counts, with its points then and now. */
    async explain(lead: Lead): Promise<ScoreExplanation> {
      const { model } = await activeModelIn(database.db, lead.workspaceId);
      const state = (await store.findStates(database.db, lead.workspaceId, [lead.id])).get(lead.id) ?? null;
      return explainScore(model, state, lead, clock());
    },

    /** Scores leads at this moment with the workspace's active model, for responses. */
    async scorer(workspaceId: string): Promise<(lead: Lead) => Score> {
      const { model } = await activeModelIn(database.db, workspaceId);
      const now = clock();
      return (lead) => leadScore(model, lead.scoring, now);
    },

    /**
     * `scorer` inside a write: the model is read in `trx`. On SQLite a transaction holds the one
     * connection, so a read through `database.db` from inside it (a cache miss when the model's
     * cache expires mid-request) waits for that connection forever: every later write stalls.
     */
    async scorerIn(trx: Kysely<DB>, workspaceId: string): Promise<(lead: Lead) => Score> {
      const { model } = await activeModelIn(trx, workspaceId);
      const now = clock();
      return (lead) => leadScore(model, lead.scoring, now);
    },

    versions: (workspaceId: string) => store.listModelVersions(database.db, workspaceId),

    findStatesIn: (db: Kysely<DB>, workspaceId: string, leadIds: readonly string[]) =>
      store.findStates(db, workspaceId, leadIds),
  };
}
