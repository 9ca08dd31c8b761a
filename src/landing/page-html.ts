import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError } from '../errors.ts';
import { type Form, isOpen, type UtmField, utmFields } from '../forms/model.ts';
import { renderFormHtml } from '../forms/render.ts';
import type { FormService } from '../forms/service.ts';
import { privacySignal } from '../tracking/model.ts';
import type { Workspace } from '../workspaces/model.ts';
import type { LandingPage, LandingVariant } from './model.ts';
import { identifyScriptSource, renderLandingPage } from './render.ts';

/** What a landing page needs of the forms domain (src/forms/service.ts). */
export type PageForms = Pick<FormService, 'getPublic' | 'fieldsFor' | 'token'>;

/** t.js's anonymous id cookie, readable here when the visitor's browser set it on this origin. */
const ANONYMOUS_ID_COOKIE = 'll_aid';

/**
 * What every page here allows, as the hosted form's page does (src/forms/public-routes.ts):
 * inline styles, images of this site and the web (http too: a landing page's image may be an
 * http URL), no `<base>`, nothing else unless a page's own policy adds it.
 */
const BASE_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: http: data:; base-uri 'none'";

/** The policy of pages without script or form: not found, taken down. */
export const MESSAGE_PAGE_POLICY = `${BASE_POLICY}; form-action 'none'`;

/**
 * A landing page's policy: scripts only from Leadline (t.js) and the page's one inline script
 * (by its hash); t.js's beacons only to Leadline; the form posts only to Leadline, and follows
 * a redirect only to its thank-you page's origin. Leadline's origin is named beside 'self'
 * because t.js and the form are addressed by LEADLINE_PUBLIC_URL, which may differ from the
 * name a visitor used.
 */
export function landingPagePolicy({
  publicUrl,
  inlineScript,
  redirectOrigin,
}: {
  publicUrl: string;
  inlineScript: boolean;
  redirectOrigin: string | undefined;
}): string {
  const own = `'self' ${new URL(publicUrl).origin}`;
  const scripts = inlineScript ? `${own} ${identifyScriptSource}` : own;
  const formTargets = redirectOrigin ? `${own} ${redirectOrigin}` : own;
  return `${BASE_POLICY}; script-src ${scripts}; connect-src ${own}; form-action ${formTargets}`;
}

/**
 * An HTML answer nobody caches (each view has a fresh form token, each visitor a variant), with
 * its content security policy. The referrer policy keeps the page's query (its UTM tags) from
 * the sites it links to.
 */
export function sendHtml(
  reply: FastifyReply,
  status: number,
  html: string,
  policy = MESSAGE_PAGE_POLICY,
): FastifyReply {
  return reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'strict-origin-when-cross-origin')
    .header('content-security-policy', policy)
    .send(html);
}

/** A landing page's HTML and the content security policy it needs. */
export interface PageAnswer {
  html: string;
  policy: string;
}

/** The origin of a form's thank-you redirect, which the form's submission is allowed to follow. */
function redirectOriginOf(form: Form): string | undefined {
  const url = form.thankYou?.redirectUrl;
  const parsed = url ? URL.parse(url) : null;
  return parsed && /^https?:$/.test(parsed.protocol) ? parsed.origin : undefined;
}

/**
 * The HTML of one variant of a page as `request`'s visitor sees it: the public page and the
 * API preview both use it. Reads only (the form, the visitor's known fields): no write.
 */
export function createPageHtml({ forms, publicUrl }: { forms: PageForms; publicUrl: string }) {
  /** The variant's form as HTML, or the notice shown in its place; neither when it has no form. */
  async function formFor(
    request: FastifyRequest,
    page: LandingPage,
    variant: LandingVariant,
  ): Promise<{ formHtml: string | null; formNotice: string | null; redirectOrigin?: string }> {
    if (variant.formSlug === null) return { formHtml: null, formNotice: null };
    // A domain error (the form is gone) leaves the page without its form rather than failing it.
    const found = await forms.getPublic(variant.formSlug).catch((error: unknown) => {
      if (isDomainError(error)) return undefined;
      throw error;
    });
    // Checked on save too; a form deleted, or re-created by another workspace, since is not shown.
    if (!found || found.workspace.id !== page.workspaceId) {
      request.log.warn({ page: page.slug, form: variant.formSlug }, 'landing page form not found');
      return { formHtml: null, formNotice: 'This form is not available.' };
    }
    const { workspace, form } = found;
    if (!isOpen(form)) return { formHtml: null, formNotice: 'This form is closed.' };
    // The first of each parameter, as the form's own page takes them.
    const query = new URL(request.url, publicUrl).searchParams;
    const utm: Partial<Record<UtmField, string>> = {};
    for (const name of utmFields) {
      const value = query.get(name);
      if (value) utm[name] = value.slice(0, 200);
    }
    // Under Global Privacy Control or Do Not Track the visitor is not recognised: t.js keeps no
    // id then, and one it kept before the signal (the cookie) is not used either.
    const signals = { gpc: [request.headers['sec-gpc']].flat()[0], dnt: [request.headers.dnt].flat()[0] };
    const cookieAid = privacySignal(signals) ? undefined : request.cookies[ANONYMOUS_ID_COOKIE];
    const aid = cookieAid && cookieAid.length <= 128 ? cookieAid : undefined;
    const formHtml = renderFormHtml(form, {
      token: forms.token(form),
      // A known visitor is asked what is not known of them yet (progressive profiling).
      fields: await forms.fieldsFor(workspace, form, aid),
      // Leadline's address, not the page's: right behind a path prefix too.
      action: `${publicUrl}/f/${encodeURIComponent(form.slug)}`,
      hidden: {
        // Filled here so that a visitor without JavaScript is attributed too.
        pageUrl: `${publicUrl}${request.url}`.slice(0, 2000),
        referrer: request.headers.referer?.slice(0, 2000) || undefined,
        variant: variant.key,
        anonymousId: aid,
        utm,
      },
    });
    return { formHtml, formNotice: null, redirectOrigin: redirectOriginOf(form) };
  }

  return async function pageHtml(
    request: FastifyRequest,
    workspace: Pick<Workspace, 'slug'>,
    page: LandingPage,
    variant: LandingVariant,
    { preview }: { preview: boolean },
  ): Promise<PageAnswer> {
    const { formHtml, formNotice, redirectOrigin } = await formFor(request, page, variant);
    const html = renderLandingPage({
      page,
      variant,
      workspaceSlug: workspace.slug,
      publicUrl,
      canonicalUrl: `${publicUrl}/l/${page.slug}`,
      formHtml,
      formNotice,
      preview,
    });
    // The inline script comes with the form (render.ts).
    return {
      html,
      policy: landingPagePolicy({ publicUrl, inlineScript: formHtml !== null, redirectOrigin }),
    };
  };
}

export type PageHtml = ReturnType<typeof createPageHtml>;
