import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../errors.ts';
import { type Principal, scopeAllows } from '../workspaces/model.ts';
import type { WorkspaceService } from '../workspaces/service.ts';

/** Reads `Authorization: Bearer <key>`; anything else counts as no key. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Each request's key lookup, shared by the rate limiter (which runs first) and the auth hook. */
const lookups = new WeakMap<FastifyRequest, Promise<Principal | undefined>>();

/**
 * The principal of the request's bearer key (undefined: no key, or an unknown or revoked
 * one), looked up once per request: hashing the key and the cache lookup are not repeated.
 */
export function principalOf(
  request: FastifyRequest,
  workspaces: WorkspaceService,
): Promise<Principal | undefined> {
  let lookup = lookups.get(request);
  if (!lookup) {
    const token = bearerToken(request);
    lookup = token ? workspaces.authenticate(token) : Promise.resolve(undefined);
    lookups.set(request, lookup);
  }
  return lookup;
}

/**
 * onRequest hook for /api/v1: resolves the key to its workspace and checks the route's scope.
 * Routes marked `public` (and everything outside /api/v1) pass untouched.
 */
export function authHook(workspaces: WorkspaceService) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const config = request.routeOptions.config;
    // The matched route's pattern, not the raw URL: the router decodes the path, so
    // `/%61pi/v1/leads` reaches the `/api/v1/leads` handler while its raw URL does not start with
    // `/api/`. (No route matched: the raw URL, so unknown /api paths still need a key.)
    const url = request.routeOptions.url ?? request.url;
    if (config?.public || !url.startsWith('/api/')) return;
    if (!bearerToken(request))
      throw new DomainError('UNAUTHENTICATED', 'Send an API key as "Authorization: Bearer <key>".');
    const principal = await principalOf(request, workspaces);
    if (!principal) throw new DomainError('UNAUTHENTICATED', 'The API key is unknown or revoked.');
    const needed =
      config?.scope ?? (request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write');
    if (!scopeAllows(principal.scope, needed)) {
      throw new DomainError(
        'FORBIDDEN',
        `This key has scope "${principal.scope}"; the route needs "${needed}".`,
      );
    }
    request.principal = principal;
  };
}
