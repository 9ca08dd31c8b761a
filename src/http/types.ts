import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { Principal, Scope } from '../workspaces/model.ts';

/** The Fastify instance every `routes.ts` registers on: TypeBox schemas type the handlers. */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated key's workspace and scope; set by the auth hook on /api/v1 routes. */
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** Scope a route needs. (Default: read for GET/HEAD, write otherwise) */
    scope?: Scope;
    /** The route needs no API key (health, docs, public capture endpoints). */
    public?: boolean;
    /**
     * The handler checks its body's text for what cannot be stored itself, to report it in its
     * own terms (a hosted form: on its field, on the page again); the guard leaves the body alone.
     */
    checksBodyText?: boolean;
    /** What the route's body may be, for a 415's message. (Default: a JSON body (application/json)) */
    bodyTypes?: string;
  }
}
