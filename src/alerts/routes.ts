import Type from 'typebox';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import { Nullable, TargetUrlSchema } from '../http/schemas.ts';
import type { HttpApp } from '../http/types.ts';
import { describeFacts, triggerName } from './messages.ts';
import {
  type Alert,
  type AlertRule,
  alertStatuses,
  alertTriggerTypes,
  MAX_WITHIN_DAYS,
  webhookFormats,
} from './model.ts';
import type { AlertService } from './service.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** Requests take one object shape per trigger; the service checks which fields apply to which type. */
const TriggerInput = Type.Object(
  {
    type: Type.Enum(alertTriggerTypes),
    activity: Type.Optional(Type.String({ maxLength: 64, description: 'activity trigger: the event type' })),
    atLeast: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, description: 'activity trigger: count' }),
    ),
    withinDays: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 1,
          maximum: MAX_WITHIN_DAYS,
          description: 'activity trigger: window of the count',
        }),
      ),
    ),
    threshold: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 100,
        description: 'score_crossed trigger: lowest threshold that alerts',
      }),
    ),
  },
  { additionalProperties: false },
);

const ChannelInput = Type.Object(
  {
    type: Type.Union([Type.Literal('email'), Type.Literal('webhook')]),
    url: Type.Optional(TargetUrlSchema),
    format: Type.Optional(Type.Enum(webhookFormats)),
  },
  { additionalProperties: false },
);

const RuleFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  enabled: Type.Boolean(),
  trigger: TriggerInput,
  channels: Type.Array(ChannelInput, { minItems: 1, maxItems: 10 }),
  fallbackEmail: Nullable(Type.String({ maxLength: 254 })),
};

const RuleSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  enabled: Type.Boolean(),
  trigger: Type.Object({
    type: Type.Enum(alertTriggerTypes),
    activity: Type.Optional(Type.String()),
    atLeast: Type.Optional(Type.Integer()),
    withinDays: Type.Optional(Nullable(Type.Integer())),
    threshold: Type.Optional(Type.Number()),
  }),
  channels: Type.Array(
    Type.Object({
      type: Type.Union([Type.Literal('email'), Type.Literal('webhook')]),
      url: Type.Optional(Type.String()),
      format: Type.Optional(Type.Enum(webhookFormats)),
    }),
  ),
  fallbackEmail: Nullable(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

/** Webhook URLs (a Slack one is a secret) appear only in the admin rule routes; the log shows the host. */
const AlertSchema = Type.Object({
  id: Type.String(),
  ruleId: Type.String(),
  ruleName: Type.String(),
  leadId: Type.String(),
  trigger: Type.String({ description: 'the activity type, or became_hot, score_crossed, sla_warning' }),
  description: Type.String({ description: 'what happened, e.g. "viewed pricing 3 times in 7 days"' }),
  channel: Type.Object({
    type: Type.Union([Type.Literal('email'), Type.Literal('webhook')]),
    format: Type.Optional(Type.Enum(webhookFormats)),
  }),
  status: Type.Enum(alertStatuses),
  target: Nullable(Type.String({ description: 'recipients of an email, host of a webhook' })),
  error: Nullable(Type.String()),
  firedAt: Type.String({ format: 'date-time' }),
  sentAt: Nullable(Type.String({ format: 'date-time' })),
});

function ruleJson(rule: AlertRule) {
  return { ...rule, createdAt: iso(rule.createdAt), updatedAt: iso(rule.updatedAt) };
}

function alertJson(alert: Alert) {
  return {
    id: alert.id,
    ruleId: alert.ruleId,
    ruleName: alert.ruleName,
    leadId: alert.leadId,
    trigger: triggerName(alert.trigger),
    description: describeFacts(alert.trigger),
    channel:
      alert.channel.type === 'webhook'
        ? { type: 'webhook' as const, format: alert.channel.format }
        : { type: 'email' as const },
    status: alert.status,
    target: alert.target,
    error: alert.error,
    firedAt: iso(alert.firedAt),
    sentAt: alert.sentAt === null ? null : iso(alert.sentAt),
  };
}

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export function registerAlertRoutes(app: HttpApp, alerts: AlertService): void {
  const tags = ['alerts'];
  // Rules hold webhook URLs (secrets for Slack): every rule route needs an admin key.
  const admin = { scope: 'admin' as const };

  app.get(
    '/api/v1/alerts/rules',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Alert rules, oldest first (a new workspace starts with the default rules)',
        response: { 200: Type.Object({ data: Type.Array(RuleSchema) }) },
      },
    },
    async (request) => ({ data: (await alerts.listRules(request.principal.workspaceId)).map(ruleJson) }),
  );

  app.post(
    '/api/v1/alerts/rules',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Add an alert rule',
        body: Type.Object(
          {
            name: RuleFields.name,
            enabled: Type.Optional(RuleFields.enabled),
            trigger: RuleFields.trigger,
            channels: RuleFields.channels,
            fallbackEmail: Type.Optional(RuleFields.fallbackEmail),
          },
          { additionalProperties: false },
        ),
        response: { 201: RuleSchema },
      },
    },
    async (request, reply) => {
      const rule = await alerts.createRule(request.principal.workspaceId, request.body);
      return reply.status(201).send(ruleJson(rule));
    },
  );

  app.get(
    '/api/v1/alerts/rules/:id',
    {
      config: admin,
      schema: { tags, summary: 'One alert rule', params: IdParams, response: { 200: RuleSchema } },
    },
    async (request) => ruleJson(await alerts.getRule(request.principal.workspaceId, request.params.id)),
  );

  app.patch(
    '/api/v1/alerts/rules/:id',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Change an alert rule (trigger and channels are replaced whole)',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(RuleFields.name),
            enabled: Type.Optional(RuleFields.enabled),
            trigger: Type.Optional(RuleFields.trigger),
            channels: Type.Optional(RuleFields.channels),
            fallbackEmail: Type.Optional(RuleFields.fallbackEmail),
          },
          { additionalProperties: false },
        ),
        response: { 200: RuleSchema },
      },
    },
    async (request) =>
      ruleJson(await alerts.updateRule(request.principal.workspaceId, request.params.id, request.body)),
  );

  app.delete(
    '/api/v1/alerts/rules/:id',
    { config: admin, schema: { tags, summary: 'Delete an alert rule', params: IdParams } },
    async (request, reply) => {
      await alerts.deleteRule(request.principal.workspaceId, request.params.id);
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/v1/alerts',
    {
      schema: {
        tags,
        summary: 'The alerts log, newest first: what fired, for which lead, and where it went',
        querystring: Type.Object(
          {
            leadId: Type.Optional(Type.String({ maxLength: 64 })),
            ruleId: Type.Optional(Type.String({ maxLength: 64 })),
            status: Type.Optional(Type.Enum(alertStatuses)),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(
              Type.String({ maxLength: 200, description: 'nextCursor of the previous page' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ data: Type.Array(AlertSchema), nextCursor: Nullable(Type.String()) }),
        },
      },
    },
    async (request) => {
      const { leadId, ruleId, status, cursor } = request.query;
      const limit = request.query.limit ?? 50;
      const before = cursor === undefined ? undefined : decodeCursor('alerts', cursor);
      const list = await alerts.listAlerts(request.principal.workspaceId, {
        leadId,
        ruleId,
        status,
        limit,
        before,
      });
      const last = list[list.length - 1];
      return {
        data: list.map(alertJson),
        nextCursor: list.length === limit && last ? encodeCursor('alerts', last.firedAt, last.id) : null,
      };
    },
  );
}
