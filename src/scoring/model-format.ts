import Type from 'typebox';
import { Document, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import type { FieldError } from '../errors.ts';
import { emailDomainToAscii } from '../leads/normalise.ts';
import { compileValidator } from '../validate.ts';
import { type Conditions, ConditionsSchema, checkActivityType, checkConditions } from './conditions.ts';
import {
  type ActivityTrigger,
  DEFAULT_HALF_LIFE_DAYS,
  defaultGrades,
  type FitRule,
  type GradeThresholds,
  MAX_HALF_LIFE_DAYS,
  MIN_HALF_LIFE_DAYS,
  type NegativeRule,
  type RuleBase,
  type ScoringModel,
} from './model.ts';

/**
 * A scoring model as text: YAML or JSON in, validated with field paths (and line numbers where
 * the text has them), canonical YAML or JSON out. What `GET/PUT /api/v1/scoring/model` and
 * `leadline scoring export|apply` read and write.
 */

/** Rule ids: stable, readable, safe in URLs and logs. */
export const RULE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
/** Most rules in each of fit, behaviour and negative. (100) */
export const MAX_RULES = 100;
/** Largest model text, in characters. (256 KiB) */
export const MAX_MODEL_TEXT = 256 * 1024;
/** Points of one rule lie in ±1000: a score is capped at 100, so more is a typo. */
export const MAX_RULE_POINTS = 1000;

const Id = Type.String({ pattern: RULE_ID_PATTERN });
const Label = Type.Optional(Type.String({ minLength: 1, maxLength: 200 }));
const Points = Type.Number({ minimum: -MAX_RULE_POINTS, maximum: MAX_RULE_POINTS });
const ActivityType = Type.String({ minLength: 1, maxLength: 64 });

const FrequencySchema = Type.Object(
  {
    atLeast: Type.Integer({ minimum: 1, maximum: 100 }),
    withinDays: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3650 })),
  },
  { additionalProperties: false },
);

const triggerFields = {
  where: Type.Optional(ConditionsSchema),
  frequency: Type.Optional(FrequencySchema),
  once: Type.Optional(Type.Boolean()),
  cap: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10 * MAX_RULE_POINTS })),
};

const FitRuleSchema = Type.Object(
  { id: Id, label: Label, points: Points, when: ConditionsSchema },
  { additionalProperties: false },
);

const BehaviourRuleSchema = Type.Object(
  { id: Id, label: Label, points: Points, type: ActivityType, ...triggerFields },
  { additionalProperties: false },
);

/** A negative rule is either on the lead (`when`) or on an activity (`type`…): checked after the schema. */
const NegativeRuleSchema = Type.Object(
  {
    id: Id,
    label: Label,
    points: Points,
    when: Type.Optional(ConditionsSchema),
    type: Type.Optional(ActivityType),
    ...triggerFields,
  },
  { additionalProperties: false },
);

const Threshold = Type.Number({ minimum: -MAX_RULE_POINTS, maximum: 10 * MAX_RULE_POINTS });

const GradesSchema = Type.Object(
  {
    fit: Type.Optional(
      Type.Object({ A: Threshold, B: Threshold, C: Threshold }, { additionalProperties: false }),
    ),
    engagement: Type.Optional(
      Type.Object({ '1': Threshold, '2': Threshold, '3': Threshold }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);

/** The model as written: everything but the rules' own fields has a default. */
export const ScoringModelSchema = Type.Object(
  {
    halfLifeDays: Type.Optional(Type.Number({ minimum: MIN_HALF_LIFE_DAYS, maximum: MAX_HALF_LIFE_DAYS })),
    grades: Type.Optional(GradesSchema),
    competitorDomains: Type.Optional(
      Type.Array(Type.String({ minLength: 3, maxLength: 253 }), { maxItems: 1000 }),
    ),
    fit: Type.Optional(Type.Array(FitRuleSchema, { maxItems: MAX_RULES })),
    behaviour: Type.Optional(Type.Array(BehaviourRuleSchema, { maxItems: MAX_RULES })),
    negative: Type.Optional(Type.Array(NegativeRuleSchema, { maxItems: MAX_RULES })),
  },
  { additionalProperties: false },
);

const checkShape = compileValidator(ScoringModelSchema);

type RawRule = RuleBase & Partial<ActivityTrigger> & { when?: Conditions; label?: string };
interface RawModel {
  halfLifeDays?: number;
  grades?: Partial<GradeThresholds>;
  competitorDomains?: string[];
  fit?: RawRule[];
  behaviour?: RawRule[];
  negative?: RawRule[];
}

/** A field error that may also say where in the text it is (1-based). */
export interface ModelError extends FieldError {
  line?: number;
  column?: number;
}

export type ModelResult = { ok: true; model: ScoringModel } | { ok: false; errors: ModelError[] };

const DOMAIN = /^(?=.{3,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;

function checkTrigger(rule: RawRule, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (rule.type !== undefined) errors.push(...checkActivityType(rule.type, `${path}/type`));
  if (rule.where) errors.push(...checkConditions(rule.where, `${path}/where`, 'activity'));
  if (rule.frequency?.withinDays !== undefined && rule.frequency.atLeast < 2)
    errors.push({ path: `${path}/frequency/withinDays`, message: 'needs atLeast of 2 or more' });
  return errors;
}

/** What the schema cannot say: unique ids, the sign of points, known types and fields, ordered thresholds. */
function checkMeaning(raw: RawModel): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Map<string, string>();
  const lists = [
    ['fit', raw.fit ?? []],
    ['behaviour', raw.behaviour ?? []],
    ['negative', raw.negative ?? []],
  ] as const;
  for (const [list, rules] of lists) {
    rules.forEach((rule, i) => {
      const path = `/${list}/${i}`;
      const first = seen.get(rule.id);
      if (first !== undefined) errors.push({ path: `${path}/id`, message: `is already used by ${first}` });
      else seen.set(rule.id, path);
      if (list === 'fit') {
        if (rule.points === 0) errors.push({ path: `${path}/points`, message: 'must not be 0' });
        errors.push(...checkConditions(rule.when ?? {}, `${path}/when`, 'lead'));
      } else if (list === 'behaviour') {
        if (rule.points <= 0)
          errors.push({
            path: `${path}/points`,
            message: 'must be > 0 (points against a lead go in negative)',
          });
        errors.push(...checkTrigger(rule, path));
      } else {
        if (rule.points >= 0) errors.push({ path: `${path}/points`, message: 'must be < 0' });
        errors.push(...checkNegativeKind(rule, path));
      }
    });
  }
  const fit = raw.grades?.fit;
  if (fit && !(fit.A >= fit.B && fit.B >= fit.C))
    errors.push({ path: '/grades/fit', message: 'must satisfy A ≥ B ≥ C' });
  const engagement = raw.grades?.engagement;
  if (engagement && !(engagement['1'] >= engagement['2'] && engagement['2'] >= engagement['3']))
    errors.push({ path: '/grades/engagement', message: 'must satisfy 1 ≥ 2 ≥ 3' });
  raw.competitorDomains?.forEach((domain, i) => {
    if (!DOMAIN.test(domain.trim().toLowerCase()))
      errors.push({ path: `/competitorDomains/${i}`, message: 'is not a domain name (acme.com)' });
  });
  return errors;
}

function checkNegativeKind(rule: RawRule, path: string): FieldError[] {
  if (rule.when !== undefined && rule.type !== undefined)
    return [
      {
        path: `${path}/type`,
        message: 'cannot be given beside when: a rule is on the lead or on an activity',
      },
    ];
  if (rule.when === undefined && rule.type === undefined)
    return [{ path, message: 'needs when (a lead condition) or type (an activity)' }];
  if (rule.when !== undefined) {
    const errors = checkConditions(rule.when, `${path}/when`, 'lead');
    for (const field of ['where', 'frequency', 'once', 'cap'] as const) {
      if (rule[field] !== undefined)
        errors.push({ path: `${path}/${field}`, message: 'applies to activity rules only' });
    }
    return errors;
  }
  return checkTrigger(rule, path);
}

function canonicalTrigger(rule: RawRule): ActivityTrigger {
  return {
    type: rule.type!,
    ...(rule.where !== undefined ? { where: rule.where } : {}),
    ...(rule.frequency !== undefined
      ? {
          frequency: {
            atLeast: rule.frequency.atLeast,
            ...(rule.frequency.withinDays !== undefined ? { withinDays: rule.frequency.withinDays } : {}),
          },
        }
      : {}),
    ...(rule.once !== undefined ? { once: rule.once } : {}),
    ...(rule.cap !== undefined ? { cap: rule.cap } : {}),
  };
}

function head(rule: RawRule): RuleBase {
  return { id: rule.id, label: rule.label ?? rule.id, points: rule.points };
}

/** The model with defaults filled in and keys in one order (so exports diff cleanly). */
function canonical(raw: RawModel): ScoringModel {
  return {
    halfLifeDays: raw.halfLifeDays ?? DEFAULT_HALF_LIFE_DAYS,
    grades: {
      fit: { ...(raw.grades?.fit ?? defaultGrades.fit) },
      engagement: { ...(raw.grades?.engagement ?? defaultGrades.engagement) },
    },
    competitorDomains: (raw.competitorDomains ?? []).map((d) => d.trim().toLowerCase()),
    fit: (raw.fit ?? []).map((rule): FitRule => ({ ...head(rule), when: rule.when! })),
    behaviour: (raw.behaviour ?? []).map((rule) => ({ ...head(rule), ...canonicalTrigger(rule) })),
    negative: (raw.negative ?? []).map(
      (rule): NegativeRule =>
        rule.when !== undefined
          ? { ...head(rule), when: rule.when }
          : { ...head(rule), ...canonicalTrigger(rule) },
    ),
  };
}

/** Every string in NFC, copied: values nested in arrays and objects too. */
function inNfc(value: unknown): unknown {
  if (typeof value === 'string') return value.normalize('NFC');
  if (Array.isArray(value)) return value.map(inNfc);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inNfc(v)]));
  return value;
}

/**
 * The model's text as lead text is stored: in NFC (an "é" typed as e + accent, as macOS
 * keyboards may send it, would otherwise never match a lead's), and competitor domains in the
 * punycode form lead emails take ('müller.de' as 'xn--mller-kva.de').
 */
function asStored(input: unknown): unknown {
  const raw = inNfc(input);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const domains = (raw as { competitorDomains?: unknown }).competitorDomains;
  if (!Array.isArray(domains)) return raw;
  return {
    ...raw,
    competitorDomains: domains.map((d) => (typeof d === 'string' ? (emailDomainToAscii(d.trim()) ?? d) : d)),
  };
}

/** Validates a model given as plain data (parsed JSON/YAML, or an object built in code) and fills its defaults. */
export function validateModel(input: unknown): ModelResult {
  const raw = asStored(input);
  const shape = checkShape(raw);
  if (shape.length > 0) return { ok: false, errors: shape };
  const rules = raw as RawModel;
  // An empty file or body (a failed `scoring export > model.yaml`) would wipe every rule.
  if (rules.fit === undefined && rules.behaviour === undefined && rules.negative === undefined)
    return {
      ok: false,
      errors: [
        { path: '/', message: 'names no rules: give fit, behaviour or negative (an empty list is allowed)' },
      ],
    };
  const meaning = checkMeaning(raw as RawModel);
  if (meaning.length > 0) return { ok: false, errors: meaning };
  return { ok: true, model: canonical(raw as RawModel) };
}

export type ModelFormat = 'yaml' | 'json';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A model file's or body's text, or undefined when its bytes are not UTF-8 (a Latin-1 file):
 * decoded leniently, "München" would be saved as "M\uFFFDnchen", a value no lead ever has.
 */
export function modelTextOf(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The field error of a model that is not UTF-8 text. */
export const notUtf8: FieldError = { path: '/', message: 'is not UTF-8 text (save the file as UTF-8)' };

/** JSON when the text starts with `{`, else YAML. */
export function detectFormat(text: string): ModelFormat {
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
}

/**
 * Parses and validates a model from YAML or JSON text. Syntax errors carry the line and column
 * (1-based) and the path `/`; validation errors carry the field path and, where the text has
 * that field (or its nearest parent), its line.
 */
export function parseModelText(text: string, format: ModelFormat = detectFormat(text)): ModelResult {
  if (text.length > MAX_MODEL_TEXT)
    return { ok: false, errors: [{ path: '/', message: `is longer than ${MAX_MODEL_TEXT} characters` }] };
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  let raw: unknown;
  if (format === 'json') {
    try {
      raw = JSON.parse(text);
    } catch (error) {
      return { ok: false, errors: [jsonSyntaxError(text, error as Error)] };
    }
  } else {
    if (doc.errors.length > 0) {
      return {
        ok: false,
        errors: doc.errors.map((e) => {
          const { line, col } = lineCounter.linePos(e.pos[0]);
          return { path: '/', message: e.message, line, column: col };
        }),
      };
    }
    try {
      // Aliases expand at most 100 times: a "billion laughs" document fails here instead of eating memory.
      raw = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      return { ok: false, errors: [{ path: '/', message: (error as Error).message }] };
    }
  }
  if (raw === null || raw === undefined) raw = {};
  const result = validateModel(raw);
  if (result.ok || doc.errors.length > 0) return result;
  return { ok: false, errors: result.errors.map((e) => ({ ...e, ...positionOf(doc, lineCounter, e.path) })) };
}

function jsonSyntaxError(text: string, error: Error): ModelError {
  const message = error.message;
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn) return { path: '/', message, line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  const position = /position (\d+)/.exec(message);
  if (!position) return { path: '/', message };
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  return { path: '/', message, line, column: before.length - before.lastIndexOf('\n') };
}

/** The line and column of the node at a JSON Pointer, or of its nearest ancestor in the text. */
function positionOf(
  doc: Document.Parsed,
  lineCounter: LineCounter,
  path: string,
): { line?: number; column?: number } {
  const segments = path
    .split('/')
    .slice(1)
    .filter((s) => s !== '')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  for (let n = segments.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(segments.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) {
      const { line, col } = lineCounter.linePos(range[0]);
      return { line, column: col };
    }
  }
  return {};
}

/** The model as YAML: block style, short lists inline, a header comment. */
export function modelToYaml(model: ScoringModel): string {
  const doc = new Document(canonical(model));
  visit(doc, {
    Seq(_, node) {
      // Short lists of scalars inline (`region: [NA, EMEA]`); long ones one item per line.
      const width = node.items.reduce<number>(
        (sum, item) => sum + (isScalar(item) ? String(item.value).length + 2 : 999),
        0,
      );
      const short = width <= 60;
      if (node.items.length > 0 && short) node.flow = true;
    },
  });
  doc.commentBefore =
    ` Leadline scoring model. Behaviour points halve every ${model.halfLifeDays} days;` +
    '\n score = fit + behaviour + negative, clamped to 0-100.';
  return doc.toString({ lineWidth: 100 });
}

/** The model as pretty-printed JSON. */
export function modelToJson(model: ScoringModel): string {
  return `${JSON.stringify(canonical(model), null, 2)}\n`;
}
