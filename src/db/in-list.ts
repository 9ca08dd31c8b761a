/**
 * `values` padded (by repeating its last value) to the next power of two, for `in (…)` lists.
 *
 * Every list length is a different SQL text, and a different SQL text is a new SQLite prepare
 * (a large one costs more than running it). With lengths rounded up, a few texts serve every
 * batch; the repeated value changes nothing in an `in` list.
 */
export function paddedInList<T>(values: readonly T[]): T[] {
  if (values.length === 0) return [];
  let size = 1;
  while (size < values.length) size *= 2;
  const padded = [...values];
  while (padded.length < size) padded.push(values[values.length - 1]!);
  return padded;
}

/** `n` placeholder values for an `in (…)` list a compiled select binds later (`selectCompiled`). */
export function placeholders(n: number): string[] {
  return Array.from({ length: n }, () => '');
}
