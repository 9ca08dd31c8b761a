import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';

/**
 * Business signals: the moments other parts of Leadline (outbound webhooks, alerts) react to.
 * The names are the outbound webhook event types. Signals derived from lead changes
 * (from-changes.ts): `lead.created`, `lead.updated`, `lead.stage_changed`, `lead.became_hot`,
 * `lead.score_crossed`, and `form.submitted`, from the `form_submitted` activity a form's
 * capture writes (forms must not emit it themselves, or it would be sent twice). The others are
 * emitted by the domain that decides them (routing: `lead.assigned`; SLAs: `sla.warning`,
 * `sla.breached`; tasks: `task.due`).
 */
export const signalTypes = [
  'lead.created',
  'lead.updated',
  'lead.stage_changed',
  'lead.assigned',
  'lead.became_hot',
  'lead.score_crossed',
  'form.submitted',
  'sla.warning',
  'sla.breached',
  'task.due',
] as const;
export type SignalType = (typeof signalTypes)[number];

export interface Signal {
  type: SignalType;
  /** The lead it is about, when it is about one. */
  leadId?: string | undefined;
  /** When it happened (epoch ms). */
  at: number;
  /** Type-specific facts, JSON-safe (ids, stages, scores…): what a webhook body's `data` carries. */
  data: Record<string, unknown>;
}

/**
 * Runs inside the transaction that emitted the signals: a subscriber enqueues jobs there, so
 * a signal's consequences commit (or roll back) with its cause.
 */
export type SignalHandler = (
  trx: Kysely<DB>,
  workspaceId: string,
  signals: readonly Signal[],
  now: number,
) => Promise<void>;

/** Whether a subscriber has anything configured for a workspace (cached by the subscriber: called per write). */
export type Interest = (db: Kysely<DB>, workspaceId: string) => Promise<boolean>;

export class Signals {
  readonly #handlers: Array<{ name: string; handle: SignalHandler; interested: Interest }> = [];

  /**
   * `interested` lets producers skip deriving signals nobody would receive (computing scores
   * before and after every capture costs more than the capture's own checks).
   */
  subscribe(name: string, handle: SignalHandler, interested: Interest): void {
    this.#handlers.push({ name, handle, interested });
  }

  /** True when some subscriber wants this workspace's signals. */
  async interestedIn(db: Kysely<DB>, workspaceId: string): Promise<boolean> {
    for (const { interested } of this.#handlers) if (await interested(db, workspaceId)) return true;
    return false;
  }

  async emitIn(trx: Kysely<DB>, workspaceId: string, signals: readonly Signal[], now: number): Promise<void> {
    if (signals.length === 0) return;
    for (const { handle } of this.#handlers) await handle(trx, workspaceId, signals, now);
  }
}
