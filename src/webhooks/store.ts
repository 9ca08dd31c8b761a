import type { Kysely } from 'kysely';
import { parseJson, toJson } from '../db/json.ts';
import type { DB, WebhookDeliveryRow, WebhookMessageRow, WebhookSubscriptionRow } from '../db/schema.ts';
import type {
  Delivery,
  DeliveryTrigger,
  SigningSubscription,
  WebhookHealth,
  WebhookMessage,
  WebhookSubscription,
} from './model.ts';

const subscriptionColumns = [
  'id',
  'url',
  'events',
  'description',
  'enabled',
  'secret',
  'previous_secret',
  'previous_secret_until',
  'disabled_reason',
  'disabled_at',
  'last_success_at',
  'failing_since',
  'consecutive_failures',
  'created_at',
  'updated_at',
] as const;

type SubscriptionColumns = Pick<WebhookSubscriptionRow, (typeof subscriptionColumns)[number]>;

function toSubscription(row: SubscriptionColumns): SigningSubscription {
  return {
    id: row.id,
    url: row.url,
    events: parseJson<string[]>(row.events, []),
    description: row.description,
    enabled: Boolean(row.enabled),
    disabledReason: row.disabled_reason,
    disabledAt: row.disabled_at,
    health: {
      lastSuccessAt: row.last_success_at,
      failingSince: row.failing_since,
      consecutiveFailures: row.consecutive_failures,
    },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretUntil: row.previous_secret_until,
  };
}

/** The subscription without its secrets. */
export function withoutSecrets(sub: SigningSubscription): WebhookSubscription {
  const { secret: _s, previousSecret: _p, previousSecretUntil: _u, ...rest } = sub;
  return rest;
}

export async function insertSubscription(
  db: Kysely<DB>,
  workspaceId: string,
  sub: SigningSubscription,
): Promise<void> {
  await db
    .insertInto('webhook_subscriptions')
    .values({
      workspace_id: workspaceId,
      id: sub.id,
      url: sub.url,
      events: toJson(sub.events),
      description: sub.description,
      enabled: sub.enabled ? 1 : 0,
      secret: sub.secret,
      previous_secret: sub.previousSecret,
      previous_secret_until: sub.previousSecretUntil,
      disabled_reason: sub.disabledReason,
      disabled_at: sub.disabledAt,
      last_success_at: sub.health.lastSuccessAt,
      failing_since: sub.health.failingSince,
      consecutive_failures: sub.health.consecutiveFailures,
      created_at: sub.createdAt,
      updated_at: sub.updatedAt,
    })
    .execute();
}

/**
 * The subscription with its secrets; with `lock` (PostgreSQL, in a write that stores it back) the
 * row stays locked until the transaction ends, so another process's change waits instead of
 * being undone.
 */
export async function findSubscription(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  lock = false,
): Promise<SigningSubscription | undefined> {
  const select = db
    .selectFrom('webhook_subscriptions')
    .select(subscriptionColumns)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id);
  const row = await (lock ? select.forUpdate() : select).executeTakeFirst();
  return row && toSubscription(row);
}

export async function listSubscriptions(db: Kysely<DB>, workspaceId: string): Promise<SigningSubscription[]> {
  const rows = await db
    .selectFrom('webhook_subscriptions')
    .select(subscriptionColumns)
    .where('workspace_id', '=', workspaceId)
    .orderBy('id')
    .execute();
  return rows.map(toSubscription);
}

export async function countSubscriptions(db: Kysely<DB>, workspaceId: string): Promise<number> {
  const row = await db
    .selectFrom('webhook_subscriptions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Enabled subscriptions and the events they take: what the signal handler routes by. */
export async function listEnabledRoutes(
  db: Kysely<DB>,
  workspaceId: string,
): Promise<Array<{ id: string; events: string[] }>> {
  const rows = await db
    .selectFrom('webhook_subscriptions')
    .select(['id', 'events'])
    .where('workspace_id', '=', workspaceId)
    .where('enabled', '=', 1)
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ id: row.id, events: parseJson<string[]>(row.events, []) }));
}

/** Writes the fields a person edits, the enabled state and the health as given. */
export async function updateSubscription(
  db: Kysely<DB>,
  workspaceId: string,
  sub: SigningSubscription,
): Promise<void> {
  await db
    .updateTable('webhook_subscriptions')
    .set({
      url: sub.url,
      events: toJson(sub.events),
      description: sub.description,
      enabled: sub.enabled ? 1 : 0,
      disabled_reason: sub.disabledReason,
      disabled_at: sub.disabledAt,
      last_success_at: sub.health.lastSuccessAt,
      failing_since: sub.health.failingSince,
      consecutive_failures: sub.health.consecutiveFailures,
      updated_at: sub.updatedAt,
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', sub.id)
    .execute();
}

export async function updateSecrets(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  secrets: { secret: string; previousSecret: string | null; previousSecretUntil: number | null },
  now: number,
): Promise<void> {
  await db
    .updateTable('webhook_subscriptions')
    .set({
      secret: secrets.secret,
      previous_secret: secrets.previousSecret,
      previous_secret_until: secrets.previousSecretUntil,
      updated_at: now,
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

/** Deletes a subscription and its delivery log; false when there was none. */
export async function deleteSubscription(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('webhook_subscriptions')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  await db
    .deleteFrom('webhook_deliveries')
    .where('workspace_id', '=', workspaceId)
    .where('subscription_id', '=', id)
    .execute();
  return Number(result.numDeletedRows) > 0;
}

/** A success: the failure streak ends. */
export async function recordSuccess(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  now: number,
): Promise<void> {
  await db
    .updateTable('webhook_subscriptions')
    .set({ last_success_at: now, failing_since: null, consecutive_failures: 0 })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

/**
 * A failed attempt, counted in SQL (concurrent deliveries to one subscription each add one);
 * returns the health after it, or undefined when the subscription is gone.
 */
export async function recordFailure(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  now: number,
): Promise<WebhookHealth | undefined> {
  await db
    .updateTable('webhook_subscriptions')
    .set((eb) => ({
      failing_since: eb.fn.coalesce('failing_since', eb.val(now)),
      consecutive_failures: eb('consecutive_failures', '+', 1),
    }))
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
  const row = await db
    .selectFrom('webhook_subscriptions')
    .select(['last_success_at', 'failing_since', 'consecutive_failures'])
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return (
    row && {
      lastSuccessAt: row.last_success_at,
      failingSince: row.failing_since,
      consecutiveFailures: row.consecutive_failures,
    }
  );
}

export async function disableSubscription(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  reason: string,
  now: number,
): Promise<void> {
  await db
    .updateTable('webhook_subscriptions')
    .set({ enabled: 0, disabled_reason: reason, disabled_at: now, updated_at: now })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('enabled', '=', 1)
    .execute();
}

/** Rows per insert statement (8 columns each: far below either engine's parameter limit). */
const MESSAGE_CHUNK = 500;

export async function insertMessages(
  db: Kysely<DB>,
  workspaceId: string,
  messages: readonly WebhookMessage[],
  now: number,
): Promise<void> {
  for (let i = 0; i < messages.length; i += MESSAGE_CHUNK) {
    await db
      .insertInto('webhook_messages')
      .values(
        messages.slice(i, i + MESSAGE_CHUNK).map((m) => ({
          workspace_id: workspaceId,
          id: m.id,
          event_type: m.eventType,
          lead_id: m.leadId,
          data: toJson(m.data),
          body: m.body,
          occurred_at: m.occurredAt,
          created_at: now,
        })),
      )
      .execute();
  }
}

function toMessage(row: Omit<WebhookMessageRow, 'workspace_id' | 'created_at'>): WebhookMessage {
  return {
    id: row.id,
    eventType: row.event_type,
    leadId: row.lead_id,
    data: parseJson<Record<string, unknown>>(row.data, {}),
    body: row.body,
    occurredAt: row.occurred_at,
  };
}

export async function findMessage(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
): Promise<WebhookMessage | undefined> {
  const row = await db
    .selectFrom('webhook_messages')
    .select(['id', 'event_type', 'lead_id', 'data', 'body', 'occurred_at'])
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toMessage(row);
}

export async function messageExists(db: Kysely<DB>, workspaceId: string, id: string): Promise<boolean> {
  const row = await db
    .selectFrom('webhook_messages')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Stores a rendered body unless another delivery of the message stored one first; returns the
 * body that stands, so every subscription and every retry sends the same bytes.
 */
export async function settleMessageBody(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  body: string,
): Promise<string> {
  await db
    .updateTable('webhook_messages')
    .set({ body })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('body', 'is', null)
    .execute();
  const row = await db
    .selectFrom('webhook_messages')
    .select('body')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row?.body ?? body;
}

const deliveryColumns = [
  'id',
  'subscription_id',
  'message_id',
  'event_type',
  'trigger',
  'attempt',
  'attempted_at',
  'succeeded',
  'status_code',
  'duration_ms',
  'error',
  'response',
  'next_retry_at',
] as const;

function toDelivery(row: Omit<WebhookDeliveryRow, 'workspace_id'>): Delivery {
  return {
    id: row.id,
    subscriptionId: row.subscription_id,
    messageId: row.message_id,
    eventType: row.event_type,
    trigger: row.trigger as DeliveryTrigger,
    attempt: row.attempt,
    attemptedAt: row.attempted_at,
    succeeded: Boolean(row.succeeded),
    statusCode: row.status_code,
    durationMs: row.duration_ms,
    error: row.error,
    response: row.response,
    nextRetryAt: row.next_retry_at,
  };
}

export async function insertDelivery(db: Kysely<DB>, workspaceId: string, d: Delivery): Promise<void> {
  await db
    .insertInto('webhook_deliveries')
    .values({
      workspace_id: workspaceId,
      id: d.id,
      subscription_id: d.subscriptionId,
      message_id: d.messageId,
      event_type: d.eventType,
      trigger: d.trigger,
      attempt: d.attempt,
      attempted_at: d.attemptedAt,
      succeeded: d.succeeded ? 1 : 0,
      status_code: d.statusCode,
      duration_ms: d.durationMs,
      error: d.error,
      response: d.response,
      next_retry_at: d.nextRetryAt,
    })
    .execute();
}

/** A subscription's delivery log, newest first; `before`: the last id of the previous page. */
export async function listDeliveries(
  db: Kysely<DB>,
  workspaceId: string,
  subscriptionId: string,
  page: { before?: string | undefined; limit: number },
): Promise<Delivery[]> {
  let query = db
    .selectFrom('webhook_deliveries')
    .select(deliveryColumns)
    .where('workspace_id', '=', workspaceId)
    .where('subscription_id', '=', subscriptionId)
    .orderBy('id', 'desc')
    .limit(page.limit);
  if (page.before) query = query.where('id', '<', page.before);
  return (await query.execute()).map(toDelivery);
}

export async function findDelivery(
  db: Kysely<DB>,
  workspaceId: string,
  subscriptionId: string,
  id: string,
): Promise<Delivery | undefined> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select(deliveryColumns)
    .where('workspace_id', '=', workspaceId)
    .where('subscription_id', '=', subscriptionId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toDelivery(row);
}

/** When the subscription's latest logged attempt was made (epoch ms); undefined: never. */
export async function lastAttemptAt(
  db: Kysely<DB>,
  workspaceId: string,
  subscriptionId: string,
): Promise<number | undefined> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select('attempted_at')
    .where('workspace_id', '=', workspaceId)
    .where('subscription_id', '=', subscriptionId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.attempted_at;
}

/*
 * Pruning. Neither table has an index on its time column; both are read oldest first through
 * their primary key instead, whose UUIDv7 ids are time-ordered: a round reads `limit` rows,
 * deletes those past their time, and is the last when it met one that is not (the rest are
 * younger). No table scan, and no index to maintain on every insert for an hourly job.
 */

/** The outcome of one pruning round: rows deleted, and whether the next round may find more. */
export interface PruneRound {
  deleted: number;
  more: boolean;
}

/** Deletes the oldest delivery log lines attempted before `before`, reading at most `limit`. */
export async function pruneDeliveries(
  db: Kysely<DB>,
  workspaceId: string,
  before: number,
  limit: number,
): Promise<PruneRound> {
  const rows = await db
    .selectFrom('webhook_deliveries')
    .select(['id', 'attempted_at'])
    .where('workspace_id', '=', workspaceId)
    .orderBy('id')
    .limit(limit)
    .execute();
  const expired = rows.filter((r) => r.attempted_at < before).map((r) => r.id);
  if (expired.length > 0)
    await db
      .deleteFrom('webhook_deliveries')
      .where('workspace_id', '=', workspaceId)
      .where('id', 'in', expired)
      .execute();
  return { deleted: expired.length, more: rows.length === limit && expired.length === rows.length };
}

/** Deletes the oldest messages queued before `before`, reading at most `limit`. */
export async function pruneMessages(
  db: Kysely<DB>,
  workspaceId: string,
  before: number,
  limit: number,
): Promise<PruneRound> {
  const rows = await db
    .selectFrom('webhook_messages')
    .select(['id', 'created_at'])
    .where('workspace_id', '=', workspaceId)
    .orderBy('id')
    .limit(limit)
    .execute();
  const expired = rows.filter((r) => r.created_at < before).map((r) => r.id);
  if (expired.length > 0)
    await db
      .deleteFrom('webhook_messages')
      .where('workspace_id', '=', workspaceId)
      .where('id', 'in', expired)
      .execute();
  return { deleted: expired.length, more: rows.length === limit && expired.length === rows.length };
}
