import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import { hashKey } from '../workspaces/model.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import { authHook, bearerToken } from './auth.ts';
import { handleError, problem, sendProblem } from './errors.ts';
import type { HttpApp } from './types.ts';

export interface HttpServerDeps {
  config: Config;
  logger: FastifyBaseLogger;
  workspaces: WorkspaceService;
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
    disableRequestLogging: true,
    ajv: {
      customOptions: {
        allErrors: true,
        coerceTypes: 'array',
        removeAdditional: false,
        useDefaults: true,
      } as never,
      plugins: [addFormats as never],
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as HttpApp;

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}.`)),
  );

  await app.register(rateLimit, {
    global: true,
    timeWindow: 60_000,
    // A request with a key is limited per key; one without (or with an unknown key) per IP.
    keyGenerator: (request) => {
      const token = bearerToken(request);
      return token ? `key:${hashKey(token)}` : `ip:${request.ip}`;
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

  await app.register(multipart, { limits: { fileSize: config.bodyLimitBytes * 100, files: 1 } });
  // CSV uploads stream straight to the importer: the route reads the raw request.
  app.addContentTypeParser(['text/csv', 'application/csv'], (_request, payload, done) => done(null, payload));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Leadline API', version: '1', description: 'Capture, score, route and nurture leads.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/api/v1/openapi.json', { config: { public: true }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  app.addHook('onRequest', authHook(workspaces));
  return app;
}
