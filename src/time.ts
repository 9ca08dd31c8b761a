/**
 * ISO 8601: a date (midnight UTC), or a date-time that states its zone — without one it would
 * mean the server's local time.
 */
const ISO_TIME =
  /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?))?$/;

/** Latest instant a JavaScript Date can hold (epoch ms). */
const MAX_INSTANT = 8.64e15;

/**
 * An ISO 8601 time with a zone (or a date) or epoch milliseconds, as query strings, event bodies
 * and user absences carry them; null when it is neither. Whole milliseconds: times are integer
 * columns, and a fractional epoch (1.5) would make PostgreSQL fail the query.
 */
export function parseInstant(value: string | number): number | null {
  // Only these two forms: Date.parse alone takes almost anything ("x 1" and "-1" are 2001).
  const ms =
    typeof value === 'number' || /^\d+$/.test(value)
      ? Number(value)
      : ISO_TIME.test(value)
        ? Date.parse(value)
        : Number.NaN;
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_INSTANT ? Math.floor(ms) : null;
}
