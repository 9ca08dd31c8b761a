import Type from 'typebox';
import type { FieldError } from '../errors.ts';
import { compileValidator } from '../validate.ts';

/**
 * Sales qualification with BANT (budget, authority, need, timeline) or CHAMP (challenges,
 * authority, money, prioritisation). A workspace picks one framework and the rule that makes a
 * lead qualified (by default: all four criteria confirmed). A qualified lead is a "prospect":
 * its qualification is complete; sales accepting it makes it an SQL.
 */
export const frameworks = ['bant', 'champ'] as const;
export type Framework = (typeof frameworks)[number];

export const criteriaOf = {
  bant: ['budget', 'authority', 'need', 'timeline'],
  champ: ['challenges', 'authority', 'money', 'prioritisation'],
} as const satisfies Record<Framework, readonly string[]>;

export const criterionStatuses = ['unknown', 'yes', 'no'] as const;
export type CriterionStatus = (typeof criterionStatuses)[number];

/** One criterion as recorded: status, what was learned, who recorded it and when (epoch ms). */
export interface Criterion {
  status: CriterionStatus;
  /** E.g. a budget amount (number) or "Q3" for a timeline. */
  value: string | number | null;
  note: string | null;
  /** The user or API key that last changed it. */
  by: string | null;
  at: number | null;
}

export interface Qualification {
  framework: Framework;
  /** By criterion name; every criterion of the framework is present. */
  criteria: Record<string, Criterion>;
  /**
   * The answers recorded under the other framework before the workspace switched, kept for when
   * it switches back (a BANT → CHAMP → BANT round trip loses nothing).
   */
  other?: Partial<Record<Framework, Record<string, Criterion>>>;
}

/** A lead's answers under `framework`: current, kept from before a switch, or none yet. */
export function qualificationUnder(stored: Qualification | null, framework: Framework): Qualification {
  if (stored?.framework === framework) return { framework, criteria: stored.criteria };
  const kept = stored?.other?.[framework];
  return kept ? { framework, criteria: kept } : emptyQualification(framework);
}

/**
 * When a lead counts as qualified: at least `minConfirmed` criteria are `yes`, and every
 * criterion in `required` is among them. (Default: BANT, all four)
 */
export interface QualificationRule {
  framework: Framework;
  minConfirmed: number;
  required: string[];
}

export const defaultQualificationRule: QualificationRule = {
  framework: 'bant',
  minConfirmed: 4,
  required: [],
};

const unknownCriterion: Criterion = { status: 'unknown', value: null, note: null, by: null, at: null };

export function emptyQualification(framework: Framework): Qualification {
  return {
    framework,
    criteria: Object.fromEntries(criteriaOf[framework].map((name) => [name, { ...unknownCriterion }])),
  };
}

export interface QualificationSummary {
  confirmed: number;
  rejected: number;
  unknown: number;
  /** Every criterion answered (yes or no). */
  answered: boolean;
  /** The workspace rule holds: the lead is a prospect. */
  qualified: boolean;
}

/** Counts and verdict of a lead's criteria under a rule; criteria of another framework count as unknown. */
export function summariseQualification(
  framework: Framework,
  rule: QualificationRule,
  criteria: Partial<Record<string, Pick<Criterion, 'status'>>>,
): QualificationSummary {
  const names = criteriaOf[framework];
  const status = (name: string): CriterionStatus => criteria[name]?.status ?? 'unknown';
  const confirmed = names.filter((n) => status(n) === 'yes').length;
  const rejected = names.filter((n) => status(n) === 'no').length;
  const qualified =
    rule.framework === framework &&
    confirmed >= rule.minConfirmed &&
    rule.required.every((name) => status(name) === 'yes');
  return {
    confirmed,
    rejected,
    unknown: names.length - confirmed - rejected,
    answered: confirmed + rejected === names.length,
    qualified,
  };
}

/** True when the rule holds for these criteria (the lead is a prospect, ready for the SQL decision). */
export function isQualified(
  framework: Framework,
  rule: QualificationRule,
  criteria: Partial<Record<string, Pick<Criterion, 'status'>>>,
): boolean {
  return summariseQualification(framework, rule, criteria).qualified;
}

/** A prospect is a lead whose qualification is complete, i.e. the workspace rule holds. */
export const isProspect = isQualified;

// ---------------------------------------------------------------------------------------------
// PUT /api/v1/leads/{id}/qualification

const CriterionInputSchema = Type.Object(
  {
    status: Type.Enum(criterionStatuses),
    value: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Number(), Type.Null()])),
    note: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
  },
  { additionalProperties: false },
);

export const QualificationInputSchema = Type.Object(
  {
    framework: Type.Optional(Type.String()),
    criteria: Type.Record(Type.String({ maxLength: 64 }), CriterionInputSchema, { maxProperties: 4 }),
  },
  { additionalProperties: false },
);

const checkInput = compileValidator(QualificationInputSchema);

/** The criteria a PUT sets; each one given is replaced whole (an omitted value or note becomes null), the others stay. */
export type QualificationUpdate = Record<string, Pick<Criterion, 'status' | 'value' | 'note'>>;

export type QualificationUpdateResult =
  | { ok: true; value: QualificationUpdate }
  | { ok: false; errors: FieldError[] };

/** Validates a PUT body against the workspace's framework. */
export function parseQualificationUpdate(raw: unknown, framework: Framework): QualificationUpdateResult {
  const shape = checkInput(raw);
  if (shape.length > 0) return { ok: false, errors: shape };
  const input = raw as {
    framework?: string;
    criteria: Record<string, Pick<Criterion, 'status'> & Partial<Criterion>>;
  };
  const errors: FieldError[] = [];
  if (input.framework !== undefined && input.framework !== framework)
    errors.push({ path: '/framework', message: `must be ${framework}, the workspace's framework` });
  const names: readonly string[] = criteriaOf[framework];
  const value: QualificationUpdate = {};
  for (const [name, criterion] of Object.entries(input.criteria)) {
    if (!names.includes(name)) {
      errors.push({
        path: `/criteria/${name}`,
        message: `is not a ${framework.toUpperCase()} criterion (${names.join(', ')})`,
      });
      continue;
    }
    if (typeof criterion.value === 'number' && !Number.isFinite(criterion.value))
      errors.push({ path: `/criteria/${name}/value`, message: 'must be a finite number' });
    value[name] = { status: criterion.status, value: criterion.value ?? null, note: criterion.note ?? null };
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}

/**
 * The qualification after an update: criteria whose status, value or note changed get `by` and
 * `at`; unchanged ones keep theirs. Returns the names that changed (for the timeline).
 */
export function applyQualificationUpdate(
  current: Qualification | null,
  framework: Framework,
  update: QualificationUpdate,
  by: string | null,
  now: number,
): { qualification: Qualification; changed: string[] } {
  const criteria = { ...qualificationUnder(current, framework).criteria };
  const changed: string[] = [];
  for (const [name, next] of Object.entries(update)) {
    const before = criteria[name] ?? unknownCriterion;
    if (before.status === next.status && before.value === next.value && before.note === next.note) continue;
    criteria[name] = { ...next, by, at: now };
    changed.push(name);
  }
  // Answers under the framework the workspace used before are kept aside, not dropped.
  const other = { ...current?.other };
  delete other[framework];
  if (current && current.framework !== framework) other[current.framework] = current.criteria;
  return {
    qualification: { framework, criteria, ...(Object.keys(other).length > 0 ? { other } : {}) },
    changed,
  };
}

// ---------------------------------------------------------------------------------------------
// The workspace's rule

export const QualificationRuleSchema = Type.Object(
  {
    framework: Type.Enum(frameworks),
    minConfirmed: Type.Optional(Type.Integer({ minimum: 1, maximum: 4 })),
    required: Type.Optional(Type.Array(Type.String(), { maxItems: 4 })),
  },
  { additionalProperties: false },
);

const checkRule = compileValidator(QualificationRuleSchema);

export type QualificationRuleResult =
  | { ok: true; value: QualificationRule }
  | { ok: false; errors: FieldError[] };

/** Validates a workspace's rule; `minConfirmed` defaults to all four, `required` to none. */
export function parseQualificationRule(raw: unknown): QualificationRuleResult {
  const shape = checkRule(raw);
  if (shape.length > 0) return { ok: false, errors: shape };
  const input = raw as { framework: Framework; minConfirmed?: number; required?: string[] };
  const names: readonly string[] = criteriaOf[input.framework];
  const errors: FieldError[] = [];
  (input.required ?? []).forEach((name, i) => {
    if (!names.includes(name))
      errors.push({
        path: `/required/${i}`,
        message: `is not a ${input.framework.toUpperCase()} criterion (${names.join(', ')})`,
      });
  });
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      framework: input.framework,
      minConfirmed: input.minConfirmed ?? names.length,
      required: [...new Set(input.required ?? [])],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Merging two leads' answers

/**
 * Two leads' answers as one (a merge): criterion by criterion, under every framework either
 * answered, an answer beats "unknown" and the later answer beats the earlier (the winner's on a
 * tie). The winner's current framework stays current.
 */
export function mergeQualifications(
  winner: Qualification | null,
  loser: Qualification | null,
): Qualification | null {
  if (!winner || !loser) return winner ?? loser;
  const under = (q: Qualification, framework: Framework) =>
    framework === q.framework ? q.criteria : (q.other?.[framework] ?? {});
  const merged: Qualification = { framework: winner.framework, criteria: {} };
  const other: Partial<Record<Framework, Record<string, Criterion>>> = {};
  for (const framework of frameworks) {
    const ours = under(winner, framework);
    const theirs = under(loser, framework);
    const criteria: Record<string, Criterion> = {};
    for (const name of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
      const a = ours[name];
      const b = theirs[name];
      criteria[name] = !a ? b! : !b ? a : laterAnswer(a, b);
    }
    if (framework === merged.framework) merged.criteria = criteria;
    else if (Object.keys(criteria).length > 0) other[framework] = criteria;
  }
  return Object.keys(other).length > 0 ? { ...merged, other } : merged;
}

/** An answer over "unknown"; else the later one; `a` on a tie. */
function laterAnswer(a: Criterion, b: Criterion): Criterion {
  if ((a.status === 'unknown') !== (b.status === 'unknown')) return a.status === 'unknown' ? b : a;
  return (b.at ?? Number.NEGATIVE_INFINITY) > (a.at ?? Number.NEGATIVE_INFINITY) ? b : a;
}
