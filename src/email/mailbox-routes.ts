import Type from 'typebox';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import type { HttpApp } from '../http/types.ts';
import type { MailboxMessage } from './model.ts';
import type { MailService } from './service.ts';

const Summary = {
  id: Type.String(),
  from: Type.String(),
  to: Type.Array(Type.String()),
  subject: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
};

const SummarySchema = Type.Object(Summary);

const MessageSchema = Type.Object({
  ...Summary,
  replyTo: Type.Union([Type.String(), Type.Null()]),
  text: Type.String(),
  html: Type.Union([Type.String(), Type.Null()]),
  headers: Type.Record(Type.String(), Type.String()),
});

function summaryJson(m: MailboxMessage) {
  return {
    id: m.id,
    from: m.from,
    to: m.to,
    subject: m.subject,
    createdAt: new Date(m.createdAt).toISOString(),
  };
}

function messageJson(m: MailboxMessage) {
  return { ...summaryJson(m), replyTo: m.replyTo, text: m.text, html: m.html, headers: m.headers };
}

/** The dev mailbox: mail Leadline would have sent, had SMTP been configured. Admin keys only (it holds lead data). */
export function registerMailboxRoutes(app: HttpApp, mail: MailService): void {
  const tags = ['mailbox'];
  app.get(
    '/api/v1/mailbox',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Messages in the dev mailbox, newest first',
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            cursor: Type.Optional(
              Type.String({ maxLength: 200, description: 'nextCursor of the previous page' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            transport: Type.Union([Type.Literal('smtp'), Type.Literal('mailbox')], {
              description: 'mailbox: mail is kept here; smtp: mail is sent (and this list stays empty)',
            }),
            data: Type.Array(SummarySchema),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const before =
        request.query.cursor === undefined ? undefined : decodeCursor('mailbox', request.query.cursor);
      const list = await mail.mailbox.list(request.principal.workspaceId, limit, before);
      const last = list[list.length - 1];
      return {
        transport: mail.transport,
        data: list.map(summaryJson),
        nextCursor: list.length === limit && last ? encodeCursor('mailbox', last.createdAt, last.id) : null,
      };
    },
  );

  app.get(
    '/api/v1/mailbox/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'One message of the dev mailbox, with its bodies and headers',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: MessageSchema },
      },
    },
    async (request) => messageJson(await mail.mailbox.get(request.principal.workspaceId, request.params.id)),
  );

  app.delete(
    '/api/v1/mailbox',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Empty the dev mailbox',
        response: { 200: Type.Object({ deleted: Type.Integer() }) },
      },
    },
    async (request) => ({ deleted: await mail.mailbox.clear(request.principal.workspaceId) }),
  );
}
