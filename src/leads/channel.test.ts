import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { channelForLabel, deriveChannel, utmFromUrl } from './channel.ts';
import { type Channel, channels, type Utm } from './model.ts';

describe('utmFromUrl', () => {
  const cases: [string, Utm][] = [
    [
      'https://acme.com/?utm_source=google&utm_medium=cpc&utm_campaign=spring&utm_term=crm&utm_content=ad1',
      { source: 'google', medium: 'cpc', campaign: 'spring', term: 'crm', content: 'ad1' },
    ],
    ['https://acme.com/?utm_source=%20Google%20&utm_medium=', { source: 'Google' }],
    ['https://acme.com/?UTM_SOURCE=news&utm_source=other', { source: 'news' }],
    ['https://acme.com/?utm_medium=email+blast&gclid=1', { medium: 'email blast' }],
    ['https://acme.com/pricing', {}],
    ['/pricing?utm_source=x', { source: 'x' }],
    ['?utm_medium=social', { medium: 'social' }],
    ['not a url?utm_source=x', {}],
    ['', {}],
    ['https://acme.com/?utm_id=7&utm_source_platform=x', {}],
    // PostgreSQL refuses NUL in text and jsonb: a %00 is dropped from the decoded value.
    [
      'https://acme.com/?UTM_SOURCE=%00x&utm_medium=%00&utm_campaign=spr%00ing',
      { source: 'x', campaign: 'spring' },
    ],
    ['https://acme.com/?utm_source=%00%20&utm_source=second', { source: 'second' }],
    // A lone surrogate in the URL is encoded by the URL parser as U+FFFD.
    ['/?utm_term=a\ud800', { term: 'a\ufffd' }],
  ];
  for (const [url, expected] of cases) {
    test(`${JSON.stringify(url)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(utmFromUrl(url), expected);
    });
  }

  test('returns only trimmed, non-empty utm fields for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl({ withQueryParameters: true })), (url) => {
        const utm = utmFromUrl(url);
        assert.ok(
          Object.keys(utm).every((key) => ['source', 'medium', 'campaign', 'term', 'content'].includes(key)),
        );
        assert.ok(Object.values(utm).every((value) => value !== '' && value === value.trim()));
      }),
    );
  });

  test('gives only values PostgreSQL can store (no NUL, no lone surrogate) for any query value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary-ascii' }), (source, medium) => {
        const url = `https://acme.com/?utm_source=${encodeURIComponent(source)}&utm_medium=${encodeURIComponent(medium)}`;
        const expected: Utm = {};
        const cleanSource = source.replaceAll('\u0000', '').trim();
        const cleanMedium = medium.replaceAll('\u0000', '').trim();
        if (cleanSource) expected.source = cleanSource;
        if (cleanMedium) expected.medium = cleanMedium;
        const utm = utmFromUrl(url);
        assert.deepEqual(utm, expected);
        assert.ok(Object.values(utm).every((value) => !value.includes('\u0000') && value.isWellFormed()));
      }),
    );
  });

  test('round-trips any utm value through a query string, trimmed', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (source, campaign) => {
        const url = `https://acme.com/?utm_source=${encodeURIComponent(source)}&utm_campaign=${encodeURIComponent(campaign)}`;
        const expected: Utm = {};
        if (source.trim()) expected.source = source.trim();
        if (campaign.trim()) expected.campaign = campaign.trim();
        assert.deepEqual(utmFromUrl(url), expected);
      }),
    );
  });
});

type TouchInput = Parameters<typeof deriveChannel>[0];

const LP = 'https://acme.com/landing';

/** [why the row exists, touch, expected channel] */
const rules: [string, TouchInput, Channel][] = [
  // 1. offline
  ['source import', { source: 'import' }, 'offline'],
  ['source CSV in any case', { source: ' CSV ' }, 'offline'],
  ['source offline', { source: 'offline' }, 'offline'],
  ['source crm beats an email medium', { source: 'crm', utm: { medium: 'email' } }, 'offline'],
  ['medium offline', { utm: { source: 'flyer', medium: 'Offline' } }, 'offline'],
  ['source cold call', { source: 'cold call' }, 'offline'],
  [
    'source Purchased List beats a referrer',
    { source: 'Purchased List', referrer: 'https://google.com' },
    'offline',
  ],
  // 2. events
  ['medium event', { utm: { medium: 'event' } }, 'events'],
  ['medium events', { utm: { medium: 'events' } }, 'events'],
  ['medium webinar', { utm: { source: 'zoom', medium: 'webinar' } }, 'events'],
  ['medium conference', { utm: { medium: 'conference' } }, 'events'],
  ['medium tradeshow', { utm: { medium: 'tradeshow' } }, 'events'],
  ['medium trade-show', { utm: { medium: 'trade-show' } }, 'events'],
  ['medium meetup', { utm: { medium: 'Meetup' } }, 'events'],
  ['source event', { source: 'event' }, 'events'],
  ['source Trade Show', { source: 'Trade Show' }, 'events'],
  ['source trade-show with a landing page', { source: 'trade-show', landingPage: LP }, 'events'],
  ['medium trade show, spelled with a space', { utm: { medium: 'Trade Show' } }, 'events'],
  ['utm source webinar', { utm: { source: 'webinar' } }, 'events'],
  ['events beat email', { utm: { source: 'newsletter', medium: 'webinar' } }, 'events'],
  // 3. email
  ['medium email', { utm: { source: 'hubspot', medium: 'email' } }, 'email'],
  ['medium e-mail', { utm: { medium: 'E-Mail' } }, 'email'],
  ['medium e_mail', { utm: { medium: 'e_mail' } }, 'email'],
  ['medium newsletter', { utm: { medium: 'newsletter' } }, 'email'],
  ['utm source newsletter', { utm: { source: 'newsletter', medium: 'cpc' } }, 'email'],
  ['source email', { source: 'email' }, 'email'],
  ['source Email Marketing', { source: 'Email Marketing' }, 'email'],
  ['medium e mail (GA4 spelling)', { utm: { medium: 'e mail' } }, 'email'],
  ['email beats a click id', { utm: { medium: 'email' }, landingPage: `${LP}?gclid=abc` }, 'email'],
  // 4. paid
  ['cpc from google', { utm: { source: 'google', medium: 'cpc' } }, 'paid_search'],
  ['ppc from bing.com', { utm: { source: 'bing.com', medium: 'ppc' } }, 'paid_search'],
  ['paid_search from duckduckgo', { utm: { source: 'duckduckgo', medium: 'paid_search' } }, 'paid_search'],
  ['cpc from a google ccTLD host', { utm: { source: 'www.google.co.uk', medium: 'cpc' } }, 'paid_search'],
  ['cpc from search.brave.com', { utm: { source: 'search.brave.com', medium: 'cpc' } }, 'paid_search'],
  ['cpc from yandex.ru', { utm: { source: 'yandex.ru', medium: 'CPC' } }, 'paid_search'],
  ['cpm from facebook', { utm: { source: 'facebook', medium: 'cpm' } }, 'paid_social'],
  ['paid from fb_ads', { utm: { source: 'fb_ads', medium: 'paid' } }, 'paid_social'],
  ['paid-social from LinkedIn', { utm: { source: 'LinkedIn', medium: 'paid-social' } }, 'paid_social'],
  ['retargeting from instagram', { utm: { source: 'ig', medium: 'retargeting' } }, 'paid_social'],
  ['cpc from x', { utm: { source: 'x', medium: 'cpc' } }, 'paid_social'],
  ['cpc from tiktok', { utm: { source: 'tiktok', medium: 'cpc' } }, 'paid_social'],
  ['cpc from reddit.com', { utm: { source: 'reddit.com', medium: 'cpc' } }, 'paid_social'],
  [
    'cpc, source unknown, search referrer',
    { utm: { medium: 'cpc' }, referrer: 'https://www.bing.com/' },
    'paid_search',
  ],
  [
    'cpc, no source, social referrer',
    { utm: { medium: 'cpc' }, referrer: 'https://lnkd.in/abc' },
    'paid_social',
  ],
  ['cpc, source unknown, no referrer', { utm: { source: 'adroll', medium: 'cpc' } }, 'other'],
  [
    'cpc, source unknown, webmail referrer',
    { utm: { medium: 'cpc' }, referrer: 'https://mail.google.com/' },
    'other',
  ],
  ['gclid alone', { landingPage: `${LP}?gclid=abc` }, 'paid_search'],
  ['gbraid alone', { landingPage: `${LP}?gbraid=abc` }, 'paid_search'],
  [
    'wbraid with a search referrer',
    { landingPage: `${LP}?wbraid=x`, referrer: 'https://google.com' },
    'paid_search',
  ],
  ['msclkid alone', { landingPage: `${LP}?msclkid=abc` }, 'paid_search'],
  ['dclid alone', { landingPage: `${LP}?dclid=abc` }, 'paid_search'],
  ['li_fat_id alone', { landingPage: `${LP}?li_fat_id=abc` }, 'paid_social'],
  ['ttclid alone', { landingPage: `${LP}?ttclid=abc` }, 'paid_social'],
  [
    'click id decides over utm source',
    { utm: { source: 'facebook', medium: 'cpc' }, landingPage: `${LP}?gclid=abc` },
    'paid_search',
  ],
  [
    'click id decides over the referrer',
    { landingPage: `${LP}?ttclid=1`, referrer: 'https://google.com' },
    'paid_social',
  ],
  [
    'click id with an organic medium',
    { utm: { source: 'google', medium: 'organic' }, landingPage: `${LP}?gclid=1` },
    'paid_search',
  ],
  [
    'fbclid is not a paid signal',
    { landingPage: `${LP}?fbclid=abc`, referrer: 'https://m.facebook.com/' },
    'organic_social',
  ],
  ['empty click id is ignored', { landingPage: `${LP}?gclid=` }, 'direct'],
  // display
  ['display network cpm', { utm: { source: 'criteo', medium: 'cpm' } }, 'display'],
  ['google / display', { utm: { source: 'google', medium: 'display' } }, 'display'],
  ['google / banner', { utm: { source: 'google', medium: 'Banner' } }, 'display'],
  ['facebook / display', { utm: { source: 'facebook', medium: 'display' } }, 'display'],
  ['unknown source / interstitial', { utm: { source: 'partner', medium: 'interstitial' } }, 'display'],
  ['medium expandable alone', { utm: { medium: 'expandable' } }, 'display'],
  [
    'display with a search referrer',
    { utm: { medium: 'display' }, referrer: 'https://www.google.com/' },
    'display',
  ],
  [
    'display medium with a gclid is paid search',
    { utm: { source: 'google', medium: 'display' }, landingPage: `${LP}?gclid=1` },
    'paid_search',
  ],
  // (direct) / (none): what analytics tools write for a direct visit
  ['(direct) / (none)', { utm: { source: '(direct)', medium: '(none)' } }, 'direct'],
  ['(direct) / (not set)', { utm: { source: '(Direct)', medium: '(not set)' } }, 'direct'],
  ['(direct) without medium', { utm: { source: '(direct)' } }, 'direct'],
  [
    '(direct) from the landing page',
    { landingPage: `${LP}?utm_source=(direct)&utm_medium=(none)` },
    'direct',
  ],
  [
    '(direct) with a gclid is paid search',
    { utm: { source: '(direct)' }, landingPage: `${LP}?gclid=1` },
    'paid_search',
  ],
  ['(direct) with medium cpc is not direct', { utm: { source: '(direct)', medium: 'cpc' } }, 'other'],
  ['medium (none) counts as absent', { utm: { source: 'google', medium: '(none)' } }, 'organic_search'],
  [
    'only placeholders: the referrer decides',
    { utm: { medium: '(none)' }, referrer: 'https://www.bing.com/' },
    'organic_search',
  ],
  // 5. organic search / social
  ['source google without medium', { utm: { source: 'google' } }, 'organic_search'],
  ['source Bing with medium organic', { utm: { source: 'Bing', medium: 'organic' } }, 'organic_search'],
  ['unknown source with medium organic', { utm: { source: 'partner', medium: 'organic' } }, 'organic_search'],
  ['source ecosia.org', { utm: { source: 'ecosia.org', medium: 'referral' } }, 'organic_search'],
  ['source facebook', { utm: { source: 'facebook' } }, 'organic_social'],
  [
    'facebook with medium organic is social',
    { utm: { source: 'facebook', medium: 'organic' } },
    'organic_social',
  ],
  ['source m.facebook.com', { utm: { source: 'm.facebook.com', medium: 'referral' } }, 'organic_social'],
  ['source t.co', { utm: { source: 't.co' } }, 'organic_social'],
  ['source x', { utm: { source: 'x' } }, 'organic_social'],
  ['source fb', { utm: { source: 'FB' } }, 'organic_social'],
  ['source x.ai is not x.com', { utm: { source: 'x.ai', medium: 'referral' } }, 'referral'],
  ['medium social media, spelled with a space', { utm: { medium: 'Social Media' } }, 'organic_social'],
  ['source mail.google.com', { utm: { source: 'mail.google.com', medium: 'referral' } }, 'email'],
  ['source mastodon.social', { utm: { source: 'mastodon.social' } }, 'organic_social'],
  ['medium social', { utm: { source: 'partner', medium: 'social' } }, 'organic_social'],
  ['medium social-network', { utm: { medium: 'social-network' } }, 'organic_social'],
  ['medium social-media', { utm: { medium: 'social-media' } }, 'organic_social'],
  ['medium sm', { utm: { medium: 'sm' } }, 'organic_social'],
  ['medium social_media', { utm: { medium: 'Social_Media' } }, 'organic_social'],
  [
    'a social medium beats a search source',
    { utm: { source: 'google', medium: 'social' } },
    'organic_social',
  ],
  // 6. referral
  ['medium referral', { utm: { source: 'partner.com', medium: 'referral' } }, 'referral'],
  ['medium link', { utm: { source: 'blog', medium: 'link' } }, 'referral'],
  ['medium app', { utm: { source: 'zapier', medium: 'app' } }, 'referral'],
  // 7. no utm: referrer
  ['no utm, google referrer', { referrer: 'https://www.google.com/' }, 'organic_search'],
  ['no utm, google ccTLD referrer', { referrer: 'https://www.google.co.uk/search?q=x' }, 'organic_search'],
  ['no utm, google.com.br referrer', { referrer: 'https://www.google.com.br/' }, 'organic_search'],
  ['no utm, yahoo japan referrer', { referrer: 'https://search.yahoo.co.jp/' }, 'organic_search'],
  ['no utm, brave search referrer', { referrer: 'https://search.brave.com/search?q=x' }, 'organic_search'],
  ['no utm, bare host referrer', { referrer: 'duckduckgo.com' }, 'organic_search'],
  ['no utm, linkedin referrer', { referrer: 'https://www.linkedin.com/feed/' }, 'organic_social'],
  ['no utm, t.co referrer', { referrer: 'https://t.co/xyz' }, 'organic_social'],
  ['no utm, x.com referrer', { referrer: 'https://x.com/acme' }, 'organic_social'],
  ['no utm, youtu.be referrer', { referrer: 'https://youtu.be/abc' }, 'organic_social'],
  ['no utm, threads.net referrer', { referrer: 'https://www.threads.net/' }, 'organic_social'],
  ['no utm, fb.com referrer', { referrer: 'https://fb.com/acme' }, 'organic_social'],
  ['no utm, bsky.social referrer', { referrer: 'https://acme.bsky.social/' }, 'organic_social'],
  ['no utm, x.ai referrer', { referrer: 'https://x.ai/' }, 'referral'],
  ['no utm, x.test referrer', { referrer: 'https://x.test/' }, 'referral'],
  ['no utm, ig.com referrer (a broker)', { referrer: 'https://www.ig.com/' }, 'referral'],
  ['no utm, Gmail referrer', { referrer: 'https://mail.google.com/' }, 'email'],
  ['no utm, Outlook referrer', { referrer: 'https://outlook.live.com/mail/0/' }, 'email'],
  ['no utm, Microsoft 365 Outlook referrer', { referrer: 'https://outlook.office.com/' }, 'email'],
  ['no utm, Yahoo Mail referrer', { referrer: 'https://mail.yahoo.com/d/folders/1' }, 'email'],
  ['no utm, Yahoo Mail UK referrer', { referrer: 'https://uk.mail.yahoo.com/' }, 'email'],
  ['no utm, a company webmail referrer', { referrer: 'https://webmail.acme.de/' }, 'email'],
  ['no utm, mail.ru itself is not webmail', { referrer: 'https://mail.ru/' }, 'referral'],
  ['no utm, other site', { referrer: 'https://news.ycombinator.com/item?id=1', landingPage: LP }, 'referral'],
  ['no utm, other site, no landing page', { referrer: 'https://blog.partner.io/post' }, 'referral'],
  ['no utm, a site whose name only contains google', { referrer: 'https://notgoogle.com/' }, 'referral'],
  ['no utm, a brand as subdomain elsewhere', { referrer: 'https://google.example.org/' }, 'referral'],
  ['no utm, same host as landing page', { referrer: 'https://acme.com/blog', landingPage: LP }, 'direct'],
  ['no utm, www vs bare host', { referrer: 'https://www.acme.com/', landingPage: LP }, 'direct'],
  ['no utm, own subdomain', { referrer: 'https://blog.acme.com/', landingPage: LP }, 'direct'],
  ['no utm, no referrer', { landingPage: LP }, 'direct'],
  ['nothing at all', {}, 'direct'],
  ['nulls everywhere', { source: null, referrer: null, landingPage: null }, 'direct'],
  ['unknown source label with a landing page', { source: 'website', landingPage: LP }, 'direct'],
  // 10. only a source label: what the label names, not direct
  ['unknown source label alone is not direct', { source: 'website' }, 'other'],
  ['source Expo 2026 alone', { source: 'Expo 2026' }, 'other'],
  ['source Word of mouth alone', { source: 'Word of mouth' }, 'referral'],
  ['source Organic Search alone', { source: 'Organic Search' }, 'organic_search'],
  ['source Direct Traffic alone', { source: 'Direct Traffic' }, 'direct'],
  [
    'a web-channel label does not beat UTM',
    { source: 'Organic Search', utm: { source: 'google', medium: 'cpc' } },
    'paid_search',
  ],
  ['unparseable referrer', { referrer: 'not a url' }, 'direct'],
  ['empty utm values count as absent', { utm: { source: ' ', medium: '' } }, 'direct'],
  // 8. utm present, nothing matched
  ['campaign only', { utm: { campaign: 'spring' } }, 'other'],
  ['unknown source and medium', { utm: { source: 'partner', medium: 'flyer' } }, 'other'],
  [
    'utm present, google referrer ignored',
    { utm: { campaign: 'x' }, referrer: 'https://google.com' },
    'other',
  ],
  // utm from the landing page
  ['utm from the landing page', { landingPage: `${LP}?utm_source=google&utm_medium=cpc` }, 'paid_search'],
  ['relative landing page', { landingPage: '/pricing?utm_medium=email' }, 'email'],
  [
    'explicit utm wins over the landing page',
    { utm: { medium: 'social' }, landingPage: `${LP}?utm_medium=email` },
    'organic_social',
  ],
  ['empty utm falls back to the landing page', { utm: {}, landingPage: `${LP}?utm_medium=email` }, 'email'],
];

describe('channelForLabel', () => {
  test('knows HubSpot labels and internal names, and Salesforce lead sources, in any spelling', () => {
    for (const [label, channel] of [
      ['Organic Search', 'organic_search'],
      ['PAID_SEARCH', 'paid_search'],
      ['Email Marketing', 'email'],
      ['Social Media', 'organic_social'],
      ['Referrals', 'referral'],
      ['Direct Traffic', 'direct'],
      ['Offline Sources', 'offline'],
      ['Other Campaigns', 'other'],
      ['Trade Show', 'events'],
      ['trade-show', 'events'],
      ['Cold Call', 'offline'],
      ['Display Ads', 'display'],
    ] as const)
      assert.equal(channelForLabel(label), channel, label);
    assert.equal(channelForLabel('website'), undefined);
  });
});

describe('deriveChannel', () => {
  for (const [why, touch, expected] of rules) {
    test(`${why} → ${expected}`, () => {
      assert.equal(deriveChannel(touch), expected);
    });
  }

  test('every channel is reachable from the table', () => {
    assert.deepEqual(new Set(rules.map(([, , channel]) => channel)), new Set(channels));
  });

  test('never throws and always returns a channel, for arbitrary strings', () => {
    const text = fc.oneof(
      fc.string(),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.constantFrom(
        'google',
        'facebook',
        'cpc',
        'email',
        'import',
        '?gclid=1',
        '/x?utm_source=fb',
        '.',
        '..',
        '@',
      ),
    );
    const maybe = fc.option(text, { nil: undefined });
    const utm = fc.record(
      { source: text, medium: text, campaign: text, term: text, content: text },
      { requiredKeys: [] },
    );
    const touch = fc.record(
      {
        source: fc.option(text),
        utm,
        referrer: fc.option(text),
        landingPage: fc.oneof(
          fc.option(text),
          maybe.map((q) => (q === undefined ? null : `${LP}?${q}`)),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(touch, (t) => {
        assert.ok((channels as readonly string[]).includes(deriveChannel(t)));
      }),
      { numRuns: 2000 },
    );
  });
});
