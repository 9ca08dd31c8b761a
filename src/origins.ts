/**
 * Web origins as browsers send them in the `Origin` header, and lists of allowed ones: one rule
 * for every list a workspace keeps (a form's `allowedOrigins`, the tracking settings'), so the
 * same list pasted into both allows the same sites.
 */

/** `scheme://host[:port]`; the host a name or a bracketed IPv6 literal; a leading `*.` is a pattern. */
const ORIGIN = /^(https?):\/\/(\*\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;

/**
 * The canonical form of an origin or of an allowed-origin pattern (`https://*.example.com`):
 * lower case, no trailing slash, no default port. Undefined when it is not one: a path or query
 * is refused rather than dropped (`https://acme.com/blog` would suggest a per-path rule that does
 * not exist), as are ports outside 1–65535 and other schemes.
 */
export function normaliseOrigin(raw: string): string | undefined {
  const lower = raw.trim().toLowerCase().replace(/\/+$/, '');
  const match = ORIGIN.exec(lower);
  if (!match) return undefined;
  const [, scheme, wildcard, host, port] = match;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return undefined;
  if (wildcard && host!.startsWith('[')) return undefined;
  const implicit = (scheme === 'https' && port === '443') || (scheme === 'http' && port === '80');
  return `${scheme}://${wildcard ?? ''}${host}${port && !implicit ? `:${port}` : ''}`;
}

/**
 * Whether `origin` is in `allowed` (canonical entries): an exact match, or a subdomain of a
 * `scheme://*.domain[:port]` pattern — not the bare domain (list it too); scheme and port must
 * match. A pattern given as the origin matches nothing.
 */
export function originInList(allowed: readonly string[], origin: string): boolean {
  const given = normaliseOrigin(origin);
  if (!given || given.includes('*')) return false;
  for (const entry of allowed) {
    if (entry === given) return true;
    const star = entry.indexOf('*.');
    if (star < 0) continue;
    const scheme = entry.slice(0, star);
    const rest = entry.slice(star + 1); // ".example.com[:port]"
    if (given.startsWith(scheme) && given.endsWith(rest) && given.length > scheme.length + rest.length) {
      const label = given.slice(scheme.length, given.length - rest.length);
      if (!label.includes(':') && !label.includes('/')) return true;
    }
  }
  return false;
}
