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

/** The body's HTML, safe to put inside the page. */
export function markdownToHtml(markdown: string): string {
  return marked.parse(markdown, { async: false });
}
