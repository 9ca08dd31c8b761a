/**
 * The JSON paths generic sources are mapped with: a small, predictable subset of JSONPath —
 * `$.contact.email`, `contact.email`, `answers[0].value`, `fields["E-mail address"]`. Member
 * names, array indexes and quoted names only: no wildcards, filters or recursion, so a path
 * names at most one value and reading one costs its length. Pure.
 */

export type PathSegment = string | number;

/** Longest path accepted, in characters. (200) */
const MAX_PATH = 200;

/** The segments of a path, or a message saying what is wrong with it. */
export function parseJsonPath(
  path: string,
): { ok: true; segments: PathSegment[] } | { ok: false; message: string } {
  if (path.length === 0 || path.length > MAX_PATH)
    return { ok: false, message: `must be 1 to ${MAX_PATH} characters` };
  let rest = path.startsWith('$') ? path.slice(1) : path;
  if (path.startsWith('$') && rest !== '' && !rest.startsWith('.') && !rest.startsWith('['))
    return { ok: false, message: 'must continue after $ with . or [' };
  if (rest.startsWith('.')) rest = rest.slice(1);
  const segments: PathSegment[] = [];
  const name = /^[^.[\]"']+/;
  let expectName = true;
  while (rest.length > 0) {
    if (rest.startsWith('[')) {
      const index = /^\[(\d{1,6})\]/.exec(rest);
      const quoted = /^\[(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\]/.exec(rest);
      if (index) {
        segments.push(Number(index[1]));
        rest = rest.slice(index[0].length);
      } else if (quoted) {
        segments.push((quoted[1] ?? quoted[2] ?? '').replace(/\\(.)/g, '$1'));
        rest = rest.slice(quoted[0].length);
      } else return { ok: false, message: 'has a [ ] that is neither an index nor a quoted name' };
      expectName = false;
    } else if (rest.startsWith('.')) {
      if (expectName) return { ok: false, message: 'has an empty name between dots' };
      rest = rest.slice(1);
      expectName = true;
      if (rest.length === 0) return { ok: false, message: 'must not end with a dot' };
    } else {
      const match = name.exec(rest);
      if (!match || !expectName) return { ok: false, message: `cannot be read at "${rest.slice(0, 20)}"` };
      segments.push(match[0]);
      rest = rest.slice(match[0].length);
      expectName = false;
    }
  }
  return { ok: true, segments };
}

/** The value a path names in `value`, or undefined when it names nothing. */
export function readPath(value: unknown, segments: readonly PathSegment[]): unknown {
  let current = value;
  for (const segment of segments) {
    if (typeof segment === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[segment];
    } else {
      if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
      if (!Object.hasOwn(current, segment)) return undefined;
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return current;
}
