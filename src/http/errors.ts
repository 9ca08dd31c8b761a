import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { type ErrorCode, type FieldError, isDomainError } from '../errors.ts';

/** HTTP status and problem title for every domain error code. Typed so no code is forgotten. */
export const problemTypes = {
  VALIDATION_FAILED: { status: 422, title: 'Invalid input' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FORBIDDEN: { status: 403, title: 'Not allowed' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  LEAD_NOT_FOUND: { status: 404, title: 'Lead not found' },
  WORKSPACE_NOT_FOUND: { status: 404, title: 'Workspace not found' },
  PROPERTY_NOT_FOUND: { status: 404, title: 'Property not found' },
  PROPERTY_EXISTS: { status: 409, title: 'Property already exists' },
  MERGE_CONFLICT: { status: 409, title: 'Leads cannot be merged' },
  ANONYMOUS_ID_LINKED: { status: 409, title: 'Anonymous id already identified as another lead' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency key reused with another request' },
  IDEMPOTENCY_KEY_IN_FLIGHT: { status: 409, title: 'A request with this idempotency key is in progress' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  PRESET_NOT_FOUND: { status: 404, title: 'Preset not found' },
  CONFLICT: { status: 409, title: 'Conflicting change' },
  STAGE_TRANSITION_INVALID: { status: 409, title: 'The lead is not in a stage that allows this' },
  TASK_NOT_FOUND: { status: 404, title: 'Task not found' },
  USER_NOT_FOUND: { status: 404, title: 'User not found' },
  USER_EXISTS: { status: 409, title: 'A user with this email already exists' },
  TEAM_NOT_FOUND: { status: 404, title: 'Team not found' },
  TEAM_EXISTS: { status: 409, title: 'A team with this name already exists' },
  ALERT_RULE_NOT_FOUND: { status: 404, title: 'Alert rule not found' },
  QUARANTINE_NOT_FOUND: { status: 404, title: 'Quarantined submission not found' },
  // 404 for a link Leadline never made; the confirm page answers 410 for an expired one.
  CONSENT_TOKEN_INVALID: { status: 404, title: 'Confirmation link invalid or expired' },
  LANDING_PAGE_NOT_FOUND: { status: 404, title: 'Landing page not found' },
  LANDING_PAGE_EXISTS: { status: 409, title: 'A landing page with this slug already exists' },
  INBOUND_SOURCE_NOT_FOUND: { status: 404, title: 'Inbound source not found' },
  // The sender could not prove it is the platform: bad signature, token or verify token.
  INBOUND_SIGNATURE_INVALID: { status: 401, title: 'Inbound request not authenticated' },
  FORM_NOT_FOUND: { status: 404, title: 'Form not found' },
  FORM_EXISTS: { status: 409, title: 'A form with this slug already exists' },
  FORM_CLOSED: { status: 410, title: 'The form no longer takes submissions' },
  FORM_ORIGIN_NOT_ALLOWED: { status: 403, title: 'This site may not use the form' },
  TRACKING_ORIGIN_NOT_ALLOWED: { status: 403, title: 'This site may not send page views' },
  // Also a download link Leadline did not make, or one past its 30 days: nothing to tell apart.
  LEAD_MAGNET_NOT_FOUND: { status: 404, title: 'Lead magnet not found' },
  // A `Range` wholly past the end of a file (the answer's Content-Range gives the size).
  RANGE_NOT_SATISFIABLE: { status: 416, title: 'Range not satisfiable' },
} as const satisfies Record<ErrorCode, { status: number; title: string }>;

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  errors?: FieldError[];
}

export function problem(code: ErrorCode, detail: string, errors?: FieldError[]): Problem {
  const { status, title } = problemTypes[code];
  return {
    type: `https://leadline.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`,
    title,
    status,
    code,
    detail,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.status(body.status).type('application/problem+json').send(body);
}

type SchemaError = FastifySchemaValidationError & {
  /** Set by ajv on the errors of a `propertyNames` schema: the object key that failed it. */
  propertyName?: string;
};

/** Where in the request an ajv error points: `/body/email` style paths become `/email`. */
function schemaErrors(error: FastifyError): FieldError[] {
  // Query errors read `/query/limit`, as the handlers' own checks (cursor, times) write them.
  const context = error.validationContext === 'querystring' ? 'query' : error.validationContext;
  const where = context && context !== 'body' ? `/${context}` : '';
  return literalUnionsAsEnums(error.validation ?? []).flatMap((v: SchemaError) => {
    // Says only "property name must be valid"; the error under it names the key and the rule.
    if (v.keyword === 'propertyNames') return [];
    const params = v.params as Record<string, unknown>;
    let path = v.instancePath || '';
    if (typeof params.missingProperty === 'string') path += `/${params.missingProperty}`;
    if (typeof params.additionalProperty === 'string') path += `/${params.additionalProperty}`;
    if (typeof v.propertyName === 'string') {
      // A key refused by the object's `propertyNames` (custom property names on a lead).
      const key = v.propertyName.replaceAll('~', '~0').replaceAll('/', '~1');
      return [{ path: `${where}${path}/${key}`, message: `is not a valid property name: ${v.message}` }];
    }
    // ajv says only "must be equal to one of the allowed values": name them (a reason code, a stage).
    const allowed = params.allowedValues;
    const message =
      Array.isArray(allowed) && allowed.length <= MAX_LISTED_VALUES
        ? `must be one of: ${allowed.join(', ')}`
        : (v.message ?? 'is invalid');
    return [{ path: `${where}${path}` || '/', message }];
  });
}

/**
 * A value outside a union of constants (`Type.Union([Type.Literal('createdAt'), …])`) fails every
 * branch: ajv reports "must be equal to constant" once per branch, then "must match a schema in
 * anyOf", and never says what was allowed. Such a union's errors become one `enum` error listing
 * the constants. A union with any other kind of branch (an object, a number) is left as it is.
 */
function literalUnionsAsEnums(errors: readonly SchemaError[]): readonly SchemaError[] {
  if (!errors.some((e) => e.keyword === 'anyOf')) return errors;
  const absorbed = new Set<SchemaError>();
  const replaced = new Map<SchemaError, SchemaError>();
  for (const union of errors) {
    if (union.keyword !== 'anyOf') continue;
    const branches = errors.filter((e) => e.schemaPath.startsWith(`${union.schemaPath}/`));
    const constants = branches.every(
      (e) => e.instancePath === union.instancePath && (e.keyword === 'const' || e.keyword === 'enum'),
    );
    if (branches.length === 0 || !constants) continue;
    const allowedValues = branches.flatMap((e) => {
      const params = e.params as { allowedValue?: unknown; allowedValues?: unknown[] };
      return e.keyword === 'const' ? [params.allowedValue] : (params.allowedValues ?? []);
    });
    for (const branch of branches) absorbed.add(branch);
    replaced.set(union, {
      ...union,
      keyword: 'enum',
      params: { allowedValues },
      message: 'must be equal to one of the allowed values',
    });
  }
  return errors.filter((e) => !absorbed.has(e)).map((e) => replaced.get(e) ?? e);
}

/** Longest list of allowed values an error message names. (30) */
const MAX_LISTED_VALUES = 30;

/** What a 503 for an unavailable database asks the client to wait, in seconds. (2) */
export const DATABASE_RETRY_AFTER_S = 2;

/**
 * The one error handler: domain errors by their code, schema errors as 400 with field paths,
 * Fastify's own client errors (bad JSON, body too large, wrong content type) by their status,
 * a database that cannot serve now as 503. Only a genuine bug becomes a 500, and it is logged.
 */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (isDomainError(error)) {
    if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
    return sendProblem(reply, problem(error.code, error.message, error.errors));
  }
  if (error.validation) {
    const body = problem('VALIDATION_FAILED', 'The request does not match the schema.', schemaErrors(error));
    return sendProblem(reply, { ...body, status: 400 });
  }
  if (error.statusCode === 429) return sendProblem(reply, problem('RATE_LIMITED', error.message));
  if (error.statusCode === 413) return sendProblem(reply, problem('PAYLOAD_TOO_LARGE', error.message));
  if (error.statusCode === 415) return sendProblem(reply, problem('UNSUPPORTED_MEDIA_TYPE', error.message));
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    // The JSON parser refuses `__proto__` and `constructor.prototype` keys (prototype
    // poisoning) with the same error as broken JSON: say both, or valid JSON reads as broken.
    const message =
      error.code === 'FST_ERR_CTP_INVALID_JSON_BODY'
        ? 'Body is not valid JSON, or has a __proto__ or constructor.prototype key, which is refused'
        : error.message;
    const body = problem('VALIDATION_FAILED', message, [{ path: '/', message }]);
    return sendProblem(reply, { ...body, status: error.statusCode, title: 'Bad request' });
  }
  if (isDatabaseUnavailable(error)) {
    // The write it interrupted was rolled back, never acknowledged: the client sends it again.
    request.log.warn({ err: error }, 'database unavailable');
    reply.header('retry-after', String(DATABASE_RETRY_AFTER_S));
    return sendProblem(reply, {
      type: 'https://leadline.dev/problems/database-unavailable',
      title: 'Database unavailable',
      status: 503,
      code: 'DATABASE_UNAVAILABLE',
      // Also what an embedded form shows the visitor (embed.js shows a problem's detail).
      detail: 'Nothing was saved: the service is briefly unavailable. Please try again in a few seconds.',
    });
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(reply, {
    type: 'about:blank',
    title: 'Internal server error',
    status: 500,
    code: 'INTERNAL',
    detail: 'An unexpected error occurred; it has been logged.',
  });
}
