import Type from 'typebox';
import { sendIdempotent } from '../http/idempotent-write.ts';
import type { HttpApp } from '../http/types.ts';
import type { IdempotencyService } from '../idempotency/service.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import { IdentifyInputSchema } from './events-input.ts';
import { eventTypes, MAX_EVENTS } from './events-model.ts';
import type { EventService } from './events-service.ts';

export interface EventRouteDeps {
  events: EventService;
  workspaces: WorkspaceService;
  idempotency: IdempotencyService;
}

const Problem = Type.Object({}, { additionalProperties: true });
const FieldErrors = Type.Array(Type.Object({ path: Type.String(), message: Type.String() }));

export function registerEventRoutes(app: HttpApp, { events, workspaces, idempotency }: EventRouteDeps): void {
  const tags = ['events'];

  app.post(
    '/api/v1/events',
    {
      // Unstorable text rejects only its own item (the service checks each one).
      config: { checksBodyText: true },
      schema: {
        tags,
        summary: `Record up to ${MAX_EVENTS} activities of leads or anonymous visitors`,
        description:
          'Each event names exactly one of `leadId`, `email` (an unknown email creates the lead) or ' +
          '`anonymousId` (kept until identified, or until it expires). `type` is one of ' +
          `${eventTypes.join(', ')}. \`occurredAt\` is ISO 8601 or epoch milliseconds (default: now). ` +
          'An event with a client `id` is stored once: a retry reports `duplicate`. Each event gets ' +
          'its own result; the valid ones are written together, in one transaction.',
        headers: Type.Object({
          'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
        }),
        body: Type.Object(
          { events: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_EVENTS }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            accepted: Type.Integer(),
            duplicates: Type.Integer(),
            rejected: Type.Integer(),
            results: Type.Array(
              Type.Object({
                index: Type.Integer(),
                status: Type.Union([
                  Type.Literal('stored'),
                  Type.Literal('duplicate'),
                  Type.Literal('rejected'),
                ]),
                id: Type.Optional(Type.String()),
                leadId: Type.Optional(Type.String()),
                errors: Type.Optional(FieldErrors),
              }),
            ),
          }),
          '4xx': Problem,
        },
      },
    },
    async (request, reply) => {
      const workspace = await workspaces.getWorkspace(request.principal.workspaceId);
      return sendIdempotent(request, reply, idempotency, async (trx) => ({
        status: 200,
        body: await events.ingestIn(trx, workspace, request.body.events),
      }));
    },
  );

  app.post(
    '/api/v1/identify',
    {
      schema: {
        tags,
        summary: 'Say who an anonymous visitor is',
        description:
          "Moves the visitor's unexpired activities onto the lead's timeline and sends their later " +
          'events straight to the lead. Give exactly one of `email` (an unknown email creates the ' +
          'lead) or `leadId`. Repeating it changes nothing; an anonymous id already identified as ' +
          'another lead is refused with 409.',
        body: IdentifyInputSchema,
        response: {
          200: Type.Object({
            anonymousId: Type.String(),
            leadId: Type.String(),
            leadCreated: Type.Boolean(),
            linked: Type.Boolean(),
            moved: Type.Integer(),
          }),
          '4xx': Problem,
        },
      },
    },
    async (request) => {
      const workspace = await workspaces.getWorkspace(request.principal.workspaceId);
      return events.identify(workspace, request.body);
    },
  );
}
