import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/database.ts';
import type { Joinable, Settled } from '../db/group-commit.ts';
import { newId } from '../db/ids.ts';
import { toJson } from '../db/json.ts';
import type { DB } from '../db/schema.ts';
import { DomainError, type FieldError, validationError } from '../errors.ts';
import { stageHistory } from '../lifecycle/history.ts';
import { defaultStage, forwardStage } from '../lifecycle/model.ts';
import { checkProperties } from '../properties/model.ts';
import type { PropertyService } from '../properties/service.ts';
import { arrivesLate, type Score, type ScoreState } from '../scoring/engine.ts';
import {
  moveStage,
  type Qualified,
  qualifyActivities,
  qualifyProfile,
  rescoreLead,
  type ScoringContext,
  type StageChange,
} from '../scoring/qualify.ts';
import { applyRescored, type RescoredLead } from '../scoring/rescore-result.ts';
import { historiesToReplay, isRelevant, type ScoringService } from '../scoring/service.ts';
import { unstorableTextErrors } from '../storable-text.ts';
import type { WorkspaceSettings } from '../workspaces/model.ts';
import { type Parsed, parseLeadInput } from './input.ts';
import {
  applyCapture,
  type Lead,
  type LeadCapture,
  mergeLeads,
  newLead,
  type TimelineEntry,
} from './model.ts';
import { entriesByLead, type LeadChange, type LeadReactions } from './reactions.ts';
import * as store from './store.ts';
import * as timeline from './timeline-store.ts';

export interface LeadServiceDeps {
  database: Database;
  properties: PropertyService;
  scoring: ScoringService;
  /** Run after every write, in its transaction (routing, SLAs, alerts, webhooks). */
  reactions: LeadReactions;
  clock: () => number;
}

/** How a capture arrived; recorded on the timeline. */
export type CaptureVia = 'api' | 'import' | 'form' | 'webhook' | 'event';

export type CaptureOutcome = { ok: true; lead: Lead; created: boolean } | { ok: false; errors: FieldError[] };

/** What `captureJoined` is asked to capture. */
interface JoinableCapture {
  workspace: WorkspaceContext;
  raw: unknown;
  via: CaptureVia;
}

/** One capture of `captureJoined`, with the lead's score at the write (what an API answer shows). */
export interface JoinedCapture {
  lead: Lead;
  created: boolean;
  score: Score;
}

export interface WorkspaceContext {
  id: string;
  settings: WorkspaceSettings;
}

export type LeadService = ReturnType<typeof createLeadService>;

/** Leads whose decayed temperature is recorded per transaction. (500) */
export const TEMPERATURE_CHUNK = 500;

export interface RescoreOptions {
  /** Rules to score by instead of the workspace's active ones (a dry run of a new model). */
  context?: ScoringContext;
  /** Store the results. (Default: true) */
  write?: boolean;
  /**
   * Judge score thresholds at the lead's newest activity too, not only now (see rescoreLead):
   * for history the lead just received (a merge, an identified visitor). (Default: false)
   */
  atNewest?: boolean;
}

/** A lead before and after a rescore. */
export interface Rescored {
  before: Lead;
  after: Lead;
}

/** What qualifying leads adds beside their rows: timeline entries, stage history, reactions' input. */
interface Qualifications {
  entries: TimelineEntry[];
  stageChanges: StageChange[];
  changes: LeadChange[];
}

/** Follows merge redirects: a capture of a merged-away email lands on the lead it went into. */
async function resolveMerged(db: Kysely<DB>, workspaceId: string, lead: Lead): Promise<Lead> {
  let current = lead;
  for (let hops = 0; current.mergedIntoId && hops < 10; hops++) {
    const next = await store.findLead(db, workspaceId, current.mergedIntoId);
    if (!next) break;
    current = next;
  }
  return current;
}

export function createLeadService({ database, properties, scoring, reactions, clock }: LeadServiceDeps) {
  const { db } = database;
  /** Whether reads that a write transaction writes back lock their leads (`store.locked`). */
  const lock = database.engine === 'postgres';

  /**
   * Leads `updateIn` and `setOwnersIn` rewrote while the reactions to a write ran (routing sets
   * an owner): later reactions see them as rewritten (`LeadReactions.runIn`), and the write
   * answers with them, so its response shows what its reactions did. Writes of one
   * process run one at a time (group commit), so one variable serves; nesting keeps a stack.
   */
  let rewritten: Map<string, Lead> | undefined;
  async function runReactions(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    changes: readonly LeadChange[],
    now: number,
  ): Promise<Map<string, Lead>> {
    const outer = rewritten;
    const mine = new Map<string, Lead>();
    rewritten = mine;
    try {
      await reactions.runIn(trx, workspace, changes, now, mine);
    } finally {
      rewritten = outer;
    }
    for (const [id, lead] of mine) outer?.set(id, lead);
    return mine;
  }

  /**
   * Writes many validated captures in the caller's transaction with a handful of statements:
   * one lookup of the emails and the phones of phone-only leads (`store.findCaptureMatches`:
   * one statement on PostgreSQL, two on SQLite), one multi-row insert for the new leads and
   * one for their timeline entries; known leads are updated one by one. Captures
   * of the same person within the call apply in order, so the result equals one-by-one.
   */
  async function captureManyIn(
    trx: Transaction<DB>,
    workspace: WorkspaceContext,
    captures: LeadCapture[],
    via: CaptureVia,
  ): Promise<Array<{ lead: Lead; created: boolean }>> {
    const now = clock();
    const emails = [...new Set(captures.flatMap((c) => (c.email ? [c.email] : [])))];
    const phones = [...new Set(captures.flatMap((c) => (c.phone ? [c.phone] : [])))];
    const byEmail = new Map<string, Lead>();
    const byPhone = new Map<string, Lead>();
    for (let i = 0; i < Math.max(emails.length, phones.length); i += 500) {
      const found = await store.findCaptureMatches(
        trx,
        database.engine,
        workspace.id,
        emails.slice(i, i + 500),
        phones.slice(i, i + 500),
        lock,
      );
      for (const lead of found.byEmail)
        byEmail.set(lead.email!, await resolveMerged(trx, workspace.id, lead));
      for (const lead of found.phoneOnly) {
        // A phone-only lead merged into another is a redirect row too: follow it like an email's.
        byPhone.set(lead.phone!, await resolveMerged(trx, workspace.id, lead));
      }
    }
    const created = new Map<string, Lead>();
    const updated = new Map<string, Lead>();
    /** Each updated lead as it was before this call (for reactions). */
    const before = new Map<string, Lead>();
    const entries: TimelineEntry[] = [];
    const stageChanges: StageChange[] = [];
    const results: Array<{ lead: Lead; created: boolean }> = [];

    for (const given of captures) {
      let capture = given;
      let existing = capture.email ? byEmail.get(capture.email) : undefined;
      // A phone-only lead that now gives an email becomes that email's lead.
      if (!existing && capture.phone) {
        const found = byPhone.get(capture.phone);
        // Through a merge redirect the phone may lead to a survivor with an email of its own:
        // a capture with another email is another person (never auto-merge two emails).
        if (found && !(capture.email && found.email !== null)) existing = found;
        if (existing && existing.phone !== capture.phone) {
          // Found through a phone-only redirect: the survivor keeps its own phone (the redirect
          // row still holds this one, under the one-phone-only-lead-per-phone index).
          const { phone: _redirected, ...rest } = capture;
          capture = rest;
        }
      }
      if (!existing) {
        const lead = newLead(newId(), workspace.id, capture, defaultStage, now);
        created.set(lead.id, lead);
        entries.push({
          id: newId(),
          leadId: lead.id,
          type: 'lead_created',
          occurredAt: lead.createdAt,
          properties: { via, source: lead.source, channel: lead.channel },
        });
        remember(lead);
        results.push({ lead, created: true });
        continue;
      }
      // A merged-away email found its survivor, which keeps its own email (the redirect row
      // still holds the other one, under the unique index).
      const redirected =
        capture.email !== undefined && existing.email !== null && existing.email !== capture.email;
      const effective = redirected ? { ...capture, email: undefined, emailDisposable: undefined } : capture;
      const { lead, changed } = applyCapture(existing, effective, now, forwardStage, via !== 'import');
      if (!before.has(existing.id) && !created.has(existing.id)) before.set(existing.id, existing);
      const restored = existing.archivedAt !== null && lead.archivedAt === null;
      const dirty = changed.length > 0 || capture.touch !== undefined || restored;
      if (dirty) {
        if (created.has(lead.id)) created.set(lead.id, lead);
        else updated.set(lead.id, lead);
        if (restored) {
          entries.push({
            id: newId(),
            leadId: lead.id,
            type: 'lead_restored',
            occurredAt: now,
            properties: { via },
          });
        }
        if (changed.length > 0) {
          entries.push({
            id: newId(),
            leadId: lead.id,
            type: 'lead_updated',
            occurredAt: now,
            properties: { via, changed },
          });
        }
        if (lead.stage !== existing.stage) {
          const change = { from: existing.stage, to: lead.stage, cause: 'capture', via };
          stageChanges.push({
            id: newId(),
            leadId: lead.id,
            at: now,
            causeKind: 'capture',
            ...change,
            cause: { via },
          });
          entries.push({
            id: newId(),
            leadId: lead.id,
            type: 'stage_changed',
            occurredAt: now,
            properties: change,
          });
        }
      }
      // Later captures in this call must see this version of the lead under every key that found
      // it, redirect keys included (else they would apply to a stale copy and undo this one).
      if (given.email) byEmail.set(given.email, lead);
      if (given.phone && byPhone.get(given.phone)?.id === lead.id) byPhone.set(given.phone, lead);
      if (existing.email === null && lead.email !== null && existing.phone) byPhone.delete(existing.phone);
      remember(lead);
      results.push({ lead, created: false });
    }

    function remember(lead: Lead): void {
      if (lead.email) byEmail.set(lead.email, lead);
      else if (lead.phone) byPhone.set(lead.phone, lead);
    }

    // Scoring and qualification follow every change in the same transaction: fit, score-based
    // stage moves, temperature.
    const ctx = await scoring.contextIn(trx, workspace);
    for (const leads of [created, updated]) {
      for (const [id, lead] of leads) {
        const qualified = qualifyProfile(ctx, lead, now, newId);
        leads.set(id, qualified.lead);
        for (const entry of qualified.entries) entries.push(entry);
        for (const change of qualified.stageChanges) stageChanges.push(change);
      }
    }

    await store.insertLeads(trx, [...created.values()]);
    await store.updateLeads(trx, database.engine, [...updated.values()]);
    await timeline.appendEntries(trx, workspace.id, entries, now);
    await stageHistory.recordIn(trx, workspace.id, stageChanges);
    const byLead = entriesByLead(entries);
    const changes: LeadChange[] = [];
    for (const [id, lead] of created)
      changes.push({ leadId: id, before: null, after: lead, entries: byLead.get(id) ?? [] });
    for (const [id, lead] of updated)
      changes.push({ leadId: id, before: before.get(id), after: lead, entries: byLead.get(id) ?? [] });
    const rewrittenByReactions = await runReactions(trx, workspace, changes, now);
    // Every result reports the lead as it stands after the whole call.
    return results.map((r) => ({
      lead: rewrittenByReactions.get(r.lead.id) ?? created.get(r.lead.id) ?? updated.get(r.lead.id) ?? r.lead,
      created: r.created,
    }));
  }

  /**
   * Validates raw inputs (shape, normalisation, custom property types) against the
   * workspace's schema as read in `trx`. Items are independent: one bad item does not fail the others.
   */
  async function parseManyIn(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    raws: unknown[],
    pathOf: (index: number) => string,
  ): Promise<Parsed<LeadCapture>[]> {
    const definitions = await properties.definitionsIn(trx, workspace.id);
    const strict = workspace.settings.strictProperties ?? false;
    const now = clock();
    const parsed = raws.map((raw, index): Parsed<LeadCapture> => {
      // Text PostgreSQL cannot store rejects its lead alone (a batch route leaves that check here).
      const unstorable = unstorableTextErrors(raw, pathOf(index));
      if (unstorable.length > 0) return { ok: false, errors: unstorable };
      const one = parseLeadInput(
        raw,
        { defaultCountry: workspace.settings.defaultCountry, now },
        pathOf(index),
      );
      if (!one.ok || !one.value.properties) return one;
      const checked = checkProperties(one.value.properties, definitions, strict, pathOf(index));
      return checked.ok ? { ok: true, value: { ...one.value, properties: checked.value } } : checked;
    });
    // Other domains' checks (routing: an ownerId must be an active user), once for the batch:
    // a capture they refuse is a bad item like any other, not a failed batch.
    const valid = parsed.flatMap((p, index) => (p.ok ? [{ index, capture: p.value }] : []));
    const refused = await reactions.checkIn(
      trx,
      workspace,
      valid.map((v) => v.capture),
    );
    for (const [at, errors] of refused) {
      const { index } = valid[at]!;
      parsed[index] = { ok: false, errors: errors.map((e) => ({ ...e, path: `${pathOf(index)}${e.path}` })) };
    }
    return parsed;
  }

  /**
   * Scores and qualifies new activities (already on the timeline) in the caller's transaction:
   * behaviour, activity negatives, flags, stage moves, temperature. Only activities that some
   * rule can react to load their lead; the rest cost one type lookup each.
   */
  async function qualifyActivitiesIn(
    trx: Transaction<DB>,
    workspace: WorkspaceContext,
    activities: readonly TimelineEntry[],
  ): Promise<void> {
    const ctx = await scoring.contextIn(trx, workspace);
    const byLead = new Map<string, TimelineEntry[]>();
    /** Activities no scoring rule reacts to: reported to the reactions without loading their lead. */
    const unscored = new Map<string, TimelineEntry[]>();
    for (const activity of activities) {
      const into = isRelevant(ctx, activity) ? byLead : unscored;
      const list = into.get(activity.leadId);
      if (list) list.push(activity);
      else into.set(activity.leadId, [activity]);
    }
    const found =
      byLead.size === 0 ? [] : await store.findLeadsWithStates(trx, workspace.id, [...byLead.keys()], lock);
    const states = new Map(found.map(({ lead, state }) => [lead.id, state]));
    // A lead with an activity older than what its rules took in already (a late event, a
    // backfill) is replayed from its whole history, which holds the new activities too: the
    // score is then the one its history in time order gives.
    const late = new Set(
      found
        .filter(({ lead, state }) => arrivesLate(ctx.model, state, byLead.get(lead.id)!))
        .map(({ lead }) => lead.id),
    );
    const histories = late.size > 0 ? await historiesToReplay(trx, workspace.id, [...late], ctx) : undefined;
    await qualifyAndWrite(
      trx,
      workspace,
      ctx,
      found.map(({ lead }) => lead),
      (lead) =>
        late.has(lead.id)
          ? {
              state: null,
              activities: histories!.get(lead.id) ?? [],
              replace: true,
              atNewest: true,
            }
          : { state: states.get(lead.id) ?? null, activities: byLead.get(lead.id)! },
      true,
      (changes) => {
        for (const [i, change] of changes.entries()) {
          // A replayed lead's change holds what the replay changed: the new activities are news too.
          const replayed = late.has(change.leadId) ? byLead.get(change.leadId)! : [];
          const more = [...(unscored.get(change.leadId) ?? []), ...replayed];
          if (more.length > 0) changes[i] = { ...change, entries: [...more, ...change.entries] };
        }
        for (const [leadId, list] of unscored)
          if (!byLead.has(leadId)) changes.push({ leadId, entries: list });
      },
    );
  }

  /**
   * Recomputes the scores of these leads from their whole history (the exact result, for any
   * model): after a model change, a merge, or an anonymous history joining a lead.
   */
  async function rescoreIn(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    leadIds: readonly string[],
    options: RescoreOptions = {},
  ): Promise<Rescored[]> {
    const ctx = options.context ?? (await scoring.contextIn(trx, workspace));
    const withStates = (await store.findLeadsWithStateJson(trx, workspace.id, [...leadIds], lock)).filter(
      ({ lead }) => !lead.mergedIntoId,
    );
    const found = withStates.map(({ lead }) => lead);
    const stored = new Map(withStates.map(({ lead, stateJson }) => [lead.id, stateJson]));
    const history = await historiesToReplay(
      trx,
      workspace.id,
      found.map((l) => l.id),
      ctx,
    );
    return qualifyAndWrite(
      trx,
      workspace,
      ctx,
      found,
      (lead) => ({
        state: null,
        activities: history.get(lead.id) ?? [],
        replace: true,
        storedState: stored.get(lead.id) ?? null,
        atNewest: options.atNewest ?? false,
      }),
      options.write ?? true,
    );
  }

  /**
   * Qualifies leads (a rescore replays their history from a cleared score) and, when `write`,
   * stores the results with their timeline entries and stage history. Returns before/after.
   */
  async function qualifyAndWrite(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    ctx: ScoringContext,
    leads: readonly Lead[],
    inputOf: (lead: Lead) => {
      state: ScoreState | null;
      activities: readonly TimelineEntry[];
      replace?: boolean;
      /** With `replace`: the per-rule state as stored; a lead the rescore leaves as it is is not written. */
      storedState?: string | null;
      /** With `replace`: judge score thresholds at the newest activity too (see rescoreLead). */
      atNewest?: boolean;
    },
    write = true,
    /** Adds changes of leads this call did not load (unscored activities) before reactions run. */
    moreChanges?: (changes: LeadChange[]) => void,
  ): Promise<Rescored[]> {
    const now = clock();
    const { entries, stageChanges, changes }: Qualifications = { entries: [], stageChanges: [], changes: [] };
    const out: Rescored[] = [];
    const updates: store.ScoringUpdate[] = [];
    for (const before of leads) {
      const input = inputOf(before);
      // A full rescore also recomputes fit (the model may have changed); both settle stage
      // and temperature once.
      const qualified = input.replace
        ? rescoreLead(ctx, before, input.activities, now, newId, input.atNewest ?? false)
        : qualifyActivities(ctx, before, input.state, input.activities, now, newId);
      out.push({ before, after: qualified.lead });
      if (!write) continue;
      if (input.replace) {
        const stateJson = qualified.state ? toJson(qualified.state) : null;
        // A rescore that changes nothing (a settings change that moves no score) writes nothing.
        if (stateJson !== input.storedState || store.scoringChanged(before, qualified.lead))
          updates.push({ lead: qualified.lead, state: stateJson, before });
      } else {
        const state = qualified.state && qualified.stateChanged ? qualified.state : undefined;
        if (state !== undefined || store.scoringChanged(before, qualified.lead))
          updates.push({ lead: qualified.lead, state, before });
      }
      for (const entry of qualified.entries) entries.push(entry);
      for (const change of qualified.stageChanges) stageChanges.push(change);
      // A rescore replays old history: only what it changed now is news.
      changes.push({
        leadId: before.id,
        before,
        after: qualified.lead,
        entries: input.replace ? qualified.entries : [...input.activities, ...qualified.entries],
      });
    }
    if (!write) return out;
    await store.updateLeadsScoring(trx, database.engine, updates);
    await recordQualified(trx, workspace, { entries, stageChanges, changes }, now, moreChanges);
    return out;
  }

  /**
   * Writes rescores computed elsewhere (a worker thread, see rescore-prefetch.ts) from the same
   * history the database holds now: each lead is read again here, in `trx`, and gets the fields
   * the rescore changed, with the same timeline entries, stage history and reactions as
   * `rescoreIn`. Leads gone or merged meanwhile are skipped.
   */
  async function writeRescoredIn(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    results: readonly RescoredLead[],
  ): Promise<Rescored[]> {
    const now = clock();
    const found = await store.findLeadsWithStateJson(
      trx,
      workspace.id,
      results.map((r) => r.id),
      lock,
    );
    const byId = new Map(found.map((row) => [row.lead.id, row]));
    const written: Qualifications = { entries: [], stageChanges: [], changes: [] };
    const out: Rescored[] = [];
    const updates: store.ScoringUpdate[] = [];
    for (const result of results) {
      const row = byId.get(result.id);
      if (!row || row.lead.mergedIntoId) continue;
      const before = row.lead;
      const after = applyRescored(before, result);
      if (result.stateJson !== row.stateJson || store.scoringChanged(before, after))
        updates.push({ lead: after, state: result.stateJson, before });
      for (const entry of result.entries) written.entries.push(entry);
      for (const change of result.stageChanges) written.stageChanges.push(change);
      written.changes.push({ leadId: before.id, before, after, entries: result.entries });
      out.push({ before, after });
    }
    await store.updateLeadsScoring(trx, database.engine, updates);
    await recordQualified(trx, workspace, written, now);
    return out;
  }

  /** The timeline entries, stage history and reactions of qualified leads, after their rows. */
  async function recordQualified(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    { entries, stageChanges, changes }: Qualifications,
    now: number,
    /** Adds changes of leads this call did not load (unscored activities) before reactions run. */
    moreChanges?: (changes: LeadChange[]) => void,
  ): Promise<void> {
    await timeline.appendEntries(trx, workspace.id, entries, now);
    await stageHistory.recordIn(trx, workspace.id, stageChanges);
    moreChanges?.(changes);
    await runReactions(trx, workspace, changes, now);
  }

  /** Parses and writes raw captures in `trx`; invalid items get their errors, valid ones are written. */
  async function captureRawManyIn(
    trx: Transaction<DB>,
    workspace: WorkspaceContext,
    raws: unknown[],
    via: CaptureVia,
    pathOf: (index: number) => string,
  ): Promise<CaptureOutcome[]> {
    const parsed = await parseManyIn(trx, workspace, raws, pathOf);
    const valid = parsed.flatMap((p) => (p.ok ? [p.value] : []));
    const written = await captureManyIn(trx, workspace, valid, via);
    let next = 0;
    return parsed.map((p) => (p.ok ? { ok: true, ...written[next++]! } : p));
  }

  /**
   * Single captures of one workspace queued together (`captureJoined`), written with as few
   * statements as a batch: parsed at once, then captured in runs in which no email or phone
   * comes twice, so each answer shows its lead as it stood after its own capture, as if the
   * captures had run one by one. An invalid item fails alone, writing nothing.
   */
  async function captureEachIn(
    trx: Transaction<DB>,
    items: readonly JoinableCapture[],
  ): Promise<Settled<JoinedCapture>[]> {
    const { workspace, via } = items[0]!;
    const parsed = await parseManyIn(
      trx,
      workspace,
      items.map((item) => item.raw),
      () => '',
    );
    const score = await scoring.scorerIn(trx, workspace.id);
    const settled: Settled<JoinedCapture>[] = [];
    let run: { index: number; capture: LeadCapture }[] = [];
    const people = new Set<string>();
    const write = async () => {
      const written = await captureManyIn(
        trx,
        workspace,
        run.map((r) => r.capture),
        via,
      );
      run.forEach((r, i) => {
        const { lead, created } = written[i]!;
        settled[r.index] = { ok: true, value: { lead, created, score: score(lead) } };
      });
      run = [];
      people.clear();
    };
    for (const [index, one] of parsed.entries()) {
      if (!one.ok) {
        settled[index] = { ok: false, error: validationError(one.errors) };
        continue;
      }
      const { email, phone } = one.value;
      if ((email && people.has(`email ${email}`)) || (phone && people.has(`phone ${phone}`))) await write();
      if (email) people.add(`email ${email}`);
      if (phone) people.add(`phone ${phone}`);
      run.push({ index, capture: one.value });
    }
    if (run.length > 0) await write();
    return settled;
  }

  const joinedCaptures: Joinable<JoinableCapture, JoinedCapture> = {
    keyOf: ({ workspace, via }) => `${workspace.id} ${via}`,
    run: captureEachIn,
  };

  return {
    captureManyIn,
    captureRawManyIn,
    /**
     * One capture in a write of its own, joined with the single captures of the workspace that
     * arrive at the same moment (group commit's `runJoined`): under load, many requests share one
     * lookup and one insert. Invalid input throws VALIDATION_FAILED.
     */
    captureJoined: (workspace: WorkspaceContext, raw: unknown, via: CaptureVia): Promise<JoinedCapture> =>
      database.writes.runJoined(joinedCaptures, { workspace, raw, via }),
    parseManyIn,
    qualifyActivitiesIn,
    rescoreIn,
    writeRescoredIn,
    /**
     * Records the temperature drops that decay alone caused (hot -> warm -> cold) up to now,
     * on the lead and its timeline: the stored temperature is what lists filter on. Chunks
     * of `TEMPERATURE_CHUNK` leads, one short transaction each. Returns how many changed.
     */
    async settleTemperatures(workspace: WorkspaceContext): Promise<number> {
      let settled = 0;
      for (;;) {
        const n = await database.writes.run(async (trx) => {
          const now = clock();
          const due = await store.leadsWithDueTemperatures(trx, workspace.id, now, TEMPERATURE_CHUNK, lock);
          const ctx = await scoring.contextIn(trx, workspace);
          const entries: TimelineEntry[] = [];
          const stageChanges: StageChange[] = [];
          const changes: LeadChange[] = [];
          const updates: store.ScoringUpdate[] = [];
          for (const lead of due) {
            const qualified = qualifyProfile(ctx, lead, now, newId);
            updates.push({ lead: qualified.lead, before: lead });
            for (const entry of qualified.entries) entries.push(entry);
            for (const change of qualified.stageChanges) stageChanges.push(change);
            changes.push({
              leadId: lead.id,
              before: lead,
              after: qualified.lead,
              entries: qualified.entries,
            });
          }
          await store.updateLeadsScoring(trx, database.engine, updates);
          await timeline.appendEntries(trx, workspace.id, entries, now);
          await stageHistory.recordIn(trx, workspace.id, stageChanges);
          await runReactions(trx, workspace, changes, now);
          return due.length;
        });
        settled += n;
        if (n < TEMPERATURE_CHUNK) return settled;
      }
    },

    /** Workspaces that have temperatures due to drop (for the sweeper). */
    workspacesWithDueTemperatures: () => store.workspacesWithDueTemperatures(db, clock()),

    /** A page of live lead ids in id order (for walks over every lead: rescore). */
    idsAfter: (workspaceId: string, afterId: string | null, limit: number) =>
      store.leadIdsAfter(db, workspaceId, afterId, limit),
    countLive: (workspaceId: string) => store.countLiveLeads(db, workspaceId),

    /** One capture in the caller's transaction; invalid input throws VALIDATION_FAILED. */
    async captureIn(
      trx: Transaction<DB>,
      workspace: WorkspaceContext,
      raw: unknown,
      via: CaptureVia,
    ): Promise<{ lead: Lead; created: boolean }> {
      const [outcome] = await captureRawManyIn(trx, workspace, [raw], via, () => '');
      if (!outcome!.ok) throw validationError(outcome!.errors);
      return outcome!;
    },

    async get(workspaceId: string, id: string): Promise<Lead> {
      const lead = await store.findLead(db, workspaceId, id);
      if (!lead) throw new DomainError('LEAD_NOT_FOUND', `No lead ${id} in this workspace.`);
      return lead;
    },

    findByEmail: async (workspaceId: string, email: string) =>
      (await store.findLeadsByEmails(db, workspaceId, [email]))[0],

    /** Which emails, and which phones of phone-only leads, already have a lead (an import's dry run). */
    async knownContacts(workspaceId: string, emails: string[], phones: string[]) {
      const known = { emails: new Set<string>(), phones: new Set<string>() };
      for (let i = 0; i < emails.length; i += 500)
        for (const lead of await store.findLeadsByEmails(db, workspaceId, emails.slice(i, i + 500)))
          known.emails.add(lead.email!);
      for (let i = 0; i < phones.length; i += 500)
        for (const lead of await store.findPhoneOnlyLeads(db, workspaceId, phones.slice(i, i + 500)))
          known.phones.add(lead.phone!);
      return known;
    },

    list: (workspaceId: string, query: store.LeadListQuery) =>
      store.listLeads(db, workspaceId, { ...query, now: query.now ?? clock() }),

    async timeline(
      workspaceId: string,
      leadId: string,
      limit: number,
      after?: { occurredAt: number; id: string },
    ) {
      const lead = await store.findLead(db, workspaceId, leadId);
      if (!lead) throw new DomainError('LEAD_NOT_FOUND', `No lead ${leadId} in this workspace.`);
      return timeline.listEntries(db, workspaceId, leadId, limit, after);
    },

    /** Hides a lead from lists; a later capture of the same person restores it. */
    async archive(workspaceId: string, id: string): Promise<Lead> {
      return database.writes.run(async (trx) => {
        // Locked (PostgreSQL): the whole row is written back, and a capture or an event another
        // process commits meanwhile must not be overwritten by this copy.
        const lead = await store.findLeadForUpdate(trx, workspaceId, id, database.engine);
        if (!lead) throw new DomainError('LEAD_NOT_FOUND', `No lead ${id} in this workspace.`);
        // A merged-away lead is a redirect, archived by its merge: archive the survivor instead.
        if (lead.mergedIntoId)
          throw new DomainError(
            'CONFLICT',
            `Lead ${id} was merged into lead ${lead.mergedIntoId}; archive that lead instead.`,
          );
        if (lead.archivedAt !== null) return lead;
        const now = clock();
        const archived = { ...lead, archivedAt: now, updatedAt: now };
        await store.updateLead(trx, archived);
        await timeline.insertEntries(
          trx,
          workspaceId,
          [{ id: newId(), leadId: id, type: 'lead_archived', occurredAt: now, properties: {} }],
          now,
        );
        return archived;
      });
    },

    /**
     * Merges `otherId` into `id`: `id` survives with the combined fields, timeline and touches;
     * the other lead is kept as a redirect (so its email keeps finding the survivor).
     */
    async merge(workspace: WorkspaceContext, id: string, otherId: string): Promise<Lead> {
      const workspaceId = workspace.id;
      if (id === otherId)
        throw new DomainError('MERGE_CONFLICT', 'A lead cannot be merged into itself.', [
          { path: '/otherId', message: 'must differ from the lead id' },
        ]);
      return database.writes.run(async (trx) => {
        // Both rows locked (PostgreSQL), in id order as every locking read takes leads: both are
        // written back whole, and an event or capture of either in another process either
        // committed before (and is merged) or waits, then finds the survivor.
        const locked = async (leadId: string) =>
          store.findLeadForUpdate(trx, workspaceId, leadId, database.engine);
        const [first, second] = [id, otherId].sort();
        const lockedFirst = await locked(first!);
        const lockedSecond = await locked(second!);
        const [winner, loser] = first === id ? [lockedFirst, lockedSecond] : [lockedSecond, lockedFirst];
        if (!winner) throw new DomainError('LEAD_NOT_FOUND', `No lead ${id} in this workspace.`);
        if (!loser)
          throw new DomainError('LEAD_NOT_FOUND', `No lead ${otherId} in this workspace.`, [
            { path: '/otherId', message: 'is not a lead in this workspace' },
          ]);
        if (winner.mergedIntoId || loser.mergedIntoId) {
          throw new DomainError('MERGE_CONFLICT', 'One of the leads was already merged into another.');
        }
        const now = clock();
        const combined = mergeLeads(winner, loser, now, (a, b) => forwardStage(a, b));
        // The survivor takes the later stage of the two: a stage change like any other, with
        // its time and cause.
        const moved: Qualified = {
          lead: { ...combined, stage: winner.stage },
          entries: [],
          stageChanges: [],
        };
        moveStage(moved, combined.stage, now, 'merge', { mergedLeadId: loser.id }, newId);
        const merged = moved.lead;
        // The survivor takes the other's email only if it had none; then the redirect row gives it up.
        const redirectEmail = merged.email === loser.email ? null : loser.email;
        // The redirect keeps its phone while it keeps its email, or when it was phone-only: then a
        // later capture of that phone alone finds the survivor through it (whether or not the
        // survivor took the phone). It must never turn into a new phone-only row: another
        // phone-only lead may hold that phone (the loser's email made the two distinct until now).
        const redirectPhone = redirectEmail !== null || loser.email === null ? loser.phone : null;
        const redirect: Lead = {
          ...loser,
          email: redirectEmail,
          phone: redirectPhone,
          mergedIntoId: winner.id,
          archivedAt: now,
          updatedAt: now,
        };
        await store.updateLead(trx, redirect);
        await store.updateLead(trx, merged);
        await timeline.moveEntries(trx, workspaceId, loser.id, winner.id);
        await reactions.mergedIn(trx, workspaceId, loser.id, winner.id);
        await timeline.insertEntries(
          trx,
          workspaceId,
          [
            {
              id: newId(),
              leadId: winner.id,
              type: 'lead_merged',
              occurredAt: now,
              properties: { mergedLeadId: loser.id, mergedEmail: loser.email },
            },
            ...moved.entries,
          ],
          now,
        );
        await stageHistory.recordIn(trx, workspaceId, moved.stageChanges);
        // Both histories are now one: score the survivor from all of it.
        await rescoreIn(trx, workspace, [winner.id], { atNewest: true });
        return (await store.findLead(trx, workspaceId, winner.id)) ?? merged;
      });
    },

    // -------------------------------------------------------------------------------------------
    // Explicit lifecycle changes, made by people through src/lifecycle/service.ts: sales
    // decisions, recycling, opportunities, BANT/CHAMP answers.

    /**
     * Applies `change` (pure: it gets the lead as stored, the moment and the workspace's rules)
     * to one lead in the caller's transaction, and writes what it returns: the lead, its
     * timeline entries and its stage changes. Returning the lead it was given with no entries
     * and no stage changes means "nothing to do": nothing is written. On PostgreSQL the lead's
     * row is locked from the read to the commit, so `change` decides on the stage as it stands.
     * A lead merged into another is only a redirect: changes are refused (CONFLICT) and name
     * the lead to change instead.
     */
    async updateIn(
      trx: Transaction<DB>,
      workspace: WorkspaceContext,
      id: string,
      change: (lead: Lead, now: number, ctx: ScoringContext) => Qualified,
    ): Promise<Lead> {
      const lead = await store.findLeadForUpdate(trx, workspace.id, id, database.engine);
      if (!lead) throw new DomainError('LEAD_NOT_FOUND', `No lead ${id} in this workspace.`);
      if (lead.mergedIntoId)
        throw new DomainError(
          'CONFLICT',
          `Lead ${id} was merged into lead ${lead.mergedIntoId}; change that lead instead.`,
        );
      const now = clock();
      const out = change(lead, now, await scoring.contextIn(trx, workspace));
      if (out.lead === lead && out.entries.length === 0 && out.stageChanges.length === 0) return lead;
      const updated: Lead = { ...out.lead, updatedAt: now };
      await store.updateLead(trx, updated);
      rewritten?.set(id, updated);
      await timeline.appendEntries(trx, workspace.id, out.entries, now);
      await stageHistory.recordIn(trx, workspace.id, out.stageChanges);
      const later = await runReactions(
        trx,
        workspace,
        [{ leadId: id, before: lead, after: updated, entries: out.entries }],
        now,
      );
      return later.get(id) ?? updated;
    },

    /**
     * Gives leads their owners and records why, in the caller's transaction: routing's write
     * for a whole batch (one update per owner, one timeline insert, one run of the reactions).
     * Each `lead` must be as this transaction last wrote it (a reaction's `after`): it is not
     * read again, and on PostgreSQL this transaction already holds its row. An owner the lead
     * already has (one its capture set) only adds the entries. Returns the leads as they now are.
     */
    async setOwnersIn(
      trx: Kysely<DB>,
      workspace: WorkspaceContext,
      owners: ReadonlyArray<{ lead: Lead; ownerId: string; entries: readonly TimelineEntry[] }>,
    ): Promise<Lead[]> {
      if (owners.length === 0) return [];
      const now = clock();
      const idsByOwner = new Map<string, string[]>();
      const entries: TimelineEntry[] = [];
      const changes: LeadChange[] = [];
      for (const { lead, ownerId, entries: added } of owners) {
        let after = lead;
        if (lead.ownerId !== ownerId) {
          after = { ...lead, ownerId, updatedAt: now };
          const ids = idsByOwner.get(ownerId);
          if (ids) ids.push(lead.id);
          else idsByOwner.set(ownerId, [lead.id]);
          rewritten?.set(lead.id, after);
        }
        entries.push(...added);
        changes.push({ leadId: lead.id, before: lead, after, entries: added });
      }
      for (const [ownerId, ids] of idsByOwner) await store.setOwner(trx, workspace.id, ownerId, ids, now);
      await timeline.appendEntries(trx, workspace.id, entries, now);
      const later = await runReactions(trx, workspace, changes, now);
      return changes.map((c) => later.get(c.leadId) ?? c.after!);
    },

    /**
     * Who owns the live leads of a company (`companyDomain`), `exceptLeadId` left out: one share
     * per owner, most leads first, then the earliest first lead (routing's account strategy).
     */
    accountSharesIn: (trx: Kysely<DB>, workspaceId: string, companyDomain: string, exceptLeadId: string) =>
      store.accountShares(trx, workspaceId, companyDomain, exceptLeadId),

    /**
     * Adds system entries (task, SLA, assignment…) to leads' timelines in the caller's
     * transaction: other domains write the timeline through here, never through its store.
     */
    appendTimelineIn: (trx: Kysely<DB>, workspaceId: string, entries: readonly TimelineEntry[]) =>
      timeline.appendEntries(trx, workspaceId, [...entries], clock()),

    /**
     * The lead `id` stands for now, and every lead merged into it: `survivorId` follows merge
     * redirects (a merged-away id gives the lead it went into), `ids` are the survivor and the
     * leads merged into it at any depth. Records other domains keep per lead (consents) belong
     * to the survivor this way. Undefined when `id` is no lead. Read in the caller's transaction.
     */
    async mergeFamilyIn(
      trx: Kysely<DB>,
      workspaceId: string,
      id: string,
    ): Promise<{ survivorId: string; ids: string[] } | undefined> {
      // Ids and merge pointers only (two columns): a form submission asks this of every lead
      // it records consent for.
      const survivorId = (await store.resolveLeadIds(trx, workspaceId, [id])).get(id);
      if (survivorId === undefined) return undefined;
      const ids = [survivorId];
      let frontier = [survivorId];
      // A merge refuses leads merged already, so chains are short; the bound stops a cycle.
      for (let depth = 0; frontier.length > 0 && depth < 10; depth++) {
        frontier = (await store.findMergedInto(trx, workspaceId, frontier)).filter((m) => !ids.includes(m));
        ids.push(...frontier);
      }
      return { survivorId, ids };
    },

    /** The live leads among `ids` (merged-away ids resolve to nothing), read in the caller's transaction. */
    /**
     * One lead, merged-away ones included, locked until the caller's transaction ends
     * (PostgreSQL; SQLite serialises its writers): for a decision on the lead another process
     * must not make at the same time (consent).
     */
    findForUpdateIn: (trx: Kysely<DB>, workspaceId: string, id: string): Promise<Lead | undefined> =>
      store.findLeadForUpdate(trx, workspaceId, id, database.engine),

    findIn: async (trx: Kysely<DB>, workspaceId: string, ids: readonly string[]): Promise<Lead[]> =>
      (await store.findLeadsByIds(trx, workspaceId, [...ids])).filter((l) => !l.mergedIntoId),

    /**
     * For each window, how many `type` activities its lead has with `after` < occurredAt ≤
     * `until` (epoch ms), in the order given; read in the caller's transaction, so the
     * activities it wrote count too. One query for the whole list (alerts' "3 times in 7 days").
     */
    countActivitiesIn: (
      trx: Kysely<DB>,
      workspaceId: string,
      windows: ReadonlyArray<{ leadId: string; type: string; after: number; until: number }>,
    ): Promise<number[]> =>
      windows.length === 0 ? Promise.resolve([]) : store.countActivityWindows(trx, workspaceId, windows),

    /** When each of these leads was created (epoch ms), by id; ids of no lead in the workspace are absent. */
    async createdAtOf(workspaceId: string, ids: readonly string[]): Promise<Map<string, number>> {
      const out = new Map<string, number>();
      for (let i = 0; i < ids.length; i += 500)
        for (const [id, at] of await store.findCreatedAt(db, workspaceId, ids.slice(i, i + 500)))
          out.set(id, at);
      return out;
    },
  };
}
