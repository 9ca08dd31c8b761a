import { validationError } from '../errors.ts';
import { parseInstant } from '../time.ts';

/** Opaque page cursors: base64url JSON of the last row's sort value and id. */
export function encodeCursor(value: number, id: string): string {
  return Buffer.from(JSON.stringify([value, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { value: number; id: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // Sort values are integer epoch ms and ids are short, well-formed text: anything else (1.5,
    // 1e300, "\u0000") would reach PostgreSQL as a value it refuses, a 500 instead of a 422.
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      Number.isSafeInteger(parsed[0]) &&
      typeof parsed[1] === 'string' &&
      parsed[1].length <= 200 &&
      parsed[1].isWellFormed() &&
      !parsed[1].includes('\u0000')
    ) {
      return { value: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through to the validation error
  }
  throw validationError([{ path: '/query/cursor', message: 'is not a cursor this API returned' }]);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A cursor that is the last row's id (lists in id order: jobs, webhook deliveries): refused like
 * any other cursor this API did not return, instead of paging from wherever it sorts.
 */
export function decodeIdCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined || UUID.test(cursor)) return cursor;
  throw validationError([{ path: '/query/cursor', message: 'is not a cursor this API returned' }]);
}

/** An ISO 8601 time or epoch milliseconds, as query strings and event bodies carry them. */
export function parseTime(value: string | number, path: string): number {
  const ms = parseInstant(value);
  if (ms === null) {
    throw validationError([{ path, message: 'must be an ISO 8601 time with a zone, or epoch milliseconds' }]);
  }
  return ms;
}
