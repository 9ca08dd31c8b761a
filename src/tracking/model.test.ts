import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultModel } from '../scoring/model.ts';
import {
  type Batch,
  type CollectContext,
  checkTrackingSettings,
  defaultTrackingSettings,
  isBotAgent,
  MAX_EVENT_AGE_MS,
  matchingRules,
  normaliseOrigin,
  originAllowed,
  planCollect,
  privacySignal,
  scoringOverlaps,
  type TrackingSettings,
} from './model.ts';

const now = Date.UTC(2026, 2, 1, 12);
const own = 'https://leads.example.com';

function context(settings: Partial<TrackingSettings> = {}, origin?: string): CollectContext {
  return { now, settings: { ...defaultTrackingSettings, ...settings }, ownOrigin: own, origin };
}

function batch(hits: Array<Partial<Batch['e'][number]>>, sentAt?: number): Batch {
  return {
    w: 'acme',
    a: '0b6f7d2e-4c1a-4f7e-9a53-2d1f0c9e8b71',
    ...(sentAt === undefined ? {} : { s: sentAt }),
    e: hits.map((hit, i) => ({
      t: 'page_view',
      i: `hit${i}abcdef`,
      u: 'https://acme.com/',
      ts: 1_000,
      ...hit,
    })),
  };
}

describe('tracking settings', () => {
  it('normalises origins as browsers send them, and refuses paths and other schemes', () => {
    assert.equal(normaliseOrigin('HTTPS://Acme.COM/'), 'https://acme.com');
    assert.equal(normaliseOrigin('https://acme.com:443'), 'https://acme.com');
    assert.equal(normaliseOrigin('http://localhost:3000'), 'http://localhost:3000');
    assert.equal(normaliseOrigin('https://*.acme.com'), 'https://*.acme.com');
    assert.equal(normaliseOrigin('http://[::1]:8080'), 'http://[::1]:8080');
    for (const bad of [
      'https://acme.com/blog',
      'ftp://acme.com',
      'acme.com',
      'https://*',
      'https://a..b',
      'https://acme.com:99999',
    ]) {
      assert.equal(normaliseOrigin(bad), undefined, bad);
    }
  });

  it('checks rules and origins, naming every bad field', () => {
    const checked = checkTrackingSettings({
      urlRules: [
        { match: ' /pricing* ', activity: 'pricing_viewed' },
        { match: '**', activity: 'pricing_viewed' },
        { match: '/docs*', activity: 'email_sent' },
        { match: '/docs*', activity: 'custom' },
        { match: '/demo*', activity: 'demo_requested', name: 'x' },
      ],
      allowedOrigins: ['https://acme.com', 'https://acme.com/', 'acme.com'],
    });
    assert.equal(checked.ok, false);
    assert.deepEqual(!checked.ok && checked.errors.map((e) => e.path), [
      '/urlRules/1/match',
      '/urlRules/2/activity',
      '/urlRules/3/name',
      '/urlRules/4/name',
      '/allowedOrigins/2',
    ]);
  });

  it('trims patterns and drops repeated origins', () => {
    const checked = checkTrackingSettings({
      urlRules: [
        { match: ' /pricing* ', activity: 'pricing_viewed' },
        { match: '/guides/*', activity: 'custom', name: 'guide_read' },
      ],
      allowedOrigins: ['https://acme.com', 'HTTPS://ACME.COM/'],
    });
    assert.deepEqual(checked, {
      ok: true,
      value: {
        urlRules: [
          { match: '/pricing*', activity: 'pricing_viewed' },
          { match: '/guides/*', activity: 'custom', name: 'guide_read' },
        ],
        allowedOrigins: ['https://acme.com'],
      },
    });
  });

  it('allows any origin while the list is empty, Leadline itself always, and subdomains by wildcard', () => {
    assert.equal(originAllowed([], 'https://anything.io', own), true);
    const list = ['https://acme.com', 'https://*.acme.io'];
    assert.equal(originAllowed(list, 'https://acme.com', own), true);
    assert.equal(originAllowed(list, 'http://acme.com', own), false);
    assert.equal(originAllowed(list, 'https://blog.acme.io', own), true);
    assert.equal(originAllowed(list, 'https://acme.io', own), false);
    assert.equal(originAllowed(list, 'https://evilacme.io', own), false);
    assert.equal(originAllowed(list, 'https://other.io', own), false);
    assert.equal(originAllowed(list, own, own), true);
    assert.equal(originAllowed(list, 'null', own), false);
  });

  it('warns when the scoring model would score a visit twice, and not for the defaults', () => {
    const behaviour = defaultModel.behaviour;
    assert.deepEqual(scoringOverlaps(defaultTrackingSettings.urlRules, behaviour), []);
    const doubled = [...behaviour, { id: 'pricing-activity', type: 'pricing_viewed' }];
    const warnings = scoringOverlaps(defaultTrackingSettings.urlRules, doubled);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /"pricing-visit".*"pricing-activity".*twice/);
    // A rule on other pages does not overlap the pricing page-view rule.
    assert.deepEqual(scoringOverlaps([{ match: '/careers*', activity: 'pricing_viewed' }], doubled), []);
  });
});

describe('planning a batch of page views', () => {
  it('makes a page view per hit, with UTM from the URL, and the activities of matching rules', () => {
    const plan = planCollect(
      batch([
        {
          i: 'abcdef0123456789',
          u: 'https://acme.com/pricing?plan=pro&utm_source=news&UTM_Medium=email',
          ti: 'Pricing',
          r: 'https://www.google.com/',
          ts: 5_000,
          v: 'b',
        },
        { i: 'fedcba9876543210', u: 'https://acme.com/blog', ts: 9_000 },
      ]),
      context(),
    );
    assert.ok(plan.ok);
    assert.deepEqual(
      plan.events.map((e) => [e.id, e.type]),
      [
        ['t:abcdef0123456789', 'page_view'],
        ['t:abcdef0123456789:pricing_viewed', 'pricing_viewed'],
        ['t:fedcba9876543210', 'page_view'],
      ],
    );
    assert.deepEqual(plan.hitOf, [0, 0, 1]);
    assert.deepEqual(plan.events[0]!.properties, {
      url: 'https://acme.com/pricing?plan=pro&utm_source=news&UTM_Medium=email',
      host: 'acme.com',
      path: '/pricing',
      title: 'Pricing',
      referrer: 'https://www.google.com/',
      utm: { source: 'news', medium: 'email' },
      variant: 'b',
    });
    assert.deepEqual(plan.events[1]!.properties, {
      url: 'https://acme.com/pricing?plan=pro&utm_source=news&UTM_Medium=email',
      path: '/pricing',
      title: 'Pricing',
      urlRule: '/pricing*',
      pageViewId: 't:abcdef0123456789',
    });
    assert.ok(plan.events.every((e) => e.anonymousId === '0b6f7d2e-4c1a-4f7e-9a53-2d1f0c9e8b71'));
  });

  it('places events on the server clock by their age within the batch, whatever the browser clock says', () => {
    // The browser clock is years off; the second page view happened 4 s before the batch left.
    const plan = planCollect(batch([{ ts: 10_000 }, { ts: 16_000 }], 20_000), context());
    assert.ok(plan.ok);
    assert.deepEqual(
      plan.events.map((e) => e.occurredAt),
      [now - 10_000, now - 4_000],
    );
    const old = planCollect(batch([{ ts: 0 }], MAX_EVENT_AGE_MS * 5), context());
    assert.equal(old.ok && old.events[0]!.occurredAt, now - MAX_EVENT_AGE_MS);
    // Without a send time, the newest page view is "now"; ages are never negative.
    const capped = planCollect(batch([{ ts: 0 }, { ts: MAX_EVENT_AGE_MS * 3 }, { ts: 50 }], 40), context());
    assert.ok(capped.ok);
    assert.deepEqual(
      capped.events.map((e) => e.occurredAt),
      [now - 40, now, now],
    );
  });

  it('records one activity per distinct rule outcome, custom ones with their name', () => {
    const urlRules = [
      { match: '/pricing*', activity: 'pricing_viewed' as const },
      { match: '/pricing/enterprise*', activity: 'pricing_viewed' as const },
      { match: '/pricing/enterprise*', activity: 'custom' as const, name: 'enterprise_interest' },
    ];
    assert.equal(matchingRules(urlRules, 'https://acme.com/pricing/enterprise').length, 2);
    const plan = planCollect(
      batch([{ u: 'https://acme.com/Pricing/Enterprise?x=1' }]),
      context({ urlRules }),
    );
    assert.ok(plan.ok);
    assert.deepEqual(
      plan.events.map((e) => e.id),
      ['t:hit0abcdef', 't:hit0abcdef:pricing_viewed', 't:hit0abcdef:custom:enterprise_interest'],
    );
    assert.equal(plan.events[2]!.properties.name, 'enterprise_interest');
  });

  it('refuses URLs and referrers that are not absolute http(s), naming the field', () => {
    const plan = planCollect(
      batch([
        { u: 'https://acme.com/' },
        { u: '/relative' },
        { r: 'android-app://com.x' },
        { u: 'javascript:alert(1)' },
      ]),
      context(),
    );
    assert.deepEqual(!plan.ok && plan.kind === 'invalid' && plan.errors.map((e) => e.path), [
      '/e/1/u',
      '/e/2/r',
      '/e/3/u',
    ]);
  });

  it("checks the browser's Origin header, or the pages' origins when there is none", () => {
    const allowedOrigins = ['https://acme.com'];
    assert.ok(planCollect(batch([{}]), context({ allowedOrigins }, 'https://acme.com')).ok);
    assert.deepEqual(planCollect(batch([{}]), context({ allowedOrigins }, 'https://evil.io')), {
      ok: false,
      kind: 'origin',
      origin: 'https://evil.io',
    });
    // No Origin (a server, curl) or `null` (a sandboxed frame): the page URLs must be allowed.
    assert.ok(planCollect(batch([{}]), context({ allowedOrigins })).ok);
    const foreign = planCollect(batch([{}, { u: 'https://evil.io/x' }]), context({ allowedOrigins }, 'null'));
    assert.equal(!foreign.ok && foreign.kind, 'origin');
    // Leadline's own pages (landing pages) are always allowed.
    assert.ok(planCollect(batch([{ u: `${own}/l/spring` }]), context({ allowedOrigins }, own)).ok);
  });
});

describe('visits that are not recorded', () => {
  it('knows self-declared crawlers, not ordinary or headless browsers', () => {
    assert.equal(
      isBotAgent('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'),
      true,
    );
    assert.equal(isBotAgent('Mozilla/5.0 (compatible; bingbot/2.0)'), true);
    assert.equal(isBotAgent('facebookexternalhit/1.1'), true);
    assert.equal(
      isBotAgent(
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36',
      ),
      false,
    );
    assert.equal(isBotAgent('Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/130.0 Safari/537.36'), false);
    assert.equal(isBotAgent(undefined), false);
  });

  it('honours Global Privacy Control and Do Not Track headers', () => {
    assert.equal(privacySignal({ gpc: '1' }), true);
    assert.equal(privacySignal({ dnt: '1' }), true);
    assert.equal(privacySignal({ dnt: '0' }), false);
    assert.equal(privacySignal({}), false);
  });
});
