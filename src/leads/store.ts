import { type Kysely, type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';
import {
  executeCompiled,
  insertBulk,
  pgColumnTypes,
  placeholderRows,
  selectCompiled,
} from '../db/bulk-insert.ts';
import type { Engine } from '../db/database.ts';
import { paddedInList, placeholders } from '../db/in-list.ts';
import { parseJson, toJson } from '../db/json.ts';
import type { DB, LeadRow } from '../db/schema.ts';
import type { Stage } from '../lifecycle/model.ts';
import type { Qualification } from '../lifecycle/qualification.ts';
import type { Temperature } from '../lifecycle/temperature.ts';
import { DAY_MS, DECAY_EPOCH_MS } from '../scoring/decay.ts';
import type { ScoreState } from '../scoring/engine.ts';
import {
  type Channel,
  type Lead,
  type Opportunity,
  type PropertyValue,
  searchTerms,
  searchText,
  type Touch,
} from './model.ts';

export const leadColumns = [
  'workspace_id',
  'id',
  'email',
  'phone',
  'first_name',
  'last_name',
  'company',
  'company_domain',
  'job_title',
  'company_size',
  'industry',
  'country',
  'city',
  'website',
  'email_disposable',
  'source',
  'channel',
  'first_touch',
  'last_touch',
  'properties',
  'stage',
  'owner_id',
  'archived_at',
  'merged_into_id',
  'created_at',
  'updated_at',
  'score_model_version',
  'fit_score',
  'profile_negative',
  'activity_negative',
  'behaviour_k',
  'half_life_days',
  'last_high_intent_at',
  'temperature',
  'temperature_changes_at',
  'pql',
  'service_qualified',
  'stage_changed_at',
  'stage_hold',
  'pql_cleared_at',
  'service_qualified_cleared_at',
  'opportunity',
  'qualification',
] as const;

type SelectedLeadRow = Pick<LeadRow, (typeof leadColumns)[number]>;

export function rowToLead(row: SelectedLeadRow): Lead {
  const firstTouch = parseJson<Touch | null>(row.first_touch, null);
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    email: row.email,
    phone: row.phone,
    firstName: row.first_name,
    lastName: row.last_name,
    company: row.company,
    companyDomain: row.company_domain,
    jobTitle: row.job_title,
    companySize: row.company_size,
    industry: row.industry,
    country: row.country,
    city: row.city,
    website: row.website,
    emailDisposable: Boolean(row.email_disposable),
    source: row.source,
    channel: row.channel as Channel | null,
    firstTouch,
    // Null when it is the first touch (see `leadToRow`).
    lastTouch: row.last_touch === null ? firstTouch : parseJson<Touch | null>(row.last_touch, null),
    properties: parseJson<Record<string, PropertyValue>>(row.properties, {}),
    stage: row.stage as Stage,
    stageChangedAt: row.stage_changed_at ?? row.created_at,
    ownerId: row.owner_id,
    archivedAt: row.archived_at,
    mergedIntoId: row.merged_into_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    scoring: {
      modelVersion: row.score_model_version,
      fitScore: row.fit_score,
      profileNegative: row.profile_negative,
      activityNegative: row.activity_negative,
      behaviourK: row.behaviour_k,
      halfLifeDays: row.half_life_days,
      lastHighIntentAt: row.last_high_intent_at,
      temperature: row.temperature as Temperature,
      temperatureChangesAt: row.temperature_changes_at,
      pql: Boolean(row.pql),
      serviceQualified: Boolean(row.service_qualified),
      stageHold: Boolean(row.stage_hold),
    },
    flagsClearedAt: { pql: row.pql_cleared_at, serviceQualified: row.service_qualified_cleared_at },
    opportunity: parseJson<Opportunity | null>(row.opportunity, null),
    qualification: parseJson<Qualification | null>(row.qualification, null),
  };
}

/**
 * The stored last touch: null while it is the first touch, as it is for most leads (one touch
 * is ~230 bytes of JSON, a quarter of a lead's row, so every insert and rescore writes fewer
 * pages). A lead has a last touch whenever it has a first one, so null reads back as the first.
 */
function lastTouchColumn(lead: Lead, firstTouch: string | null): string | null {
  if (!lead.lastTouch || lead.lastTouch === lead.firstTouch) return null;
  const last = toJson(lead.lastTouch);
  return last === firstTouch ? null : last;
}

/** The row of a lead, without the scoring state (written only by `updateLeadsScoring`). */
export function leadToRow(lead: Lead): Omit<LeadRow, 'score_state'> {
  const firstTouch = lead.firstTouch ? toJson(lead.firstTouch) : null;
  return {
    workspace_id: lead.workspaceId,
    id: lead.id,
    email: lead.email,
    phone: lead.phone,
    first_name: lead.firstName,
    last_name: lead.lastName,
    company: lead.company,
    company_domain: lead.companyDomain,
    job_title: lead.jobTitle,
    company_size: lead.companySize,
    industry: lead.industry,
    country: lead.country,
    city: lead.city,
    website: lead.website,
    email_disposable: lead.emailDisposable ? 1 : 0,
    source: lead.source,
    channel: lead.channel,
    first_touch: firstTouch,
    last_touch: lastTouchColumn(lead, firstTouch),
    properties: toJson(lead.properties),
    stage: lead.stage,
    owner_id: lead.ownerId,
    search_text: searchText(lead),
    archived_at: lead.archivedAt,
    merged_into_id: lead.mergedIntoId,
    created_at: lead.createdAt,
    updated_at: lead.updatedAt,
    score_model_version: lead.scoring.modelVersion,
    fit_score: lead.scoring.fitScore,
    profile_negative: lead.scoring.profileNegative,
    activity_negative: lead.scoring.activityNegative,
    behaviour_k: lead.scoring.behaviourK,
    half_life_days: lead.scoring.halfLifeDays,
    last_high_intent_at: lead.scoring.lastHighIntentAt,
    temperature: lead.scoring.temperature,
    temperature_changes_at: lead.scoring.temperatureChangesAt,
    pql: lead.scoring.pql ? 1 : 0,
    service_qualified: lead.scoring.serviceQualified ? 1 : 0,
    stage_changed_at: lead.stageChangedAt,
    stage_hold: lead.scoring.stageHold ? 1 : 0,
    pql_cleared_at: lead.flagsClearedAt.pql,
    service_qualified_cleared_at: lead.flagsClearedAt.serviceQualified,
    opportunity: lead.opportunity ? toJson(lead.opportunity) : null,
    qualification: lead.qualification ? toJson(lead.qualification) : null,
  };
}

/** One lead by id (merged or archived included); the same compiled lookup as `findLeadsByIds`. */
export async function findLead(db: Kysely<DB>, workspaceId: string, id: string): Promise<Lead | undefined> {
  return (await leadsWhereIn(db, 'id', workspaceId, [id]))[0];
}

/**
 * Which of these ids are leads, and where each merged one points: an id check reads two columns.
 * With `lock` (PostgreSQL, in a write) the rows stay locked until the transaction ends, so a
 * merge of one of them running in another process is either seen whole or waits for this write.
 */
export async function findMergeTargets(
  db: Kysely<DB>,
  workspaceId: string,
  ids: string[],
  lock = false,
): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  if (ids.length === 0) return out;
  const list = paddedInList(ids);
  const rows = await selectCompiled<{ id: string; merged_into_id: string | null }>(
    db,
    lock ? 'findMergeTargetsLocked' : 'findMergeTargets',
    list.length,
    (q, n) =>
      locked(
        q
          .selectFrom('leads')
          .select(['id', 'merged_into_id'])
          .where('workspace_id', '=', '')
          .where('id', 'in', placeholders(n)),
        lock,
      ),
    [workspaceId, ...list],
  );
  for (const row of rows) out.set(row.id, row.merged_into_id);
  return out;
}

/** Largest number of ids `resolveLeadIds` asks about in one `in (…)` list. */
const MERGE_LOOKUP_CHUNK = 500;

/**
 * Maps requested lead ids to the lead that receives their events: itself, or the survivor it
 * was merged into. Ids that are not leads of the workspace are absent. One query per merge hop
 * (normally just one), whatever the number of ids. With `lock` (PostgreSQL, in a write that
 * stores something for these leads) every lead read is locked: a merge committed by another
 * process while this waited is then followed to its survivor, not written past.
 */
export async function resolveLeadIds(
  db: Kysely<DB>,
  workspaceId: string,
  ids: string[],
  lock = false,
): Promise<Map<string, string>> {
  const resolved = new Map<string, string>();
  /** Lead id -> the lead it was merged into. */
  const redirects = new Map<string, string>();
  // Sorted: chunks lock in id order too.
  let pending = [...new Set(ids)].sort();
  for (let hop = 0; pending.length > 0 && hop < 10; hop++) {
    const next: string[] = [];
    for (let i = 0; i < pending.length; i += MERGE_LOOKUP_CHUNK) {
      const targets = await findMergeTargets(db, workspaceId, pending.slice(i, i + MERGE_LOOKUP_CHUNK), lock);
      for (const [id, mergedIntoId] of targets) {
        if (mergedIntoId) {
          redirects.set(id, mergedIntoId);
          if (!redirects.has(mergedIntoId) && !resolved.has(mergedIntoId)) next.push(mergedIntoId);
        } else resolved.set(id, id);
      }
    }
    pending = [...new Set(next)];
  }
  const out = new Map<string, string>();
  for (const id of ids) {
    let current: string | undefined = id;
    for (let hop = 0; current && redirects.has(current) && hop < 10; hop++) current = redirects.get(current);
    if (current && resolved.has(current)) out.set(id, current);
  }
  return out;
}

/** Ids of the leads merged into any of `ids` (their redirect rows), through leads_merged_into_ix. */
export async function findMergedInto(db: Kysely<DB>, workspaceId: string, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const list = paddedInList(ids);
  const rows = await selectCompiled<{ id: string }>(
    db,
    'findMergedInto',
    list.length,
    (q, n) =>
      q
        .selectFrom('leads')
        .select('id')
        .where('workspace_id', '=', '')
        .where('merged_into_id', 'in', placeholders(n)),
    [workspaceId, ...list],
  );
  return rows.map((row) => row.id);
}

/**
 * `select` with its rows locked until the transaction ends, in id order, when `lock` (pass it
 * on PostgreSQL for a read that the same transaction writes back). The writes of several API
 * processes run side by side there: without the lock two of them would both read a lead, and
 * the later write would drop what the earlier one added (an event's points, say). Id order
 * within each read keeps two such reads from each holding a lead the other waits for.
 * SQLite serialises its writers (BEGIN IMMEDIATE).
 */
function locked<S extends SelectQueryBuilder<DB, 'leads', object>>(select: S, lock: boolean): S {
  return lock ? (select.orderBy('id').forUpdate() as S) : select;
}

/** Leads with their per-rule scoring state (null: none yet), one read for what scoring an event needs. */
export async function findLeadsWithStates(
  db: Kysely<DB>,
  workspaceId: string,
  ids: string[],
  lock: boolean,
): Promise<Array<{ lead: Lead; state: ScoreState | null }>> {
  return (await rowsWithState(db, workspaceId, ids, lock)).map((row) => ({
    lead: rowToLead(row),
    state: parseJson<ScoreState | null>(row.score_state, null),
  }));
}

/**
 * Leads with their per-rule state as stored, unparsed (SQLite: the text written; PostgreSQL's
 * jsonb comes back parsed and is serialised again, so it may differ from what was written in
 * key order): a rescore compares it with the state it computed and skips leads it leaves as
 * they are.
 */
export async function findLeadsWithStateJson(
  db: Kysely<DB>,
  workspaceId: string,
  ids: string[],
  lock: boolean,
): Promise<Array<{ lead: Lead; stateJson: string | null }>> {
  return (await rowsWithState(db, workspaceId, ids, lock)).map((row) => ({
    lead: rowToLead(row),
    stateJson:
      row.score_state === null || typeof row.score_state === 'string'
        ? row.score_state
        : toJson(row.score_state),
  }));
}

async function rowsWithState(
  db: Kysely<DB>,
  workspaceId: string,
  ids: string[],
  lock: boolean,
): Promise<LeadRow[]> {
  const out: LeadRow[] = [];
  // Locked in id order across the chunks too (ids are UUIDs: the same order in JS and SQL).
  const ordered = lock ? [...ids].sort() : ids;
  for (let i = 0; i < ordered.length; i += 500) {
    const list = paddedInList(ordered.slice(i, i + 500));
    const rows = await selectCompiled<LeadRow>(
      db,
      `findLeadsWithStates:${lock}`,
      list.length,
      (q, n) =>
        locked(
          q
            .selectFrom('leads')
            .select([...leadColumns, 'score_state'])
            .where('workspace_id', '=', '')
            .where('id', 'in', placeholders(n)),
          lock,
        ),
      [workspaceId, ...list],
    );
    for (const row of rows) out.push(row);
  }
  return out;
}

export async function findLeadsByIds(db: Kysely<DB>, workspaceId: string, ids: string[]): Promise<Lead[]> {
  if (ids.length === 0) return [];
  return leadsWhereIn(db, 'id', workspaceId, ids);
}

/** The lead columns a rescore reads: all but the touches, which it selects as null. */
const rescoreColumns = leadColumns.filter((column) => column !== 'first_touch' && column !== 'last_touch');

/**
 * The leads as a rescore replays them (its worker thread reads a million of them): every field
 * but the first and last touch, which no scoring or stage rule reads (`conditionLeadFields`) and
 * which are ~460 bytes of JSON to read and parse a lead; they come back null. Never write such a
 * lead back as it is.
 *
 * `ids` must be a run: ascending, with no live lead of the workspace between the first and the
 * last that is not among them (a rescore's chunk, `leadIdsAfter`). The run is read as one
 * stretch of the primary key between its ends, not one seek per id (a million leads in chunks
 * of 1,000: 3.7 s instead of 4.2 s, probe alternating the two), and the leads in it that are not
 * among them (merged, or created since) are dropped.
 */
export async function findLeadsToRescore(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<Lead[]> {
  if (ids.length === 0) return [];
  const rows = await selectCompiled<SelectedLeadRow>(
    db,
    'leadsToRescore',
    1,
    (q) =>
      q
        .selectFrom('leads')
        .select(rescoreColumns)
        .select([sql<null>`null`.as('first_touch'), sql<null>`null`.as('last_touch')])
        .where('workspace_id', '=', '')
        .where('id', '>=', '')
        .where('id', '<=', ''),
    [workspaceId, ids[0], ids.at(-1)],
  );
  const wanted = new Set(ids);
  return rows.filter((row) => wanted.has(row.id)).map(rowToLead);
}

export async function findLeadsByEmails(
  db: Kysely<DB>,
  workspaceId: string,
  emails: string[],
  lock = false,
): Promise<Lead[]> {
  if (emails.length === 0) return [];
  return leadsWhereIn(db, 'email', workspaceId, emails, lock);
}

/** Leads known only by phone (no email): the ones a phone-only or phone+email capture can match. */
export async function findPhoneOnlyLeads(
  db: Kysely<DB>,
  workspaceId: string,
  phones: string[],
  lock = false,
): Promise<Lead[]> {
  if (phones.length === 0) return [];
  return leadsWhereIn(db, 'phoneOnly', workspaceId, phones, lock);
}

/**
 * What a capture of these emails and phones can match: the leads with one of the emails, and
 * the phone-only leads with one of the phones (`findLeadsByEmails`, `findPhoneOnlyLeads`). On
 * PostgreSQL both come from one statement (each is a network round trip, and a group of single
 * captures needs both); SQLite runs the two, whose plans are a key lookup each (an `or` over
 * the two partial indexes would make it scan the workspace).
 */
export async function findCaptureMatches(
  db: Kysely<DB>,
  engine: Engine,
  workspaceId: string,
  emails: string[],
  phones: string[],
  lock = false,
): Promise<{ byEmail: Lead[]; phoneOnly: Lead[] }> {
  if (engine !== 'postgres' || emails.length === 0 || phones.length === 0)
    return {
      byEmail: await findLeadsByEmails(db, workspaceId, emails, lock),
      phoneOnly: await findPhoneOnlyLeads(db, workspaceId, phones, lock),
    };
  const emailList = paddedInList(emails);
  const phoneList = paddedInList(phones);
  const rows = await selectCompiled<SelectedLeadRow>(
    db,
    `captureMatches:${phoneList.length}:${lock}`,
    emailList.length,
    (q, n) =>
      locked(
        q
          .selectFrom('leads')
          .select(leadColumns)
          .where('workspace_id', '=', '')
          .where((eb) =>
            eb.or([
              eb('email', 'in', placeholders(n)),
              eb.and([eb('email', 'is', null), eb('phone', 'in', placeholders(phoneList.length))]),
            ]),
          ),
        lock,
      ),
    [workspaceId, ...emailList, ...phoneList],
  );
  const byEmail: Lead[] = [];
  const phoneOnly: Lead[] = [];
  for (const row of rows) (row.email === null ? phoneOnly : byEmail).push(rowToLead(row));
  return { byEmail, phoneOnly };
}

/**
 * The leads whose id, email, or phone (leads without email only) is in `values`: the lookups
 * of every capture, compiled once per list length (`selectCompiled`).
 */
async function leadsWhereIn(
  db: Kysely<DB>,
  by: 'id' | 'email' | 'phoneOnly',
  workspaceId: string,
  values: string[],
  lock = false,
): Promise<Lead[]> {
  const list = paddedInList(values);
  const rows = await selectCompiled<SelectedLeadRow>(
    db,
    `leadsWhereIn:${by}:${lock}`,
    list.length,
    (q, n) => {
      const base = q.selectFrom('leads').select(leadColumns).where('workspace_id', '=', '');
      if (by === 'id') return locked(base.where('id', 'in', placeholders(n)), lock);
      if (by === 'email') return locked(base.where('email', 'in', placeholders(n)), lock);
      return locked(base.where('email', 'is', null).where('phone', 'in', placeholders(n)), lock);
    },
    [workspaceId, ...list],
  );
  return rows.map(rowToLead);
}

/** Every column a new lead's row fills, in the order `insertLeads` binds them. */
const insertColumns = [...leadColumns, 'search_text'] as const;

/**
 * Inserts many leads in as few statements as the engines' bound-parameter limits allow
 * (400 rows x 27 columns stays under PostgreSQL's 65,535), each statement compiled once.
 */
export async function insertLeads(db: Kysely<DB>, leads: Lead[]): Promise<void> {
  const rows = leads.map((lead) => {
    const row = leadToRow(lead);
    return insertColumns.map((column) => row[column]);
  });
  await insertBulk(
    db,
    'insertLeads',
    rows,
    400,
    (bulk, n) => bulk.insertInto('leads').values(placeholderRows(insertColumns, n) as never),
    { table: 'leads', columns: insertColumns },
  );
}

export async function updateLead(db: Kysely<DB>, lead: Lead): Promise<void> {
  const { workspace_id, id, ...rest } = leadToRow(lead);
  await db
    .updateTable('leads')
    .set(rest)
    .where('workspace_id', '=', workspace_id)
    .where('id', '=', id)
    .execute();
}

/**
 * Writes every field of many leads (each at most once). On PostgreSQL one statement takes them
 * all as arrays (`unnest`), like `updateLeadsScoring`: a statement per lead is a round trip
 * per lead, and an import re-capturing known people spent about 0.6 ms on each (1,768 updates
 * of a 100,000-row HubSpot file: 1.05 s of its 18.7 s). The rows were locked when the capture
 * read them. SQLite updates them one by one (a statement costs microseconds in process).
 */
export async function updateLeads(db: Kysely<DB>, engine: Engine, leads: readonly Lead[]): Promise<void> {
  if (engine === 'sqlite' || leads.length < 2) {
    for (const lead of leads) await updateLead(db, lead);
    return;
  }
  const types = await pgColumnTypes(db, 'leads');
  const rows = leads.map(leadToRow);
  const columns = Object.keys(rows[0]!) as Array<keyof (typeof rows)[number]>;
  const set = columns.filter((column) => column !== 'workspace_id' && column !== 'id');
  await updateLeadsFromArrays(
    db,
    columns.map((name) => ({ name, type: types.get(name)!, values: rows.map((row) => row[name]) })),
    sql.raw(set.map((column) => `${column} = v.${column}`).join(', ')),
  );
}

/**
 * PostgreSQL: one `UPDATE leads … FROM unnest(arrays)` for many leads. `arrays` are the columns
 * of `v`, `workspace_id` and `id` among them (the rows to update); `set` assigns from `v`.
 */
async function updateLeadsFromArrays(
  db: Kysely<DB>,
  arrays: ReadonlyArray<{ name: string; type: string; values: unknown[] }>,
  set: RawBuilder<unknown>,
): Promise<void> {
  const casts = arrays.map(({ type, values }) => sql`${values}::${sql.raw(type)}[]`);
  await sql`
    update leads as l set ${set}
    from unnest(${sql.join(casts)}) as v(${sql.raw(arrays.map(({ name }) => name).join(', '))})
    where l.workspace_id = v.workspace_id and l.id = v.id`.execute(db);
}

/** The columns scoring and qualification change (`updateLeadsScoring`), in bind order. */
const scoringColumns = [
  'score_model_version',
  'fit_score',
  'profile_negative',
  'activity_negative',
  'behaviour_k',
  'half_life_days',
  'last_high_intent_at',
  'temperature_changes_at',
  'pql',
  'service_qualified',
  'stage_changed_at',
  'stage_hold',
] as const;

/**
 * SQLite's scoring write of one lead (`updateLeadsScoring`): only what scoring and
 * qualification change, and the per-rule state when given (`null` clears it; absent leaves
 * it). SQLite rewrites the entry of every index that has a column in the SET list, even when
 * the value is the same: so the indexed `stage` and `temperature` are named only when they
 * differ from `before` (a score change then dirties the row's page alone, not also a page of
 * each of those two indexes). Without `before` both are written.
 */
async function updateLeadScoring(db: Kysely<DB>, update: ScoringUpdate): Promise<void> {
  const { lead } = update;
  const write = scoringWrite(update);
  const columns: string[] = [...scoringColumns];
  const parameters: unknown[] = [...write.values];
  if (write.withStage) {
    columns.push('stage');
    parameters.push(lead.stage);
  }
  if (write.withTemperature) {
    columns.push('temperature');
    parameters.push(lead.scoring.temperature);
  }
  if (write.withState) {
    columns.push('score_state');
    parameters.push(write.stateJson);
  }
  parameters.push(lead.workspaceId, lead.id);
  await executeCompiled(
    db,
    `updateLeadScoring:${write.withStage}:${write.withTemperature}:${write.withState}`,
    (bulk) =>
      bulk
        .updateTable('leads')
        .set(Object.fromEntries(columns.map((c) => [c, ''])) as never)
        .where('workspace_id', '=', '')
        .where('id', '=', ''),
    parameters,
  );
}

/** One lead's scoring write (`updateLeadsScoring`). */
export interface ScoringUpdate {
  lead: Lead;
  /** The per-rule state; a string is the state already serialised. Absent leaves it. */
  state?: ScoreState | string | null | undefined;
  before?: Lead | undefined;
}

/**
 * Writes the scoring of many leads (each at most once). On PostgreSQL one statement takes
 * them all as arrays (`unnest`): a statement per lead is a network round trip per lead, and
 * an event batch that scored 450 leads spent most of its time waiting on them. SQLite keeps
 * the one-row statement per lead: in process a statement costs microseconds, and naming
 * stage and temperature only when they change keeps those index pages clean.
 */
export async function updateLeadsScoring(
  db: Kysely<DB>,
  engine: Engine,
  updates: readonly ScoringUpdate[],
): Promise<void> {
  // A lead a stage rule made a customer had its open deal won on the way (moveStage): rare, so
  // written apart rather than widening the statement every scored lead goes through.
  for (const { lead, before } of updates)
    if (before && before.opportunity?.status !== lead.opportunity?.status)
      await db
        .updateTable('leads')
        .set({ opportunity: lead.opportunity ? toJson(lead.opportunity) : null })
        .where('workspace_id', '=', lead.workspaceId)
        .where('id', '=', lead.id)
        .execute();
  if (engine === 'sqlite') {
    for (const update of updates) await updateLeadScoring(db, update);
    return;
  }
  if (updates.length === 0) return;
  const types = await pgColumnTypes(db, 'leads');
  const writes = updates.map((update) => ({ update, write: scoringWrite(update) }));
  const plain = sql.raw(scoringColumns.map((c) => `${c} = v.${c}`).join(', '));
  await updateLeadsFromArrays(
    db,
    unnestColumns.map(([name, flag, value]) => ({
      name,
      type: flag ? 'boolean' : types.get(name)!,
      values: writes.map(({ update, write }) => value(update.lead, write)),
    })),
    sql`${plain},
      stage = case when v.with_stage then v.stage else l.stage end,
      temperature = case when v.with_temperature then v.temperature else l.temperature end,
      score_state = case when v.with_state then v.score_state else l.score_state end`,
  );
}

type ScoringWrite = ReturnType<typeof scoringWrite>;

/**
 * The columns of `updateLeadsScoring`'s arrays on PostgreSQL: name, whether it is one of the
 * statement's boolean flags (else a column of `leads`, cast to its type), value.
 */
const unnestColumns: ReadonlyArray<readonly [string, boolean, (lead: Lead, write: ScoringWrite) => unknown]> =
  [
    ['workspace_id', false, (lead) => lead.workspaceId],
    ['id', false, (lead) => lead.id],
    ...scoringColumns.map(
      (name, i) => [name, false, (_: Lead, write: ScoringWrite) => write.values[i]] as const,
    ),
    ['with_stage', true, (_, write) => write.withStage],
    ['stage', false, (lead) => lead.stage],
    ['with_temperature', true, (_, write) => write.withTemperature],
    ['temperature', false, (lead) => lead.scoring.temperature],
    ['with_state', true, (_, write) => write.withState],
    ['score_state', false, (_, write) => write.stateJson],
  ];

/** What the scoring write of one lead writes, engine aside. */
function scoringWrite({ lead, state, before }: ScoringUpdate): {
  /** In `scoringColumns` order (leadToRow would also serialise touches and properties). */
  values: unknown[];
  withStage: boolean;
  withTemperature: boolean;
  withState: boolean;
  stateJson: string | null;
} {
  const s = lead.scoring;
  return {
    values: [
      s.modelVersion,
      s.fitScore,
      s.profileNegative,
      s.activityNegative,
      s.behaviourK,
      s.halfLifeDays,
      s.lastHighIntentAt,
      s.temperatureChangesAt,
      s.pql ? 1 : 0,
      s.serviceQualified ? 1 : 0,
      lead.stageChangedAt,
      s.stageHold ? 1 : 0,
    ],
    withStage: before === undefined || before.stage !== lead.stage,
    withTemperature: before === undefined || before.scoring.temperature !== s.temperature,
    withState: state !== undefined,
    stateJson: typeof state === 'object' && state !== null ? toJson(state) : (state ?? null),
  };
}

/** Whether `after` differs from `before` in what `updateLeadsScoring` writes. */
export function scoringChanged(before: Lead, after: Lead): boolean {
  if (before.stage !== after.stage || before.stageChangedAt !== after.stageChangedAt) return true;
  const a = before.scoring;
  const b = after.scoring;
  return (
    a.modelVersion !== b.modelVersion ||
    a.fitScore !== b.fitScore ||
    a.profileNegative !== b.profileNegative ||
    a.activityNegative !== b.activityNegative ||
    a.behaviourK !== b.behaviourK ||
    a.halfLifeDays !== b.halfLifeDays ||
    a.lastHighIntentAt !== b.lastHighIntentAt ||
    a.temperature !== b.temperature ||
    a.temperatureChangesAt !== b.temperatureChangesAt ||
    a.pql !== b.pql ||
    a.serviceQualified !== b.serviceQualified ||
    a.stageHold !== b.stageHold
  );
}

/**
 * Gives these leads one owner: only `owner_id` and `updated_at` change (the leads are whole in
 * the caller's hands; rewriting every column would cost more than the assignment).
 */
export async function setOwner(
  db: Kysely<DB>,
  workspaceId: string,
  ownerId: string,
  leadIds: readonly string[],
  now: number,
): Promise<void> {
  for (let i = 0; i < leadIds.length; i += 500) {
    await db
      .updateTable('leads')
      .set({ owner_id: ownerId, updated_at: now })
      .where('workspace_id', '=', workspaceId)
      .where('id', 'in', paddedInList(leadIds.slice(i, i + 500)))
      .execute();
  }
}

/** How many live leads of a company one person owns, and when the first of them was created. */
export interface AccountShare {
  ownerId: string;
  leads: number;
  firstCreatedAt: number;
}

/**
 * Who owns the live leads of a company (by `company_domain`, through its index), leaving out
 * `exceptLeadId`: one share per owner, most leads first, then the earliest first lead.
 */
export async function accountShares(
  db: Kysely<DB>,
  workspaceId: string,
  companyDomain: string,
  exceptLeadId: string,
): Promise<AccountShare[]> {
  const rows = await accountSharesQuery(db, workspaceId, companyDomain, exceptLeadId).execute();
  return rows.map((r) => ({ ownerId: r.owner_id!, leads: Number(r.n), firstCreatedAt: Number(r.first) }));
}

/**
 * The query of `accountShares`. Its `owner_id is not null` and `merged_into_id is null` are
 * the terms of the partial `leads_domain_ix` (owned, live leads): both engines use that index
 * only when the query states them.
 */
export function accountSharesQuery(
  db: Kysely<DB>,
  workspaceId: string,
  companyDomain: string,
  exceptLeadId: string,
) {
  return db
    .selectFrom('leads')
    .select((eb) => [
      'owner_id',
      eb.fn.countAll<number | string>().as('n'),
      eb.fn.min<number | string>('created_at').as('first'),
    ])
    .where('workspace_id', '=', workspaceId)
    .where('company_domain', '=', companyDomain)
    .where('owner_id', 'is not', null)
    .where('archived_at', 'is', null)
    .where('merged_into_id', 'is', null)
    .where('id', '!=', exceptLeadId)
    .groupBy('owner_id')
    .orderBy('n', 'desc')
    .orderBy('first', 'asc');
}

export type LeadSort = 'createdAt' | '-createdAt' | 'updatedAt' | '-updatedAt';

export interface LeadListQuery {
  stage?: string | undefined;
  ownerId?: string | undefined;
  channel?: string | undefined;
  source?: string | undefined;
  createdFrom?: number | undefined;
  createdTo?: number | undefined;
  q?: string | undefined;
  temperature?: Temperature | undefined;
  /** Leads whose score at `now` is at least this. */
  minScore?: number | undefined;
  /** The moment scores are computed for (epoch ms); the lead service sets its clock's. */
  now?: number | undefined;
  includeArchived?: boolean | undefined;
  sort: LeadSort;
  limit: number;
  /** The sort value and id of the last lead of the previous page. */
  after?: { value: number; id: string } | undefined;
}

/** One page of leads by keyset pagination on (sort column, id): stable under concurrent inserts. */
export async function listLeads(db: Kysely<DB>, workspaceId: string, query: LeadListQuery): Promise<Lead[]> {
  const column = query.sort.endsWith('updatedAt') ? 'updated_at' : 'created_at';
  const descending = query.sort.startsWith('-');
  let select = db.selectFrom('leads').select(leadColumns).where('workspace_id', '=', workspaceId);
  if (!query.includeArchived) select = select.where('archived_at', 'is', null);
  select = select.where('merged_into_id', 'is', null);
  if (query.stage) select = select.where('stage', '=', query.stage);
  if (query.ownerId) select = select.where('owner_id', '=', query.ownerId);
  if (query.channel) select = select.where('channel', '=', query.channel);
  if (query.source) select = select.where('source', '=', query.source);
  if (query.temperature) select = select.where('temperature', '=', query.temperature);
  if (query.minScore !== undefined && query.minScore > 0) {
    // The exact score at `now` (scoring/qualify.ts leadScore) in SQL: behaviour decays as
    // 2^(k − u(now)) with u in half-lives since the decay epoch. A lead whose behaviour has
    // decayed past 2^-1000 counts 0 (PostgreSQL's power() would raise an underflow).
    const u = sql<number>`(${(query.now ?? Date.now()) - DECAY_EPOCH_MS} / (half_life_days * ${DAY_MS}))`;
    const behaviour = sql<number>`case when behaviour_k is null or behaviour_k - ${u} < -1000 then 0 else power(2, behaviour_k - ${u}) end`;
    select = select.where(
      // Scores are shown rounded to 6 decimals (roundPoints): compare with the same tolerance,
      // else 25 + 15 points, decayed by a few ns of float error, would miss "at least 40".
      sql<boolean>`fit_score + profile_negative + activity_negative + ${behaviour} >= ${query.minScore - 5e-7}`,
    );
  }
  if (query.createdFrom !== undefined) select = select.where('created_at', '>=', query.createdFrom);
  if (query.createdTo !== undefined) select = select.where('created_at', '<', query.createdTo);
  const terms = query.q === undefined ? [] : searchTerms(query.q);
  if (terms.length > 0) {
    const patterns = terms.map((term) => `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    select = select.where((eb) =>
      eb.or(patterns.map((pattern) => sql<boolean>`search_text like ${pattern} escape '\\'`)),
    );
  }
  if (query.after) {
    const { value, id } = query.after;
    const op = descending ? '<' : '>';
    select = select.where((eb) =>
      eb.or([eb(column, op, value), eb.and([eb(column, '=', value), eb('id', op, id)])]),
    );
  }
  const direction = descending ? 'desc' : 'asc';
  const rows = await select.orderBy(column, direction).orderBy('id', direction).limit(query.limit).execute();
  return rows.map(rowToLead);
}

/** Ids of live leads (not merged away) after `afterId` in id order: the pages a rescore walks. */
export async function leadIdsAfter(
  db: Kysely<DB>,
  workspaceId: string,
  afterId: string | null,
  limit: number,
): Promise<string[]> {
  let select = db
    .selectFrom('leads')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('merged_into_id', 'is', null);
  if (afterId !== null) select = select.where('id', '>', afterId);
  const rows = await select.orderBy('id').limit(limit).execute();
  return rows.map((r) => r.id);
}

/**
 * The workspace's leads less its merged ones. Counting `merged_into_id is null` directly
 * reads every lead's row (no index has that column for live leads): 1.1–1.9 s for a million
 * leads here, before a rescore's first chunk. Both counts here read an index alone
 * (`leads_merged_into_ix` holds only merged leads): 54–118 ms.
 */
export async function countLiveLeads(db: Kysely<DB>, workspaceId: string): Promise<number> {
  const row = await liveLeadCountQuery(db, workspaceId).executeTakeFirstOrThrow();
  return Number(row.all) - Number(row.merged);
}

/** The two counts of `countLiveLeads` in one statement (one snapshot). */
export function liveLeadCountQuery(db: Kysely<DB>, workspaceId: string) {
  return db.selectNoFrom((eb) => [
    eb
      .selectFrom('leads')
      .select((c) => c.fn.countAll<number | string>().as('n'))
      .where('workspace_id', '=', workspaceId)
      .as('all'),
    eb
      .selectFrom('leads')
      .select((c) => c.fn.countAll<number | string>().as('n'))
      .where('workspace_id', '=', workspaceId)
      .where('merged_into_id', 'is not', null)
      .as('merged'),
  ]);
}

/** Windows per statement: 5 parameters each, far below either engine's limit. (500) */
const ACTIVITY_WINDOW_CHUNK = 500;

/**
 * For each window, how many `type` activities its lead has with `after` < occurred_at ≤
 * `until`; counts in the order of `windows`. One statement for all of them (per 500): the
 * windows are a VALUES list joined to the activities through their (workspace, lead,
 * occurred_at) index — one index range per window, grouped per window — so a write that
 * touched many leads costs one query, not one per lead. Windows of one lead may differ (rules
 * of different lengths, entries of different times): each is counted on its own.
 */
export async function countActivityWindows(
  db: Kysely<DB>,
  workspaceId: string,
  windows: ReadonlyArray<{ leadId: string; type: string; after: number; until: number }>,
): Promise<number[]> {
  const counts = windows.map(() => 0);
  for (let from = 0; from < windows.length; from += ACTIVITY_WINDOW_CHUNK) {
    const chunk = windows.slice(from, from + ACTIVITY_WINDOW_CHUNK);
    // Typed by casts: PostgreSQL reads untyped VALUES parameters as text.
    const values = sql.join(
      chunk.map(
        (w, i) =>
          sql`(cast(${from + i} as integer), ${w.leadId}, ${w.type}, cast(${w.after} as bigint), cast(${w.until} as bigint))`,
      ),
    );
    const { rows } = await sql<{ i: number | string; n: number | string }>`
      with w (i, lead_id, type, after_ms, until_ms) as (values ${values})
      select w.i as i, count(*) as n
      from w
      join activities a
        on a.workspace_id = ${workspaceId}
        and a.lead_id = w.lead_id
        and a.occurred_at > w.after_ms
        and a.occurred_at <= w.until_ms
        and a.type = w.type
      group by w.i`.execute(db);
    for (const row of rows) counts[Number(row.i)] = Number(row.n);
  }
  return counts;
}

/** Workspaces with a lead whose temperature is due to drop by decay at `now`. */
export async function workspacesWithDueTemperatures(db: Kysely<DB>, now: number): Promise<string[]> {
  const rows = await db
    .selectFrom('leads')
    .select('workspace_id')
    .distinct()
    .where('temperature', 'in', ['warm', 'hot'])
    .where('temperature_changes_at', '<=', now)
    .execute();
  return rows.map((r) => r.workspace_id);
}

/** Leads whose temperature drops by decay at or before `now`, soonest first. */
export async function leadsWithDueTemperatures(
  db: Kysely<DB>,
  workspaceId: string,
  now: number,
  limit: number,
  /**
   * PostgreSQL: lock the leads returned, skipping those another write holds (it settles their
   * temperature itself, or the next sweep does): the sweep writes them back, and must neither
   * drop what a concurrent write adds nor wait for it.
   */
  lock = false,
): Promise<Lead[]> {
  const select = db
    .selectFrom('leads')
    .select(leadColumns)
    .where('workspace_id', '=', workspaceId)
    // Only warm and hot leads cool down: leads_temperature_ix finds them.
    .where('temperature', 'in', ['warm', 'hot'])
    .where('temperature_changes_at', '<=', now)
    .orderBy('temperature_changes_at')
    .limit(limit);
  const rows = await (lock ? select.forUpdate().skipLocked() : select).execute();
  return rows.map(rowToLead);
}

// -----------------------------------------------------------------------------------------------
// Explicit lifecycle changes (src/lifecycle/service.ts through the lead service's `updateIn`)

/**
 * One lead, read to decide a change on what it holds now (a stage transition). On PostgreSQL
 * its row stays locked until the transaction ends: two API processes cannot both accept the
 * same MQL, or one accept it while another rejects it. SQLite needs no lock: its writers are
 * serialised by BEGIN IMMEDIATE (and `FOR UPDATE` is not SQLite syntax).
 */
export async function findLeadForUpdate(
  db: Kysely<DB>,
  workspaceId: string,
  id: string,
  engine: Engine,
): Promise<Lead | undefined> {
  const select = db
    .selectFrom('leads')
    .select(leadColumns)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id);
  const row = await (engine === 'postgres' ? select.forUpdate() : select).executeTakeFirst();
  return row && rowToLead(row);
}

/** When each of these leads was created (epoch ms), by id; ids of no lead in the workspace are absent. */
export async function findCreatedAt(
  db: Kysely<DB>,
  workspaceId: string,
  ids: string[],
): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('leads')
    .select(['id', 'created_at'])
    .where('workspace_id', '=', workspaceId)
    .where('id', 'in', paddedInList(ids))
    .execute();
  return new Map(rows.map((r) => [r.id, Number(r.created_at)]));
}
