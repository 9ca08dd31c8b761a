import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  captureErrorsAsFieldErrors,
  fitAnswers,
  fitSubmissionProperties,
  parseSubmission,
  readValues,
} from './fields.ts';
import type { FormField } from './model.ts';

/** readValues' answer with the values as a plain object, to compare. */
const read = (raw: unknown) => {
  const result = readValues(raw);
  return { ...result, values: { ...result.values } };
};

describe('readValues', () => {
  it('reads flat bodies and { fields } bodies alike, as text', () => {
    assert.deepEqual(read({ email: 'a@x.io', size: 40, ok: true, none: null, tags: ['a', 2] }), {
      ok: true,
      values: { email: 'a@x.io', size: '40', ok: 'true', tags: ['a', '2'] },
    });
    assert.deepEqual(read({ fields: { email: 'a@x.io' } }), { ok: true, values: { email: 'a@x.io' } });
  });

  it('drops __proto__ and gives the values no prototype: toString or length are names like any other', () => {
    // As a form-encoded `__proto__=x&__proto__=y` or a JSON key arrives: an own property.
    const result = readValues(JSON.parse('{"email":"a@x.io","__proto__":["x","y"],"toString":"t"}'));
    assert.ok(result.ok);
    assert.equal(Object.getPrototypeOf(result.values), null);
    assert.deepEqual(Object.keys(result.values), ['email', 'toString']);
    assert.equal(result.values.length, undefined);
    assert.equal(result.values.toString, 't');
  });

  it('refuses what is not a flat object of values, naming the field', () => {
    assert.deepEqual(read('email=a'), {
      ok: false,
      errors: [{ path: '/fields', message: 'must be an object of field names and values' }],
      values: {},
    });
    const nested = readValues({ email: { $gt: '' }, tags: [['x']], name: 'Ada' });
    assert.deepEqual(nested.ok ? [] : nested.errors.map((e) => e.path), ['/fields/email', '/fields/tags']);
    assert.deepEqual({ ...nested.values }, { name: 'Ada' }, 'what could be read, to show the form again');
  });

  it('refuses text that cannot be stored (NUL, lone surrogates) on its field', () => {
    const result = readValues({ fields: { email: 'a\u0000@x.io', first_name: '\ud800', company: 'Acme' } });
    assert.ok(!result.ok);
    assert.deepEqual(
      result.errors.map((e) => e.path),
      ['/fields/email', '/fields/first_name'],
    );
    assert.deepEqual({ ...result.values }, { company: 'Acme' });
  });
});

const fields: FormField[] = [
  { name: 'email', type: 'email', required: true, maps: 'email' },
  { name: 'phone', type: 'phone', maps: 'phone' },
  { name: 'size', type: 'number', maps: 'companySize' },
  { name: 'country', type: 'country', maps: 'country' },
  { name: 'plan', type: 'select', maps: 'properties.plan', options: [{ value: 'pro', label: 'Pro' }] },
  {
    name: 'topics',
    type: 'multi-select',
    options: [
      { value: 'a', label: 'A' },
      { value: 'b', label: 'B' },
    ],
  },
  { name: 'agree', type: 'checkbox', required: true },
  { name: 'code', type: 'text', validation: { pattern: '[A-Z]{3}', minLength: 3 } },
  { name: 'note', type: 'textarea', validation: { maxLength: 10 } },
  { name: 'seats', type: 'number', validation: { min: 1, max: 100 } },
  { name: 'campaign', type: 'hidden', defaultValue: 'spring', maps: 'properties.campaign' },
];
const form = {
  fields,
  consents: [
    { purpose: 'terms', text: 'Terms', version: '1', required: true },
    { purpose: 'news', text: 'News', version: '2' },
  ],
  source: 'newsletter',
};

describe('parseSubmission', () => {
  it('reads only the names that were posted: a field named like a built-in is simply absent', () => {
    // Refused when a form is saved; a stored one still must not turn a lookup into a function.
    const odd: FormField[] = [
      { name: 'email', type: 'email', maps: 'email' },
      { name: 'toString', type: 'text', required: true },
      { name: 'constructor', type: 'checkbox' },
      { name: 'valueOf', type: 'hidden' },
    ];
    // Values read back from the quarantine's JSON are plain objects, with Object's prototype.
    const values = JSON.parse('{"email":"a@x.io"}');
    const parsed = parseSubmission({ fields: odd, consents: [], source: null }, odd, values);
    assert.deepEqual(parsed.ok ? [] : parsed.errors, [
      { path: '/fields/toString', message: 'This field is required.' },
    ]);
    const given = parseSubmission({ fields: odd, consents: [], source: null }, odd, {
      ...values,
      toString: 'x',
    });
    assert.ok(given.ok);
    assert.deepEqual(given.value.answers, { toString: 'x' });
  });

  it('matches validation patterns in linear time, whatever the answer', () => {
    const slow: FormField[] = [
      { name: 'email', type: 'email', maps: 'email' },
      { name: 'code', type: 'text', validation: { pattern: '\\w*\\w*\\w*\\w*\\w*\\w*!', maxLength: 20_000 } },
    ];
    const started = performance.now();
    const parsed = parseSubmission({ fields: slow, consents: [], source: null }, slow, {
      email: 'a@x.io',
      code: 'a'.repeat(20_000),
    });
    // A backtracking RegExp needs 22 s for 100 characters of this.
    assert.ok(performance.now() - started < 2_000, `${performance.now() - started} ms`);
    assert.deepEqual(parsed.ok ? [] : parsed.errors, [
      { path: '/fields/code', message: 'Use the format asked for.' },
    ]);
    const good = parseSubmission({ fields: slow, consents: [], source: null }, slow, {
      email: 'a@x.io',
      code: 'abc!',
    });
    assert.ok(good.ok);
  });

  it("reads a national phone in the country the person chose, then in the workspace's", () => {
    const phoneOf = (phone: string, country: string) => {
      const parsed = parseSubmission(
        form,
        fields,
        { email: 'a@b.co', phone, country, agree: 'on', _ll_consent_terms: 'on' },
        { defaultCountry: 'GB' },
      );
      assert.ok(parsed.ok, JSON.stringify(parsed));
      return parsed.value.capture.phone;
    };
    assert.equal(phoneOf('(415) 555-2671', 'United States'), '+14155552671');
    assert.equal(phoneOf('020 7946 0958', 'United States'), '+442079460958');
  });

  it('types and normalises each value, fills the capture and keeps the other answers', () => {
    const parsed = parseSubmission(
      form,
      fields,
      {
        email: ' Ada@Example.COM ',
        phone: '020 7946 0958',
        size: '40',
        country: 'Germany',
        plan: 'pro',
        topics: ['b', 'a', 'b'],
        agree: 'on',
        code: 'ABC',
        note: 'short',
        seats: '12',
        _ll_consent_terms: 'on',
        _ll_page: 'https://www.example.com/p?utm_source=x',
        _ll_ref: 'javascript:alert(1)',
        _ll_aid: 'v1',
        utm_source: 'google',
        _ll_hp: '',
      },
      { defaultCountry: 'GB' },
    );
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.deepEqual(parsed.value.capture, {
      email: 'ada@example.com',
      phone: '+442079460958',
      companySize: 40,
      country: 'DE',
      source: 'newsletter',
      utm: { source: 'google' },
      landingPage: 'https://www.example.com/p?utm_source=x',
      properties: { plan: 'pro', campaign: 'spring' },
    });
    assert.deepEqual(parsed.value.answers, {
      topics: ['b', 'a'],
      agree: true,
      code: 'ABC',
      note: 'short',
      seats: 12,
    });
    assert.deepEqual(
      parsed.value.consents.map((c) => c.purpose),
      ['terms'],
    );
    assert.equal(parsed.value.meta.referrer, undefined, 'a referrer that is not an http URL is dropped');
    assert.equal(parsed.value.meta.anonymousId, 'v1');
    assert.equal(parsed.value.emailDisposable, false);
  });

  it('reports every problem at /fields/<name>, in the person’s words', () => {
    const parsed = parseSubmission(form, fields, {
      email: 'nope',
      phone: '12',
      size: '4.5',
      country: 'Atlantis',
      plan: 'gold',
      topics: ['c'],
      code: 'abc',
      note: 'far too long for this',
      seats: '0',
    });
    assert.ok(!parsed.ok);
    assert.deepEqual(parsed.errors, [
      { path: '/fields/email', message: 'Enter a valid email address.' },
      { path: '/fields/phone', message: 'Enter a valid phone number, with its country code.' },
      { path: '/fields/size', message: 'Enter a whole number.' },
      { path: '/fields/country', message: 'Choose a country from the list.' },
      { path: '/fields/plan', message: 'Choose one of the options.' },
      { path: '/fields/topics', message: 'Choose among the options.' },
      { path: '/fields/agree', message: 'Tick this box to continue.' },
      { path: '/fields/code', message: 'Use the format asked for.' },
      { path: '/fields/note', message: 'Use at most 10 characters.' },
      { path: '/fields/seats', message: 'Enter a number of at least 1.' },
      { path: '/fields/_ll_consent_terms', message: 'Tick this box to continue.' },
    ]);
  });

  it('requires only the required fields that were shown', () => {
    const shown = fields.filter((f) => f.name !== 'agree');
    const parsed = parseSubmission(form, shown, { email: 'a@x.io', _ll_consent_terms: 'true' });
    assert.ok(parsed.ok, JSON.stringify(parsed));
    const missing = parseSubmission(form, shown, { _ll_consent_terms: 'true' });
    assert.deepEqual(missing.ok ? [] : missing.errors, [
      { path: '/fields/email', message: 'This field is required.' },
    ]);
  });
});

describe('error paths and answers', () => {
  it('re-addresses lead errors to the fields that fill them', () => {
    assert.deepEqual(
      captureErrorsAsFieldErrors({ fields }, [
        { path: '/email', message: 'm1' },
        { path: '/properties/plan', message: 'm2' },
        { path: '/website', message: 'm3' },
      ]),
      [
        { path: '/fields/email', message: 'm1' },
        { path: '/fields/plan', message: 'm2' },
        { path: '/fields', message: 'm3' },
      ],
    );
  });

  it('cuts the longest answers until they fit the activity', () => {
    const fitted = fitAnswers({ a: 'x'.repeat(10_000), b: 'short', c: ['1', '2'] }, 2_000);
    assert.ok(Buffer.byteLength(JSON.stringify(fitted)) <= 2_000);
    assert.equal(fitted.b, 'short');
    assert.deepEqual(fitted.c, ['1', '2']);
    assert.ok(String(fitted.a).endsWith('…'));
  });
});

describe('fitSubmissionProperties', () => {
  const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
  const meta = (url: string) => ({
    form: 'Demo',
    pageUrl: `https://example.com/?${url}`,
    referrer: `https://ref.example/?${url}`,
    utm: { source: 's'.repeat(200), campaign: 'c'.repeat(200) },
  });

  it('keeps everything when it fits', () => {
    const fitted = fitSubmissionProperties(meta('x'), { q: 'answer' }, 16_384, 12_288);
    assert.deepEqual(fitted, { ...meta('x'), answers: { q: 'answer' } });
  });

  it('gives the answers the room the rest leaves, at most their budget', () => {
    const fitted = fitSubmissionProperties(meta('x'.repeat(1500)), { q: 'a'.repeat(20_000) }, 16_384, 12_288);
    assert.ok(size(fitted) <= 16_384);
    assert.ok(size(fitted.answers) <= 12_288);
    assert.equal(fitted.referrer, meta('x'.repeat(1500)).referrer, 'the attribution fits beside the answers');
  });

  it('drops the referrer, then the page URL, then the UTM, until the answers have room', () => {
    const wide = meta('€'.repeat(1990)); // 3 bytes each: ~6 KB a URL
    const fitted = fitSubmissionProperties(wide, { q: 'a'.repeat(10_000) }, 16_384, 12_288);
    assert.ok(size(fitted) <= 16_384);
    assert.equal(fitted.referrer, null);
    assert.equal(fitted.pageUrl, wide.pageUrl);
    assert.ok(size(fitted.answers) >= 4_000);
    const wider = { ...wide, utm: { source: '€'.repeat(4500) } };
    const tight = fitSubmissionProperties(wider, { q: 'a'.repeat(10_000) }, 16_384, 12_288);
    assert.ok(size(tight) <= 16_384);
    assert.deepEqual([tight.referrer, tight.pageUrl, tight.utm], [null, null, null]);
  });

  it('never exceeds the limit, even when what cannot be dropped does not leave room', () => {
    const fitted = fitSubmissionProperties(
      { form: 'x'.repeat(15_000) },
      { q: 'a'.repeat(5000) },
      16_384,
      12_288,
    );
    assert.ok(size(fitted) <= 16_384);
  });
});
