import { toJson } from '../db/json.ts';
import type { Lead, LeadScoring, TimelineEntry } from '../leads/model.ts';
import type { Stage } from '../lifecycle/model.ts';
import type { ScoreState } from './engine.ts';
import type { Qualified, StageChange } from './qualify.ts';

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
