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

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Epoch ms of an ISO 8601 date or date-time as spreadsheets, CRM exports and a browser's
 * `datetime-local` input write it ("2025-03-14", "2025-03-14 09:21", "2025-03-14T09:21:05.000Z",
 * "…+02:00"), where a time without a zone is read as UTC: such text does not say which zone it
 * meant. Null when the text is not such a date, or names a day or time that does not exist.
 * (The API's own times take `parseIsoTime`, which wants the zone.)
 */
export function parseDateTimeAsUtc(text: string): number | null {
  const m = DATE_TIME.exec(text);
  if (!m || !isCalendarDate(text)) return null;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (hour > 23 || minute > 59 || second > 59) return null;
  const ms = Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  // Not Date.UTC: it reads years 0-99 as 1900-1999 (0001-01-01 would be 1901).
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, ms);
  let at = utc.getTime();
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    at -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return at;
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
