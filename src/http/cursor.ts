import { createHash } from 'node:crypto';
import { validationError } from '../errors.ts';
import { parseInstant } from '../time.ts';

/**
 * Opaque page cursors: base64url JSON `[tag, value, id]` — the last row's sort value and id, and a
 * tag of the list they page. `list` names that list and its order, e.g. `leads?sort=-createdAt` or
 * `leads/{id}/timeline`: a cursor is only good for the list that issued it, since its position
 * means nothing in another order (an ascending position in a descending list reads as "the end",
 * or skips rows) or on another lead's timeline. Filters are deliberately not part of `list`: a
 * keyset position stays consistent when a filter changes between pages, it only narrows the rows.
 */
export function encodeCursor(list: string, value: number, id: string): string {
  return Buffer.from(JSON.stringify([listTag(list), value, id])).toString('base64url');
}

/**
 * The position in a cursor `encodeCursor(list, …)` made, or a validation error at /query/cursor:
 * for text that is not a cursor, and for a cursor of another list (another sort, another lead).
 */
export function decodeCursor(list: string, cursor: string): { value: number; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    // fall through to the validation error
  }
  // Sort values are integer epoch ms and ids are short, well-formed text: anything else (1.5,
  // 1e300, "\u0000") would reach PostgreSQL as a value it refuses, a 500 instead of a 422.
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    typeof parsed[0] !== 'string' ||
    !Number.isSafeInteger(parsed[1]) ||
    typeof parsed[2] !== 'string' ||
    parsed[2].length > 200 ||
    !parsed[2].isWellFormed() ||
    parsed[2].includes('\u0000')
  ) {
    throw validationError([{ path: '/query/cursor', message: 'is not a cursor this API returned' }]);
  }
  if (parsed[0] !== listTag(list)) {
    throw validationError([
      {
        path: '/query/cursor',
        message: 'belongs to another list (another sort, or another lead’s timeline); start again without it',
      },
    ]);
  }
  return { value: parsed[1], id: parsed[2] };
}

/**
 * Eight base64url characters (48 bits) of the list's SHA-256: short, and says nothing about the list.
 * It is a label against mix-ups, not a signature: a forged cursor still only positions the caller
 * inside the caller's own workspace-scoped query, and its value and id are checked like any input.
 */
function listTag(list: string): string {
  return createHash('sha256').update(list).digest('base64url').slice(0, 8);
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
