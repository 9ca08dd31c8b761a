import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError } from '../errors.ts';
import { isOpen, type UtmField, utmFields } from '../forms/model.ts';
import { renderFormHtml } from '../forms/render.ts';
import type { FormService } from '../forms/service.ts';
import type { Workspace } from '../workspaces/model.ts';
import type { LandingPage, LandingVariant } from './model.ts';
import { renderLandingPage } from './render.ts';

/** What a landing page needs of the forms domain (src/forms/service.ts). */
export type PageForms = Pick<FormService, 'getPublic' | 'fieldsFor' | 'token'>;

/** t.js's anonymous id cookie, readable here when the visitor's browser set it on this origin. */
const ANONYMOUS_ID_COOKIE = 'll_aid';

/** One cookie's value from the Cookie header (no plugin: two names are all these pages read). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at < 0 || part.slice(0, at).trim() !== name) continue;
    const raw = part.slice(at + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return undefined;
}

/** The first text value of a query parameter or header, if not empty. */
export function firstValue(value: unknown): string | undefined {
  const one = Array.isArray(value) ? value[0] : value;
  return typeof one === 'string' && one !== '' ? one : undefined;
}

/** An HTML answer nobody caches: each view has a fresh form token, each visitor a variant. */
export function sendHtml(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .send(html);
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
  ): Promise<{ formHtml: string | null; formNotice: string | null }> {
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
    const query = request.query as Record<string, unknown>;
    const utm: Partial<Record<UtmField, string>> = {};
    for (const name of utmFields) {
      const value = firstValue(query[name]);
      if (value) utm[name] = value.slice(0, 200);
    }
    const cookieAid = readCookie(request.headers.cookie, ANONYMOUS_ID_COOKIE);
    const aid = cookieAid && cookieAid.length <= 128 ? cookieAid : undefined;
    const formHtml = renderFormHtml(form, {
      token: forms.token(form),
      // A known visitor is asked what is not known of them yet (progressive profiling).
      fields: await forms.fieldsFor(workspace, form, aid),
      hidden: {
        // Filled here so that a visitor without JavaScript is attributed too.
        pageUrl: `${publicUrl}${request.url}`.slice(0, 2000),
        referrer: firstValue(request.headers.referer)?.slice(0, 2000),
        variant: variant.key,
        anonymousId: aid,
        utm,
      },
    });
    return { formHtml, formNotice: null };
  }

  return async function pageHtml(
    request: FastifyRequest,
    workspace: Pick<Workspace, 'slug'>,
    page: LandingPage,
    variant: LandingVariant,
    { preview }: { preview: boolean },
  ): Promise<string> {
    const { formHtml, formNotice } = await formFor(request, page, variant);
    return renderLandingPage({
      page,
      variant,
      workspaceSlug: workspace.slug,
      canonicalUrl: `${publicUrl}/l/${page.slug}`,
      formHtml,
      formNotice,
      preview,
    });
  };
}

export type PageHtml = ReturnType<typeof createPageHtml>;
