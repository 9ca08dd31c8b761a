import Type from 'typebox';
import { validationError } from '../errors.ts';
import { Nullable } from '../http/schemas.ts';
import type { HttpApp } from '../http/types.ts';
import {
  chooseVariant,
  type LandingPage,
  type LandingPageInput,
  landingStatuses,
  MAX_BODY,
  MAX_VARIANTS,
  MAX_WEIGHT,
  SLUG_PATTERN,
  VARIANT_KEY_PATTERN,
} from './model.ts';
import { type PageHtml, sendHtml } from './page-html.ts';
import type { LandingService } from './service.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Problem = Type.Object({}, { additionalProperties: true });
const Url = Type.String({ maxLength: 2000 });

const CtaInput = Type.Object(
  {
    label: Type.String({ minLength: 1, maxLength: 100 }),
    url: Type.Optional(Nullable(Url)),
  },
  {
    additionalProperties: false,
    description: 'A button: to `url`, or (without one) down to the form of the variant',
  },
);

const VariantInput = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 32, pattern: VARIANT_KEY_PATTERN }),
    weight: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_WEIGHT,
        description: 'Share of new visitors, relative to the other weights; 0 stops showing it (Default: 1)',
      }),
    ),
    headline: Type.String({ minLength: 1, maxLength: 300 }),
    body: Type.Optional(
      Type.String({ maxLength: MAX_BODY, description: 'Markdown; raw HTML is shown as text' }),
    ),
    imageUrl: Type.Optional(Nullable(Url)),
    imageAlt: Type.Optional(
      Nullable(
        Type.String({ maxLength: 500, description: 'Required with an image; "" for a decorative one' }),
      ),
    ),
    formSlug: Type.Optional(
      Nullable(Type.String({ maxLength: 64, description: 'A form of this workspace' })),
    ),
    cta: Type.Optional(Nullable(CtaInput)),
  },
  { additionalProperties: false },
);

const Variants = Type.Array(VariantInput, { minItems: 1, maxItems: MAX_VARIANTS });
const Slug = Type.String({ minLength: 1, maxLength: 64, pattern: SLUG_PATTERN });
const Name = Type.String({ minLength: 1, maxLength: 200 });

const CreateBody = Type.Object(
  {
    slug: Slug,
    name: Name,
    status: Type.Optional(Type.Enum(landingStatuses, { description: '(Default: published)' })),
    variants: Variants,
  },
  { additionalProperties: false },
);

const PatchBody = Type.Object(
  {
    slug: Type.Optional(Slug),
    name: Type.Optional(Name),
    status: Type.Optional(Type.Enum(landingStatuses)),
    variants: Type.Optional(Variants),
  },
  { additionalProperties: false },
);

const LandingPageSchema = Type.Object({
  id: Type.String(),
  slug: Type.String(),
  name: Type.String(),
  status: Type.Enum(landingStatuses),
  url: Type.String({ description: 'The public address of the page' }),
  variants: Type.Array(
    Type.Object({
      key: Type.String(),
      weight: Type.Integer(),
      headline: Type.String(),
      body: Type.String(),
      imageUrl: Nullable(Type.String()),
      imageAlt: Nullable(Type.String()),
      formSlug: Nullable(Type.String()),
      cta: Nullable(Type.Object({ label: Type.String(), url: Nullable(Type.String()) })),
    }),
  ),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export interface LandingRouteDeps {
  landing: LandingService;
  pageHtml: PageHtml;
  /** Answers carry the page's public address. */
  publicUrl: string;
}

export function registerLandingRoutes(
  app: HttpApp,
  { landing, pageHtml, publicUrl }: LandingRouteDeps,
): void {
  const tags = ['landing pages'];
  const json = (page: LandingPage) => ({
    id: page.id,
    slug: page.slug,
    name: page.name,
    status: page.status,
    url: `${publicUrl}/l/${page.slug}`,
    variants: page.variants,
    createdAt: iso(page.createdAt),
    updatedAt: iso(page.updatedAt),
  });

  app.post(
    '/api/v1/landing-pages',
    {
      schema: {
        tags,
        summary: 'Create a landing page',
        description:
          'Public at `/l/{slug}` once published. 409 LANDING_PAGE_EXISTS when the slug is taken (slugs are global, like host names).',
        body: CreateBody,
        response: { 201: LandingPageSchema, '4xx': Problem },
      },
    },
    async (request, reply) => {
      const page = await landing.create(request.principal.workspaceId, request.body as LandingPageInput);
      return reply.status(201).send(json(page));
    },
  );

  app.get(
    '/api/v1/landing-pages',
    {
      schema: {
        tags,
        summary: 'List landing pages (oldest first; archived ones only with status=archived)',
        querystring: Type.Object(
          { status: Type.Optional(Type.Enum(landingStatuses)) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ data: Type.Array(LandingPageSchema) }), '4xx': Problem },
      },
    },
    async (request) => ({
      data: (await landing.list(request.principal.workspaceId, request.query)).map(json),
    }),
  );

  app.get(
    '/api/v1/landing-pages/:id',
    {
      schema: {
        tags,
        summary: 'One landing page',
        params: IdParams,
        response: { 200: LandingPageSchema, '4xx': Problem },
      },
    },
    async (request) => json(await landing.get(request.principal.workspaceId, request.params.id)),
  );

  app.patch(
    '/api/v1/landing-pages/:id',
    {
      schema: {
        tags,
        summary: 'Change a landing page (only the fields given; `variants` replaces the list)',
        params: IdParams,
        body: PatchBody,
        response: { 200: LandingPageSchema, '4xx': Problem },
      },
    },
    async (request) =>
      json(
        await landing.update(
          request.principal.workspaceId,
          request.params.id,
          request.body as LandingPageInput,
        ),
      ),
  );

  app.get(
    '/api/v1/landing-pages/:id/preview',
    {
      schema: {
        tags,
        summary: 'The page as a visitor would see it (text/html), in any status',
        description:
          'For checking a draft before publishing: `variant` picks the variant (default: the first with a weight). Nothing is remembered; the form in it is live.',
        params: IdParams,
        querystring: Type.Object(
          { variant: Type.Optional(Type.String({ maxLength: 32 })) },
          { additionalProperties: false },
        ),
        produces: ['text/html'],
        response: { 200: Type.String({ description: 'The HTML page' }), '4xx': Problem },
      },
    },
    async (request, reply) => {
      const { workspace, page } = await landing.getWithWorkspace(
        request.principal.workspaceId,
        request.params.id,
      );
      const key = request.query.variant;
      const variant =
        key === undefined
          ? chooseVariant(page.variants, { random: 0 })?.variant
          : page.variants.find((v) => v.key === key);
      if (!variant)
        throw validationError([{ path: '/query/variant', message: 'is not a variant of this page' }]);
      const { html, policy } = await pageHtml(request, workspace, page, variant, { preview: true });
      return sendHtml(reply, 200, html, policy);
    },
  );

  app.delete(
    '/api/v1/landing-pages/:id',
    {
      schema: {
        tags,
        summary: 'Archive a landing page',
        description:
          'Its address answers 410 from then on and the slug stays taken; PATCH `status` brings it back.',
        params: IdParams,
        response: { 200: LandingPageSchema, '4xx': Problem },
      },
    },
    async (request) => json(await landing.archive(request.principal.workspaceId, request.params.id)),
  );
}
