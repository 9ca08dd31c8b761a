import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJsonPath, readPath } from './json-path.ts';
import {
  activityProperties,
  assignAnswers,
  buildCapture,
  checkTarget,
  cut,
  parseCompanySize,
  withoutRefused,
} from './mapping.ts';
import {
  eventIdFor,
  parseInboundJson,
  parseTime,
  retryAfterMs,
  type SecretSource,
  safeExternalId,
} from './model.ts';
import { prepareSource } from './source-input.ts';

describe('parseInboundJson', () => {
  it('keeps unsafe integers as digits and safe numbers as numbers', () => {
    const parsed = parseInboundJson('{"a":55459717045641545,"b":42,"c":1.5,"d":[9007199254740993]}');
    assert.deepEqual(parsed, {
      ok: true,
      value: { a: '55459717045641545', b: 42, c: 1.5, d: ['9007199254740993'] },
    });
  });

  it('drops what PostgreSQL cannot store from strings and keys', () => {
    const parsed = parseInboundJson('{"na\\u0000me":"Ad\\u0000a","x":"\\ud800y"}');
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value, { name: 'Ada', x: '\ufffdy' });
    assert.equal(parseInboundJson('{nope').ok, false);
  });
});

describe('parseTime', () => {
  it('reads epoch seconds, epoch ms, digit strings and ISO times with Graph-style offsets', () => {
    assert.equal(parseTime(1447342026), 1447342026000);
    assert.equal(parseTime(1689894599288), 1689894599288);
    assert.equal(parseTime('1447342026'), 1447342026000);
    assert.equal(parseTime('2015-11-12T15:27:06+0000'), Date.UTC(2015, 10, 12, 15, 27, 6));
    assert.equal(parseTime('2015-11-12T16:27:06+01:00'), Date.UTC(2015, 10, 12, 15, 27, 6));
    assert.equal(parseTime('yesterday'), undefined);
    assert.equal(parseTime(-5), undefined);
  });

  it('takes no time before 1970 or past what a Date holds: activities refuse those', () => {
    assert.equal(parseTime('1960-05-01T00:00:00Z'), undefined);
    assert.equal(parseTime('1969-12-31T23:59:59.999Z'), undefined);
    assert.equal(parseTime('1970-01-01T00:00:00Z'), 0);
    assert.equal(parseTime(1e300), undefined);
    assert.equal(parseTime('9999999999999999'), undefined);
  });
});

describe('retryAfterMs', () => {
  it('reads delay seconds and HTTP dates, nothing else', () => {
    const now = Date.UTC(2026, 0, 1);
    assert.equal(retryAfterMs('120', now), 120_000);
    assert.equal(retryAfterMs(' 7 ', now), 7_000);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 00:02:00 GMT', now), 120_000);
    assert.equal(retryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', now), undefined, 'in the past');
    assert.equal(retryAfterMs('0', now), undefined);
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs(undefined, now), undefined);
  });
});

describe('event and external ids', () => {
  it('names activities per platform; generic ids per source; unsafe ids hashed', () => {
    assert.equal(eventIdFor('facebook', 's1', '123'), 'fb:123');
    assert.equal(eventIdFor('linkedin', 's1', 'abc-6'), 'li:abc-6');
    assert.equal(eventIdFor('generic', 's1', '7'), 'gen:s1:7');
    assert.equal(
      safeExternalId('abc-1', () => 'x'),
      'abc-1',
    );
    assert.equal(
      safeExternalId('has space', () => 'f'.repeat(64)),
      `h:${'f'.repeat(40)}`,
    );
  });
});

describe('JSON paths', () => {
  it('reads names, indexes and quoted names, with or without $', () => {
    assert.deepEqual(parseJsonPath('$.contact.email'), { ok: true, segments: ['contact', 'email'] });
    assert.deepEqual(parseJsonPath('answers[0].value'), { ok: true, segments: ['answers', 0, 'value'] });
    assert.deepEqual(parseJsonPath('fields["E-mail address"]'), {
      ok: true,
      segments: ['fields', 'E-mail address'],
    });
    assert.deepEqual(parseJsonPath("$['a.b']"), { ok: true, segments: ['a.b'] });
    for (const bad of ['', 'a..b', 'a.', '$x', 'a[*]', 'a[?(@.x)]', 'x'.repeat(201)])
      assert.equal(parseJsonPath(bad).ok, false, bad);
  });

  it('names one value or nothing, never a prototype member', () => {
    const value = { a: [{ b: 1 }], c: { d: null } };
    const read = (path: string) => {
      const parsed = parseJsonPath(path);
      assert.ok(parsed.ok);
      return readPath(value, parsed.segments);
    };
    assert.equal(read('a[0].b'), 1);
    assert.equal(read('c.d'), null);
    assert.equal(read('a.b'), undefined);
    assert.equal(read('c.constructor'), undefined);
    assert.equal(read('a[3]'), undefined);
  });
});

describe('field mapping', () => {
  it('checks targets', () => {
    for (const good of ['email', 'fullName', 'properties.budget', 'utm.campaign', 'ignore'])
      assert.equal(checkTarget(good), undefined, good);
    for (const bad of ['mail', 'properties.1x', 'properties.', 'utm.gclid', 'stage', 'ownerId'])
      assert.ok(checkTarget(bad), bad);
  });

  it('prefers explicit entries, then the best-ranked usual name, first answer on ties', () => {
    const answers = [
      { keys: ['work_email'], label: 'work_email', value: 'w@acme.io' },
      { keys: ['email'], label: 'email', value: 'e@acme.io' },
      { keys: ['Phone'], label: 'Phone', value: '' },
      { keys: ['mobile'], label: 'mobile', value: '+44 20 7946 0958' },
      { keys: ['budget'], label: 'budget', value: '10k' },
    ];
    const defaults = assignAnswers(answers, {});
    assert.equal(defaults.fields.get('email'), 'e@acme.io');
    assert.equal(defaults.fields.get('phone'), '+44 20 7946 0958', 'an empty answer does not take a field');
    assert.deepEqual(
      defaults.unmapped.map((a) => a.label),
      ['work_email', 'Phone', 'budget'],
    );
    const explicit = assignAnswers(answers, {
      WORK_EMAIL: 'email',
      budget: 'properties.budget',
      email: 'ignore',
    });
    assert.equal(explicit.fields.get('email'), 'w@acme.io');
    assert.equal(explicit.fields.get('properties.budget'), '10k');
    assert.deepEqual(
      explicit.unmapped.map((a) => a.label),
      ['Phone'],
    );
  });

  it('reads company sizes from numbers and ranges', () => {
    assert.equal(parseCompanySize(250), 250);
    assert.equal(parseCompanySize('51-200'), 51);
    assert.equal(parseCompanySize('1,001-5,000 employees'), 1001);
    assert.equal(parseCompanySize('10,000+'), 10000);
    assert.equal(parseCompanySize('about 2.5k'), 2);
    assert.equal(parseCompanySize('many'), undefined);
  });

  it('builds a capture: cut to size, full name split, lists joined, platform UTM under the mapped one', () => {
    const fields = new Map<never, never>([
      ['fullName', 'Ada Byron King'],
      ['lastName', 'Lovelace'],
      ['company', 'x'.repeat(400)],
      ['companySize', '11-50'],
      ['properties.interests', ['a', 'b']],
      ['utm.campaign', 'spring'],
      ['industry', ['Software', 'Hardware']],
    ] as never);
    assert.deepEqual(
      buildCapture(fields, { source: 'facebook', medium: 'paid_social', campaign: '6041' }, { source: 'fb' }),
      {
        source: 'fb',
        lastName: 'Lovelace',
        firstName: 'Ada',
        company: 'x'.repeat(300),
        companySize: 11,
        industry: 'Software, Hardware',
        properties: { interests: ['a', 'b'] },
        utm: { source: 'facebook', medium: 'paid_social', campaign: 'spring' },
      },
    );
  });

  it('drops refused fields as long as an email or phone is left', () => {
    const capture = { email: 'a@example.com', phone: 'call me', properties: { x: 1, y: 2 }, source: 's' };
    const kept = withoutRefused(capture, [
      { path: '/phone', message: 'is not a valid phone number' },
      { path: '/properties/x', message: 'is not defined' },
    ]);
    assert.deepEqual(kept?.capture, { email: 'a@example.com', properties: { y: 2 }, source: 's' });
    assert.equal(kept?.dropped.length, 2);
    assert.equal(capture.phone, 'call me', 'the input is left as it was');
    assert.equal(withoutRefused({ email: 'nope' }, [{ path: '/email', message: 'is not valid' }]), undefined);
    assert.equal(withoutRefused({ phone: '1' }, [{ path: '/', message: '?' }]), undefined);
  });

  it('keeps the activity within the event size limit, longest answers dropped first', () => {
    const answers = Array.from({ length: 60 }, (_, i) => ({
      keys: [`q${i}`],
      label: `q${i}`,
      value: 'x'.repeat(i === 3 ? 500 : 300),
    }));
    const properties = activityProperties(
      { kind: 'generic', sourceId: 's1', sourceName: 'Zapier', form: null },
      { externalId: 'e1', occurredAt: null, answers, facts: {}, utm: {} },
      answers,
      { source: 'zapier' },
      [],
    );
    assert.ok(Buffer.byteLength(JSON.stringify(properties)) <= 12 * 1024);
    const kept = properties.answers as Record<string, string>;
    assert.ok(!('q3' in kept), 'the longest went first');
    assert.ok(Object.keys(kept).length > 30 && Object.keys(kept).length <= 50);
    assert.equal(properties.form, 'Zapier');
    assert.equal(properties.platform, 'generic');
  });

  it('keeps the whole activity within budget, whatever the platform sends: facts, form name, consents', () => {
    const huge = 'x'.repeat(17_000);
    const consents = Array.from({ length: 40 }, (_, i) => ({
      id: `${i}${huge}`,
      accepted: true,
      text: `\u0001${huge}`,
    }));
    const properties = activityProperties(
      { kind: 'linkedin', sourceId: 's1', sourceName: 'LinkedIn', form: null },
      {
        externalId: 'e1',
        occurredAt: null,
        answers: [],
        facts: { platformFormId: huge, campaignId: '\u0001'.repeat(5_000), testLead: true },
        formName: huge,
        utm: {},
        consents,
      },
      [{ keys: ['q'], label: huge, value: huge }],
      { source: 'linkedin' },
      [{ path: `/properties/${huge}`, message: 'is not defined' }],
    );
    assert.ok(Buffer.byteLength(JSON.stringify(properties)) <= 12 * 1024, 'within 12 KiB');
    assert.equal(properties.form, 'x'.repeat(200));
    assert.equal(properties.platformFormId, 'x'.repeat(200));
    assert.equal(properties.testLead, true);
    assert.equal(properties.externalLeadId, 'e1');
    const kept = properties.consents as Array<{ id: string; text?: string }> | undefined;
    assert.ok(!kept || kept.length <= 20);
  });

  it('cuts texts without splitting a character (PostgreSQL refuses a lone surrogate in JSON)', () => {
    assert.equal(cut('abc', 5), 'abc');
    assert.equal(cut(`${'x'.repeat(4)}😀`, 5), 'xxxx');
    assert.equal(cut(`${'x'.repeat(3)}😀`, 5), 'xxx😀');
    assert.ok(cut('😀'.repeat(300), 501).isWellFormed());
  });
});

describe('prepareSource', () => {
  const options = { id: 'src-1', now: 1000, newSecret: () => 'generated-secret-0123456789abcdef' };

  it('needs the secret only the platform can give, and generates the ones a person would choose', () => {
    const missing = prepareSource(null, { kind: 'facebook', name: 'FB' }, options);
    assert.deepEqual(!missing.ok && missing.errors, [{ path: '/secrets/appSecret', message: 'is required' }]);
    const fb = prepareSource(
      null,
      { kind: 'facebook', name: ' FB ', secrets: { appSecret: 'app-secret-1' } },
      options,
    );
    assert.ok(fb.ok);
    assert.deepEqual(fb.source.secrets, {
      appSecret: 'app-secret-1',
      verifyToken: 'generated-secret-0123456789abcdef',
    });
    assert.deepEqual(fb.source.secretsSet, ['appSecret', 'verifyToken']);
    assert.equal(fb.source.name, 'FB');
    assert.equal(fb.source.source, 'facebook_lead_ads');
    assert.deepEqual(fb.source.settings, { graphBaseUrl: 'https://graph.facebook.com/v21.0' });
    const generic = prepareSource(null, { kind: 'generic', name: 'Zapier' }, options);
    assert.ok(generic.ok);
    assert.deepEqual(generic.source.settings, {
      auth: 'token',
      signatureHeader: 'x-leadline-signature',
      itemsPath: null,
      idPath: null,
      occurredAtPath: null,
    });
  });

  it('names every bad field', () => {
    const bad = prepareSource(
      null,
      {
        kind: 'generic',
        name: '  ',
        fieldMapping: { 'a..b': 'email', ok: 'nope' },
        settings: { auth: 'basic', graphBaseUrl: 'https://x' },
        secrets: { token: 'short', appSecret: 'x'.repeat(20) },
      },
      options,
    );
    assert.ok(!bad.ok);
    assert.deepEqual(
      bad.errors.map((e) => e.path),
      [
        '/name',
        '/fieldMapping/a..b',
        '/fieldMapping/ok',
        '/settings/graphBaseUrl',
        '/settings/auth',
        '/secrets/token',
        '/secrets/appSecret',
      ],
    );
    const url = prepareSource(
      null,
      {
        kind: 'linkedin',
        name: 'LI',
        settings: { apiBaseUrl: 'ftp://x', apiVersion: '2026' },
        secrets: { clientSecret: 'client-secret' },
      },
      options,
    );
    assert.deepEqual(!url.ok && url.errors.map((e) => e.path), [
      '/settings/apiBaseUrl',
      '/settings/apiVersion',
    ]);
  });

  it('changes what is given: kind fixed, settings and secrets merged, null resets or removes', () => {
    const created = prepareSource(
      null,
      {
        kind: 'facebook',
        name: 'FB',
        settings: { graphBaseUrl: 'http://127.0.0.1:9/v21.0/' },
        secrets: { appSecret: 'app-secret-1', pageAccessToken: 'page-token-1' },
      },
      options,
    );
    assert.ok(created.ok);
    assert.equal(
      (created.source.settings as { graphBaseUrl: string }).graphBaseUrl,
      'http://127.0.0.1:9/v21.0',
    );
    const current: SecretSource = created.source;
    const changed = prepareSource(
      current,
      { name: 'FB ads', settings: { graphBaseUrl: null }, secrets: { pageAccessToken: null } },
      { ...options, now: 2000 },
    );
    assert.ok(changed.ok);
    assert.equal(changed.source.name, 'FB ads');
    assert.equal(
      (changed.source.settings as { graphBaseUrl: string }).graphBaseUrl,
      'https://graph.facebook.com/v21.0',
    );
    assert.deepEqual(changed.source.secretsSet, ['appSecret', 'verifyToken']);
    assert.equal(changed.source.createdAt, 1000);
    assert.equal(changed.source.updatedAt, 2000);
    const refused = prepareSource(current, { kind: 'generic', secrets: { appSecret: null } }, options);
    assert.deepEqual(!refused.ok && refused.errors.map((e) => e.path), ['/kind', '/secrets/appSecret']);
  });
});
