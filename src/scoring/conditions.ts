import Type from 'typebox';
import { type FieldError, pointer } from '../errors.ts';
import { eventTypes, isEventType } from '../leads/events-model.ts';
import { type Lead, propertyOf } from '../leads/model.ts';
import { companyDomainFromEmail, isDisposableEmail } from '../leads/normalise.ts';
import { isRegion, type Region, regions, regionsOf } from './regions.ts';

/**
 * The condition language of scoring rules, stage rules and temperature: a map from a field
 * name to a test, every test must pass (AND). Alternatives (OR) are written as separate rules,
 * or as several values of one operator (`matches: [vp, director]` passes on either).
 *
 * Fields: on a lead, the fields in `conditionLeadFields` or `properties.<name>`; on an activity,
 * the name of one of its properties (`url`, `form`), or a dotted path into nested ones (`page.url`).
 *
 * Deliberately no raw regular expressions: a model is tenant input evaluated in a shared process,
 * and a catastrophic pattern would stall every workspace. Word patterns compile to linear-time
 * expressions and globs run through a linear-space matcher, so any model costs O(text × pattern).
 */

export type Scalar = string | number | boolean;

/** One field's test. Every operator given must pass. */
export interface FieldTest {
  /** Equals one of these (strings compare trimmed and case-insensitively; "5" equals 5). */
  in?: Scalar[];
  /** Equals none of these. */
  notIn?: Scalar[];
  /**
   * Matches one of these patterns, case-insensitively. A pattern without `*` is a word or
   * phrase found anywhere on word boundaries (`vp` matches "VP Sales", not "MVP"; `vice
   * president` matches "Senior Vice  President"). A pattern with `*` is a glob over the whole
   * value (`*@acme.com`); a glob starting with `/` is also tried against the path and query of
   * a full URL, so `/pricing*` matches "https://acme.com/pricing?plan=pro".
   */
  matches?: string[];
  /** Matches none of these patterns. */
  notMatches?: string[];
  /** Inclusive lower bound of a number (numeric strings count as numbers). */
  min?: number;
  /** Inclusive upper bound of a number. */
  max?: number;
  /** A country code in one of these regions (see regions.ts). */
  region?: Region[];
  /** The domain of an email, domain or URL is one of these kinds (see `domainKind`). */
  domainType?: DomainType[];
  /** The field has a value (not null, missing, "" or []) — or, with false, has none. */
  exists?: boolean;
}

/** Field name -> test; all must pass. */
export type Conditions = Record<string, FieldTest>;

/** An activity of a given type whose properties pass `where` (stage rules, temperature). */
export interface ActivityMatcher {
  type: string;
  where?: Conditions;
}

/** What an activity looks like to the condition language. */
export interface ActivityLike {
  type: string;
  properties: Record<string, unknown>;
}

/**
 * Kinds of email domain, each domain having exactly one, checked in this order: `disposable`
 * (throw-away mailboxes), `freemail` (gmail.com…), `competitor` (the model's list, subdomains
 * included), `business` (anything else).
 */
export const domainTypes = ['freemail', 'disposable', 'competitor', 'business'] as const;
export type DomainType = (typeof domainTypes)[number];

/** Lead fields a condition may name, beside `properties.<name>`. The stage is left out on purpose: a score that depended on the stage it decides would loop. */
export const conditionLeadFields = [
  'email',
  'phone',
  'firstName',
  'lastName',
  'company',
  'companyDomain',
  'jobTitle',
  'companySize',
  'industry',
  'country',
  'city',
  'website',
  'emailDisposable',
  'source',
  'channel',
] as const;

/** What conditions need beside the value: the model's competitor domains (lower case). */
export interface ConditionContext {
  competitorDomains: ReadonlySet<string>;
}

export const emptyContext: ConditionContext = { competitorDomains: new Set() };

export function conditionContext(competitorDomains: readonly string[]): ConditionContext {
  return { competitorDomains: new Set(competitorDomains.map((d) => d.trim().toLowerCase())) };
}

// ---------------------------------------------------------------------------------------------
// Schema and checks

/** Most values one `in`/`notIn` list may hold. (1000) */
export const MAX_LIST = 1000;
/** Most patterns one `matches`/`notMatches` list may hold. (200) */
export const MAX_PATTERNS = 200;
/** Longest pattern, in characters. (200) */
export const MAX_PATTERN_LENGTH = 200;
/** Only this many characters of a value are matched against patterns: bounds the work per test. (2048) */
export const MAX_MATCHED_TEXT = 2048;

/** The shape of a test; `checkConditions` adds what a schema cannot say well. */
export const FieldTestSchema = Type.Object(
  {
    in: Type.Optional(Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_LIST })),
    notIn: Type.Optional(Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_LIST })),
    matches: Type.Optional(Type.Array(Type.String(), { minItems: 1, maxItems: MAX_PATTERNS })),
    notMatches: Type.Optional(Type.Array(Type.String(), { minItems: 1, maxItems: MAX_PATTERNS })),
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
    region: Type.Optional(Type.Array(Type.String(), { minItems: 1, maxItems: regions.length })),
    domainType: Type.Optional(Type.Array(Type.String(), { minItems: 1, maxItems: domainTypes.length })),
    exists: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const ConditionsSchema = Type.Record(Type.String({ minLength: 1, maxLength: 128 }), FieldTestSchema, {
  minProperties: 1,
  maxProperties: 20,
});

export const ActivityMatcherSchema = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 64 }),
    where: Type.Optional(ConditionsSchema),
  },
  { additionalProperties: false },
);

/**
 * Field errors of an activity type a rule names: only what clients send (`eventTypes`,
 * unsubscribes, bounces and spam complaints among them), since a rule naming anything else
 * would never fire. A typo ("demo_request") is refused instead of disabling the rule unseen.
 */
export function checkActivityType(type: string, path: string): FieldError[] {
  return isEventType(type)
    ? []
    : [{ path, message: `is not a known activity type (${eventTypes.join(', ')})` }];
}

/** Field errors of a list of activity matchers: each type known, each condition sound. */
export function checkActivityMatchers(
  matchers: readonly ActivityMatcher[] | undefined,
  path: string,
): FieldError[] {
  return (matchers ?? []).flatMap((m, i) => [
    ...checkActivityType(m.type, `${path}/${i}/type`),
    ...(m.where ? checkConditions(m.where, `${path}/${i}/where`, 'activity') : []),
  ]);
}

function isScalar(value: unknown): value is Scalar {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/**
 * What the schema cannot check: field names, values of `in` lists, patterns, known regions
 * and domain types, min ≤ max, contradictions. Assumes `ConditionsSchema` already passed.
 */
export function checkConditions(
  conditions: Conditions,
  path: string,
  scope: 'lead' | 'activity',
): FieldError[] {
  const errors: FieldError[] = [];
  for (const [field, test] of Object.entries(conditions)) {
    const at = `${path}/${pointer(field)}`;
    if (scope === 'lead' && !isLeadConditionField(field)) {
      errors.push({
        path: at,
        message: `is not a lead field (${conditionLeadFields.join(', ')}); custom properties are written properties.<name>`,
      });
    }
    const operators = Object.keys(test);
    if (operators.length === 0) errors.push({ path: at, message: 'needs at least one operator' });
    for (const list of ['in', 'notIn'] as const) {
      test[list]?.forEach((value, i) => {
        if (!isScalar(value))
          errors.push({ path: `${at}/${list}/${i}`, message: 'must be a string, number or boolean' });
      });
    }
    for (const list of ['matches', 'notMatches'] as const) {
      test[list]?.forEach((pattern, i) => {
        const trimmed = pattern.trim();
        if (trimmed === '' || /^\*+$/.test(trimmed))
          errors.push({ path: `${at}/${list}/${i}`, message: 'must contain something besides * and spaces' });
        else if (pattern.length > MAX_PATTERN_LENGTH)
          errors.push({
            path: `${at}/${list}/${i}`,
            message: `must be at most ${MAX_PATTERN_LENGTH} characters`,
          });
      });
    }
    if (test.min !== undefined && test.max !== undefined && test.min > test.max)
      errors.push({ path: `${at}/max`, message: 'must be at least min' });
    test.region?.forEach((region, i) => {
      if (!isRegion(region))
        errors.push({ path: `${at}/region/${i}`, message: `must be one of: ${regions.join(', ')}` });
    });
    test.domainType?.forEach((kind, i) => {
      if (!(domainTypes as readonly string[]).includes(kind))
        errors.push({ path: `${at}/domainType/${i}`, message: `must be one of: ${domainTypes.join(', ')}` });
    });
    if (test.exists === false && operators.length > 1)
      errors.push({ path: `${at}/exists`, message: 'cannot be false beside other operators' });
  }
  return errors;
}

export function isLeadConditionField(field: string): boolean {
  return (conditionLeadFields as readonly string[]).includes(field) || /^properties\..{1,100}$/s.test(field);
}

// ---------------------------------------------------------------------------------------------
// Patterns

/** True when `text` matches the glob `pattern` as a whole (`*` = any run of characters). Linear space, O(text × pattern) time. */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

const wordChar = /[\p{L}\p{N}]/u;

function escapeRegExp(text: string): string {
  // Only syntax characters and `/` may be escaped under the `u` flag (`\-` is an error there).
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Recent answers of `compute` remembered, forgotten all at once when `limit` are kept. */
function recentlyComputed<V extends object | string | null>(
  limit: number,
  compute: (key: string) => V,
): (key: string) => V {
  const memory = new Map<string, V>();
  // The last key and answer, checked first: one activity's value is tested by several rules in
  // a row, and comparing it to the last key is cheaper than hashing it again.
  let lastKey: string | undefined;
  let last: V | undefined;
  return (key) => {
    if (key === lastKey) return last!;
    let value = memory.get(key);
    if (value === undefined) {
      value = compute(key);
      if (memory.size >= limit) memory.clear();
      memory.set(key, value);
    }
    lastKey = key;
    last = value;
    return value;
  };
}

/**
 * The path and query of an absolute URL, lower case; null if `text` is not one. Remembered
 * for recently seen URLs: a site has few distinct pages and every page view is matched against
 * several rules, while `new URL` costs ~1 µs. (10,000 entries)
 */
const urlPath = recentlyComputed(10_000, parseUrlPath);

function parseUrlPath(text: string): string | null {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return null;
  try {
    const url = new URL(text);
    return `${url.pathname}${url.search}`.toLowerCase();
  } catch {
    return null;
  }
}

/** A pattern as a predicate over lower-cased text (see `FieldTest.matches`). */
export function compilePattern(pattern: string): (lowerText: string) => boolean {
  const p = normalisedPattern(pattern);
  if (isGlob(p)) return globTest(p);
  const re = new RegExp(wordPatternSource(p), 'u');
  return (text) => re.test(text);
}

function normalisedPattern(pattern: string): string {
  return pattern.trim().toLowerCase();
}

function isGlob(normalised: string): boolean {
  return normalised.includes('*');
}

/** A glob (`/pricing*`) tested on the whole text, and on the path of a URL. */
function globTest(p: string): (lowerText: string) => boolean {
  const triesPath = p.startsWith('/');
  return (text) => {
    if (globMatch(p, text)) return true;
    const path = triesPath ? urlPath(text) : null;
    return path !== null && globMatch(p, path);
  };
}

/**
 * The regular expression (`u` flag) finding a pattern without `*` anywhere in the text. Word
 * boundaries only where the pattern itself starts or ends with a letter or digit, so
 * `/pricing` still matches inside "acme.com/pricing".
 */
function wordPatternSource(p: string): string {
  const body = p.split(/\s+/).map(escapeRegExp).join('\\s+');
  const before = wordChar.test(p[0] ?? '') ? '(?<![\\p{L}\\p{N}])' : '';
  const after = wordChar.test(p.at(-1) ?? '') ? '(?![\\p{L}\\p{N}])' : '';
  return `${before}${body}${after}`;
}

// ---------------------------------------------------------------------------------------------
// Domains

/** The domain of an email (`a@b.com`), a URL or a bare domain, lower case without `www.`; null if none. */
function domainFrom(value: string): string | null {
  let text = value.trim().toLowerCase();
  const at = text.lastIndexOf('@');
  if (at >= 0) text = text.slice(at + 1);
  else text = text.replace(/^[a-z][a-z0-9+.-]*:\/\//, '').replace(/[/?#:].*$/, '');
  text = text.replace(/\.$/, '').replace(/^www\./, '');
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(text) ? text : null;
}

/**
 * What the disposable and free-mail lists say of a domain. Remembered for recently seen
 * domains: a model asks about a lead's email several times (business-email fit, disposable and
 * competitor negatives), leads share domains, and the two list lookups cost more than the rest
 * of a fit rule. (10,000 entries)
 */
const listedKind = recentlyComputed(10_000, (domain): 'disposable' | 'freemail' | null => {
  const asEmail = `x@${domain}`;
  // Not disposable, so a null company domain means a free-mail provider.
  if (isDisposableEmail(asEmail)) return 'disposable';
  return companyDomainFromEmail(asEmail) === null ? 'freemail' : null;
});

/** The last value `domainKind` was asked about and its domain: the rules of one lead ask in a row. */
let lastDomain: { value: string; domain: string | null } = { value: '', domain: null };

/** The kind of an email's (or domain's) domain; null when there is no domain to judge. */
export function domainKind(value: string, context: ConditionContext): DomainType | null {
  if (lastDomain.value !== value) lastDomain = { value, domain: domainFrom(value) };
  const domain = lastDomain.domain;
  if (domain === null) return null;
  const listed = listedKind(domain);
  if (listed !== null) return listed;
  for (let d: string = domain; d.includes('.'); d = d.slice(d.indexOf('.') + 1)) {
    if (context.competitorDomains.has(d)) return 'competitor';
  }
  return 'business';
}

// ---------------------------------------------------------------------------------------------
// Evaluation

function hasValue(value: unknown): boolean {
  return !(
    value === null ||
    value === undefined ||
    value === '' ||
    (Array.isArray(value) && value.length === 0)
  );
}

function asNumber(value: Scalar): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** The keys under which a value is looked up in an `in` set: "5" and 5, "true" and true meet. */
function keysOf(value: Scalar): string[] {
  if (typeof value === 'number') return [`#${value}`];
  if (typeof value === 'boolean') return [`?${value}`];
  const text = value.trim().toLowerCase();
  const keys = [`s:${text}`];
  const n = asNumber(text);
  if (n !== undefined) keys.push(`#${n}`);
  if (text === 'true' || text === 'false') keys.push(`?${text}`);
  return keys;
}

function keySet(values: readonly Scalar[]): Set<string> {
  return new Set(values.flatMap(keysOf));
}

type Check = (value: Scalar, context: ConditionContext) => boolean;

/** The value `lowerText` saw last and its answer: several rules in a row test one activity's value. */
let lastValue: Scalar | undefined;
let lastText = '';

function lowerText(value: Scalar): string {
  if (value === lastValue) return lastText;
  lastText = String(value).slice(0, MAX_MATCHED_TEXT).toLowerCase();
  lastValue = value;
  return lastText;
}

/**
 * Whether any of the patterns matches. The patterns without `*` are joined into one regular
 * expression, an alternation of theirs, which matches where one of them would: a job-title rule
 * lists a dozen words, and one search of the title costs far less than a dozen.
 */
function anyPattern(patterns: readonly string[]): (value: Scalar) => boolean {
  const normalised = patterns.map(normalisedPattern);
  const globs = normalised.filter(isGlob).map(globTest);
  const words = normalised.filter((p) => !isGlob(p));
  const anyWord =
    words.length === 0 ? null : new RegExp(words.map((p) => `(?:${wordPatternSource(p)})`).join('|'), 'u');
  return (value) => {
    const text = lowerText(value);
    return anyWord?.test(text) === true || globs.some((test) => test(text));
  };
}

type CompiledTest = (value: unknown, context: ConditionContext) => boolean;

/**
 * A test as a predicate. A missing value fails every operator except `exists: false`. An
 * array value (a multi-select property) passes when one of its items passes the positive
 * operators and none is caught by `notIn`/`notMatches`.
 */
function compileTest(test: FieldTest): CompiledTest {
  const checks: Check[] = [];
  const vetoes: Check[] = [];
  if (test.in) {
    const set = keySet(test.in);
    checks.push((v) => keysOf(v).some((k) => set.has(k)));
  }
  if (test.notIn) {
    const set = keySet(test.notIn);
    vetoes.push((v) => keysOf(v).some((k) => set.has(k)));
  }
  if (test.matches) checks.push(anyPattern(test.matches));
  if (test.notMatches) vetoes.push(anyPattern(test.notMatches));
  const { min, max } = test;
  if (min !== undefined || max !== undefined) {
    checks.push((v) => {
      const n = asNumber(v);
      return n !== undefined && (min === undefined || n >= min) && (max === undefined || n <= max);
    });
  }
  if (test.region) {
    const wanted = test.region;
    checks.push((v) => typeof v === 'string' && regionsOf(v).some((r) => wanted.includes(r)));
  }
  if (test.domainType) {
    const wanted: readonly string[] = test.domainType;
    checks.push((v, context) => {
      const kind = typeof v === 'string' ? domainKind(v, context) : null;
      return kind !== null && wanted.includes(kind);
    });
  }
  const exists = test.exists;
  return (value, context) => {
    const present = hasValue(value);
    if (exists !== undefined && present !== exists) return false;
    if (checks.length === 0 && vetoes.length === 0) return true;
    if (!present) return false;
    if (!Array.isArray(value)) {
      // One value, the usual case, tested without wrapping it in an array (a rescore tests
      // millions of activity values).
      if (!isScalar(value)) return checks.length === 0;
      for (const veto of vetoes) if (veto(value, context)) return false;
      for (const check of checks) if (!check(value, context)) return false;
      return true;
    }
    const items = value.filter(isScalar);
    if (vetoes.some((veto) => items.some((item) => veto(item, context)))) return false;
    return checks.length === 0 || items.some((item) => checks.every((check) => check(item, context)));
  };
}

type CompiledConditions = Array<[field: string, test: CompiledTest]>;

/** Compiled once per conditions object: models are long-lived and evaluated per lead and per event. */
const compiledCache = new WeakMap<Conditions, CompiledConditions>();

function compiled(conditions: Conditions): CompiledConditions {
  let entry = compiledCache.get(conditions);
  if (!entry) {
    entry = Object.entries(conditions).map(([field, test]) => [field, compileTest(test)]);
    compiledCache.set(conditions, entry);
  }
  return entry;
}

/** A lead field's value, or a custom property's for `properties.<name>`. */
export function leadValue(lead: Lead, field: string): unknown {
  if (field.startsWith('properties.')) return propertyOf(lead, field.slice('properties.'.length));
  return (lead as unknown as Record<string, unknown>)[field];
}

/** An activity property by its name, or by a dotted path into nested objects when no property has that exact name. */
export function activityValue(properties: Record<string, unknown>, field: string): unknown {
  if (Object.hasOwn(properties, field)) return properties[field];
  let value: unknown = properties;
  for (const part of field.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, part))
      return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

export function leadMatches(conditions: Conditions, lead: Lead, context: ConditionContext): boolean {
  return compiled(conditions).every(([field, test]) => test(leadValue(lead, field), context));
}

export function propertiesMatch(
  conditions: Conditions | undefined,
  properties: Record<string, unknown>,
  context: ConditionContext,
): boolean {
  if (!conditions) return true;
  return compiled(conditions).every(([field, test]) => test(activityValue(properties, field), context));
}

export function activityMatches(
  matcher: ActivityMatcher,
  activity: ActivityLike,
  context: ConditionContext = emptyContext,
): boolean {
  return matcher.type === activity.type && propertiesMatch(matcher.where, activity.properties, context);
}
