import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import type { FieldError } from '../errors.ts';
import type { Lead, LeadCapture, TimelineEntry } from './model.ts';
import type { WorkspaceContext } from './service.ts';

/**
 * What one write did to one lead: the lead before (null: created by it) and after, and the
 * timeline entries the write added for it (`lead_created`, `lead_updated`, `stage_changed`,
 * `temperature_changed`, activities such as `demo_requested` …, in order).
 *
 * `before`/`after` are absent when the write did not need to load the lead (an event no
 * scoring rule reacts to): a reaction that needs the lead loads it (`LeadService.getIn`).
 */
export interface LeadChange {
  leadId: string;
  before?: Lead | null | undefined;
  after?: Lead | undefined;
  entries: readonly TimelineEntry[];
}

/**
 * Something that follows lead changes inside the writing transaction: routing assigns an
 * owner, SLA timers start or stop, alerts and outbound webhooks are enqueued as jobs. Running
 * in the same transaction is what makes "acknowledged" mean "and its consequences are queued".
 *
 * A reaction should cost next to nothing when its workspace has nothing configured (one
 * cached lookup), because every capture and every event passes through it.
 */
export type Reaction = (
  trx: Kysely<DB>,
  workspace: WorkspaceContext,
  changes: readonly LeadChange[],
  now: number,
) => Promise<void>;

/**
 * A check other domains make on valid captures before any is written, in the writing
 * transaction: routing refuses an `ownerId` that is not an active user. Returns the problems
 * of the captures it refuses, by their index in `captures`, with paths relative to the capture
 * (`/ownerId`); the refused captures are reported as invalid input and written nowhere.
 */
export type CaptureCheck = (
  trx: Kysely<DB>,
  workspace: WorkspaceContext,
  captures: readonly LeadCapture[],
) => Promise<Map<number, FieldError[]>>;

/**
 * Something that follows an explicit merge inside its transaction: what belongs to the lead
 * merged away (`from`) moves to the survivor (`into`), as its timeline does (tasks).
 */
export type MergeReaction = (
  trx: Kysely<DB>,
  workspaceId: string,
  from: string,
  into: string,
) => Promise<void>;

/**
 * The registry the lead service calls after each write. Reactions are registered by the
 * composition root (app.ts) after every service exists, which keeps the lead service free of
 * imports from the domains that react to it (routing, webhooks, alerts).
 */
export class LeadReactions {
  readonly #list: Array<{ name: string; react: Reaction }> = [];
  readonly #checks: Array<{ name: string; check: CaptureCheck }> = [];
  readonly #merges: Array<{ name: string; follow: MergeReaction }> = [];

  register(name: string, react: Reaction): void {
    this.#list.push({ name, react });
  }

  /** Adds what moves with a merge from the lead merged away to the survivor. */
  registerMerge(name: string, follow: MergeReaction): void {
    this.#merges.push({ name, follow });
  }

  /** Runs every merge reaction, in registration order, in the merge's transaction. */
  async mergedIn(trx: Kysely<DB>, workspaceId: string, from: string, into: string): Promise<void> {
    for (const { follow } of this.#merges) await follow(trx, workspaceId, from, into);
  }

  /** Adds a check every batch of captures passes before it is written. */
  registerCheck(name: string, check: CaptureCheck): void {
    this.#checks.push({ name, check });
  }

  /**
   * Runs every reaction, in registration order, on the changes of one write. `rewritten`
   * holds the leads the reactions have written since this run began (routing gives an owner),
   * filled while they run: each reaction sees those leads as they now stand in its changes'
   * `after`, not as the write left them.
   */
  async runIn(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    changes: readonly LeadChange[],
    now: number,
    rewritten?: ReadonlyMap<string, Lead>,
  ): Promise<void> {
    if (changes.length === 0) return;
    let current = changes;
    for (const { react } of this.#list) {
      if (rewritten && rewritten.size > 0) current = withRewritten(current, rewritten);
      await react(trx, workspace, current, now);
    }
  }

  /** The problems of the captures some check refuses, by index (all checks' problems merged). */
  async checkIn(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    captures: readonly LeadCapture[],
  ): Promise<Map<number, FieldError[]>> {
    const refused = new Map<number, FieldError[]>();
    if (captures.length === 0) return refused;
    for (const { check } of this.#checks) {
      for (const [index, errors] of await check(trx, workspace, captures)) {
        refused.set(index, [...(refused.get(index) ?? []), ...errors]);
      }
    }
    return refused;
  }
}

/** `changes` with each loaded `after` replaced by the lead's rewritten version, if any. */
function withRewritten(changes: readonly LeadChange[], rewritten: ReadonlyMap<string, Lead>): LeadChange[] {
  return changes.map((change) => {
    const lead = change.after && rewritten.get(change.leadId);
    return lead && lead !== change.after ? { ...change, after: lead } : change;
  });
}

/** Groups timeline entries by lead, keeping their order. */
export function entriesByLead(entries: readonly TimelineEntry[]): Map<string, TimelineEntry[]> {
  const out = new Map<string, TimelineEntry[]>();
  for (const entry of entries) {
    const list = out.get(entry.leadId);
    if (list) list.push(entry);
    else out.set(entry.leadId, [entry]);
  }
  return out;
}
