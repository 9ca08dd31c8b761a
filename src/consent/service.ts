import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { DB } from '../db/schema.ts';
import type { MailService } from '../email/service.ts';
import { DomainError, validationError } from '../errors.ts';
import type { Lead } from '../leads/model.ts';
import type { LeadService, WorkspaceContext } from '../leads/service.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import { type ConfirmPageKind, confirmationEmail } from './messages.ts';
import {
  CONFIRMATION_TTL_MS,
  type ConsentEvidence,
  type ConsentGrant,
  type ConsentRecord,
  type ConsentStatus,
  confirmable,
  currentStates,
  decodeConfirmationToken,
  encodeConfirmationToken,
  hashSecret,
  MAX_CONFIRMATIONS_PER_HOUR,
  planGrants,
  secretMatches,
  TOKEN_SECRET_BYTES,
  timelineEntry,
} from './model.ts';
import * as store from './store.ts';

export interface ConsentServiceDeps {
  database: Database;
  leads: Pick<LeadService, 'findIn' | 'findForUpdateIn' | 'get' | 'appendTimelineIn' | 'mergeFamilyIn'>;
  mail: Pick<MailService, 'sendIn'>;
  workspaces: Pick<WorkspaceService, 'getWorkspace'>;
  config: Pick<Config, 'publicUrl'>;
  clock: () => number;
}

/** The workspace a consent is recorded in; its `name` signs the confirmation email. */
export type ConsentWorkspace = WorkspaceContext & { name?: string | undefined };

export interface RecordOutcome {
  /** The records written, in the order of the grants (none when nothing changed). */
  records: ConsentRecord[];
  /** The double opt-in confirmation made for the pending ones; `emailed` false past the hourly cap. */
  confirmation: { id: string; emailed: boolean } | null;
}

/** A consent decision sent through the API. */
export interface ConsentInput {
  purpose: string;
  status: 'granted' | 'withdrawn';
  text?: string | undefined;
  version?: string | undefined;
  privacyUrl?: string | null | undefined;
  doubleOptIn?: boolean | undefined;
  evidence?: Partial<Omit<ConsentEvidence, 'at'>> | undefined;
  /** When it was decided (epoch ms), if earlier than now. */
  recordedAt?: number | undefined;
}

export type ConfirmResult =
  | {
      kind: Extract<ConfirmPageKind, 'confirmed' | 'already_confirmed' | 'superseded'>;
      sender: string | undefined;
      texts: string[];
    }
  | { kind: Extract<ConfirmPageKind, 'expired' | 'invalid'> };

export type ConsentService = ReturnType<typeof createConsentService>;

/** Evidence times may lie this far ahead of the server clock (clock skew). (1 min) */
const MAX_FUTURE_MS = 60_000;

export function createConsentService({
  database,
  leads,
  mail,
  workspaces,
  config,
  clock,
}: ConsentServiceDeps) {
  const { db } = database;

  /**
   * The lead a decision is recorded for, locked until the transaction ends (PostgreSQL): two
   * processes deciding for one lead at once decide one after the other, against the same history
   * (else both grant, and both send a confirmation past the hourly cap). A lead merged into
   * another is refused (CONFLICT), naming the lead to record it on.
   */
  async function liveLead(trx: Kysely<DB>, workspaceId: string, leadId: string): Promise<Lead> {
    const lead = await leads.findForUpdateIn(trx, workspaceId, leadId);
    if (!lead) throw new DomainError('LEAD_NOT_FOUND', `No lead ${leadId} in this workspace.`);
    if (lead.mergedIntoId)
      throw new DomainError(
        'CONFLICT',
        `Lead ${leadId} was merged into lead ${lead.mergedIntoId}; record consent on that lead instead.`,
      );
    return lead;
  }

  /**
   * The leads whose records are `leadId`'s: the lead and those merged into it. Records keep the
   * lead they were made for (evidence is not rewritten); after a merge the survivor sees them.
   */
  async function family(trx: Kysely<DB>, workspaceId: string, leadId: string): Promise<string[]> {
    return (await leads.mergeFamilyIn(trx, workspaceId, leadId))?.ids ?? [leadId];
  }

  function record(
    leadId: string,
    purpose: string,
    status: ConsentStatus,
    wording: { version: string | null; text: string | null; privacyUrl: string | null },
    evidence: ConsentEvidence,
    confirmationId: string | null,
    now: number,
  ): ConsentRecord {
    return {
      id: newId(now),
      leadId,
      purpose,
      status,
      ...wording,
      evidence: {
        source: evidence.source,
        formId: evidence.formId ?? null,
        pageUrl: evidence.pageUrl ?? null,
        ip: evidence.ip ?? null,
        userAgent: evidence.userAgent ?? null,
        confirmationId,
      },
      recordedAt: evidence.at ?? now,
      createdAt: now,
    };
  }

  async function writeRecords(trx: Kysely<DB>, workspaceId: string, records: ConsentRecord[]): Promise<void> {
    await store.insertRecords(trx, workspaceId, records);
    await leads.appendTimelineIn(
      trx,
      workspaceId,
      records.map((r) => timelineEntry(r, newId())),
    );
  }

  /**
   * Records what a person agreed to, in the caller's transaction (a form submission's or an
   * API call's). With `doubleOptIn` the grants are pending and one email with a confirm link
   * (`/c/{token}`) is queued to the lead; the link grants them. Grants already in force in the
   * same version record nothing. Double opt-in needs the lead's email: without one it is
   * VALIDATION_FAILED on `/email`.
   */
  async function recordIn(
    trx: Kysely<DB>,
    workspace: ConsentWorkspace,
    leadId: string,
    grants: readonly ConsentGrant[],
    evidence: ConsentEvidence,
    options: { doubleOptIn: boolean },
    now: number,
  ): Promise<RecordOutcome> {
    if (grants.length === 0) return { records: [], confirmation: null };
    const lead = await liveLead(trx, workspace.id, leadId);
    if (options.doubleOptIn && !lead.email)
      throw validationError([
        { path: '/email', message: 'is needed to confirm consent by email (double opt-in)' },
      ]);
    const current = await store.latestOf(
      trx,
      workspace.id,
      await family(trx, workspace.id, lead.id),
      grants.map((g) => g.purpose),
    );
    const planned = planGrants(current, grants, options.doubleOptIn);
    if (planned.length === 0) return { records: [], confirmation: null };
    const pending = planned.filter((p) => p.status === 'pending');
    const confirmationId = pending.length > 0 ? newId(now) : null;
    const records = planned.map(({ grant, status }) =>
      record(
        lead.id,
        grant.purpose,
        status,
        { version: grant.version, text: grant.text, privacyUrl: grant.privacyUrl ?? null },
        evidence,
        status === 'pending' ? confirmationId : null,
        now,
      ),
    );
    await writeRecords(trx, workspace.id, records);
    if (confirmationId === null || !lead.email) return { records, confirmation: null };

    const recent = await store.countConfirmationsSince(trx, workspace.id, lead.id, now - 3_600_000);
    const secret = randomBytes(TOKEN_SECRET_BYTES);
    await store.insertConfirmation(trx, workspace.id, {
      id: confirmationId,
      leadId: lead.id,
      email: lead.email,
      tokenHash: hashSecret(secret),
      createdAt: now,
      expiresAt: now + CONFIRMATION_TTL_MS,
      confirmedAt: null,
    });
    if (recent >= MAX_CONFIRMATIONS_PER_HOUR)
      return { records, confirmation: { id: confirmationId, emailed: false } };
    const token = encodeConfirmationToken(workspace.id, confirmationId, secret);
    const message = confirmationEmail({
      sender: workspace.name ?? 'us',
      firstName: lead.firstName,
      grants: pending.map((p) => p.grant),
      link: `${config.publicUrl}/c/${token}`,
      expiresAt: now + CONFIRMATION_TTL_MS,
    });
    await mail.sendIn(trx, workspace.id, { to: [lead.email], ...message, key: `consent:${confirmationId}` });
    return { records, confirmation: { id: confirmationId, emailed: true } };
  }

  /** Records withdrawals in the caller's transaction; a purpose already withdrawn records nothing. */
  async function withdrawIn(
    trx: Kysely<DB>,
    workspace: ConsentWorkspace,
    leadId: string,
    purposes: readonly string[],
    evidence: ConsentEvidence,
    now: number,
  ): Promise<ConsentRecord[]> {
    const lead = await liveLead(trx, workspace.id, leadId);
    const current = await store.latestOf(
      trx,
      workspace.id,
      await family(trx, workspace.id, lead.id),
      purposes,
    );
    const records: ConsentRecord[] = [];
    for (const purpose of new Set(purposes)) {
      const was = current.get(purpose);
      if (was?.status === 'withdrawn') continue;
      records.push(
        record(
          lead.id,
          purpose,
          'withdrawn',
          { version: was?.version ?? null, text: was?.text ?? null, privacyUrl: was?.privacyUrl ?? null },
          evidence,
          null,
          now,
        ),
      );
    }
    await writeRecords(trx, workspace.id, records);
    return records;
  }

  return {
    recordIn,
    withdrawIn,

    /**
     * A lead's consents: the state of each purpose, and every record newest first. The records
     * of the leads merged into it count as its own; a merged-away lead shows its survivor's.
     */
    async list(
      workspaceId: string,
      leadId: string,
    ): Promise<{ current: ConsentRecord[]; history: ConsentRecord[] }> {
      const lead = await leads.get(workspaceId, leadId);
      const ids = await family(db, workspaceId, lead.id);
      const history = await store.listRecords(db, workspaceId, ids);
      return { current: currentStates(await store.currentRecords(db, workspaceId, ids)), history };
    },

    /**
     * One decision sent through the API, in the caller's transaction. Answers the purpose's
     * record after it, and whether this call changed it.
     */
    async decideIn(
      trx: Kysely<DB>,
      workspace: ConsentWorkspace,
      leadId: string,
      input: ConsentInput,
    ): Promise<{
      changed: boolean;
      consent: ConsentRecord | null;
      confirmation: RecordOutcome['confirmation'];
    }> {
      const now = clock();
      const errors = [];
      if (input.status === 'granted') {
        if (input.text === undefined) errors.push({ path: '/text', message: 'is required to grant consent' });
        if (input.version === undefined)
          errors.push({ path: '/version', message: 'is required to grant consent' });
      } else if (input.doubleOptIn) {
        errors.push({ path: '/doubleOptIn', message: 'applies to granting consent, not withdrawing it' });
      }
      if (input.evidence?.source === 'double_opt_in')
        errors.push({ path: '/evidence/source', message: 'is recorded by confirmation links only' });
      // A record sent through the API must not pass for one Leadline's own forms made.
      if (input.evidence?.source === 'form')
        errors.push({
          path: '/evidence/source',
          message: "is recorded by Leadline's forms only (use import, or your own name for the source)",
        });
      if (typeof input.evidence?.ip === 'string' && isIP(input.evidence.ip) === 0)
        errors.push({ path: '/evidence/ip', message: 'is not an IPv4 or IPv6 address' });
      if (input.recordedAt !== undefined && input.recordedAt > now + MAX_FUTURE_MS)
        errors.push({ path: '/recordedAt', message: 'must not be in the future' });
      if (errors.length > 0) throw validationError(errors);
      const evidence: ConsentEvidence = {
        ...input.evidence,
        source: input.evidence?.source ?? 'api',
        ...(input.recordedAt !== undefined ? { at: input.recordedAt } : {}),
      };
      let written: ConsentRecord[];
      let confirmation: RecordOutcome['confirmation'] = null;
      if (input.status === 'granted') {
        const lead = await liveLead(trx, workspace.id, leadId);
        if (input.doubleOptIn && !lead.email)
          throw validationError([
            {
              path: '/doubleOptIn',
              message: 'needs a lead with an email address to send the confirmation to',
            },
          ]);
        const grant: ConsentGrant = {
          purpose: input.purpose,
          text: input.text!,
          version: input.version!,
          privacyUrl: input.privacyUrl ?? null,
        };
        const outcome = await recordIn(
          trx,
          workspace,
          leadId,
          [grant],
          evidence,
          {
            doubleOptIn: input.doubleOptIn === true,
          },
          now,
        );
        written = outcome.records;
        confirmation = outcome.confirmation;
      } else {
        written = await withdrawIn(trx, workspace, leadId, [input.purpose], evidence, now);
      }
      // The state after the call: a record dated before the current one (`recordedAt` in the
      // past) is history, kept as evidence, and changes nothing now.
      const current = await store.latestOf(trx, workspace.id, await family(trx, workspace.id, leadId), [
        input.purpose,
      ]);
      const after = current.get(input.purpose) ?? null;
      return { changed: written.some((r) => r.id === after?.id), consent: after, confirmation };
    },

    /**
     * Follows a double opt-in link: grants what the confirmation was sent for (unless decided
     * otherwise since: then `superseded`), once. A link Leadline did not make, or whose secret
     * does not match, is `invalid`; one past CONFIRMATION_TTL_MS `expired`; a second click
     * `already_confirmed`.
     */
    async confirm(
      token: string,
      click: { ip: string | null; userAgent: string | null },
    ): Promise<ConfirmResult> {
      const decoded = decodeConfirmationToken(token);
      if (!decoded) return { kind: 'invalid' };
      const { workspaceId, confirmationId, secret } = decoded;
      const result = await database.writes.run(
        async (trx): Promise<ConfirmResult | { kind: 'ok'; texts: string[] }> => {
          const confirmation = await store.findConfirmation(trx, workspaceId, confirmationId);
          if (!confirmation || !secretMatches(secret, confirmation.tokenHash)) return { kind: 'invalid' };
          // The lead may have been merged into another since the email went out: the grant is
          // the survivor's, decided against the whole merged history.
          const merged = await leads.mergeFamilyIn(trx, workspaceId, confirmation.leadId);
          const leadId = merged?.survivorId ?? confirmation.leadId;
          const history = await store.listRecords(trx, workspaceId, merged?.ids ?? [leadId]);
          const textsOf = (records: ConsentRecord[]) => records.flatMap((r) => (r.text ? [r.text] : []));
          if (confirmation.confirmedAt !== null) {
            const granted = history.filter(
              (r) => r.status === 'granted' && r.evidence.confirmationId === confirmationId,
            );
            return { kind: 'already_confirmed', sender: undefined, texts: textsOf(granted) };
          }
          const now = clock();
          if (now > confirmation.expiresAt) return { kind: 'expired' };
          if (!(await store.markConfirmed(trx, workspaceId, confirmationId, now, click.ip, click.userAgent)))
            return { kind: 'already_confirmed', sender: undefined, texts: [] };
          const evidence: ConsentEvidence = {
            source: 'double_opt_in',
            ip: click.ip,
            userAgent: click.userAgent,
          };
          const granted = confirmable(history, confirmationId).map((pending) =>
            record(
              leadId,
              pending.purpose,
              'granted',
              { version: pending.version, text: pending.text, privacyUrl: pending.privacyUrl },
              { ...evidence, formId: pending.evidence.formId, pageUrl: pending.evidence.pageUrl },
              confirmationId,
              now,
            ),
          );
          await store.insertRecords(trx, workspaceId, granted);
          const [lead] = await leads.findIn(trx, workspaceId, [leadId]);
          if (lead)
            await leads.appendTimelineIn(
              trx,
              workspaceId,
              granted.map((r) => timelineEntry(r, newId())),
            );
          return { kind: 'ok', texts: textsOf(granted) };
        },
      );
      if (!('texts' in result)) return result;
      // Read after the commit: the workspace is read through the pool, never inside the write.
      const sender = await workspaces
        .getWorkspace(workspaceId)
        .then((w) => w.name)
        .catch(() => undefined);
      if (result.kind !== 'ok') return { ...result, sender };
      // Every purpose it asked about was decided otherwise since (withdrawn, or granted again).
      if (result.texts.length === 0) return { kind: 'superseded', sender, texts: [] };
      return { kind: 'confirmed', sender, texts: result.texts };
    },
  };
}
