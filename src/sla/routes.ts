import Type from 'typebox';
import { validationError } from '../errors.ts';
import { parseTime } from '../http/cursor.ts';
import { ClientIdSchema, Nullable } from '../http/schemas.ts';
import type { HttpApp } from '../http/types.ts';
import { stages } from '../lifecycle/model.ts';
import { taskTypes } from '../tasks/model.ts';
import { policyJson } from './model.ts';
import type { SlaService } from './service.ts';
import type { SlaTimer } from './store.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
/** Longest period `/sla/metrics` covers. (366 days) */
const MAX_METRICS_RANGE_MS = 366 * 86_400_000;
const Minutes = Type.Number({ exclusiveMinimum: 0, maximum: 525_600 });

const Trigger = Type.Union([
  Type.Object(
    { temperature: Type.Union([Type.Literal('hot'), Type.Literal('warm')]) },
    { additionalProperties: false },
  ),
  Type.Object({ activity: Type.String({ maxLength: 64 }) }, { additionalProperties: false }),
  Type.Object({ stage: Type.Enum(stages) }, { additionalProperties: false }),
]);

const PolicyBody = Type.Object(
  {
    id: Type.Optional(ClientIdSchema),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    enabled: Type.Optional(Type.Boolean()),
    when: Type.Array(Type.Object({}, { additionalProperties: true }), { minItems: 1, maxItems: 20 }),
    within: Type.Object(
      {
        minutes: Type.Optional(Minutes),
        hours: Type.Optional(Minutes),
        businessMinutes: Type.Optional(Minutes),
        businessHours: Type.Optional(Minutes),
      },
      { additionalProperties: false },
    ),
    warnBeforeMinutes: Type.Optional(Nullable(Minutes)),
    onBreach: Type.Optional(
      Type.Object(
        { notifyManager: Type.Optional(Type.Boolean()), reassign: Type.Optional(Type.Boolean()) },
        { additionalProperties: false },
      ),
    ),
    task: Type.Optional(
      Nullable(Type.Object({ type: Type.String({ maxLength: 40 }) }, { additionalProperties: false })),
    ),
  },
  { additionalProperties: false },
);

const PolicySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  enabled: Type.Boolean(),
  when: Type.Array(Trigger),
  within: Type.Object({
    minutes: Type.Optional(Type.Number()),
    businessMinutes: Type.Optional(Type.Number()),
  }),
  warnBeforeMinutes: Nullable(Type.Number()),
  onBreach: Type.Object({ notifyManager: Type.Boolean(), reassign: Type.Boolean() }),
  task: Nullable(Type.Object({ type: Type.Enum(taskTypes) })),
});
const Policies = Type.Object({ policies: Type.Array(PolicySchema) });

const TimerSchema = Type.Object({
  id: Type.String(),
  policyId: Type.String(),
  policy: Type.String(),
  ownerId: Nullable(Type.String()),
  trigger: Type.String(),
  status: Type.String(),
  startedAt: Type.String({ format: 'date-time' }),
  dueAt: Type.String({ format: 'date-time' }),
  metAt: Nullable(Type.String({ format: 'date-time' })),
  metBy: Nullable(Type.String()),
  breachedAt: Nullable(Type.String({ format: 'date-time' })),
  escalation: Nullable(
    Type.Object({ notified: Type.Array(Type.String()), reassignedTo: Nullable(Type.String()) }),
  ),
});

function timerJson(t: SlaTimer) {
  return {
    id: t.id,
    policyId: t.policyId,
    policy: t.policyName,
    ownerId: t.ownerId,
    trigger: t.trigger,
    status: t.status,
    startedAt: iso(t.startedAt)!,
    dueAt: iso(t.dueAt)!,
    metAt: iso(t.metAt),
    metBy: t.metBy,
    breachedAt: iso(t.breachedAt),
    escalation: t.escalation,
  };
}

function median(sorted: readonly number[]): number | null {
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

export function registerSlaRoutes(app: HttpApp, sla: SlaService, clock: () => number): void {
  const tags = ['sla'];

  app.get(
    '/api/v1/sla/policies',
    { schema: { tags, summary: 'Speed-to-lead SLA policies, in order', response: { 200: Policies } } },
    async (request) => ({ policies: (await sla.policies(request.principal.workspaceId)).map(policyJson) }),
  );

  app.put(
    '/api/v1/sla/policies',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Replace the SLA policies (send the whole list; keep ids to keep running timers)',
        body: Type.Object(
          { policies: Type.Array(PolicyBody, { maxItems: 50 }) },
          { additionalProperties: false },
        ),
        response: { 200: Policies },
      },
    },
    async (request) => ({
      policies: (
        await sla.replacePolicies(request.principal.workspaceId, request.body.policies as never)
      ).map(policyJson),
    }),
  );

  app.get(
    '/api/v1/leads/:id/sla',
    {
      schema: {
        tags,
        summary: "A lead's SLA status (pending/met/breached, due time), timers and time to first contact",
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: {
          200: Type.Object({
            status: Nullable(Type.String()),
            dueAt: Nullable(Type.String({ format: 'date-time' })),
            timeToFirstContactMs: Nullable(Type.Integer()),
            firstContact: Nullable(
              Type.Object({
                at: Type.String({ format: 'date-time' }),
                userId: Nullable(Type.String()),
                activityType: Type.String(),
              }),
            ),
            timers: Type.Array(TimerSchema),
          }),
        },
      },
    },
    async (request) => {
      const view = await sla.ofLead(request.principal.workspaceId, request.params.id);
      return {
        status: view.status,
        dueAt: iso(view.dueAt),
        timeToFirstContactMs: view.timeToFirstContactMs,
        firstContact: view.firstContact && {
          at: iso(view.firstContact.at)!,
          userId: view.firstContact.userId,
          activityType: view.firstContact.activityType,
        },
        timers: view.timers.map(timerJson),
      };
    },
  );

  app.get(
    '/api/v1/sla/metrics',
    {
      schema: {
        tags,
        summary:
          'SLA outcomes per policy and time to first contact over a period (default: the last 30 days)',
        querystring: Type.Object(
          {
            from: Type.Optional(Type.String({ maxLength: 40 })),
            to: Type.Optional(Type.String({ maxLength: 40 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            from: Type.String({ format: 'date-time' }),
            to: Type.String({ format: 'date-time' }),
            policies: Type.Array(
              Type.Object({
                policyId: Type.String(),
                policy: Type.String(),
                pending: Type.Integer(),
                met: Type.Integer(),
                breached: Type.Integer(),
                metRate: Nullable(Type.Number()),
              }),
            ),
            firstContact: Type.Object({
              leads: Type.Integer(),
              medianMs: Nullable(Type.Integer()),
              p90Ms: Nullable(Type.Integer()),
            }),
          }),
        },
      },
    },
    async (request) => {
      const to = request.query.to === undefined ? clock() : parseTime(request.query.to, '/query/to');
      const from =
        request.query.from === undefined
          ? to - 30 * 86_400_000
          : parseTime(request.query.from, '/query/from');
      // The metrics read one row per lead first touched in the period: a year at most.
      if (from > to || to - from > MAX_METRICS_RANGE_MS)
        throw validationError([
          { path: '/query/from', message: 'must be before `to`, and at most 366 days before it' },
        ]);
      const m = await sla.metrics(request.principal.workspaceId, from, to);
      const byPolicy = new Map<
        string,
        { policyId: string; policy: string; pending: number; met: number; breached: number }
      >();
      for (const row of m.statuses) {
        const entry = byPolicy.get(row.policyId) ?? {
          policyId: row.policyId,
          policy: row.policyName,
          pending: 0,
          met: 0,
          breached: 0,
        };
        if (row.status === 'pending' || row.status === 'met' || row.status === 'breached')
          entry[row.status] += row.n;
        byPolicy.set(row.policyId, entry);
      }
      const sorted = m.firstContactMs;
      return {
        from: iso(from)!,
        to: iso(to)!,
        policies: [...byPolicy.values()].map((p) => ({
          ...p,
          metRate: p.met + p.breached === 0 ? null : Math.round((p.met / (p.met + p.breached)) * 1000) / 1000,
        })),
        firstContact: {
          leads: sorted.length,
          medianMs: median(sorted),
          p90Ms:
            sorted.length === 0
              ? null
              : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))]!,
        },
      };
    },
  );
}
