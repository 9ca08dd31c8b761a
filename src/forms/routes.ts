import Type from 'typebox';
import type { Config } from '../config.ts';
import { DomainError } from '../errors.ts';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import type { HttpApp } from '../http/types.ts';
import { type Principal, scopeAllows } from '../workspaces/model.ts';
import { registerMagnetFileRoutes } from './magnet-routes.ts';
import {
  type Form,
  fieldTypes,
  formStatuses,
  MAX_CONSENTS,
  MAX_FIELDS,
  MAX_NOTIFY,
  MAX_OPTIONS,
  MAX_ORIGINS,
} from './model.ts';
import type { FormService } from './service.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const text = (maxLength: number, minLength = 0) => Type.String({ minLength, maxLength });
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

const Slug = Type.String({
  pattern: '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$',
  description: 'the public address /f/{slug}: lower-case letters, digits and dashes; unique across Leadline',
});

const OptionSchema = Type.Object(
  { value: text(200, 1), label: text(300, 1) },
  { additionalProperties: false },
);

const ValidationSchema = Type.Object(
  {
    minLength: Type.Optional(Type.Integer({ minimum: 0, maximum: 20_000 })),
    maxLength: Type.Optional(Type.Integer({ minimum: 1, maximum: 20_000 })),
    pattern: Type.Optional(text(300, 1)),
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);

const FieldSchema = Type.Object(
  {
    name: text(64, 1),
    type: Type.Enum(fieldTypes),
    label: Type.Optional(text(300)),
    placeholder: Type.Optional(text(300)),
    help: Type.Optional(text(1000)),
    required: Type.Optional(Type.Boolean()),
    options: Type.Optional(Type.Array(OptionSchema, { minItems: 1, maxItems: MAX_OPTIONS })),
    maps: Type.Optional(
      Type.String({
        maxLength: 120,
        description:
          'email, firstName, lastName, phone, company, jobTitle, companySize, industry, country, city, website, or properties.<key>',
      }),
    ),
    validation: Type.Optional(ValidationSchema),
    defaultValue: Type.Optional(text(2000)),
  },
  { additionalProperties: false },
);

const ConsentSchema = Type.Object(
  {
    purpose: text(40, 1),
    text: text(2000, 1),
    version: text(50, 1),
    privacyUrl: Type.Optional(text(2000, 1)),
    required: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const ThankYouSchema = Type.Object(
  { message: Type.Optional(text(2000)), redirectUrl: Type.Optional(text(2000, 1)) },
  { additionalProperties: false },
);
const LeadMagnetSchema = Type.Object(
  {
    title: text(300, 1),
    url: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2000,
        description:
          'an http(s) link; without it, a new title for the form’s file (uploaded with PUT /api/v1/forms/{id}/lead-magnet/file)',
      }),
    ),
  },
  { additionalProperties: false },
);
const ProgressiveSchema = Type.Object(
  {
    queue: Type.Array(text(64, 1), { maxItems: MAX_FIELDS }),
    maxFields: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_FIELDS })),
  },
  { additionalProperties: false },
);
const SpamSchema = Type.Object(
  {
    honeypot: Type.Optional(Type.Boolean()),
    minFillSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
    rejectDisposable: Type.Optional(Type.Boolean()),
    perIpPerMinute: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    perFormPerMinute: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    duplicateWindowSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
  },
  { additionalProperties: false },
);

/** Every setting a form takes; `name`, `slug` and `fields` are required to create one. */
const formProperties = {
  name: text(200, 1),
  slug: Slug,
  status: Type.Enum(formStatuses),
  fields: Type.Array(FieldSchema, { minItems: 1, maxItems: MAX_FIELDS }),
  consents: Type.Array(ConsentSchema, { maxItems: MAX_CONSENTS }),
  submitLabel: Nullable(text(100, 1)),
  thankYou: Nullable(ThankYouSchema),
  leadMagnet: Nullable(LeadMagnetSchema),
  notify: Type.Array(text(320, 1), { maxItems: MAX_NOTIFY }),
  doubleOptIn: Type.Boolean(),
  allowedOrigins: Type.Array(text(300, 1), { maxItems: MAX_ORIGINS }),
  progressive: Nullable(ProgressiveSchema),
  spam: SpamSchema,
  source: Nullable(text(200, 1)),
};

const optional = Object.fromEntries(
  Object.entries(formProperties).map(([key, schema]) => [key, Type.Optional(schema)]),
) as { [K in keyof typeof formProperties]: Type.TOptional<(typeof formProperties)[K]> };

const CreateBody = Type.Object(
  { ...optional, name: formProperties.name, slug: formProperties.slug, fields: formProperties.fields },
  { additionalProperties: false },
);
const PatchBody = Type.Object(optional, { additionalProperties: false, minProperties: 1 });

const FormSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  slug: Type.String(),
  status: Type.Enum(formStatuses),
  archived: Type.Boolean(),
  fields: Type.Array(
    Type.Object({
      name: Type.String(),
      type: Type.Enum(fieldTypes),
      label: Type.Optional(Type.String()),
      placeholder: Type.Optional(Type.String()),
      help: Type.Optional(Type.String()),
      required: Type.Optional(Type.Boolean()),
      options: Type.Optional(Type.Array(Type.Object({ value: Type.String(), label: Type.String() }))),
      maps: Type.Optional(Type.String()),
      validation: Type.Optional(
        Type.Object({
          minLength: Type.Optional(Type.Integer()),
          maxLength: Type.Optional(Type.Integer()),
          pattern: Type.Optional(Type.String()),
          min: Type.Optional(Type.Number()),
          max: Type.Optional(Type.Number()),
        }),
      ),
      defaultValue: Type.Optional(Type.String()),
    }),
  ),
  consents: Type.Array(
    Type.Object({
      purpose: Type.String(),
      text: Type.String(),
      version: Type.String(),
      privacyUrl: Type.Optional(Type.String()),
      required: Type.Optional(Type.Boolean()),
    }),
  ),
  submitLabel: Nullable(Type.String()),
  thankYou: Nullable(
    Type.Object({ message: Type.Optional(Type.String()), redirectUrl: Type.Optional(Type.String()) }),
  ),
  leadMagnet: Nullable(
    Type.Object({
      title: Type.String(),
      url: Type.Optional(Type.String({ description: 'a link to a file elsewhere' })),
      file: Type.Optional(
        Type.Object(
          {
            name: Type.String(),
            contentType: Type.String(),
            size: Type.Integer({ description: 'bytes' }),
            sha256: Type.String({ description: 'SHA-256 of the content, hex' }),
          },
          { description: 'a file Leadline hosts: each submission gets its own download link' },
        ),
      ),
    }),
  ),
  notify: Type.Array(Type.String()),
  doubleOptIn: Type.Boolean(),
  allowedOrigins: Type.Array(Type.String()),
  progressive: Nullable(
    Type.Object({ queue: Type.Array(Type.String()), maxFields: Type.Optional(Type.Integer()) }),
  ),
  spam: Type.Object({
    honeypot: Type.Boolean(),
    minFillSeconds: Type.Integer(),
    rejectDisposable: Type.Boolean(),
    perIpPerMinute: Type.Integer(),
    perFormPerMinute: Type.Integer(),
    duplicateWindowSeconds: Type.Integer(),
  }),
  source: Nullable(Type.String()),
  urls: Type.Object(
    {
      hosted: Type.String({ description: 'the hosted page' }),
      definition: Type.String({ description: 'the JSON embed.js renders from' }),
      submit: Type.String({ description: 'where submissions are posted' }),
    },
    { description: 'public addresses of the form' },
  ),
  embed: Type.String({ description: 'HTML to paste into a page to embed the form with embed.js' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  archivedAt: Nullable(Type.String({ format: 'date-time' })),
});

const SubmissionSchema = Type.Object({
  id: Type.String(),
  formId: Type.String(),
  leadId: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

/**
 * Who may make a form email its submissions somewhere (`notify`): an admin key, as for webhooks
 * and alert channels. Each email carries the person's answers and consents out of Leadline, so a
 * write key (a script that captures leads) must not be able to add a recipient.
 */
function requireAdminToNotify(principal: Principal, notify: readonly string[] | null | undefined): void {
  if (!notify || notify.length === 0 || scopeAllows(principal.scope, 'admin')) return;
  throw new DomainError(
    'FORBIDDEN',
    'Emailing submissions to an address (notify) needs an admin key, as webhooks do.',
    [{ path: '/notify', message: 'needs an admin key' }],
  );
}

export function registerFormRoutes(
  app: HttpApp,
  forms: FormService,
  config: Pick<Config, 'publicUrl'>,
): void {
  const tags = ['forms'];
  const base = config.publicUrl;

  /** The API's view of a form: everything but its secret, plus its public addresses. */
  function formJson(form: Form) {
    const slug = encodeURIComponent(form.slug);
    return {
      id: form.id,
      name: form.name,
      slug: form.slug,
      status: form.status,
      archived: form.archivedAt !== null,
      fields: form.fields,
      consents: form.consents,
      submitLabel: form.submitLabel,
      thankYou: form.thankYou,
      leadMagnet: form.leadMagnet,
      notify: form.notify,
      doubleOptIn: form.doubleOptIn,
      allowedOrigins: form.allowedOrigins,
      progressive: form.progressive,
      spam: form.spam,
      source: form.source,
      urls: {
        hosted: `${base}/f/${slug}`,
        definition: `${base}/f/${slug}/definition`,
        submit: `${base}/f/${slug}`,
      },
      embed: `<div data-leadline-form="${form.slug}"></div>\n<script async src="${base}/embed.js"></script>`,
      createdAt: iso(form.createdAt),
      updatedAt: iso(form.updatedAt),
      archivedAt: form.archivedAt === null ? null : iso(form.archivedAt),
    };
  }

  app.post(
    '/api/v1/forms',
    {
      schema: {
        tags,
        summary: 'Create a form (hosted at /f/{slug}, embeddable with embed.js)',
        description: '409 FORM_EXISTS when another form (of any workspace) has the slug.',
        body: CreateBody,
        response: { 201: FormSchema },
      },
    },
    async (request, reply) => {
      requireAdminToNotify(request.principal, request.body.notify);
      const form = await forms.create(request.principal.workspaceId, request.body);
      return reply.status(201).send(formJson(form));
    },
  );

  app.get(
    '/api/v1/forms',
    {
      schema: {
        tags,
        summary: 'The workspace’s forms, newest first',
        querystring: Type.Object(
          {
            includeArchived: Type.Optional(Type.Boolean({ default: false })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ data: Type.Array(FormSchema), nextCursor: Nullable(Type.String()) }) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const before =
        request.query.cursor === undefined ? undefined : decodeCursor('forms', request.query.cursor);
      const list = await forms.list(request.principal.workspaceId, {
        includeArchived: request.query.includeArchived ?? false,
        limit,
        before,
      });
      const last = list[list.length - 1];
      return {
        data: list.map(formJson),
        nextCursor: list.length === limit && last ? encodeCursor('forms', last.createdAt, last.id) : null,
      };
    },
  );

  app.get(
    '/api/v1/forms/:id',
    { schema: { tags, summary: 'One form', params: IdParams, response: { 200: FormSchema } } },
    async (request) => formJson(await forms.get(request.principal.workspaceId, request.params.id)),
  );

  app.patch(
    '/api/v1/forms/:id',
    {
      schema: {
        tags,
        summary: 'Change a form (lists such as fields are replaced whole; null clears an optional setting)',
        params: IdParams,
        body: PatchBody,
        response: { 200: FormSchema },
      },
    },
    async (request) => {
      requireAdminToNotify(request.principal, request.body.notify);
      return formJson(await forms.update(request.principal.workspaceId, request.params.id, request.body));
    },
  );

  app.delete(
    '/api/v1/forms/:id',
    {
      schema: {
        tags,
        summary: 'Archive a form: it stops taking submissions (410) and leaves the list; its data stays',
        params: IdParams,
      },
    },
    async (request, reply) => {
      await forms.archive(request.principal.workspaceId, request.params.id);
      return reply.status(204).send();
    },
  );

  registerMagnetFileRoutes(app, forms, { schema: FormSchema, json: formJson });

  app.get(
    '/api/v1/forms/:id/submissions',
    {
      schema: {
        tags,
        summary: 'A form’s submissions, newest first (each with the lead it captured)',
        params: IdParams,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ data: Type.Array(SubmissionSchema), nextCursor: Nullable(Type.String()) }),
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const submissionList = `forms/${request.params.id}/submissions`;
      const before =
        request.query.cursor === undefined ? undefined : decodeCursor(submissionList, request.query.cursor);
      const list = await forms.submissions(request.principal.workspaceId, request.params.id, limit, before);
      const last = list[list.length - 1];
      return {
        data: list.map((s) => ({ ...s, createdAt: iso(s.createdAt) })),
        nextCursor:
          list.length === limit && last ? encodeCursor(submissionList, last.createdAt, last.id) : null,
      };
    },
  );
}
