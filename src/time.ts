/**
 * ISO 8601: a date (midnight UTC), or a date-time that states its zone — without one it would
 * mean the server's local time.
 */
const ISO_TIME =
  /^\d{4}-\d{2}-\d{2}(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?))?$/;

/**
 * Whether `text` starts with a date YYYY-MM-DD that exists: 2026-02-30 does not (Date.parse
 * rolls it over to March 2).
 */
export function isCalendarDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // unlike Date.UTC, keeps years 0-99 as given
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * Epoch milliseconds of an ISO 8601 date, or date-time with a zone, that exists on the
 * calendar and the clock; NaN for anything else. Date.parse alone rolls impossible dates and
 * times over (2026-02-30, T24:00) instead of refusing them.
 */
export function parseIsoTime(text: string): number {
  const match = ISO_TIME.exec(text);
  if (!match || !isCalendarDate(text)) return Number.NaN;
  const [hours = 0, minutes = 0, seconds = 0] = [match[1], match[2], match[3]].map((part) =>
    Number(part ?? 0),
  );
  if (hours > 23 || minutes > 59 || seconds > 59) return Number.NaN;
  return Date.parse(text);
}

/** Latest instant a JavaScript Date can hold (epoch ms). */
const MAX_INSTANT = 8.64e15;

/**
 * An ISO 8601 time with a zone (or a date) or epoch milliseconds, as query strings, event bodies
 * and user absences carry them; null when it is neither. Whole milliseconds: times are integer
 * columns, and a fractional epoch (1.5) would make PostgreSQL fail the query.
 */
export function parseInstant(value: string | number): number | null {
  // Only these two forms: Date.parse alone takes almost anything ("x 1" and "-1" are 2001).
  const ms = typeof value === 'number' || /^\d+$/.test(value) ? Number(value) : parseIsoTime(value);
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_INSTANT ? Math.floor(ms) : null;
}
