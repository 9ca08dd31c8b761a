import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import { pruneInChunks } from '../db/prune.ts';
import type { DB } from '../db/schema.ts';
import { DomainError } from '../errors.ts';
import type { Workspace } from '../workspaces/model.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import type { Form, Submission, SubmitOutcome } from './model.ts';
import * as store from './quarantine-store.ts';

export type { QuarantineEntry, QuarantineStatus } from './quarantine-store.ts';
export { quarantineStatuses } from './quarantine-store.ts';

/**
 * What a release needs of the forms service: the form, read before the transaction, and its
 * `submitIn(…, { skipSpam: true })`. Handed over by app.ts: the forms service depends on this
 * one (`addIn`), so this one cannot import it.
 */
export interface ReleaseTarget {
  get(workspaceId: string, formId: string): Promise<Form>;
  submitIn(
    trx: Transaction<DB>,
    workspace: Workspace,
    form: Form,
    submission: Submission,
    options: { skipSpam: boolean; evenIfClosed: boolean },
  ): Promise<SubmitOutcome>;
}

export interface QuarantineServiceDeps {
  database: Database;
  workspaces: Pick<WorkspaceService, 'getWorkspace'>;
  clock: () => number;
  forms: ReleaseTarget;
}

/** What the forms service hands over when its spam verdict is "quarantine". */
export interface QuarantineInput {
  formId: string;
  submission: Submission;
  reasons: readonly string[];
  /** The submitted email, shown in the review list. */
  email?: string | null | undefined;
  /** The sender's address and browser (default: the submission's). */
  ip?: string | null | undefined;
  userAgent?: string | null | undefined;
}

/**
 * How long the quarantine keeps a decided (released or discarded) entry after the decision;
 * then the worker prunes it. Undecided entries stay until a person decides: a submission that
 * may be a real person's is never dropped unseen (the rate limits bound how many arrive).
 * (90 days)
 */
export const QUARANTINE_RETENTION_MS = 90 * 86_400_000;
/** Entries deleted per pruning transaction. (1,000) */
const PRUNE_CHUNK = 1_000;

export type QuarantineService = ReturnType<typeof createQuarantineService>;

export function createQuarantineService({ database, workspaces, clock, forms }: QuarantineServiceDeps) {
  const { db } = database;
  const notFound = (id: string) =>
    new DomainError('QUARANTINE_NOT_FOUND', `No quarantined submission ${id} in this workspace.`);
  const decided = (entry: store.QuarantineEntry) =>
    new DomainError('CONFLICT', `The submission was ${entry.status} already.`, [
      {
        path: '/status',
        message: `is ${entry.status}; only quarantined submissions can be released or discarded`,
      },
    ]);

  return {
    /** Keeps a suspect submission, in the caller's transaction (the submission's own). */
    async addIn(
      trx: Kysely<DB>,
      workspaceId: string,
      input: QuarantineInput,
    ): Promise<store.QuarantineEntry> {
      const entry: store.QuarantineEntry = {
        id: newId(input.submission.receivedAt),
        formId: input.formId,
        email: input.email ?? null,
        submission: input.submission,
        reasons: [...input.reasons],
        ip: input.ip ?? input.submission.ip,
        userAgent: input.userAgent ?? input.submission.userAgent,
        status: 'quarantined',
        leadId: null,
        createdAt: input.submission.receivedAt,
        decidedAt: null,
      };
      await store.insertEntry(trx, workspaceId, entry);
      return entry;
    },

    list: (workspaceId: string, filter: store.QuarantineFilter) => store.listEntries(db, workspaceId, filter),

    async get(workspaceId: string, id: string): Promise<store.QuarantineEntry> {
      const entry = await store.findEntry(db, workspaceId, id);
      if (!entry) throw notFound(id);
      return entry;
    },

    /**
     * Lets a quarantined submission through: it is submitted as received (the lead captured,
     * the activity, consents and follow-ups as for any submission) and marked released, all in
     * one transaction. Deciding first, conditionally, makes two concurrent releases one.
     */
    async release(workspaceId: string, id: string): Promise<store.QuarantineEntry> {
      const found = await store.findEntry(db, workspaceId, id);
      if (!found) throw notFound(id);
      if (found.status !== 'quarantined') throw decided(found);
      // Read before the write: on SQLite a read through the pool inside it would wait for itself.
      const workspace = await workspaces.getWorkspace(workspaceId);
      const form = await forms.get(workspaceId, found.formId);
      return database.writes.run(async (trx) => {
        const entry = await store.findEntry(trx, workspaceId, id);
        if (!entry) throw notFound(id);
        const now = clock();
        if (!(await store.decide(trx, workspaceId, id, 'released', now, null))) throw decided(entry);
        // Closed or archived since is no reason to lose it: it arrived while the form was open.
        const outcome = await forms.submitIn(trx, workspace, form, entry.submission, {
          skipSpam: true,
          evenIfClosed: true,
        });
        if (outcome.status === 'quarantined') throw new Error('a released submission was quarantined again');
        await store.setLead(trx, workspaceId, id, outcome.leadId);
        return { ...entry, status: 'released' as const, decidedAt: now, leadId: outcome.leadId };
      });
    },

    /** Confirms a quarantined submission as spam: it stays listed (as discarded) until pruned. */
    async discard(workspaceId: string, id: string): Promise<store.QuarantineEntry> {
      return database.writes.run(async (trx) => {
        const entry = await store.findEntry(trx, workspaceId, id);
        if (!entry) throw notFound(id);
        const now = clock();
        if (!(await store.decide(trx, workspaceId, id, 'discarded', now, null))) throw decided(entry);
        return { ...entry, status: 'discarded' as const, decidedAt: now };
      });
    },

    /** Deletes entries decided more than QUARANTINE_RETENTION_MS ago, in chunks; returns how many. */
    async prune(workspaceIds: readonly string[]): Promise<number> {
      const before = clock() - QUARANTINE_RETENTION_MS;
      return pruneInChunks(database, workspaceIds, PRUNE_CHUNK, (trx, workspaceId, limit) =>
        store.pruneDecided(trx, workspaceId, before, limit),
      );
    },
  };
}
