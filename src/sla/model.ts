import type { FieldError } from '../errors.ts';
import type { TimelineEntry } from '../leads/model.ts';
import type { LeadChange } from '../leads/reactions.ts';
import { type Stage, stages } from '../lifecycle/model.ts';
import { type TaskType, taskTypes } from '../tasks/model.ts';

/**
 * Speed-to-lead SLAs: "hot or demo requested: first touch within 5 minutes", "MQL: within 1
 * business hour". A policy's timer starts when one of its triggers happens to a lead and is
 * met by the owner's first touch; past its due time it is breached and escalates.
 */

/** What starts a timer: the lead became this temperature, did this activity, or entered this stage. */
export type SlaTrigger = { temperature: 'hot' | 'warm' } | { activity: string } | { stage: Stage };

export interface SlaPolicy {
  id: string;
  name: string;
  enabled: boolean;
  when: SlaTrigger[];
  /** Time allowed for the first touch; business time counts only the owner's working hours. */
  within: { ms: number; business: boolean };
  /** `sla.warning` this long before the due time (alerts "SLA about to breach"); null: no warning. */
  warnBeforeMs: number | null;
  onBreach: { notifyManager: boolean; reassign: boolean };
  /** A task for the owner when the timer starts, due when the SLA is. */
  task: { type: TaskType } | null;
}

/**
 * Activities that count as a rep's touch: a call, an email sent, a meeting booked.
 * (`email_replied` is the lead replying: engagement, not contact.)
 */
export const touchTypes = ['call_logged', 'email_sent', 'meeting_booked'] as const;

/**
 * Whether `entry` is the owner's touch: a touch activity logged by the owner (`properties.userId`)
 * or by an integration that names no user (the owner's own call or email log). Another rep's
 * call does not meet the owner's SLA.
 */
export function isTouch(entry: TimelineEntry, ownerId: string | null): boolean {
  if (!(touchTypes as readonly string[]).includes(entry.type)) return false;
  const by = entry.properties.userId;
  return by === undefined || by === null || ownerId === null || by === ownerId;
}

export function triggerLabel(trigger: SlaTrigger): string {
  if ('temperature' in trigger) return `temperature:${trigger.temperature}`;
  if ('activity' in trigger) return `activity:${trigger.activity}`;
  return `stage:${trigger.stage}`;
}

/** The first trigger of `policy` this change fired, if any. */
export function firedTrigger(policy: SlaPolicy, change: LeadChange): SlaTrigger | undefined {
  const created = change.before === null && change.after !== undefined;
  for (const trigger of policy.when) {
    if ('temperature' in trigger) {
      if (
        change.entries.some(
          (e) => e.type === 'temperature_changed' && e.properties.to === trigger.temperature,
        )
      )
        return trigger;
      if (created && change.after!.scoring.temperature === trigger.temperature) return trigger;
    } else if ('activity' in trigger) {
      if (change.entries.some((e) => e.type === trigger.activity)) return trigger;
    } else {
      if (change.entries.some((e) => e.type === 'stage_changed' && e.properties.to === trigger.stage))
        return trigger;
      if (created && change.after!.stage === trigger.stage) return trigger;
    }
  }
  return undefined;
}

/** When a timer started at `start` is due: wall-clock, or through `businessDeadline` (the owner's hours). */
export function dueAt(
  policy: SlaPolicy,
  start: number,
  businessDeadline: ((start: number, ms: number) => number) | undefined,
): number {
  if (policy.within.business && businessDeadline) return businessDeadline(start, policy.within.ms);
  return start + policy.within.ms;
}

/** At most this many reassignments after breaches of one policy for one lead, so a team that nobody answers does not loop. */
export const MAX_REASSIGNMENTS = 3;

// ---------------------------------------------------------------------------------------------
// Input: the policies document of PUT /api/v1/sla/policies.

const MINUTE = 60_000;

export interface PolicyInput {
  id?: string;
  name: string;
  enabled?: boolean;
  when: Array<Record<string, unknown>>;
  within: { minutes?: number; hours?: number; businessMinutes?: number; businessHours?: number };
  warnBeforeMinutes?: number | null;
  onBreach?: { notifyManager?: boolean; reassign?: boolean };
  task?: { type: string } | null;
}

export type ParsedPolicies =
  | { ok: true; policies: Array<Omit<SlaPolicy, 'id'> & { id?: string }> }
  | { ok: false; errors: FieldError[] };

/** Checks a list of policies (shape already checked by the route's schema): field errors name the JSON path. */
export function parsePolicies(inputs: readonly PolicyInput[]): ParsedPolicies {
  const errors: FieldError[] = [];
  const policies = inputs.map((input, i) => {
    const at = `/policies/${i}`;
    const when: SlaTrigger[] = [];
    input.when.forEach((raw, j) => {
      const keys = Object.keys(raw);
      const path = `${at}/when/${j}`;
      if (keys.length !== 1) {
        errors.push({ path, message: 'must have exactly one of temperature, activity, stage' });
        return;
      }
      const value = raw[keys[0]!];
      if (keys[0] === 'temperature' && (value === 'hot' || value === 'warm'))
        when.push({ temperature: value });
      else if (keys[0] === 'activity' && typeof value === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(value))
        when.push({ activity: value });
      else if (
        keys[0] === 'stage' &&
        typeof value === 'string' &&
        (stages as readonly string[]).includes(value)
      )
        when.push({ stage: value as Stage });
      else
        errors.push({
          path: `${path}/${keys[0]}`,
          message:
            keys[0] === 'temperature'
              ? 'must be hot or warm'
              : keys[0] === 'stage'
                ? `must be one of ${stages.join(', ')}`
                : keys[0] === 'activity'
                  ? 'must be an activity type'
                  : 'is not a trigger (temperature, activity or stage)',
        });
    });
    const w = input.within;
    const given = (['minutes', 'hours', 'businessMinutes', 'businessHours'] as const).filter(
      (k) => w[k] !== undefined,
    );
    let within = { ms: 0, business: false };
    if (given.length !== 1)
      errors.push({
        path: `${at}/within`,
        message: 'must have exactly one of minutes, hours, businessMinutes, businessHours',
      });
    else {
      const key = given[0]!;
      const n = w[key]!;
      within = {
        // Whole milliseconds: times are integer columns (0.33333 minutes would not fit one).
        ms: Math.round(n * (key.endsWith('ours') ? 60 * MINUTE : MINUTE)),
        business: key.startsWith('business'),
      };
      // Positive, but less than half a millisecond: it would be stored as no time at all.
      if (within.ms < 1) errors.push({ path: `${at}/within/${key}`, message: 'must be at least 1 ms' });
    }
    const warnBeforeMs =
      input.warnBeforeMinutes == null ? null : Math.round(input.warnBeforeMinutes * MINUTE);
    if (warnBeforeMs === 0)
      errors.push({ path: `${at}/warnBeforeMinutes`, message: 'must be at least 1 ms' });
    else if (warnBeforeMs !== null && within.ms > 0 && warnBeforeMs >= within.ms)
      errors.push({ path: `${at}/warnBeforeMinutes`, message: 'must be shorter than the time allowed' });
    let task: SlaPolicy['task'] = null;
    if (input.task) {
      if ((taskTypes as readonly string[]).includes(input.task.type))
        task = { type: input.task.type as TaskType };
      else errors.push({ path: `${at}/task/type`, message: `must be one of ${taskTypes.join(', ')}` });
    }
    return {
      ...(input.id ? { id: input.id } : {}),
      name: input.name,
      enabled: input.enabled ?? true,
      when,
      within,
      warnBeforeMs,
      onBreach: {
        notifyManager: input.onBreach?.notifyManager ?? true,
        reassign: input.onBreach?.reassign ?? false,
      },
      task,
    };
  });
  const ids = inputs.flatMap((p) => (p.id ? [p.id] : []));
  if (new Set(ids).size !== ids.length) errors.push({ path: '/policies', message: 'ids must be unique' });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, policies };
}

/** A policy as the API shows it (the input form, so GET can be edited and PUT back). */
export function policyJson(policy: SlaPolicy) {
  const minutes = policy.within.ms / MINUTE;
  return {
    id: policy.id,
    name: policy.name,
    enabled: policy.enabled,
    when: policy.when,
    within: policy.within.business ? { businessMinutes: minutes } : { minutes },
    warnBeforeMinutes: policy.warnBeforeMs === null ? null : policy.warnBeforeMs / MINUTE,
    onBreach: policy.onBreach,
    task: policy.task,
  };
}
