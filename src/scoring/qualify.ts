import type { Lead, LeadScoring, TimelineEntry } from '../leads/model.ts';
import { type Stage, stages } from '../lifecycle/model.ts';
import { opportunityEntry } from '../lifecycle/opportunity-entry.ts';
import type { QualificationRule } from '../lifecycle/qualification.ts';
import { isQualified, qualificationUnder } from '../lifecycle/qualification.ts';
import {
  type LeadFlag,
  newFlags,
  nextStage,
  type RuleCause,
  type StageRules,
} from '../lifecycle/stage-rules.ts';
import { noteHighIntent, type TemperatureConfig, temperatureAt } from '../lifecycle/temperature.ts';
import { DAY_MS, halfLifeMs, valueAt } from './decay.ts';
import {
  computeFit,
  computeProfileNegatives,
  gradeFor,
  newestAward,
  rebaseState,
  replay,
  roundPoints,
  type Score,
  type ScoreState,
} from './engine.ts';
import { type Activity, MAX_SCORE, MIN_SCORE, type ScoringModel } from './model.ts';

/**
 * The write path of scoring and qualification, pure: given a workspace's rules, a lead and
 * what just happened, the lead's new scoring fields, stage and flags, the timeline entries
 * that record the changes, and the stage-history rows. The services call this inside the
 * transaction of the write that caused it (a capture, an event), so a score never lags.
 */

/** Everything of a workspace that scoring and qualification decide by. */
export interface ScoringContext {
  /** Version of the active scoring model (0: the built-in default, never saved). */
  version: number;
  model: ScoringModel;
  stageRules: StageRules;
  temperature: TemperatureConfig;
  qualification: QualificationRule;
}

/** Why a stage changed, as the stage history keeps it. */
export type StageCauseKind =
  | 'rule'
  | 'capture'
  | 'api'
  | 'sales'
  | 'qualification'
  | 'opportunity'
  | 'recycle'
  /** Two leads merged: the survivor takes the later stage of the two. */
  | 'merge';

export interface StageChange {
  id: string;
  leadId: string;
  from: Stage | null;
  to: Stage;
  at: number;
  causeKind: StageCauseKind;
  cause: Record<string, unknown>;
}

export interface Qualified {
  lead: Lead;
  entries: TimelineEntry[];
  stageChanges: StageChange[];
}

/** The lead's exact score at `now`, from its row alone (no per-rule state needed). */
export function leadScore(model: ScoringModel, scoring: LeadScoring, now: number): Score {
  const behaviourScore = roundPoints(valueAt(scoring.behaviourK, now, halfLifeMs(scoring.halfLifeDays)));
  const negativeScore = roundPoints(scoring.profileNegative + scoring.activityNegative);
  const total = scoring.fitScore + behaviourScore + negativeScore;
  return {
    score: roundPoints(Math.min(MAX_SCORE, Math.max(MIN_SCORE, total))),
    fitScore: scoring.fitScore,
    behaviourScore,
    negativeScore,
    ...gradeFor(model.grades, scoring.fitScore + scoring.profileNegative, behaviourScore),
  };
}

/** Records a stage move on the lead, the history and the timeline. */
export function moveStage(
  out: Qualified,
  to: Stage,
  at: number,
  causeKind: StageCauseKind,
  cause: Record<string, unknown>,
  newId: () => string,
): void {
  const from = out.lead.stage;
  if (to === from) return;
  // A person moving a lead back holds score rules off it until a new threshold crossing
  // (see LeadScoring.stageHold); any forward move releases the hold.
  const backwards = to === 'disqualified' || stages.indexOf(to) < stages.indexOf(from);
  const stageHold = backwards && causeKind !== 'rule' && causeKind !== 'capture';
  out.lead = {
    ...out.lead,
    stage: to,
    stageChangedAt: at,
    scoring: { ...out.lead.scoring, stageHold },
  };
  out.stageChanges.push({ id: newId(), leadId: out.lead.id, from, to, at, causeKind, cause });
  out.entries.push({
    id: newId(),
    leadId: out.lead.id,
    type: 'stage_changed',
    occurredAt: at,
    properties: { from, to, cause: causeKind, ...cause },
  });
  // A lead that became a customer another way (a stage rule on an order, say) bought: its open
  // deal is won, at its amount, rather than left open to be "lost" by a customer later.
  const deal = out.lead.opportunity;
  if (to === 'customer' && deal?.status === 'open') {
    const won = { ...deal, status: 'won' as const, closedAt: at, value: deal.amount };
    out.lead = { ...out.lead, opportunity: won };
    out.entries.push(opportunityEntry(out.lead, 'won', won, { cause: causeKind }, at, newId));
  }
}

function ruleCause(cause: RuleCause): Record<string, unknown> {
  return { ruleId: cause.ruleId, reason: cause.reason, detail: cause.detail };
}

/** Temperature from the lead's scoring fields at `now`, with a timeline entry when it changed. */
function settleTemperature(ctx: ScoringContext, out: Qualified, now: number): void {
  const scoring = out.lead.scoring;
  const reading = temperatureAt(
    ctx.temperature,
    { k: scoring.behaviourK, halfLifeDays: scoring.halfLifeDays, lastHighIntentAt: scoring.lastHighIntentAt },
    now,
  );
  if (reading.temperature !== scoring.temperature) {
    out.entries.push({
      id: '',
      leadId: out.lead.id,
      type: 'temperature_changed',
      occurredAt: now,
      properties: { from: scoring.temperature, to: reading.temperature },
    });
  }
  out.lead = {
    ...out.lead,
    scoring: {
      ...out.lead.scoring,
      temperature: reading.temperature,
      temperatureChangesAt: reading.changesAt,
    },
  };
}

/**
 * Score-based stage moves and the qualification rule (SQL when the framework's criteria are met).
 * A threshold counts as reached when the score reaches it now or reached it at `reachedAt` (when
 * behaviour points were last awarded) within the last `REACHED_WITHIN_MS`: an event stamped by its
 * sender a little while ago (a CRM's sync, a tracker's queue) brought 35 points to 50 then, even
 * though they have decayed a little since. Older events (a backfill of last year's history) are
 * judged by the score now, as a rescore is, or they would make stale leads MQLs today.
 */
function settleStage(
  ctx: ScoringContext,
  out: Qualified,
  previous: LeadScoring,
  now: number,
  newId: () => string,
  reachedAt: number | null = null,
): void {
  const recent = reachedAt !== null && reachedAt < now && now - reachedAt <= REACHED_WITHIN_MS;
  const times = recent ? [now, reachedAt] : [now];
  const score = highestScore(ctx, out.lead.scoring, times);
  const move = nextStage(ctx.stageRules, out.lead.stage, score, undefined, out.lead);
  if (move && !heldBack(ctx, out, previous, move, times))
    moveStage(out, move.stage, now, 'rule', ruleCause(move.cause), newId);
  // A person moved the lead back (a recycle, a lost deal): answers it already had do not undo
  // that on its next event or capture. New answers can (answerQualification).
  if (!out.lead.scoring.stageHold) qualifyBySql(ctx, out, now, newId);
}

/**
 * Whether a score-based move is held back: the lead is on hold (a person moved it back) and
 * the score already reached that stage before this change, so nothing crossed a threshold.
 */
function heldBack(
  ctx: ScoringContext,
  out: Qualified,
  previous: LeadScoring,
  move: { stage: Stage; cause: RuleCause },
  times: readonly number[],
): boolean {
  if (!out.lead.scoring.stageHold || move.cause.reason !== 'score') return false;
  const before = highestScore(ctx, previous, times);
  const earlier = nextStage(ctx.stageRules, out.lead.stage, before, undefined, out.lead);
  return earlier !== null && stages.indexOf(earlier.stage) >= stages.indexOf(move.stage);
}

/** How long ago an activity may have happened for its score to count as reached (settleStage). (1 day) */
export const REACHED_WITHIN_MS = DAY_MS;

/** The highest of the lead's scores at these moments. */
function highestScore(ctx: ScoringContext, scoring: LeadScoring, times: readonly number[]): number {
  let highest = Number.NEGATIVE_INFINITY;
  for (const at of times) highest = Math.max(highest, leadScore(ctx.model, scoring, at).score);
  return highest;
}

/**
 * A lead whose BANT/CHAMP criteria meet the workspace rule is sales-qualified (forward only).
 * `by`: who gave the answers that made it so (absent when a settings change or rescore did).
 */
export function qualifyBySql(
  ctx: ScoringContext,
  out: Qualified,
  now: number,
  newId: () => string,
  by?: string,
): void {
  if (!out.lead.qualification) return;
  if (!['subscriber', 'lead', 'mql'].includes(out.lead.stage)) return;
  const { framework } = ctx.qualification;
  const q = qualificationUnder(out.lead.qualification, framework);
  if (isQualified(framework, ctx.qualification, q.criteria))
    moveStage(out, 'sql', now, 'qualification', { framework, ...(by ? { by } : {}) }, newId);
}

function withIds(out: Qualified, newId: () => string): Qualified {
  for (const entry of out.entries) if (entry.id === '') entry.id = newId();
  return out;
}

/**
 * After a capture or an edit: fit and profile negatives follow the lead's current fields;
 * score-based stage rules and the temperature are settled at `now`.
 */
export function qualifyProfile(ctx: ScoringContext, lead: Lead, now: number, newId: () => string): Qualified {
  const out: Qualified = { lead: withProfile(ctx, lead), entries: [], stageChanges: [] };
  settleStage(ctx, out, lead.scoring, now, newId);
  settleTemperature(ctx, out, now);
  return withIds(out, newId);
}

/** The lead with fit and profile negatives recomputed from its current fields (nothing settled). */
export function withProfile(ctx: ScoringContext, lead: Lead): Lead {
  const fitScore = roundPoints(computeFit(ctx.model, lead).points);
  const profileNegative = roundPoints(computeProfileNegatives(ctx.model, lead).points);
  return { ...lead, scoring: { ...lead.scoring, modelVersion: ctx.version, fitScore, profileNegative } };
}

/**
 * After new activities of one lead (in any order; applied oldest first): behaviour and
 * activity negatives, high intent, flags, stage moves by activity and by score, temperature.
 * `state` is the lead's per-rule state (null: none yet). `changed` says whether the state
 * must be written back.
 */
export function qualifyActivities(
  ctx: ScoringContext,
  lead: Lead,
  state: ScoreState | null,
  activities: readonly Activity[],
  now: number,
  newId: () => string,
  /** The scoring before this change, for stage holds (default: `lead.scoring`). */
  previous: LeadScoring = lead.scoring,
  /**
   * Whether score thresholds also count as reached when behaviour points were last awarded
   * (settleStage): yes for activities just received; a rescore for a model change judges by
   * the score now.
   */
  atNewest = true,
): Qualified & { state: ScoreState | null; stateChanged: boolean } {
  const present = notAfter(activities, now);
  const ordered = inTimeOrder(present) ? present : [...present].sort(byTime);
  const rebased =
    state && state.halfLifeDays !== ctx.model.halfLifeDays
      ? rebaseState(state, ctx.model.halfLifeDays, now)
      : state;
  let stateChanged = rebased !== state;
  const scoring = replay(ctx.model, rebased, now);
  let current = rebased;
  const out: Qualified = { lead, entries: [], stageChanges: [] };
  let lastHighIntentAt = lead.scoring.lastHighIntentAt;
  let flags = { pql: lead.scoring.pql, serviceQualified: lead.scoring.serviceQualified };
  const { moveTypes, flagTypes } = triggerTypes(ctx);
  // The lead object is rebuilt only when a rule needs to look at it (a replay of thousands of
  // activities would otherwise copy it thousands of times).
  const sync = () => {
    current = scoring.state();
    out.lead = {
      ...out.lead,
      scoring: {
        ...out.lead.scoring,
        modelVersion: ctx.version,
        behaviourK: current?.k ?? null,
        halfLifeDays: current?.halfLifeDays ?? ctx.model.halfLifeDays,
        activityNegative: roundPoints(current?.negative ?? 0),
        lastHighIntentAt,
        ...flags,
      },
    };
  };

  for (const activity of ordered) {
    if (scoring.apply(activity)) stateChanged = true;
    lastHighIntentAt = noteHighIntent(ctx.temperature, lastHighIntentAt, activity);
    if (flagTypes.has(activity.type)) {
      for (const { flag, cause } of newFlags(ctx.stageRules, flags, activity, out.lead)) {
        if (clearedAfter(lead, flag, activity)) continue;
        flags = { ...flags, [flag]: true };
        out.entries.push({
          id: '',
          leadId: lead.id,
          type: 'flag_set',
          occurredAt: now,
          properties: { flag, ...ruleCause(cause) },
        });
      }
    }
    if (moveTypes.has(activity.type) && !undoneByPerson(out.lead, activity)) {
      // Moves by activity are judged at the activity; moves by score once, after all of them.
      sync();
      const score = leadScore(ctx.model, out.lead.scoring, now).score;
      let move = nextStage(ctx.stageRules, out.lead.stage, score, activity, out.lead);
      // On hold, the score does not count; activity rules alone may still move the lead.
      if (move && heldBack(ctx, out, previous, move, [now]))
        move = nextStage(ctx.stageRules, out.lead.stage, Number.NEGATIVE_INFINITY, activity, out.lead);
      if (move) moveStage(out, move.stage, now, 'rule', ruleCause(move.cause), newId);
    }
  }
  sync();
  settleStage(ctx, out, previous, now, newId, atNewest ? newestAward(current) : null);
  settleTemperature(ctx, out, now);
  return { ...withIds(out, newId), state: current, stateChanged };
}

/**
 * Whether a person moved the lead back after this activity (a recycle, a sales rejection): the
 * move the activity made then was undone on purpose, so a rescore replaying it, or the same
 * activity arriving late, must not make it again. Later activities still move the lead.
 */
function undoneByPerson(lead: Lead, activity: Activity): boolean {
  return lead.scoring.stageHold && activity.occurredAt < lead.stageChangedAt;
}

/**
 * Whether a person cleared the flag at or after this activity: what the flag meant then was
 * judged and set aside, so a rescore replaying the activity, or the activity arriving late,
 * does not set it again. Later activities still do.
 */
function clearedAfter(lead: Lead, flag: LeadFlag, activity: Activity): boolean {
  const clearedAt = lead.flagsClearedAt[flag];
  return clearedAt !== null && activity.occurredAt <= clearedAt;
}

/**
 * The activities with any time after `now` moved to `now`: events may be stamped up to a day
 * ahead (a client's clock), and points awarded in the future would be worth more than their
 * value now, and more than their rule's cap.
 */
function notAfter(activities: readonly Activity[], now: number): readonly Activity[] {
  if (!activities.some((a) => a.occurredAt > now)) return activities;
  return activities.map((a) => (a.occurredAt > now ? { ...a, occurredAt: now } : a));
}

/** Oldest first; at the same moment, by id (as the history index orders them). */
function byTime(a: Activity, b: Activity): number {
  return a.occurredAt - b.occurredAt || (a.id < b.id ? -1 : 1);
}

/**
 * Whether the activities are already oldest first: a rescore's histories come so from the
 * index, and checking costs less than sorting a copy (probe, 8.3M activities in 1M lists:
 * 51-61 ms against 177-240 ms).
 */
function inTimeOrder(activities: readonly Activity[]): boolean {
  for (let i = 1; i < activities.length; i++)
    if (byTime(activities[i - 1]!, activities[i]!) > 0) return false;
  return true;
}

/**
 * A lead qualified from its whole history alone (a rescore, the exact result for any model):
 * behaviour cleared and replayed from `history`, fit and profile negatives recomputed, stage
 * and temperature settled at `now`. Stage holds compare with the lead's scoring as it was.
 * Score thresholds are judged at `now` only (a model change must not make a lead an MQL for a
 * score it had months ago), unless `atNewest` (history the lead just received: a late event, a
 * merge, an identified visitor): then also when points were last awarded, as for activities
 * received in order.
 */
export function rescoreLead(
  ctx: ScoringContext,
  lead: Lead,
  history: readonly Activity[],
  now: number,
  newId: () => string,
  atNewest = false,
): Qualified & { state: ScoreState | null; stateChanged: boolean } {
  const cleared: Lead = {
    ...lead,
    scoring: { ...lead.scoring, behaviourK: null, activityNegative: 0, lastHighIntentAt: null },
  };
  return qualifyActivities(ctx, withProfile(ctx, cleared), null, history, now, newId, lead.scoring, atNewest);
}

const triggerTypeCache = new WeakMap<ScoringContext, { moveTypes: Set<string>; flagTypes: Set<string> }>();

/** Activity types named by stage moves and by flag rules: only those need the lead per activity. */
function triggerTypes(ctx: ScoringContext): { moveTypes: Set<string>; flagTypes: Set<string> } {
  let types = triggerTypeCache.get(ctx);
  if (!types) {
    types = {
      moveTypes: new Set(ctx.stageRules.moves.flatMap((m) => (m.activities ?? []).map((a) => a.type))),
      flagTypes: new Set(ctx.stageRules.flags.flatMap((f) => f.activities.map((a) => a.type))),
    };
    triggerTypeCache.set(ctx, types);
  }
  return types;
}
