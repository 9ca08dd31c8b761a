import type { FieldError } from '../errors.ts';
import { utmFromUrl } from '../leads/channel.ts';
import type { EventType } from '../leads/events-model.ts';
import type { Utm } from '../leads/model.ts';
import { normaliseOrigin, originInList } from '../origins.ts';
import {
  type ActivityMatcher,
  activityMatches,
  compilePattern,
  MAX_MATCHED_TEXT,
  MAX_PATTERN_LENGTH,
} from '../scoring/conditions.ts';

/**
 * Website tracking (t.js → `POST /t/collect`): page views of anonymous visitors, and the
 * semantic activities URL rules derive from them (`/pricing*` → `pricing_viewed`), so scoring,
 * alerts and stage rules can react to "looked at pricing" without knowing the site's URLs.
 * Pure: the clock, ids and the workspace's settings come from the caller.
 */

/**
 * Activities a URL rule may add. Only what a visitor does on a website: rep activities
 * (`email_sent`, `call_logged`) count as sales touches and email activities come from the
 * email domain, so a public page view must never be able to fake them; `page_view` would loop.
 */
export const ruleActivities = [
  'pricing_viewed',
  'demo_requested',
  'content_downloaded',
  'webinar_registered',
  'webinar_attended',
  'trial_started',
  'product_used',
  'usage_limit_reached',
  'meeting_booked',
  'chat_started',
  'support_request',
  'form_submitted',
  'custom',
] as const satisfies readonly EventType[];
export type RuleActivity = (typeof ruleActivities)[number];

/** A page whose URL matches `match` also records `activity` (with `name`, for `custom`). */
export interface UrlRule {
  /**
   * A pattern of the scoring condition language (`FieldTest.matches`), matched against the
   * page's full URL, case-insensitively: `/pricing*` matches https://acme.com/pricing?plan=pro;
   * a pattern without `*` is found anywhere on word boundaries (`/docs/` in any docs URL).
   */
  match: string;
  activity: RuleActivity;
  /** The `name` property of a `custom` activity (what scoring and segments test). */
  name?: string;
}

export interface TrackingSettings {
  urlRules: UrlRule[];
  /**
   * Origins whose pages may send page views: `https://acme.com`, or `https://*.acme.com` for
   * every subdomain. Empty: any site (the snippet works as soon as it is pasted). Leadline's
   * own origin (hosted forms and landing pages) is always allowed.
   */
  allowedOrigins: string[];
  /** When the settings were last changed; null while they are the defaults. */
  updatedAt: number | null;
}

/**
 * A new workspace turns pricing page views into `pricing_viewed`, which the default alert rule
 * ("pricing viewed 3 times in 7 days") counts. The default scoring model scores the page view
 * itself (pricing-visit, +25), not `pricing_viewed`: one visit is scored once.
 */
export const defaultTrackingSettings: TrackingSettings = {
  urlRules: [{ match: '/pricing*', activity: 'pricing_viewed' }],
  allowedOrigins: [],
  updatedAt: null,
};

/** Most URL rules a workspace may have. (100) */
export const MAX_URL_RULES = 100;
/** Most allowed origins. (100) */
export const MAX_ALLOWED_ORIGINS = 100;
/** Most page views in one `/t/collect` batch (t.js sends at most this many). (50) */
export const MAX_BATCH = 50;
/** Longest URL or referrer kept, in characters (t.js truncates to it). (2048) */
export const MAX_URL = 2048;
/** Longest page title kept, in characters (t.js truncates to it). (300) */
export const MAX_TITLE = 300;
/**
 * How long before its batch was sent a page view may have happened: t.js flushes within
 * seconds and on page hide, so an older age is a wrong clock or a replay. (1 hour)
 */
export const MAX_EVENT_AGE_MS = 60 * 60 * 1000;

export const CUSTOM_NAME_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,63}$';
/** What t.js generates: a UUID (`crypto.randomUUID`) or 32 hex digits; nothing that could be a lead id or an email. */
export const ANONYMOUS_ID_PATTERN = '^[A-Za-z0-9-]{16,64}$';
/** A page view's client id: base64url/hex, so `t:<id>` and `t:<id>:<activity>` stay valid event ids. */
export const HIT_ID_PATTERN = '^[A-Za-z0-9_-]{8,40}$';
export const VARIANT_PATTERN = '^[A-Za-z0-9_-]{1,32}$';

// ---------------------------------------------------------------------------------------------
// Settings

export interface UrlRuleInput {
  match: string;
  activity: string;
  name?: string | undefined;
}

export interface TrackingSettingsInput {
  urlRules: UrlRuleInput[];
  allowedOrigins: string[];
}

export type Checked<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

const customName = new RegExp(CUSTOM_NAME_PATTERN);

export { normaliseOrigin };

/** Validates and normalises settings from the API; errors name the field (`/urlRules/2/match`). */
export function checkTrackingSettings(
  input: TrackingSettingsInput,
): Checked<Omit<TrackingSettings, 'updatedAt'>> {
  const errors: FieldError[] = [];
  const urlRules: UrlRule[] = [];
  input.urlRules.forEach((rule, i) => {
    const path = `/urlRules/${i}`;
    const match = rule.match.trim();
    if (match === '' || match.replaceAll('*', '') === '')
      errors.push({ path: `${path}/match`, message: 'must name part of a URL, e.g. /pricing*' });
    else if (match.length > MAX_PATTERN_LENGTH)
      errors.push({ path: `${path}/match`, message: `must be at most ${MAX_PATTERN_LENGTH} characters` });
    if (!(ruleActivities as readonly string[]).includes(rule.activity)) {
      errors.push({
        path: `${path}/activity`,
        message: `must be one of ${ruleActivities.join(', ')}`,
      });
      return;
    }
    const activity = rule.activity as RuleActivity;
    if (activity === 'custom') {
      if (rule.name === undefined || !customName.test(rule.name))
        errors.push({
          path: `${path}/name`,
          message: 'is required for a custom activity: lower-case letters, digits, _ . - (at most 64)',
        });
    } else if (rule.name !== undefined) {
      errors.push({ path: `${path}/name`, message: 'is only for custom activities' });
    }
    urlRules.push({ match, activity, ...(activity === 'custom' && rule.name ? { name: rule.name } : {}) });
  });

  const allowedOrigins: string[] = [];
  input.allowedOrigins.forEach((text, i) => {
    const origin = normaliseOrigin(text);
    if (!origin) {
      errors.push({
        path: `/allowedOrigins/${i}`,
        message: 'must be an origin like https://acme.com or https://*.acme.com (no path)',
      });
    } else if (!allowedOrigins.includes(origin)) allowedOrigins.push(origin);
  });

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { urlRules, allowedOrigins } };
}

/**
 * Whether a page of `origin` may send page views. Leadline's own origin always may (its hosted
 * forms and landing pages carry t.js); an empty list allows every origin.
 */
export function originAllowed(allowedOrigins: readonly string[], origin: string, ownOrigin: string): boolean {
  const normalised = normaliseOrigin(origin);
  if (!normalised || normalised.includes('*')) return false;
  if (normalised === normaliseOrigin(ownOrigin)) return true;
  if (allowedOrigins.length === 0) return true;
  // The rule forms share (src/origins.ts): exact origins, or subdomains of `https://*.acme.com`.
  return originInList(allowedOrigins, normalised);
}

/**
 * What the workspace's scoring model would count twice: a URL rule whose page views the model
 * scores as page views and whose added activity it scores again. One message per such rule,
 * for the settings answer (the settings are stored anyway: it may be what the marketer wants).
 */
export function scoringOverlaps(
  urlRules: readonly UrlRule[],
  behaviour: ReadonlyArray<ActivityMatcher & { id: string }>,
): string[] {
  const warnings: string[] = [];
  urlRules.forEach((rule, i) => {
    const url = sampleUrl(rule.match);
    const asPageView = behaviour.find((r) => activityMatches(r, { type: 'page_view', properties: { url } }));
    const properties = { url, ...(rule.name ? { name: rule.name } : {}) };
    const asActivity = behaviour.find((r) => activityMatches(r, { type: rule.activity, properties }));
    if (asPageView && asActivity) {
      warnings.push(
        `urlRules/${i}: a page view of ${rule.match} is scored by rule "${asPageView.id}" and the ` +
          `${rule.activity} it adds by rule "${asActivity.id}": such a visit is scored twice.`,
      );
    }
  });
  return warnings;
}

/** A URL the pattern matches, to ask the scoring model about it: the pattern without its wildcards. */
function sampleUrl(match: string): string {
  const literal = match.replaceAll('*', '');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(literal)) return literal;
  return `https://site.example${literal.startsWith('/') ? '' : '/'}${literal}`;
}

// ---------------------------------------------------------------------------------------------
// Page views

/** A page view as t.js sends it (short keys: it travels on every page). */
export interface Hit {
  /** Type: `page_view`. */
  t: 'page_view';
  /** Client id of the page view, unique per visitor: a resent batch is stored once. */
  i: string;
  /** The page URL. */
  u: string;
  /** Title. */
  ti?: string | undefined;
  /** Referrer: the previous page (document.referrer, or the previous URL of a single-page app). */
  r?: string | undefined;
  /** When it happened, epoch ms by the browser's clock. */
  ts: number;
  /** Landing-page variant the visitor saw. */
  v?: string | undefined;
}

/** The body of `POST /t/collect`. */
export interface Batch {
  /** Workspace slug (`data-workspace`). */
  w: string;
  /** Anonymous id (the `ll_aid` cookie). */
  a: string;
  /** When the batch was sent, epoch ms by the browser's clock: ages are measured against it. */
  s?: number | undefined;
  e: Hit[];
}

/** An event for `events.ingest`, in the shape of `POST /api/v1/events` items. */
export interface RawEvent {
  id: string;
  type: EventType;
  anonymousId: string;
  occurredAt: number;
  properties: Record<string, unknown>;
}

export interface PageViewProperties {
  url: string;
  host: string;
  path: string;
  title?: string;
  referrer?: string;
  utm?: Utm;
  variant?: string;
}

/** The page's origin, or undefined when the URL is not absolute http(s). */
export function originOf(url: string): string | undefined {
  const parsed = URL.parse(url);
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) return undefined;
  return parsed.origin;
}

/** URL rules as matchers, compiled once per settings object (every page view runs them). */
const compiledRules = new WeakMap<readonly UrlRule[], Array<(lowerUrl: string) => boolean>>();
function rulesOf(urlRules: readonly UrlRule[]): Array<(lowerUrl: string) => boolean> {
  let compiled = compiledRules.get(urlRules);
  if (!compiled) {
    compiled = urlRules.map((rule) => compilePattern(rule.match));
    compiledRules.set(urlRules, compiled);
  }
  return compiled;
}

/** The rules a URL matches; a second rule adding the same activity (and name) adds nothing. */
export function matchingRules(urlRules: readonly UrlRule[], url: string): UrlRule[] {
  const text = url.toLowerCase().slice(0, MAX_MATCHED_TEXT);
  const matchers = rulesOf(urlRules);
  const found: UrlRule[] = [];
  urlRules.forEach((rule, i) => {
    if (!matchers[i]!(text)) return;
    if (!found.some((f) => f.activity === rule.activity && f.name === rule.name)) found.push(rule);
  });
  return found;
}

export interface CollectContext {
  /** Server time of the request. */
  now: number;
  settings: TrackingSettings;
  /** Leadline's public origin (always allowed). */
  ownOrigin: string;
  /** The request's Origin header, when a browser sent one. */
  origin: string | undefined;
}

export type CollectPlan =
  /** `hitOf[n]`: the index in the batch of the page view that made `events[n]`. */
  | { ok: true; events: RawEvent[]; hitOf: number[] }
  | { ok: false; kind: 'invalid'; errors: FieldError[] }
  | { ok: false; kind: 'origin'; origin: string };

/**
 * Turns a validated batch into events: one `page_view` per hit (event id `t:<hit id>`, so a
 * resent batch is a duplicate), plus one event per URL rule the page matches (`t:<hit
 * id>:<activity>`). Times are moved onto the server clock by each hit's age within its
 * batch, so a visitor's wrong clock does not misplace their history. Refused whole: a page
 * of another origin than the allowed ones, or a URL that is not an absolute http(s) URL.
 */
export function planCollect(batch: Batch, context: CollectContext): CollectPlan {
  const { now, settings, ownOrigin } = context;
  const errors: FieldError[] = [];
  // A browser's Origin header is what is checked; without one (not a browser, or `null` from a
  // sandboxed frame or a file), the pages' own origins are.
  const browserOrigin =
    context.origin !== undefined && context.origin !== 'null' ? context.origin : undefined;
  const origins = new Set<string>(browserOrigin ? [browserOrigin] : []);
  const sentAt = batch.s ?? Math.max(...batch.e.map((hit) => hit.ts));
  batch.e.forEach((hit, i) => {
    const origin = originOf(hit.u);
    if (!origin) errors.push({ path: `/e/${i}/u`, message: 'must be an absolute http(s) URL' });
    else if (!browserOrigin) origins.add(origin);
    if (hit.r && !originOf(hit.r))
      errors.push({ path: `/e/${i}/r`, message: 'must be an absolute http(s) URL' });
  });
  if (errors.length > 0) return { ok: false, kind: 'invalid', errors };
  for (const origin of origins) {
    if (!originAllowed(settings.allowedOrigins, origin, ownOrigin))
      return { ok: false, kind: 'origin', origin };
  }

  const events: RawEvent[] = [];
  const hitOf: number[] = [];
  batch.e.forEach((hit, index) => {
    const age = Math.min(Math.max(sentAt - hit.ts, 0), MAX_EVENT_AGE_MS);
    const occurredAt = now - age;
    const url = new URL(hit.u);
    const utm = utmFromUrl(hit.u);
    const properties: PageViewProperties = {
      url: hit.u,
      host: url.host,
      path: url.pathname,
      ...(hit.ti ? { title: hit.ti } : {}),
      ...(hit.r ? { referrer: hit.r } : {}),
      ...(Object.keys(utm).length > 0 ? { utm } : {}),
      ...(hit.v ? { variant: hit.v } : {}),
    };
    const id = `t:${hit.i}`;
    hitOf.push(index);
    events.push({
      id,
      type: 'page_view',
      anonymousId: batch.a,
      occurredAt,
      properties: properties as unknown as Record<string, unknown>,
    });
    for (const rule of matchingRules(settings.urlRules, hit.u)) {
      hitOf.push(index);
      events.push({
        id: `${id}:${rule.activity}${rule.name ? `:${rule.name}` : ''}`,
        type: rule.activity,
        anonymousId: batch.a,
        occurredAt,
        properties: {
          url: hit.u,
          path: url.pathname,
          ...(hit.ti ? { title: hit.ti } : {}),
          ...(rule.name ? { name: rule.name } : {}),
          urlRule: rule.match,
          pageViewId: id,
        },
      });
    }
  });
  return { ok: true, events, hitOf };
}

/**
 * Crawlers that run JavaScript (search engines render pages) would fill timelines with visits
 * nobody made. Matched on their self-declared user agents only; headless browsers that do not
 * say they are bots are not guessed at.
 */
const botAgent =
  /bot\b|crawler|spider|slurp|bingpreview|facebookexternalhit|embedly|quora link preview|lighthouse|pingdom|uptimerobot|google-inspectiontool|mediapartners-google|adsbot/i;

export function isBotAgent(userAgent: string | undefined): boolean {
  return userAgent !== undefined && botAgent.test(userAgent);
}

/**
 * Whether the request carries a browser privacy signal: Global Privacy Control (`Sec-GPC: 1`)
 * or Do Not Track (`DNT: 1`). t.js sends nothing then; this also covers old copies of t.js
 * and other clients.
 */
export function privacySignal(headers: { gpc?: string | undefined; dnt?: string | undefined }): boolean {
  return headers.gpc?.trim() === '1' || headers.dnt?.trim() === '1';
}
