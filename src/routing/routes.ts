import Type from 'typebox';
import { validationError } from '../errors.ts';
import { sendIdempotent } from '../http/idempotent-write.ts';
import { ClientIdSchema, Nullable } from '../http/schemas.ts';
import type { HttpApp } from '../http/types.ts';
import type { IdempotencyService } from '../idempotency/service.ts';
import { LeadSchema, leadJson } from '../leads/json.ts';
import { ConditionsSchema } from '../scoring/conditions.ts';
import { regions } from '../scoring/regions.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import { MAX_RULES, type RoutingConfig, type RoutingRule, type RuleInput, strategyTypes } from './model.ts';
import type { AssignmentCause, RoutingService } from './service.ts';

export interface RoutingRouteDeps {
  routing: RoutingService;
  workspaces: WorkspaceService;
  idempotency: IdempotencyService;
}

const Problem = Type.Object({}, { additionalProperties: true });
const Id = Type.String({ minLength: 1, maxLength: 64 });
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
});

const TerritorySchema = Type.Object(
  {
    countries: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 300 })),
    regions: Type.Optional(
      Type.Array(Type.String({ maxLength: 20 }), {
        maxItems: regions.length,
        description: regions.join(', '),
      }),
    ),
    userId: Type.Optional(Id),
    teamId: Type.Optional(Id),
  },
  { additionalProperties: false },
);

const StrategySchema = Type.Object(
  {
    type: Type.Enum(strategyTypes),
    userId: Type.Optional(Id),
    teamId: Type.Optional(Id),
    territories: Type.Optional(Type.Array(TerritorySchema, { minItems: 1, maxItems: 100 })),
  },
  {
    additionalProperties: false,
    description:
      'owner: {userId}; round_robin: {teamId}; territory: {territories: [{countries|regions, userId|teamId}]}; account: {}',
  },
);

/** A rule as PUT takes it and GET gives it back (so a GET can be edited and PUT as it is). */
const RuleSchema = Type.Object(
  {
    id: Type.Optional(ClientIdSchema),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    enabled: Type.Optional(Type.Boolean()),
    when: Type.Optional(ConditionsSchema),
    strategy: StrategySchema,
  },
  { additionalProperties: false },
);

const RulesSchema = Type.Object({
  rules: Type.Array(RuleSchema),
  updatedAt: Nullable(Type.String({ format: 'date-time' })),
});

const SettingsSchema = Type.Object({
  fallbackOwnerId: Nullable(Type.String()),
  updatedAt: Nullable(Type.String({ format: 'date-time' })),
});

const DecisionSchema = Type.Object({
  ownerId: Nullable(Type.String()),
  ruleId: Nullable(Type.String()),
  ruleName: Nullable(Type.String()),
  strategy: Nullable(Type.String()),
  reason: Type.String(),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A rule without its null parts: what PUT accepts. */
function ruleJson(rule: RoutingRule) {
  const s = rule.strategy;
  const strategy =
    s.type === 'territory'
      ? {
          type: s.type,
          territories: s.territories.map((t) => ({
            ...(t.countries.length > 0 ? { countries: t.countries } : {}),
            ...(t.regions.length > 0 ? { regions: t.regions } : {}),
            ...(t.userId !== null ? { userId: t.userId } : {}),
            ...(t.teamId !== null ? { teamId: t.teamId } : {}),
          })),
        }
      : s;
  return {
    id: rule.id,
    name: rule.name,
    enabled: rule.enabled,
    ...(rule.when ? { when: rule.when } : {}),
    strategy,
  };
}

const rulesJson = (config: RoutingConfig) => ({
  rules: config.rules.map(ruleJson),
  updatedAt: iso(config.updatedAt),
});

const settingsJson = (config: RoutingConfig) => ({
  fallbackOwnerId: config.fallbackOwnerId,
  updatedAt: iso(config.updatedAt),
});

export function registerRoutingRoutes(
  app: HttpApp,
  { routing, workspaces, idempotency }: RoutingRouteDeps,
): void {
  const tags = ['routing'];

  app.get(
    '/api/v1/routing/rules',
    {
      schema: {
        tags,
        summary: 'The ordered routing rules',
        response: { 200: RulesSchema, '4xx': Problem },
      },
    },
    async (request) => rulesJson(await routing.config(request.principal.workspaceId)),
  );

  app.put(
    '/api/v1/routing/rules',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Replace the ordered routing rules',
        description:
          'Rules run in order; the first whose conditions (`when`, all must hold) match and whose strategy ' +
          "finds someone available assigns the lead. Keep a rule's `id` to keep its round-robin turn.",
        body: Type.Object(
          { rules: Type.Array(RuleSchema, { maxItems: MAX_RULES }) },
          { additionalProperties: false },
        ),
        response: { 200: RulesSchema, '4xx': Problem },
      },
    },
    async (request) =>
      rulesJson(await routing.putRules(request.principal.workspaceId, request.body.rules as RuleInput[])),
  );

  app.get(
    '/api/v1/routing/settings',
    {
      schema: {
        tags,
        summary: 'Routing settings: the fallback owner',
        response: { 200: SettingsSchema, '4xx': Problem },
      },
    },
    async (request) => settingsJson(await routing.config(request.principal.workspaceId)),
  );

  app.put(
    '/api/v1/routing/settings',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Set the fallback owner (null: leads no rule places stay unassigned)',
        body: Type.Object({ fallbackOwnerId: Nullable(Id) }, { additionalProperties: false }),
        response: { 200: SettingsSchema, '4xx': Problem },
      },
    },
    async (request) => settingsJson(await routing.putSettings(request.principal.workspaceId, request.body)),
  );

  app.post(
    '/api/v1/leads/:id/assign',
    {
      schema: {
        tags,
        summary: 'Give a lead to someone, or run the routing rules for it again',
        description:
          '`{"ownerId": …}` assigns by hand (with `byUserId`, recorded as that user\'s decision); ' +
          '`{"route": true}` runs the rules and the fallback again (when nobody is found the lead keeps its ' +
          'owner; `decision.reason` says why). Both are recorded on the timeline. Honours Idempotency-Key.',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            ownerId: Type.Optional(Id),
            route: Type.Optional(Type.Boolean()),
            reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
            byUserId: Type.Optional(Id),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ lead: LeadSchema, decision: DecisionSchema }), '4xx': Problem },
      },
    },
    async (request, reply) => {
      const { ownerId, route, reason, byUserId } = request.body;
      if (route === true && ownerId !== undefined)
        throw validationError([{ path: '/route', message: 'cannot be given with ownerId' }]);
      if (route !== true && ownerId === undefined)
        throw validationError([{ path: '/ownerId', message: 'is required unless route is true' }]);
      if (route === true && byUserId !== undefined)
        throw validationError([{ path: '/byUserId', message: 'is only for an assignment by hand' }]);
      const workspace = await workspaces.getWorkspace(request.principal.workspaceId);
      return sendIdempotent(request, reply, idempotency, async (trx) => {
        if (ownerId === undefined) {
          const { lead, score, decision } = await routing.routeIn(trx, workspace, request.params.id);
          return { status: 200, body: { lead: leadJson(lead, score), decision } };
        }
        const cause: AssignmentCause = {
          kind: byUserId === undefined ? 'api' : 'user',
          reason,
          byUserId,
        };
        const { lead, score } = await routing.assignManuallyIn(
          trx,
          workspace,
          request.params.id,
          ownerId,
          cause,
        );
        const decision = {
          ownerId,
          ruleId: null,
          ruleName: null,
          strategy: null,
          reason: reason ?? 'assigned by hand',
        };
        return { status: 200, body: { lead: leadJson(lead, score), decision } };
      });
    },
  );
}
