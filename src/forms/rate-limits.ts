/**
 * Per-form submission limits, in process memory: per (form, IP) and per form, each over a
 * sliding minute. IPv6 senders are counted by /64 network (ipKey). A refused submission is answered 429 with `Retry-After` by the caller: the
 * sender is told, and nothing is stored (it is not a silent drop).
 *
 * The window is the "sliding window counter" approximation: the previous minute's count,
 * weighted by how much of it still overlaps the last 60 s, plus the current minute's. Exact
 * while traffic stays within one window, never more than the previous minute's share off,
 * and two numbers per key instead of one timestamp per submission.
 *
 * Memory is bounded: at most `maxKeys` counters, the least recently used dropped first. A
 * flood from more IPs than that loses per-IP memory for the oldest of them, but the per-form
 * limit, which needs one counter per form, still holds. Each API process counts its own
 * submissions: N processes behind a balancer let through up to N times the limit.
 */

/** The length of the sliding window. (60 s) */
export const WINDOW_MS = 60_000;
/** Counters kept before the least recently used is dropped. (100,000: about 10 MB) */
export const DEFAULT_MAX_KEYS = 100_000;

export interface SubmissionLimits {
  /** Submissions one IP may make to the form per minute; 0 or absent: no limit. */
  perIpPerMinute?: number | undefined;
  /** Submissions the form accepts per minute from everyone; 0 or absent: no limit. */
  perFormPerMinute?: number | undefined;
}

export type LimitDecision =
  | {
      ok: true;
      /**
       * Takes the submission back off the counts: it turned out invalid and nothing was
       * stored, so a person correcting a mistake is not locked out by their error pages.
       */
      refund(): void;
    }
  | { ok: false; retryAfterSeconds: number };

interface Counter {
  /** Start of the current fixed minute (epoch ms, a multiple of WINDOW_MS). */
  start: number;
  current: number;
  previous: number;
}

export interface SubmissionLimiter {
  /**
   * Counts one submission to `formId` from `ip` at the clock's now, if both limits allow it;
   * a refused one is not counted (a client that waits as told gets in).
   */
  take(formId: string, ip: string | null | undefined, limits: SubmissionLimits): LimitDecision;
  /** Counters held (for tests and metrics). */
  readonly size: number;
}

/** Start of the fixed minute containing `now` (epoch ms, a multiple of WINDOW_MS). */
function minuteOf(now: number): number {
  return now - (now % WINDOW_MS);
}

/** Moves `counter` to the fixed minute containing `now`. */
function roll(counter: Counter, now: number): void {
  const start = minuteOf(now);
  if (start === counter.start) return;
  counter.previous = start - counter.start === WINDOW_MS ? counter.current : 0;
  counter.current = 0;
  counter.start = start;
}

/** Submissions counted in the 60 s before `now`: the current minute plus the overlapping share of the previous. */
function estimate(counter: Counter, now: number): number {
  return counter.previous * (1 - (now - counter.start) / WINDOW_MS) + counter.current;
}

/** Milliseconds from `now` until the estimate has room for one more under `limit`. */
function waitFor(counter: Counter, limit: number, now: number): number {
  const room = limit - 1;
  if (counter.current <= room && counter.previous > 0) {
    // Within this minute, as the previous minute's share fades.
    const elapsed = WINDOW_MS * (1 - (room - counter.current) / counter.previous);
    return Math.max(0, counter.start + elapsed - now);
  }
  // Next minute: this minute's count becomes the fading share.
  const elapsed = counter.current > 0 ? WINDOW_MS * (1 - room / counter.current) : 0;
  return counter.start + WINDOW_MS + Math.max(0, elapsed) - now;
}

/**
 * The address the per-IP limit counts: an IPv4 address as it is, an IPv6 address by its /64
 * network (`v6:2001:db8:0:1::/64`). One IPv6 customer is handed a whole /64 (usually more) and
 * can send from a new address of it for every submission; counting each address alone would let
 * one sender through 2^64 times the limit. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as
 * a dual-stack socket reports IPv4 peers) counts as its IPv4 address. Anything else is counted
 * as given.
 */
export function ipKey(ip: string | null | undefined): string {
  if (!ip) return '-';
  const groups = ipv6Groups(ip);
  if (!groups) return ip;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  return `v6:${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a trailing IPv4 part read); undefined if it is not one. */
function ipv6Groups(text: string): number[] | undefined {
  if (!text.includes(':')) return undefined;
  let address = text.toLowerCase();
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  let tail: number[] = [];
  const dotted = /(?:^|:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (dotted) {
    const octets = dotted[1]!.split('.').map(Number);
    if (octets.some((o) => o > 255)) return undefined;
    tail = [(octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!];
    address = address.slice(0, address.length - dotted[1]!.length);
    // `::ffff:1.2.3.4` leaves `::ffff:`; `1:2:3:4:5:6:1.2.3.4` leaves `1:…:6:`.
    if (address.endsWith(':') && !address.endsWith('::')) address = address.slice(0, -1);
  }
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':'));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (![...head, ...rest].every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  const known = head.length + rest.length + tail.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  const zeros: number[] = Array(8 - known).fill(0);
  return [
    ...head.map((g) => Number.parseInt(g, 16)),
    ...zeros,
    ...rest.map((g) => Number.parseInt(g, 16)),
    ...tail,
  ];
}

export function createSubmissionLimiter(
  clock: () => number,
  options: { maxKeys?: number } = {},
): SubmissionLimiter {
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const counters = new Map<string, Counter>();

  function counterOf(key: string, now: number): Counter {
    let counter = counters.get(key);
    if (counter) counters.delete(key);
    else counter = { start: minuteOf(now), current: 0, previous: 0 };
    counters.set(key, counter);
    while (counters.size > maxKeys) {
      const oldest = counters.keys().next().value;
      if (oldest === undefined) break;
      counters.delete(oldest);
    }
    roll(counter, now);
    return counter;
  }

  return {
    take(formId, ip, limits) {
      const now = clock();
      const checks: Array<{ counter: Counter; limit: number }> = [];
      const perIp = limits.perIpPerMinute ?? 0;
      const perForm = limits.perFormPerMinute ?? 0;
      if (perIp > 0)
        checks.push({ counter: counterOf(`ip\u0000${formId}\u0000${ipKey(ip)}`, now), limit: perIp });
      if (perForm > 0) checks.push({ counter: counterOf(`form\u0000${formId}`, now), limit: perForm });
      let refused = false;
      let waitMs = 0;
      for (const { counter, limit } of checks) {
        if (estimate(counter, now) + 1 <= limit) continue;
        refused = true;
        waitMs = Math.max(waitMs, waitFor(counter, limit, now));
      }
      if (refused) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
      for (const { counter } of checks) counter.current++;
      const counted = minuteOf(now);
      return {
        ok: true,
        refund() {
          for (const { counter } of checks) {
            roll(counter, clock());
            // Counted in this minute, or in the one before it (its count is `previous` now).
            if (counter.start === counted) counter.current = Math.max(0, counter.current - 1);
            else if (counter.start === counted + WINDOW_MS)
              counter.previous = Math.max(0, counter.previous - 1);
          }
        },
      };
    },
    get size() {
      return counters.size;
    },
  };
}
