import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { serveClientScript } from '../client/bundle.ts';
import { isDomainError } from '../errors.ts';
import { Nullable } from '../http/schemas.ts';
import type { HttpApp } from '../http/types.ts';
import {
  ANONYMOUS_ID_PATTERN,
  type Batch,
  CUSTOM_NAME_PATTERN,
  HIT_ID_PATTERN,
  MAX_ALLOWED_ORIGINS,
  MAX_BATCH,
  MAX_TITLE,
  MAX_URL,
  MAX_URL_RULES,
  ruleActivities,
  type TrackingSettings,
  VARIANT_PATTERN,
} from './model.ts';
import type { TrackingService } from './service.ts';

const Problem = Type.Object({}, { additionalProperties: true });

const HitSchema = Type.Object(
  {
    t: Type.Literal('page_view'),
    i: Type.String({ pattern: HIT_ID_PATTERN }),
    u: Type.String({ minLength: 1, maxLength: MAX_URL }),
    ti: Type.Optional(Type.String({ maxLength: MAX_TITLE })),
    r: Type.Optional(Type.String({ maxLength: MAX_URL })),
    ts: Type.Integer({ minimum: 0, maximum: 8.64e15 }),
    v: Type.Optional(Type.String({ pattern: VARIANT_PATTERN })),
  },
  { additionalProperties: false },
);

const BatchSchema = Type.Object(
  {
    w: Type.String({ minLength: 1, maxLength: 64 }),
    a: Type.String({ pattern: ANONYMOUS_ID_PATTERN }),
    s: Type.Optional(Type.Integer({ minimum: 0, maximum: 8.64e15 })),
    e: Type.Array(HitSchema, { minItems: 1, maxItems: MAX_BATCH }),
  },
  { additionalProperties: false },
);

const UrlRuleSchema = Type.Object(
  {
    match: Type.String({ minLength: 1, maxLength: 500 }),
    activity: Type.String({ description: `one of ${ruleActivities.join(', ')}` }),
    name: Type.Optional(Type.String({ pattern: CUSTOM_NAME_PATTERN })),
  },
  { additionalProperties: false },
);

const SettingsBody = Type.Object(
  {
    urlRules: Type.Array(UrlRuleSchema, { maxItems: MAX_URL_RULES }),
    allowedOrigins: Type.Array(Type.String({ maxLength: 300 }), { maxItems: MAX_ALLOWED_ORIGINS }),
  },
  { additionalProperties: false },
);

const SettingsSchema = Type.Object({
  urlRules: Type.Array(UrlRuleSchema),
  allowedOrigins: Type.Array(Type.String()),
  updatedAt: Nullable(Type.String({ format: 'date-time' })),
  warnings: Type.Array(Type.String(), {
    description: 'What the active scoring model would count twice with these rules',
  }),
});

const settingsJson = (settings: TrackingSettings & { warnings: string[] }) => ({
  urlRules: settings.urlRules,
  allowedOrigins: settings.allowedOrigins,
  updatedAt: settings.updatedAt === null ? null : new Date(settings.updatedAt).toISOString(),
  warnings: settings.warnings,
});

/** Largest `/t/collect` body: 50 page views of the longest URL, referrer and title fit. (512 KiB) */
const COLLECT_BODY_LIMIT = 512 * 1024;

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * CORS for `/t/collect`. t.js sends with `sendBeacon` or a no-cors `fetch` (text/plain: no
 * preflight, and nobody reads the answer); other clients posting JSON from a page need the
 * preflight. It is answered for any origin: which origins may record page views is decided
 * per workspace on the POST itself, whose body names the workspace.
 */
function allowOrigin(request: FastifyRequest, reply: FastifyReply): void {
  const origin = header(request, 'origin');
  if (!origin) return;
  reply.header('access-control-allow-origin', origin).header('vary', 'origin');
}

export function registerTrackingRoutes(app: HttpApp, tracking: TrackingService): void {
  app.get('/t.js', { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
    serveClientScript(reply, 't'),
  );

  app.options('/t/collect', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    allowOrigin(request, reply);
    return reply
      .header('access-control-allow-methods', 'POST')
      .header('access-control-allow-headers', 'content-type')
      .header('access-control-max-age', '86400')
      .code(204)
      .send();
  });

  // In a scope of its own: sendBeacon can only send text/plain without a preflight, so here
  // (and only here) a text/plain body is parsed as JSON and checked by the same schema.
  app.register(async (scope) => {
    scope.removeContentTypeParser('text/plain');
    scope.addContentTypeParser(
      'text/plain',
      { parseAs: 'string' },
      scope.getDefaultJsonParser('error', 'error'),
    );
    (scope as unknown as HttpApp).post(
      '/t/collect',
      {
        bodyLimit: COLLECT_BODY_LIMIT,
        config: { public: true },
        schema: {
          hide: true,
          body: BatchSchema,
          response: {
            200: Type.Object({
              accepted: Type.Integer(),
              duplicates: Type.Integer(),
              ignored: Type.Integer(),
            }),
            '4xx': Problem,
          },
        },
      },
      async (request, reply) => {
        reply.header('cache-control', 'no-store');
        // Readable by the page (field errors included), unless the page's origin was the problem.
        allowOrigin(request, reply);
        try {
          return await tracking.collect(request.body as Batch, {
            origin: header(request, 'origin'),
            userAgent: header(request, 'user-agent'),
            gpc: header(request, 'sec-gpc'),
            dnt: header(request, 'dnt'),
          });
        } catch (error) {
          if (isDomainError(error) && error.code === 'TRACKING_ORIGIN_NOT_ALLOWED') {
            reply.removeHeader('access-control-allow-origin');
          }
          throw error;
        }
      },
    );
  });

  const tags = ['tracking'];

  app.get(
    '/api/v1/tracking/settings',
    {
      schema: {
        tags,
        summary: 'Website tracking: URL rules and the origins allowed to send page views',
        response: { 200: SettingsSchema },
      },
    },
    async (request) => settingsJson(await tracking.readSettings(request.principal.workspaceId)),
  );

  app.put(
    '/api/v1/tracking/settings',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Replace the URL rules and allowed origins',
        description:
          'A page view whose URL matches a rule (`match`, a pattern like `/pricing*`, see the scoring ' +
          "condition language) also records the rule's `activity` (`name` for custom). `allowedOrigins` " +
          '(`https://acme.com`, `https://*.acme.com`) limits which sites may send page views; empty: any. ' +
          '`warnings` names rules whose visits the active scoring model would score twice. 422 naming the ' +
          'field; nothing is stored then.',
        body: SettingsBody,
        response: { 200: SettingsSchema, '4xx': Problem },
      },
    },
    async (request) =>
      settingsJson(await tracking.replaceSettings(request.principal.workspaceId, request.body)),
  );
}
