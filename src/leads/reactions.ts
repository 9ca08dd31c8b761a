import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import type { Lead, TimelineEntry } from './model.ts';
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
 * The registry the lead service calls after each write. Reactions are registered by the
 * composition root (app.ts) after every service exists, which keeps the lead service free of
 * imports from the domains that react to it (routing, webhooks, alerts).
 */
export class LeadReactions {
  readonly #list: Array<{ name: string; react: Reaction }> = [];

  register(name: string, react: Reaction): void {
    this.#list.push({ name, react });
  }

  /** Runs every reaction, in registration order, on the changes of one write. */
  async runIn(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    changes: readonly LeadChange[],
    now: number,
  ): Promise<void> {
    if (changes.length === 0) return;
    for (const { react } of this.#list) await react(trx, workspace, changes, now);
  }
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
