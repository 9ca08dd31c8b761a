import Type from 'typebox';
import type { HttpApp } from '../http/types.ts';
import { MAX_BODY_BYTES } from './model.ts';
import type { InboundService } from './service.ts';

const Params = Type.Object({ id: Type.String({ maxLength: 64 }) });

/**
 * The public address ad platforms post leads to: `GET /in/{id}` answers their handshakes
 * (Meta's `hub.challenge`, LinkedIn's `challengeCode`), `POST /in/{id}` takes deliveries.
 * No API key: a delivery proves itself by the source's signature or token, checked on the
 * exact bytes received — so in this scope every body is kept raw (a Buffer), whatever its
 * content type, and parsed only after it is authenticated.
 */
export function registerInboundPublicRoutes(app: HttpApp, inbound: InboundService): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES },
      (_request, body, done) => done(null, body),
    );

    scope.get(
      '/in/:id',
      { config: { public: true }, schema: { hide: true, params: Params } },
      async (request, reply) => {
        const answer = await inbound.handshake(
          (request.params as { id: string }).id,
          request.query as Record<string, unknown>,
        );
        if (answer.type === 'text') return reply.type('text/plain; charset=utf-8').send(answer.body);
        return reply.send(answer.body);
      },
    );

    scope.post(
      '/in/:id',
      { config: { public: true }, bodyLimit: MAX_BODY_BYTES, schema: { hide: true, params: Params } },
      async (request) => {
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        return inbound.receive((request.params as { id: string }).id, raw, request.headers);
      },
    );
  });
}
