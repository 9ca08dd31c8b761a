import type { Config } from '../config.ts';
import { ConfigCache } from '../db/config-cache.ts';
import type { Database } from '../db/database.ts';
import { DomainError, isDomainError, validationError } from '../errors.ts';
import type { EventService } from '../leads/events-service.ts';
import type { ScoringService } from '../scoring/service.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import {
  type Batch,
  checkTrackingSettings,
  isBotAgent,
  planCollect,
  privacySignal,
  scoringOverlaps,
  type TrackingSettings,
  type TrackingSettingsInput,
} from './model.ts';
import * as store from './store.ts';

export interface TrackingServiceDeps {
  database: Database;
  workspaces: WorkspaceService;
  events: EventService;
  scoring: ScoringService;
  /** `publicUrl`: Leadline's own pages (forms, landing pages) may always send page views. */
  config: Pick<Config, 'publicUrl'>;
  clock: () => number;
}

/** What the request said beside its body. */
export interface CollectRequest {
  /** The Origin header. */
  origin: string | undefined;
  userAgent: string | undefined;
  /** The Sec-GPC header. */
  gpc: string | undefined;
  /** The DNT header. */
  dnt: string | undefined;
}

export interface CollectOutcome {
  /** Events written (page views and the activities URL rules added). */
  accepted: number;
  /** Events already stored: a resent batch. */
  duplicates: number;
  /** Page views not recorded, on purpose: a privacy signal or a crawler. */
  ignored: number;
}

/**
 * How long a workspace's tracking settings are cached when no word of a change comes: a change
 * made by any process is announced as it commits (config-cache.ts), and this is the bound
 * should a process's listening connection be down, or on SQLite. (5 s)
 */
const SETTINGS_CACHE_MS = 5_000;
/** How long a workspace slug's id is cached (an unknown slug: `SETTINGS_CACHE_MS`). (60 s) */
const SLUG_CACHE_MS = 60_000;
/** Entries per cache before it is cleared: bounded memory whatever slugs are sent. (10,000) */
const CACHE_LIMIT = 10_000;

export type TrackingService = ReturnType<typeof createTrackingService>;

export function createTrackingService({
  database,
  workspaces,
  events,
  scoring,
  config,
  clock,
}: TrackingServiceDeps) {
  const ownOrigin = new URL(config.publicUrl).origin;
  const settingsCache = new ConfigCache<TrackingSettings>({
    kind: 'tracking',
    database,
    ttlMs: SETTINGS_CACHE_MS,
    clock,
    limit: CACHE_LIMIT,
  });
  // Every page view names its workspace by slug; resolving it is two queries otherwise.
  const slugCache = new Map<string, { id: string | undefined; until: number }>();

  function settingsOf(workspaceId: string): Promise<TrackingSettings> {
    return settingsCache.read(workspaceId, () => store.readSettings(database.db, workspaceId));
  }

  async function workspaceIdOf(slug: string): Promise<string> {
    const now = clock();
    let cached = slugCache.get(slug);
    if (!cached || cached.until <= now) {
      let id: string | undefined;
      try {
        id = (await workspaces.resolveWorkspace(slug)).id;
      } catch (error) {
        if (!isDomainError(error) || error.code !== 'WORKSPACE_NOT_FOUND') throw error;
      }
      cached = { id, until: now + (id ? SLUG_CACHE_MS : SETTINGS_CACHE_MS) };
      if (slugCache.size >= CACHE_LIMIT) slugCache.clear();
      slugCache.set(slug, cached);
    }
    if (!cached.id) {
      throw new DomainError('WORKSPACE_NOT_FOUND', `No workspace "${slug}".`, [
        { path: '/w', message: 'is not a workspace (data-workspace of the t.js tag)' },
      ]);
    }
    return cached.id;
  }

  /** The settings with what the active scoring model would count twice. */
  async function withWarnings(workspaceId: string, settings: TrackingSettings) {
    const { model } = await scoring.activeModel(workspaceId);
    return { ...settings, warnings: scoringOverlaps(settings.urlRules, model.behaviour) };
  }

  return {
    settings: settingsOf,

    /** Forgets cached settings (of a workspace, or all): another process changed them. */
    forgetCached: (workspaceId?: string) => settingsCache.forget(workspaceId),

    /** The settings as the API shows them: with warnings about double scoring. */
    async readSettings(workspaceId: string) {
      return withWarnings(workspaceId, await settingsOf(workspaceId));
    },

    /** Replaces the URL rules and allowed origins (422 naming the field; nothing stored then). */
    async replaceSettings(workspaceId: string, input: TrackingSettingsInput) {
      const checked = checkTrackingSettings(input);
      if (!checked.ok) throw validationError(checked.errors);
      const now = clock();
      await database.writes.run(async (trx) => {
        await store.writeSettings(trx, workspaceId, checked.value, now);
        await settingsCache.changedIn(trx, workspaceId);
      });
      const settings: TrackingSettings = { ...checked.value, updatedAt: now };
      settingsCache.set(workspaceId, settings);
      return withWarnings(workspaceId, settings);
    },

    /**
     * Records a batch of page views from t.js, all or nothing, in one transaction: the page
     * views under the visitor's anonymous id (on their lead's timeline once identified) and
     * the activities the workspace's URL rules add. A privacy signal or a crawler's user agent
     * records nothing (and says so); a page of an origin the workspace did not allow is refused.
     */
    async collect(batch: Batch, request: CollectRequest): Promise<CollectOutcome> {
      if (privacySignal(request) || isBotAgent(request.userAgent)) {
        return { accepted: 0, duplicates: 0, ignored: batch.e.length };
      }
      const workspaceId = await workspaceIdOf(batch.w);
      const [workspace, settings] = await Promise.all([
        workspaces.getWorkspace(workspaceId),
        settingsOf(workspaceId),
      ]);
      const plan = planCollect(batch, { now: clock(), settings, ownOrigin, origin: request.origin });
      if (!plan.ok && plan.kind === 'invalid') throw validationError(plan.errors);
      if (!plan.ok) {
        throw new DomainError(
          'TRACKING_ORIGIN_NOT_ALLOWED',
          `Pages of ${plan.origin} may not send page views to this workspace: add the origin to ` +
            'allowedOrigins in the tracking settings.',
        );
      }
      const outcome = await database.writes.run(async (trx) => {
        const result = await events.ingestIn(
          trx,
          workspace,
          plan.events,
          (index) => `/e/${plan.hitOf[index]}`,
        );
        // The plan only makes valid events; a refusal here must not leave half a batch behind.
        const errors = result.results.flatMap((r) => r.errors ?? []);
        if (errors.length > 0) throw validationError(errors);
        return result;
      });
      return { accepted: outcome.accepted, duplicates: outcome.duplicates, ignored: 0 };
    },
  };
}
