import { createHash } from 'node:crypto';
import { escapeHtml, formStyles } from '../forms/html.ts';
import { markdownToHtml } from './markdown.ts';
import type { LandingPage, LandingVariant } from './model.ts';

/** Where a call to action without a URL leads: the form's section. */
export const FORM_ANCHOR = 'll-form';

export interface LandingView {
  page: LandingPage;
  variant: LandingVariant;
  /** The workspace t.js reports page views to. */
  workspaceSlug: string;
  /** Leadline's public URL (`LEADLINE_PUBLIC_URL`, maybe with a path prefix): where t.js is. */
  publicUrl: string;
  /** The canonical address of the page (`{public URL}/l/{slug}`), without variant or UTM. */
  canonicalUrl: string;
  /** The embedded form's HTML (from the forms domain, escaped there); null: no form to show. */
  formHtml: string | null;
  /** Shown instead of the form when the variant names one that cannot take submissions now. */
  formNotice: string | null;
  /** A preview (`?variant=`): kept out of search engines. */
  preview: boolean;
}

const pageStyles = `
*{box-sizing:border-box}
body{margin:0;background:#fff;font:17px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328}
main{max-width:46rem;margin:0 auto;padding:2.5rem 1.25rem 3rem}
h1{font-size:clamp(1.9rem,5vw,2.8rem);line-height:1.15;margin:0 0 1.25rem}
h2{font-size:1.4rem;margin:2rem 0 .75rem}
h3{font-size:1.15rem;margin:1.5rem 0 .5rem}
a{color:#0969da}
img{max-width:100%;height:auto}
.ll-hero{margin:0 0 1.5rem}
.ll-hero img{display:block;width:100%;border-radius:10px}
.ll-body blockquote{margin:1rem 0;padding:.25rem 1rem;border-left:4px solid #d0d7de;color:#57606a}
.ll-body pre{overflow:auto;background:#f6f8fa;padding:1rem;border-radius:6px}
.ll-cta{margin:2rem 0}
.ll-button{display:inline-block;font-weight:600;padding:.8rem 1.5rem;border-radius:8px;background:#0969da;color:#fff;text-decoration:none}
.ll-button:hover{background:#0550ae}
.ll-button:focus-visible{outline:3px solid #0969da;outline-offset:2px}
.ll-form-section{margin:2.5rem 0 0;padding:1.5rem;border:1px solid #d0d7de;border-radius:10px;background:#f6f8fa}
.ll-notice{font-weight:600}
`;

/**
 * Fills the form's `_ll_aid` with t.js's anonymous id as the form is sent, so the page views of
 * this visit land on the lead the submission makes. Without JavaScript there is neither t.js
 * nor an id, and the form is sent as it is.
 */
const identifyOnSubmit = `document.addEventListener('submit',function(e){var f=e.target;if(!f||!f.querySelector)return;var id;try{id=window.leadline&&window.leadline.anonymousId&&window.leadline.anonymousId()}catch(x){}if(!id)return;var a=f.querySelector('input[name="_ll_aid"]');if(!a){a=document.createElement('input');a.type='hidden';a.name='_ll_aid';f.appendChild(a)}if(!a.value)a.value=id},true);`;

/** The CSP source that lets the page's one inline script run, and no other. */
export const identifyScriptSource = `'sha256-${createHash('sha256').update(identifyOnSubmit).digest('base64')}'`;

/** Characters of the body the summary is made from. (2,000) */
const SUMMARY_SOURCE_CHARS = 2000;

/** The first words of the body as plain text: the page's description for search and link previews. */
export function plainSummary(markdown: string, max = 160): string {
  // The start is enough for a summary, and bounds the regular expressions below, which take
  // time quadratic in the text for some markup ("<a" or "[" repeated: seconds on 100,000 characters).
  const text = markdown
    .slice(0, SUMMARY_SOURCE_CHARS)
    .replace(/<[^>]*>/g, ' ')
    .replace(/!\[[^\]]*]\([^)]*\)/g, ' ')
    .replace(/\[([^\]]*)]\([^)]*\)/g, '$1')
    .replace(/[#>*_`~|-]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  return `${cut.slice(0, cut.lastIndexOf(' ') > max / 2 ? cut.lastIndexOf(' ') : cut.length)}…`;
}

/** The whole page: server-rendered, readable and usable without JavaScript. */
export function renderLandingPage(view: LandingView): string {
  const { page, variant } = view;
  const description = plainSummary(variant.body);
  const image = variant.imageUrl
    ? `<figure class="ll-hero"><img src="${escapeHtml(variant.imageUrl)}" alt="${escapeHtml(variant.imageAlt ?? '')}"></figure>\n`
    : '';
  const hasForm = view.formHtml !== null || view.formNotice !== null;
  const ctaHref = variant.cta ? (variant.cta.url ?? (hasForm ? `#${FORM_ANCHOR}` : null)) : null;
  const cta =
    variant.cta && ctaHref
      ? `<p class="ll-cta"><a class="ll-button" href="${escapeHtml(ctaHref)}"${
          /^https?:\/\//i.test(ctaHref) ? ' rel="noopener"' : ''
        }>${escapeHtml(variant.cta.label)}</a></p>\n`
      : '';
  const form = view.formHtml
    ? `<section class="ll-form-section" id="${FORM_ANCHOR}">\n${view.formHtml}\n</section>\n`
    : view.formNotice
      ? `<section class="ll-form-section" id="${FORM_ANCHOR}"><p class="ll-notice" role="status">${escapeHtml(view.formNotice)}</p></section>\n`
      : '';
  const meta = [
    description ? `<meta name="description" content="${escapeHtml(description)}">` : '',
    `<meta property="og:title" content="${escapeHtml(variant.headline)}">`,
    description ? `<meta property="og:description" content="${escapeHtml(description)}">` : '',
    `<meta property="og:url" content="${escapeHtml(view.canonicalUrl)}">`,
    variant.imageUrl && /^https?:\/\//i.test(variant.imageUrl)
      ? `<meta property="og:image" content="${escapeHtml(variant.imageUrl)}">`
      : '',
    `<link rel="canonical" href="${escapeHtml(view.canonicalUrl)}">`,
    view.preview ? '<meta name="robots" content="noindex">' : '',
  ]
    .filter(Boolean)
    .join('\n');
  // t.js reports the page view (its URL names the page) with the variant shown: what A/B statistics count.
  const tracking = `<script async src="${escapeHtml(`${view.publicUrl}/t.js`)}" data-workspace="${escapeHtml(view.workspaceSlug)}" data-variant="${escapeHtml(variant.key)}"></script>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(variant.headline)}</title>
${meta}
<style>${pageStyles}${formStyles}</style>
${tracking}
</head>
<body>
<main class="ll-landing" data-leadline-landing="${escapeHtml(page.slug)}" data-variant="${escapeHtml(variant.key)}">
<h1>${escapeHtml(variant.headline)}</h1>
${image}<div class="ll-body">
${markdownToHtml(variant.body)}</div>
${cta}${form}</main>
${view.formHtml ? `<script>${identifyOnSubmit}</script>\n` : ''}</body>
</html>
`;
}
