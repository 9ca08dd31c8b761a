import Type from 'typebox';
import { parseTime } from '../http/cursor.ts';
import { problem } from '../http/errors.ts';
import { sendIdempotent } from '../http/idempotent-write.ts';
import { Nullable } from '../http/schemas.ts';
import type { HttpApp } from '../http/types.ts';
import type { IdempotencyService } from '../idempotency/service.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import { type ConfirmPageKind, confirmPage } from './messages.ts';
import { type ConsentRecord, consentStatuses, PURPOSE_PATTERN } from './model.ts';
import type { ConsentService } from './service.ts';

export interface ConsentRouteDeps {
  consent: ConsentService;
  workspaces: WorkspaceService;
  idempotency: IdempotencyService;
}

const iso = (ms: number) => new Date(ms).toISOString();
const Problem = Type.Object({}, { additionalProperties: true });
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
});

const ConsentSchema = Type.Object({
  id: Type.String(),
  leadId: Type.String(),
  purpose: Type.String(),
  status: Type.Enum(consentStatuses),
  version: Nullable(Type.String()),
  text: Nullable(Type.String()),
  privacyUrl: Nullable(Type.String()),
  evidence: Type.Object({
    source: Type.String(),
    formId: Nullable(Type.String()),
    pageUrl: Nullable(Type.String()),
    ip: Nullable(Type.String()),
    userAgent: Nullable(Type.String()),
    confirmationId: Nullable(Type.String()),
  }),
  recordedAt: Type.String({ format: 'date-time' }),
  createdAt: Type.String({ format: 'date-time' }),
});

function consentJson(record: ConsentRecord) {
  return { ...record, recordedAt: iso(record.recordedAt), createdAt: iso(record.createdAt) };
}

const HttpUrl = Type.String({ maxLength: 2000, pattern: '^https?://[^\\s]+$' });

/** Statuses of the confirm page: a link never made is 404, an expired one 410. */
const pageStatus: Record<ConfirmPageKind, number> = {
  confirmed: 200,
  already_confirmed: 200,
  superseded: 200,
  expired: 410,
  invalid: 404,
};

export function registerConsentRoutes(
  app: HttpApp,
  { consent, workspaces, idempotency }: ConsentRouteDeps,
): void {
  const tags = ['consent'];

  app.get(
    '/api/v1/leads/:id/consents',
    {
      schema: {
        tags,
        summary: "A lead's consents: the current state of each purpose, and every record, newest first",
        params: IdParams,
        response: {
          200: Type.Object({ data: Type.Array(ConsentSchema), history: Type.Array(ConsentSchema) }),
          '4xx': Problem,
        },
      },
    },
    async (request) => {
      const { current, history } = await consent.list(request.principal.workspaceId, request.params.id);
      return { data: current.map(consentJson), history: history.map(consentJson) };
    },
  );

  app.post(
    '/api/v1/leads/:id/consents',
    {
      schema: {
        tags,
        summary: 'Record a consent decision (grant, or withdraw) with its evidence',
        description:
          'A grant needs the exact `text` shown and its `version`. With `doubleOptIn` the consent is ' +
          'pending until the lead clicks the link emailed to them. 201 when recorded; 200 with ' +
          '`changed: false` when the purpose was already in that state. Honours Idempotency-Key.',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            purpose: Type.String({ pattern: PURPOSE_PATTERN, description: 'marketing, newsletter…' }),
            status: Type.Enum(['granted', 'withdrawn'] as const, {
              description: 'pending is what doubleOptIn records; the link grants it',
            }),
            text: Type.Optional(Type.String({ minLength: 1, maxLength: 5000 })),
            version: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            privacyUrl: Type.Optional(HttpUrl),
            doubleOptIn: Type.Optional(Type.Boolean()),
            evidence: Type.Optional(
              Type.Object(
                {
                  source: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
                  formId: Type.Optional(Type.String({ maxLength: 64 })),
                  pageUrl: Type.Optional(HttpUrl),
                  ip: Type.Optional(Type.String({ maxLength: 64 })),
                  userAgent: Type.Optional(Type.String({ maxLength: 1000 })),
                },
                { additionalProperties: false },
              ),
            ),
            recordedAt: Type.Optional(
              Type.Union([Type.String({ maxLength: 40 }), Type.Integer({ minimum: 0 })], {
                description: 'when the decision was made, if earlier (ISO 8601 or epoch ms)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          '2xx': Type.Object({
            changed: Type.Boolean(),
            consent: Nullable(ConsentSchema),
            confirmation: Nullable(Type.Object({ id: Type.String(), emailed: Type.Boolean() })),
          }),
          '4xx': Problem,
        },
      },
    },
    async (request, reply) => {
      const { recordedAt, ...rest } = request.body;
      const input = {
        ...rest,
        ...(recordedAt !== undefined ? { recordedAt: parseTime(recordedAt, '/recordedAt') } : {}),
      };
      const workspace = await workspaces.getWorkspace(request.principal.workspaceId);
      return sendIdempotent(request, reply, idempotency, async (trx) => {
        const outcome = await consent.decideIn(trx, workspace, request.params.id, input);
        return {
          status: outcome.changed ? 201 : 200,
          body: { ...outcome, consent: outcome.consent && consentJson(outcome.consent) },
        };
      });
    },
  );

  // Public: the double opt-in link. No HEAD twin: mail scanners probe links with HEAD, and a
  // probe must not confirm. (A scanner that follows with GET still does: the link is the proof
  // the mailbox got the email, which is what double opt-in asks.)
  app.get(
    '/c/:token',
    {
      config: { public: true },
      exposeHeadRoute: false,
      schema: { hide: true, params: Type.Object({ token: Type.String({ maxLength: 200 }) }) },
    },
    async (request, reply) => {
      const result = await consent.confirm(request.params.token, {
        ip: request.ip ?? null,
        userAgent: request.headers['user-agent']?.slice(0, 1000) ?? null,
      });
      const status = pageStatus[result.kind];
      // The token is a credential: no caching, and no Referer carrying it to another site.
      reply
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .header('x-robots-tag', 'noindex')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
      // A browser gets the page; a client asking for JSON only gets JSON (problem+json when refused).
      const accept = request.headers.accept ?? '';
      if (accept.includes('json') && !accept.includes('text/html')) {
        if (status >= 400) {
          const body = problem(
            'CONSENT_TOKEN_INVALID',
            result.kind === 'expired' ? 'The link has expired.' : 'The link is not valid.',
          );
          return reply
            .status(status)
            .type('application/problem+json')
            .send({ ...body, status });
        }
        return reply.send({ status: result.kind });
      }
      const html = confirmPage(result.kind, {
        sender: 'sender' in result ? result.sender : undefined,
        purposes: 'texts' in result ? result.texts : [],
      });
      return reply.status(status).type('text/html; charset=utf-8').send(html);
    },
  );
}
