/**
 * JSON columns are text on SQLite and jsonb on PostgreSQL (which `pg` already parses).
 * Reading through `parseJson` gives the same value on both; writing passes text to both.
 */
export function parseJson<T>(value: unknown, fallback: T): T {
  if (value === null || value === undefined) return fallback;
  if (typeof value === 'string') return JSON.parse(value) as T;
  return value as T;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}
