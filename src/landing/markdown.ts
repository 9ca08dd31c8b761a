import { Marked } from 'marked';
import { escapeHtml } from '../forms/html.ts';
import { isSafeImageUrl, isSafeLink } from './model.ts';

/**
 * Markdown for landing-page bodies, written by marketers and shown to the public. Raw HTML in
 * the source is shown as text, never passed through: a page body cannot carry script, styles
 * or forms of its own. Links and images keep only safe addresses (no `javascript:`, no
 * `data:`); an unsafe link keeps its text. Headings move one level down, since the page's
 * headline is its only h1.
 */
const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
    heading({ tokens, depth }) {
      const level = Math.min(depth + 1, 6);
      return `<h${level}>${this.parser.parseInline(tokens)}</h${level}>\n`;
    },
    link({ href, title, tokens }) {
      const text = this.parser.parseInline(tokens);
      if (!isSafeLink(href)) return text;
      const titled = title ? ` title="${escapeHtml(title)}"` : '';
      // Links leaving the site tell the destination nothing of the visitor's page (its query holds UTM tags).
      const external = /^https?:\/\//i.test(href) ? ' rel="noopener noreferrer"' : '';
      return `<a href="${escapeHtml(href)}"${titled}${external}>${text}</a>`;
    },
    image({ href, title, text }) {
      if (!isSafeImageUrl(href)) return escapeHtml(text);
      const titled = title ? ` title="${escapeHtml(title)}"` : '';
      return `<img src="${escapeHtml(href)}" alt="${escapeHtml(text)}"${titled} loading="lazy">`;
    },
  },
});

/** Bodies whose HTML is kept, the most recently shown first out last. (32) */
const CACHED_BODIES = 32;
const rendered = new Map<string, string>();

/**
 * The body's HTML, safe to put inside the page. Kept for the bodies shown most recently: a page
 * is rendered per view, and some Markdown takes marked long (seconds for long runs of unmatched
 * `_`, which the save refuses past `RENDER_BUDGET_MS`), on the thread every request waits for.
 */
export function markdownToHtml(markdown: string): string {
  const cached = rendered.get(markdown);
  if (cached !== undefined) {
    // Most recently used last, so the first key is the one to drop.
    rendered.delete(markdown);
    rendered.set(markdown, cached);
    return cached;
  }
  const html = marked.parse(markdown, { async: false });
  rendered.set(markdown, html);
  if (rendered.size > CACHED_BODIES) rendered.delete(rendered.keys().next().value!);
  return html;
}

/** The longest a body may take to render when it is saved, in ms. (1,000) */
export const RENDER_BUDGET_MS = 1000;

/**
 * Why a body cannot be shown, or undefined: marked overflows the stack on quotes or lists nested
 * some thousands deep, and takes seconds on some long runs of markup. Checked when a page is
 * saved, so that no stored body fails or stalls its views.
 */
export function unrenderableBody(markdown: string, budgetMs = RENDER_BUDGET_MS): string | undefined {
  const started = performance.now();
  try {
    markdownToHtml(markdown);
  } catch (error) {
    if (error instanceof RangeError)
      return 'is nested too deeply to show (quotes or lists inside each other)';
    throw error;
  }
  const ms = performance.now() - started;
  return ms > budgetMs
    ? `takes too long to show (${Math.round(ms)} ms): long runs of unmatched * _ [ or < characters`
    : undefined;
}
