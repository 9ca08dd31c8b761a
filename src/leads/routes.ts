import Type from 'typebox';
import { decodeCursor, encodeCursor, parseTime } from '../http/cursor.ts';
import { sendIdempotent } from '../http/idempotent-write.ts';
import type { HttpApp } from '../http/types.ts';
import type { IdempotencyService } from '../idempotency/service.ts';
import { stages } from '../lifecycle/model.ts';
import { temperatures } from '../lifecycle/temperature.ts';
import type { ScoringService } from '../scoring/service.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import { LeadInputSchema } from './input.ts';
import { LeadSchema, leadJson, TimelineEntrySchema, timelineEntryJson } from './json.ts';
import { channels } from './model.ts';
import type { LeadService } from './service.ts';

export interface LeadRouteDeps {
  leads: LeadService;
  scoring: ScoringService;
  workspaces: WorkspaceService;
  idempotency: IdempotencyService;
}

/** Largest batch accepted by `POST /api/v1/leads/batch`. */
export const MAX_BATCH = 1000;

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
});
const Problem = Type.Object({}, { additionalProperties: true });
const Page = <T extends Type.TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export function registerLeadRoutes(
  app: HttpApp,
  { leads, scoring, workspaces, idempotency }: LeadRouteDeps,
): void {
  const tags = ['leads'];

  app.post(
    '/api/v1/leads',
    {
      schema: {
        tags,
        summary: 'Create or update the lead with this email (or phone)',
        description:
          '201 when a new lead was created, 200 when an existing one was updated. Honours Idempotency-Key.',
        headers: IdempotencyHeaders,
        body: LeadInputSchema,
        response: { 200: LeadSchema, 201: LeadSchema, '4xx': Problem },
      },
    },
    async (request, reply) => {
      const workspace = await workspaces.getWorkspace(request.principal.workspaceId);
      if (typeof request.headers['idempotency-key'] !== 'string') {
        // Nothing to record with the write: it may share its statements with other captures.
        const { lead, created, score } = await leads.captureJoined(workspace, request.body, 'api');
        return reply.status(created ? 201 : 200).send(leadJson(lead, score));
      }
      return sendIdempotent(request, reply, idempotency, async (trx) => {
        const { lead, created } = await leads.captureIn(trx, workspace, request.body, 'api');
        const score = await scoring.scorerIn(trx, workspace.id);
        return { status: created ? 201 : 200, body: leadJson(lead, score(lead)) };
      });
    },
  );

  app.post(
    '/api/v1/leads/batch',
    {
      // Unstorable text rejects only its own item (the service checks each one).
      config: { checksBodyText: true },
      schema: {
        tags,
        summary: `Create or update up to ${MAX_BATCH} leads at once`,
        description:
          'Each lead gets its own result: valid leads are written (all together, in one transaction), ' +
          'invalid ones are reported with their field errors and written nowhere.',
        headers: IdempotencyHeaders,
        body: Type.Object(
          { leads: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_BATCH }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            created: Type.Integer(),
            updated: Type.Integer(),
            rejected: Type.Integer(),
            results: Type.Array(
              Type.Object({
                index: Type.Integer(),
                status: Type.Union([
                  Type.Literal('created'),
                  Type.Literal('updated'),
                  Type.Literal('rejected'),
                ]),
                id: Type.Optional(Type.String()),
                errors: Type.Optional(
                  Type.Array(Type.Object({ path: Type.String(), message: Type.String() })),
                ),
              }),
            ),
          }),
          '4xx': Problem,
        },
      },
    },
    async (request, reply) => {
      const workspace = await workspaces.getWorkspace(request.principal.workspaceId);
      return sendIdempotent(request, reply, idempotency, async (trx) => {
        const outcomes = await leads.captureRawManyIn(
          trx,
          workspace,
          request.body.leads,
          'api',
          (i) => `/leads/${i}`,
        );
        const results = outcomes.map((o, index) =>
          o.ok
            ? { index, status: o.created ? ('created' as const) : ('updated' as const), id: o.lead.id }
            : { index, status: 'rejected' as const, errors: o.errors },
        );
        const count = (status: string) => results.filter((r) => r.status === status).length;
        return {
          status: 200,
          body: {
            created: count('created'),
            updated: count('updated'),
            rejected: count('rejected'),
            results,
          },
        };
      });
    },
  );

  app.get(
    '/api/v1/leads',
    {
      schema: {
        tags,
        summary: 'List leads with filters and cursor pagination',
        querystring: Type.Object(
          {
            stage: Type.Optional(Type.Enum(stages)),
            owner: Type.Optional(Type.String({ maxLength: 64 })),
            channel: Type.Optional(Type.Enum(channels)),
            source: Type.Optional(Type.String({ maxLength: 200 })),
            createdFrom: Type.Optional(Type.String({ maxLength: 40 })),
            createdTo: Type.Optional(Type.String({ maxLength: 40 })),
            q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            temperature: Type.Optional(Type.Enum(temperatures)),
            minScore: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
            includeArchived: Type.Optional(Type.Boolean()),
            sort: Type.Optional(
              Type.Union([
                Type.Literal('createdAt'),
                Type.Literal('-createdAt'),
                Type.Literal('updatedAt'),
                Type.Literal('-updatedAt'),
              ]),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
            cursor: Type.Optional(Type.String({ maxLength: 500 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(LeadSchema), '4xx': Problem },
      },
    },
    async (request) => {
      const q = request.query;
      const sort = q.sort ?? '-createdAt';
      const limit = q.limit ?? 50;
      // A cursor pages one order; the filters may change between pages (see encodeCursor).
      const list = `leads?sort=${sort}`;
      const page = await leads.list(request.principal.workspaceId, {
        stage: q.stage,
        ownerId: q.owner,
        channel: q.channel,
        source: q.source,
        createdFrom: q.createdFrom === undefined ? undefined : parseTime(q.createdFrom, '/query/createdFrom'),
        createdTo: q.createdTo === undefined ? undefined : parseTime(q.createdTo, '/query/createdTo'),
        q: q.q,
        temperature: q.temperature,
        minScore: q.minScore,
        includeArchived: q.includeArchived,
        sort,
        limit,
        after: q.cursor ? decodeCursor(list, q.cursor) : undefined,
      });
      const score = await scoring.scorer(request.principal.workspaceId);
      const last = page.at(-1);
      const sortValue = (lead: (typeof page)[number]) =>
        sort.endsWith('updatedAt') ? lead.updatedAt : lead.createdAt;
      return {
        data: page.map((lead) => leadJson(lead, score(lead))),
        nextCursor: page.length === limit && last ? encodeCursor(list, sortValue(last), last.id) : null,
      };
    },
  );

  app.get(
    '/api/v1/leads/:id',
    {
      schema: { tags, summary: 'One lead', params: IdParams, response: { 200: LeadSchema, '4xx': Problem } },
    },
    async (request) => {
      const lead = await leads.get(request.principal.workspaceId, request.params.id);
      return leadJson(lead, (await scoring.scorer(lead.workspaceId))(lead));
    },
  );

  app.get(
    '/api/v1/leads/:id/timeline',
    {
      schema: {
        tags,
        summary: "A lead's activities and system entries, newest first",
        params: IdParams,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
            cursor: Type.Optional(Type.String({ maxLength: 500 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(TimelineEntrySchema), '4xx': Problem },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const list = `leads/${request.params.id}/timeline`;
      const after = request.query.cursor ? decodeCursor(list, request.query.cursor) : undefined;
      const entries = await leads.timeline(
        request.principal.workspaceId,
        request.params.id,
        limit,
        after && { occurredAt: after.value, id: after.id },
      );
      const last = entries.at(-1);
      return {
        data: entries.map(timelineEntryJson),
        nextCursor: entries.length === limit && last ? encodeCursor(list, last.occurredAt, last.id) : null,
      };
    },
  );

  app.post(
    '/api/v1/leads/:id/archive',
    {
      schema: {
        tags,
        summary: 'Archive a lead (hidden from lists until captured again)',
        description:
          '404 LEAD_NOT_FOUND for an unknown id; 409 CONFLICT for a lead merged into another ' +
          '(its detail names the survivor, which is the lead to archive). An import does not restore it.',
        params: IdParams,
        response: { 200: LeadSchema, '4xx': Problem },
      },
    },
    async (request) => {
      const lead = await leads.archive(request.principal.workspaceId, request.params.id);
      return leadJson(lead, (await scoring.scorer(lead.workspaceId))(lead));
    },
  );

  app.post(
    '/api/v1/leads/:id/merge',
    {
      schema: {
        tags,
        summary: 'Merge another lead into this one',
        description:
          "The other lead's timeline, properties and touches move here; it remains as a redirect for its email.",
        params: IdParams,
        body: Type.Object(
          { otherId: Type.String({ minLength: 1, maxLength: 64 }) },
          { additionalProperties: false },
        ),
        response: { 200: LeadSchema, '4xx': Problem },
      },
    },
    async (request) => {
      const workspace = await workspaces.getWorkspace(request.principal.workspaceId);
      const lead = await leads.merge(workspace, request.params.id, request.body.otherId);
      return leadJson(lead, (await scoring.scorer(workspace.id))(lead));
    },
  );
}
