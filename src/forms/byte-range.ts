import parseRange from 'range-parser';

/**
 * What to send of a file for a request's `Range` and `If-Range` headers (RFC 9110 §14): the
 * whole file, one part of it (206), or nothing that exists (416). A PDF viewer reads a large
 * guide by parts, and an interrupted download resumes where it stopped.
 *
 * Ranges Leadline does not serve are ignored, which the RFC allows: a malformed header, a unit
 * other than bytes, several ranges (a multipart answer no viewer needs for one file), and an
 * `If-Range` that is not the file's current ETag (the file changed: the part asked for would
 * belong to another file).
 */
export type RangeAnswer =
  | { kind: 'whole' }
  | { kind: 'part'; start: number; end: number }
  | { kind: 'unsatisfiable' };

export function rangeAnswer(
  size: number,
  etag: string,
  range: string | undefined,
  ifRange: string | undefined,
): RangeAnswer {
  if (range === undefined || (ifRange !== undefined && ifRange.trim() !== etag)) return { kind: 'whole' };
  // range-parser calls `bytes=10-5` unsatisfiable; RFC 9110 calls it invalid (last before
  // first): malformed, so ignored like any other.
  if (hasReversedRange(range)) return { kind: 'whole' };
  const ranges = parseRange(size, range, { combine: true });
  if (ranges === -1) return { kind: 'unsatisfiable' };
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return { kind: 'whole' };
  const [only] = ranges;
  return { kind: 'part', start: only!.start, end: only!.end };
}

/** Whether a `bytes=` header holds a range whose last byte comes before its first. */
function hasReversedRange(range: string): boolean {
  const specs = /^\s*bytes\s*=(.*)$/i.exec(range)?.[1]?.split(',') ?? [];
  return specs.some((spec) => {
    const bounds = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(spec);
    return bounds !== null && Number(bounds[2]) < Number(bounds[1]);
  });
}
