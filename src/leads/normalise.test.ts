import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { domainToUnicode } from 'node:url';
import fc from 'fast-check';
import {
  companyDomainFromEmail,
  isDisposableEmail,
  normaliseCountry,
  normaliseEmail,
  normalisePhone,
  normalisePhoneIn,
  normaliseText,
  normaliseWebsite,
} from './normalise.ts';

describe('normaliseText', () => {
  test('trims and composes to NFC', () => {
    assert.equal(normaliseText('  Ame\u0301lie '), 'Am\u00e9lie');
    assert.equal(normaliseText('Bjo\u0308rn'), normaliseText('Bj\u00f6rn'));
  });

  test('keeps compatibility characters as written (NFC, not NFKC)', () => {
    assert.equal(normaliseText('\ufb01nance m\u00b2'), '\ufb01nance m\u00b2');
  });

  test('gives one form for both spellings of any text, and is a fixed point', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const once = normaliseText(text);
        assert.equal(normaliseText(text.normalize('NFD')), once);
        assert.equal(normaliseText(once), once);
      }),
    );
  });
});

describe('normaliseEmail', () => {
  const valid: [string, string][] = [
    ['jane@acme.com', 'jane@acme.com'],
    ['  Jane.Doe@ACME.com  ', 'jane.doe@acme.com'],
    ['jane+leads@mail.acme.co.uk', 'jane+leads@mail.acme.co.uk'],
    ["o'brien@acme.ie", "o'brien@acme.ie"],
    ['a_b-c{d}@sub-domain.acme.io', 'a_b-c{d}@sub-domain.acme.io'],
    ['x@xn--80ak6aa92e.xn--p1ai', 'x@xn--80ak6aa92e.xn--p1ai'],
    ['x@пример.рф', 'x@xn--e1afmkfd.xn--p1ai'],
    ['info@müller-gmbh.de', 'info@xn--mller-gmbh-9db.de'],
    [' Info@MÜLLER-GMBH.de ', 'info@xn--mller-gmbh-9db.de'],
    ['info@mu\u0308ller-gmbh.de', 'info@xn--mller-gmbh-9db.de'],
    ['jane@acmé.com', 'jane@xn--acm-dma.com'],
    ['jane@straße.de', 'jane@xn--strae-oqa.de'],
    [`${'a'.repeat(64)}@acme.com`, `${'a'.repeat(64)}@acme.com`],
  ];
  for (const [raw, expected] of valid) {
    test(`accepts ${JSON.stringify(raw)}`, () => {
      assert.deepEqual(normaliseEmail(raw), { ok: true, value: expected });
    });
  }

  const invalid = [
    '',
    'jane',
    'jane@',
    '@acme.com',
    'jane@@acme.com',
    'jane@bob@acme.com',
    'jane doe@acme.com',
    'jane@acme',
    'jane@acme.c',
    'jane@acme.123',
    'jane@-acme.com',
    'jane@acme-.com',
    'jane@acme..com',
    'jane@.acme.com',
    '.jane@acme.com',
    'jane.@acme.com',
    'ja..ne@acme.com',
    '"jane"@acme.com',
    'jane@[127.0.0.1]',
    'jané@acme.com',
    'jané@acmé.com',
    '\u212Aate@acme.com',
    'info@müller gmbh.de',
    'info@müller\tgmbh.de',
    'info@müller_gmbh.de',
    'info@-müller.de',
    'info@müller-.de',
    'info@müller..de',
    'info@müller.de.',
    'info@müller',
    'info@müller.d',
    'info@ｍüller.de',
    'info@mü\u200bller.de',
    'info@mü\u00adller.de',
    'info@müller\u3002de',
    'info@müller.de\u0000',
    'info@[müller.de]',
    `info@${'ü'.repeat(60)}.de`,
    `${'a'.repeat(64)}@${'ü'.repeat(40)}.${'ö'.repeat(40)}.${'ä'.repeat(40)}.${'ß'.repeat(40)}.de`,
    `${'a'.repeat(65)}@acme.com`,
    `a@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(60)}.com`,
    `a@${'b'.repeat(64)}.com`,
  ];
  for (const raw of invalid) {
    test(`refuses ${JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw)}`, () => {
      assert.deepEqual(normaliseEmail(raw), { ok: false, message: 'is not a valid email address' });
    });
  }

  test('is idempotent on its own output', () => {
    const raw = fc.oneof(
      fc.emailAddress(),
      fc.emailAddress().map((e) => ` ${e.toUpperCase()} `),
      fc.string(),
    );
    let accepted = 0;
    fc.assert(
      fc.property(raw, (input) => {
        const first = normaliseEmail(input);
        if (first.ok) {
          accepted++;
          assert.deepEqual(normaliseEmail(first.value), first);
        }
      }),
    );
    assert.ok(accepted > 0, 'the generators should produce some valid addresses');
  });

  test('gives the Unicode and the punycode spelling of a domain the same address', () => {
    const idn = fc.stringMatching(/^[a-zäöüßéèàçñøåæœ]{1,20}$/).filter((label) => /[^a-z]/.test(label));
    fc.assert(
      fc.property(fc.emailAddress(), idn, (email, label) => {
        const unicode = `${email.slice(0, email.indexOf('@'))}@${label}.${email.slice(email.indexOf('@') + 1)}`;
        const result = normaliseEmail(unicode);
        if (!result.ok) return;
        const ascii = result.value.slice(result.value.indexOf('@') + 1);
        assert.match(ascii, /^xn--/);
        assert.equal(domainToUnicode(ascii).split('.')[0], label);
        assert.deepEqual(normaliseEmail(result.value), result);
        // 'ß' upper-cases to 'SS', another domain.
        if (!label.includes('ß')) assert.deepEqual(normaliseEmail(unicode.toUpperCase()), result);
        assert.deepEqual(normaliseEmail(unicode.normalize('NFD')), result);
      }),
    );
  });

  test('accepts what fast-check considers an email, lower-cased, unless over the length limits', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (email) => {
        const result = normaliseEmail(email);
        const [local = '', domain = ''] = email.split('@');
        const tld = domain.slice(domain.lastIndexOf('.') + 1);
        if (email.length <= 254 && local.length <= 64 && /^[a-z]{2,}$/i.test(tld)) {
          assert.deepEqual(result, { ok: true, value: email.toLowerCase() });
        }
      }),
    );
  });
});

describe('normalisePhone', () => {
  const valid: [string, string | undefined, string][] = [
    ['+44 20 7946 0958', undefined, '+442079460958'],
    ['+44 20 7946 0958', 'US', '+442079460958'],
    ['(415) 555-2671', 'US', '+14155552671'],
    ['(415) 555-2671', 'us', '+14155552671'],
    ['07911 123456', 'GB', '+447911123456'],
    ['+49 30 901820', undefined, '+4930901820'],
    ['0033 6 12 34 56 78', 'FR', '+33612345678'],
    ['+44 20 7946 0958 ext. 12', undefined, '+442079460958'],
    ['+1 415 555 2671', 'ZZ', '+14155552671'],
  ];
  for (const [raw, country, expected] of valid) {
    test(`${raw} (${country ?? 'no default'}) → ${expected}`, () => {
      assert.deepEqual(normalisePhone(raw, country), { ok: true, value: expected });
    });
  }

  const invalid: [string, string | undefined][] = [
    ['', 'US'],
    ['junk', 'US'],
    ['12', 'US'],
    ['(415) 555-2671', undefined],
    ['07911 123456', undefined],
    ['(415) 555-2671', 'ZZ'],
    // A possible length but no such German range: only the 'max' metadata catches this.
    ['+49 1857 12851', undefined],
    ['+1 123 456 7890', undefined],
    ['+44 20 7946 09581234', undefined],
    ['call me on +44 20 7946 0958', undefined],
  ];
  const national = new Set(['(415) 555-2671', '07911 123456']);
  for (const [raw, country] of invalid) {
    test(`refuses ${JSON.stringify(raw)} (${country ?? 'no default'})`, () => {
      // A national number without a country it could be read in: the message says how to fix it.
      const message =
        national.has(raw) && country !== 'US'
          ? "is not a valid phone number: write it with its country code (+1 415 555 0199), or give the lead's country or set the workspace's defaultCountry"
          : 'is not a valid phone number';
      assert.deepEqual(normalisePhone(raw, country), { ok: false, message });
    });
  }

  test('normalisePhoneIn reads a national number in the first country that makes it valid', () => {
    assert.deepEqual(normalisePhoneIn('(415) 555-2671', ['US', 'GB']), { ok: true, value: '+14155552671' });
    assert.deepEqual(normalisePhoneIn('020 7946 0958', ['US', 'GB']), { ok: true, value: '+442079460958' });
    assert.deepEqual(normalisePhoneIn('(415) 555-2671', [undefined, 'US']), {
      ok: true,
      value: '+14155552671',
    });
    assert.match(
      (normalisePhoneIn('(415) 555-2671', [undefined, undefined]) as { message: string }).message,
      /country code/,
    );
  });

  test('returns E.164 or an error for any input, and E.164 is a fixed point', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom(undefined, 'US', 'GB', 'DE', 'xx'), (raw, country) => {
        const result = normalisePhone(raw, country);
        if (result.ok) {
          assert.match(result.value, /^\+[1-9]\d{1,14}$/);
          assert.deepEqual(normalisePhone(result.value), result);
        } else assert.match(result.message, /^is not a valid phone number/);
      }),
    );
  });
});

describe('normaliseCountry', () => {
  const cases: [string, string][] = [
    ['DE', 'DE'],
    ['de', 'DE'],
    [' gb ', 'GB'],
    ['DEU', 'DE'],
    ['usa', 'US'],
    ['GBR', 'GB'],
    ['Germany', 'DE'],
    ['germany', 'DE'],
    ['United States', 'US'],
    ['United States of America', 'US'],
    ['U.S.A.', 'US'],
    ['UK', 'GB'],
    ['U.K.', 'GB'],
    ['Great Britain', 'GB'],
    ['United Kingdom', 'GB'],
    ['England', 'GB'],
    ['Deutschland', 'DE'],
    ['Holland', 'NL'],
    ['the Netherlands', 'NL'],
    ['Netherlands', 'NL'],
    ["Côte d'Ivoire", 'CI'],
    ['Cote d’Ivoire', 'CI'],
    ['Ivory Coast', 'CI'],
    ['España', 'ES'],
    ['Türkiye', 'TR'],
    ['Turkey', 'TR'],
    ['South Korea', 'KR'],
    ['Russia', 'RU'],
    ['Czechia', 'CZ'],
    ['Bosnia and Herzegovina', 'BA'],
    ['Bosnia & Herzegovina', 'BA'],
    ['Kosovo', 'XK'],
    ['United Kingdom of Great Britain and Northern Ireland', 'GB'],
    ['St. Lucia', 'LC'],
    ['St Lucia', 'LC'],
    ['St.Lucia', 'LC'],
    ['Saint Lucia', 'LC'],
    ['St Kitts and Nevis', 'KN'],
    ['St. Vincent & the Grenadines', 'VC'],
    ['St Barthélemy', 'BL'],
    ['Saint-Martin', 'MF'],
    ['Sint Maarten', 'SX'],
    ['Bosnia', 'BA'],
    ['Bosnia-Herzegovina', 'BA'],
    ['Federal Republic of Germany', 'DE'],
    ['Kingdom of the Netherlands', 'NL'],
    ['Republic of Ireland', 'IE'],
    ['Republic of the Union of Myanmar', 'MM'],
    ['Hashemite Kingdom of Jordan', 'JO'],
    ["People's Republic of China", 'CN'],
    ['Republic of China', 'TW'],
    ['Republic of China (Taiwan)', 'TW'],
    ['Republic of Korea', 'KR'],
    ["Democratic People's Republic of Korea", 'KP'],
    ['Korea, South', 'KR'],
    ['Iran, Islamic Republic of', 'IR'],
    ['Congo, The Democratic Republic of the', 'CD'],
    ['Democratic Republic of Congo', 'CD'],
    ['Republic of Congo', 'CG'],
    ['Micronesia, Federated States of', 'FM'],
    ['Federated States of Micronesia', 'FM'],
    ['British Virgin Islands', 'VG'],
    ['US Virgin Islands', 'VI'],
    ['Bahamas, The', 'BS'],
    ['Falkland Islands', 'FK'],
    ['French Republic', 'FR'],
    ['Hellenic Republic', 'GR'],
    ['Swiss Confederation', 'CH'],
    ['United Mexican States', 'MX'],
  ];
  for (const [raw, expected] of cases) {
    test(`${JSON.stringify(raw)} → ${expected}`, () => {
      assert.deepEqual(normaliseCountry(raw), { ok: true, value: expected });
    });
  }

  const unknown = [
    '',
    'ZZ',
    'XYZ',
    'Atlantis',
    '276',
    'Germany!!!x',
    'Republic of Atlantis',
    'Republic of',
    'Kingdom of the',
    'Republic of Republic',
    'St.',
    'Saint',
    'Northern',
    'Islands',
    // Not a country: a region of China, named with China's official name.
    'Hong Kong Special Administrative Region of the Republic of Lucia',
    'Turkish Republic of Northern Cyprus',
  ];
  for (const raw of unknown) {
    test(`refuses ${JSON.stringify(raw)}`, () => {
      assert.deepEqual(normaliseCountry(raw), { ok: false, message: 'is not a known country' });
    });
  }

  for (const raw of ['Congo', 'Korea', 'Virgin Islands', 'Democratic Republic of Korea']) {
    test(`refuses ${JSON.stringify(raw)}, a name two countries share`, () => {
      assert.deepEqual(normaliseCountry(raw), {
        ok: false,
        message: 'is ambiguous; use the ISO country code',
      });
    });
  }

  test('reads every English name and alias of i18n-iso-countries as its own country', async () => {
    const { default: countries } = await import('i18n-iso-countries/index.js');
    for (const [code, names] of Object.entries(countries.getNames('en', { select: 'all' }))) {
      for (const name of names) {
        const result = normaliseCountry(name);
        if (!result.ok) assert.equal(name, 'Congo', `${name} (${code}) refused: ${result.message}`);
        else assert.equal(result.value, code, name);
      }
    }
  });

  test('is a fixed point on its own output', () => {
    const names = [
      'Germany',
      'usa',
      'UK',
      'Holland',
      'fr',
      'ITA',
      'Japan',
      'Brasil',
      'Viet Nam',
      'St. Lucia',
      'Republic of Ireland',
      'Korea, Republic of',
    ];
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 4 }), fc.string()), (raw) => {
        const result = normaliseCountry(raw);
        if (result.ok) {
          accepted++;
          assert.match(result.value, /^[A-Z]{2}$/);
          assert.deepEqual(normaliseCountry(result.value), result);
        }
      }),
    );
    assert.ok(accepted > 0, 'the generators should produce some countries');
  });
});

describe('companyDomainFromEmail', () => {
  const cases: [string, string | null][] = [
    ['jane@acme.com', 'acme.com'],
    ['jane@ACME.com', 'acme.com'],
    ['jane@eu.acme.co.uk', 'eu.acme.co.uk'],
    ['jane@gmail.com', null],
    ['jane@GMail.com', null],
    ['jane@googlemail.com', null],
    ['jane@outlook.com', null],
    ['jane@yahoo.co.uk', null],
    ['jane@gmx.de', null],
    ['jane@hotmail.de', null],
    ['jane@hotmail.co.uk', null],
    ['jane@outlook.de', null],
    ['jane@ymail.com', null],
    ['jane@hotmail.com.br', null],
    ['jane@live.co.uk', null],
    ['jane@live.ca', null],
    ['jane@outlook.fr', null],
    ['jane@outlook.com.br', null],
    ['jane@yahoo.com.mx', null],
    ['jane@yahoo.in', null],
    ['jane@rocketmail.com', null],
    ['jane@bol.com.br', null],
    ['jane@gmx.ch', null],
    ['jane@gmx.fr', null],
    ['jane@laposte.fr', null],
    ['jane@protonmail.ch', null],
    ['jane@posteo.de', null],
    ['jane@inbox.ru', null],
    ['jane@bt.com', 'bt.com'],
    ['jane@btinternet.com', null],
    ['jane@nus.edu.sg', 'nus.edu.sg'],
    // In email-providers' all.json, but no free-mail family's country domain.
    ['jane@live.mdx.ac.uk', 'live.mdx.ac.uk'],
    ['jane@mail.bcu.ac.uk', 'mail.bcu.ac.uk'],
    ['jane@müller-gmbh.de', 'xn--mller-gmbh-9db.de'],
    ['jane@hotmail.de.', null],
    ['not an email', null],
    ['jane@localhost', null],
  ];
  for (const [email, expected] of cases) {
    test(`${email} → ${expected}`, () => {
      assert.equal(companyDomainFromEmail(email), expected);
    });
  }
});

describe('isDisposableEmail', () => {
  const cases: [string, boolean][] = [
    ['x@mailinator.com', true],
    ['x@MAILINATOR.COM', true],
    ['x@eu.mailinator.com', true],
    ['x@yopmail.com', true],
    ['x@ｍailinator.com', true],
    ['x@acme.com', false],
    ['x@gmail.com', false],
    ['x@mailinator.com.acme.com', false],
    ['x@com', false],
    ['nonsense', false],
  ];
  for (const [email, expected] of cases) {
    test(`${email} → ${expected}`, () => {
      assert.equal(isDisposableEmail(email), expected);
    });
  }
});

describe('normaliseWebsite', () => {
  const valid: [string, string, string][] = [
    ['acme.com', 'https://acme.com', 'acme.com'],
    ['ACME.com/', 'https://acme.com', 'acme.com'],
    ['www.acme.com', 'https://www.acme.com', 'acme.com'],
    ['http://www.Acme.com', 'https://www.acme.com', 'acme.com'],
    ['https://acme.com/en/About', 'https://acme.com/en/About', 'acme.com'],
    ['https://acme.com/pricing/?utm_source=x#plans', 'https://acme.com/pricing/', 'acme.com'],
    ['//acme.com', 'https://acme.com', 'acme.com'],
    ['acme.com.', 'https://acme.com', 'acme.com'],
    ['shop.acme.co.uk:8443/x', 'https://shop.acme.co.uk:8443/x', 'shop.acme.co.uk'],
    ['https://acme.com:443', 'https://acme.com', 'acme.com'],
    ['exämple.de', 'https://xn--exmple-cua.de', 'xn--exmple-cua.de'],
    ['https://Bücher.de/', 'https://xn--bcher-kva.de', 'xn--bcher-kva.de'],
    ['www.com', 'https://www.com', 'www.com'],
  ];
  for (const [raw, url, domain] of valid) {
    test(`${raw} → ${url}`, () => {
      assert.deepEqual(normaliseWebsite(raw), { ok: true, value: { url, domain } });
    });
  }

  const invalid = [
    '',
    'acme',
    'localhost:3000',
    'http://localhost',
    'intranet.local',
    'site.test',
    '192.168.0.1',
    'http://10.0.0.1/admin',
    'http://[::1]/',
    'ftp://acme.com',
    'mailto:jane@acme.com',
    'javascript:alert(1)',
    'https://user:pass@acme.com',
    'acme dot com',
    'acme.c0m',
    'https://ac_me.com',
    '-bücher.de',
    'bücher-.de',
  ];
  for (const raw of invalid) {
    test(`refuses ${JSON.stringify(raw)}`, () => {
      assert.deepEqual(normaliseWebsite(raw), { ok: false, message: 'is not a valid website URL' });
    });
  }

  test('is idempotent on its own url', () => {
    const raw = fc.oneof(
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.domain(),
      fc.string(),
    );
    let accepted = 0;
    fc.assert(
      fc.property(raw, (input) => {
        const first = normaliseWebsite(input);
        if (first.ok) {
          accepted++;
          assert.ok(first.value.url.startsWith(`https://`));
          assert.deepEqual(normaliseWebsite(first.value.url), first);
        }
      }),
    );
    assert.ok(accepted > 0, 'the generators should produce some websites');
  });
});
