import { Readable } from 'node:stream';
import { MIMEType } from 'node:util';
import type { Multipart, MultipartFile } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { DomainError, pointer, validationError } from '../errors.ts';
import type { HttpApp } from '../http/types.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import { exportFormats } from './export.ts';
import type { ImportService } from './service.ts';

export interface ImportRouteDeps {
  imports: ImportService;
  workspaces: WorkspaceService;
}

/** Most rejected rows one import response lists; the counts always cover them all. (1,000) */
export const MAX_LISTED_REJECTS = 1000;

const Problem = Type.Object({}, { additionalProperties: true });
const FieldErrorSchema = Type.Object({ path: Type.String(), message: Type.String() });

const ImportResultSchema = Type.Object({
  dryRun: Type.Boolean(),
  rows: Type.Integer(),
  created: Type.Integer(),
  updated: Type.Integer(),
  rejected: Type.Integer(),
  rejects: Type.Array(
    Type.Object({ row: Type.Integer(), line: Type.Integer(), errors: Type.Array(FieldErrorSchema) }),
  ),
  /** More rows were rejected than `rejects` lists. */
  rejectsTruncated: Type.Boolean(),
});

/**
 * A multipart body the parser could not read: no boundary in its Content-Type, or cut off
 * before its closing boundary. The client's fault, so a 400 (the error handler answers a
 * client error's `statusCode` with a problem), where the parser's plain Error would be a 500.
 */
class UnreadableUpload extends Error {
  readonly statusCode = 400;

  constructor(cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`The multipart/form-data body cannot be read: ${reason}.`, { cause });
    this.name = 'UnreadableUpload';
  }
}

/** The error to answer for a failed upload: the parser's own client errors (413, 400) as they are. */
function uploadError(error: unknown): unknown {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status < 500 ? error : new UnreadableUpload(error);
}

type UploadParts = AsyncIterator<Multipart>;

/** The next file part of an upload (form fields are passed over), or undefined at its end. */
async function nextFile(parts: UploadParts): Promise<MultipartFile | undefined> {
  try {
    for (let next = await parts.next(); !next.done; next = await parts.next())
      if (next.value.type === 'file') return next.value;
    return undefined;
  } catch (error) {
    throw uploadError(error);
  }
}

/**
 * The chunks of an upload's file, then a look at the rest of the upload: a second file is
 * refused by name rather than dropped unread. The look comes once the file is read, before
 * the importer sees its end, so it fails the import before its last round is written (the
 * rows of a file that size are written as they come, and committed rounds stay, as when any
 * input fails).
 */
async function* onlyFile(file: MultipartFile, parts: UploadParts): AsyncGenerator<unknown> {
  try {
    yield* file.file;
  } catch (error) {
    throw uploadError(error);
  }
  const other = await nextFile(parts);
  if (other)
    throw validationError(
      [
        {
          path: `/body/${pointer(other.fieldname)}`,
          message: `is a second file ("${other.filename}"): send one CSV file per import`,
        },
      ],
      'The upload has more than one file.',
    );
}

/**
 * The charset a text/csv body's Content-Type names (`text/csv; charset=windows-1252`), if any.
 * A multipart upload's file part names none that reaches us: its encoding is guessed.
 */
function namedCharset(request: FastifyRequest): string | undefined {
  const type = request.headers['content-type'];
  if (request.isMultipart() || !type) return undefined;
  try {
    return new MIMEType(type).params.get('charset') ?? undefined;
  } catch {
    // Fastify matched the type already; a parameter list MIMEType cannot read names no charset.
    return undefined;
  }
}

/**
 * The CSV of an import request: the one file of a multipart form, or the raw body sent as
 * text/csv (the server's content-type parser hands it over unread). Either is a stream the
 * importer pulls from at its own pace.
 */
async function csvBody(request: FastifyRequest): Promise<AsyncIterable<unknown>> {
  if (request.isMultipart()) {
    // Two files, not the server's one: a second file is then a part we can name (`onlyFile`),
    // not a bare "files limit" error.
    const parts = request.parts({ limits: { files: 2 } });
    const file = await nextFile(parts);
    if (!file)
      throw validationError([{ path: '/body', message: 'must contain one file field with the CSV' }]);
    return onlyFile(file, parts);
  }
  if (request.body instanceof Readable) return request.body;
  throw new DomainError(
    'UNSUPPORTED_MEDIA_TYPE',
    'Send the CSV as multipart/form-data (one file field) or as the body with Content-Type: text/csv.',
  );
}

export function registerImportRoutes(app: HttpApp, { imports, workspaces }: ImportRouteDeps): void {
  app.post(
    '/api/v1/imports',
    {
      schema: {
        tags: ['imports'],
        summary:
          'Import leads from a CSV file (HubSpot, Salesforce or any export with an email or phone column)',
        description:
          'Send the file as multipart/form-data (one file field) or as a text/csv body. Columns are ' +
          'matched by header (HubSpot and Salesforce names, or our field names); `map` overrides them ' +
          '("Column=field,Other=properties.foo,Junk=-"). Rows are written in batches as they arrive; ' +
          'bad rows are reported (at most 1,000 listed) and written nowhere. Re-importing a file ' +
          'updates the same leads. `dryRun=true` validates and counts without writing. The file is read ' +
          'in the charset its Content-Type names (text/csv; charset=windows-1252), else as UTF-8 when its ' +
          'first 64 KiB are UTF-8 (a BOM also names UTF-8 or UTF-16), else as windows-1252.',
        consumes: ['multipart/form-data', 'text/csv'],
        querystring: Type.Object(
          {
            dryRun: Type.Optional(Type.Boolean()),
            map: Type.Optional(Type.String({ maxLength: 10_000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: ImportResultSchema, '4xx': Problem },
      },
    },
    async (request) => {
      const workspace = await workspaces.getWorkspace(request.principal.workspaceId);
      const source = await csvBody(request);
      const rejects: Array<{ row: number; line: number; errors: Array<{ path: string; message: string }> }> =
        [];
      const summary = await imports.importCsv(source, {
        workspace,
        map: request.query.map,
        dryRun: request.query.dryRun,
        encoding: namedCharset(request),
        paths: { file: '/body', map: '/query/map', encoding: '/headers/content-type' },
        onReject: ({ row, line, errors }) => {
          if (rejects.length < MAX_LISTED_REJECTS) rejects.push({ row, line, errors });
        },
      });
      return {
        dryRun: summary.dryRun,
        rows: summary.rows,
        created: summary.created,
        updated: summary.updated,
        rejected: summary.rejected,
        rejects,
        rejectsTruncated: summary.rejected > rejects.length,
      };
    },
  );

  app.get(
    '/api/v1/exports/leads',
    {
      schema: {
        tags: ['imports'],
        summary: 'Export every lead of the workspace as CSV or JSON lines (streamed)',
        description:
          'All non-merged leads, archived ones included, oldest first. CSV: one column per lead ' +
          'field, then `properties.<key>` per custom property; cells a spreadsheet would run as a ' +
          'formula are prefixed with a quote. JSON lines: one lead per line, as GET /api/v1/leads/{id}.',
        produces: ['text/csv', 'application/x-ndjson'],
        querystring: Type.Object(
          { format: Type.Optional(Type.Enum(exportFormats)) },
          { additionalProperties: false },
        ),
        response: { '4xx': Problem },
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'csv';
      const stream = Readable.from(imports.exportLeads(request.principal.workspaceId, format), {
        objectMode: false,
      });
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="leads.${format}"`)
        .send(stream);
    },
  );
}
