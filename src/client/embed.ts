/**
 * embed.js: renders Leadline forms into any site's pages.
 *
 *   <div data-leadline-form="newsletter"></div>
 *   <script async src="https://leads.example.com/embed.js"></script>
 *
 * Each `[data-leadline-form]` element gets the form described by `GET /f/{slug}/definition`
 * (CORS: the form's allowed origins), posted back with fetch as JSON to `/f/{slug}`. Field
 * errors from the server (problem+json, `/fields/<name>`) are shown next to their fields and
 * announced; success shows the thank-you message and lead magnet, or follows the redirect.
 * The page's UTM parameters, URL, referrer and the visitor's anonymous id (t.js) go with it.
 * Optional: `data-leadline-variant="b"` on the element records the page variant.
 * The host page hears `leadline:submitted` (detail: the server's answer) on the element.
 *
 * Dependency-free, ES2018, no globals besides `window.leadlineEmbed` (for forms added later by
 * a single-page app: `leadlineEmbed.scan()`; new elements are also found by themselves).
 */

import { formStyles } from '../forms/html.ts';
import { privacySignalOn, TRACKER_TAG } from './privacy.ts';

interface Option {
  value: string;
  label: string;
}

interface Field {
  name: string;
  type: string;
  label?: string;
  placeholder?: string;
  help?: string;
  required?: boolean;
  options?: Option[];
  /** The browser's autofill token, for fields that fill a lead field. */
  autocomplete?: string;
  validation?: { minLength?: number; maxLength?: number; pattern?: string; min?: number; max?: number };
  defaultValue?: string;
}

interface Consent {
  purpose: string;
  text: string;
  /** The wording's version: the box's value names it, so the consent is recorded as read. */
  version: string;
  privacyUrl?: string;
  required?: boolean;
}

interface Definition {
  fields: Field[];
  consents?: Consent[];
  submitLabel?: string | null;
  token: string;
  honeypot?: string;
}

interface Answer {
  status?: string;
  message?: string;
  redirectUrl?: string;
  leadMagnet?: { title: string; url: string };
}

interface Problem {
  status?: number;
  detail?: string;
  errors?: { path: string; message: string }[];
}

/** What embed.js reads from t.js and offers to the page; not a global type (t.js declares its own). */
const host = window as unknown as {
  leadline?: { anonymousId?: () => string | null | undefined };
  leadlineEmbed?: { scan: () => void };
};

const MARK = 'data-leadline-rendered';
/** A render token older than this is fetched anew before sending (the server refuses them after 24 h). */
const TOKEN_REFRESH_MS = 12 * 60 * 60 * 1000;
/** Longest wait for t.js (its tag is on the page, its code not run yet) before a form is fetched. */
const TRACKER_WAIT_MS = 1000;
const UTM = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'];
/** ISO 3166-1 alpha-2 codes, for country fields named in the visitor's language by Intl.DisplayNames. */
const COUNTRIES =
  'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW';
/** Empty error slots stay out of sight (the shared styles expect them only when there is an error). */
const EMBED_STYLE =
  '.ll-form .ll-error:empty,.ll-form .ll-summary:empty{display:none}.ll-form button[disabled]{opacity:.6;cursor:progress}.ll-thanks:focus{outline:none}';

let instances = 0;

/** The address embed.js was loaded from: forms are fetched from and posted to the same Leadline. */
const scriptSrc = (() => {
  const current = document.currentScript as HTMLScriptElement | null;
  if (current?.src) return current.src;
  const found = document.querySelector<HTMLScriptElement>('script[src*="/embed.js"]');
  return found ? found.src : '';
})();
const base = scriptSrc.replace(/\/embed\.js(?:[?#].*)?$/, '');

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

/** Puts `node` in place of the element's content (`replaceChildren` is missing in Safari before 14). */
function show(root: HTMLElement, node: Node): void {
  root.textContent = '';
  root.append(node);
}

/** The required marker, as the hosted form shows it (the `required` attribute tells assistive technology). */
const star = () => el('span', { class: 'll-required', 'aria-hidden': 'true' }, ' *');

function cookie(name: string): string | undefined {
  const match = document.cookie.match(new RegExp(`(?:^|; )${name}=([^;]*)`));
  return match ? decodeURIComponent(match[1]!) : undefined;
}

/** t.js is on this page: its tag, or the `leadline(…)` stub sites put before it. */
const trackerOnPage = () => host.leadline !== undefined || document.querySelector(TRACKER_TAG) !== null;

/**
 * The visitor's anonymous id, so the submission links their page views to the lead. When t.js
 * is on the page only its answer counts: it says nothing under GPC/DNT or before consent, and
 * the `ll_aid` cookie must not say it instead. The cookie (left by t.js on the site's other
 * pages) is read only on pages without t.js, and never under GPC/DNT.
 */
function anonymousId(): string | undefined {
  if (trackerOnPage()) {
    try {
      return host.leadline?.anonymousId?.() || undefined;
    } catch {
      return undefined;
    }
  }
  return privacySignalOn() ? undefined : cookie('ll_aid');
}

/** Resolves once t.js has run, failed to load, or `TRACKER_WAIT_MS` passed; at once without t.js. */
function trackerSettled(): Promise<void> {
  const tag = document.querySelector<HTMLScriptElement>(TRACKER_TAG);
  if (!tag || host.leadline?.anonymousId) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => resolve();
    tag.addEventListener('load', done);
    tag.addEventListener('error', done);
    setTimeout(done, TRACKER_WAIT_MS);
  });
}

function injectStyle(): void {
  if (document.getElementById('ll-embed-style')) return;
  // The hosted page's styles: an embedded form looks like the hosted one (sites may override `.ll-form`).
  const style = el('style', { id: 'll-embed-style' }, formStyles + EMBED_STYLE);
  document.head.append(style);
}

function countryOptions(): Option[] {
  let names: { of(code: string): string | undefined } | undefined;
  try {
    // biome-ignore lint/suspicious/noExplicitAny: DisplayNames is ES2020; target ES2018 browsers may lack it.
    const DisplayNames = (Intl as any).DisplayNames;
    if (DisplayNames) names = new DisplayNames([navigator.language, 'en'], { type: 'region' });
  } catch {
    names = undefined;
  }
  return COUNTRIES.split(' ')
    .map((code) => ({ value: code, label: names?.of(code) ?? code }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

async function fetchDefinition(slug: string): Promise<Definition> {
  // Both scripts load async: the visitor's id (progressive profiling) waits for t.js briefly.
  await trackerSettled();
  const aid = anonymousId();
  const url = `${base}/f/${encodeURIComponent(slug)}/definition${aid ? `?aid=${encodeURIComponent(aid)}` : ''}`;
  const response = await fetch(url, { credentials: 'omit', headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(String(response.status));
  return response.json();
}

/** One rendered form: its elements and what it needs to show errors and to submit. */
class EmbeddedForm {
  readonly root: HTMLElement;
  readonly slug: string;
  definition: Definition;
  fetchedAt = Date.now();
  readonly id = `ll${++instances}`;
  readonly form: HTMLFormElement;
  readonly summary: HTMLElement;
  readonly status: HTMLElement;
  readonly button: HTMLButtonElement;
  /** Per field name: its error element and the controls to mark invalid. */
  readonly slots = new Map<string, { error: HTMLElement; controls: HTMLElement[]; label: string }>();

  constructor(root: HTMLElement, slug: string, definition: Definition) {
    this.root = root;
    this.slug = slug;
    this.definition = definition;
    this.summary = el('div', { class: 'll-summary', role: 'alert', tabindex: '-1' });
    this.status = el('div', { class: 'll-status', role: 'status' });
    this.button = el('button', { type: 'submit' }, definition.submitLabel || 'Submit');
    this.form = el('form', { class: 'll-form', novalidate: true, 'data-leadline-slug': slug }, this.summary);
    for (const field of definition.fields) this.form.append(this.field(field));
    for (const consent of definition.consents ?? []) this.form.append(this.consent(consent));
    this.form.append(this.honeypot(definition.honeypot || '_ll_hp'), this.button, this.status);
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
    show(root, this.form);
  }

  private fid(name: string): string {
    return `${this.id}-${name}`;
  }

  /** Help and error elements under a control, both named by its aria-describedby. */
  private described(name: string, label: string, help: string | undefined, controls: HTMLElement[]) {
    const error = el('p', { class: 'll-error', id: `${this.fid(name)}-error` });
    const helpEl = help ? el('p', { class: 'll-help', id: `${this.fid(name)}-help` }, help) : null;
    const describedBy = [helpEl ? helpEl.id : '', error.id].filter(Boolean).join(' ');
    for (const control of controls) control.setAttribute('aria-describedby', describedBy);
    this.slots.set(name, { error, controls, label });
    return { error, helpEl };
  }

  private field(field: Field): HTMLElement {
    const id = this.fid(field.name);
    const label = field.label || field.name;
    if (field.type === 'hidden') {
      return el('input', { type: 'hidden', name: field.name, value: field.defaultValue ?? '' });
    }
    const required = field.required === true;
    const optionsOf = field.options ?? (field.type === 'country' ? countryOptions() : []);
    // Several choices: a group of checkboxes in a fieldset, whose legend names the question.
    if (field.type === 'multi-select' || (field.type === 'checkbox' && field.options)) {
      const boxes = optionsOf.map((option, i) =>
        el('input', { type: 'checkbox', id: `${id}-${i}`, name: field.name, value: option.value }),
      );
      const { error, helpEl } = this.described(field.name, label, field.help, boxes);
      return el(
        'fieldset',
        { class: 'll-field', id, 'data-ll-required': required ? 'true' : undefined },
        el('legend', {}, label, required ? star() : null),
        helpEl,
        ...boxes.map((box, i) =>
          el('div', { class: 'll-choice' }, box, el('label', { for: box.id }, optionsOf[i]!.label)),
        ),
        error,
      );
    }
    if (field.type === 'checkbox') {
      const box = el('input', { type: 'checkbox', id, name: field.name, value: 'on', required });
      const { error, helpEl } = this.described(field.name, label, field.help, [box]);
      return el(
        'div',
        { class: 'll-field' },
        el('div', { class: 'll-choice' }, box, el('label', { for: id }, label, required ? star() : null)),
        helpEl,
        error,
      );
    }
    const v = field.validation ?? {};
    let control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
    const common = {
      id,
      name: field.name,
      required,
      autocomplete: field.autocomplete,
      'aria-required': required ? 'true' : undefined,
    };
    if (field.type === 'select' || field.type === 'country') {
      control = el(
        'select',
        common,
        el('option', { value: '' }, field.placeholder || 'Choose…'),
        ...optionsOf.map((o) =>
          el('option', { value: o.value, selected: o.value === field.defaultValue }, o.label),
        ),
      );
    } else if (field.type === 'textarea') {
      control = el('textarea', {
        ...common,
        rows: '4',
        placeholder: field.placeholder,
        minlength: v.minLength?.toString(),
        maxlength: v.maxLength?.toString(),
      });
      control.value = field.defaultValue ?? '';
    } else {
      const type =
        field.type === 'email'
          ? 'email'
          : field.type === 'phone'
            ? 'tel'
            : field.type === 'number'
              ? 'number'
              : 'text';
      control = el('input', {
        ...common,
        type,
        placeholder: field.placeholder,
        inputmode: field.type === 'number' ? 'decimal' : undefined,
        minlength: v.minLength?.toString(),
        maxlength: v.maxLength?.toString(),
        pattern: v.pattern,
        min: v.min?.toString(),
        max: v.max?.toString(),
        value: field.defaultValue,
      });
    }
    const { error, helpEl } = this.described(field.name, label, field.help, [control]);
    return el(
      'div',
      { class: 'll-field' },
      el('label', { for: id }, label, required ? star() : null),
      helpEl,
      control,
      error,
    );
  }

  private consent(consent: Consent): HTMLElement {
    const name = `_ll_consent_${consent.purpose}`;
    const id = this.fid(name);
    const box = el('input', {
      type: 'checkbox',
      id,
      name,
      value: `v:${consent.version}`,
      required: consent.required === true,
    });
    const privacy = consent.privacyUrl
      ? el('a', { href: consent.privacyUrl, target: '_blank', rel: 'noopener' }, 'Privacy notice')
      : null;
    const { error } = this.described(name, consent.text, undefined, [box]);
    return el(
      'div',
      { class: 'll-field ll-consent' },
      el(
        'div',
        { class: 'll-choice' },
        box,
        el('label', { for: id }, consent.text, consent.required ? star() : null),
      ),
      privacy ? el('p', { class: 'll-help' }, privacy) : null,
      error,
    );
  }

  /** Invisible to people and screen readers; bots that fill every input fill it. */
  private honeypot(name: string): HTMLElement {
    return el(
      'div',
      { class: 'll-hp', 'aria-hidden': 'true' },
      el('label', { for: this.fid(name) }, 'Leave this field empty'),
      el('input', { type: 'text', id: this.fid(name), name, tabindex: '-1', autocomplete: 'off' }),
    );
  }

  /** The JSON body: the form's values, the reserved fields, the page's context. */
  private values(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const element of Array.from(this.form.elements)) {
      const input = element as HTMLInputElement;
      if (!input.name || input.disabled) continue;
      if (input.type === 'checkbox') {
        if (!input.checked) continue;
        const group = this.form.querySelectorAll(`input[type=checkbox][name="${input.name}"]`).length > 1;
        if (group) out[input.name] = ((out[input.name] as string[] | undefined) ?? []).concat(input.value);
        else out[input.name] = input.value;
      } else if (
        input.value !== '' ||
        input.type === 'hidden' ||
        input.name === (this.definition.honeypot || '_ll_hp')
      ) {
        out[input.name] = input.value;
      }
    }
    out._ll_ts = this.definition.token;
    out._ll_page = location.href;
    if (document.referrer) out._ll_ref = document.referrer;
    const aid = anonymousId();
    if (aid) out._ll_aid = aid;
    const variant = this.root.getAttribute('data-leadline-variant');
    if (variant) out._ll_variant = variant;
    const query = new URLSearchParams(location.search);
    for (const name of UTM) {
      const value = query.get(name);
      if (value) out[name] = value;
    }
    return out;
  }

  /** Shows errors next to their fields and a summary linking to each; focuses the summary. */
  showErrors(errors: { path: string; message: string }[], fallback?: string): void {
    this.clearErrors();
    const items: HTMLElement[] = [];
    for (const error of errors) {
      const name = error.path.startsWith('/fields/') ? error.path.slice(8) : '';
      const slot = this.slots.get(name);
      if (slot) {
        slot.error.textContent = error.message;
        for (const control of slot.controls) control.setAttribute('aria-invalid', 'true');
        const target = slot.controls[0]!.id;
        items.push(el('li', {}, el('a', { href: `#${target}` }, `${slot.label}: ${error.message}`)));
      } else {
        items.push(el('li', {}, error.message));
      }
    }
    if (items.length === 0) items.push(el('li', {}, fallback || 'Something went wrong. Please try again.'));
    this.summary.append(el('h2', {}, 'There is a problem'), el('ul', {}, ...items));
    this.summary.focus();
  }

  private clearErrors(): void {
    this.summary.textContent = '';
    for (const slot of this.slots.values()) {
      slot.error.textContent = '';
      for (const control of slot.controls) control.removeAttribute('aria-invalid');
    }
  }

  /** The browser's own checks (required, type, length, pattern) before anything is sent. */
  private localErrors(): { path: string; message: string }[] {
    const errors: { path: string; message: string }[] = [];
    for (const [name, slot] of this.slots) {
      const first = slot.controls[0] as HTMLInputElement;
      const group = first.closest('fieldset');
      if (group && slot.controls.length > 1) {
        const any = slot.controls.some((c) => (c as HTMLInputElement).checked);
        if (group.getAttribute('data-ll-required') === 'true' && !any)
          errors.push({ path: `/fields/${name}`, message: 'Choose at least one option.' });
        continue;
      }
      if (!first.checkValidity()) errors.push({ path: `/fields/${name}`, message: first.validationMessage });
    }
    return errors;
  }

  async submit(): Promise<void> {
    if (this.button.disabled) return;
    const local = this.localErrors();
    if (local.length > 0) {
      this.showErrors(local);
      return;
    }
    this.button.disabled = true;
    this.status.textContent = 'Sending…';
    try {
      if (Date.now() - this.fetchedAt > TOKEN_REFRESH_MS) {
        this.definition = { ...this.definition, token: (await fetchDefinition(this.slug)).token };
        this.fetchedAt = Date.now();
      }
      // Posted where the definition came from (the script's own Leadline), which is known to answer.
      const response = await fetch(`${base}/f/${encodeURIComponent(this.slug)}`, {
        method: 'POST',
        credentials: 'omit',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(this.values()),
      });
      const body = (await response.json().catch(() => ({}))) as Answer & Problem;
      this.status.textContent = '';
      if (response.ok) return this.succeed(body);
      if (response.status === 429) {
        const wait = response.headers.get('retry-after');
        return this.showErrors(
          [],
          `Too many attempts. Please try again${wait ? ` in ${wait} seconds` : ' shortly'}.`,
        );
      }
      if (response.status === 410) return this.showErrors([], 'This form is closed.');
      this.showErrors(body.errors ?? [], body.detail);
    } catch {
      this.status.textContent = '';
      this.showErrors([], 'The form could not be sent. Check your connection and try again.');
    } finally {
      this.button.disabled = false;
    }
  }

  private succeed(answer: Answer): void {
    this.root.dispatchEvent(new CustomEvent('leadline:submitted', { bubbles: true, detail: answer }));
    if (answer.redirectUrl && /^https?:\/\//i.test(answer.redirectUrl)) {
      location.assign(answer.redirectUrl);
      return;
    }
    const magnet = answer.leadMagnet;
    const thanks = el(
      'div',
      { class: 'll-thanks', role: 'status', tabindex: '-1' },
      el('p', {}, answer.message || 'Thank you!'),
      magnet && /^https?:\/\//i.test(magnet.url)
        ? el(
            'p',
            {},
            el(
              'a',
              { href: magnet.url, class: 'll-magnet', target: '_blank', rel: 'noopener' },
              magnet.title,
            ),
          )
        : null,
    );
    show(this.root, thanks);
    thanks.focus();
  }
}

async function render(root: HTMLElement): Promise<void> {
  const slug = root.getAttribute('data-leadline-form');
  if (!slug || root.hasAttribute(MARK)) return;
  root.setAttribute(MARK, 'loading');
  injectStyle();
  try {
    new EmbeddedForm(root, slug, await fetchDefinition(slug));
    root.setAttribute(MARK, 'true');
  } catch (error) {
    const closed = error instanceof Error && error.message === '410';
    show(
      root,
      el(
        'p',
        { class: 'll-unavailable', role: 'status' },
        closed ? 'This form is closed.' : 'This form is not available right now.',
      ),
    );
    root.setAttribute(MARK, 'failed');
  }
}

function scan(): void {
  for (const root of Array.from(document.querySelectorAll<HTMLElement>('[data-leadline-form]')))
    void render(root);
}

host.leadlineEmbed = { scan };
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', scan);
else scan();
// Single-page apps add form containers after load.
new MutationObserver(scan).observe(document.documentElement, { childList: true, subtree: true });
