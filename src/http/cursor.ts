import { validationError } from '../errors.ts';

/** Opaque page cursors: base64url JSON of the last row's sort value and id. */
export function encodeCursor(value: number, id: string): string {
  return Buffer.from(JSON.stringify([value, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { value: number; id: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && typeof parsed[0] === 'number' && typeof parsed[1] === 'string') {
      return { value: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through to the validation error
  }
  throw validationError([{ path: '/query/cursor', message: 'is not a cursor this API returned' }]);
}

/** An ISO 8601 time or epoch milliseconds, as query strings and event bodies carry them. */
export function parseTime(value: string | number, path: string): number {
  const ms = typeof value === 'number' || /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms) || ms < 0 || ms > 8.64e15) {
    throw validationError([{ path, message: 'must be an ISO 8601 time or epoch milliseconds' }]);
  }
  return ms;
}
