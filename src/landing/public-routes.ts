import { serveClientScript } from '../client/bundle.ts';
import { isDomainError } from '../errors.ts';
import { messagePage } from '../forms/html.ts';
import type { HttpApp } from '../http/types.ts';
import { chooseVariant, variantCookieName } from './model.ts';
import { type PageHtml, sendHtml } from './page-html.ts';
import type { LandingService } from './service.ts';

export interface LandingPublicDeps {
  landing: LandingService;
  pageHtml: PageHtml;
  /** Decides whether the variant cookie is `Secure` (an https public URL). */
  publicUrl: string;
  /** In [0, 1): the variant pick of a new visitor. (Default: Math.random) */
  random?: () => number;
}

/** How long a visitor stays on the variant they were shown: 90 days, in seconds. */
const VARIANT_COOKIE_MAX_AGE = 90 * 24 * 60 * 60;

const notFoundPage = () => messagePage('Page not found', 'There is no page at this address.');

/**
 * Public routes of the capture surface that live here: `GET /l/{slug}` (landing pages) and
 * `GET /embed.js` (the script that renders forms on other sites; built by src/client/bundle.ts).
 */
export function registerLandingPublicRoutes(app: HttpApp, deps: LandingPublicDeps): void {
  const { landing, pageHtml } = deps;
  const random = deps.random ?? Math.random;
  const secure = deps.publicUrl.startsWith('https://');
  // The path browsers see: behind a proxy's prefix (`https://acme.example/leadline`) the page is
  // `/leadline/l/{slug}`, and a cookie for `/l/{slug}` would never be sent back (no sticky variant).
  const basePath = new URL(deps.publicUrl).pathname.replace(/\/+$/, '');

  app.get('/embed.js', { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
    serveClientScript(reply, 'embed'),
  );

  app.get(
    '/l/:slug',
    {
      config: { public: true },
      schema: { hide: true },
    },
    async (request, reply) => {
      const { slug } = request.params as { slug: string };
      // A page for people: an address no slug can have is a page that is not there, not a 400.
      if (slug.length > 64) return sendHtml(reply, 404, notFoundPage());
      const found = await landing.getPublic(slug).catch((error: unknown) => {
        if (isDomainError(error) && error.code === 'LANDING_PAGE_NOT_FOUND') return undefined;
        throw error;
      });
      if (!found) return sendHtml(reply, 404, notFoundPage());
      const { workspace, page } = found;
      if (page.status === 'archived')
        return sendHtml(
          reply,
          410,
          messagePage('Page no longer available', 'This page has been taken down.'),
        );

      const cookieName = variantCookieName(page.slug);
      const preview = new URL(request.url, deps.publicUrl).searchParams.get('variant') || undefined;
      const choice = chooseVariant(page.variants, {
        preview,
        remembered: request.cookies[cookieName],
        random: random(),
      });
      if (!choice) return sendHtml(reply, 404, notFoundPage());
      const { html, policy } = await pageHtml(request, workspace, page, choice.variant, {
        preview: preview !== undefined && preview === choice.variant.key,
      });
      if (choice.remember) {
        reply.header(
          'set-cookie',
          `${cookieName}=${choice.variant.key}; Path=${basePath}/l/${page.slug}; Max-Age=${VARIANT_COOKIE_MAX_AGE}; SameSite=Lax; HttpOnly${secure ? '; Secure' : ''}`,
        );
      }
      // The variant differs per visitor: no shared cache may keep one for everybody.
      reply.header('vary', 'cookie');
      return sendHtml(reply, 200, html, policy);
    },
  );
}
