import Type from 'typebox';
import { Nullable } from '../http/schemas.ts';
import type { HttpApp } from '../http/types.ts';
import { leadTargets } from './mapping.ts';
import { type InboundLead, type InboundSource, inboundKinds, inboundStatuses } from './model.ts';
import type { InboundService } from './service.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const FieldErrorSchema = Type.Object({ path: Type.String(), message: Type.String() });
const Counts = Type.Object({
  pending: Type.Integer(),
  captured: Type.Integer(),
  failed: Type.Integer(),
});

const FieldMapping = Type.Record(
  Type.String({ minLength: 1, maxLength: 200 }),
  Type.String({
    maxLength: 120,
    description: `${leadTargets.join(' | ')} | properties.<key> | utm.<source|medium|campaign|term|content> | ignore`,
  }),
  {
    maxProperties: 100,
    description:
      'External field -> lead field: Facebook field_data names, LinkedIn predefined fields (EMAIL) or question names, JSON paths for generic sources. Fields left out are matched by their usual names.',
  },
);

const Settings = Type.Record(
  Type.String({ maxLength: 40 }),
  Type.Union([
    Type.String({ maxLength: 2000 }),
    Type.Null(),
    // consentPurposes; its entries are checked by prepareSource (ids, purposes, how many).
    Type.Record(Type.String({ maxLength: 200 }), Type.String({ maxLength: 40 }), { maxProperties: 20 }),
  ]),
  {
    maxProperties: 10,
    description:
      'facebook: graphBaseUrl; linkedin: apiBaseUrl, apiVersion, consentPurposes ({ checkbox id: purpose }, checked boxes recorded as consent grants); generic: auth (token|hmac), signatureHeader, itemsPath, idPath, occurredAtPath. null resets one to its default.',
  },
);

const Secrets = Type.Record(
  Type.String({ maxLength: 40 }),
  Type.Union([Type.String({ maxLength: 2000 }), Type.Null()]),
  {
    maxProperties: 5,
    description:
      'facebook: appSecret (required), verifyToken (generated when left out), pageAccessToken; linkedin: clientSecret (required), accessToken; generic: token (generated when left out). Never shown again after creation.',
  },
);

const SourceSchema = Type.Object({
  id: Type.String(),
  kind: Type.Enum(inboundKinds),
  name: Type.String(),
  url: Type.String({ description: 'The public address the platform posts to' }),
  source: Type.String(),
  formId: Nullable(Type.String()),
  fieldMapping: Type.Record(Type.String(), Type.String()),
  settings: Type.Record(Type.String(), Type.Unknown()),
  secretsSet: Type.Array(Type.String(), { description: 'Names of the secrets that are set' }),
  counts: Counts,
  lastReceivedAt: Nullable(Type.String({ format: 'date-time' })),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

const InboundLeadSchema = Type.Object({
  id: Type.String(),
  sourceId: Type.String(),
  externalId: Type.String(),
  status: Type.Enum(inboundStatuses),
  leadId: Nullable(Type.String()),
  eventId: Type.String({
    description: 'Id of the form_submitted activity (fb:{leadgen_id}, li:{id}, gen:…)',
  }),
  payload: Type.Unknown({ description: 'What was delivered; null once captured' }),
  errors: Type.Array(FieldErrorSchema),
  warnings: Type.Array(FieldErrorSchema, { description: 'Fields dropped from the capture' }),
  fetchAttempts: Type.Integer(),
  receivedAt: Type.String({ format: 'date-time' }),
  capturedAt: Nullable(Type.String({ format: 'date-time' })),
  updatedAt: Type.String({ format: 'date-time' }),
});

type Counted = { source: InboundSource; counts: { pending: number; captured: number; failed: number } };

export function sourceJson(inbound: InboundService, { source, counts }: Counted) {
  return {
    id: source.id,
    kind: source.kind,
    name: source.name,
    url: inbound.urlOf(source.id),
    source: source.source,
    formId: source.formId,
    fieldMapping: source.fieldMapping,
    settings: source.settings as unknown as Record<string, unknown>,
    secretsSet: source.secretsSet,
    counts,
    lastReceivedAt: iso(source.lastReceivedAt),
    createdAt: iso(source.createdAt)!,
    updatedAt: iso(source.updatedAt)!,
  };
}

function inboundLeadJson(lead: InboundLead) {
  return {
    id: lead.id,
    sourceId: lead.sourceId,
    externalId: lead.externalId,
    status: lead.status,
    leadId: lead.leadId,
    eventId: lead.eventId,
    payload: lead.payload,
    errors: lead.errors,
    warnings: lead.warnings,
    fetchAttempts: lead.fetchAttempts,
    receivedAt: iso(lead.receivedAt)!,
    capturedAt: iso(lead.capturedAt),
    updatedAt: iso(lead.updatedAt)!,
  };
}

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** Inbound sources hold platform secrets and tokens: admin keys only. Their logs: read and write keys. */
export function registerInboundRoutes(app: HttpApp, inbound: InboundService): void {
  const tags = ['inbound'];
  const admin = { scope: 'admin' as const };

  app.get(
    '/api/v1/inbound-sources',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Inbound lead-form sources (Facebook Lead Ads, LinkedIn Lead Gen Forms, generic JSON)',
        response: { 200: Type.Object({ data: Type.Array(SourceSchema) }) },
      },
    },
    async (request) => ({
      data: (await inbound.list(request.principal.workspaceId)).map((s) => sourceJson(inbound, s)),
    }),
  );

  app.post(
    '/api/v1/inbound-sources',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Add a source; its secrets are shown only in this response',
        body: Type.Object(
          {
            kind: Type.Enum(inboundKinds),
            name: Type.String({ minLength: 1, maxLength: 200 }),
            source: Type.Optional(
              Type.String({ minLength: 1, maxLength: 200, description: 'The `source` captured leads get' }),
            ),
            formId: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
            fieldMapping: Type.Optional(FieldMapping),
            settings: Type.Optional(Settings),
            secrets: Type.Optional(Secrets),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ source: SourceSchema, secrets: Type.Record(Type.String(), Type.String()) }),
        },
      },
    },
    async (request, reply) => {
      const { source, secrets } = await inbound.create(request.principal.workspaceId, request.body);
      const counts = { pending: 0, captured: 0, failed: 0 };
      return reply.status(201).send({ source: sourceJson(inbound, { source, counts }), secrets });
    },
  );

  app.get(
    '/api/v1/inbound-sources/:id',
    {
      config: admin,
      schema: { tags, summary: 'One inbound source', params: IdParams, response: { 200: SourceSchema } },
    },
    async (request) =>
      sourceJson(inbound, await inbound.get(request.principal.workspaceId, request.params.id)),
  );

  app.patch(
    '/api/v1/inbound-sources/:id',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Change a source: settings and secrets are merged, fieldMapping is replaced whole',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            source: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            formId: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
            fieldMapping: Type.Optional(FieldMapping),
            settings: Type.Optional(Settings),
            secrets: Type.Optional(Secrets),
          },
          { additionalProperties: false },
        ),
        response: { 200: SourceSchema },
      },
    },
    async (request) => {
      const { workspaceId } = request.principal;
      await inbound.update(workspaceId, request.params.id, request.body);
      return sourceJson(inbound, await inbound.get(workspaceId, request.params.id));
    },
  );

  app.delete(
    '/api/v1/inbound-sources/:id',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Delete a source and its log (captured leads stay); its address stops answering',
        params: IdParams,
      },
    },
    async (request, reply) => {
      await inbound.remove(request.principal.workspaceId, request.params.id);
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/v1/inbound-sources/:id/leads',
    {
      schema: {
        tags,
        summary: "A source's external leads, newest first: captured, pending (being fetched) or failed",
        params: IdParams,
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Enum(inboundStatuses)),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(
              Type.String({ maxLength: 64, description: 'nextCursor of the previous page' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ data: Type.Array(InboundLeadSchema), nextCursor: Nullable(Type.String()) }),
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const list = await inbound.leads(request.principal.workspaceId, request.params.id, {
        status: request.query.status,
        limit,
        before: request.query.cursor,
      });
      return {
        data: list.map(inboundLeadJson),
        nextCursor: list.length === limit ? list[list.length - 1]!.id : null,
      };
    },
  );

  app.post(
    '/api/v1/inbound-sources/:id/leads/:leadId/retry',
    {
      schema: {
        tags,
        summary: 'Retry a failed external lead: captured again from its stored answers, or fetched again',
        params: Type.Object({ id: Type.String({ maxLength: 64 }), leadId: Type.String({ maxLength: 64 }) }),
        response: { 200: InboundLeadSchema },
      },
    },
    async (request) =>
      inboundLeadJson(
        await inbound.retry(request.principal.workspaceId, request.params.id, request.params.leadId),
      ),
  );
}
