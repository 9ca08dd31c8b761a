import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Transaction } from 'kysely';
import Type from 'typebox';
import type { DB } from '../db/schema.ts';
import { parseTime } from '../http/cursor.ts';
import { sendIdempotent } from '../http/idempotent-write.ts';
import type { HttpApp } from '../http/types.ts';
import type { IdempotencyService } from '../idempotency/service.ts';
import { iso, LeadSchema, leadJson } from '../leads/json.ts';
import type { RescoreService } from '../scoring/rescore.ts';
import { ProgressSchema, progressJson } from '../scoring/routes.ts';
import type { LifecycleSettings, Workspace } from '../workspaces/model.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import { stages } from './model.ts';
import { criterionStatuses, frameworks, QualificationInputSchema } from './qualification.ts';
import type { LifecycleService, QualificationView, ScoredLead } from './service.ts';
import { recycleStages, rejectionReasons } from './transitions.ts';

export interface LifecycleRouteDeps {
  lifecycle: LifecycleService;
  rescore: RescoreService;
  workspaces: WorkspaceService;
  idempotency: IdempotencyService;
}

const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
});
const Problem = Type.Object({}, { additionalProperties: true });
const Note = Type.Optional(Nullable(Type.String({ maxLength: 2000 })));
const Reason = Type.String({ minLength: 1, maxLength: 500 });
const Money = Type.Optional(Nullable(Type.Number()));

/** A settings part: validated by its parser (422 naming the field), so any object passes the schema. */
const Document = (description: string) => Type.Object({}, { additionalProperties: true, description });
const SettingsParts = {
  stageRules: Document('Automatic stage moves and flags (lifecycle/stage-rules.ts).'),
  temperature: Document('High-intent activities and the hot and warm thresholds.'),
  qualification: Document('BANT or CHAMP, and how many (and which) criteria make a lead qualified.'),
};
const SettingsSchema = Type.Object(SettingsParts);

const OpportunityBody = Type.Object(
  {
    amount: Money,
    currency: Type.Optional(Nullable(Type.String({ maxLength: 16 }))),
    expectedCloseDate: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
  },
  { additionalProperties: false },
);

const CriterionSchema = Type.Object({
  status: Type.Enum(criterionStatuses),
  value: Nullable(Type.Union([Type.String(), Type.Number()])),
  note: Nullable(Type.String()),
  by: Nullable(Type.String()),
  at: Nullable(Type.String({ format: 'date-time' })),
});

const QualificationProperties = {
  framework: Type.Enum(frameworks),
  rule: Type.Object({
    framework: Type.Enum(frameworks),
    minConfirmed: Type.Integer(),
    required: Type.Array(Type.String()),
  }),
  criteria: Type.Record(Type.String(), CriterionSchema),
  summary: Type.Object({
    confirmed: Type.Integer(),
    rejected: Type.Integer(),
    unknown: Type.Integer(),
    answered: Type.Boolean(),
    qualified: Type.Boolean(),
  }),
  prospect: Type.Boolean(),
};

function qualificationJson(view: QualificationView) {
  return {
    ...view,
    criteria: Object.fromEntries(
      Object.entries(view.criteria).map(([name, c]) => [
        name,
        { ...c, at: c.at === null ? null : iso(c.at) },
      ]),
    ),
  };
}

const StageEnum = Type.Enum(stages);
const StagesSchema = Type.Object({
  leadId: Type.String(),
  stage: StageEnum,
  stageChangedAt: Type.String({ format: 'date-time' }),
  at: Type.String({ format: 'date-time' }),
  changes: Type.Array(
    Type.Object({
      id: Type.String(),
      from: Nullable(StageEnum),
      to: StageEnum,
      at: Type.String({ format: 'date-time' }),
      causeKind: Type.String(),
      cause: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
  periods: Type.Array(
    Type.Object({
      stage: StageEnum,
      enteredAt: Type.String({ format: 'date-time' }),
      exitedAt: Nullable(Type.String({ format: 'date-time' })),
      durationMs: Type.Integer(),
    }),
  ),
  totals: Type.Array(Type.Object({ stage: StageEnum, durationMs: Type.Integer(), stays: Type.Integer() })),
});

const MetricsSchema = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  salesAccepted: Type.Integer(),
  salesRejected: Type.Integer(),
  acceptanceRate: Nullable(Type.Number()),
  rejectionReasons: Type.Record(Type.String(), Type.Integer()),
  timeInStage: Type.Array(
    Type.Object({ stage: StageEnum, exits: Type.Integer(), averageDays: Type.Number() }),
  ),
  salesCycle: Type.Object({
    customers: Type.Integer(),
    averageDays: Nullable(Type.Number()),
    medianDays: Nullable(Type.Number()),
  }),
});

/** Who made a change, as the history and the criteria record it. */
const byOf = (request: FastifyRequest) => `key:${request.principal.keyId}`;

const scoredJson = ({ lead, score }: ScoredLead) => leadJson(lead, score);

const settingsJson = (s: LifecycleSettings) => ({
  stageRules: s.stageRules,
  temperature: s.temperature,
  qualification: s.qualification,
});

export function registerLifecycleRoutes(
  app: HttpApp,
  { lifecycle, rescore, workspaces, idempotency }: LifecycleRouteDeps,
): void {
  const tags = ['lifecycle'];
  /** A change to one lead: its own transaction, under the request's Idempotency-Key. */
  const leadWrite = {
    tags,
    params: IdParams,
    headers: IdempotencyHeaders,
    response: { 200: LeadSchema, '4xx': Problem },
  };
  /**
   * Answers a move of one lead (`move`, given the request's workspace): run in its own transaction
   * under the request's Idempotency-Key, 200 with the lead scored at that moment.
   */
  const answerMove = async (
    request: FastifyRequest,
    reply: FastifyReply,
    move: (trx: Transaction<DB>, workspace: Workspace) => Promise<ScoredLead>,
  ) => {
    const workspace = await workspaces.getWorkspace(request.principal.workspaceId);
    return sendIdempotent(request, reply, idempotency, async (trx) => ({
      status: 200,
      body: scoredJson(await move(trx, workspace)),
    }));
  };
  /** POSTs whose fields are all optional are also sent with no body at all: that is `{}`. */
  const noBodyIsEmpty = async (request: FastifyRequest) => {
    if (request.body === undefined || request.body === null) request.body = {};
  };

  app.post(
    '/api/v1/leads/:id/accept',
    {
      preValidation: noBodyIsEmpty,
      schema: {
        ...leadWrite,
        summary: 'Sales accepts an MQL: it becomes an SQL',
        description: '409 STAGE_TRANSITION_INVALID unless the lead is an MQL. Honours Idempotency-Key.',
        body: Type.Object({ note: Note }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      return answerMove(request, reply, (trx, workspace) =>
        lifecycle.acceptIn(trx, workspace, request.params.id, request.body.note ?? null, byOf(request)),
      );
    },
  );

  app.post(
    '/api/v1/leads/:id/reject',
    {
      preValidation: noBodyIsEmpty,
      schema: {
        ...leadWrite,
        summary: 'Sales rejects an MQL with a reason code: back to nurture, or disqualified',
        description:
          'The MQL goes back to stage `lead` (nurture), or to `disqualified` with `disqualify: true`. ' +
          '409 STAGE_TRANSITION_INVALID unless the lead is an MQL. Honours Idempotency-Key.',
        body: Type.Object(
          { reason: Type.Enum(rejectionReasons), note: Note, disqualify: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { reason, note, disqualify } = request.body;
      return answerMove(request, reply, (trx, workspace) =>
        lifecycle.rejectIn(
          trx,
          workspace,
          request.params.id,
          { reason, note: note ?? null, disqualify: disqualify ?? false },
          byOf(request),
        ),
      );
    },
  );

  app.post(
    '/api/v1/leads/:id/flags',
    {
      schema: {
        ...leadWrite,
        summary: 'Set or clear the pql and serviceQualified flags',
        description:
          '`true` sets a flag, `false` clears it; a flag left out stays as it is, and one already as ' +
          'asked is left alone. Rules only ever set flags: once a person clears one, the activities ' +
          'before that moment (replayed by a rescore, or arriving late) do not set it again, a later ' +
          'one does. Recorded on the timeline (`flag_set`, `flag_cleared`) with who and the reason. ' +
          'Honours Idempotency-Key.',
        body: Type.Object(
          {
            pql: Type.Optional(Type.Boolean()),
            serviceQualified: Type.Optional(Type.Boolean()),
            reason: Type.Optional(Nullable(Reason)),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      return answerMove(request, reply, (trx, workspace) =>
        lifecycle.setFlagsIn(trx, workspace, request.params.id, request.body, byOf(request)),
      );
    },
  );

  app.post(
    '/api/v1/leads/:id/recycle',
    {
      preValidation: noBodyIsEmpty,
      schema: {
        ...leadWrite,
        summary: 'Send a lead back to nurture, with a reason (the only way backwards)',
        description:
          'To `lead` (default) or `subscriber`, from any later stage or from `disqualified`. 409 ' +
          'STAGE_TRANSITION_INVALID for a customer, for a lead with an open opportunity (close it as ' +
          'lost instead) and for a target that is not earlier. Honours Idempotency-Key.',
        body: Type.Object(
          { reason: Reason, stage: Type.Optional(Type.Enum(recycleStages)) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const input = { reason: request.body.reason, stage: request.body.stage ?? 'lead' };
      return answerMove(request, reply, (trx, workspace) =>
        lifecycle.recycleIn(trx, workspace, request.params.id, input, byOf(request)),
      );
    },
  );

  app.post(
    '/api/v1/leads/:id/opportunity',
    {
      preValidation: noBodyIsEmpty,
      schema: {
        ...leadWrite,
        summary: 'Open an opportunity (deal): the lead moves to stage `opportunity`',
        description:
          "`amount` in the currency's major unit with at most its decimals (12000.50 EUR, 12000 JPY), " +
          '`currency` ISO 4217 (EUR; required with an amount), ' +
          '`expectedCloseDate` YYYY-MM-DD. From any stage before `opportunity`; 409 STAGE_TRANSITION_INVALID for a ' +
          'customer, a disqualified lead, or a lead with an open opportunity. Honours Idempotency-Key.',
        body: OpportunityBody,
      },
    },
    async (request, reply) => {
      return answerMove(request, reply, (trx, workspace) =>
        lifecycle.openOpportunityIn(trx, workspace, request.params.id, request.body, byOf(request)),
      );
    },
  );

  app.patch(
    '/api/v1/leads/:id/opportunity',
    {
      schema: {
        ...leadWrite,
        summary: 'Change the open opportunity (null clears a field)',
        description:
          '409 STAGE_TRANSITION_INVALID when the lead has no open opportunity; 422 on /currency when ' +
          'the deal would keep an amount without a currency.',
        body: OpportunityBody,
      },
    },
    async (request, reply) => {
      return answerMove(request, reply, (trx, workspace) =>
        lifecycle.editOpportunityIn(trx, workspace, request.params.id, request.body, byOf(request)),
      );
    },
  );

  app.post(
    '/api/v1/leads/:id/opportunity/won',
    {
      preValidation: noBodyIsEmpty,
      schema: {
        ...leadWrite,
        summary: 'The opportunity is won: the lead becomes a customer',
        description:
          "`value` defaults to the opportunity's amount; it is in the deal's currency, or in " +
          '`currency` for a deal opened without one (a value needs a currency). Honours Idempotency-Key.',
        body: Type.Object(
          { value: Money, currency: Type.Optional(Nullable(Type.String({ maxLength: 16 }))) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      return answerMove(request, reply, (trx, workspace) =>
        lifecycle.winOpportunityIn(
          trx,
          workspace,
          request.params.id,
          { value: request.body.value ?? null, currency: request.body.currency ?? null },
          byOf(request),
        ),
      );
    },
  );

  app.post(
    '/api/v1/leads/:id/opportunity/lost',
    {
      preValidation: noBodyIsEmpty,
      schema: {
        ...leadWrite,
        summary: 'The opportunity is lost, with a reason: the lead goes back to nurture (`lead`)',
        description: 'Honours Idempotency-Key.',
        body: Type.Object({ reason: Reason }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      return answerMove(request, reply, (trx, workspace) =>
        lifecycle.loseOpportunityIn(trx, workspace, request.params.id, request.body.reason, byOf(request)),
      );
    },
  );

  app.get(
    '/api/v1/leads/:id/qualification',
    {
      schema: {
        tags,
        summary: "A lead's BANT or CHAMP criteria (the workspace's framework) and whether it is a prospect",
        params: IdParams,
        response: { 200: Type.Object(QualificationProperties), '4xx': Problem },
      },
    },
    async (request) => {
      const workspace = await workspaces.getWorkspace(request.principal.workspaceId);
      return qualificationJson(await lifecycle.qualification(workspace, request.params.id));
    },
  );

  app.put(
    '/api/v1/leads/:id/qualification',
    {
      schema: {
        tags,
        summary: 'Record BANT or CHAMP answers; the lead becomes an SQL when the rule then holds',
        description:
          'Each criterion given is replaced whole (status, value, note) and stamped with who and when; ' +
          "the others stay. Criteria must be of the workspace's framework (422 otherwise). Honours " +
          'Idempotency-Key.',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: QualificationInputSchema,
        response: { 200: Type.Object({ ...QualificationProperties, lead: LeadSchema }), '4xx': Problem },
      },
    },
    async (request, reply) => {
      const workspace = await workspaces.getWorkspace(request.principal.workspaceId);
      return sendIdempotent(request, reply, idempotency, async (trx) => {
        const result = await lifecycle.updateQualificationIn(
          trx,
          workspace,
          request.params.id,
          request.body,
          byOf(request),
        );
        return {
          status: 200,
          body: { ...qualificationJson(result.qualification), lead: scoredJson(result) },
        };
      });
    },
  );

  app.get(
    '/api/v1/leads/:id/stages',
    {
      schema: {
        tags,
        summary: "A lead's stage history, oldest first, and the time it spent in each stage",
        description:
          '`periods`: each stay in a stage (the first from when the lead was created; the last, ' +
          '`exitedAt: null`, up to now). `totals`: time per stage over all its stays, in ms.',
        params: IdParams,
        response: { 200: StagesSchema, '4xx': Problem },
      },
    },
    async (request) => {
      const view = await lifecycle.stages(request.principal.workspaceId, request.params.id);
      return {
        leadId: view.lead.id,
        stage: view.lead.stage,
        stageChangedAt: iso(view.lead.stageChangedAt),
        at: iso(view.at),
        changes: view.changes.map((c) => ({
          id: c.id,
          from: c.from,
          to: c.to,
          at: iso(c.at),
          causeKind: c.causeKind,
          cause: c.cause,
        })),
        periods: view.periods.map((p) => ({
          stage: p.stage,
          enteredAt: iso(p.enteredAt),
          exitedAt: p.exitedAt === null ? null : iso(p.exitedAt),
          durationMs: p.durationMs,
        })),
        totals: view.totals,
      };
    },
  );

  app.get(
    '/api/v1/lifecycle/metrics',
    {
      schema: {
        tags,
        summary: 'Sales acceptance rate, rejection reasons, time in stage and sales-cycle length',
        description:
          'Over [from, to) (ISO 8601 or epoch ms; default: the 30 days up to now). `timeInStage`: per ' +
          'stage left in the period, the moves out of it and the average stay before them (a first ' +
          "stage counts from the lead's creation). `salesCycle`: leads that became customers in the " +
          'period, days from creation.',
        querystring: Type.Object(
          {
            from: Type.Optional(Type.String({ maxLength: 40 })),
            to: Type.Optional(Type.String({ maxLength: 40 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: MetricsSchema, '4xx': Problem },
      },
    },
    async (request) => {
      const { from, to } = request.query;
      const metrics = await lifecycle.metrics(request.principal.workspaceId, {
        from: from === undefined ? undefined : parseTime(from, '/query/from'),
        to: to === undefined ? undefined : parseTime(to, '/query/to'),
      });
      return { ...metrics, from: iso(metrics.from), to: iso(metrics.to) };
    },
  );

  app.get(
    '/api/v1/lifecycle/settings',
    {
      schema: {
        tags,
        summary:
          "The workspace's stage rules, temperature thresholds and qualification rule (or the defaults)",
        response: { 200: SettingsSchema },
      },
    },
    async (request) =>
      settingsJson(lifecycle.settings(await workspaces.getWorkspace(request.principal.workspaceId))),
  );

  app.put(
    '/api/v1/lifecycle/settings',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Replace the stage rules, temperature thresholds and qualification rule',
        description:
          'All three parts, each validated (422 naming the field, e.g. /stageRules/moves/0/to; nothing ' +
          'is stored). Every lead is then rescored in the background (GET /api/v1/scoring/rescore ' +
          'reports progress): stages move forward and temperatures follow the new rules.',
        body: Type.Object(SettingsParts, { additionalProperties: false }),
        response: { 200: Type.Object({ ...SettingsParts, rescore: ProgressSchema }), '4xx': Problem },
      },
    },
    async (request) => {
      const workspace = await lifecycle.saveSettings(request.principal.workspaceId, request.body);
      return {
        ...settingsJson(lifecycle.settings(workspace)),
        rescore: progressJson(rescore.start(workspace)),
      };
    },
  );

  app.get(
    '/api/v1/lifecycle/presets',
    {
      schema: {
        tags,
        summary:
          'Starting points for a kind of business: scoring model, stage rules, temperature, qualification',
        response: {
          200: Type.Object({
            data: Type.Array(
              Type.Object({
                name: Type.String(),
                label: Type.String(),
                description: Type.String(),
                framework: Type.Enum(frameworks),
              }),
            ),
          }),
        },
      },
    },
    async () => ({
      data: lifecycle.presets().map((p) => ({
        name: p.name,
        label: p.label,
        description: p.description,
        framework: p.qualification.framework,
      })),
    }),
  );

  app.post(
    '/api/v1/lifecycle/presets/:name/apply',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: "Apply a preset: its scoring model as a new version, its rules as the workspace's settings",
        description:
          'The model version is created by `preset:<name>`; the previous versions stay. Every lead ' +
          'is then rescored in the background. 404 PRESET_NOT_FOUND for an unknown name.',
        params: Type.Object({ name: Type.String({ maxLength: 64 }) }),
        response: {
          200: Type.Object({
            preset: Type.String(),
            modelVersion: Type.Integer(),
            ...SettingsParts,
            rescore: ProgressSchema,
          }),
          '4xx': Problem,
        },
      },
    },
    async (request) => {
      const { name } = request.params;
      const applied = await lifecycle.applyPreset(
        { id: request.principal.workspaceId },
        name,
        `preset:${name}`,
      );
      return {
        preset: applied.preset.name,
        modelVersion: applied.version,
        ...settingsJson(lifecycle.settings(applied.workspace)),
        rescore: progressJson(rescore.start(applied.workspace)),
      };
    },
  );
}
