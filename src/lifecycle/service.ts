import type { Transaction } from 'kysely';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { DB } from '../db/schema.ts';
import { validationError } from '../errors.ts';
import type { Lead } from '../leads/model.ts';
import type { LeadService, WorkspaceContext } from '../leads/service.ts';
import type { Score } from '../scoring/engine.ts';
import { type Preset, presetNamed, presets } from '../scoring/presets.ts';
import { leadScore, type Qualified, type ScoringContext, type StageChange } from '../scoring/qualify.ts';
import type { ScoringService } from '../scoring/service.ts';
import type { LifecycleSettings, Workspace } from '../workspaces/model.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import { stageHistory } from './history.ts';
import * as metricsStore from './metrics-store.ts';
import { type Stage, stages } from './model.ts';
import {
  type Criterion,
  type Framework,
  parseQualificationUpdate,
  type QualificationRule,
  type QualificationSummary,
  qualificationUnder,
  summariseQualification,
} from './qualification.ts';
import { lifecycleSettingsOf, parseLifecycleSettings } from './settings.ts';
import { leadFlags } from './stage-rules.ts';
import {
  acceptMql,
  answerQualification,
  checkOpportunityInput,
  checkReason,
  checkWonInput,
  editOpportunity,
  type FlagInput,
  loseOpportunity,
  type OpportunityInput,
  openOpportunity,
  type RecycleStage,
  type RejectionReason,
  recycleLead,
  rejectMql,
  setFlags,
  type WonInput,
  winOpportunity,
} from './transitions.ts';
import {
  acceptanceRate,
  DAY_MS,
  days,
  median,
  type StagePeriod,
  stagePeriods,
  timeInStages,
} from './velocity.ts';

/**
 * Lifecycle use cases: the moves people make (sales decisions, recycling, opportunities,
 * BANT/CHAMP answers), a lead's stage history, the workspace's lifecycle metrics, settings and
 * presets. Changes to a lead run in the caller's transaction (`…In`: the route opens it under
 * the request's Idempotency-Key, so a retried accept is answered, not refused), through the
 * lead service's `updateIn`, which writes the lead, its timeline and its stage history together.
 */

export interface LifecycleServiceDeps {
  database: Database;
  leads: LeadService;
  scoring: ScoringService;
  workspaces: WorkspaceService;
  clock: () => number;
}

export type LifecycleService = ReturnType<typeof createLifecycleService>;

/** A lead with its score at the moment of the change (what the API answers with). */
export interface ScoredLead {
  lead: Lead;
  score: Score;
}

/** A lead's BANT/CHAMP qualification as the API shows it: always the workspace's framework. */
export interface QualificationView {
  framework: Framework;
  rule: QualificationRule;
  criteria: Record<string, Criterion>;
  summary: QualificationSummary;
  /** The rule holds: the lead is a prospect. */
  prospect: boolean;
}

export interface StageHistoryView {
  lead: Lead;
  changes: StageChange[];
  periods: StagePeriod[];
  totals: Array<{ stage: Stage; durationMs: number; stays: number }>;
  at: number;
}

export interface LifecycleMetrics {
  from: number;
  to: number;
  salesAccepted: number;
  salesRejected: number;
  /** Accepted ÷ (accepted + rejected); null when sales decided nothing in the period. */
  acceptanceRate: number | null;
  rejectionReasons: Record<string, number>;
  /** Per stage left in the period: how many moves out of it, and the average stay before. */
  timeInStage: Array<{ stage: Stage; exits: number; averageDays: number }>;
  /** Leads that became customers in the period, and how long since they were created. */
  salesCycle: { customers: number; averageDays: number | null; medianDays: number | null };
}

/** The period metrics cover when none is given: the days up to now. (30) */
export const DEFAULT_METRICS_DAYS = 30;
/** The longest period metrics are computed over, in days: each call reads its whole history. (1830) */
export const MAX_METRICS_DAYS = 366 * 5;

/** The lead's answers under `rule`'s framework (those kept from before a switch count again). */
function qualificationView(rule: QualificationRule, lead: Lead): QualificationView {
  const framework = rule.framework;
  const qualification = qualificationUnder(lead.qualification, framework);
  const summary = summariseQualification(framework, rule, qualification.criteria);
  return { framework, rule, criteria: qualification.criteria, summary, prospect: summary.qualified };
}

export function createLifecycleService({
  database,
  leads,
  scoring,
  workspaces,
  clock,
}: LifecycleServiceDeps) {
  /** Applies a pure move to a lead in `trx`; the lead comes back scored at this moment. */
  async function change(
    trx: Transaction<DB>,
    workspace: WorkspaceContext,
    id: string,
    move: (lead: Lead, now: number, ctx: ScoringContext) => Qualified,
  ): Promise<ScoredLead> {
    const lead = await leads.updateIn(trx, workspace, id, move);
    // The model from `trx` (cached by updateIn's read): a read through the pool could wait
    // for this very transaction on SQLite's single connection.
    const { model } = await scoring.activeModelIn(trx, workspace.id);
    return { lead, score: leadScore(model, lead.scoring, clock()) };
  }

  return {
    /** Sales accepts an MQL (→ SQL). STAGE_TRANSITION_INVALID for any other stage. */
    acceptIn: (
      trx: Transaction<DB>,
      workspace: WorkspaceContext,
      id: string,
      note: string | null,
      by: string,
    ) => change(trx, workspace, id, (lead, now) => acceptMql(lead, { note }, by, now, newId)),

    /** Sales rejects an MQL with a reason code: back to `lead`, or `disqualified`. */
    rejectIn: (
      trx: Transaction<DB>,
      workspace: WorkspaceContext,
      id: string,
      input: { reason: RejectionReason; note: string | null; disqualify: boolean },
      by: string,
    ) => change(trx, workspace, id, (lead, now) => rejectMql(lead, input, by, now, newId)),

    /**
     * A person sets or clears the `pql` and `serviceQualified` flags. A reason, when given,
     * must say something.
     */
    setFlagsIn(
      trx: Transaction<DB>,
      workspace: WorkspaceContext,
      id: string,
      input: FlagInput,
      by: string,
    ): Promise<ScoredLead> {
      const errors = input.reason == null ? [] : checkReason(input.reason, '/reason');
      if (input.pql === undefined && input.serviceQualified === undefined)
        errors.push(
          ...leadFlags.map((flag) => ({ path: `/${flag}`, message: 'give pql, serviceQualified or both' })),
        );
      if (errors.length > 0) throw validationError(errors);
      const reason = input.reason?.trim() ?? null;
      return change(trx, workspace, id, (lead, now) => setFlags(lead, { ...input, reason }, by, now, newId));
    },

    /** Back to nurture with a reason (the only way backwards). */
    recycleIn(
      trx: Transaction<DB>,
      workspace: WorkspaceContext,
      id: string,
      input: { reason: string; stage: RecycleStage },
      by: string,
    ): Promise<ScoredLead> {
      const errors = checkReason(input.reason, '/reason');
      if (errors.length > 0) throw validationError(errors);
      const reason = input.reason.trim();
      return change(trx, workspace, id, (lead, now) =>
        recycleLead(lead, { ...input, reason }, by, now, newId),
      );
    },

    /** Opens a deal (→ opportunity). Bad values are VALIDATION_FAILED before anything is read. */
    openOpportunityIn(
      trx: Transaction<DB>,
      workspace: WorkspaceContext,
      id: string,
      input: OpportunityInput,
      by: string,
    ): Promise<ScoredLead> {
      const errors = checkOpportunityInput(input);
      if (errors.length > 0) throw validationError(errors);
      return change(trx, workspace, id, (lead, now) => openOpportunity(lead, input, by, now, newId));
    },

    /** Changes the open deal's amount, currency or expected close date. */
    editOpportunityIn(
      trx: Transaction<DB>,
      workspace: WorkspaceContext,
      id: string,
      input: OpportunityInput,
      by: string,
    ): Promise<ScoredLead> {
      const errors = checkOpportunityInput(input);
      if (errors.length > 0) throw validationError(errors);
      return change(trx, workspace, id, (lead, now) => editOpportunity(lead, input, by, now, newId));
    },

    /** Closes the open deal as won (→ customer). */
    winOpportunityIn(
      trx: Transaction<DB>,
      workspace: WorkspaceContext,
      id: string,
      input: WonInput,
      by: string,
    ): Promise<ScoredLead> {
      const errors = checkWonInput(input);
      if (errors.length > 0) throw validationError(errors);
      return change(trx, workspace, id, (lead, now) => winOpportunity(lead, input, by, now, newId));
    },

    /** Closes the open deal as lost, with a reason (the lead is recycled to `lead`). */
    loseOpportunityIn(
      trx: Transaction<DB>,
      workspace: WorkspaceContext,
      id: string,
      reason: string,
      by: string,
    ): Promise<ScoredLead> {
      const errors = checkReason(reason, '/reason');
      if (errors.length > 0) throw validationError(errors);
      return change(trx, workspace, id, (lead, now) =>
        loseOpportunity(lead, { reason: reason.trim() }, by, now, newId),
      );
    },

    /** A lead's qualification under the workspace's framework and rule. */
    async qualification(workspace: WorkspaceContext, id: string): Promise<QualificationView> {
      const lead = await leads.get(workspace.id, id);
      return qualificationView(lifecycleSettingsOf(workspace.settings).qualification, lead);
    },

    /**
     * Records answers (`raw`: a PUT body, see qualification.ts) and, when the rule then holds,
     * makes the lead an SQL in the same transaction. Answers of another framework than the
     * workspace's, or unknown criteria, are VALIDATION_FAILED.
     */
    async updateQualificationIn(
      trx: Transaction<DB>,
      workspace: WorkspaceContext,
      id: string,
      raw: unknown,
      by: string,
    ): Promise<ScoredLead & { qualification: QualificationView }> {
      const rule = lifecycleSettingsOf(workspace.settings).qualification;
      const update = parseQualificationUpdate(raw, rule.framework);
      if (!update.ok) throw validationError(update.errors);
      const scored = await change(trx, workspace, id, (lead, now, ctx) =>
        answerQualification(ctx, lead, update.value, by, now, newId),
      );
      return { ...scored, qualification: qualificationView(rule, scored.lead) };
    },

    /** A lead's stage changes (oldest first) and its stays in each stage up to now. */
    async stages(workspaceId: string, id: string): Promise<StageHistoryView> {
      const lead = await leads.get(workspaceId, id);
      const changes = await stageHistory.listIn(database.db, workspaceId, lead.id);
      const now = clock();
      const periods = stagePeriods(lead, changes, now);
      return { lead, changes, periods, totals: timeInStages(periods), at: now };
    },

    /**
     * Sales decisions, the acceptance rate, rejection reasons, time in stage and sales-cycle
     * length over [from, to) (default: the last DEFAULT_METRICS_DAYS days). Time in a lead's
     * first stage counts from its creation.
     */
    async metrics(
      workspaceId: string,
      period: { from?: number | undefined; to?: number | undefined } = {},
    ): Promise<LifecycleMetrics> {
      // [from, to): by default up to and including this millisecond.
      const to = period.to ?? clock() + 1;
      const from = period.from ?? to - DEFAULT_METRICS_DAYS * DAY_MS;
      if (to <= from) throw validationError([{ path: '/query/from', message: 'must be before `to`' }]);
      if (to - from > MAX_METRICS_DAYS * DAY_MS)
        throw validationError([
          { path: '/query/from', message: `must be at most ${MAX_METRICS_DAYS} days before \`to\`` },
        ]);
      const { db } = database;
      const decisions = await stageHistory.salesDecisionsIn(db, workspaceId, from, to);
      const reasons = await metricsStore.rejectionReasonCounts(db, workspaceId, from, to);

      const totals = new Map<Stage, { exits: number; totalMs: number }>();
      const add = (stage: Stage, exits: number, ms: number) => {
        const t = totals.get(stage) ?? { exits: 0, totalMs: 0 };
        t.exits += exits;
        t.totalMs += ms;
        totals.set(stage, t);
      };
      for (const t of await metricsStore.stageExitTotals(db, workspaceId, from, to))
        add(t.stage, t.exits, t.totalMs);
      const firsts = await metricsStore.firstExits(db, workspaceId, from, to);
      const customers = await metricsStore.becameCustomers(db, workspaceId, from, to);
      const created = await leads.createdAtOf(workspaceId, [
        ...new Set([...firsts.map((f) => f.leadId), ...customers.map((c) => c.leadId)]),
      ]);
      for (const first of firsts) {
        const at = created.get(first.leadId);
        if (at !== undefined) add(first.stage, 1, Math.max(0, first.at - at));
      }
      const cycles = customers.flatMap((c) => {
        const at = created.get(c.leadId);
        return at === undefined ? [] : [Math.max(0, c.at - at)];
      });
      const middle = median(cycles);
      return {
        from,
        to,
        salesAccepted: decisions.accepted,
        salesRejected: decisions.rejected,
        acceptanceRate: acceptanceRate(decisions.accepted, decisions.rejected),
        rejectionReasons: reasons,
        timeInStage: stages.flatMap((stage) => {
          const t = totals.get(stage);
          return t ? [{ stage, exits: t.exits, averageDays: days(t.totalMs / t.exits) }] : [];
        }),
        salesCycle: {
          customers: cycles.length,
          averageDays: cycles.length === 0 ? null : days(cycles.reduce((a, b) => a + b, 0) / cycles.length),
          medianDays: middle === null ? null : days(middle),
        },
      };
    },

    /** The workspace's lifecycle settings, or the defaults. */
    settings: (workspace: { settings: Workspace['settings'] }): LifecycleSettings =>
      lifecycleSettingsOf(workspace.settings),

    /**
     * Validates and stores the workspace's lifecycle settings (VALIDATION_FAILED naming every
     * bad field, nothing stored). Returns the workspace with them; callers rescore afterwards
     * (stages and temperatures may change), as after a model change.
     */
    async saveSettings(
      workspaceId: string,
      raw: { stageRules: unknown; temperature: unknown; qualification: unknown },
    ): Promise<Workspace> {
      const parsed = parseLifecycleSettings(raw);
      if (!parsed.ok) throw validationError(parsed.errors, 'The lifecycle settings are invalid.');
      return workspaces.updateSettings(workspaceId, { lifecycle: parsed.value });
    },

    presets: (): Preset[] => Object.values(presets),

    /**
     * Applies a preset (PRESET_NOT_FOUND for an unknown name): its scoring model as a new
     * version created by `by`, and its stage rules, temperature and qualification rule as the
     * workspace's lifecycle settings. Callers rescore afterwards: the API in the background,
     * `leadline init` in the foreground.
     *
     * Two writes, not one transaction (the scoring and workspace services each commit their
     * own): should the second fail, the model is saved without the settings, and applying the
     * preset again completes it.
     */
    async applyPreset(
      workspace: { id: string },
      name: string,
      by: string,
    ): Promise<{ preset: Preset; version: number; workspace: Workspace }> {
      const preset = presetNamed(name);
      const saved = await scoring.saveModel(workspace.id, preset.model, by);
      const updated = await workspaces.updateSettings(workspace.id, {
        lifecycle: {
          stageRules: preset.stageRules,
          temperature: preset.temperature,
          qualification: preset.qualification,
        },
      });
      return { preset, version: saved.version, workspace: updated };
    },
  };
}
