import { type FieldError, pointer } from './errors.ts';

/**
 * Text both engines store alike. PostgreSQL's text and jsonb refuse NUL characters, and jsonb
 * refuses the escapes of lone UTF-16 surrogates; SQLite stores both. Without one rule the same
 * input is kept on one engine and a 500 on the other.
 */

/** True when PostgreSQL could not store this text: it holds a NUL or a lone surrogate. */
export function isUnstorable(text: string): boolean {
  return text.includes('\u0000') || !text.isWellFormed();
}

/** The text made storable: NULs dropped, a lone surrogate replaced by U+FFFD. */
export function storableText(text: string): string {
  return isUnstorable(text) ? text.replaceAll('\u0000', '').toWellFormed() : text;
}

/** Most field errors one request reports for unstorable text. */
const MAX_ERRORS = 20;

/**
 * Parsed JSON objects, and the query and params objects (whose prototype is a prototype-less
 * object, not Object.prototype); not streams, buffers or other class instances.
 */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return Object.prototype.toString.call(value) === '[object Object]' && !isStream(value);
}

/**
 * Strings PostgreSQL cannot store: NUL characters (text and jsonb refuse them) and lone UTF-16
 * surrogates (jsonb refuses their `\ud800` escapes). SQLite stores both, so without this check
 * the same request succeeds on one engine and fails with a 500 on the other. Walks parsed JSON
 * (plain objects, arrays, strings, and object keys) without recursion, so deep nesting is safe.
 */
export function unstorableTextErrors(value: unknown, basePath = ''): FieldError[] {
  // Nearly every request is clean: that is told first, without building a path for every
  // field (a batch of 500 leads has some 10,000), and the paths are built only for a request
  // that has something to report.
  if (!hasUnstorableText(value)) return [];
  const errors: FieldError[] = [];
  const stack: Array<[unknown, string]> = [[value, basePath]];
  while (stack.length > 0 && errors.length < MAX_ERRORS) {
    const [current, path] = stack.pop()!;
    if (typeof current === 'string') {
      if (isUnstorable(current)) {
        errors.push({ path: path || '/', message: 'must not contain NUL characters or lone surrogates' });
      }
    } else if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) stack.push([current[i], `${path}/${i}`]);
    } else if (isPlainObject(current)) {
      for (const [key, item] of Object.entries(current)) {
        if (isUnstorable(key)) {
          errors.push({
            path: path || '/',
            message: 'has a property name with NUL characters or lone surrogates',
          });
        } else {
          stack.push([item, `${path}/${pointer(key)}`]);
        }
      }
    }
  }
  return errors;
}

/** Whether any string or property name in `value` is unstorable (the walk of `unstorableTextErrors`, without paths). */
function hasUnstorableText(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current === 'string') {
      if (isUnstorable(current)) return true;
    } else if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) stack.push(current[i]);
    } else if (isPlainObject(current)) {
      for (const key of Object.keys(current)) {
        if (isUnstorable(key)) return true;
        stack.push(current[key]);
      }
    }
  }
  return false;
}

/** A stream body (CSV uploads), which holds no parsed text. */
export function isStream(value: unknown): boolean {
  return typeof (value as { pipe?: unknown } | null)?.pipe === 'function';
}
