import Type from 'typebox';
import type { FieldError } from '../errors.ts';
import type { Lead } from '../leads/model.ts';
import {
  type ActivityLike,
  type ActivityMatcher,
  ActivityMatcherSchema,
  activityMatches,
  type Conditions,
  ConditionsSchema,
  checkActivityMatchers,
  checkConditions,
  emptyContext,
  leadMatches,
} from '../scoring/conditions.ts';
import { compileValidator } from '../validate.ts';
import { forwardStage, type Stage, stages } from './model.ts';

/**
 * A workspace's rules for automatic lifecycle moves and flags. Automatic moves only go forward
 * (`forwardStage`): a lead whose score falls back below the MQL threshold stays an MQL, and a
 * disqualified lead stays disqualified. Going back is an explicit recycle by a person.
 */

/** Stages a rule may move a lead to: not `subscriber` (the start) nor `disqualified` (a person's call). */
export const autoStages = [
  'lead',
  'mql',
  'sql',
  'opportunity',
  'customer',
] as const satisfies readonly Stage[];
export type AutoStage = (typeof autoStages)[number];

/**
 * Moves a lead to `to` when its score reaches `minScore` OR an activity matches one of
 * `activities` — and, if `lead` is given, the lead also matches those conditions.
 */
export interface StageMove {
  id: string;
  label?: string;
  to: AutoStage;
  /** Total score (0–100) at or above which the move applies. */
  minScore?: number;
  activities?: ActivityMatcher[];
  lead?: Conditions;
}

/**
 * Flags beside the stage. `pql`: product-qualified (usage limit reached, a premium feature used
 * during a trial). `serviceQualified`: purchase intent shown through support (a chat or ticket
 * about buying or upgrading). Set by an activity; cleared only by a person.
 */
export const leadFlags = ['pql', 'serviceQualified'] as const;
export type LeadFlag = (typeof leadFlags)[number];

export interface FlagRule {
  id: string;
  label?: string;
  flag: LeadFlag;
  activities: ActivityMatcher[];
  lead?: Conditions;
}

export interface StageRules {
  /** Checked together: the furthest stage that applies wins; on a tie the first rule. */
  moves: StageMove[];
  flags: FlagRule[];
}

/** Why a stage or flag changed, for the stage history (`cause: rule`). */
export interface RuleCause {
  ruleId: string;
  reason: 'score' | 'activity';
  /** Human-readable: "score 62 ≥ 50", "activity demo_requested". */
  detail: string;
}

/** MQL at a score of 50, or on a demo request. */
export const defaultStageRules: StageRules = {
  moves: [
    { id: 'mql-score', label: 'Score reached 50', to: 'mql', minScore: 50 },
    { id: 'mql-demo', label: 'Demo requested', to: 'mql', activities: [{ type: 'demo_requested' }] },
  ],
  flags: [
    {
      id: 'pql-usage',
      label: 'Usage limit reached, or a premium feature used on a trial',
      flag: 'pql',
      activities: [
        { type: 'usage_limit_reached' },
        { type: 'product_used', where: { premium: { in: [true] }, plan: { in: ['trial'] } } },
      ],
    },
    {
      id: 'service-purchase-intent',
      label: 'Purchase intent in a support conversation',
      flag: 'serviceQualified',
      activities: [
        { type: 'support_request', where: { intent: { in: ['purchase', 'upgrade', 'quote', 'pricing'] } } },
        { type: 'chat_started', where: { intent: { in: ['purchase', 'upgrade', 'quote', 'pricing'] } } },
      ],
    },
  ],
};

function leadPasses(conditions: Conditions | undefined, lead: Lead | undefined): boolean {
  if (!conditions) return true;
  return lead !== undefined && leadMatches(conditions, lead, emptyContext);
}

/** Why the move applies now, or null. */
function moveCause(move: StageMove, score: number, activity: ActivityLike | undefined): RuleCause | null {
  if (move.minScore !== undefined && score >= move.minScore)
    return {
      ruleId: move.id,
      reason: 'score',
      detail: `score ${Math.round(score * 100) / 100} ≥ ${move.minScore}`,
    };
  if (activity && move.activities?.some((m) => activityMatches(m, activity)))
    return { ruleId: move.id, reason: 'activity', detail: `activity ${activity.type}` };
  return null;
}

/**
 * The stage the rules move a lead to, with the cause, or null when they move it nowhere.
 * Called after a score change and/or with the activity that caused it. Only forward moves.
 * Rules with `lead` conditions need the lead (without it they do not apply).
 */
export function nextStage(
  rules: StageRules,
  stage: Stage,
  score: number,
  activity?: ActivityLike,
  lead?: Lead,
): { stage: Stage; cause: RuleCause } | null {
  let reached: Stage = stage;
  let cause: RuleCause | null = null;
  for (const move of rules.moves) {
    const target = forwardStage(reached, move.to);
    if (target === reached || !leadPasses(move.lead, lead)) continue;
    const why = moveCause(move, score, activity);
    if (why) {
      reached = target;
      cause = why;
    }
  }
  return cause ? { stage: reached, cause } : null;
}

/** Flags an activity sets that the lead does not have yet, each with its cause (first rule per flag). */
export function newFlags(
  rules: StageRules,
  current: Partial<Record<LeadFlag, boolean>>,
  activity: ActivityLike,
  lead?: Lead,
): Array<{ flag: LeadFlag; cause: RuleCause }> {
  const out: Array<{ flag: LeadFlag; cause: RuleCause }> = [];
  for (const rule of rules.flags) {
    if (current[rule.flag] || out.some((f) => f.flag === rule.flag)) continue;
    if (!leadPasses(rule.lead, lead) || !rule.activities.some((m) => activityMatches(m, activity))) continue;
    out.push({
      flag: rule.flag,
      cause: { ruleId: rule.id, reason: 'activity', detail: `activity ${activity.type}` },
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation of a workspace's rules

const RuleId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' });
const Label = Type.Optional(Type.String({ minLength: 1, maxLength: 200 }));

const StageMoveSchema = Type.Object(
  {
    id: RuleId,
    label: Label,
    to: Type.String(),
    minScore: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    activities: Type.Optional(Type.Array(ActivityMatcherSchema, { minItems: 1, maxItems: 50 })),
    lead: Type.Optional(ConditionsSchema),
  },
  { additionalProperties: false },
);

const FlagRuleSchema = Type.Object(
  {
    id: RuleId,
    label: Label,
    flag: Type.String(),
    activities: Type.Array(ActivityMatcherSchema, { minItems: 1, maxItems: 50 }),
    lead: Type.Optional(ConditionsSchema),
  },
  { additionalProperties: false },
);

export const StageRulesSchema = Type.Object(
  {
    moves: Type.Array(StageMoveSchema, { maxItems: 50 }),
    flags: Type.Optional(Type.Array(FlagRuleSchema, { maxItems: 50 })),
  },
  { additionalProperties: false },
);

const checkShape = compileValidator(StageRulesSchema);

export type StageRulesResult = { ok: true; value: StageRules } | { ok: false; errors: FieldError[] };

/** Validates a workspace's stage rules (ids unique across moves and flags). */
export function parseStageRules(raw: unknown): StageRulesResult {
  const shape = checkShape(raw);
  if (shape.length > 0) return { ok: false, errors: shape };
  const input = raw as { moves: StageMove[]; flags?: FlagRule[] };
  const value: StageRules = { moves: input.moves, flags: input.flags ?? [] };
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  const unique = (id: string, path: string) => {
    if (seen.has(id)) errors.push({ path: `${path}/id`, message: 'is already used by another rule' });
    seen.add(id);
  };
  value.moves.forEach((move, i) => {
    const path = `/moves/${i}`;
    unique(move.id, path);
    if (!(autoStages as readonly string[]).includes(move.to))
      errors.push({
        path: `${path}/to`,
        message: `must be one of: ${autoStages.join(', ')} (${stages.filter((s) => !(autoStages as readonly string[]).includes(s)).join(' and ')} are set by people)`,
      });
    if (move.minScore === undefined && move.activities === undefined)
      errors.push({ path, message: 'needs minScore or activities' });
    errors.push(...checkActivityMatchers(move.activities, `${path}/activities`));
    if (move.lead) errors.push(...checkConditions(move.lead, `${path}/lead`, 'lead'));
  });
  value.flags.forEach((rule, i) => {
    const path = `/flags/${i}`;
    unique(rule.id, path);
    if (!(leadFlags as readonly string[]).includes(rule.flag))
      errors.push({ path: `${path}/flag`, message: `must be one of: ${leadFlags.join(', ')}` });
    errors.push(...checkActivityMatchers(rule.activities, `${path}/activities`));
    if (rule.lead) errors.push(...checkConditions(rule.lead, `${path}/lead`, 'lead'));
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}
