import Type from 'typebox';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import type { HttpApp } from '../http/types.ts';
import { type QuarantineEntry, type QuarantineService, quarantineStatuses } from './quarantine-service.ts';
import { quarantineReasons } from './spam.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Problem = Type.Object({}, { additionalProperties: true });
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

const EntrySchema = Type.Object({
  id: Type.String(),
  formId: Type.String(),
  email: Nullable(Type.String()),
  reasons: Type.Array(Type.String(), { description: quarantineReasons.join(', ') }),
  status: Type.Enum(quarantineStatuses),
  /** Everything posted, reserved fields included: what a release submits again. */
  values: Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())])),
  ip: Nullable(Type.String()),
  userAgent: Nullable(Type.String()),
  leadId: Nullable(Type.String({ description: 'the lead its release captured' })),
  receivedAt: Type.String({ format: 'date-time' }),
  decidedAt: Nullable(Type.String({ format: 'date-time' })),
});

function entryJson(entry: QuarantineEntry) {
  return {
    id: entry.id,
    formId: entry.formId,
    email: entry.email,
    reasons: entry.reasons,
    status: entry.status,
    values: entry.submission.values,
    ip: entry.ip,
    userAgent: entry.userAgent,
    leadId: entry.leadId,
    receivedAt: iso(entry.createdAt),
    decidedAt: entry.decidedAt === null ? null : iso(entry.decidedAt),
  };
}

export function registerQuarantineRoutes(app: HttpApp, quarantine: QuarantineService): void {
  const tags = ['forms'];

  app.get(
    '/api/v1/forms/quarantine',
    {
      schema: {
        tags,
        summary: 'Submissions held as suspected spam, newest first',
        querystring: Type.Object(
          {
            formId: Type.Optional(Type.String({ maxLength: 64 })),
            status: Type.Optional(Type.Enum(quarantineStatuses)),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(
              Type.String({ maxLength: 200, description: 'nextCursor of the previous page' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ data: Type.Array(EntrySchema), nextCursor: Nullable(Type.String()) }),
          '4xx': Problem,
        },
      },
    },
    async (request) => {
      const { formId, status, cursor } = request.query;
      const limit = request.query.limit ?? 50;
      const before = cursor === undefined ? undefined : decodeCursor('forms/quarantine', cursor);
      const list = await quarantine.list(request.principal.workspaceId, { formId, status, limit, before });
      const last = list[list.length - 1];
      return {
        data: list.map(entryJson),
        nextCursor:
          list.length === limit && last ? encodeCursor('forms/quarantine', last.createdAt, last.id) : null,
      };
    },
  );

  app.get(
    '/api/v1/forms/quarantine/:id',
    {
      schema: {
        tags,
        summary: 'One quarantined submission',
        params: IdParams,
        response: { 200: EntrySchema, '4xx': Problem },
      },
    },
    async (request) => entryJson(await quarantine.get(request.principal.workspaceId, request.params.id)),
  );

  app.post(
    '/api/v1/forms/quarantine/:id/release',
    {
      schema: {
        tags,
        summary: 'Not spam: submit it as received (lead, activity, consents, emails) and mark it released',
        params: IdParams,
        response: { 200: EntrySchema, '4xx': Problem },
      },
    },
    async (request) => entryJson(await quarantine.release(request.principal.workspaceId, request.params.id)),
  );

  app.post(
    '/api/v1/forms/quarantine/:id/discard',
    {
      schema: {
        tags,
        summary: 'Spam: mark it discarded (kept for the retention period, never submitted)',
        params: IdParams,
        response: { 200: EntrySchema, '4xx': Problem },
      },
    },
    async (request) => entryJson(await quarantine.discard(request.principal.workspaceId, request.params.id)),
  );
}
