import type { Kysely } from 'kysely';
import { ConfigCache } from '../db/config-cache.ts';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { DB } from '../db/schema.ts';
import { DomainError, validationError } from '../errors.ts';
import type { JobRequest } from '../jobs/model.ts';
import type { JobService } from '../jobs/service.ts';
import type { LeadService } from '../leads/service.ts';
import { assertPublicTarget } from '../outbound/target-guard.ts';
import type { ScoringService } from '../scoring/service.ts';
import type { Signal, Signals } from '../signals/bus.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import { DELIVER_KIND, type DeliverPayload, deliveryKind } from './delivery.ts';
import {
  DELIVERY_LOG_RETENTION_MS,
  type Delivery,
  MAX_SUBSCRIPTIONS,
  MESSAGE_RETENTION_MS,
  messageBody,
  normaliseEvents,
  PING_EVENT,
  SECRET_ROTATION_GRACE_MS,
  type SigningSubscription,
  type WebhookMessage,
  type WebhookSubscription,
  wantsEvent,
} from './model.ts';
import { newSecret } from './signing.ts';
import * as store from './store.ts';

export interface WebhookServiceDeps {
  database: Database;
  clock: () => number;
  jobs: JobService;
  signals: Signals;
  workspaces: WorkspaceService;
  leads: LeadService;
  scoring: ScoringService;
  /** Jitter source of the retry schedule. (Default: Math.random) */
  random?: () => number;
}

export interface WebhookDraft {
  url: string;
  events: string[];
  description?: string | undefined;
  /** (Default: true) */
  enabled?: boolean | undefined;
}

export interface WebhookPatch {
  url?: string | undefined;
  events?: string[] | undefined;
  description?: string | null | undefined;
  enabled?: boolean | undefined;
}

/** A delivery queued through the API (a replay or a test ping). */
export interface QueuedDelivery {
  messageId: string;
  jobId: string | null;
}

export type WebhookService = ReturnType<typeof createWebhookService>;

/**
 * How long a workspace's enabled subscriptions are cached for routing signals when no word of
 * a change comes. Every lead write asks whether anyone listens; a change made by any process
 * is announced as it commits (config-cache.ts), and this is the bound should a process's
 * listening connection be down, or on SQLite. (5 s)
 */
const ROUTES_CACHE_MS = 5_000;
/** Rows read per pruning round (messages carry whole leads: kept small). (1,000) */
const PRUNE_CHUNK = 1_000;

type Route = { id: string; events: string[] };

function notFound(id: string): DomainError {
  return new DomainError('NOT_FOUND', `No webhook subscription ${id} in this workspace.`);
}

/**
 * Outbound webhooks: subscriptions (CRUD, secret rotation), the signal subscriber that queues
 * one delivery job per (subscription, message) inside the writing transaction, replays and
 * test pings. Deliveries run as `webhook.deliver` jobs (delivery.ts).
 */
export function createWebhookService(deps: WebhookServiceDeps) {
  const { database, clock, jobs } = deps;
  const { db } = database;
  const lock = database.engine === 'postgres';
  const cache = new ConfigCache<Route[]>({ kind: 'webhooks', database, ttlMs: ROUTES_CACHE_MS, clock });
  const changedIn = (trx: Kysely<DB>, workspaceId: string) => cache.changedIn(trx, workspaceId);

  jobs.define<DeliverPayload>(
    deliveryKind({
      database,
      clock,
      workspaces: deps.workspaces,
      leads: deps.leads,
      scoring: deps.scoring,
      changedIn,
      ...(deps.random ? { random: deps.random } : {}),
    }),
  );

  function routesIn(trx: Kysely<DB>, workspaceId: string): Promise<Route[]> {
    return cache.read(workspaceId, () => store.listEnabledRoutes(trx, workspaceId));
  }

  /**
   * Queues the signals for every enabled subscription that takes them: one message per signal
   * (its id is the `webhook-id`), one job per receiving subscription, all in `trx`. A signal
   * that carries its lead (`data.lead`) is rendered now; one that names a lead without it is
   * rendered at its first attempt, with the lead as it is then.
   */
  async function enqueueSignalsIn(
    trx: Kysely<DB>,
    workspaceId: string,
    signals: readonly Signal[],
    now: number,
  ): Promise<void> {
    const routes = await routesIn(trx, workspaceId);
    if (routes.length === 0) return;
    const messages: WebhookMessage[] = [];
    const requests: JobRequest<DeliverPayload>[] = [];
    for (const signal of signals) {
      const targets = routes.filter((route) => wantsEvent(route.events, signal.type));
      if (targets.length === 0) continue;
      const leadId = signal.leadId ?? null;
      const later = leadId !== null && !('lead' in signal.data);
      const message: WebhookMessage = {
        id: newId(),
        eventType: signal.type,
        leadId,
        // Kept only while the body waits to be rendered: the body holds it otherwise.
        data: later ? signal.data : {},
        body: later ? null : messageBody(signal.type, signal.at, leadId, signal.data),
        occurredAt: signal.at,
      };
      messages.push(message);
      for (const target of targets)
        requests.push({
          kind: DELIVER_KIND,
          payload: { subscriptionId: target.id, messageId: message.id, trigger: 'event' },
          key: `webhook:${target.id}:${message.id}`,
        });
    }
    if (messages.length === 0) return;
    await store.insertMessages(trx, workspaceId, messages, now);
    await jobs.enqueueIn(trx, workspaceId, requests);
  }

  deps.signals.subscribe('webhooks', enqueueSignalsIn, async (trx, workspaceId) => {
    return (await routesIn(trx, workspaceId)).length > 0;
  });

  async function allowPrivate(workspaceId: string): Promise<boolean> {
    const workspace = await deps.workspaces.getWorkspace(workspaceId);
    return workspace.settings.allowPrivateWebhookTargets === true;
  }

  /**
   * The subscription; with `lock` (PostgreSQL, in a write that stores it back) its row stays
   * locked until the transaction ends, or two processes changing different fields at once (or
   * rotating the secret twice) would each undo the other's. SQLite serialises writers already.
   */
  async function find(
    trx: Kysely<DB>,
    workspaceId: string,
    id: string,
    lock = false,
  ): Promise<SigningSubscription> {
    const sub = await store.findSubscription(trx, workspaceId, id, lock);
    if (!sub) throw notFound(id);
    return sub;
  }

  return {
    enqueueSignalsIn,

    /** Forgets cached subscriptions (of a workspace, or all): another process changed them. */
    forgetCached: (workspaceId?: string) => cache.forget(workspaceId),

    async list(workspaceId: string): Promise<WebhookSubscription[]> {
      return (await store.listSubscriptions(db, workspaceId)).map(store.withoutSecrets);
    },

    async get(workspaceId: string, id: string): Promise<WebhookSubscription> {
      return store.withoutSecrets(await find(db, workspaceId, id));
    },

    /** Creates a subscription; its signing secret is returned here and never again. */
    async create(
      workspaceId: string,
      draft: WebhookDraft,
    ): Promise<{ subscription: WebhookSubscription; secret: string }> {
      // Resolved before the transaction: a slow DNS answer must not hold the writer.
      await assertPublicTarget(draft.url, await allowPrivate(workspaceId));
      const now = clock();
      const enabled = draft.enabled ?? true;
      const sub: SigningSubscription = {
        id: newId(),
        url: draft.url,
        events: normaliseEvents(draft.events),
        description: draft.description ?? null,
        enabled,
        disabledReason: enabled ? null : 'created disabled',
        disabledAt: enabled ? null : now,
        health: { lastSuccessAt: null, failingSince: null, consecutiveFailures: 0 },
        createdAt: now,
        updatedAt: now,
        secret: newSecret(),
        previousSecret: null,
        previousSecretUntil: null,
      };
      await database.writes.run(async (trx) => {
        if ((await store.countSubscriptions(trx, workspaceId)) >= MAX_SUBSCRIPTIONS)
          throw validationError(
            [{ path: '/', message: `a workspace has at most ${MAX_SUBSCRIPTIONS} webhook subscriptions` }],
            'Too many webhook subscriptions.',
          );
        await store.insertSubscription(trx, workspaceId, sub);
        await changedIn(trx, workspaceId);
      });
      return { subscription: store.withoutSecrets(sub), secret: sub.secret };
    },

    /**
     * Changes url, events, description or enabled. Enabling a disabled subscription starts
     * its health afresh; it then receives new events (not those missed while disabled:
     * replay them from the delivery log).
     */
    async update(workspaceId: string, id: string, patch: WebhookPatch): Promise<WebhookSubscription> {
      if (patch.url !== undefined) await assertPublicTarget(patch.url, await allowPrivate(workspaceId));
      return database.writes.run(async (trx) => {
        const current = await find(trx, workspaceId, id, lock);
        const now = clock();
        const next: SigningSubscription = {
          ...current,
          url: patch.url ?? current.url,
          events: patch.events ? normaliseEvents(patch.events) : current.events,
          description: patch.description !== undefined ? patch.description : current.description,
          updatedAt: now,
        };
        if (patch.enabled === true && !current.enabled) {
          next.enabled = true;
          next.disabledReason = null;
          next.disabledAt = null;
          next.health = { ...current.health, failingSince: null, consecutiveFailures: 0 };
        } else if (patch.enabled === false && current.enabled) {
          next.enabled = false;
          next.disabledReason = 'disabled through the API';
          next.disabledAt = now;
        }
        await store.updateSubscription(trx, workspaceId, next);
        await changedIn(trx, workspaceId);
        return store.withoutSecrets(next);
      });
    },

    /** Deletes a subscription and its delivery log; its queued deliveries are dropped when they run. */
    async remove(workspaceId: string, id: string): Promise<void> {
      const removed = await database.writes.run(async (trx) => {
        const deleted = await store.deleteSubscription(trx, workspaceId, id);
        await changedIn(trx, workspaceId);
        return deleted;
      });
      if (!removed) throw notFound(id);
    },

    /**
     * A new signing secret, returned once. The previous one keeps signing beside it for
     * SECRET_ROTATION_GRACE_MS (both signatures are sent), so receivers can switch without
     * losing a message.
     */
    async rotateSecret(
      workspaceId: string,
      id: string,
    ): Promise<{ secret: string; previousValidUntil: number }> {
      const secret = newSecret();
      return database.writes.run(async (trx) => {
        const current = await find(trx, workspaceId, id, lock);
        const now = clock();
        const previousValidUntil = now + SECRET_ROTATION_GRACE_MS;
        await store.updateSecrets(
          trx,
          workspaceId,
          id,
          { secret, previousSecret: current.secret, previousSecretUntil: previousValidUntil },
          now,
        );
        return { secret, previousValidUntil };
      });
    },

    async deliveries(
      workspaceId: string,
      id: string,
      page: { before?: string | undefined; limit: number },
    ): Promise<Delivery[]> {
      await find(db, workspaceId, id);
      return store.listDeliveries(db, workspaceId, id, page);
    },

    /**
     * Sends a delivered (or failed) message again, with the same `webhook-id` so receivers
     * that already have it can tell, and a fresh retry schedule. Only to an enabled subscription.
     */
    async replay(workspaceId: string, id: string, deliveryId: string): Promise<QueuedDelivery> {
      return database.writes.run(async (trx) => {
        const sub = await find(trx, workspaceId, id);
        const delivery = await store.findDelivery(trx, workspaceId, id, deliveryId);
        if (!delivery)
          throw new DomainError('NOT_FOUND', `No delivery ${deliveryId} of webhook subscription ${id}.`);
        if (!sub.enabled)
          throw new DomainError(
            'CONFLICT',
            `Webhook subscription ${id} is disabled (${sub.disabledReason ?? 'no reason given'}); enable it first.`,
          );
        if (!(await store.messageExists(trx, workspaceId, delivery.messageId)))
          throw new DomainError(
            'NOT_FOUND',
            `The message of delivery ${deliveryId} is no longer kept (messages are pruned ${MESSAGE_RETENTION_MS / 86_400_000} days after their event): it cannot be sent again.`,
          );
        const [jobId] = await jobs.enqueueIn(trx, workspaceId, {
          kind: DELIVER_KIND,
          payload: { subscriptionId: id, messageId: delivery.messageId, trigger: 'replay' },
        });
        return { messageId: delivery.messageId, jobId: jobId ?? null };
      });
    },

    /**
     * Deletes delivery log lines DELIVERY_LOG_RETENTION_MS after their attempt and messages
     * MESSAGE_RETENTION_MS after their event was queued, in rounds; returns how many rows went.
     */
    async prune(workspaceIds: readonly string[]): Promise<number> {
      const now = clock();
      let deleted = 0;
      for (const workspaceId of workspaceIds) {
        for (const [prune, before] of [
          [store.pruneDeliveries, now - DELIVERY_LOG_RETENTION_MS],
          [store.pruneMessages, now - MESSAGE_RETENTION_MS],
        ] as const) {
          for (;;) {
            const round = await database.writes.run((trx) => prune(trx, workspaceId, before, PRUNE_CHUNK));
            deleted += round.deleted;
            if (!round.more) break;
          }
        }
      }
      return deleted;
    },

    /** Queues a `webhook.ping` to the subscription, enabled or not: one attempt, logged like any other. */
    async test(workspaceId: string, id: string): Promise<QueuedDelivery> {
      return database.writes.run(async (trx) => {
        await find(trx, workspaceId, id);
        const now = clock();
        const data = { subscriptionId: id, message: 'This is a test event from Leadline.' };
        const message: WebhookMessage = {
          id: newId(),
          eventType: PING_EVENT,
          leadId: null,
          data: {},
          body: messageBody(PING_EVENT, now, null, data),
          occurredAt: now,
        };
        await store.insertMessages(trx, workspaceId, [message], now);
        const [jobId] = await jobs.enqueueIn(trx, workspaceId, {
          kind: DELIVER_KIND,
          payload: { subscriptionId: id, messageId: message.id, trigger: 'test' },
          maxAttempts: 1,
        });
        return { messageId: message.id, jobId: jobId ?? null };
      });
    },
  };
}
