import type { FieldError } from '../errors.ts';
import { capturableLeadFields } from '../leads/model.ts';
import type { Answer, AnswerValue, ExternalLead, InboundKind, UtmKey } from './model.ts';
import { utmKeys } from './model.ts';

/**
 * From a platform's answers to a lead capture: which answer fills which lead field. A source's
 * `fieldMapping` names the fields explicitly (external name -> target); every field it leaves
 * out is filled by the usual names of forms (`email`, `full_name`, LinkedIn's `FIRST_NAME`…).
 * Answers that fill no lead field stay on the `form_submitted` activity. Pure.
 */

export const leadTargets = [
  ...capturableLeadFields,
  /** Split at the first space into firstName and lastName (when those are not given). */
  'fullName',
] as const;
export type LeadTarget = (typeof leadTargets)[number];

/** A mapping target: a lead field, `properties.<key>`, `utm.<key>`, or `ignore` (not captured, not kept). */
export type Target = LeadTarget | `properties.${string}` | `utm.${UtmKey}` | 'ignore';

const PROPERTY_KEY = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;

/** Whether a string names a target; the message says why not. */
export function checkTarget(target: string): string | undefined {
  if (target === 'ignore' || (leadTargets as readonly string[]).includes(target)) return undefined;
  if (target.startsWith('properties.'))
    return PROPERTY_KEY.test(target.slice('properties.'.length))
      ? undefined
      : 'properties.<key>: the key starts with a letter and has only letters, digits and _ (at most 100)';
  if (target.startsWith('utm.'))
    return (utmKeys as readonly string[]).includes(target.slice(4))
      ? undefined
      : `utm.<key>: one of ${utmKeys.join(', ')}`;
  return `must be one of ${leadTargets.join(', ')}, properties.<key>, utm.<key> or ignore`;
}

/** Longest text each lead field takes (the capture schema's limits): longer answers are cut. */
const MAX_LENGTH: Record<Exclude<LeadTarget, 'companySize' | 'fullName'>, number> = {
  email: 320,
  phone: 50,
  firstName: 200,
  lastName: 200,
  company: 300,
  jobTitle: 300,
  industry: 200,
  country: 100,
  city: 200,
  website: 500,
};

/**
 * The usual names of each target, compared after lower-casing and dropping everything but
 * letters and digits, bracketed hints first (`Phone Number`, `phone_number_(eg.65xxxxxxxx)` and
 * LinkedIn's `PHONE_NUMBER` all read `phonenumber`). Earlier names win: `email` over `work_email` when a form has both.
 */
const defaultNames: ReadonlyArray<readonly [Target, readonly string[]]> = [
  ['email', ['email', 'emailaddress', 'workemail', 'businessemail', 'mail']],
  [
    'phone',
    [
      'phone',
      'phonenumber',
      'mobile',
      'mobilephone',
      'mobilenumber',
      'cellphone',
      'telephone',
      'tel',
      'workphone',
      'workphonenumber',
    ],
  ],
  ['firstName', ['firstname', 'givenname', 'fname']],
  ['lastName', ['lastname', 'surname', 'familyname', 'lname']],
  ['fullName', ['fullname', 'name', 'yourname']],
  ['company', ['company', 'companyname', 'organization', 'organisation', 'organizationname', 'businessname']],
  ['jobTitle', ['jobtitle', 'title', 'position']],
  ['companySize', ['companysize', 'employees', 'numberofemployees', 'employeecount', 'headcount']],
  ['industry', ['industry']],
  ['country', ['country', 'countrycode']],
  ['city', ['city', 'town']],
  ['website', ['website', 'companywebsite', 'websiteurl', 'url']],
  ['utm.source', ['utmsource']],
  ['utm.medium', ['utmmedium']],
  ['utm.campaign', ['utmcampaign']],
  ['utm.term', ['utmterm']],
  ['utm.content', ['utmcontent']],
];

/** `Phone number (e.g. 65xxxxxxxx)` reads `phonenumber`: a hint in brackets is not the name. */
const normalise = (name: string) =>
  name
    .toLowerCase()
    .replace(/\([^)]*\)/g, '')
    .replace(/[^a-z0-9]/g, '');

/** normalised name -> [target, rank] */
const defaultIndex = new Map<string, { target: Target; rank: number }>();
for (const [target, names] of defaultNames)
  for (const [rank, name] of names.entries()) defaultIndex.set(name, { target, rank });

/** Which answer fills which target, and the answers that fill none. */
export interface Assignment {
  fields: Map<Target, AnswerValue>;
  /** Answers mapped to no lead field (custom questions): kept on the activity. */
  unmapped: Answer[];
}

/**
 * Assigns answers to targets: explicit mapping entries first (an answer matches an entry by any
 * of its keys, ignoring case), then the default names for the targets still free (an entry
 * whose field this lead did not answer leaves its target to the defaults). The first
 * answer wins a target in an explicit mapping; among defaults, the best-ranked name.
 */
export function assignAnswers(
  answers: readonly Answer[],
  mapping: Readonly<Record<string, string>>,
): Assignment {
  const explicit = new Map<string, Target>();
  for (const [key, target] of Object.entries(mapping))
    explicit.set(key.trim().toLowerCase(), target as Target);
  const fields = new Map<Target, AnswerValue>();
  const used = new Set<number>();
  const ignored = new Set<number>();
  answers.forEach((answer, i) => {
    for (const key of answer.keys) {
      const target = explicit.get(key.trim().toLowerCase());
      if (target === undefined) continue;
      if (target === 'ignore') ignored.add(i);
      else {
        used.add(i);
        if (!fields.has(target) && !empty(answer.value)) fields.set(target, answer.value);
      }
      return;
    }
  });
  const best = new Map<Target, { index: number; rank: number }>();
  answers.forEach((answer, i) => {
    if (used.has(i) || ignored.has(i) || empty(answer.value)) return;
    let found: { target: Target; rank: number } | undefined;
    for (const key of answer.keys) {
      const hit = defaultIndex.get(normalise(key));
      if (hit && (!found || hit.rank < found.rank)) found = hit;
    }
    // A target an explicit entry filled stays filled; one whose entry found nothing is open.
    if (!found || fields.has(found.target)) return;
    const current = best.get(found.target);
    if (!current || found.rank < current.rank) best.set(found.target, { index: i, rank: found.rank });
  });
  for (const [target, { index }] of best) {
    fields.set(target, answers[index]!.value);
    used.add(index);
  }
  const unmapped = answers.filter((_, i) => !used.has(i) && !ignored.has(i));
  return { fields, unmapped };
}

function empty(value: AnswerValue): boolean {
  if (Array.isArray(value)) return value.every((v) => v.trim() === '');
  return typeof value === 'string' && value.trim() === '';
}

/** An answer as one line of text: lists joined with ", ". */
export function answerText(value: AnswerValue): string {
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/**
 * The first `max` UTF-16 units of a text, never half a character: a lone surrogate left by a
 * plain slice is refused by PostgreSQL's JSON types (a 500 for one emoji at the cut).
 */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/**
 * A company size from an answer: the number, or the first number of a range
 * (`51-200` -> 51, `1,001-5,000` -> 1001, `10,000+` -> 10000). Undefined when there is none.
 */
export function parseCompanySize(value: AnswerValue): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  const match = /\d[\d,.\s]*/.exec(answerText(value));
  if (!match) return undefined;
  const digits = match[0].replace(/[,.\s](?=\d{3}(?:\D|$))/g, '').replace(/\D.*$/, '');
  const n = Number(digits);
  return Number.isSafeInteger(n) && n <= 10_000_000 ? n : undefined;
}

/** What a source contributes to every capture. */
export interface CaptureContext {
  /** The `source` captured leads get. */
  source: string;
}

/**
 * The capture (`POST /api/v1/leads` shape) for a lead's assigned answers: texts trimmed and
 * cut to what each field holds, a full name split, the platform's UTM under the mapped one.
 */
export function buildCapture(
  fields: ReadonlyMap<Target, AnswerValue>,
  platformUtm: ExternalLead['utm'],
  context: CaptureContext,
): Record<string, unknown> {
  const capture: Record<string, unknown> = { source: context.source };
  const properties: Record<string, unknown> = {};
  const utm: Record<string, string> = {};
  for (const [key, value] of Object.entries(platformUtm)) if (value) utm[key] = cut(value, 200);
  for (const [target, value] of fields) {
    if (target === 'ignore') continue;
    if (target.startsWith('properties.')) {
      properties[target.slice('properties.'.length)] = propertyValue(value);
    } else if (target.startsWith('utm.')) {
      utm[target.slice(4)] = cut(answerText(value).trim(), 200);
    } else if (target === 'companySize') {
      const size = parseCompanySize(value);
      if (size !== undefined) capture.companySize = size;
    } else if (target === 'fullName') {
      // Applied after the loop: an explicit first or last name wins.
    } else {
      const limit = MAX_LENGTH[target as keyof typeof MAX_LENGTH];
      capture[target] = cut(answerText(value).trim(), limit);
    }
  }
  const fullName = fields.get('fullName');
  if (fullName !== undefined) {
    const [first, ...rest] = answerText(fullName).trim().split(/\s+/);
    if (capture.firstName === undefined && first) capture.firstName = cut(first, 200);
    if (capture.lastName === undefined && rest.length > 0) capture.lastName = cut(rest.join(' '), 200);
  }
  if (Object.keys(properties).length > 0) capture.properties = properties;
  if (Object.keys(utm).length > 0) capture.utm = utm;
  return capture;
}

function propertyValue(value: AnswerValue): string | number | boolean | string[] {
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => cut(v, 500));
  if (typeof value === 'string') return cut(value.trim(), 5000);
  return value;
}

/**
 * The capture without the fields its validation refused (a malformed phone next to a good
 * email), so a paid lead is not lost to one bad answer; the refusals become warnings. Undefined
 * when nothing can be dropped, or when what is left cannot identify anyone (no email, no phone).
 */
export function withoutRefused(
  capture: Record<string, unknown>,
  errors: readonly FieldError[],
): { capture: Record<string, unknown>; dropped: FieldError[] } | undefined {
  const next: Record<string, unknown> = structuredClone(capture);
  const dropped: FieldError[] = [];
  for (const error of errors) {
    const [, top, nested] = error.path.split('/');
    if (!top || top === 'source') return undefined;
    if ((top === 'properties' || top === 'utm') && nested !== undefined) {
      const group = next[top] as Record<string, unknown> | undefined;
      if (!group || !(nested in group)) return undefined;
      delete group[nested];
      if (Object.keys(group).length === 0) delete next[top];
    } else {
      if (!(top in next)) return undefined;
      delete next[top];
    }
    dropped.push(error);
  }
  if (dropped.length === 0 || (next.email === undefined && next.phone === undefined)) return undefined;
  return { capture: next, dropped };
}

/** Most answers an activity keeps, and the longest each may be. (50 answers, 500 characters) */
const MAX_ANSWERS = 50;
const MAX_ANSWER_LENGTH = 500;
/** Longest platform fact (an id), form name and consent text an activity keeps. */
const MAX_FACT_LENGTH = 200;
const MAX_FORM_NAME_LENGTH = 200;
const MAX_CONSENT_TEXT_LENGTH = 500;
/** Most facts, consents and dropped fields an activity lists. (20 each) */
const MAX_LISTED = 20;
/** Budget for the whole of the activity's properties (the event limit is 16 KiB). (12 KiB) */
export const MAX_ACTIVITY_BYTES = 12 * 1024;

export interface ActivityContext {
  kind: InboundKind;
  sourceId: string;
  sourceName: string;
  /** The linked Leadline form, if any. */
  form: { id: string; slug: string | null } | null;
}

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/**
 * The `form_submitted` activity's properties: the platform and its ids (form, ad, campaign),
 * the attribution, and the answers no lead field holds (custom questions), within
 * MAX_ACTIVITY_BYTES as a whole, whatever a platform sends (a 17 KB form id, a form name or
 * consent text of any length): every text is cut, and when the whole is still too large the
 * least useful parts go first — the longest answers, then consent texts, the consents, the
 * dropped-field list and the longest facts. `form` is what scoring rules match
 * (`form_submitted` where form matches `demo*`): the linked Leadline form's slug, else the
 * platform form's name, else the source's name.
 */
export function activityProperties(
  context: ActivityContext,
  lead: ExternalLead,
  unmapped: readonly Answer[],
  utm: unknown,
  warnings: readonly FieldError[],
): Record<string, unknown> {
  const facts: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(lead.facts).slice(0, MAX_LISTED))
    facts[cut(key, 100)] = typeof value === 'string' ? cut(value, MAX_FACT_LENGTH) : value;
  const base: Record<string, unknown> = {
    platform: context.kind,
    form: cut(context.form?.slug ?? lead.formName ?? context.sourceName, MAX_FORM_NAME_LENGTH),
    ...(context.form ? { formId: context.form.id } : {}),
    inboundSourceId: context.sourceId,
    externalLeadId: lead.externalId,
  };
  if (utm && typeof utm === 'object' && Object.keys(utm).length > 0) base.utm = utm;
  let consents = (lead.consents ?? []).slice(0, MAX_LISTED).map((c) => ({
    id: cut(c.id, 100),
    accepted: c.accepted,
    ...(c.text !== undefined ? { text: cut(c.text, MAX_CONSENT_TEXT_LENGTH) } : {}),
  }));
  let droppedFields = warnings.slice(0, MAX_LISTED).map((w) => cut(w.path, 200));
  const answers: Record<string, string> = {};
  for (const answer of unmapped.slice(0, MAX_ANSWERS)) {
    const label = cut(answer.label, 100);
    if (!(label in answers)) answers[label] = cut(answerText(answer.value), MAX_ANSWER_LENGTH);
  }

  // The platform's ids stay beside the base unless nothing else can give way.
  const assemble = (): Record<string, unknown> => ({
    ...base,
    ...Object.fromEntries(Object.entries(facts).filter(([key]) => !(key in base))),
    ...(consents.length > 0 ? { consents } : {}),
    ...(droppedFields.length > 0 ? { droppedFields } : {}),
    ...(Object.keys(answers).length > 0 ? { answers } : {}),
  });
  const longest = (record: Record<string, unknown>) =>
    Object.keys(record).reduce((a, b) => (jsonBytes(record[a]) >= jsonBytes(record[b]) ? a : b));
  let properties = assemble();
  while (jsonBytes(properties) > MAX_ACTIVITY_BYTES) {
    if (Object.keys(answers).length > 0) delete answers[longest(answers)];
    else if (consents.some((c) => 'text' in c))
      consents = consents.map(({ id, accepted }) => ({ id, accepted }));
    else if (consents.length > 0) consents = [];
    else if (droppedFields.length > 0) droppedFields = [];
    else if (Object.keys(facts).length > 0) delete facts[longest(facts)];
    // What is left is bounded by the cuts above (form, ids and utm texts of at most 200 characters).
    else break;
    properties = assemble();
  }
  return properties;
}
