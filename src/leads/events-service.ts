import type { Kysely, Transaction } from 'kysely';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { DB } from '../db/schema.ts';
import { DomainError, validationError } from '../errors.ts';
import { unstorableTextErrors } from '../storable-text.ts';
import * as anonymous from './anonymous-store.ts';
import { parseEventInput, parseIdentifyInput } from './events-input.ts';
import { type EventResult, planEvents, settleResults } from './events-model.ts';
import { parseLeadInput } from './input.ts';
import type { LeadService, WorkspaceContext } from './service.ts';
import * as store from './store.ts';
import * as timeline from './timeline-store.ts';

export interface EventServiceDeps {
  database: Database;
  leads: LeadService;
  clock: () => number;
  /** `anonymousRetentionDays`: days a visitor's events are kept while nobody knows who they are. */
  config: Pick<Config, 'anonymousRetentionDays'>;
}

/** The answer to a batch of events: counts, and one result per event in request order. */
export interface IngestOutcome {
  /** Events written by this call. */
  accepted: number;
  /** Events whose id was already stored (retries), or repeated within the call. */
  duplicates: number;
  rejected: number;
  results: EventResult[];
}

export interface IdentifyOutcome {
  anonymousId: string;
  leadId: string;
  /** The email was unknown, so the lead was created by this call. */
  leadCreated: boolean;
  /** The link is new; false when this anonymous id was already identified as this lead. */
  linked: boolean;
  /** Anonymous activities moved onto the lead's timeline by this call. */
  moved: number;
}

/** Expired anonymous rows deleted per transaction, so a purge never holds the writer for long. */
export const PURGE_CHUNK = 5000;

export type EventService = ReturnType<typeof createEventService>;

export function createEventService({ database, leads, clock, config }: EventServiceDeps) {
  const { db } = database;
  const { anonymousRetentionDays } = config;
  /** Whether writes lock what they read to write (PostgreSQL: API processes write side by side). */
  const lock = database.engine === 'postgres';

  /**
   * The lead of every email, creating the unknown ones, through the lead service so that
   * dedupe, normalisation, merge redirects and the `lead_created` entry live in one place.
   */
  async function leadsOfEmails(
    trx: Transaction<DB>,
    workspace: WorkspaceContext,
    emails: string[],
    now: number,
  ): Promise<Map<string, { id: string; created: boolean }>> {
    const captures = emails.map((email) => {
      const parsed = parseLeadInput({ email }, { now });
      // The email was normalised already; a refusal here would be a bug.
      if (!parsed.ok) throw new Error(`a normalised email was refused: ${parsed.errors[0]?.message}`);
      return parsed.value;
    });
    const written = await leads.captureManyIn(trx, workspace, captures, 'event');
    return new Map(
      emails.map((email, i) => [email, { id: written[i]!.lead.id, created: written[i]!.created }]),
    );
  }

  /**
   * Validates and writes a batch of raw events in the caller's transaction. Bad events are
   * rejected one by one; the good ones are written together. A constant number of statements
   * whatever the batch size: one lookup of anonymous ids, one of lead ids, one capture of all
   * emails, one multi-row insert per destination table.
   */
  async function ingestIn(
    trx: Transaction<DB>,
    workspace: WorkspaceContext,
    rawEvents: unknown[],
    pathOf: (index: number) => string = (index) => `/events/${index}`,
  ): Promise<IngestOutcome> {
    const now = clock();
    // Text PostgreSQL cannot store rejects its event alone (the route leaves that check here).
    const parsed = rawEvents.map((raw, index): ReturnType<typeof parseEventInput> => {
      const unstorable = unstorableTextErrors(raw, pathOf(index));
      return unstorable.length > 0
        ? { ok: false, errors: unstorable }
        : parseEventInput(raw, { now }, pathOf(index));
    });

    // Retries of events sent by email: found before their emails are captured, since a
    // capture writes (it creates an unknown email's lead, restores an archived one).
    const retriedIds = parsed.flatMap((item) =>
      item.ok && item.value.subject.kind === 'email' && item.value.id !== undefined ? [item.value.id] : [],
    );
    const stored =
      retriedIds.length > 0 ? await timeline.findStoredEntries(trx, workspace.id, retriedIds) : new Map();

    const leadIds = new Set<string>();
    const emails = new Set<string>();
    const anonymousIds = new Set<string>();
    for (const item of parsed) {
      if (!item.ok) continue;
      const subject = item.value.subject;
      if (subject.kind === 'lead') leadIds.add(subject.leadId);
      else if (subject.kind === 'email') {
        if (item.value.id === undefined || !stored.has(item.value.id)) emails.add(subject.email);
      } else anonymousIds.add(subject.anonymousId);
    }

    if (lock) await anonymous.lockVisitors(trx, workspace.id, [...anonymousIds]);
    const links = await anonymous.findIdentities(trx, workspace.id, [...anonymousIds]);
    const resolved = await store.resolveLeadIds(trx, workspace.id, [...leadIds, ...links.values()], lock);
    const identities = new Map<string, string>();
    for (const [anonymousId, leadId] of links) {
      // A link to a lead that no longer exists (erased) leaves the visitor anonymous again.
      const target = resolved.get(leadId);
      if (target) identities.set(anonymousId, target);
    }
    const byEmail = emails.size > 0 ? await leadsOfEmails(trx, workspace, [...emails], now) : new Map();

    const plan = planEvents(
      parsed,
      {
        leadIds: resolved,
        emails: new Map([...byEmail].map(([email, lead]) => [email, lead.id])),
        identities,
        stored,
      },
      { now, retentionDays: anonymousRetentionDays, newId, pathOf },
    );
    const storedEntries = await timeline.insertEntries(trx, workspace.id, plan.entries, now);
    // Scored in this transaction: a query right after the 2xx sees the new score.
    await leads.qualifyActivitiesIn(
      trx,
      workspace,
      plan.entries.filter((entry) => storedEntries.has(entry.id)),
    );
    const storedAnonymous = await anonymous.insertActivities(trx, workspace.id, plan.anonymous, now);
    const settled = settleResults(plan.results, new Set([...storedEntries, ...storedAnonymous]));
    // A duplicate names the lead that holds the stored event: a retry with the same id for
    // another lead did not move it there. (Retries by email were looked up above, in `stored`.)
    const duplicateIds = settled.flatMap((r) =>
      r.status === 'duplicate' && r.leadId && !stored.has(r.id!) ? [r.id!] : [],
    );
    const holders =
      duplicateIds.length > 0 ? await timeline.findStoredEntries(trx, workspace.id, duplicateIds) : undefined;
    const results = holders
      ? settled.map((r) =>
          r.status === 'duplicate' && holders.has(r.id!) ? { ...r, leadId: holders.get(r.id!)! } : r,
        )
      : settled;
    const count = (status: EventResult['status']) => results.filter((r) => r.status === status).length;
    return {
      accepted: count('stored'),
      duplicates: count('duplicate'),
      rejected: count('rejected'),
      results,
    };
  }

  /** Attaches a visitor's history to a lead, in the caller's transaction. */
  async function identifyIn(
    trx: Transaction<DB>,
    workspace: WorkspaceContext,
    raw: unknown,
  ): Promise<IdentifyOutcome> {
    const parsed = parseIdentifyInput(raw);
    if (!parsed.ok) throw validationError(parsed.errors);
    const { anonymousId, target } = parsed.value;
    const now = clock();
    // Before anything else: events of this visitor written meanwhile by another process land
    // either before the move below (and are moved) or after the link (and go to the lead).
    if (lock) await anonymous.lockVisitors(trx, workspace.id, [anonymousId]);

    let lead: { id: string; created: boolean };
    if (target.kind === 'lead') {
      const id = (await store.resolveLeadIds(trx, workspace.id, [target.leadId], lock)).get(target.leadId);
      if (!id)
        throw new DomainError('LEAD_NOT_FOUND', `No lead ${target.leadId} in this workspace.`, [
          { path: '/leadId', message: 'is not a lead in this workspace' },
        ]);
      lead = { id, created: false };
    } else {
      lead = (await leadsOfEmails(trx, workspace, [target.email], now)).get(target.email)!;
    }

    const linkedTo = async (): Promise<string | undefined> => {
      const leadId = (await anonymous.findIdentities(trx, workspace.id, [anonymousId])).get(anonymousId);
      return leadId && ((await store.resolveLeadIds(trx, workspace.id, [leadId])).get(leadId) ?? leadId);
    };
    // Read first, insert only when unlinked; a concurrent identify that wins the insert race
    // is caught by the re-read. A conflict throws, which also rolls back a lead created above.
    let current = await linkedTo();
    const linked =
      current === undefined && (await anonymous.insertIdentity(trx, workspace.id, anonymousId, lead.id, now));
    if (!linked) current ??= await linkedTo();
    if (!linked && current !== lead.id) {
      throw new DomainError(
        'ANONYMOUS_ID_LINKED',
        // A lead this call created is rolled back with the refusal: it is not named.
        `Anonymous id ${anonymousId} is already identified as lead ${current}; it cannot be attached to ${
          target.kind === 'email' && lead.created ? target.email : `lead ${lead.id}`
        }.`,
        [{ path: '/anonymousId', message: 'is already identified as another lead' }],
      );
    }

    const moved = await anonymous.moveToLead(trx, workspace.id, anonymousId, lead.id, now);
    // The visitor's history (a pricing page seen before the form) now counts for the lead.
    if (moved > 0) await leads.rescoreIn(trx, workspace, [lead.id], { atNewest: true });
    if (linked) {
      await timeline.insertEntries(
        trx,
        workspace.id,
        [
          {
            id: newId(),
            leadId: lead.id,
            type: 'identified',
            occurredAt: now,
            properties: { anonymousId, moved },
          },
        ],
        now,
      );
    }
    return { anonymousId, leadId: lead.id, leadCreated: lead.created, linked, moved };
  }

  return {
    ingestIn,
    identifyIn,

    /**
     * The lead an anonymous visitor was identified as (the survivor, if that lead was merged),
     * read in `db` (a transaction, or the database outside one); undefined for a visitor nobody
     * identified or whose lead is gone.
     */
    async leadOfAnonymousIdIn(db: Kysely<DB>, workspaceId: string, anonymousId: string) {
      const leadId = (await anonymous.findIdentities(db, workspaceId, [anonymousId])).get(anonymousId);
      return leadId === undefined
        ? undefined
        : (await store.resolveLeadIds(db, workspaceId, [leadId])).get(leadId);
    },

    /** Validates and writes a batch of raw events in one grouped transaction. */
    ingest: (workspace: WorkspaceContext, rawEvents: unknown[]) =>
      database.writes.run((trx) => ingestIn(trx, workspace, rawEvents)),

    /**
     * Says who an anonymous visitor is: their live history moves onto the lead's timeline and
     * their later events go straight to the lead. Idempotent; an email of an unknown person
     * creates the lead; an anonymous id already identified as another lead is refused.
     */
    identify: (workspace: WorkspaceContext, raw: unknown) =>
      database.writes.run((trx) => identifyIn(trx, workspace, raw)),

    /**
     * Deletes the anonymous activities whose retention has passed, at most `PURGE_CHUNK` rows
     * per transaction so concurrent writes wait only briefly. Returns how many were deleted.
     */
    async purgeExpiredAnonymous(): Promise<number> {
      const now = clock();
      let deleted = 0;
      for (const workspaceId of await anonymous.workspacesWithAnonymous(db)) {
        for (;;) {
          const n = await database.writes.run((trx) =>
            anonymous.deleteExpired(trx, workspaceId, now, PURGE_CHUNK),
          );
          deleted += n;
          if (n < PURGE_CHUNK) break;
        }
      }
      return deleted;
    },
  };
}
