import { toJson } from '../db/json.ts';
import type { Lead, LeadScoring, TimelineEntry } from '../leads/model.ts';
import type { Stage } from '../lifecycle/model.ts';
import type { ScoreState } from './engine.ts';
import type { ScoringModel } from './model.ts';
import { leadScore, type Qualified, type StageChange } from './qualify.ts';

/**
 * What a rescore computed for one lead, in the only fields a rescore changes (stage, its time,
 * the scoring), with the per-rule state already serialised: small enough to pass from the
 * worker thread that computes it to the writer, which rebuilds the lead from its own copy
 * (`applyRescored`). See rescore-prefetch.ts.
 */
export interface RescoredLead {
  id: string;
  stage: Stage;
  stageChangedAt: number;
  scoring: LeadScoring;
  /** The per-rule state as stored (JSON text); null: none. */
  stateJson: string | null;
  /** Timeline entries the rescore adds (stage and temperature changes, flags). */
  entries: TimelineEntry[];
  stageChanges: StageChange[];
}

export function toRescoredLead(qualified: Qualified & { state: ScoreState | null }): RescoredLead {
  const { lead } = qualified;
  return {
    id: lead.id,
    stage: lead.stage,
    stageChangedAt: lead.stageChangedAt,
    scoring: lead.scoring,
    stateJson: qualified.state ? toJson(qualified.state) : null,
    entries: qualified.entries,
    stageChanges: qualified.stageChanges,
  };
}

/** The lead after the rescore: `before` with the fields the rescore changed. */
export function applyRescored(before: Lead, rescored: RescoredLead): Lead {
  return {
    ...before,
    stage: rescored.stage,
    stageChangedAt: rescored.stageChangedAt,
    scoring: rescored.scoring,
  };
}

/** What a rescore changes (or would change), counted. */
export interface ChangeCount {
  /** Leads rescored. */
  done: number;
  /** Leads whose score band (0–24, 25–49, 50–74, 75–100) changes. */
  bandChanged: number;
  /** Leads whose stage changes. */
  stageChanged: number;
}

/** Quarter of the 0–100 scale a score falls in. */
export function scoreBand(score: number): number {
  return Math.min(3, Math.floor(score / 25));
}

/** Counts the band and stage changes among rescored leads, with scores at `now`. */
export function countChanges(
  model: ScoringModel,
  rescored: readonly { before: Lead; after: Lead }[],
  now: number,
): ChangeCount {
  const counted: ChangeCount = { done: rescored.length, bandChanged: 0, stageChanged: 0 };
  for (const { before, after } of rescored) {
    const was = leadScore(model, before.scoring, now).score;
    const will = leadScore(model, after.scoring, now).score;
    if (scoreBand(was) !== scoreBand(will)) counted.bandChanged++;
    if (before.stage !== after.stage) counted.stageChanged++;
  }
  return counted;
}
