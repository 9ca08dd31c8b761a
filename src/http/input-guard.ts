import type { FastifyRequest } from 'fastify';
import { DomainError, type FieldError, pointer, validationError } from '../errors.ts';
import { isUnstorable } from '../storable-text.ts';

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

function isStream(value: unknown): boolean {
  return typeof (value as { pipe?: unknown } | null)?.pipe === 'function';
}

/**
 * preValidation hook for every route: refuses unstorable text in params, query and body (422),
 * and a streamed (CSV) or multipart body sent to a route that takes a JSON body (415) — those
 * parsers exist for the import routes, and would otherwise reach a JSON schema as a stream.
 * Form-encoded bodies are for the public pages (hosted forms posted by browsers without
 * JavaScript): the API takes JSON only, so its schemas never see a body of strings.
 */
export async function inputGuardHook(request: FastifyRequest): Promise<void> {
  const contentType = request.headers['content-type'] ?? '';
  // Multipart leaves the body empty unless a route asks for its fields as the body.
  const unparsedMultipart = /^\s*multipart\//i.test(contentType) && request.body === undefined;
  // Form posts and sendBeacon's text/plain are for the public routes that read them; on the
  // API a text body would only meet the schema as a string ("must be object").
  const formOrText = /^\s*(?:application\/x-www-form-urlencoded|text\/plain)/i.test(contentType);
  if (
    request.routeOptions.schema?.body &&
    (isStream(request.body) || unparsedMultipart || (formOrText && !request.routeOptions.config?.public))
  ) {
    throw new DomainError('UNSUPPORTED_MEDIA_TYPE', 'This route takes a JSON body (application/json).');
  }
  const errors = [
    ...unstorableTextErrors(request.params, '/params'),
    ...unstorableTextErrors(request.query, '/query'),
    ...(isStream(request.body) || request.routeOptions.config?.checksBodyText
      ? []
      : unstorableTextErrors(request.body)),
  ];
  if (errors.length > 0) throw validationError(errors);
}
