import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Transaction } from 'kysely';
import type { DB } from '../db/schema.ts';
import {
  fingerprint,
  fingerprintAsSent,
  type IdempotencyService,
  type StoredResponse,
} from '../idempotency/service.ts';

/**
 * Runs a write route's work under the request's `Idempotency-Key` (if any) and sends the
 * response: a retry of the same request replays the stored one, marked `idempotent-replayed`.
 */
export async function sendIdempotent(
  request: FastifyRequest,
  reply: FastifyReply,
  idempotency: IdempotencyService,
  work: (trx: Transaction<DB>) => Promise<StoredResponse>,
): Promise<FastifyReply> {
  const header = request.headers['idempotency-key'];
  const key = typeof header === 'string' ? header : undefined;
  const result = await idempotency.run(
    request.principal.workspaceId,
    key,
    // Hashing the body costs; only a request with a key is ever compared.
    key === undefined ? '' : fingerprint(request.method, request.url, request.body),
    work,
    () => fingerprintAsSent(request.method, request.url, request.body),
  );
  if (result.replayed) reply.header('idempotent-replayed', 'true');
  return reply.status(result.status).send(result.body);
}
