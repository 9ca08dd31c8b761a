/**
 * t.js, Leadline's tracking script for a site's pages:
 *
 *   <script async src="https://leads.example.com/t.js" data-workspace="acme"></script>
 *
 * Records page views (URL, title, referrer; the server reads UTM from the URL) under a
 * first-party anonymous id (cookie `ll_aid`, one year), and sends them in batches to
 * `/t/collect` with `sendBeacon`. When the visitor fills a Leadline form, embed.js passes
 * `leadline.anonymousId()` along and the visitor's history joins their lead.
 *
 * Privacy: with Global Privacy Control or Do Not Track on, nothing is stored and nothing is
 * sent, and an `ll_aid` cookie set before the signal was switched on is deleted (embed.js and
 * Leadline's pages would otherwise still find it). With `data-consent="required"`, no cookie is
 * set and nothing is sent until the site calls `leadline('consent', true)` (its consent
 * banner); page views of the current page are held in memory until then.
 * `leadline('consent', false)` deletes the cookie and stops.
 *
 * Other attributes: `data-variant` (landing-page variant, recorded on each page view),
 * `data-cookie-domain` (share the id across subdomains: `acme.com`).
 */

import { privacySignalOn, TRACKER_TAG } from './privacy.ts';

/** The page-view shape of `/t/collect` (src/tracking/model.ts `Hit`). */
interface Hit {
  t: 'page_view';
  i: string;
  u: string;
  ti?: string;
  r?: string;
  ts: number;
  v?: string;
}

type Command = (name: string, ...args: unknown[]) => void;

/** `window.leadline`: a command function with the visitor's id; before load, a queue (`q`) of calls. */
interface LeadlineGlobal extends Command {
  q?: ArrayLike<unknown>[];
  anonymousId?: () => string | undefined;
  loaded?: boolean;
}

const COOKIE = 'll_aid';
const YEAR_SECONDS = 31_536_000;
/** Server limits (src/tracking/model.ts): longer values are cut rather than refused. */
const MAX_BATCH = 50;
const MAX_URL = 2048;
const MAX_TITLE = 300;
/** Page views are sent together this long after the first of them (or at once when the page hides). */
const FLUSH_DELAY_MS = 1000;
/** Single-page apps set the new title after changing the URL: the page view waits for it. */
const SPA_TITLE_DELAY_MS = 100;
const ID_SHAPE = /^[A-Za-z0-9-]{16,64}$/;

const globals = window as unknown as { leadline?: LeadlineGlobal };
const script = (document.currentScript ?? document.querySelector(TRACKER_TAG)) as HTMLScriptElement | null;

if (script && !globals.leadline?.loaded) start(script);

function start(tag: HTMLScriptElement): void {
  const data = tag.dataset;
  const workspace = data.workspace;
  // Relative to t.js itself, so a Leadline behind a path prefix (/leadline/t.js) works too.
  const endpoint = new URL('t/collect', tag.src).href;
  const blocked = privacySignalOn();
  let consent = data.consent !== 'required';
  let anonymousId: string | undefined;
  let queue: Hit[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastUrl: string | undefined;

  const allowed = () => !blocked && consent && !!workspace;

  const writeCookie = (value: string, maxAge: number): void => {
    const secure = location.protocol === 'https:' ? '; Secure' : '';
    const domain = data.cookieDomain ? `; Domain=${data.cookieDomain}` : '';
    // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is missing from Firefox and Safari; the value is a UUID, nothing to escape.
    document.cookie = `${COOKIE}=${value}; Max-Age=${maxAge}; Path=/; SameSite=Lax${secure}${domain}`;
  };

  /** The visitor's id, from the cookie or new; the cookie's year starts again on every visit. */
  const ensureId = (): string => {
    if (!anonymousId) {
      const found = /(?:^|;\s*)ll_aid=([^;]+)/.exec(document.cookie)?.[1];
      anonymousId = found && ID_SHAPE.test(found) ? found : uuid();
    }
    writeCookie(anonymousId, YEAR_SECONDS);
    return anonymousId;
  };

  const send = (body: string): void => {
    try {
      if (navigator.sendBeacon?.(endpoint, new Blob([body], { type: 'text/plain' }))) return;
    } catch {
      // A beacon refused (too large, or blocked): fall through to fetch.
    }
    try {
      // no-cors + text/plain: no preflight; the answer is not needed.
      fetch(endpoint, {
        method: 'POST',
        body,
        keepalive: true,
        mode: 'no-cors',
        credentials: 'omit',
        headers: { 'content-type': 'text/plain' },
      }).catch(() => {});
    } catch {
      // Nothing else to try: a lost page view is better than a broken page.
    }
  };

  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (!allowed()) return;
    const a = ensureId();
    while (queue.length > 0) {
      send(JSON.stringify({ w: workspace, a, s: Date.now(), e: queue.splice(0, MAX_BATCH) }));
    }
  };

  const schedule = (): void => {
    if (!allowed()) return;
    if (queue.length >= MAX_BATCH) flush();
    else timer ??= setTimeout(flush, FLUSH_DELAY_MS);
  };

  const pageView = (): void => {
    const url = location.href.split('#')[0]!;
    if (url === lastUrl || !/^https?:/i.test(url)) return;
    const referrer = lastUrl ?? document.referrer;
    lastUrl = url;
    if (blocked) return;
    const hit: Hit = { t: 'page_view', i: hitId(), u: cut(url, MAX_URL), ts: Date.now() };
    const title = cut(document.title.trim(), MAX_TITLE);
    if (title) hit.ti = title;
    if (/^https?:/i.test(referrer)) hit.r = cut(referrer, MAX_URL);
    if (data.variant) hit.v = data.variant;
    // Waiting for consent: this page's views wait in memory, never on the device.
    if (queue.length < MAX_BATCH) queue.push(hit);
    schedule();
  };

  const setConsent = (granted: boolean): void => {
    consent = granted;
    if (granted) {
      if (!blocked) ensureId();
      flush();
    } else {
      queue = [];
      anonymousId = undefined;
      writeCookie('', 0);
    }
  };

  const queued = globals.leadline?.q ?? [];
  const api: LeadlineGlobal = (name: string, ...args: unknown[]) => {
    if (name === 'consent') setConsent(args[0] === true);
    else if (name === 'page') pageView();
  };
  api.anonymousId = () => (allowed() ? ensureId() : undefined);
  api.loaded = true;
  globals.leadline = api;
  for (const args of queued) api(...(Array.prototype.slice.call(args) as [string, ...unknown[]]));

  // An id kept from before the visitor turned the signal on goes too, not only the new ones.
  if (blocked && /(?:^|;\s*)ll_aid=/.test(document.cookie)) writeCookie('', 0);
  if (!workspace) {
    console.warn('Leadline t.js: the script tag needs data-workspace="<workspace slug>".');
    return;
  }
  if (allowed()) ensureId();

  // Single-page apps: a pushState or a back/forward move is a new page.
  const pushState = history.pushState;
  history.pushState = function (this: History, ...args: Parameters<History['pushState']>) {
    pushState.apply(this, args);
    setTimeout(pageView, SPA_TITLE_DELAY_MS);
  };
  addEventListener('popstate', () => setTimeout(pageView, SPA_TITLE_DELAY_MS));
  // The last batch leaves when the visitor leaves (mobile browsers may never fire pagehide).
  addEventListener('pagehide', flush);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') flush();
  });

  // A prerendered page counts when the visitor actually opens it.
  if ((document as { prerendering?: boolean }).prerendering) {
    document.addEventListener('prerenderingchange', pageView, { once: true });
  } else pageView();
}

/** At most `max` UTF-16 units, without splitting a surrogate pair (a lone half is refused by the server). */
function cut(text: string, max: number): string {
  let out = text.length > max ? text.slice(0, max) : text;
  const last = out.charCodeAt(out.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) out = out.slice(0, -1);
  return out;
}

function randomHex(bytes: number): string {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  let hex = '';
  for (const value of values) hex += (value + 256).toString(16).slice(1);
  return hex;
}

function uuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // Outside a secure context (plain http): a version 4 UUID by hand.
  const h = randomHex(16);
  const variant = ((Number.parseInt(h[16]!, 16) & 3) | 8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20)}`;
}

/** A page view's id: 96 random bits, so a resent batch is recognised and two never collide. */
function hitId(): string {
  return randomHex(12);
}
