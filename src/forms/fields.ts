import type { FieldError } from '../errors.ts';
import type { PropertyValue } from '../leads/model.ts';
import { isDisposableEmail, normaliseCountry, normaliseEmail, normalisePhoneIn } from '../leads/normalise.ts';
import { isUnstorable } from '../storable-text.ts';
import {
  type ConsentDefinition,
  consentField,
  consentWordingChanged,
  DEFAULT_MAX_LENGTH,
  type Form,
  type FormField,
  isChecked,
  PROPERTY_TARGET,
  reserved,
  type SubmittedValues,
  submittedValue,
  textValue,
  utmFields,
} from './model.ts';
import { matchesPattern } from './patterns.ts';

/** Next to a consent box ticked on a page whose wording has changed since (see `consentBoxValue`). */
export const CONSENT_WORDING_CHANGED =
  'The wording of this consent has changed since the page was shown: please read it again and tick the box.';

/**
 * The values of a submission checked against the form's fields (pure): each value by its type
 * and validation, required fields among those shown, consents; then what they fill on the lead.
 */

/** Most names one submission may carry. */
const MAX_NAMES = 200;
/** Longest value of any one name, before the field's own limit applies. */
const MAX_VALUE = 20_000;
/** Most items of one list value. */
const MAX_ITEMS = 300;

/** Where a field's problem is reported: `/fields/<name>`, in JSON bodies and HTML pages alike. */
export const fieldPath = (name: string) => `/fields/${name}`;

/** Text PostgreSQL cannot store (the API's guard says the same of other routes' bodies). */
const UNSTORABLE_MESSAGE = 'must not contain NUL characters or lone surrogates';

/**
 * A body as posted (a parsed form-encoded body, or JSON either flat or as `{ fields: {…} }`) as
 * text values. Numbers and booleans become text; null is absent; objects are refused.
 */
export function readValues(raw: unknown):
  | { ok: true; values: SubmittedValues }
  | {
      ok: false;
      errors: FieldError[];
      /** The values that could be read, to show the form again with them. */
      values: SubmittedValues;
    } {
  const none: SubmittedValues = Object.create(null);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return {
      ok: false,
      errors: [{ path: '/fields', message: 'must be an object of field names and values' }],
      values: none,
    };
  let source = raw as Record<string, unknown>;
  const keys = Object.keys(source);
  if (keys.length === 1 && keys[0] === 'fields') {
    const inner = source.fields;
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner))
      return {
        ok: false,
        errors: [{ path: '/fields', message: 'must be an object of field names and values' }],
        values: none,
      };
    source = inner as Record<string, unknown>;
  }
  const entries = Object.entries(source);
  if (entries.length > MAX_NAMES)
    return {
      ok: false,
      errors: [{ path: '/fields', message: `must have at most ${MAX_NAMES} names` }],
      values: none,
    };
  // No prototype, and no `__proto__` name: `__proto__=x&__proto__=y` would otherwise make
  // the values a list, and every lookup of `length` or `map` would find the list's.
  const values: SubmittedValues = Object.create(null);
  const errors: FieldError[] = [];
  const scalar = (value: unknown): string | undefined | null =>
    typeof value === 'string'
      ? value
      : typeof value === 'number' && Number.isFinite(value)
        ? String(value)
        : typeof value === 'boolean'
          ? String(value)
          : value === null
            ? undefined
            : null;
  for (const [name, value] of entries) {
    if (name === '__proto__') continue;
    if (isUnstorable(name)) {
      errors.push({ path: '/fields', message: 'has a field name with NUL characters or lone surrogates' });
      continue;
    }
    const path = fieldPath(name);
    if (Array.isArray(value)) {
      if (value.length > MAX_ITEMS) {
        errors.push({ path, message: `must have at most ${MAX_ITEMS} values` });
        continue;
      }
      const items = value.map(scalar);
      if (items.some((item) => item === null)) {
        errors.push({ path, message: 'must be text, a number, a boolean or a list of them' });
        continue;
      }
      const list = items.filter((item): item is string => item !== undefined);
      if (list.some((item) => item.length > MAX_VALUE)) errors.push({ path, message: 'is too long' });
      else if (list.some(isUnstorable)) errors.push({ path, message: UNSTORABLE_MESSAGE });
      else values[name] = list;
      continue;
    }
    const text = scalar(value);
    if (text === null) errors.push({ path, message: 'must be text, a number, a boolean or a list of them' });
    else if (text !== undefined && text.length > MAX_VALUE) errors.push({ path, message: 'is too long' });
    else if (text !== undefined && isUnstorable(text)) errors.push({ path, message: UNSTORABLE_MESSAGE });
    else if (text !== undefined) values[name] = text;
  }
  return errors.length > 0 ? { ok: false, errors, values } : { ok: true, values };
}

/** A typed answer: what a custom property or the activity records. */
export type Answer = string | number | boolean | string[];

/** What a valid submission is made of. */
export interface ParsedSubmission {
  /** The lead capture, in the shape of `POST /api/v1/leads`, for `leads.captureIn`. */
  capture: Record<string, unknown>;
  /** Answers of fields that map to nothing on the lead: kept on the `form_submitted` activity. */
  answers: Record<string, Answer>;
  /** The consents whose boxes were ticked. */
  consents: ConsentDefinition[];
  /** The normalised email, if the submission gave one (spam checks). */
  email: string | undefined;
  emailDisposable: boolean;
  /** Reserved fields, cleaned: a too-long or malformed value is dropped, not an error the person cannot fix. */
  meta: {
    anonymousId: string | undefined;
    pageUrl: string | undefined;
    referrer: string | undefined;
    variant: string | undefined;
    utm: Record<string, string>;
    token: string | undefined;
    honeypot: string;
  };
}

export interface ParseOptions {
  /** Country assumed for phone numbers without a country code (the workspace's). */
  defaultCountry?: string | undefined;
  /** The country the person chose in the same submission: a national phone is read in it first. */
  submittedCountry?: string | undefined;
}

/** The country a submission gives (a country field, or any field mapped to `country`), if any. */
function countryOf(form: Pick<Form, 'fields'>, values: SubmittedValues): string | undefined {
  for (const field of form.fields) {
    if (field.type !== 'country' && field.maps !== 'country') continue;
    const raw = submittedValue(values, field.name);
    const text = (Array.isArray(raw) ? raw[0] : raw)?.trim();
    const country = text ? normaliseCountry(text) : undefined;
    if (country?.ok) return country.value;
  }
  return undefined;
}

function isBlank(value: string | string[] | undefined): boolean {
  if (value === undefined) return true;
  if (Array.isArray(value)) return value.every((v) => v.trim() === '');
  return value.trim() === '';
}

function cleanUrl(value: string | undefined, max: number): string | undefined {
  if (!value || value.length > max) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** One field's value checked by its type: the typed answer, or the message for the person. */
function checkField(
  field: FormField,
  raw: string | string[],
  options: ParseOptions,
): { ok: true; value: Answer } | { ok: false; message: string } {
  const fail = (message: string) => ({ ok: false as const, message });
  const v = field.validation ?? {};
  const list = Array.isArray(raw) ? raw.map((s) => s.trim()).filter(Boolean) : undefined;
  const text = (Array.isArray(raw) ? (raw[0] ?? '') : raw).trim();
  const inOptions = (value: string) => field.options?.some((o) => o.value === value) ?? false;
  switch (field.type) {
    case 'email': {
      const email = normaliseEmail(text);
      return email.ok ? { ok: true, value: email.value } : fail('Enter a valid email address.');
    }
    case 'phone': {
      const phone = normalisePhoneIn(text, [options.submittedCountry, options.defaultCountry]);
      return phone.ok
        ? { ok: true, value: phone.value }
        : fail('Enter a valid phone number, with its country code.');
    }
    case 'country': {
      const country = normaliseCountry(text);
      return country.ok ? { ok: true, value: country.value } : fail('Choose a country from the list.');
    }
    case 'number': {
      if (!/^-?\d+(?:\.\d+)?$/.test(text)) return fail('Enter a number.');
      const n = Number(text);
      if (field.maps === 'companySize' && (!Number.isInteger(n) || n < 0))
        return fail('Enter a whole number.');
      if (v.min !== undefined && n < v.min) return fail(`Enter a number of at least ${v.min}.`);
      if (v.max !== undefined && n > v.max) return fail(`Enter a number of at most ${v.max}.`);
      return { ok: true, value: n };
    }
    case 'select':
      return inOptions(text) ? { ok: true, value: text } : fail('Choose one of the options.');
    case 'multi-select': {
      const chosen = [...new Set(list ?? [text].filter(Boolean))];
      if (!chosen.every(inOptions)) return fail('Choose among the options.');
      return { ok: true, value: chosen };
    }
    case 'checkbox': {
      if (!field.options) return { ok: true, value: isChecked(raw) };
      const chosen = [...new Set(list ?? [text].filter(Boolean))];
      if (!chosen.every(inOptions)) return fail('Choose among the options.');
      return { ok: true, value: chosen };
    }
    default: {
      const max =
        v.maxLength ??
        (field.type === 'textarea'
          ? DEFAULT_MAX_LENGTH.textarea
          : field.type === 'text'
            ? DEFAULT_MAX_LENGTH.text
            : DEFAULT_MAX_LENGTH.other);
      if ([...text].length > max) return fail(`Use at most ${max} characters.`);
      if (v.minLength !== undefined && [...text].length < v.minLength)
        return fail(`Use at least ${v.minLength} characters.`);
      // RE2, linear in the answer's length (already within maxLength): a visitor's input
      // cannot stall the process with a backtracking pattern.
      if (v.pattern !== undefined && !matchesPattern(v.pattern, text))
        return fail('Use the format asked for.');
      return { ok: true, value: text };
    }
  }
}

/** True when a field's answer counts as given (an unticked single checkbox does not). */
function answered(field: FormField, raw: string | string[] | undefined): boolean {
  if (field.type === 'checkbox' && !field.options) return isChecked(raw);
  return !isBlank(raw);
}

/**
 * Checks a submission against the form: every form field that was sent (by its type), the
 * required ones among `shown` (progressive profiling may have left a required field out),
 * required consents. Names the form does not know are ignored. Errors name `/fields/<name>`.
 */
export function parseSubmission(
  form: Pick<Form, 'fields' | 'consents' | 'source'>,
  shown: readonly FormField[],
  values: SubmittedValues,
  options: ParseOptions = {},
): { ok: true; value: ParsedSubmission } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const capture: Record<string, unknown> = {};
  const properties: Record<string, PropertyValue> = {};
  const answers: Record<string, Answer> = {};
  const shownNames = new Set(shown.map((f) => f.name));
  const fieldOptions = { ...options, submittedCountry: countryOf(form, values) };
  for (const field of form.fields) {
    const given = submittedValue(values, field.name);
    const raw = field.type === 'hidden' && given === undefined ? field.defaultValue : given;
    if (!answered(field, raw)) {
      if (field.required && shownNames.has(field.name))
        errors.push({
          path: fieldPath(field.name),
          message:
            field.type === 'checkbox' && !field.options
              ? 'Tick this box to continue.'
              : 'This field is required.',
        });
      continue;
    }
    const checked = checkField(field, raw!, fieldOptions);
    if (!checked.ok) {
      errors.push({ path: fieldPath(field.name), message: checked.message });
      continue;
    }
    const property = field.maps ? PROPERTY_TARGET.exec(field.maps) : null;
    if (property) properties[property[1]!] = checked.value;
    else if (field.maps === 'companySize') capture.companySize = Number(checked.value);
    else if (field.maps) capture[field.maps] = checked.value;
    else answers[field.name] = checked.value;
  }

  const consents: ConsentDefinition[] = [];
  for (const consent of form.consents) {
    const name = consentField(consent.purpose);
    const value = submittedValue(values, name);
    if (consentWordingChanged(consent, value))
      errors.push({ path: fieldPath(name), message: CONSENT_WORDING_CHANGED });
    else if (isChecked(value)) consents.push(consent);
    else if (consent.required) errors.push({ path: fieldPath(name), message: 'Tick this box to continue.' });
  }
  if (errors.length > 0) return { ok: false, errors };

  const utm: Record<string, string> = {};
  for (const name of utmFields) {
    const value = textValue(values, name);
    if (value) utm[name.slice(4)] = value.slice(0, 200);
  }
  const anonymousId = textValue(values, reserved.anonymousId);
  const variant = textValue(values, reserved.variant);
  const meta = {
    anonymousId: anonymousId && anonymousId.length <= 128 ? anonymousId : undefined,
    pageUrl: cleanUrl(textValue(values, reserved.page), 2000),
    referrer: cleanUrl(textValue(values, reserved.referrer), 2000),
    variant: variant && variant.length <= 64 ? variant : undefined,
    utm,
    token: textValue(values, reserved.token),
    honeypot: textValue(values, reserved.honeypot) ?? '',
  };
  if (form.source) capture.source = form.source;
  if (Object.keys(utm).length > 0) capture.utm = utm;
  if (meta.referrer) capture.referrer = meta.referrer;
  if (meta.pageUrl) capture.landingPage = meta.pageUrl;
  if (Object.keys(properties).length > 0) capture.properties = properties;
  const email = typeof capture.email === 'string' ? capture.email : undefined;
  return {
    ok: true,
    value: {
      capture,
      answers,
      consents,
      email,
      emailDisposable: email !== undefined && isDisposableEmail(email),
      meta,
    },
  };
}

/**
 * The form field a lead-capture error is about: `/email` → the field mapping email,
 * `/properties/plan` → the one mapping `properties.plan`. Undefined when no field maps there.
 */
export function fieldForCapturePath(form: Pick<Form, 'fields'>, path: string): string | undefined {
  const property = /^\/properties\/([^/]+)/.exec(path);
  const target = property ? `properties.${property[1]}` : path.split('/')[1];
  if (target === undefined) return undefined;
  return form.fields.find((f) => f.maps === target)?.name;
}

/** Lead-capture errors re-addressed to the form's fields (`/email` → `/fields/work_email`). */
export function captureErrorsAsFieldErrors(
  form: Pick<Form, 'fields'>,
  errors: readonly FieldError[],
): FieldError[] {
  return errors.map((e) => {
    const name = fieldForCapturePath(form, e.path);
    return { path: name ? fieldPath(name) : '/fields', message: e.message };
  });
}

/** Properties of a submission's activity that may be left out, in this order, when it is too large. */
const DROPPABLE_META = ['referrer', 'pageUrl', 'utm'] as const;

/** Room the answers keep, at least, before the attribution above is dropped for them. */
const MIN_ANSWERS_BYTES = 4 * 1024;

/**
 * A `form_submitted` activity's properties within `limitBytes` as JSON (the events' limit):
 * `meta` (form, page, referrer, UTM…) with the answers in the room the rest leaves, longest
 * cut first (`fitAnswers`) and at most `answersBudgetBytes`. Every value was within its own
 * limit, but a page URL and a referrer of 2,000 characters each (more bytes when not ASCII),
 * UTM and long answers together can exceed the activity's; the submission is then still
 * stored, with the referrer, then the page URL, then the UTM left out of the activity (the
 * lead keeps them as its touch) until the answers have some room.
 */
export function fitSubmissionProperties(
  meta: Record<string, unknown>,
  answers: Record<string, Answer>,
  limitBytes: number,
  answersBudgetBytes: number,
): Record<string, unknown> {
  const properties = { ...meta };
  const size = () => Buffer.byteLength(JSON.stringify(properties), 'utf8');
  // Measured again only after a drop: every submission passes here.
  let bytes = size();
  for (const key of DROPPABLE_META) {
    if (bytes <= limitBytes - MIN_ANSWERS_BYTES) break;
    if (properties[key] == null) continue;
    properties[key] = null;
    bytes = size();
  }
  if (Object.keys(answers).length === 0) return properties;
  // `,"answers":` and the answers object itself.
  const room = Math.min(answersBudgetBytes, limitBytes - bytes - ',"answers":'.length);
  const fitted = fitAnswers(answers, room);
  if (Object.keys(fitted).length > 0) properties.answers = fitted;
  if (size() > limitBytes) delete properties.answers;
  return properties;
}

/**
 * Answers trimmed to fit an activity's properties (16 KiB as JSON): the longest texts are cut
 * first. Long answers stay readable on the lead's timeline without refusing the submission.
 */
export function fitAnswers(answers: Record<string, Answer>, budgetBytes: number): Record<string, Answer> {
  const out = { ...answers };
  const size = () => Buffer.byteLength(JSON.stringify(out), 'utf8');
  while (size() > budgetBytes) {
    let longest: string | undefined;
    for (const [name, value] of Object.entries(out))
      if (
        typeof value === 'string' &&
        (longest === undefined || value.length > (out[longest] as string).length)
      )
        longest = name;
    if (longest === undefined) {
      // Only lists and scalars left: drop the largest list.
      const lists = Object.entries(out).filter(([, v]) => Array.isArray(v));
      if (lists.length === 0) break;
      lists.sort(([, a], [, b]) => JSON.stringify(b).length - JSON.stringify(a).length);
      delete out[lists[0]![0]];
      continue;
    }
    const value = out[longest] as string;
    if (value.length <= 20) {
      delete out[longest];
      continue;
    }
    out[longest] = `${value.slice(0, Math.floor(value.length / 2))}…`;
  }
  return out;
}
