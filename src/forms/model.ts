import { createHash } from 'node:crypto';
import type { FieldError } from '../errors.ts';
import { capturableLeadFields, type Lead, propertyOf } from '../leads/model.ts';
import { normaliseEmail } from '../leads/normalise.ts';
import { normaliseOrigin, originInList } from '../origins.ts';
import { patternProblem } from './patterns.ts';

/** Forms: definitions, the values a submission carries, and the pure decisions about them. */

export const fieldTypes = [
  'email',
  'text',
  'textarea',
  'select',
  'multi-select',
  'checkbox',
  'phone',
  'number',
  'country',
  'hidden',
] as const;
export type FieldType = (typeof fieldTypes)[number];

/** Lead fields a form field may fill; `properties.<key>` fills a custom property instead. */
export const leadFieldTargets = capturableLeadFields;
export type LeadFieldTarget = (typeof leadFieldTargets)[number];

/** A custom property target: `properties.plan`. The key follows the custom property name rule. */
export const PROPERTY_TARGET = /^properties\.([A-Za-z][A-Za-z0-9_]{0,99})$/;
/** Field names: what is safe in an HTML `name`, a JSON Pointer and a CSS selector. */
export const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** Consent purposes: `marketing`, `newsletter`, `product_updates`. */
export const CONSENT_PURPOSE = /^[a-z][a-z0-9_]{0,39}$/;

export const formStatuses = ['active', 'closed'] as const;
export type FormStatus = (typeof formStatuses)[number];

export interface FieldOption {
  value: string;
  label: string;
}

export interface FieldValidation {
  minLength?: number | undefined;
  maxLength?: number | undefined;
  /** A regular expression the whole value must match (as HTML's `pattern`). */
  pattern?: string | undefined;
  min?: number | undefined;
  max?: number | undefined;
}

export interface FormField {
  name: string;
  type: FieldType;
  label?: string | undefined;
  placeholder?: string | undefined;
  help?: string | undefined;
  required?: boolean | undefined;
  options?: FieldOption[] | undefined;
  /** The lead field it fills (`email`, `company`…) or a custom property (`properties.plan`). */
  maps?: string | undefined;
  validation?: FieldValidation | undefined;
  /** A hidden field's value; for the others, the value a new form starts with (a preselected option). */
  defaultValue?: string | undefined;
}

/** A consent checkbox: what the person agrees to, in which wording (versioned) and where the notice is. */
export interface ConsentDefinition {
  purpose: string;
  text: string;
  version: string;
  privacyUrl?: string | undefined;
  required?: boolean | undefined;
}

export interface SpamSettings {
  /** Refuse (quarantine) submissions whose hidden honeypot field is filled. (Default: true) */
  honeypot: boolean;
  /** Submissions sent sooner than this after the form was rendered are quarantined. (Default: 3 s) */
  minFillSeconds: number;
  /** Quarantine submissions from disposable email domains. (Default: false) */
  rejectDisposable: boolean;
  /** Submissions per minute from one IP address to this form; more get 429. (Default: 10) */
  perIpPerMinute: number;
  /** Submissions per minute to this form from everyone; more get 429. (Default: 600) */
  perFormPerMinute: number;
  /** The same answers again within this many seconds are answered like the first, not written again. (Default: 60) */
  duplicateWindowSeconds: number;
}

export const defaultSpamSettings: SpamSettings = {
  honeypot: true,
  minFillSeconds: 3,
  rejectDisposable: false,
  perIpPerMinute: 10,
  perFormPerMinute: 600,
  duplicateWindowSeconds: 60,
};

export interface ThankYou {
  message?: string | undefined;
  /** Where a browser goes after a successful submission (http or https). */
  redirectUrl?: string | undefined;
}

/** A lead-magnet file Leadline hosts (src/forms/magnet-files.ts); its bytes are in their own table. */
export interface MagnetFile {
  /** The file name downloads are given. */
  name: string;
  contentType: string;
  /** Bytes. */
  size: number;
  /** SHA-256 of the content, hex. */
  sha256: string;
}

/**
 * What a submission is given: a link to a file elsewhere (`url`), or a file Leadline hosts
 * (`file`), delivered by a link per submission (src/forms/magnet-links.ts). Never both.
 */
export type LeadMagnet = { title: string; url: string } | { title: string; file: MagnetFile };

export const isMagnetFile = (magnet: LeadMagnet | null): magnet is { title: string; file: MagnetFile } =>
  magnet !== null && 'file' in magnet;

/** A lead magnet as the API's form body takes it: a URL, or (without one) a new title for the form's file. */
export interface LeadMagnetInput {
  title: string;
  url?: string | undefined;
}

/**
 * The lead magnet a form has after a create or change naming `given` (undefined: unchanged,
 * null: none). A URL replaces a file (a form has one or the other); a title alone renames the
 * form's file, and is an error on a form without one (files are uploaded, not described).
 */
export function resolveLeadMagnet(
  given: LeadMagnetInput | null | undefined,
  current: LeadMagnet | null,
): { ok: true; value: LeadMagnet | null } | { ok: false; error: FieldError } {
  if (given === undefined) return { ok: true, value: current };
  if (given === null) return { ok: true, value: null };
  if (given.url !== undefined) return { ok: true, value: { title: given.title, url: given.url } };
  if (isMagnetFile(current)) return { ok: true, value: { title: given.title, file: current.file } };
  return {
    ok: false,
    error: {
      path: '/leadMagnet/url',
      message:
        'is required, unless the form has a lead-magnet file (PUT /api/v1/forms/{id}/lead-magnet/file)',
    },
  };
}

export interface Progressive {
  /** Fields (by name) asked only of known visitors, in this order, instead of what is known already. */
  queue: string[];
  /** The most visible fields a known visitor sees. (Default: as many as the form shows a new visitor) */
  maxFields?: number | undefined;
}

/** Everything a form is, apart from its identity and status. */
export interface FormSettings {
  fields: FormField[];
  consents: ConsentDefinition[];
  submitLabel: string | null;
  thankYou: ThankYou | null;
  leadMagnet: LeadMagnet | null;
  /** Who is emailed about each new submission. */
  notify: string[];
  doubleOptIn: boolean;
  /** Sites (`https://www.example.com`, `https://*.example.com`) that may embed the form. */
  allowedOrigins: string[];
  progressive: Progressive | null;
  spam: SpamSettings;
  /** The lead source submissions record (`webinar`, `newsletter`); null: from the UTM source. */
  source: string | null;
}

export interface Form extends FormSettings {
  workspaceId: string;
  id: string;
  name: string;
  /** Global: `/f/{slug}` is a public address, like a host name. */
  slug: string;
  status: FormStatus;
  /** HMAC key of the form's render tokens; never leaves the server. */
  secret: string;
  createdAt: number;
  updatedAt: number;
  /** Deleted through the API: kept (its submissions point at it), closed for good. */
  archivedAt: number | null;
}

/** Limits of a form definition. */
export const MAX_FIELDS = 50;
export const MAX_OPTIONS = 300;
export const MAX_CONSENTS = 10;
export const MAX_NOTIFY = 20;
export const MAX_ORIGINS = 50;
/** Longest text a field takes when its `validation.maxLength` says nothing: text, textarea, other. */
export const DEFAULT_MAX_LENGTH = { text: 500, textarea: 5000, other: 2000 } as const;

// ---------------------------------------------------------------------------------------------
// Reserved submission fields

/** Names a submission may carry besides the form's fields; all of them start `_ll_` or `utm_`. */
export const reserved = {
  honeypot: '_ll_hp',
  token: '_ll_ts',
  anonymousId: '_ll_aid',
  page: '_ll_page',
  referrer: '_ll_ref',
  variant: '_ll_variant',
  consentPrefix: '_ll_consent_',
} as const;

export const utmFields = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const;
export type UtmField = (typeof utmFields)[number];

/** Field names a form may not use: they would collide with reserved ones or the JSON body's wrapper. */
export function isReservedName(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith('_ll_') || lower.startsWith('utm_') || lower === 'fields';
}

export const consentField = (purpose: string) => `${reserved.consentPrefix}${purpose}`;

/**
 * Names objects and lists already have (`toString`, `constructor`, `hasOwnProperty`, `length`,
 * `map`…): a field named so would read a function where a value was meant, anywhere a lookup
 * forgets `Object.hasOwn`. Refused as field names.
 */
const builtInNames = new Set([
  ...Object.getOwnPropertyNames(Object.prototype),
  ...Object.getOwnPropertyNames(Array.prototype),
]);

export const isBuiltInName = (name: string): boolean => builtInNames.has(name);

// ---------------------------------------------------------------------------------------------
// Submissions

/** Posted values: text, or a list for multi-selects and checkbox groups. */
export type SubmittedValues = Record<string, string | string[]>;

/** A submission as received: what the quarantine keeps, and what a release submits again. */
export interface Submission {
  /** Every posted name, reserved ones included. */
  values: SubmittedValues;
  ip: string | null;
  userAgent: string | null;
  /** When Leadline received it (epoch ms); the activity happened then, even when released later. */
  receivedAt: number;
  /**
   * The consents ticked, with the wording they were given under, kept with a submission held in
   * quarantine: its release records these, even if the form's wording changed meanwhile.
   */
  consentsSeen?: ConsentDefinition[] | undefined;
}

/** A submission that was written: what follow-up emails and consent evidence refer to. */
export interface AcceptedSubmission extends Submission {
  id: string;
  formId: string;
  leadId: string;
  pageUrl: string | null;
}

export type SubmitOutcome =
  /** Written: the lead was captured and the activity recorded. */
  | { status: 'accepted'; submissionId: string; leadId: string; leadCreated: boolean }
  /** The same answers within the duplicate window: answered like the first, nothing written. */
  | { status: 'duplicate'; submissionId: string; leadId: string }
  /** Suspected spam, kept in the quarantine to be released or discarded by a person. */
  | { status: 'quarantined'; reasons: string[] };

/**
 * What was posted under `name`, if anything. Own names only: values read back from JSON (the
 * quarantine) are plain objects, where `values.toString` would be Object's function.
 */
export function submittedValue(values: SubmittedValues, name: string): string | string[] | undefined {
  return Object.hasOwn(values, name) ? values[name] : undefined;
}

/** The one text value of a name (the first, when a list was posted); undefined if absent or blank. */
export function textValue(values: SubmittedValues, name: string): string | undefined {
  const value = submittedValue(values, name);
  const text = Array.isArray(value) ? value[0] : value;
  const trimmed = text?.trim();
  return trimmed ? trimmed : undefined;
}

/** A checkbox's value: the last one posted under its name. */
const boxValue = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[value.length - 1] : value;

/** Truthy checkbox values as browsers and JSON clients send them. */
export function isChecked(value: string | string[] | undefined): boolean {
  const text = boxValue(value);
  if (text === undefined) return false;
  return (
    text.startsWith(CONSENT_VERSION_PREFIX) ||
    ['on', 'true', '1', 'yes', 'checked'].includes(text.trim().toLowerCase())
  );
}

/**
 * A consent box's value names the version of the wording shown next to it (`v:2024-05`): the
 * consent is then recorded with the wording the person read, and a submission made on a page
 * rendered before the wording changed is sent back to be read again rather than recorded with
 * words the person never saw. Plain values ('on', 'true'…, from hand-made forms and scripts)
 * stand for the current wording.
 */
const CONSENT_VERSION_PREFIX = 'v:';

/** The value of the consent box for `consent`'s current wording. */
export const consentBoxValue = (consent: Pick<ConsentDefinition, 'version'>) =>
  `${CONSENT_VERSION_PREFIX}${consent.version}`;

/** Whether a ticked box's value names another version of the wording than `consent`'s current one. */
export function consentWordingChanged(
  consent: Pick<ConsentDefinition, 'version'>,
  value: string | string[] | undefined,
): boolean {
  const text = boxValue(value);
  return text?.startsWith(CONSENT_VERSION_PREFIX) === true && text !== consentBoxValue(consent);
}

/**
 * What identifies "the same answers" for the duplicate window: the form, its own fields'
 * values (normalised: trimmed, lower-cased, lists sorted) and the consent boxes ticked; not
 * the reserved fields that differ between two clicks (render token, page, anonymous id).
 * Ticking a box and sending again is a new answer: its consent must be recorded.
 */
export function submissionFingerprint(
  form: Pick<Form, 'id' | 'fields' | 'consents'>,
  values: SubmittedValues,
): string {
  const parts: Array<[string, string | string[]]> = [];
  for (const field of form.fields) {
    const value = submittedValue(values, field.name);
    if (value === undefined) continue;
    const norm = (s: string) => s.trim().toLowerCase();
    parts.push([field.name, Array.isArray(value) ? value.map(norm).sort() : norm(value)]);
  }
  parts.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const consented = form.consents
    .filter((c) => isChecked(submittedValue(values, consentField(c.purpose))))
    .map((c) => c.purpose)
    .sort();
  return createHash('sha256')
    .update(JSON.stringify([form.id, parts, consented]))
    .digest('base64url');
}

// ---------------------------------------------------------------------------------------------
// Status and origins

/** A form takes submissions while it is active and not archived. */
export function isOpen(form: Pick<Form, 'status' | 'archivedAt'>): boolean {
  return form.status === 'active' && form.archivedAt === null;
}

/**
 * May a page at `origin` use the form? Exact origins, or `https://*.example.com` for any
 * subdomain (src/origins.ts: the rule tracking settings share).
 */
export function originAllowed(allowed: readonly string[], origin: string): boolean {
  return originInList(allowed, origin);
}

export { normaliseOrigin };

// ---------------------------------------------------------------------------------------------
// Progressive profiling

/** The lead's value for a field's target, or undefined when the field maps to nothing. */
function knownValue(lead: Lead, maps: string): unknown {
  const property = PROPERTY_TARGET.exec(maps);
  if (property) return propertyOf(lead, property[1]!);
  return lead[maps as LeadFieldTarget];
}

function isKnown(lead: Lead, field: FormField): boolean {
  if (!field.maps) return false;
  const value = knownValue(lead, field.maps);
  if (value === null || value === undefined || value === '') return false;
  return !(Array.isArray(value) && value.length === 0);
}

/** The field that identifies the lead and so is always asked: the email one, else the phone one. */
function identityField(fields: readonly FormField[]): FormField | undefined {
  return fields.find((f) => f.maps === 'email') ?? fields.find((f) => f.maps === 'phone');
}

/**
 * The fields to show, in order. A new visitor sees every field not in the progressive queue.
 * For a known lead, fields whose mapped value the lead already has are left out (the identity
 * field never is) and the next unknown fields of the queue take their places, up to
 * `maxFields` visible fields. Hidden fields always stay. Values are never pre-filled.
 */
export function fieldsToShow(
  form: Pick<Form, 'fields' | 'progressive'>,
  lead: Lead | undefined,
): FormField[] {
  const queued = new Set(form.progressive?.queue ?? []);
  const base = form.fields.filter((f) => !queued.has(f.name));
  if (!lead || !form.progressive) return base;
  const identity = identityField(form.fields);
  const visible = (fields: FormField[]) => fields.filter((f) => f.type !== 'hidden').length;
  const target = form.progressive.maxFields ?? visible(base);
  const kept = base.filter((f) => f === identity || f.type === 'hidden' || !isKnown(lead, f));
  const added: FormField[] = [];
  for (const name of form.progressive.queue) {
    if (visible(kept) + added.length >= target) break;
    const field = form.fields.find((f) => f.name === name);
    if (field && field.type !== 'hidden' && !isKnown(lead, field)) added.push(field);
  }
  return [...kept, ...added];
}

// ---------------------------------------------------------------------------------------------
// Checking a definition

/**
 * Patterns whose matching time can explode on a short input in a backtracking engine: a
 * quantified group that itself holds a quantifier (`(a+)+`, `(\w*)*`, `(a|aa)+`). The server
 * matches with RE2 (patterns.ts), in linear time; this check spares the visitors' browsers,
 * whose `pattern` attribute and embed.js run the same pattern with a backtracking engine.
 * A heuristic: it catches the common shapes, not every slow pattern.
 */
export function isUnsafePattern(pattern: string): boolean {
  const stack: Array<{ quantified: boolean; alternation: boolean }> = [];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push({ quantified: false, alternation: false });
    else if (c === '|' && stack.length > 0) stack[stack.length - 1]!.alternation = true;
    else if (c === ')') {
      const group = stack.pop();
      const next = pattern[i + 1];
      const repeated = next === '*' || next === '+' || next === '{';
      if (group && repeated && (group.quantified || group.alternation)) return true;
      // A group's inner quantifier makes its parent hold one too.
      if (group?.quantified && stack.length > 0) stack[stack.length - 1]!.quantified = true;
    } else if ((c === '*' || c === '+' || c === '?' || c === '{') && stack.length > 0) {
      stack[stack.length - 1]!.quantified = true;
    }
  }
  return false;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** The field types each lead field accepts (free text may fill any text target). */
function typesFor(target: string): readonly FieldType[] | undefined {
  switch (target) {
    case 'email':
      return ['email', 'hidden'];
    case 'phone':
      return ['phone', 'text', 'hidden'];
    case 'companySize':
      return ['number', 'select', 'hidden'];
    case 'country':
      return ['country', 'select', 'text', 'hidden'];
    case 'website':
      return ['text', 'hidden'];
    default:
      return PROPERTY_TARGET.test(target) ? fieldTypes : ['text', 'textarea', 'select', 'hidden'];
  }
}

/**
 * Everything about a definition that a schema cannot say: unique names and targets, options
 * where they are needed, safe patterns, coherent limits, URLs and origins, a field that
 * identifies the lead. Paths point into the request body (`/fields/2/options`).
 */
export function checkFormSettings(settings: FormSettings): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  const targets = new Map<string, number>();
  settings.fields.forEach((field, i) => {
    const at = `/fields/${i}`;
    if (!FIELD_NAME.test(field.name)) {
      errors.push({
        path: `${at}/name`,
        message: 'must start with a letter and hold only letters, digits, _ and -',
      });
    } else if (isReservedName(field.name)) {
      errors.push({ path: `${at}/name`, message: 'is reserved (names starting _ll_ or utm_, and "fields")' });
    } else if (isBuiltInName(field.name)) {
      errors.push({
        path: `${at}/name`,
        message: 'is a name JavaScript objects and lists have already (toString, constructor, length…)',
      });
    } else if (names.has(field.name)) {
      errors.push({ path: `${at}/name`, message: 'is used by another field' });
    }
    names.add(field.name);
    const needsOptions = field.type === 'select' || field.type === 'multi-select';
    if (needsOptions && (field.options?.length ?? 0) === 0) {
      errors.push({ path: `${at}/options`, message: `is required for a ${field.type} field` });
    }
    if (field.options && !needsOptions && field.type !== 'checkbox') {
      errors.push({ path: `${at}/options`, message: `does not apply to a ${field.type} field` });
    }
    const values = new Set<string>();
    field.options?.forEach((option, j) => {
      if (values.has(option.value)) errors.push({ path: `${at}/options/${j}/value`, message: 'is repeated' });
      values.add(option.value);
    });
    if (field.defaultValue !== undefined && field.options && !values.has(field.defaultValue)) {
      errors.push({ path: `${at}/defaultValue`, message: 'must be one of the options' });
    }
    if (field.maps !== undefined) {
      const allowed = typesFor(field.maps);
      const isTarget =
        (leadFieldTargets as readonly string[]).includes(field.maps) || PROPERTY_TARGET.test(field.maps);
      if (!isTarget) {
        errors.push({
          path: `${at}/maps`,
          message: `must be one of ${leadFieldTargets.join(', ')} or properties.<key>`,
        });
      } else if (targets.has(field.maps)) {
        errors.push({ path: `${at}/maps`, message: `is mapped by field ${targets.get(field.maps)} already` });
      } else if (allowed && !allowed.includes(field.type)) {
        errors.push({ path: `${at}/maps`, message: `cannot be filled by a ${field.type} field` });
      }
      targets.set(field.maps, i);
    }
    const v = field.validation;
    if (v) {
      if (v.pattern !== undefined) {
        const problem = patternProblem(v.pattern);
        if (problem) errors.push({ path: `${at}/validation/pattern`, message: problem });
        else if (isUnsafePattern(v.pattern))
          errors.push({
            path: `${at}/validation/pattern`,
            message: 'has a repeated group holding a repetition (slow to match): simplify it',
          });
      }
      if (v.minLength !== undefined && v.maxLength !== undefined && v.minLength > v.maxLength)
        errors.push({ path: `${at}/validation/minLength`, message: 'must not exceed maxLength' });
      if (v.min !== undefined && v.max !== undefined && v.min > v.max)
        errors.push({ path: `${at}/validation/min`, message: 'must not exceed max' });
    }
  });
  if (!targets.has('email') && !targets.has('phone')) {
    errors.push({
      path: '/fields',
      message: 'must have a field that maps to email or phone (a lead needs one)',
    });
  }
  if (settings.doubleOptIn && settings.consents.length > 0 && !targets.has('email')) {
    errors.push({
      path: '/doubleOptIn',
      message: 'needs a field that maps to email (the confirmation is emailed)',
    });
  }
  const identity = identityField(settings.fields);
  if (identity && identity.type === 'hidden') {
    errors.push({
      path: `/fields/${settings.fields.indexOf(identity)}/type`,
      message: 'the email or phone field cannot be hidden',
    });
  }

  const purposes = new Set<string>();
  settings.consents.forEach((consent, i) => {
    if (!CONSENT_PURPOSE.test(consent.purpose))
      errors.push({ path: `/consents/${i}/purpose`, message: 'must be lower-case letters, digits and _' });
    else if (purposes.has(consent.purpose))
      errors.push({ path: `/consents/${i}/purpose`, message: 'is repeated' });
    purposes.add(consent.purpose);
    if (consent.privacyUrl !== undefined && !isHttpUrl(consent.privacyUrl))
      errors.push({ path: `/consents/${i}/privacyUrl`, message: 'must be an http or https URL' });
  });

  if (settings.thankYou?.redirectUrl !== undefined && !isHttpUrl(settings.thankYou.redirectUrl))
    errors.push({ path: '/thankYou/redirectUrl', message: 'must be an http or https URL' });
  if (settings.leadMagnet && 'url' in settings.leadMagnet && !isHttpUrl(settings.leadMagnet.url))
    errors.push({ path: '/leadMagnet/url', message: 'must be an http or https URL' });
  settings.notify.forEach((email, i) => {
    if (!normaliseEmail(email).ok)
      errors.push({ path: `/notify/${i}`, message: 'is not a valid email address' });
  });
  settings.allowedOrigins.forEach((origin, i) => {
    if (!normaliseOrigin(origin))
      errors.push({
        path: `/allowedOrigins/${i}`,
        message: 'must be an origin such as https://www.example.com or https://*.example.com (no path)',
      });
  });

  if (settings.progressive) {
    const seen = new Set<string>();
    settings.progressive.queue.forEach((name, i) => {
      const field = settings.fields.find((f) => f.name === name);
      const path = `/progressive/queue/${i}`;
      if (!field) errors.push({ path, message: 'is not a field of this form' });
      else if (field === identity)
        errors.push({ path, message: 'is the email or phone field, which is always asked' });
      else if (field.type === 'hidden')
        errors.push({ path, message: 'is a hidden field, which is always sent' });
      else if (seen.has(name)) errors.push({ path, message: 'is repeated' });
      seen.add(name);
    });
  }
  return errors;
}

/**
 * An http(s) URL as the WHATWG parser writes it (`new URL(x).href`): tabs and line breaks gone,
 * spaces and other characters percent-encoded, so it is safe in a Location header and an
 * attribute. What does not parse is kept for checkFormSettings to refuse.
 */
function normaliseUrl(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}

/** A definition with its normal forms: origins canonical, notify addresses normalised, URLs as parsed. */
export function normaliseSettings(settings: FormSettings): FormSettings {
  const { thankYou, leadMagnet } = settings;
  return {
    ...settings,
    consents: settings.consents.map((c) =>
      c.privacyUrl === undefined ? c : { ...c, privacyUrl: normaliseUrl(c.privacyUrl) },
    ),
    thankYou:
      thankYou?.redirectUrl === undefined
        ? thankYou
        : { ...thankYou, redirectUrl: normaliseUrl(thankYou.redirectUrl) },
    leadMagnet:
      leadMagnet && 'url' in leadMagnet ? { ...leadMagnet, url: normaliseUrl(leadMagnet.url) } : leadMagnet,
    allowedOrigins: [...new Set(settings.allowedOrigins.map((o) => normaliseOrigin(o) ?? o))],
    notify: [
      ...new Set(
        settings.notify.map((email) => {
          const normalised = normaliseEmail(email);
          return normalised.ok ? normalised.value : email;
        }),
      ),
    ],
  };
}
