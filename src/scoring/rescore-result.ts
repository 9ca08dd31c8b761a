import { toJson } from '../db/json.ts';
import type { Lead, LeadScoring, Opportunity, TimelineEntry } from '../leads/model.ts';
import type { Stage } from '../lifecycle/model.ts';
import type { Temperature } from '../lifecycle/temperature.ts';
import type { ScoreState } from './engine.ts';
import type { ScoringModel } from './model.ts';
import { leadScore, type Qualified, type StageChange } from './qualify.ts';

/**
 * What a rescore computed for one lead, in the only fields a rescore changes (stage, its time,
 * the scoring), with the per-rule state already serialised: small enough to pass from the
 * worker thread that computes it (in columns, `toColumns`) to the writer, which rebuilds the
 * lead from its own copy (`applyRescored`). See rescore-prefetch.ts.
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
  /** The deal, only when the rescore changed it (a move to customer wins an open one). */
  opportunity?: Opportunity | null;
}

/** What a rescore of `before` computed, reduced to the fields it changes. */
export function toRescoredLead(
  before: Lead,
  qualified: Qualified & { state: ScoreState | null },
): RescoredLead {
  const { lead } = qualified;
  return {
    id: lead.id,
    stage: lead.stage,
    stageChangedAt: lead.stageChangedAt,
    scoring: lead.scoring,
    stateJson: qualified.state ? toJson(qualified.state) : null,
    entries: qualified.entries,
    stageChanges: qualified.stageChanges,
    ...(lead.opportunity !== before.opportunity ? { opportunity: lead.opportunity } : {}),
  };
}

/**
 * Rescored leads as the worker thread sends them: in columns, not one object per lead. The
 * structured clone behind `postMessage` writes every key of every object it sends: 20,000 of
 * the rescore benchmark's results took 20-26 ms to serialise as objects, 9-13 ms packed into
 * columns and serialised (probe), and the writer no longer rebuilds nested objects from them.
 */
export interface RescoredColumns {
  ids: string[];
  stages: Stage[];
  temperatures: Temperature[];
  stateJsons: Array<string | null>;
  /** `NUMBERS` values per lead, in `toColumns`' order; NaN stands for null (no scoring number is NaN). */
  numbers: Float64Array<ArrayBuffer>;
  /** Per lead: bit 0 `pql`, bit 1 `serviceQualified`, bit 2 `stageHold`. */
  flags: Uint8Array<ArrayBuffer>;
  /** Timeline entries, stage changes and a changed deal, only of the leads that have any (few), by index. */
  news: Array<{
    index: number;
    entries: TimelineEntry[];
    stageChanges: StageChange[];
    opportunity?: Opportunity | null;
  }>;
}

const NUMBERS = 9;

export function toColumns(results: readonly RescoredLead[]): RescoredColumns {
  const n = results.length;
  const columns: RescoredColumns = {
    ids: new Array(n),
    stages: new Array(n),
    temperatures: new Array(n),
    stateJsons: new Array(n),
    numbers: new Float64Array(n * NUMBERS),
    flags: new Uint8Array(n),
    news: [],
  };
  const { numbers } = columns;
  for (let i = 0; i < n; i++) {
    const result = results[i]!;
    const s = result.scoring;
    columns.ids[i] = result.id;
    columns.stages[i] = result.stage;
    columns.temperatures[i] = s.temperature;
    columns.stateJsons[i] = result.stateJson;
    const at = i * NUMBERS;
    numbers[at] = result.stageChangedAt;
    numbers[at + 1] = s.modelVersion ?? Number.NaN;
    numbers[at + 2] = s.fitScore;
    numbers[at + 3] = s.profileNegative;
    numbers[at + 4] = s.activityNegative;
    numbers[at + 5] = s.behaviourK ?? Number.NaN;
    numbers[at + 6] = s.halfLifeDays;
    numbers[at + 7] = s.lastHighIntentAt ?? Number.NaN;
    numbers[at + 8] = s.temperatureChangesAt ?? Number.NaN;
    columns.flags[i] = (s.pql ? 1 : 0) | (s.serviceQualified ? 2 : 0) | (s.stageHold ? 4 : 0);
    const { entries, stageChanges, opportunity } = result;
    if (entries.length > 0 || stageChanges.length > 0 || opportunity !== undefined)
      columns.news.push({
        index: i,
        entries,
        stageChanges,
        ...(opportunity !== undefined ? { opportunity } : {}),
      });
  }
  return columns;
}

/** The results `toColumns` packed, as they were. */
export function fromColumns(columns: RescoredColumns): RescoredLead[] {
  const { numbers, flags } = columns;
  const orNull = (value: number) => (Number.isNaN(value) ? null : value);
  const out = columns.ids.map((id, i): RescoredLead => {
    const at = i * NUMBERS;
    return {
      id,
      stage: columns.stages[i]!,
      stageChangedAt: numbers[at]!,
      scoring: {
        modelVersion: orNull(numbers[at + 1]!),
        fitScore: numbers[at + 2]!,
        profileNegative: numbers[at + 3]!,
        activityNegative: numbers[at + 4]!,
        behaviourK: orNull(numbers[at + 5]!),
        halfLifeDays: numbers[at + 6]!,
        lastHighIntentAt: orNull(numbers[at + 7]!),
        temperature: columns.temperatures[i]!,
        temperatureChangesAt: orNull(numbers[at + 8]!),
        pql: (flags[i]! & 1) !== 0,
        serviceQualified: (flags[i]! & 2) !== 0,
        stageHold: (flags[i]! & 4) !== 0,
      },
      stateJson: columns.stateJsons[i]!,
      entries: [],
      stageChanges: [],
    };
  });
  for (const { index, entries, stageChanges, opportunity } of columns.news) {
    out[index]!.entries = entries;
    out[index]!.stageChanges = stageChanges;
    if (opportunity !== undefined) out[index]!.opportunity = opportunity;
  }
  return out;
}

/** The lead after the rescore: `before` with the fields the rescore changed. */
export function applyRescored(before: Lead, rescored: RescoredLead): Lead {
  return {
    ...before,
    stage: rescored.stage,
    stageChangedAt: rescored.stageChangedAt,
    scoring: rescored.scoring,
    ...(rescored.opportunity !== undefined ? { opportunity: rescored.opportunity } : {}),
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
