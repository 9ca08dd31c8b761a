import Type from 'typebox';
import { decodeIdCursor } from '../http/cursor.ts';
import { TargetUrlSchema } from '../http/schemas.ts';
import type { HttpApp } from '../http/types.ts';
import { type Delivery, deliveryTriggers, type WebhookSubscription, webhookEventTypes } from './model.ts';
import type { WebhookService } from './service.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const NullableTime = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

const EventName = Type.Union([Type.Literal('*'), Type.Enum(webhookEventTypes)]);
const Events = Type.Array(EventName, {
  minItems: 1,
  maxItems: 20,
  description: 'Event types to receive; ["*"] for all. Repeats are ignored.',
});
const Url = TargetUrlSchema;
const Description = Type.String({ maxLength: 500 });

const SubscriptionSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: NullableString,
  enabled: Type.Boolean(),
  disabledReason: NullableString,
  disabledAt: NullableTime,
  lastSuccessAt: NullableTime,
  failingSince: NullableTime,
  consecutiveFailures: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

const DeliverySchema = Type.Object({
  id: Type.String(),
  messageId: Type.String({ description: 'The webhook-id header: the same on retries and replays.' }),
  eventType: Type.String(),
  trigger: Type.Enum(deliveryTriggers),
  attempt: Type.Integer(),
  attemptedAt: Type.String({ format: 'date-time' }),
  succeeded: Type.Boolean(),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  durationMs: Type.Integer(),
  error: NullableString,
  response: NullableString,
  nextRetryAt: NullableTime,
});

const QueuedSchema = Type.Object({
  messageId: Type.String(),
  jobId: NullableString,
});

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

function subscriptionJson(sub: WebhookSubscription) {
  return {
    id: sub.id,
    url: sub.url,
    events: sub.events,
    description: sub.description,
    enabled: sub.enabled,
    disabledReason: sub.disabledReason,
    disabledAt: iso(sub.disabledAt),
    lastSuccessAt: iso(sub.health.lastSuccessAt),
    failingSince: iso(sub.health.failingSince),
    consecutiveFailures: sub.health.consecutiveFailures,
    createdAt: iso(sub.createdAt)!,
    updatedAt: iso(sub.updatedAt)!,
  };
}

function deliveryJson(d: Delivery) {
  return {
    id: d.id,
    messageId: d.messageId,
    eventType: d.eventType,
    trigger: d.trigger,
    attempt: d.attempt,
    attemptedAt: iso(d.attemptedAt)!,
    succeeded: d.succeeded,
    statusCode: d.statusCode,
    durationMs: d.durationMs,
    error: d.error,
    response: d.response,
    nextRetryAt: iso(d.nextRetryAt),
  };
}

/** Webhook subscriptions are configuration and hold signing secrets: admin keys only. */
export function registerWebhookRoutes(app: HttpApp, webhooks: WebhookService): void {
  const tags = ['webhooks'];
  const config = { scope: 'admin' as const };

  app.get(
    '/api/v1/webhooks',
    {
      config,
      schema: {
        tags,
        summary: 'List webhook subscriptions',
        response: { 200: Type.Object({ data: Type.Array(SubscriptionSchema) }) },
      },
    },
    async (request) => ({
      data: (await webhooks.list(request.principal.workspaceId)).map(subscriptionJson),
    }),
  );

  app.post(
    '/api/v1/webhooks',
    {
      config,
      schema: {
        tags,
        summary: 'Subscribe a URL to events; the signing secret is shown only in this response',
        body: Type.Object(
          {
            url: Url,
            events: Events,
            description: Type.Optional(Description),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            subscription: SubscriptionSchema,
            secret: Type.String({ description: 'whsec_… (Standard Webhooks): verify signatures with it' }),
          }),
        },
      },
    },
    async (request, reply) => {
      const { subscription, secret } = await webhooks.create(request.principal.workspaceId, request.body);
      return reply.status(201).send({ subscription: subscriptionJson(subscription), secret });
    },
  );

  app.get(
    '/api/v1/webhooks/:id',
    {
      config,
      schema: {
        tags,
        summary: 'One webhook subscription',
        params: IdParams,
        response: { 200: SubscriptionSchema },
      },
    },
    async (request) => subscriptionJson(await webhooks.get(request.principal.workspaceId, request.params.id)),
  );

  app.patch(
    '/api/v1/webhooks/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Change a subscription; enabled: true re-enables a disabled one',
        params: IdParams,
        body: Type.Object(
          {
            url: Type.Optional(Url),
            events: Type.Optional(Events),
            description: Type.Optional(Type.Union([Description, Type.Null()])),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 200: SubscriptionSchema },
      },
    },
    async (request) =>
      subscriptionJson(await webhooks.update(request.principal.workspaceId, request.params.id, request.body)),
  );

  app.delete(
    '/api/v1/webhooks/:id',
    {
      config,
      schema: { tags, summary: 'Delete a subscription and its delivery log', params: IdParams },
    },
    async (request, reply) => {
      await webhooks.remove(request.principal.workspaceId, request.params.id);
      return reply.status(204).send();
    },
  );

  app.post(
    '/api/v1/webhooks/:id/rotate-secret',
    {
      config,
      schema: {
        tags,
        summary: 'New signing secret (shown once); the old one keeps signing beside it for 24 h',
        params: IdParams,
        response: {
          200: Type.Object({
            secret: Type.String(),
            previousSecretValidUntil: Type.String({ format: 'date-time' }),
          }),
        },
      },
    },
    async (request) => {
      const { secret, previousValidUntil } = await webhooks.rotateSecret(
        request.principal.workspaceId,
        request.params.id,
      );
      return { secret, previousSecretValidUntil: iso(previousValidUntil)! };
    },
  );

  app.get(
    '/api/v1/webhooks/:id/deliveries',
    {
      config,
      schema: {
        tags,
        summary: 'Delivery log of a subscription: one entry per attempt, newest first',
        params: IdParams,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(
              Type.String({ maxLength: 64, description: 'nextCursor of the previous page' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ data: Type.Array(DeliverySchema), nextCursor: NullableString }),
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const list = await webhooks.deliveries(request.principal.workspaceId, request.params.id, {
        before: decodeIdCursor(request.query.cursor),
        limit,
      });
      return {
        data: list.map(deliveryJson),
        nextCursor: list.length === limit ? list[list.length - 1]!.id : null,
      };
    },
  );

  app.post(
    '/api/v1/webhooks/:id/deliveries/:deliveryId/replay',
    {
      config,
      schema: {
        tags,
        summary: "Send a delivery's message again (same webhook-id), with a fresh retry schedule",
        params: Type.Object({
          id: Type.String({ maxLength: 64 }),
          deliveryId: Type.String({ maxLength: 64 }),
        }),
        response: { 202: QueuedSchema },
      },
    },
    async (request, reply) => {
      const queued = await webhooks.replay(
        request.principal.workspaceId,
        request.params.id,
        request.params.deliveryId,
      );
      return reply.status(202).send(queued);
    },
  );

  app.post(
    '/api/v1/webhooks/:id/test',
    {
      config,
      schema: {
        tags,
        summary: 'Send a webhook.ping event (one attempt; see the delivery log for the answer)',
        params: IdParams,
        response: { 202: QueuedSchema },
      },
    },
    async (request, reply) => {
      const queued = await webhooks.test(request.principal.workspaceId, request.params.id);
      return reply.status(202).send(queued);
    },
  );
}
