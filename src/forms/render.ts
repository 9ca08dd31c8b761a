import countries from 'i18n-iso-countries/index.js';
import englishCountryNames from 'i18n-iso-countries/langs/en.json' with { type: 'json' };
import type { FieldError } from '../errors.ts';
import { fieldPath } from './fields.ts';
import { escapeHtml } from './html.ts';
import {
  type ConsentDefinition,
  consentBoxValue,
  consentField,
  consentWordingChanged,
  DEFAULT_MAX_LENGTH,
  type Form,
  type FormField,
  fieldsToShow,
  isChecked,
  reserved,
  type SubmittedValues,
  submittedValue,
  type UtmField,
  utmFields,
} from './model.ts';

countries.registerLocale(englishCountryNames);

/** What one rendering of a form shows besides its definition. */
export interface FormView {
  /** A fresh render token for `_ll_ts` (`renderToken(form.secret, form.id, now)`). */
  token: string;
  /** The fields to show, in order. (Default: what a new visitor sees, `fieldsToShow(form, undefined)`) */
  fields?: readonly FormField[] | undefined;
  /** Values to show again: what the person typed, on a page re-rendered with errors. Never lead data. */
  values?: SubmittedValues | undefined;
  /** Problems of the last submission (paths `/fields/<name>`), shown next to fields and in a summary. */
  errors?: readonly FieldError[] | undefined;
  /** Reserved values the server fills in hidden fields (without JavaScript, nobody else can). */
  hidden?:
    | {
        anonymousId?: string | undefined;
        pageUrl?: string | undefined;
        referrer?: string | undefined;
        /** A landing page's variant key. */
        variant?: string | undefined;
        utm?: Partial<Record<UtmField, string>> | undefined;
      }
    | undefined;
  /** Where the form posts. (Default: `/f/{slug}`) */
  action?: string | undefined;
  /** Prefix of element ids, so two forms fit on one page. (Default: `ll-{slug}`) */
  idPrefix?: string | undefined;
}

/** `autocomplete` tokens for the lead fields a field fills: browsers and password managers fill them right. */
export const autocompleteFor: Record<string, string> = {
  email: 'email',
  firstName: 'given-name',
  lastName: 'family-name',
  phone: 'tel',
  company: 'organization',
  jobTitle: 'organization-title',
  country: 'country',
  city: 'address-level2',
  website: 'url',
};

let countryOptions: Array<{ value: string; label: string }> | undefined;
/** Every country by its English name, for country fields. */
function countryList(): Array<{ value: string; label: string }> {
  countryOptions ??= Object.entries(countries.getNames('en', { select: 'official' }))
    .map(([value, label]) => ({ value, label }))
    .sort((a, b) => a.label.localeCompare(b.label, 'en'));
  return countryOptions;
}

/** A readable label for a field without one: `first_name` → "First name". */
export function fieldLabel(field: Pick<FormField, 'name' | 'label'>): string {
  if (field.label) return field.label;
  const words = field.name
    .replace(/[_-]+/g, ' ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const attr = (name: string, value: string | number | undefined | null | false) =>
  value === undefined || value === null || value === false ? '' : ` ${name}="${escapeHtml(String(value))}"`;

function valuesOf(values: SubmittedValues | undefined, name: string): string[] {
  const value = values && submittedValue(values, name);
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

interface FieldContext {
  id: string;
  error: string | undefined;
  describedBy: string | undefined;
  values: SubmittedValues | undefined;
}

function hiddenInput(name: string, value: string | undefined): string {
  return value === undefined ? '' : `<input type="hidden"${attr('name', name)}${attr('value', value)}>`;
}

function helpAndError(field: FormField, ctx: FieldContext): string {
  return (
    (field.help ? `<p class="ll-help"${attr('id', `${ctx.id}-help`)}>${escapeHtml(field.help)}</p>` : '') +
    (ctx.error ? `<p class="ll-error"${attr('id', `${ctx.id}-error`)}>${escapeHtml(ctx.error)}</p>` : '')
  );
}

function labelText(field: FormField): string {
  return `${escapeHtml(fieldLabel(field))}${field.required ? ' <span class="ll-required" aria-hidden="true">*</span>' : ''}`;
}

/** A group of checkboxes (multi-select, checkbox with options) in a fieldset with its legend. */
function choiceGroup(field: FormField, ctx: FieldContext): string {
  const chosen = new Set(valuesOf(ctx.values, field.name));
  const boxes = (field.options ?? [])
    .map((option, i) => {
      const id = `${ctx.id}-${i}`;
      const checked = ctx.values ? chosen.has(option.value) : field.defaultValue === option.value;
      return `<div class="ll-choice"><input type="checkbox"${attr('id', id)}${attr('name', field.name)}${attr('value', option.value)}${checked ? ' checked' : ''}><label${attr('for', id)}>${escapeHtml(option.label)}</label></div>`;
    })
    .join('');
  return `<fieldset class="ll-field"${attr('id', ctx.id)}${attr('aria-describedby', ctx.describedBy)}${field.required ? ' aria-required="true"' : ''}><legend>${labelText(field)}</legend>${helpAndError(field, ctx)}${boxes}</fieldset>`;
}

function selectField(
  field: FormField,
  ctx: FieldContext,
  options: Array<{ value: string; label: string }>,
): string {
  const current = ctx.values ? valuesOf(ctx.values, field.name)[0] : field.defaultValue;
  const items = [
    `<option value=""${current ? '' : ' selected'}>${escapeHtml(field.placeholder ?? 'Choose…')}</option>`,
    ...options.map(
      (o) =>
        `<option${attr('value', o.value)}${o.value === current ? ' selected' : ''}>${escapeHtml(o.label)}</option>`,
    ),
  ].join('');
  return `<div class="ll-field"><label${attr('for', ctx.id)}>${labelText(field)}</label><select${attr('id', ctx.id)}${attr('name', field.name)}${control(field, ctx)}>${items}</select>${helpAndError(field, ctx)}</div>`;
}

/** Attributes every control shares: required, described-by, invalid, autocomplete. */
function control(field: FormField, ctx: FieldContext): string {
  const autocomplete = field.maps ? autocompleteFor[field.maps] : undefined;
  return (
    (field.required ? ' required aria-required="true"' : '') +
    attr('aria-describedby', ctx.describedBy) +
    (ctx.error ? ' aria-invalid="true"' : '') +
    attr('autocomplete', autocomplete)
  );
}

function renderField(field: FormField, ctx: FieldContext): string {
  const v = field.validation ?? {};
  const value = ctx.values ? valuesOf(ctx.values, field.name)[0] : field.defaultValue;
  switch (field.type) {
    case 'hidden':
      return hiddenInput(field.name, value ?? '');
    case 'select':
      return selectField(field, ctx, field.options ?? []);
    case 'country':
      return selectField(field, ctx, countryList());
    case 'multi-select':
      return choiceGroup(field, ctx);
    case 'checkbox': {
      if (field.options) return choiceGroup(field, ctx);
      const checked = ctx.values
        ? isChecked(valuesOf(ctx.values, field.name))
        : isChecked(field.defaultValue);
      return `<div class="ll-field"><div class="ll-choice"><input type="checkbox"${attr('id', ctx.id)}${attr('name', field.name)} value="on"${checked ? ' checked' : ''}${control(field, ctx)}><label${attr('for', ctx.id)}>${labelText(field)}</label></div>${helpAndError(field, ctx)}</div>`;
    }
    case 'textarea': {
      const max = v.maxLength ?? DEFAULT_MAX_LENGTH.textarea;
      return `<div class="ll-field"><label${attr('for', ctx.id)}>${labelText(field)}</label><textarea${attr('id', ctx.id)}${attr('name', field.name)}${attr('maxlength', max)}${attr('minlength', v.minLength)}${attr('placeholder', field.placeholder)}${control(field, ctx)}>${escapeHtml(value ?? '')}</textarea>${helpAndError(field, ctx)}</div>`;
    }
    default: {
      const type =
        field.type === 'email'
          ? 'email'
          : field.type === 'phone'
            ? 'tel'
            : field.type === 'number'
              ? 'number'
              : 'text';
      const limits =
        field.type === 'number'
          ? attr('min', v.min) + attr('max', v.max) + attr('step', field.maps === 'companySize' ? 1 : 'any')
          : attr(
              'maxlength',
              v.maxLength ?? (field.type === 'text' ? DEFAULT_MAX_LENGTH.text : DEFAULT_MAX_LENGTH.other),
            ) +
            attr('minlength', v.minLength) +
            attr('pattern', v.pattern);
      const inputmode = field.type === 'email' ? attr('inputmode', 'email') : '';
      const input = `<input${attr('type', type)}${attr('id', ctx.id)}${attr('name', field.name)}${attr('value', value)}${attr('placeholder', field.placeholder)}${limits}${inputmode}${control(field, ctx)}>`;
      return `<div class="ll-field"><label${attr('for', ctx.id)}>${labelText(field)}</label>${input}${helpAndError(field, ctx)}</div>`;
    }
  }
}

function renderConsent(consent: ConsentDefinition, ctx: FieldContext): string {
  const name = consentField(consent.purpose);
  const given = valuesOf(ctx.values, name);
  // A box ticked next to other wording is shown unticked again, next to the wording to read.
  const checked = isChecked(given) && !consentWordingChanged(consent, given);
  const privacy = consent.privacyUrl
    ? ` <a${attr('href', consent.privacyUrl)} target="_blank" rel="noopener noreferrer">Privacy notice</a>`
    : '';
  const error = ctx.error
    ? `<p class="ll-error"${attr('id', `${ctx.id}-error`)}>${escapeHtml(ctx.error)}</p>`
    : '';
  const required = consent.required ? ' required aria-required="true"' : '';
  return `<div class="ll-field ll-consent"><div class="ll-choice"><input type="checkbox"${attr('id', ctx.id)}${attr('name', name)}${attr('value', consentBoxValue(consent))}${checked ? ' checked' : ''}${required}${attr('aria-describedby', ctx.describedBy)}${ctx.error ? ' aria-invalid="true"' : ''}><label${attr('for', ctx.id)}>${escapeHtml(consent.text)}${consent.required ? ' <span class="ll-required" aria-hidden="true">*</span>' : ''}</label></div>${privacy ? `<p class="ll-help">${privacy.trim()}</p>` : ''}${error}</div>`;
}

/**
 * The form as an accessible HTML fragment that works without JavaScript: labelled controls,
 * errors next to their fields (`aria-describedby`, `aria-invalid`) and in a summary announced
 * with `role="alert"` whose links move to the field, the reserved hidden fields, and a
 * honeypot hidden from people and from assistive technology. Posts form-encoded to `/f/{slug}`;
 * the server validates everything (`novalidate`: the browser's own bubbles would hide the
 * messages this page shows).
 */
export function renderFormHtml(
  form: Pick<Form, 'slug' | 'name' | 'fields' | 'consents' | 'submitLabel' | 'progressive' | 'spam'>,
  view: FormView,
): string {
  const prefix = view.idPrefix ?? `ll-${form.slug}`;
  const errors = view.errors ?? [];
  const errorOf = (name: string) => errors.find((e) => e.path === fieldPath(name))?.message;
  const fields = view.fields ?? fieldsToShow(form, undefined);
  const idOf = (name: string) => `${prefix}-${name}`;
  const contextFor = (name: string, help: boolean): FieldContext => {
    const id = idOf(name);
    const error = errorOf(name);
    const describedBy =
      [help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
    return { id, error, describedBy, values: view.values };
  };

  const parts: string[] = [];
  if (errors.length > 0) {
    const labels = new Map<string, string>();
    for (const field of fields) labels.set(fieldPath(field.name), fieldLabel(field));
    for (const consent of form.consents) labels.set(fieldPath(consentField(consent.purpose)), consent.text);
    const items = errors.map((e) => {
      const label = labels.get(e.path);
      const target = label ? `#${idOf(e.path.slice('/fields/'.length))}` : undefined;
      const text = label ? `${label}: ${e.message}` : e.message;
      return target
        ? `<li><a${attr('href', target)}>${escapeHtml(text)}</a></li>`
        : `<li>${escapeHtml(text)}</li>`;
    });
    parts.push(
      `<div class="ll-summary" role="alert" tabindex="-1"${attr('id', `${prefix}-summary`)}><h2>There is a problem</h2><ul>${items.join('')}</ul></div>`,
    );
  }

  const hidden = view.hidden ?? {};
  const keep = (name: string, given: string | undefined) => given ?? valuesOf(view.values, name)[0];
  parts.push(hiddenInput(reserved.token, view.token));
  parts.push(hiddenInput(reserved.anonymousId, keep(reserved.anonymousId, hidden.anonymousId)));
  parts.push(hiddenInput(reserved.page, keep(reserved.page, hidden.pageUrl)));
  parts.push(hiddenInput(reserved.referrer, keep(reserved.referrer, hidden.referrer)));
  parts.push(hiddenInput(reserved.variant, keep(reserved.variant, hidden.variant)));
  for (const name of utmFields) parts.push(hiddenInput(name, keep(name, hidden.utm?.[name])));
  if (form.spam.honeypot) {
    // Off screen, out of the tab order and hidden from screen readers; bots that fill every
    // input fill it. Named like a field a bot wants to fill.
    parts.push(
      `<div class="ll-hp" aria-hidden="true"><label${attr('for', `${prefix}-hp`)}>Leave this field empty</label><input type="text"${attr('id', `${prefix}-hp`)}${attr('name', reserved.honeypot)} value="" tabindex="-1" autocomplete="off"></div>`,
    );
  }
  for (const field of fields) parts.push(renderField(field, contextFor(field.name, Boolean(field.help))));
  for (const consent of form.consents)
    parts.push(renderConsent(consent, contextFor(consentField(consent.purpose), false)));
  parts.push(
    `<div class="ll-field"><button type="submit">${escapeHtml(form.submitLabel ?? 'Submit')}</button></div>`,
  );

  const action = view.action ?? `/f/${encodeURIComponent(form.slug)}`;
  return `<form class="ll-form" method="post"${attr('action', action)} accept-charset="utf-8" novalidate${attr('id', prefix)}${attr('aria-label', form.name)}${errors.length > 0 ? attr('aria-describedby', `${prefix}-summary`) : ''}>\n${parts.filter(Boolean).join('\n')}\n</form>`;
}
