import type { FieldError } from '../errors.ts';
import { normaliseEmail } from '../leads/normalise.ts';
import { parseInstant } from '../time.ts';
import { canonicalTimeZone, dayOf, instantOf, localTime } from './zoned-time.ts';

export const roles = ['rep', 'manager'] as const;
export type Role = (typeof roles)[number];

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

/**
 * The local times a person works, per weekday: `{ "mon": [["09:00", "17:30"]] }`. Each pair is
 * a start (inclusive) and an end (exclusive, "24:00" allowed) in the person's time zone; a day
 * that is absent or empty is a day off.
 */
export type WeeklyHours = Partial<Record<Weekday, Array<[string, string]>>>;

/** A time away (holiday, sick leave), from (inclusive) to (exclusive), epoch ms. */
export interface Absence {
  from: number;
  to: number;
}

/** Leads a person may receive from routing; null = no limit. */
export interface Capacity {
  /** Leads per local day (since the person's local midnight). */
  daily: number | null;
  /** Leads in the last 30 days (a rolling window). */
  rolling30Days: number | null;
}

/** A salesperson or manager of a workspace: who routing may hand leads to. */
export interface User {
  id: string;
  workspaceId: string;
  name: string;
  email: string;
  role: Role;
  /** IANA time zone, validated (`Europe/Berlin`). */
  timezone: string;
  /** null = always working. */
  workingHours: WeeklyHours | null;
  outOfOffice: Absence[];
  capacity: Capacity;
  managerId: string | null;
  /** Deactivated people keep their leads and history but receive nothing new. */
  active: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A group of people routing takes turns over; `weight` 2 gets twice the leads of weight 1. */
export interface Team {
  id: string;
  workspaceId: string;
  name: string;
  members: TeamMember[];
  createdAt: number;
  updatedAt: number;
}

export interface TeamMember {
  userId: string;
  weight: number;
}

/** Largest member weight. (100) */
export const MAX_WEIGHT = 100;
/** Most absences one person keeps. (100) */
export const MAX_ABSENCES = 100;
/** Most members of one team. (500) */
export const MAX_MEMBERS = 500;

// ---------------------------------------------------------------------------------------------
// Working time

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** "09:30" as ms since midnight; "24:00" only as an end. Null when not a time. */
function clockMs(text: string, end: boolean): number | null {
  if (end && text === '24:00') return 24 * HOUR_MS;
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return m ? Number(m[1]) * HOUR_MS + Number(m[2]) * MINUTE_MS : null;
}

/** Per weekday (0 = Monday), the working intervals as [start, end) ms of the local day, sorted. */
type DayIntervals = Array<Array<[number, number]>>;

/** Compiled once per hours object: `isWorking` runs for every candidate of every routing decision. */
const compiledHours = new WeakMap<WeeklyHours, DayIntervals>();

function intervalsOf(hours: WeeklyHours): DayIntervals {
  let days = compiledHours.get(hours);
  if (!days) {
    days = weekdays.map((name) =>
      (hours[name] ?? [])
        .map(([start, end]): [number, number] => [clockMs(start, false) ?? 0, clockMs(end, true) ?? 0])
        .filter(([start, end]) => start < end)
        .sort((a, b) => a[0] - b[0]),
    );
    compiledHours.set(hours, days);
  }
  return days;
}

export function isOutOfOffice(user: Pick<User, 'outOfOffice'>, at: number): boolean {
  return user.outOfOffice.some((a) => a.from <= at && at < a.to);
}

/** Inside the person's working hours at `at` (in their time zone); always when they have none. */
export function inWorkingHours(user: Pick<User, 'workingHours' | 'timezone'>, at: number): boolean {
  if (!user.workingHours) return true;
  const local = localTime(user.timezone, at);
  return intervalsOf(user.workingHours)[local.weekday]!.some(
    ([start, end]) => start <= local.msOfDay && local.msOfDay < end,
  );
}

/** Active, not out of office, and inside working hours in the person's time zone. */
export function isWorking(user: User, at: number): boolean {
  return user.active && !isOutOfOffice(user, at) && inWorkingHours(user, at);
}

/**
 * The first stretch of working hours that ends after `t`, clipped to start no earlier than
 * `t`; unbounded for a person without working hours; null for a week with no hours at all.
 */
function nextWorkingWindow(
  user: Pick<User, 'workingHours' | 'timezone'>,
  t: number,
): { from: number; to: number } | null {
  if (!user.workingHours) return { from: t, to: Number.POSITIVE_INFINITY };
  const days = intervalsOf(user.workingHours);
  const local = localTime(user.timezone, t);
  // Eight days: today's remaining hours, then a whole week.
  for (let offset = 0; offset <= 8; offset++) {
    const day = dayOf(local.year, local.month, local.day, offset);
    for (const [start, end] of days[day.weekday]!) {
      const to = instantOf(user.timezone, day, end);
      if (to <= t) continue;
      const from = instantOf(user.timezone, day, start);
      if (from < to) return { from: Math.max(from, t), to };
    }
  }
  return null;
}

/**
 * The instant at which `ms` of the person's working time has passed after `start`: time
 * outside working hours and out of office does not count ("first touch within 1 business
 * hour"). Infinity when the person has no working time left at all.
 */
export function addWorkingTime(user: User, start: number, ms: number): number {
  let remaining = Math.max(0, ms);
  if (remaining === 0) return start;
  const away = [...user.outOfOffice].sort((a, b) => a.from - b.from);
  let t = start;
  // Each turn consumes a working window or skips an absence: bounded by their number over the
  // years an absence may span, far below this guard.
  for (let turn = 0; turn < 100_000; turn++) {
    const window = nextWorkingWindow(user, t);
    if (!window) return Number.POSITIVE_INFINITY;
    let { from, to } = window;
    const blocking = away.find((a) => a.to > from && a.from < to);
    if (blocking) {
      if (blocking.from <= from) {
        t = blocking.to;
        continue;
      }
      to = blocking.from;
    }
    const take = Math.min(remaining, to - from);
    remaining -= take;
    if (remaining <= 0) return from + take;
    t = to;
  }
  return Number.POSITIVE_INFINITY;
}

// ---------------------------------------------------------------------------------------------
// Input

/** A user as the API and CLI give it (times of absences as ISO 8601 text or epoch ms). */
export interface UserInput {
  name?: string;
  email?: string;
  role?: Role;
  timezone?: string;
  workingHours?: WeeklyHours | null;
  outOfOffice?: Array<{ from: string | number; to: string | number }>;
  capacity?: { daily?: number | null; rolling30Days?: number | null };
  managerId?: string | null;
  active?: boolean;
}

export function checkWorkingHours(hours: WeeklyHours, path: string): FieldError[] {
  const errors: FieldError[] = [];
  let intervals = 0;
  for (const [name, list] of Object.entries(hours)) {
    if (!(weekdays as readonly string[]).includes(name)) {
      errors.push({ path: `${path}/${name}`, message: `is not a weekday (${weekdays.join(', ')})` });
      continue;
    }
    const parsed: Array<[number, number, number]> = [];
    (list ?? []).forEach(([start, end], i) => {
      const at = `${path}/${name}/${i}`;
      const from = clockMs(start, false);
      const to = clockMs(end, true);
      if (from === null)
        errors.push({ path: `${at}/0`, message: 'must be a time HH:MM from 00:00 to 23:59' });
      if (to === null) errors.push({ path: `${at}/1`, message: 'must be a time HH:MM from 00:01 to 24:00' });
      if (from !== null && to !== null) {
        if (from >= to) errors.push({ path: `${at}/1`, message: 'must be later than the start' });
        else parsed.push([from, to, i]);
      }
    });
    parsed.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < parsed.length; i++) {
      if (parsed[i]![0] < parsed[i - 1]![1])
        errors.push({ path: `${path}/${name}/${parsed[i]![2]}`, message: 'overlaps another interval' });
    }
    intervals += parsed.length;
  }
  if (errors.length === 0 && intervals === 0)
    errors.push({ path, message: 'has no working time; use null for "always working"' });
  return errors;
}

function checkAbsences(
  list: NonNullable<UserInput['outOfOffice']>,
  path: string,
  errors: FieldError[],
): Absence[] {
  const out: Absence[] = [];
  if (list.length > MAX_ABSENCES) errors.push({ path, message: `must have at most ${MAX_ABSENCES} periods` });
  list.forEach((item, i) => {
    const from = parseInstant(item.from);
    const to = parseInstant(item.to);
    const message = 'must be an ISO 8601 time with a zone, or epoch milliseconds';
    if (from === null) errors.push({ path: `${path}/${i}/from`, message });
    if (to === null) errors.push({ path: `${path}/${i}/to`, message });
    if (from !== null && to !== null) {
      if (from >= to) errors.push({ path: `${path}/${i}/to`, message: 'must be later than from' });
      else out.push({ from, to });
    }
  });
  return out.sort((a, b) => a.from - b.from);
}

function checkCapacity(value: number | null | undefined, path: string, errors: FieldError[]): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isInteger(value) || value < 0 || value > 1_000_000)
    errors.push({ path, message: 'must be an integer from 0 to 1000000, or null' });
  return value;
}

/**
 * A new user from `input` (`current` absent), or `current` with `input` applied (absent
 * fields stay). Checks every field; the service checks what needs the database (unique email,
 * the manager exists).
 */
export function prepareUser(
  current: User | null,
  input: UserInput,
  ids: { id: string; workspaceId: string },
  now: number,
): { ok: true; user: User } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const name = input.name?.trim() ?? current?.name ?? '';
  if (name === '') errors.push({ path: '/name', message: 'is required' });
  let email = current?.email ?? '';
  if (input.email !== undefined || !current) {
    const result = normaliseEmail(input.email ?? '');
    if (result.ok) email = result.value;
    else errors.push({ path: '/email', message: input.email ? result.message : 'is required' });
  }
  let timezone = current?.timezone ?? 'UTC';
  if (input.timezone !== undefined) {
    const canonical = canonicalTimeZone(input.timezone);
    if (canonical) timezone = canonical;
    else errors.push({ path: '/timezone', message: 'is not an IANA time zone (e.g. Europe/Berlin)' });
  }
  let workingHours = current?.workingHours ?? null;
  if (input.workingHours !== undefined) {
    workingHours = input.workingHours;
    if (workingHours) errors.push(...checkWorkingHours(workingHours, '/workingHours'));
  }
  const outOfOffice =
    input.outOfOffice !== undefined
      ? checkAbsences(input.outOfOffice, '/outOfOffice', errors)
      : (current?.outOfOffice ?? []);
  const capacity: Capacity = {
    daily:
      input.capacity?.daily !== undefined
        ? checkCapacity(input.capacity.daily, '/capacity/daily', errors)
        : (current?.capacity.daily ?? null),
    rolling30Days:
      input.capacity?.rolling30Days !== undefined
        ? checkCapacity(input.capacity.rolling30Days, '/capacity/rolling30Days', errors)
        : (current?.capacity.rolling30Days ?? null),
  };
  const managerId = input.managerId !== undefined ? input.managerId : (current?.managerId ?? null);
  if (managerId !== null && managerId === ids.id)
    errors.push({ path: '/managerId', message: 'cannot be the user themself' });
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    user: {
      id: ids.id,
      workspaceId: ids.workspaceId,
      name,
      email,
      role: input.role ?? current?.role ?? 'rep',
      timezone,
      workingHours,
      outOfOffice,
      capacity,
      managerId,
      active: input.active ?? current?.active ?? true,
      createdAt: current?.createdAt ?? now,
      updatedAt: now,
    },
  };
}

/** Checks a team's member list: nobody twice, weights from 1 to MAX_WEIGHT. */
export function checkMembers(members: readonly TeamMember[], path: string): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  members.forEach((m, i) => {
    if (seen.has(m.userId)) errors.push({ path: `${path}/${i}/userId`, message: 'is listed twice' });
    seen.add(m.userId);
    if (!Number.isInteger(m.weight) || m.weight < 1 || m.weight > MAX_WEIGHT)
      errors.push({ path: `${path}/${i}/weight`, message: `must be an integer from 1 to ${MAX_WEIGHT}` });
  });
  if (members.length > MAX_MEMBERS)
    errors.push({ path, message: `must have at most ${MAX_MEMBERS} members` });
  return errors;
}
