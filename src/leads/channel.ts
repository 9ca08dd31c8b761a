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

/** Social networks, by the label before the public suffix. */
const SOCIAL_NAMES: ReadonlySet<string> = new Set([
  'facebook',
  'instagram',
  'linkedin',
  'twitter',
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
  'discord',
  'tumblr',
  'medium',
]);
/**
 * Short spellings of social networks in a utm_source ('fb', 'x'). Only a bare utm_source is
 * matched against these: as a host's name they belong to other sites (x.ai, ig.com is a broker).
 */
const SOCIAL_SOURCE_ALIASES: ReadonlySet<string> = new Set(['fb', 'ig', 'x', 'bsky', 'tw']);
/** Social short links and hosts whose name alone is too short or too generic to match on. */
const SOCIAL_HOSTS: readonly string[] = [
  'lnkd.in',
  't.co',
  'x.com',
  'fb.com',
  'instagr.am',
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
  'bsky.social',
];
/**
 * Webmail hosts whose first label is not `mail`/`webmail` (those are webmail on any site:
 * mail.google.com, mail.yahoo.com, webmail.strato.de). Checked before the site's name, which
 * would make Gmail a search engine and Outlook a Microsoft site.
 */
const WEBMAIL_HOSTS: readonly string[] = [
  'outlook.live.com',
  'outlook.office.com',
  'outlook.office365.com',
  'e.mail.ru',
  'app.fastmail.com',
  'navigator.gmx.net',
];
const WEBMAIL_LABELS: ReadonlySet<string> = new Set(['mail', 'webmail']);

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

/**
 * A label or medium as compared: accents, case, spaces and punctuation dropped, so 'Trade Show',
 * 'trade-show' and 'TRADE_SHOW' are one label ('tradeshow').
 */
function labelKey(label: string): string {
  return label
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/**
 * Channel of a source label, by `labelKey`: what a lead's own `source` says when it names a way
 * of meeting people rather than a site (a form's "webinar", an import's "Trade Show"), and what
 * an import's "Original Source" column says. HubSpot's "Original Source" values (labels and
 * internal names: ORGANIC_SEARCH, PAID_SOCIAL, …) are already a channel grouping and map one to
 * one; Salesforce's standard Lead Source values and common words map where the meaning is clear
 * (Trade Show → events, Employee Referral → referral, Purchased List → offline). A label that
 * is none of these ("website", "demo-request") says nothing about the channel.
 */
const channelByLabel: ReadonlyMap<string, Channel> = new Map<string, Channel>([
  ['organicsearch', 'organic_search'],
  ['seo', 'organic_search'],
  ['paidsearch', 'paid_search'],
  ['ppc', 'paid_search'],
  ['cpc', 'paid_search'],
  ['googleads', 'paid_search'],
  ['adwords', 'paid_search'],
  ['socialmedia', 'organic_social'],
  ['organicsocial', 'organic_social'],
  ['social', 'organic_social'],
  ['paidsocial', 'paid_social'],
  ['display', 'display'],
  ['displayads', 'display'],
  ['displayadvertising', 'display'],
  ['emailmarketing', 'email'],
  ['email', 'email'],
  ['newsletter', 'email'],
  ['referrals', 'referral'],
  ['referral', 'referral'],
  ['aireferrals', 'referral'],
  ['partner', 'referral'],
  ['partnerreferral', 'referral'],
  ['employeereferral', 'referral'],
  ['externalreferral', 'referral'],
  ['wordofmouth', 'referral'],
  ['directtraffic', 'direct'],
  ['direct', 'direct'],
  ['offlinesources', 'offline'],
  ['offline', 'offline'],
  ['import', 'offline'],
  ['csv', 'offline'],
  ['crm', 'offline'],
  ['phoneinquiry', 'offline'],
  ['purchasedlist', 'offline'],
  ['coldcall', 'offline'],
  ['coldoutreach', 'offline'],
  ['tradeshow', 'events'],
  ['seminarinternal', 'events'],
  ['seminarpartner', 'events'],
  ['webinar', 'events'],
  ['event', 'events'],
  ['events', 'events'],
  ['conference', 'events'],
  ['othercampaigns', 'other'],
  ['advertisement', 'other'],
  ['other', 'other'],
]);

/** The channel a source label names ('Trade Show' → events), or undefined for any other label. */
export function channelForLabel(label: string): Channel | undefined {
  return channelByLabel.get(labelKey(label));
}

// Mediums and utm_sources below are compared by `labelKey`.
const EVENT_MEDIUMS: ReadonlySet<string> = new Set([
  'event',
  'events',
  'webinar',
  'conference',
  'tradeshow',
  'meetup',
]);
const EVENT_SOURCES: ReadonlySet<string> = new Set(['event', 'webinar']);
/** GA4's "Email" source or medium (email, e-mail, e_mail, e mail), and newsletters. */
const EMAIL_NAMES: ReadonlySet<string> = new Set(['email', 'newsletter']);
/** GA4's "Paid Search"/"Paid Social" medium pattern, on the lower-cased medium. */
const PAID_MEDIUM = /^(.*cp.*|ppc|retargeting|paid.*)$/;
/** GA4's "Display" mediums. */
const DISPLAY_MEDIUMS: ReadonlySet<string> = new Set([
  'display',
  'banner',
  'expandable',
  'interstitial',
  'cpm',
]);
/** GA4's "Organic Social" mediums (social, social-network, social-media, sm, social network…). */
const SOCIAL_MEDIUMS: ReadonlySet<string> = new Set(['social', 'socialnetwork', 'socialmedia', 'sm']);
const REFERRAL_MEDIUMS: ReadonlySet<string> = new Set(['referral', 'link', 'app']);
/**
 * What analytics tools write for "no value" ('(none)', '(not set)'): a form that copies GA's
 * source/medium into hidden fields sends utm_medium=(none) for a direct visit.
 */
const PLACEHOLDERS: ReadonlySet<string> = new Set(['(none)', '(not set)']);
/** GA4's source of a visit without referrer or campaign. */
const DIRECT_SOURCE = '(direct)';

type SiteKind = 'search' | 'social' | 'email';

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

/**
 * Webmail: a listed host, or a site's `mail`/`webmail` subdomain (mail.google.com,
 * uk.mail.yahoo.com; not mail.ru, whose own name is mail).
 */
function isWebmail(host: string): boolean {
  if (onHost(host, WEBMAIL_HOSTS)) return true;
  const labels = host.split('.');
  return labels.slice(0, Math.max(0, siteLabelIndex(labels))).some((label) => WEBMAIL_LABELS.has(label));
}

function hostKind(host: string): SiteKind | null {
  if (isWebmail(host)) return 'email';
  if (onHost(host, SEARCH_ENGINE_HOSTS)) return 'search';
  if (onHost(host, SOCIAL_HOSTS)) return 'social';
  const name = siteName(host);
  if (SEARCH_ENGINE_NAMES.has(name)) return 'search';
  if (SOCIAL_NAMES.has(name)) return 'social';
  return null;
}

/**
 * Kind of a utm_source: a host ('m.facebook.com'), a name ('LinkedIn', 'fb') or a name with a
 * suffix ('facebook_ads', 'google-cpc'). Only names of two letters or more match as a prefix, so
 * 'x' must stand alone.
 */
function sourceKind(source: string): SiteKind | null {
  const host = source.includes('.') ? hostOf(source) : null;
  if (host) return hostKind(host);
  const name = source.trim().toLowerCase();
  const first = name.split(/[^a-z0-9]+/)[0] ?? '';
  for (const candidate of [name, first.length >= 2 ? first : '']) {
    if (SEARCH_ENGINE_NAMES.has(candidate)) return 'search';
    if (SOCIAL_NAMES.has(candidate) || SOCIAL_SOURCE_ALIASES.has(candidate)) return 'social';
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

/** A UTM value lower-cased and trimmed; '' when absent or a placeholder such as '(none)'. */
function utmValue(value: string | null | undefined): string {
  const lowered = value?.trim().toLowerCase() ?? '';
  return PLACEHOLDERS.has(lowered) ? '' : lowered;
}

/**
 * Marketing channel of one touch, in the spirit of GA4's default channel grouping. The UTM
 * parameters are `touch.utm`, or those of the landing page when `touch.utm` is empty (the same
 * rule capture uses to record them); '(none)' and '(not set)' count as absent. `touch.source` is
 * the lead's own source label (a form's "webinar", an import's "Trade Show"), not utm_source.
 * Rules, first match wins:
 * 1. A source label that `channelForLabel` maps to offline (import, CSV, Cold Call, Purchased
 *    List…), or medium offline → offline. These three rules beat UTM and referrer: the label
 *    says how the person was met, the web data only how they reached a page afterwards.
 * 2. A source label mapped to events (Trade Show, webinar, conference…), an event medium, or
 *    utm_source event/webinar → events.
 * 3. A source label mapped to email, medium or utm_source email/newsletter → email.
 * 4. utm_source '(direct)' with no medium, and no ad click id → direct (GA4's Direct).
 * 5. A paid medium (cpc, ppc, paid…) or an ad click id on the landing page → paid_search or
 *    paid_social. The click id decides when present (the ad platform added it, so it cannot be
 *    mis-tagged), then utm_source, then the referrer; otherwise a display medium (cpm) →
 *    display, else other.
 * 6. A display medium (display, banner, expandable, interstitial, cpm) → display, whatever the
 *    source (GA4 puts google / display and facebook / banner there).
 * 7. A social medium → organic_social; a search-engine source → organic_search; a social source
 *    → organic_social; a webmail source → email; medium organic → organic_search. The medium is
 *    checked first because it is the marketer's explicit channel; 'organic' last because it is
 *    also used for unpaid posts (facebook / organic is social).
 * 8. Medium referral/link/app → referral.
 * 9. No UTM, but a referrer or a landing page (a web visit): the referrer's host is a search
 *    engine → organic_search, a social network → organic_social, webmail (mail.google.com,
 *    outlook.live.com) → email, another site → referral; no referrer, or one on the landing
 *    page's own site (subdomains included: blog.acme.com → www.acme.com is internal navigation)
 *    → direct.
 * 10. No UTM, referrer or landing page, only a source label: the channel the label names
 *    ("Organic Search" → organic_search, "Word of mouth" → referral), else other. Nothing says the
 *    person typed a URL, so an unknown label ("website", "Expo 2026") is not direct; with nothing
 *    at all the touch is direct.
 * 11. UTM present but matching nothing above → other.
 */
export function deriveChannel(touch: {
  source?: string | null;
  utm?: Utm;
  referrer?: string | null;
  landingPage?: string | null;
}): Channel {
  const landingPage = touch.landingPage ? parseUrl(touch.landingPage) : null;
  const explicitUtm = UTM_KEYS.some((k) => utmValue(touch.utm?.[k]) !== '');
  const utm = explicitUtm ? (touch.utm ?? {}) : touch.landingPage ? utmFromUrl(touch.landingPage) : {};
  const hasUtm = UTM_KEYS.some((k) => utmValue(utm[k]) !== '');
  const source = touch.source?.trim() ?? '';
  const labelChannel = source ? channelForLabel(source) : undefined;
  const utmSource = utmValue(utm.source);
  const utmSourceKey = labelKey(utmSource);
  const medium = utmValue(utm.medium);
  const mediumKey = labelKey(medium);
  const referrerHost = touch.referrer ? hostOf(touch.referrer) : null;

  if (labelChannel === 'offline' || mediumKey === 'offline') return 'offline';
  if (labelChannel === 'events' || EVENT_MEDIUMS.has(mediumKey) || EVENT_SOURCES.has(utmSourceKey))
    return 'events';
  if (labelChannel === 'email' || EMAIL_NAMES.has(mediumKey) || EMAIL_NAMES.has(utmSourceKey)) return 'email';

  const clickId = clickIdKind(landingPage);
  if (!clickId && utmSource === DIRECT_SOURCE && medium === '') return 'direct';
  if (clickId || PAID_MEDIUM.test(medium)) {
    const kind =
      clickId ?? (utmSource ? sourceKind(utmSource) : null) ?? (referrerHost ? hostKind(referrerHost) : null);
    if (kind === 'search') return 'paid_search';
    if (kind === 'social') return 'paid_social';
    return DISPLAY_MEDIUMS.has(mediumKey) ? 'display' : 'other';
  }
  if (DISPLAY_MEDIUMS.has(mediumKey)) return 'display';

  if (hasUtm) {
    const kind = utmSource ? sourceKind(utmSource) : null;
    if (SOCIAL_MEDIUMS.has(mediumKey)) return 'organic_social';
    if (kind === 'search') return 'organic_search';
    if (kind === 'social') return 'organic_social';
    if (kind === 'email') return 'email';
    if (mediumKey === 'organic') return 'organic_search';
    if (REFERRAL_MEDIUMS.has(mediumKey)) return 'referral';
    return 'other';
  }

  if (!touch.referrer?.trim() && !touch.landingPage?.trim())
    return source ? (labelChannel ?? 'other') : 'direct';
  if (!referrerHost) return 'direct';
  const kind = hostKind(referrerHost);
  if (kind === 'search') return 'organic_search';
  if (kind === 'social') return 'organic_social';
  if (kind === 'email') return 'email';
  const landingHost =
    landingPage && landingPage.origin !== PLACEHOLDER_ORIGIN ? hostOf(landingPage.host) : null;
  if (landingHost && siteDomain(landingHost) === siteDomain(referrerHost)) return 'direct';
  return 'referral';
}
