/**
 * Text made safe for the HTML and the one-line headers Leadline writes itself (hosted pages,
 * emails, alerts). The one copy every domain uses: a fix here reaches them all.
 */

const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text safe in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => entities[c]!);
}

/** Runs of whitespace (line breaks too) as one space, trimmed: safe in a subject or a heading. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
