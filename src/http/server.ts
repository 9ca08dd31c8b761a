import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyBaseLogger, type FastifyRequest, LogController } from 'fastify';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { Config } from '../config.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import { authHook, principalOf } from './auth.ts';
import { handleError, problem, sendProblem } from './errors.ts';
import { inputGuardHook } from './input-guard.ts';
import type { HttpApp } from './types.ts';

export interface HttpServerDeps {
  config: Config;
  logger: FastifyBaseLogger;
  workspaces: WorkspaceService;
}

/** A route as registered: what `registeredRoutes` lists. */
export interface RegisteredRoute {
  method: string;
  url: string;
  /** Marked `config.public`: no API key needed. */
  public: boolean;
}

const routeLists = new WeakMap<HttpApp, RegisteredRoute[]>();

/**
 * Every route registered on an app built by `createHttpServer`, in registration order (HEAD
 * routes Fastify adds for GETs included). Tests enumerate it so a new route cannot escape the
 * cross-workspace checks.
 */
export function registeredRoutes(app: HttpApp): readonly RegisteredRoute[] {
  return routeLists.get(app) ?? [];
}

/**
 * preValidation hook: converts the query string and path parameters (always text) to the types
 * their schemas declare — "50" to 50, "true" to true — so ajv can validate without coercing.
 * A value that does not convert stays as it is, and validation reports it. Header schemas are
 * not converted: declare headers as strings.
 */
async function convertTextParts(request: FastifyRequest): Promise<void> {
  const schema = request.routeOptions.schema;
  if (schema?.querystring && request.query) {
    request.query = convertText(schema.querystring as TSchema, request.query as Record<string, unknown>);
  }
  if (schema?.params && request.params) {
    request.params = convertText(schema.params as TSchema, request.params as Record<string, unknown>);
  }
}

/** Text an `integer` parameter may be: "50", "-3". */
const INTEGER_TEXT = /^-?\d+$/;
/** Text a `number` parameter may be: "50", "-0.5", "1e2". */
const NUMBER_TEXT = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * The values converted to the types `schema`'s properties declare. TypeBox converts numbers
 * leniently — "1.5" and "1e2" to the integers 1 and 100, "0x10" to 16, "" and " " to 0 — so
 * text that is not written as the declared number stays text, and validation refuses it.
 */
function convertText(schema: TSchema, values: Record<string, unknown>): unknown {
  const text = { ...values };
  const converted = Value.Convert(schema, values) as Record<string, unknown>;
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  for (const [name, value] of Object.entries(text)) {
    if (typeof value !== 'string') continue;
    const type = properties[name]?.type;
    if (
      (type === 'integer' && !INTEGER_TEXT.test(value)) ||
      (type === 'number' && !NUMBER_TEXT.test(value))
    ) {
      converted[name] = value;
    }
  }
  return converted;
}

/**
 * The Fastify instance with what every route shares: schema validation that reports every
 * bad field, problem+json errors, rate limits per key and per IP, API-key auth, OpenAPI.
 * Domain routes are registered on it by `app.ts`.
 */
export async function createHttpServer({ config, logger, workspaces }: HttpServerDeps): Promise<HttpApp> {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    // Answered below as a problem with Retry-After, as every other error is.
    return503OnClosing: false,
    // request.ip (rate limits, consent evidence) and request.protocol follow X-Forwarded-* only
    // from the proxies configured (LEADLINE_TRUST_PROXY); off, a client could claim any address.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    // Per-request log lines off; the top-level `disableRequestLogging` is deprecated (FSTDEP023).
    logController: new LogController({ disableRequestLogging: true }),
    // The router's own refusals (a path that is not valid percent-encoding, a path parameter
    // over 100 characters) are problems like every other error, not Fastify's JSON.
    frameworkErrors: (error, request, reply) => handleError(error, request, reply),
    ajv: {
      customOptions: {
        allErrors: true,
        // No coercion: JSON bodies keep their types (ajv coerced 42 into "42" inside unions, and
        // one POST accepted what the same lead in a batch refused). Query strings and path
        // parameters are text: `convertTextParts` types them first.
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: true,
        allowUnionTypes: true,
      } as never,
      plugins: [addFormats as never],
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as HttpApp;

  const routes: RegisteredRoute[] = [];
  routeLists.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      routes.push({ method, url: route.url, public: route.config?.public === true });
    }
  });

  app.setErrorHandler(handleError);

  // While the server stops (SIGTERM), requests that still arrive on open connections get a 503
  // the client can retry elsewhere; those already running finish.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('retry-after', '5').header('connection', 'close');
    return sendProblem(reply, {
      type: 'https://leadline.dev/problems/shutting-down',
      title: 'Shutting down',
      status: 503,
      code: 'SHUTTING_DOWN',
      detail: 'Nothing was saved: this server is stopping. Please try again in a few seconds.',
    });
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}.`)),
  );

  await app.register(rateLimit, {
    // Not `global`: the plugin would add its hook per route, after the app-level auth hook, so a
    // request refused for a missing or wrong key would never be counted. It runs first instead
    // (below), which makes the per-IP limit what slows down key guessing.
    global: false,
    timeWindow: 60_000,
    // A request with a valid key is limited per key; one without (or with an unknown or revoked
    // key) per IP, so inventing keys does not buy fresh allowances. Lookups are cached 5 s.
    keyGenerator: async (request) => {
      const principal = await principalOf(request, workspaces);
      return principal ? `key:${principal.keyId}` : `ip:${request.ip}`;
    },
    max: (_request, key) => (key.startsWith('key:') ? config.rateLimitPerKey : config.rateLimitPerIp),
    errorResponseBuilder: (_request, context) => {
      const error = new Error(
        `Rate limit exceeded: retry in ${Math.ceil(context.ttl / 1000)} s.`,
      ) as Error & { statusCode: number };
      error.statusCode = 429;
      return error;
    },
  });
  // Routes marked `rateLimit: false` (health, readiness, the API docs) are never limited nor
  // counted: behind a proxy every keyless caller shares one IP, and a probe refused with 429
  // makes an orchestrator restart a healthy server. They read no key, so they cannot be used to
  // guess one. Everything else keyless (hosted forms, tracking, inbound webhooks) stays limited.
  const limit = app.rateLimit();
  app.addHook('onRequest', async function (request, reply) {
    if (request.routeOptions.config?.rateLimit === false) return;
    await limit.call(this, request, reply);
  });

  // An empty JSON body is no body (`curl -X POST -H 'Content-Type: application/json'` on an
  // action such as applying a preset): Fastify refuses it before the route's schema could say
  // whether the route needs one. Anything else goes to its own parser (proto poisoning refused).
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined);
    else json(request, body as string, done);
  });
  await app.register(multipart, { limits: { fileSize: config.bodyLimitBytes * 100, files: 1 } });
  // CSV uploads stream straight to the importer: the route reads the raw request.
  app.addContentTypeParser(['text/csv', 'application/csv'], (_request, payload, done) => done(null, payload));
  // Hosted forms post form-encoded bodies (browsers without JavaScript). The API refuses them
  // with 415 (input-guard.ts): it takes JSON only.
  await app.register(formbody);
  // Public pages read first-party cookies: t.js's `ll_aid`, a landing page's sticky variant.
  await app.register(cookie);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Leadline API', version: '1', description: 'Capture, score, route and nurture leads.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  });
  // The docs UI in a scope of its own, so its routes (which take no config) can be marked unlimited.
  await app.register(async (docs) => {
    docs.addHook('onRoute', (route) => {
      route.config = { ...route.config, rateLimit: false };
    });
    await docs.register(swaggerUi, { routePrefix: '/docs' });
  });
  app.get(
    '/api/v1/openapi.json',
    { config: { public: true, rateLimit: false }, schema: { hide: true } },
    async () => app.swagger(),
  );

  app.addHook('onRequest', authHook(workspaces));
  app.addHook('preValidation', convertTextParts);
  app.addHook('preValidation', inputGuardHook);
  return app;
}

/** Trusts the nearest `hops` proxies (what Fastify does for an integer, which its types omit). */
function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}
