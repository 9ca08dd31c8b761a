import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Lead } from '../leads/model.ts';
import {
  checkFormSettings,
  defaultSpamSettings,
  type FormField,
  type FormSettings,
  fieldsToShow,
  isOpen,
  isUnsafePattern,
  normaliseOrigin,
  normaliseSettings,
  originAllowed,
  resolveLeadMagnet,
  submissionFingerprint,
} from './model.ts';

const settings = (extra: Partial<FormSettings> = {}): FormSettings => ({
  fields: [{ name: 'email', type: 'email', maps: 'email', required: true }],
  consents: [],
  submitLabel: null,
  thankYou: null,
  leadMagnet: null,
  notify: [],
  doubleOptIn: false,
  allowedOrigins: [],
  progressive: null,
  spam: defaultSpamSettings,
  source: null,
  ...extra,
});

describe('origins', () => {
  it('normalises origins as browsers send them, and refuses paths and other schemes', () => {
    assert.equal(normaliseOrigin('HTTPS://WWW.Example.COM/'), 'https://www.example.com');
    assert.equal(normaliseOrigin('https://example.com:443'), 'https://example.com');
    assert.equal(normaliseOrigin('http://localhost:8080'), 'http://localhost:8080');
    assert.equal(normaliseOrigin('https://*.example.com'), 'https://*.example.com');
    assert.equal(normaliseOrigin('https://example.com/path'), undefined);
    assert.equal(normaliseOrigin('ftp://example.com'), undefined);
    assert.equal(normaliseOrigin('https://example.com:99999'), undefined);
  });

  it('allows exact origins and subdomains of a wildcard, never the bare domain or another scheme or port', () => {
    const allowed = ['https://www.example.com', 'https://*.example.org'];
    assert.ok(originAllowed(allowed, 'https://www.example.com'));
    assert.ok(originAllowed(allowed, 'https://blog.example.org'));
    assert.ok(originAllowed(allowed, 'https://a.b.example.org'));
    assert.ok(!originAllowed(allowed, 'https://example.org'));
    assert.ok(!originAllowed(allowed, 'https://evilexample.org'));
    assert.ok(!originAllowed(allowed, 'http://www.example.com'));
    assert.ok(!originAllowed(allowed, 'https://www.example.com:8443'));
    assert.ok(!originAllowed(allowed, 'https://blog.example.org:8443'));
    assert.ok(!originAllowed(allowed, 'null'));
    assert.ok(!originAllowed(allowed, 'https://*.example.org'), 'a pattern is not an origin');
    assert.ok(!originAllowed([], 'https://www.example.com'));
  });
});

describe('isUnsafePattern', () => {
  it('refuses nested repetitions that can backtrack for ever, keeps ordinary patterns', () => {
    for (const bad of ['(a+)+$', '(\\w*)*', '(a|aa)+', '((ab)*c)+', '(?:x+y?)+'])
      assert.ok(isUnsafePattern(bad), bad);
    for (const good of ['[A-Z]{2}[0-9]{4}', '\\d{5}(-\\d{4})?', '(ab)+', '[(+]+', 'a+b*', '(\\+)+'])
      assert.ok(!isUnsafePattern(good), good);
  });
});

describe('checkFormSettings', () => {
  it('accepts a sound definition', () => {
    assert.deepEqual(checkFormSettings(settings()), []);
  });

  it('needs email or phone, maps each target once and by a fitting type', () => {
    const errors = checkFormSettings(
      settings({
        fields: [
          { name: 'note', type: 'textarea', maps: 'company' },
          { name: 'org', type: 'text', maps: 'company' },
          { name: 'size', type: 'checkbox', maps: 'companySize' },
          { name: 'x', type: 'text', maps: 'nickname' },
        ],
      }),
    );
    assert.deepEqual(
      errors.map((e) => e.path),
      ['/fields/1/maps', '/fields/2/maps', '/fields/3/maps', '/fields'],
    );
  });

  it('refuses field names objects and lists have already (toString, constructor, length…)', () => {
    const names = ['toString', 'constructor', 'length', 'hasOwnProperty', 'valueOf', 'map'];
    const errors = checkFormSettings(
      settings({
        fields: [
          { name: 'email', type: 'email', maps: 'email' },
          ...names.map((name) => ({ name, type: 'text' as const })),
          { name: 'lengthy', type: 'text' },
        ],
      }),
    );
    assert.deepEqual(
      errors.map((e) => e.path),
      names.map((_, i) => `/fields/${i + 1}/name`),
    );
  });

  it('takes validation patterns RE2 matches in linear time; refuses backreferences, lookarounds and huge programs', () => {
    const patternErrors = (pattern: string) =>
      checkFormSettings(
        settings({
          fields: [
            { name: 'email', type: 'email', maps: 'email' },
            { name: 'code', type: 'text', validation: { pattern } },
          ],
        }),
      ).map((e) => e.path);
    for (const good of ['[A-Z]{2}\\d{4}', '\\w*\\w*\\w*\\w*\\w*\\w*!', '(?<area>\\d{3})-\\d{4}', '\\p{L}+'])
      assert.deepEqual(patternErrors(good), [], good);
    for (const bad of [
      '(a)\\1',
      '(?<n>a)\\k<n>',
      '(?=a)a',
      '(?!a)b',
      '(?<=a)b',
      '(?<!a)b',
      '\\u00e9',
      '(?:\\w{0,999}\\w{0,999}\\w{0,999})*!',
      '(',
    ])
      assert.deepEqual(patternErrors(bad), ['/fields/1/validation/pattern'], bad);
  });

  it('normalises the URLs it stores: no line break can reach a Location header', () => {
    const normalised = normaliseSettings(
      settings({
        thankYou: { redirectUrl: 'https://example.com/thanks\r\nSet-Cookie: a=b' },
        leadMagnet: { title: 'Guide', url: ' https://cdn.example.com/guide book.pdf\n' },
        consents: [
          { purpose: 'news', text: 'News', version: '1', privacyUrl: 'https://EXAMPLE.com/pri\tvacy' },
        ],
      }),
    );
    assert.equal(normalised.thankYou?.redirectUrl, 'https://example.com/thanksSet-Cookie:%20a=b');
    assert.deepEqual(normalised.leadMagnet, {
      title: 'Guide',
      url: 'https://cdn.example.com/guide%20book.pdf',
    });
    assert.equal(normalised.consents[0]?.privacyUrl, 'https://example.com/privacy');
  });

  it('wants double opt-in forms to collect an email, and checks the progressive queue', () => {
    const phoneOnly = settings({
      fields: [{ name: 'phone', type: 'phone', maps: 'phone' }],
      consents: [{ purpose: 'news', text: 'News', version: '1' }],
      doubleOptIn: true,
      progressive: { queue: ['phone'] },
    });
    assert.deepEqual(
      checkFormSettings(phoneOnly).map((e) => e.path),
      ['/doubleOptIn', '/progressive/queue/0'],
    );
  });
});

const lead = (known: Partial<Lead>): Lead => ({ properties: {}, ...known }) as Lead;

describe('resolveLeadMagnet', () => {
  const file = { name: 'guide.pdf', contentType: 'application/pdf', size: 10, sha256: 'ab' };
  const url = { title: 'Guide', url: 'https://cdn.example.com/g.pdf' };

  it('keeps the magnet when not named, clears it with null, and a URL replaces a file', () => {
    assert.deepEqual(resolveLeadMagnet(undefined, { title: 'T', file }), {
      ok: true,
      value: { title: 'T', file },
    });
    assert.deepEqual(resolveLeadMagnet(null, { title: 'T', file }), { ok: true, value: null });
    assert.deepEqual(resolveLeadMagnet(url, { title: 'T', file }), { ok: true, value: url });
  });

  it('renames a file with a title alone, which is not enough without one', () => {
    assert.deepEqual(resolveLeadMagnet({ title: 'New' }, { title: 'T', file }), {
      ok: true,
      value: { title: 'New', file },
    });
    for (const current of [null, url]) {
      const resolved = resolveLeadMagnet({ title: 'New' }, current);
      assert.equal(resolved.ok, false);
      assert.equal(!resolved.ok && resolved.error.path, '/leadMagnet/url');
    }
  });
});

describe('fieldsToShow', () => {
  const fields: FormField[] = [
    { name: 'email', type: 'email', maps: 'email' },
    { name: 'first', type: 'text', maps: 'firstName' },
    { name: 'company', type: 'text', maps: 'company' },
    { name: 'ref', type: 'hidden', defaultValue: 'x' },
    { name: 'comment', type: 'textarea' },
    { name: 'title', type: 'text', maps: 'jobTitle' },
    { name: 'plan', type: 'text', maps: 'properties.plan' },
    { name: 'city', type: 'text', maps: 'city' },
  ];
  const form = { fields, progressive: { queue: ['title', 'plan', 'city'] } };
  const names = (list: FormField[]) => list.map((f) => f.name);

  it('shows a new visitor the fields outside the queue', () => {
    assert.deepEqual(names(fieldsToShow(form, undefined)), ['email', 'first', 'company', 'ref', 'comment']);
    assert.deepEqual(
      names(fieldsToShow({ fields, progressive: null }, lead({ firstName: 'Ada' }))),
      names(fields),
    );
  });

  it('replaces what is known by the next unknown fields of the queue; email, hidden and unmapped fields stay', () => {
    const ada = lead({
      email: 'a@x.io',
      firstName: 'Ada',
      company: 'AE',
      jobTitle: null,
      properties: { plan: 'pro' },
    });
    assert.deepEqual(names(fieldsToShow(form, ada)), ['email', 'ref', 'comment', 'title', 'city']);
  });

  it('stops at maxFields visible fields', () => {
    const ada = lead({ email: 'a@x.io', firstName: 'Ada', company: 'AE' });
    const capped = { fields, progressive: { queue: ['title', 'plan', 'city'], maxFields: 3 } };
    assert.deepEqual(names(fieldsToShow(capped, ada)), ['email', 'ref', 'comment', 'title']);
  });
});

describe('submissions', () => {
  const form = {
    id: 'f1',
    fields: [
      { name: 'email', type: 'email' as const },
      { name: 'tags', type: 'multi-select' as const },
    ],
    consents: [],
  };

  it('fingerprints the consent boxes ticked too: ticking one and sending again is a new answer', () => {
    const withConsent = { ...form, consents: [{ purpose: 'news', text: 'News', version: '1' }] };
    const plain = submissionFingerprint(withConsent, { email: 'ada@x.io' });
    assert.equal(plain, submissionFingerprint(withConsent, { email: 'ada@x.io', _ll_consent_news: '' }));
    const ticked = submissionFingerprint(withConsent, { email: 'ada@x.io', _ll_consent_news: 'on' });
    assert.notEqual(plain, ticked);
    assert.equal(ticked, submissionFingerprint(withConsent, { email: 'ada@x.io', _ll_consent_news: 'true' }));
    // A consent the form does not ask is not an answer.
    assert.equal(plain, submissionFingerprint(withConsent, { email: 'ada@x.io', _ll_consent_other: 'on' }));
  });

  it('fingerprints the answers, not the reserved fields, case, spacing or list order', () => {
    const a = submissionFingerprint(form, {
      email: 'Ada@x.io ',
      tags: ['b', 'a'],
      _ll_ts: '1',
      _ll_page: 'p',
    });
    const b = submissionFingerprint(form, { email: 'ada@x.io', tags: ['a', 'b'], _ll_ts: '2' });
    assert.equal(a, b);
    assert.notEqual(a, submissionFingerprint(form, { email: 'grace@x.io', tags: ['a', 'b'] }));
    assert.notEqual(a, submissionFingerprint({ ...form, id: 'f2' }, { email: 'ada@x.io', tags: ['a', 'b'] }));
  });

  it('takes submissions only while active and not archived', () => {
    assert.ok(isOpen({ status: 'active', archivedAt: null }));
    assert.ok(!isOpen({ status: 'closed', archivedAt: null }));
    assert.ok(!isOpen({ status: 'active', archivedAt: 1 }));
  });
});
