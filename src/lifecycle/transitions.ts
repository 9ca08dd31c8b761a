import { DomainError, type FieldError, validationError } from '../errors.ts';
import type { Lead, Opportunity } from '../leads/model.ts';
import { moveStage, type Qualified, qualifyBySql, type ScoringContext } from '../scoring/qualify.ts';
import { isCalendarDate } from '../time.ts';
import { type Stage, stages } from './model.ts';
import { opportunityEntry } from './opportunity-entry.ts';
import {
  applyQualificationUpdate,
  type QualificationUpdate,
  summariseQualification,
} from './qualification.ts';
import { type LeadFlag, leadFlags } from './stage-rules.ts';

/**
 * The lifecycle moves people make, pure: sales accepting or rejecting an MQL, recycling a lead
 * back to nurture, opening, editing, winning and losing an opportunity, and answering the
 * BANT/CHAMP criteria. Each takes the lead as stored and returns the lead, its timeline entries
 * and its stage history rows (`Qualified`); a move the lead's stage does not allow throws
 * STAGE_TRANSITION_INVALID. Rules move leads forward on their own (scoring/qualify.ts); going
 * back is only ever one of these, with a reason.
 *
 * `by` names who did it: `key:<API key id>` (later `user:<id>`), as model versions and
 * criteria record it.
 */

/** Why sales turned an MQL down: codes, so reports can count them. */
export const rejectionReasons = [
  'not_a_fit',
  'no_budget',
  'no_authority',
  'no_need',
  'bad_timing',
  'duplicate',
  'competitor',
  'unresponsive',
  'other',
] as const;
export type RejectionReason = (typeof rejectionReasons)[number];

/** Where a recycle may send a lead: back to nurture, as a lead or as a mere subscriber. */
export const recycleStages = ['subscriber', 'lead'] as const satisfies readonly Stage[];
export type RecycleStage = (typeof recycleStages)[number];

/** Field errors of a free-text reason (a recycle's, a lost deal's): it must say something. */
export function checkReason(reason: string, path: string): FieldError[] {
  return reason.trim() === '' ? [{ path, message: 'must not be blank' }] : [];
}

function refuse(message: string): never {
  throw new DomainError('STAGE_TRANSITION_INVALID', message);
}

/**
 * A deal's amount means nothing without its currency (a won deal's value is reported in it):
 * refused whether the currency was left out or cleared later. It is also written in that
 * currency's minor unit at most (no 0.5 yen), whichever of the two the request changed.
 */
function checkPriced(opportunity: Opportunity, changed: 'amount' | 'currency'): void {
  const { amount, currency } = opportunity;
  if (amount === null) return;
  if (currency === null)
    throw validationError([{ path: '/currency', message: 'is required with an amount' }]);
  const errors = checkMinorUnit(amount, currency, `/${changed}`);
  if (errors.length > 0) throw validationError(errors);
}

/** How many decimals an amount in this currency may have (JPY 0, EUR 2, BHD 3). */
export function currencyDecimals(currency: string): number {
  return (
    new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2
  );
}

/** Field errors of an amount with more decimals than its currency has. */
export function checkMinorUnit(amount: number, currency: string, path: string): FieldError[] {
  const decimals = currencyDecimals(currency);
  if (Number(amount.toFixed(decimals)) === amount) return [];
  const unit = decimals === 0 ? 'no decimals' : `at most ${decimals} decimal${decimals === 1 ? '' : 's'}`;
  return [{ path, message: `must have ${unit} in ${currency}` }];
}

function begin(lead: Lead): Qualified {
  return { lead, entries: [], stageChanges: [] };
}

// ---------------------------------------------------------------------------------------------
// Sales decisions on MQLs

/** Sales accepts an MQL: it becomes an SQL. */
export function acceptMql(
  lead: Lead,
  input: { note: string | null },
  by: string,
  now: number,
  newId: () => string,
): Qualified {
  if (lead.stage !== 'mql') refuse(`Sales accepts MQLs only; this lead is at stage "${lead.stage}".`);
  const out = begin(lead);
  moveStage(out, 'sql', now, 'sales', { decision: 'accepted', note: input.note, by }, newId);
  return out;
}

/**
 * Sales rejects an MQL with a reason code: back to `lead` to be nurtured (the default), or
 * `disqualified` for good.
 */
export function rejectMql(
  lead: Lead,
  input: { reason: RejectionReason; note: string | null; disqualify: boolean },
  by: string,
  now: number,
  newId: () => string,
): Qualified {
  if (lead.stage !== 'mql') refuse(`Sales rejects MQLs only; this lead is at stage "${lead.stage}".`);
  const out = begin(lead);
  moveStage(
    out,
    input.disqualify ? 'disqualified' : 'lead',
    now,
    'sales',
    { decision: 'rejected', reason: input.reason, note: input.note, by },
    newId,
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// Flags

/** What a person says about a lead's flags; an absent flag stays as it is. */
export type FlagInput = Partial<Record<LeadFlag, boolean>> & { reason?: string | null };

/**
 * A person sets or clears the `pql` and `serviceQualified` flags (rules only ever set them).
 * Clearing records when, so that the activities behind the flag, replayed by a rescore or
 * arriving late, do not set it again (`flagsClearedAt`); a later activity does. A flag already
 * as asked is left alone: the same request twice changes nothing.
 */
export function setFlags(
  lead: Lead,
  input: FlagInput,
  by: string,
  now: number,
  newId: () => string,
): Qualified {
  const out = begin(lead);
  for (const flag of leadFlags) {
    const wanted = input[flag];
    if (wanted === undefined || wanted === lead.scoring[flag]) continue;
    out.lead = {
      ...out.lead,
      scoring: { ...out.lead.scoring, [flag]: wanted },
      ...(wanted ? {} : { flagsClearedAt: { ...out.lead.flagsClearedAt, [flag]: now } }),
    };
    out.entries.push({
      id: newId(),
      leadId: lead.id,
      type: wanted ? 'flag_set' : 'flag_cleared',
      occurredAt: now,
      properties: { flag, by, ...(input.reason ? { reason: input.reason } : {}) },
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Recycling

/**
 * Sends a lead back to nurture (`lead` by default, or `subscriber`): the one way backwards.
 * Allowed from any stage after the target and from `disqualified` (a second chance). Refused
 * for a customer (the deal is won: a churned or upsold customer is a new story, not a
 * recycle) and for a lead with an open opportunity (close it as lost instead, which recycles).
 */
export function recycleLead(
  lead: Lead,
  input: { reason: string; stage: RecycleStage },
  by: string,
  now: number,
  newId: () => string,
): Qualified {
  if (lead.stage === 'customer') refuse('A customer cannot be recycled.');
  if (lead.opportunity?.status === 'open')
    refuse(
      'The lead has an open opportunity: close it as lost (POST …/opportunity/lost), which recycles it.',
    );
  if (lead.stage !== 'disqualified' && stages.indexOf(input.stage) >= stages.indexOf(lead.stage))
    refuse(
      `Recycling goes backwards: a lead at stage "${lead.stage}" cannot be recycled to "${input.stage}".`,
    );
  const out = begin(lead);
  moveStage(out, input.stage, now, 'recycle', { reason: input.reason, by }, newId);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Opportunities

/** What a person gives about a deal; `null` clears a field, absent leaves it as it is. */
export interface OpportunityInput {
  /** In the currency's major unit (1200.50). */
  amount?: number | null;
  /** ISO 4217, upper case (EUR). */
  currency?: string | null;
  /** YYYY-MM-DD. */
  expectedCloseDate?: string | null;
}

/** The largest amount or value accepted: beyond it doubles stop counting cents. */
export const MAX_AMOUNT = 1e13;

const currencies = new Set(Intl.supportedValuesOf('currency'));

function checkMoney(value: number | null | undefined, path: string): FieldError[] {
  if (value === undefined || value === null) return [];
  if (!Number.isFinite(value) || value < 0) return [{ path, message: 'must be 0 or more' }];
  if (value > MAX_AMOUNT) return [{ path, message: `must be at most ${MAX_AMOUNT}` }];
  return [];
}

/** A calendar date written YYYY-MM-DD, and nothing after it, that exists (no 2026-02-30). */
export function isDateOnly(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && isCalendarDate(value);
}

/** Field errors of an opportunity's values (the shape is the route schema's business). */
export function checkOpportunityInput(input: OpportunityInput): FieldError[] {
  const errors = checkMoney(input.amount, '/amount');
  errors.push(...checkCurrency(input.currency));
  const date = input.expectedCloseDate;
  if (typeof date === 'string' && !isDateOnly(date))
    errors.push({ path: '/expectedCloseDate', message: 'must be a date written YYYY-MM-DD' });
  return errors;
}

/** What closing a deal as won may say: the value won, and its currency if the deal has none yet. */
export interface WonInput {
  value: number | null;
  currency: string | null;
}

/** Field errors of a won deal's value and currency (checked against the deal in `winOpportunity`). */
export function checkWonInput(input: WonInput): FieldError[] {
  return [...checkMoney(input.value, '/value'), ...checkCurrency(input.currency)];
}

/** Field errors of a currency given (absent or null: none). */
function checkCurrency(currency: string | null | undefined): FieldError[] {
  if (typeof currency !== 'string' || (/^[A-Z]{3}$/.test(currency) && currencies.has(currency))) return [];
  return [{ path: '/currency', message: 'must be an ISO 4217 currency code in upper case, e.g. EUR' }];
}

const opportunityFields = ['amount', 'currency', 'expectedCloseDate'] as const;

function openOpportunityOf(lead: Lead): Opportunity {
  if (lead.opportunity?.status !== 'open')
    refuse('The lead has no open opportunity: open one with POST …/opportunity.');
  return lead.opportunity;
}

/**
 * Opens a deal: the lead moves forward to `opportunity` from any stage before it (a referral may
 * skip MQL and SQL). A lead already at `opportunity` without a deal (captured so) gets one. A
 * new deal replaces a closed one on the lead; the timeline keeps the old one's entries.
 */
export function openOpportunity(
  lead: Lead,
  input: OpportunityInput,
  by: string,
  now: number,
  newId: () => string,
): Qualified {
  if (lead.opportunity?.status === 'open')
    refuse('The lead already has an open opportunity: change it with PATCH …/opportunity.');
  if (lead.stage === 'customer' || lead.stage === 'disqualified')
    refuse(`An opportunity cannot be opened for a lead at stage "${lead.stage}".`);
  const opportunity: Opportunity = {
    status: 'open',
    amount: input.amount ?? null,
    currency: input.currency ?? null,
    expectedCloseDate: input.expectedCloseDate ?? null,
    openedAt: now,
    closedAt: null,
    value: null,
    lostReason: null,
  };
  checkPriced(opportunity, 'amount');
  const out: Qualified = { lead: { ...lead, opportunity }, entries: [], stageChanges: [] };
  out.entries.push(opportunityEntry(lead, 'opened', opportunity, { by }, now, newId));
  moveStage(out, 'opportunity', now, 'opportunity', { action: 'opened', by }, newId);
  return out;
}

/** Changes the open deal's amount, currency or expected close date; nothing changed, nothing written. */
export function editOpportunity(
  lead: Lead,
  input: OpportunityInput,
  by: string,
  now: number,
  newId: () => string,
): Qualified {
  const current = openOpportunityOf(lead);
  const next: Opportunity = { ...current };
  const changed: string[] = [];
  for (const field of opportunityFields) {
    const value = input[field];
    if (value === undefined || value === current[field]) continue;
    (next as unknown as Record<string, unknown>)[field] = value;
    changed.push(field);
  }
  if (changed.length === 0) return begin(lead);
  checkPriced(next, changed.includes('amount') ? 'amount' : 'currency');
  return {
    lead: { ...lead, opportunity: next },
    entries: [opportunityEntry(lead, 'edited', next, { changed, by }, now, newId)],
    stageChanges: [],
  };
}

/** The deal is won: the lead becomes a customer; `value` defaults to the deal's amount. */
export function winOpportunity(
  lead: Lead,
  input: WonInput,
  by: string,
  now: number,
  newId: () => string,
): Qualified {
  const current = openOpportunityOf(lead);
  // A value means nothing without its currency, as an amount does (checkPriced): it is the
  // deal's, or given here for a deal opened without one.
  if (input.currency !== null && current.currency !== null && input.currency !== current.currency)
    throw validationError([
      {
        path: '/currency',
        message: `must be the deal's currency, ${current.currency} (change it with PATCH …/opportunity)`,
      },
    ]);
  const currency = current.currency ?? input.currency;
  const value = input.value ?? current.amount;
  if (value !== null) {
    if (currency === null)
      throw validationError([{ path: '/currency', message: 'is required with a value: the deal has none' }]);
    const errors = checkMinorUnit(value, currency, '/value');
    if (errors.length > 0) throw validationError(errors);
  }
  const opportunity: Opportunity = { ...current, currency, status: 'won', closedAt: now, value };
  const out: Qualified = { lead: { ...lead, opportunity }, entries: [], stageChanges: [] };
  out.entries.push(opportunityEntry(lead, 'won', opportunity, { by }, now, newId));
  moveStage(
    out,
    'customer',
    now,
    'opportunity',
    { action: 'won', value: opportunity.value, currency: opportunity.currency, by },
    newId,
  );
  return out;
}

/**
 * The deal is lost, with a reason: the lead goes back to `lead` to be nurtured. (A lead a
 * capture already made a customer keeps that stage; only the deal closes.)
 */
export function loseOpportunity(
  lead: Lead,
  input: { reason: string },
  by: string,
  now: number,
  newId: () => string,
): Qualified {
  const current = openOpportunityOf(lead);
  const opportunity: Opportunity = { ...current, status: 'lost', closedAt: now, lostReason: input.reason };
  const out: Qualified = { lead: { ...lead, opportunity }, entries: [], stageChanges: [] };
  out.entries.push(opportunityEntry(lead, 'lost', opportunity, { by }, now, newId));
  if (lead.stage === 'opportunity')
    moveStage(out, 'lead', now, 'opportunity', { action: 'lost', reason: input.reason, by }, newId);
  return out;
}

// ---------------------------------------------------------------------------------------------
// BANT / CHAMP

/**
 * Records answers to the workspace's framework; when its rule then holds, the lead becomes an
 * SQL in the same change (forward only: from subscriber, lead or MQL).
 */
export function answerQualification(
  ctx: ScoringContext,
  lead: Lead,
  update: QualificationUpdate,
  by: string,
  now: number,
  newId: () => string,
): Qualified {
  const framework = ctx.qualification.framework;
  const { qualification, changed } = applyQualificationUpdate(lead.qualification, framework, update, by, now);
  const out = begin(lead);
  if (changed.length > 0) {
    out.lead = { ...lead, qualification };
    const summary = summariseQualification(framework, ctx.qualification, qualification.criteria);
    out.entries.push({
      id: newId(),
      leadId: lead.id,
      type: 'qualification_updated',
      occurredAt: now,
      properties: {
        framework,
        changed: Object.fromEntries(
          changed.map((name) => {
            const c = qualification.criteria[name]!;
            return [name, { status: c.status, value: c.value, note: c.note }];
          }),
        ),
        confirmed: summary.confirmed,
        qualified: summary.qualified,
        by,
      },
    });
  }
  // On a lead a person moved back, only an answer that confirms a criterion now (a new "yes",
  // or a confirmed one given a new value or note) qualifies it again: a "no" or an "unknown"
  // is no reason to move it forward (see settleStage).
  const confirmed = changed.some((name) => qualification.criteria[name]?.status === 'yes');
  if (confirmed || !lead.scoring.stageHold) qualifyBySql(ctx, out, now, newId, by);
  return out;
}
