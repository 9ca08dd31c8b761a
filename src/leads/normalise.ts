import { readFileSync } from 'node:fs';
import { domainToASCII, domainToUnicode } from 'node:url';
import { disposableEmailBlocklistSet } from 'disposable-email-domains-js';
import commonFreeMailDomains from 'email-providers/common.json' with { type: 'json' };
// The package's main entry registers every locale it ships (~80); we need English only.
import countries from 'i18n-iso-countries/index.js';
import englishCountryNames from 'i18n-iso-countries/langs/en.json' with { type: 'json' };
// 'max' metadata checks the digits against each country's number patterns; the default 'min'
// metadata mostly checks lengths, so it accepts numbers that cannot exist (+49 1857 12851; on
// random digits 'min' accepted ~7.5% of numbers that 'max' refuses). Measured on Node 24: about
// 18 µs per parse+isValid call against 16 µs with 'min', and the same load time (~70 ms), so
// the stricter validation is nearly free.
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';

export type Normalised<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Normalised<T> => ({ ok: true, value });
const fail = <T>(message: string): Normalised<T> => ({ ok: false, message });

// ---------------------------------------------------------------------------------------------
// Free text

/**
 * Free text (a name, a company, a search) trimmed and in Unicode NFC. 'é' arrives both composed
 * (U+00E9) and decomposed ('e' + U+0301: macOS and some mobile keyboards): stored text and
 * searches must use one form, or `q=Amélie` misses a lead typed the other way. NFC, not NFKC:
 * NFKC would also rewrite what the lead wrote ('ﬁ' → 'fi', '²' → '2').
 */
export function normaliseText(raw: string): string {
  return raw.normalize('NFC').trim();
}

// ---------------------------------------------------------------------------------------------
// Email

/** RFC 5322 `atext`: what a dot-atom local part may contain between its dots. */
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Letters only, or an IDN TLD in its punycode form (`xn--p1ai` is .рф). */
const TLD = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;
/** Visible ASCII: rejects spaces, control characters and Unicode look-alikes in one go. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * A lower-case ASCII host name with a TLD. A punycode label's Unicode form may not start or end
 * with a hyphen either ('-bücher.de'): the URL parser's IDNA, without CheckHyphens, lets it through.
 */
function isHostname(host: string): boolean {
  if (host.length > 253) return false;
  const labels = host.split('.');
  if (labels.length < 2) return false;
  if (!labels.every((label) => DOMAIN_LABEL.test(label)) || !TLD.test(labels[labels.length - 1]!))
    return false;
  return (
    !host.includes('xn--') ||
    domainToUnicode(host)
      .split('.')
      .every((label) => !/^-|-$/.test(label))
  );
}

/**
 * The ASCII (punycode) form of an email's domain, lower-cased; null if it has no valid one. A
 * Unicode domain is taken in any case and either normalisation form ('MÜLLER-gmbh.de',
 * 'mu\u0308ller-gmbh.de'), but not with characters IDNA would silently map to others or drop
 * (full-width letters, a zero-width space, a soft hyphen, an ideographic full stop, a tab). The URL
 * parser behind `normaliseWebsite` maps those as a browser does; an email is the lead's identity
 * and dedupe key, and such an address only looks like the one it becomes.
 */
export function emailDomainToAscii(domain: string): string | null {
  if (VISIBLE_ASCII.test(domain)) return domain.toLowerCase();
  const unicode = domain.normalize('NFC').toLowerCase().normalize('NFC');
  const ascii = domainToASCII(unicode);
  return ascii !== '' && domainToUnicode(ascii) === unicode ? ascii : null;
}

/**
 * Trims, lower-cases the whole address, checks syntax (one @, a dotted domain with a TLD of 2+
 * letters, no spaces, local part ≤ 64, total ≤ 254, the RFC 5322 dot-atom form). Quoted local
 * parts, comments and IP-literal domains are refused: legal, but never typed by a real lead.
 *
 * An internationalised domain is stored in its punycode form ('info@müller-gmbh.de' →
 * 'info@xn--mller-gmbh-9db.de'), like `normaliseWebsite` does: both spellings are one lead (the
 * email is the dedupe key), the company domain matches the website's, the free-mail and
 * disposable lists (ASCII) apply, and mail goes out without needing SMTPUTF8. A non-ASCII local
 * part ('jané@…') is still refused: only SMTPUTF8 servers deliver to it.
 */
export function normaliseEmail(raw: string): Normalised<string> {
  const invalid = fail<string>('is not a valid email address');
  const parts = raw.trim().split('@');
  if (parts.length !== 2) return invalid;
  const [rawLocal, rawDomain] = parts as [string, string];
  // Checked before lower-casing: 'K' (Kelvin sign) lower-cases to an ASCII 'k'.
  if (!VISIBLE_ASCII.test(rawLocal) || rawLocal.length > 64) return invalid;
  const local = rawLocal.toLowerCase();
  const domain = emailDomainToAscii(rawDomain);
  if (!LOCAL_PART.test(local) || domain === null || !isHostname(domain)) return invalid;
  const email = `${local}@${domain}`;
  return email.length > 254 ? invalid : ok(email);
}

// ---------------------------------------------------------------------------------------------
// Phone

/**
 * E.164 form of a phone number, e.g. '+442079460958'. `defaultCountry` (ISO alpha-2, any case)
 * is used for numbers written without a country code; an unknown one is ignored rather than
 * refused, because it comes from configuration, not from the lead. An extension is dropped:
 * E.164 has no place for it.
 */
export function normalisePhone(raw: string, defaultCountry?: string): Normalised<string> {
  const country = defaultCountry?.trim().toUpperCase();
  const known = country !== undefined && isSupportedCountry(country);
  // extract: false refuses text around the number ('call me on …'), which the default accepts.
  const parsed = parsePhoneNumberFromString(raw.trim(), {
    ...(known ? { defaultCountry: country } : {}),
    extract: false,
  });
  if (parsed?.isValid()) return ok(parsed.number);
  // Without a country a national number cannot be read: say what would make it readable.
  if (!known && /^[\d\s().\-/]+$/.test(raw.trim()) && !/^(\+|00)/.test(raw.trim()))
    return fail(
      "is not a valid phone number: write it with its country code (+1 415 555 0199), or give the lead's country or set the workspace's defaultCountry",
    );
  return fail('is not a valid phone number');
}

/**
 * `normalisePhone` read in the first of `countries` (undefined ones skipped) that makes it a
 * valid number: a lead's own country, then the workspace's. A number written with its country
 * code is the same in each.
 */
export function normalisePhoneIn(
  raw: string,
  countries: ReadonlyArray<string | undefined>,
): Normalised<string> {
  const tried = [...new Set(countries.filter((c): c is string => c !== undefined))];
  let result = normalisePhone(raw, tried[0]);
  for (const country of tried.slice(1)) {
    if (result.ok) break;
    result = normalisePhone(raw, country);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Country

countries.registerLocale(englishCountryNames);

/**
 * Lower-case, no diacritics, no dots ('U.S.A.') or apostrophes ("People's"), no leading 'the',
 * 'St'/'St.' as 'saint', single spaces.
 */
function countryKey(name: string): string {
  return name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/\bst\.\s*/g, 'st ')
    .replace(/[.'’]/g, '')
    .replaceAll('&', ' and ')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .replace(/^the /, '')
    .replace(/\bst\b/g, 'saint');
}

/**
 * Names people write that i18n-iso-countries' English list lacks and the rules below do not
 * derive: native names seen on forms, the UK's nations, former or short names, and official names
 * that are not '<form of government> of <name>' ('French Republic'). Keys are `countryKey`s.
 */
const COUNTRY_ALIASES: Record<string, string> = {
  deutschland: 'DE',
  holland: 'NL',
  nederland: 'NL',
  britain: 'GB',
  england: 'GB',
  scotland: 'GB',
  wales: 'GB',
  'northern ireland': 'GB',
  'great britain and northern ireland': 'GB',
  'united kingdom of great britain and northern ireland': 'GB',
  espana: 'ES',
  italia: 'IT',
  osterreich: 'AT',
  schweiz: 'CH',
  suisse: 'CH',
  svizzera: 'CH',
  brasil: 'BR',
  polska: 'PL',
  sverige: 'SE',
  norge: 'NO',
  danmark: 'DK',
  suomi: 'FI',
  belgie: 'BE',
  belgique: 'BE',
  'ceska republika': 'CZ',
  macedonia: 'MK',
  swaziland: 'SZ',
  burma: 'MM',
  'cabo verde': 'CV',
  'east timor': 'TL',
  vatican: 'VA',
  'vatican city': 'VA',
  'vatican city state': 'VA',
  'holy see': 'VA',
  laos: 'LA',
  syria: 'SY',
  moldova: 'MD',
  micronesia: 'FM',
  brunei: 'BN',
  'viet nam': 'VN',
  macau: 'MO',
  drc: 'CD',
  'dr congo': 'CD',
  'democratic republic of congo': 'CD',
  'congo kinshasa': 'CD',
  'republic of congo': 'CG',
  'congo brazzaville': 'CG',
  'democratic peoples republic of korea': 'KP',
  dprk: 'KP',
  // Taiwan's official name: without this the rule below would read it as China.
  'republic of china': 'TW',
  bosnia: 'BA',
  'bosnia herzegovina': 'BA',
  ksa: 'SA',
  saudi: 'SA',
  'argentine republic': 'AR',
  'french republic': 'FR',
  'gabonese republic': 'GA',
  'hellenic republic': 'GR',
  'italian republic': 'IT',
  'kyrgyz republic': 'KG',
  'lebanese republic': 'LB',
  'portuguese republic': 'PT',
  'slovak republic': 'SK',
  'togolese republic': 'TG',
  'swiss confederation': 'CH',
  'tunisian republic': 'TN',
  'yemeni republic': 'YE',
  'united mexican states': 'MX',
  'united states virgin islands': 'VI',
};

/** Names more than one country answers to, refused as ambiguous rather than guessed. */
const AMBIGUOUS_COUNTRY_NAMES = ['korea', 'virgin islands'];

/**
 * The words of a form of government before 'of': 'Federal Republic of Germany', 'Kingdom of the
 * Netherlands', 'Hashemite Kingdom of Jordan'. What follows must itself be a country's name, so
 * 'Republic of Atlantis' stays unknown; a name the rule would misread is an alias above.
 */
const GOVERNMENT_FORM =
  /^(?:(?:republic|kingdom|principality|grand|duchy|federal|federation|federative|federated|democratic|peoples|islamic|socialist|united|commonwealth|state|states|independent|sovereign|and|union|sultanate|emirate|co|operative|cooperative|plurinational|bolivarian|oriental|arab|hashemite|territory|department|collectivity|bailiwick|nation) )+of (?:the )?(?=.)/;

/** 'Korea, Republic of' → 'Republic of Korea'; null without exactly one comma. */
function uninverted(name: string): string | null {
  const parts = name.split(',');
  return parts.length === 2 ? `${parts[1]} ${parts[0]}` : null;
}

/** The name without its parenthesised parts: 'Saint Martin (French part)' → 'Saint Martin'. */
function withoutParentheses(name: string): string | null {
  const without = name.replace(/\([^()]*\)/g, ' ');
  return without === name ? null : without;
}

const alpha2Codes = new Set(Object.keys(countries.getAlpha2Codes()));

/** Country name key → alpha-2, or null when the name is shared (both Congos are 'Congo'). */
const countryByName: Map<string, string | null> = (() => {
  const byName = new Map<string, string | null>();
  const add = (key: string, code: string) => {
    if (key === '') return;
    const seen = byName.get(key);
    byName.set(key, seen === undefined || seen === code ? code : null);
  };
  const names = Object.entries(countries.getNames('en', { select: 'all' }));
  for (const [code, list] of names) for (const name of list) add(countryKey(name), code);
  // Then the spellings people type for the list's catalogue names ('Virgin Islands, British',
  // 'Falkland Islands (Malvinas)'), where they do not clash with a name of the list.
  const listed = new Set(byName.keys());
  for (const [code, list] of names) {
    for (const name of list) {
      for (const variant of [uninverted(name), withoutParentheses(name)]) {
        if (variant !== null && !listed.has(countryKey(variant))) add(countryKey(variant), code);
      }
    }
  }
  for (const [alias, code] of Object.entries(COUNTRY_ALIASES)) byName.set(countryKey(alias), code);
  for (const name of AMBIGUOUS_COUNTRY_NAMES) byName.set(countryKey(name), null);
  return byName;
})();

/** The code for a name as typed, or for it inverted, without parentheses or its form of government. */
function countryCodeByName(raw: string): string | null | undefined {
  const keys: string[] = [];
  for (const name of [raw, withoutParentheses(raw)]) {
    if (name === null) continue;
    keys.push(countryKey(name));
    const other = uninverted(name);
    if (other !== null) keys.push(countryKey(other));
  }
  for (const key of keys) if (countryByName.has(key)) return countryByName.get(key);
  for (let key of keys) {
    // Repeated, for 'Republic of the Union of Myanmar'.
    while (GOVERNMENT_FORM.test(key)) {
      key = key.replace(GOVERNMENT_FORM, '');
      if (countryByName.has(key)) return countryByName.get(key);
    }
  }
  return undefined;
}

/**
 * ISO 3166-1 alpha-2 from an alpha-2 code, an alpha-3 code or an English name, in any case
 * ('de', 'DEU', 'Germany', 'Deutschland' → 'DE'), official ('Federal Republic of Germany'),
 * catalogue ('Iran, Islamic Republic of') or with 'St.' for 'Saint' ('St. Lucia'). Numeric codes
 * are refused: on a form they are more likely a typo than a deliberate '276'.
 */
export function normaliseCountry(raw: string): Normalised<string> {
  const trimmed = raw.trim();
  if (/^[a-z]{2}$/i.test(trimmed) && alpha2Codes.has(trimmed.toUpperCase())) return ok(trimmed.toUpperCase());
  if (/^[a-z]{3}$/i.test(trimmed)) {
    const code = countries.alpha3ToAlpha2(trimmed.toUpperCase());
    if (code) return ok(code);
  }
  const code = countryCodeByName(trimmed);
  if (code === null) return fail('is ambiguous; use the ISO country code');
  if (code === undefined) return fail('is not a known country');
  return ok(code);
}

// ---------------------------------------------------------------------------------------------
// Email domains

/**
 * Free-mail providers that run one domain per country (hotmail.de, live.co.uk, yahoo.com.mx…).
 * email-providers' `common.json` (355 domains) has their main domains only. Its `all.json`
 * (8,760) has the country domains too, but whole it would also take thousands of small, defunct
 * or local services nobody has checked one by one, among them universities and organisations
 * (mail.bcu.ac.uk, live.mdx.ac.uk, uae.ac…) whose leads would lose their company domain and
 * account. So of `all.json` only these families are taken, each under a top-level domain or a
 * country's second-level one (`co.uk`, `com.br`, `ne.jp`): 156 domains in email-providers 2.26.
 */
const FREE_MAIL_FAMILIES = [
  'hotmail',
  'live',
  'outlook',
  'msn',
  'windowslive',
  'yahoo',
  'ymail',
  'aol',
  'gmail',
  'googlemail',
  'gmx',
  'protonmail',
  'tiscali',
  'lycos',
  'uol',
];
const FREE_MAIL_FAMILY_DOMAIN = new RegExp(
  `^(?:${FREE_MAIL_FAMILIES.join('|')})\\.(?:[a-z]{2,}|(?:co|com|net|org|ne|or)\\.[a-z]{2})$`,
);

/**
 * Large providers that neither list covers as free-mail (checked against email-providers 2.26):
 * single-domain providers `common.json` misses, and country domains `all.json` lacks.
 */
const MORE_FREE_MAIL = [
  'googlemail.com',
  'pm.me',
  'fastmail.com',
  'tutanota.com',
  'tutanota.de',
  'tuta.io',
  'tuta.com',
  'tutamail.com',
  'rocketmail.com',
  'rediffmail.com',
  'zohomail.com',
  'duck.com',
  'posteo.de',
  'laposte.fr',
  'gmx.ch',
  'gmx.es',
  'gmx.co.uk',
  'aol.de',
  'aol.fr',
  'bol.com.br',
  'inbox.ru',
  'bk.ru',
  'internet.ru',
  'hanmail.net',
  'freemail.hu',
  'citromail.hu',
  'azet.sk',
  'op.pl',
  'xtra.co.nz',
];

/**
 * Domains `common.json` names that are organisations' own staff mail, not public mailboxes: BT's
 * customers have btinternet.com and btconnect.com, the National University of Singapore's
 * students u.nus.edu. A lead from one of these belongs to that organisation's account.
 */
const NOT_FREE_MAIL: ReadonlySet<string> = new Set(['bt.com', 'nus.edu.sg']);

/**
 * Free-mail domains: their domain says nothing about the lead's employer, and such leads have no
 * account. Disposable domains are checked apart (see `companyDomainFromEmail`). 504 domains with
 * email-providers 2.26 (365 before the families were added). `all.json` (137 KB) is read and
 * parsed, not imported: an imported JSON module stays in memory for good (~370 KB of heap,
 * measured), while the parsed array is garbage once filtered. Measured on Node 24: 6–10 ms at
 * start-up to read, parse and filter it (a Set of all 8,760 domains: ~8 ms and ~700 KB kept).
 */
const freeMail: ReadonlySet<string> = (() => {
  const domains = new Set<string>([...commonFreeMailDomains, ...MORE_FREE_MAIL]);
  const allProviders: string[] = JSON.parse(
    readFileSync(new URL(import.meta.resolve('email-providers/all.json')), 'utf8'),
  );
  for (const domain of allProviders) if (FREE_MAIL_FAMILY_DOMAIN.test(domain)) domains.add(domain);
  for (const domain of NOT_FREE_MAIL) domains.delete(domain);
  return domains;
})();
/** The package's own `isDisposableEmailDomain` rebuilds this Set on every call. */
const disposable: ReadonlySet<string> = disposableEmailBlocklistSet();

/**
 * The email's domain in lower-case ASCII. Callers may pass an email not normalised (a form's raw
 * field): a Unicode domain is turned to punycode here with IDNA's mappings, so a full-width
 * look-alike of a disposable domain is still recognised as one.
 */
function domainOf(email: string): string | null {
  const at = email.lastIndexOf('@');
  if (at < 0) return null;
  const raw = email.slice(at + 1).trim();
  const domain = (VISIBLE_ASCII.test(raw) ? raw.toLowerCase() : domainToASCII(raw)).replace(/\.$/, '');
  return domain.includes('.') ? domain : null;
}

/** The company domain of an email: its domain lower-cased, or null if it is a free-mail provider. */
export function companyDomainFromEmail(email: string): string | null {
  const domain = domainOf(email);
  return domain === null || freeMail.has(domain) || isDisposableEmail(email) ? null : domain;
}

/**
 * True if the email's domain, or a parent of it, is a disposable-mail domain: these services
 * hand out any subdomain (`x.mailinator.com`). The bare TLD is never checked.
 */
export function isDisposableEmail(email: string): boolean {
  let domain = domainOf(email);
  while (domain?.includes('.')) {
    if (disposable.has(domain)) return true;
    domain = domain.slice(domain.indexOf('.') + 1);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Website

/** TLDs that never resolve on the public internet (RFC 2606, 6761, 6762, 8375 and ICANN's .internal). */
const PRIVATE_TLDS: ReadonlySet<string> = new Set([
  'localhost',
  'local',
  'test',
  'example',
  'invalid',
  'internal',
  'intranet',
  'lan',
  'home',
  'corp',
  'arpa',
  'onion',
]);

/**
 * A website URL or bare host → `{ url, domain }`. The url is always https, with a lower-case
 * host and no query or fragment (on a company website field those are tracking noise), so the
 * same site typed two ways compares equal; a bare host has no trailing slash. The domain is the
 * host without a leading `www.`. IP addresses, single-label hosts, private TLDs and URLs with
 * credentials are refused.
 */
export function normaliseWebsite(raw: string): Normalised<{ url: string; domain: string }> {
  const invalid = fail<{ url: string; domain: string }>('is not a valid website URL');
  const trimmed = raw.trim();
  if (trimmed === '' || /\s/.test(trimmed)) return invalid;
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed);
  const parsed = URL.parse(hasScheme ? trimmed : `https://${trimmed.replace(/^\/\//, '')}`);
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) return invalid;
  if (parsed.username || parsed.password) return invalid;
  // The URL parser already lower-cased the host and turned an IDN into punycode.
  const host = parsed.hostname.replace(/\.$/, '');
  if (!isHostname(host) || PRIVATE_TLDS.has(host.slice(host.lastIndexOf('.') + 1))) return invalid;
  const port = parsed.port ? `:${parsed.port}` : '';
  const path = parsed.pathname === '/' ? '' : parsed.pathname;
  const withoutWww = host.replace(/^www\./, '');
  return ok({ url: `https://${host}${port}${path}`, domain: withoutWww.includes('.') ? withoutWww : host });
}
