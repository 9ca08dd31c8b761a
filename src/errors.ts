/**
 * Every domain error Leadline can raise, with a stable code. Domain code throws `DomainError`;
 * only `http/errors.ts` knows which HTTP status each code becomes (a typed map, so a new code
 * cannot be forgotten there).
 */
export const errorCodes = [
  'VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'LEAD_NOT_FOUND',
  'WORKSPACE_NOT_FOUND',
  'PROPERTY_NOT_FOUND',
  'PROPERTY_EXISTS',
  'MERGE_CONFLICT',
  'ANONYMOUS_ID_LINKED',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_KEY_IN_FLIGHT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'PRESET_NOT_FOUND',
  'CONFLICT',
  'STAGE_TRANSITION_INVALID',
  'TASK_NOT_FOUND',
  'USER_NOT_FOUND',
  'USER_EXISTS',
  'TEAM_NOT_FOUND',
  'TEAM_EXISTS',
  'ALERT_RULE_NOT_FOUND',
  'QUARANTINE_NOT_FOUND',
  'CONSENT_TOKEN_INVALID',
  'LANDING_PAGE_NOT_FOUND',
  'LANDING_PAGE_EXISTS',
  'INBOUND_SOURCE_NOT_FOUND',
  'INBOUND_SIGNATURE_INVALID',
  'FORM_NOT_FOUND',
  'FORM_EXISTS',
  'FORM_CLOSED',
  'FORM_ORIGIN_NOT_ALLOWED',
  'TRACKING_ORIGIN_NOT_ALLOWED',
  'LEAD_MAGNET_NOT_FOUND',
  'RANGE_NOT_SATISFIABLE',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/** One problem with one input field; `path` is a JSON Pointer into the request (`/leads/3/email`). */
export interface FieldError {
  path: string;
  message: string;
}

/** A JSON Pointer segment for a field name or key (`a/b` -> `a~1b`, RFC 6901). */
export function pointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly errors: FieldError[];
  /** When sending the same request again later may succeed: the seconds to wait (`Retry-After`). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, errors: FieldError[] = [], retryAfterSeconds?: number) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.errors = errors;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export function validationError(
  errors: FieldError[],
  message = 'The request has invalid fields.',
): DomainError {
  return new DomainError('VALIDATION_FAILED', message, errors);
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
