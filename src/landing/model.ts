import type { FieldError } from '../errors.ts';

/**
 * Landing pages: a public page at `/l/{slug}` with a headline, a Markdown body, an image, a call
 * to action and an embedded form, in one or more weighted variants (the A/B tests of a later
 * issue read the variant a visitor saw from `_ll_variant` on their submission and from t.js).
 */

/** `draft`: not public yet (404); `published`: live; `archived`: gone (410), the slug stays taken. */
export const landingStatuses = ['draft', 'published', 'archived'] as const;
export type LandingStatus = (typeof landingStatuses)[number];

/** Most variants one page may have. */
export const MAX_VARIANTS = 10;
/** Largest weight of one variant; weights are relative to their sum. */
export const MAX_WEIGHT = 10_000;
/** Longest Markdown body, in characters. */
export const MAX_BODY = 100_000;

/** Lowercase letters, digits and inner hyphens, 1 to 64 characters: it is a public address. */
export const SLUG_PATTERN = '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$';
/** A variant key: what `_ll_variant`, the cookie and analytics carry. */
export const VARIANT_KEY_PATTERN = '^[a-z0-9][a-z0-9_-]{0,31}$';

export interface CallToAction {
  label: string;
  /** Where the button leads; null: to the page's form. */
  url: string | null;
}

export interface LandingVariant {
  key: string;
  weight: number;
  headline: string;
  /** Markdown; raw HTML in it is shown as text, never run. */
  body: string;
  imageUrl: string | null;
  /** Required with an image ('' marks it decorative). */
  imageAlt: string | null;
  /** The form of this workspace embedded on the page. */
  formSlug: string | null;
  cta: CallToAction | null;
}

export interface LandingPage {
  id: string;
  workspaceId: string;
  slug: string;
  name: string;
  status: LandingStatus;
  variants: LandingVariant[];
  createdAt: number;
  updatedAt: number;
}

export interface LandingVariantInput {
  key: string;
  weight?: number | undefined;
  headline: string;
  body?: string | undefined;
  imageUrl?: string | null | undefined;
  imageAlt?: string | null | undefined;
  formSlug?: string | null | undefined;
  cta?: { label: string; url?: string | null | undefined } | null | undefined;
}

export interface LandingPageInput {
  slug?: string | undefined;
  name?: string | undefined;
  status?: LandingStatus | undefined;
  /** Replaces the whole list when given. */
  variants?: LandingVariantInput[] | undefined;
}

const slugRe = new RegExp(SLUG_PATTERN);
const keyRe = new RegExp(VARIANT_KEY_PATTERN);

const SITE = 'https://site.invalid';

/**
 * Whether a path stays on this site as a browser resolves it: `//host`, `/\\host` and `/<tab>/host`
 * all leave it (browsers read a backslash as a slash and drop tabs and line breaks), and so
 * would a link written as any of them.
 */
function isSitePath(path: string): boolean {
  try {
    return new URL(path, SITE).origin === SITE;
  } catch {
    return false;
  }
}

/**
 * A link a visitor may be sent to: http(s), mailto/tel, or a path or fragment of this site.
 * `javascript:` and `data:` are refused, so a page cannot run script through its own links.
 */
export function isSafeLink(url: string): boolean {
  const value = url.trim();
  if (value.startsWith('#')) return true;
  if (value.startsWith('/')) return isSitePath(value);
  try {
    const parsed = new URL(value);
    return ['http:', 'https:', 'mailto:', 'tel:'].includes(parsed.protocol);
  } catch {
    return false;
  }
}

/** An image address: absolute http(s), or a path on this site. */
export function isSafeImageUrl(url: string): boolean {
  const value = url.trim();
  if (value.startsWith('/')) return isSitePath(value);
  try {
    const parsed = new URL(value);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:';
  } catch {
    return false;
  }
}

function checkVariants(input: LandingVariantInput[], errors: FieldError[]): LandingVariant[] {
  const seen = new Set<string>();
  if (input.length === 0) errors.push({ path: '/variants', message: 'must have at least one variant' });
  if (input.length > MAX_VARIANTS)
    errors.push({ path: '/variants', message: `must have at most ${MAX_VARIANTS} variants` });
  return input.map((v, i) => {
    const path = `/variants/${i}`;
    const key = v.key.trim();
    if (!keyRe.test(key))
      errors.push({
        path: `${path}/key`,
        message: 'must be 1 to 32 lowercase letters, digits, - or _, starting with a letter or digit',
      });
    else if (seen.has(key)) errors.push({ path: `${path}/key`, message: 'is the key of another variant' });
    seen.add(key);
    const weight = v.weight ?? 1;
    if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT)
      errors.push({ path: `${path}/weight`, message: `must be an integer from 0 to ${MAX_WEIGHT}` });
    const headline = v.headline.trim();
    if (headline === '') errors.push({ path: `${path}/headline`, message: 'is required' });
    const body = v.body ?? '';
    if (body.length > MAX_BODY)
      errors.push({ path: `${path}/body`, message: `must be at most ${MAX_BODY} characters` });
    const imageUrl = v.imageUrl?.trim() || null;
    const imageAlt = v.imageAlt === undefined || v.imageAlt === null ? null : v.imageAlt.trim();
    if (imageUrl !== null && !isSafeImageUrl(imageUrl))
      errors.push({ path: `${path}/imageUrl`, message: 'must be an http(s) URL or a path starting with /' });
    if (imageUrl !== null && imageAlt === null)
      errors.push({
        path: `${path}/imageAlt`,
        message: 'is required with an image (describe it, or "" when it is decorative)',
      });
    const formSlug = v.formSlug?.trim() || null;
    if (formSlug !== null && !slugRe.test(formSlug))
      errors.push({ path: `${path}/formSlug`, message: 'is not a form slug' });
    let cta: CallToAction | null = null;
    if (v.cta) {
      const label = v.cta.label.trim();
      const url = v.cta.url?.trim() || null;
      if (label === '') errors.push({ path: `${path}/cta/label`, message: 'is required' });
      if (url !== null && !isSafeLink(url))
        errors.push({
          path: `${path}/cta/url`,
          message: 'must be an http(s), mailto: or tel: URL, a path or #anchor',
        });
      if (url === null && formSlug === null)
        errors.push({
          path: `${path}/cta/url`,
          message: 'is required when the variant has no form to lead to',
        });
      cta = { label, url };
    }
    return {
      key,
      weight,
      headline,
      body,
      imageUrl,
      imageAlt: imageUrl === null ? null : imageAlt,
      formSlug,
      cta,
    };
  });
}

/**
 * A new page from `input` (`current` absent), or `current` with `input` applied (absent fields
 * stay; `variants` replaces the list). Checks every field; the service checks what needs the
 * database (the slug is free, the forms exist).
 */
export function prepareLandingPage(
  current: LandingPage | null,
  input: LandingPageInput,
  ids: { id: string; workspaceId: string },
  now: number,
): { ok: true; page: LandingPage } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const slug = input.slug?.trim() ?? current?.slug ?? '';
  if (!slugRe.test(slug))
    errors.push({
      path: '/slug',
      message: slug === '' ? 'is required' : 'must be 1 to 64 lowercase letters, digits and inner hyphens',
    });
  const name = input.name?.trim() ?? current?.name ?? '';
  if (name === '') errors.push({ path: '/name', message: 'is required' });
  const variants =
    input.variants !== undefined ? checkVariants(input.variants, errors) : (current?.variants ?? []);
  if (!current && input.variants === undefined)
    errors.push({ path: '/variants', message: 'must have at least one variant' });
  const status = input.status ?? current?.status ?? 'published';
  // A live page must be able to show something: some variant needs a weight.
  if (status === 'published' && variants.length > 0 && variants.every((v) => v.weight === 0))
    errors.push({ path: '/variants', message: 'a published page needs a variant with a weight above 0' });
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    page: {
      id: ids.id,
      workspaceId: ids.workspaceId,
      slug,
      name,
      status,
      variants,
      createdAt: current?.createdAt ?? now,
      updatedAt: now,
    },
  };
}

/** The slugs of the forms a page embeds, each once, with where they are named. */
export function embeddedForms(
  variants: readonly { formSlug?: string | null | undefined }[],
): { slug: string; path: string }[] {
  const out = new Map<string, string>();
  variants.forEach((v, i) => {
    const slug = v.formSlug?.trim();
    if (slug && !out.has(slug)) out.set(slug, `/variants/${i}/formSlug`);
  });
  return [...out].map(([slug, path]) => ({ slug, path }));
}

export interface VariantChoice {
  variant: LandingVariant;
  /** True when the choice should be (re)written to the visitor's cookie. */
  remember: boolean;
}

/**
 * Which variant a visitor sees. A preview (`?variant=key`, any existing variant, weight 0
 * included) is shown and not remembered; then the variant the visitor's cookie names, while it
 * exists and still has a weight (0 means "stop showing it"); otherwise a new pick by weight,
 * with `random` in [0, 1) supplied by the caller (the model has no randomness of its own),
 * remembered only when there was a choice (more than one variant with a weight).
 */
export function chooseVariant(
  variants: readonly LandingVariant[],
  {
    preview,
    remembered,
    random,
  }: { preview?: string | undefined; remembered?: string | undefined; random: number },
): VariantChoice | undefined {
  if (preview !== undefined) {
    const shown = variants.find((v) => v.key === preview);
    if (shown) return { variant: shown, remember: false };
  }
  if (remembered !== undefined) {
    const kept = variants.find((v) => v.key === remembered && v.weight > 0);
    if (kept) return { variant: kept, remember: false };
  }
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  if (total === 0) return variants[0] ? { variant: variants[0], remember: false } : undefined;
  // Nothing to keep a visitor on when only one variant is shown: no cookie then.
  const remember = variants.filter((v) => v.weight > 0).length > 1;
  let point = Math.min(Math.max(random, 0), 0.999_999_999) * total;
  for (const variant of variants) {
    if (variant.weight === 0) continue;
    if (point < variant.weight) return { variant, remember };
    point -= variant.weight;
  }
  // Floating-point leftovers: the last weighted variant.
  const last = variants.findLast((v) => v.weight > 0);
  return last ? { variant: last, remember } : undefined;
}

/** The cookie that keeps a visitor on one variant of the page. */
export function variantCookieName(slug: string): string {
  return `ll_lp_${slug}`;
}
