import type { FastifyReply, FastifyRequest } from 'fastify';
import Type, { type TSchema } from 'typebox';
import { DomainError, validationError } from '../errors.ts';
import { problem, sendProblem } from '../http/errors.ts';
import type { HttpApp } from '../http/types.ts';
import { rangeAnswer } from './byte-range.ts';
import {
  attachmentDisposition,
  checkUpload,
  MAX_MAGNET_FILE_BYTES,
  magnetContentType,
} from './magnet-files.ts';
import type { StoredMagnetFile } from './magnet-store.ts';
import type { Form } from './model.ts';
import type { FormService } from './service.ts';

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

const notAFile = () =>
  new DomainError(
    'UNSUPPORTED_MEDIA_TYPE',
    'Send the file itself as the body, with its own content type (application/octet-stream when unsure); JSON, form-encoded and multipart bodies are refused.',
  );

/**
 * Sends a lead-magnet file as a download, never as a page: a file named `guide.html` (or an SVG)
 * that a browser rendered on Leadline's origin would run its scripts there (stored XSS). So:
 * `attachment`, no sniffing, and a sandboxing CSP should a browser display it all the same.
 * Byte ranges are served (byte-range.ts), so a viewer can read a large file by parts and a
 * broken download can resume; the ETag is the content's SHA-256, so `If-Range` sees a change.
 */
export function sendMagnetFile(
  request: FastifyRequest,
  reply: FastifyReply,
  file: StoredMagnetFile,
): FastifyReply {
  const size = file.content.length;
  const etag = `"${file.sha256}"`;
  reply
    .header('content-disposition', attachmentDisposition(file.name))
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; sandbox")
    .header('cache-control', 'private')
    .header('x-robots-tag', 'noindex')
    .header('accept-ranges', 'bytes')
    .header('etag', etag);
  const answer = rangeAnswer(
    size,
    etag,
    oneHeader(request.headers.range),
    oneHeader(request.headers['if-range']),
  );
  if (answer.kind === 'unsatisfiable') {
    reply.header('content-range', `bytes */${size}`);
    return sendProblem(
      reply,
      problem(
        'RANGE_NOT_SATISFIABLE',
        `The file has ${size} bytes: no part of the range asked for is in it.`,
        [{ path: '/headers/range', message: `lies outside the file's ${size} bytes` }],
      ),
    );
  }
  reply.header('content-type', file.contentType);
  if (answer.kind === 'whole') return reply.status(200).send(file.content);
  return reply
    .status(206)
    .header('content-range', `bytes ${answer.start}-${answer.end}/${size}`)
    .send(file.content.subarray(answer.start, answer.end + 1));
}

/** A request header's value (the first, should a client repeat it). */
function oneHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * `PUT|GET|DELETE /api/v1/forms/{id}/lead-magnet/file`: the form's hosted lead-magnet file. The
 * upload is the raw file as the body (what `curl --data-binary @guide.pdf` sends), up to 25 MiB:
 * its route lives in a scope of its own, whose only body parser takes any content type as bytes
 * under that limit, so no other route's parsers or limits change.
 */
export function registerMagnetFileRoutes(
  app: HttpApp,
  forms: FormService,
  /** How routes.ts answers with a form: its response schema and JSON. */
  answer: { schema: TSchema; json: (form: Form) => unknown },
): void {
  const tags = ['forms'];

  app.register(async (scope: HttpApp) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: MAX_MAGNET_FILE_BYTES },
      (_request, body, done) => done(null, body),
    );
    scope.put(
      '/api/v1/forms/:id/lead-magnet/file',
      {
        bodyLimit: MAX_MAGNET_FILE_BYTES,
        // Before the body is read: a JSON or form body is refused without buffering 25 MiB of it.
        preParsing: async (request, _reply, payload) => {
          if (magnetContentType(request.headers['content-type']) === undefined) throw notAFile();
          return payload;
        },
        schema: {
          tags,
          summary: 'Upload the form’s lead-magnet file (the raw file as the body, at most 25 MiB)',
          description:
            'The body is the file itself, with its content type (none: application/octet-stream); JSON, ' +
            'form-encoded and multipart bodies are 415. It replaces the form’s URL or earlier file; ' +
            'each submission then gets its own download link, valid 30 days. 413 above 25 MiB.',
          params: IdParams,
          querystring: Type.Object(
            {
              filename: Type.String({
                maxLength: 1000,
                description: 'the name downloads are given (1 to 255 characters, no / or \\)',
              }),
              title: Type.Optional(
                Type.String({
                  minLength: 1,
                  maxLength: 300,
                  description: 'the lead magnet’s title (default: the current one, else the file name)',
                }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: answer.schema },
        },
      },
      async (request) => {
        const contentType = magnetContentType(request.headers['content-type']);
        if (contentType === undefined) throw notAFile();
        const content = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const upload = checkUpload({ filename: request.query.filename, size: content.length });
        if (!upload.ok) throw validationError(upload.errors);
        const form = await forms.putMagnetFile(request.principal.workspaceId, request.params.id, {
          name: upload.name,
          contentType,
          content,
          title: request.query.title,
        });
        return answer.json(form);
      },
    );
  });

  app.get(
    '/api/v1/forms/:id/lead-magnet/file',
    {
      schema: {
        tags,
        summary: 'Download the form’s lead-magnet file, as visitors get it (byte ranges served: 206, 416)',
        params: IdParams,
      },
    },
    async (request, reply) =>
      sendMagnetFile(
        request,
        reply,
        await forms.magnetFile(request.principal.workspaceId, request.params.id),
      ),
  );

  app.delete(
    '/api/v1/forms/:id/lead-magnet/file',
    {
      schema: {
        tags,
        summary:
          'Remove the form’s lead-magnet file: the form has no lead magnet, and links sent stop working',
        params: IdParams,
      },
    },
    async (request, reply) => {
      await forms.removeMagnetFile(request.principal.workspaceId, request.params.id);
      return reply.status(204).send();
    },
  );
}
