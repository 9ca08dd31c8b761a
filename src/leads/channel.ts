import { storableText } from '../storable-text.ts';
import type { Channel, Utm } from './model.ts';

const UTM_KEYS = ['source', 'medium', 'campaign', 'term', 'content'] as const;

/** Only for resolving landing pages given as a path ('/pricing?utm_source=x'); never reported. */
const PLACEHOLDER_ORIGIN = 'https://placeholder.invalid';

function parseUrl(url: string): URL | null {
  const trimmed = url.trim();
  if (trimmed.startsWith('/') || trimmed.startsWith('?')) return URL.parse(trimmed, PLACEHOLDER_ORIGIN);
  return URL.parse(trimmed);
}

/**
 * utm_source/medium/campaign/term/content from a URL's query string. Keys match in any case and
 * the first occurrence wins; values lose their NUL characters, are trimmed, and empty ones are
 * dropped. A URL that does not parse gives {}; so does a bare path without a query.
 */
export function utmFromUrl(url: string): Utm {
  const utm: Utm = {};
  const parsed = parseUrl(url);
  if (!parsed) return utm;
  for (const [name, value] of parsed.searchParams) {
    const key = UTM_KEYS.find((k) => name.toLowerCase() === `utm_${k}`);
    // `%00` decodes to a NUL (the URL keeps it escaped, so the edge's check never sees one).
    const trimmed = storableText(value).trim();
    if (key && trimmed && utm[key] === undefined) utm[key] = trimmed;
  }
  return utm;
}

// ---------------------------------------------------------------------------------------------
// Known sites. A referrer or utm_source only says "google.co.uk" or "fb"; these lists are how a
// touch from a search engine or a social network is told apart from a plain referral. Names are
// matched against a host's registrable-ish label (www.google.co.uk → google) or against a bare
// utm_source; hosts are matched exactly or as a parent domain (for short links and sites whose
// name alone would be ambiguous, like x.com or t.co).

/** Search engines, by the label before the public suffix. */
const SEARCH_ENGINE_NAMES: ReadonlySet<string> = new Set([
  'google',
  'bing',
  'yahoo',
  'duckduckgo',
  'baidu',
  'yandex',
  'ecosia',
  'naver',
  'seznam',
  'qwant',
  'startpage',
  'ask',
  'aol',
  'daum',
  'sogou',
  'dogpile',
  'kagi',
]);
/** Search engines whose registrable name is shared with something else (brave.com is a browser). */
const SEARCH_ENGINE_HOSTS: readonly string[] = ['search.brave.com', 'ya.ru', 'duck.com'];

/** Social networks, by the label before the public suffix, plus their usual utm_source spellings. */
const SOCIAL_NAMES: ReadonlySet<string> = new Set([
  'facebook',
  'fb',
  'instagram',
  'ig',
  'linkedin',
  'twitter',
  'x',
  'youtube',
  'tiktok',
  'pinterest',
  'reddit',
  'snapchat',
  'threads',
  'quora',
  'xing',
  'vk',
  'weibo',
  'whatsapp',
  'telegram',
  'mastodon',
  'bluesky',
  'bsky',
  'discord',
  'tumblr',
  'medium',
]);
/** Social short links and hosts whose name alone is too short or too generic to match on. */
const SOCIAL_HOSTS: readonly string[] = [
  'lnkd.in',
  't.co',
  'x.com',
  'youtu.be',
  'threads.net',
  'threads.com',
  'wa.me',
  't.me',
  'm.me',
  'fb.me',
  'pin.it',
  'redd.it',
  'bsky.app',
];

/**
 * Second-level labels under a country TLD that are not the site's own name (google.co.uk,
 * yahoo.com.br). A heuristic instead of the full Public Suffix List: the lists above only need
 * big sites' names to come out right.
 */
const GENERIC_SECOND_LEVEL: ReadonlySet<string> = new Set([
  'co',
  'com',
  'net',
  'org',
  'ac',
  'gov',
  'edu',
  'ne',
  'or',
]);

/** Click ids that ad platforms append to the landing page themselves, so they cannot be mis-tagged. */
const SEARCH_CLICK_IDS: readonly string[] = ['gclid', 'gbraid', 'wbraid', 'msclkid', 'dclid'];
/** fbclid is left out on purpose: Facebook adds it to organic outbound links too. */
const SOCIAL_CLICK_IDS: readonly string[] = ['li_fat_id', 'ttclid'];

const OFFLINE_SOURCES: ReadonlySet<string> = new Set(['import', 'csv', 'offline', 'crm']);
const EVENT_MEDIUMS: ReadonlySet<string> = new Set([
  'event',
  'events',
  'webinar',
  'conference',
  'tradeshow',
  'trade-show',
  'meetup',
]);
const EVENT_SOURCES: ReadonlySet<string> = new Set(['event', 'webinar']);
const EMAIL_NAMES: ReadonlySet<string> = new Set(['email', 'e-mail', 'e_mail', 'newsletter']);
/** GA4's "Paid Search"/"Paid Social" medium pattern. */
const PAID_MEDIUM = /^(.*cp.*|ppc|retargeting|paid.*)$/;
const SOCIAL_MEDIUMS: ReadonlySet<string> = new Set([
  'social',
  'social-network',
  'social-media',
  'sm',
  'social_media',
]);
const REFERRAL_MEDIUMS: ReadonlySet<string> = new Set(['referral', 'link', 'app']);

type SiteKind = 'search' | 'social';

/** Lower-case host of a URL or bare host, without port or trailing dot; null if not host-like. */
function hostOf(value: string): string | null {
  const trimmed = value.trim().toLowerCase();
  if (trimmed === '' || /\s/.test(trimmed)) return null;
  const parsed = trimmed.includes('://') ? URL.parse(trimmed) : URL.parse(`https://${trimmed}`);
  const host = parsed?.hostname.replace(/\.$/, '') ?? '';
  return host.includes('.') ? host : null;
}

/** Index of the label that names the site: www.google.co.uk → 1 (google), m.facebook.com → 1. */
function siteLabelIndex(labels: readonly string[]): number {
  const beforeTld = labels.length - 2;
  return beforeTld >= 1 && GENERIC_SECOND_LEVEL.has(labels[beforeTld]!) ? beforeTld - 1 : beforeTld;
}

/** The label that names the site: www.google.co.uk → google. */
function siteName(host: string): string {
  const labels = host.split('.');
  return labels[siteLabelIndex(labels)] ?? '';
}

/** The host without its subdomains: blog.acme.co.uk → acme.co.uk. */
function siteDomain(host: string): string {
  const labels = host.split('.');
  return labels.slice(Math.max(0, siteLabelIndex(labels))).join('.');
}

const onHost = (host: string, hosts: readonly string[]) =>
  hosts.some((h) => host === h || host.endsWith(`.${h}`));

function hostKind(host: string): SiteKind | null {
  if (onHost(host, SEARCH_ENGINE_HOSTS)) return 'search';
  if (onHost(host, SOCIAL_HOSTS)) return 'social';
  const name = siteName(host);
  if (SEARCH_ENGINE_NAMES.has(name)) return 'search';
  if (SOCIAL_NAMES.has(name)) return 'social';
  return null;
}

/**
 * Kind of a utm_source: a host ('m.facebook.com'), a name ('LinkedIn') or a name with a suffix
 * ('facebook_ads', 'google-cpc'). Only names of two letters or more match as a prefix, so 'x'
 * must stand alone.
 */
function sourceKind(source: string): SiteKind | null {
  const host = source.includes('.') ? hostOf(source) : null;
  if (host) return hostKind(host);
  const name = source.trim().toLowerCase();
  const first = name.split(/[^a-z0-9]+/)[0] ?? '';
  for (const candidate of [name, first.length >= 2 ? first : '']) {
    if (SEARCH_ENGINE_NAMES.has(candidate)) return 'search';
    if (SOCIAL_NAMES.has(candidate)) return 'social';
  }
  return null;
}

function clickIdKind(landingPage: URL | null): SiteKind | null {
  if (!landingPage) return null;
  const params = landingPage.searchParams;
  if (SEARCH_CLICK_IDS.some((id) => params.get(id))) return 'search';
  if (SOCIAL_CLICK_IDS.some((id) => params.get(id))) return 'social';
  return null;
}

const lower = (value: string | null | undefined) => value?.trim().toLowerCase() ?? '';

/**
 * Marketing channel of one touch, in the spirit of GA4's default channel grouping. The UTM
 * parameters are `touch.utm`, or those of the landing page when `touch.utm` is empty (the same
 * rule capture uses to record them). Rules, first match wins:
 * 1. `source` import/csv/offline/crm, or medium offline → offline.
 * 2. An event medium, or source event/webinar → events.
 * 3. Medium or source email/newsletter → email.
 * 4. A paid medium (cpc, ppc, paid…) or an ad click id on the landing page → paid_search or
 *    paid_social. The click id decides when present (the ad platform added it, so it cannot be
 *    mis-tagged), then utm_source, then the referrer; a paid touch from elsewhere → other.
 * 5. A social medium → organic_social; a search-engine source → organic_search; a social source
 *    → organic_social; medium organic → organic_search. The medium is checked first because it
 *    is the marketer's explicit channel; 'organic' last because it is also used for unpaid posts
 *    (facebook / organic is social).
 * 6. Medium referral/link/app → referral.
 * 7. No UTM at all: the referrer's host is a search engine → organic_search, a social network →
 *    organic_social, another site → referral; no referrer, or one on the landing page's own site
 *    (subdomains included: blog.acme.com → www.acme.com is internal navigation) → direct.
 * 8. UTM present but matching nothing above → other.
 */
export function deriveChannel(touch: {
  source?: string | null;
  utm?: Utm;
  referrer?: string | null;
  landingPage?: string | null;
}): Channel {
  const landingPage = touch.landingPage ? parseUrl(touch.landingPage) : null;
  const explicitUtm = UTM_KEYS.some((k) => lower(touch.utm?.[k]) !== '');
  const utm = explicitUtm ? (touch.utm ?? {}) : touch.landingPage ? utmFromUrl(touch.landingPage) : {};
  const hasUtm = UTM_KEYS.some((k) => lower(utm[k]) !== '');
  const source = lower(touch.source);
  const utmSource = lower(utm.source);
  const medium = lower(utm.medium);
  const referrerHost = touch.referrer ? hostOf(touch.referrer) : null;

  if (OFFLINE_SOURCES.has(source) || medium === 'offline') return 'offline';
  if (EVENT_MEDIUMS.has(medium) || EVENT_SOURCES.has(source) || EVENT_SOURCES.has(utmSource)) return 'events';
  if (EMAIL_NAMES.has(medium) || EMAIL_NAMES.has(source) || EMAIL_NAMES.has(utmSource)) return 'email';

  const clickId = clickIdKind(landingPage);
  if (clickId || PAID_MEDIUM.test(medium)) {
    const kind =
      clickId ?? (utmSource ? sourceKind(utmSource) : null) ?? (referrerHost ? hostKind(referrerHost) : null);
    if (kind === 'search') return 'paid_search';
    if (kind === 'social') return 'paid_social';
    return 'other';
  }

  if (hasUtm) {
    const kind = utmSource ? sourceKind(utmSource) : null;
    if (SOCIAL_MEDIUMS.has(medium)) return 'organic_social';
    if (kind === 'search') return 'organic_search';
    if (kind === 'social') return 'organic_social';
    if (medium === 'organic') return 'organic_search';
    if (REFERRAL_MEDIUMS.has(medium)) return 'referral';
    return 'other';
  }

  if (!referrerHost) return 'direct';
  const kind = hostKind(referrerHost);
  if (kind === 'search') return 'organic_search';
  if (kind === 'social') return 'organic_social';
  const landingHost =
    landingPage && landingPage.origin !== PLACEHOLDER_ORIGIN ? hostOf(landingPage.host) : null;
  if (landingHost && siteDomain(landingHost) === siteDomain(referrerHost)) return 'direct';
  return 'referral';
}
