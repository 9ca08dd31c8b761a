import type { Lead } from '../leads/model.ts';
import { halfLifeMs, valueAt } from './decay.ts';
import {
  computeFit,
  computeProfileNegatives,
  type RuleState,
  roundPoints,
  type Score,
  type ScoreState,
  scoreAt,
} from './engine.ts';
import type { ScoringModel } from './model.ts';

/**
 * Why a lead has its score (`GET /api/v1/leads/{id}/score`): every rule that counts, with its
 * points then and now. Fit and profile-negative rules count while the lead matches them, so they
 * have no times; behaviour and activity-negative rules carry when they fired and what decay and
 * caps did.
 */

export interface RuleExplanation {
  id: string;
  /** From the model; a rule no longer in the model keeps its id as label and `removed: true`. */
  label: string;
  kind: 'fit' | 'behaviour' | 'negative';
  /** Points awarded in total, after caps (fit and profile rules: their points). */
  pointsThen: number;
  /** What the rule adds now: behaviour after decay; everything else does not decay. */
  pointsNow: number;
  /** When the rule first and last fired (epoch ms); null for fit and profile rules. */
  firstAt: number | null;
  lastAt: number | null;
  /** Times the rule fired (1 for fit and profile rules). */
  count: number;
  /** Points the rule's cap cut off in total (0 when it never bound). */
  capped: number;
  removed?: true;
}

export interface ScoreExplanation extends Score {
  /** The moment the explanation is for (epoch ms). */
  at: number;
  halfLifeDays: number;
  /** fit + behaviour + negative before the 0–100 clamp. */
  uncapped: number;
  /** Fit rules first, then behaviour, then negative, each in model order (removed rules last). */
  rules: RuleExplanation[];
}

function fromState(
  id: string,
  label: string,
  rule: RuleState,
  now: number,
  halfLifeDays: number,
): RuleExplanation {
  const pointsNow = rule.kind === 'behaviour' ? valueAt(rule.k, now, halfLifeMs(halfLifeDays)) : rule.awarded;
  return {
    id,
    label,
    kind: rule.kind,
    pointsThen: roundPoints(rule.awarded),
    pointsNow: roundPoints(pointsNow),
    firstAt: rule.firstAt,
    lastAt: rule.lastAt,
    count: rule.fired,
    capped: roundPoints(rule.capped),
  };
}

export function explainScore(
  model: ScoringModel,
  state: ScoreState | null,
  lead: Lead,
  now: number,
): ScoreExplanation {
  const score = scoreAt(model, state, lead, now);
  const stateRules = state?.rules ?? {};
  const halfLifeDays = state?.halfLifeDays ?? model.halfLifeDays;
  const rules: RuleExplanation[] = [];
  const profile = (
    kind: 'fit' | 'negative',
    r: { id: string; label: string; points: number },
  ): RuleExplanation => ({
    id: r.id,
    label: r.label,
    kind,
    pointsThen: r.points,
    pointsNow: r.points,
    firstAt: null,
    lastAt: null,
    count: 1,
    capped: 0,
  });
  for (const r of computeFit(model, lead).rules) rules.push(profile('fit', r));
  const listed = new Set<string>();
  const fromRule = (id: string, label: string) => {
    const held = stateRules[id];
    if (held && held.fired > 0) rules.push(fromState(id, label, held, now, halfLifeDays));
    listed.add(id);
  };
  for (const rule of model.behaviour) fromRule(rule.id, rule.label);
  const profileNegatives = new Map(computeProfileNegatives(model, lead).rules.map((r) => [r.id, r]));
  for (const rule of model.negative) {
    const matched = profileNegatives.get(rule.id);
    if (matched) rules.push(profile('negative', matched));
    else fromRule(rule.id, rule.label);
  }
  for (const [id, held] of Object.entries(stateRules)) {
    if (!listed.has(id) && held.fired > 0)
      rules.push({ ...fromState(id, id, held, now, halfLifeDays), removed: true });
  }
  return {
    ...score,
    at: now,
    halfLifeDays,
    uncapped: roundPoints(score.fitScore + score.behaviourScore + score.negativeScore),
    rules,
  };
}
