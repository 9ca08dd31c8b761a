import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { type Json, type Tenant, tenant } from '../support/api.ts';
import {
  describeInBrowser,
  eventually,
  type Site,
  serveSite,
  useChromium,
  useListeningApp,
  watchRequests,
} from '../support/browser.ts';

/** A page of the customer's site (second origin) with t.js, and optionally more markup. */
const sitePage = (title: string, tag: string, body = '') => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>
<body><h1>${title}</h1>${body}
${tag}
</body></html>`;

/** Anonymous activities of one workspace, oldest first (what /t/collect stored before anyone identified). */
type Row = { anonymous_id: string; type: string; properties: unknown };

describeInBrowser('t.js on a customer site', () => {
  const app = useListeningApp();
  const browser = useChromium();
  let site: Site;
  let w: Tenant;

  before(async () => {
    site = await serveSite({});
    w = await tenant(app().t, 'tracked');
  });
  after(async () => site.close());

  const tag = (attrs = '') =>
    `<script async src="${app().baseUrl}/t.js" data-workspace="${w.slug}"${attrs}></script>`;

  /** A fresh browser profile (no cookies) whose page fails the test on any script error. */
  async function visitor(init?: string): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await browser().newContext();
    if (init) await context.addInitScript({ content: init });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    return { context, page, errors };
  }

  async function anonymous(anonymousId?: string, workspaceId = w.id): Promise<Row[]> {
    let query = app()
      .t.services.database.db.selectFrom('anonymous_activities')
      .select(['anonymous_id', 'type', 'properties'])
      .where('workspace_id', '=', workspaceId);
    if (anonymousId) query = query.where('anonymous_id', '=', anonymousId);
    const rows = await query.orderBy('occurred_at').orderBy('id').execute();
    return rows.map((r) => ({
      ...r,
      properties: typeof r.properties === 'string' ? JSON.parse(r.properties) : r.properties,
    }));
  }

  /** Waits until `check` holds for the visitor's stored activities (t.js sends about 1 s after a page view). */
  async function until(
    anonymousId: string,
    check: (rows: Row[]) => boolean,
    workspaceId = w.id,
  ): Promise<Row[]> {
    let last: Row[] = [];
    const what = () => `the visitor's page views (stored: ${JSON.stringify(last.map((r) => r.type))})`;
    return eventually(what, async () => {
      last = await anonymous(anonymousId, workspaceId);
      return check(last) ? last : undefined;
    });
  }

  /** Sends t.js's waiting page views now, as it does when the page hides, instead of in 1 s. */
  const hide = (page: Page) => page.evaluate("window.dispatchEvent(new Event('pagehide'))");

  /** Page code runs as strings: the tests are type-checked without the DOM's types. */
  const loaded = (page: Page) => page.waitForFunction('window.leadline && window.leadline.loaded === true');
  const anonymousIdOf = (page: Page) =>
    page.evaluate('window.leadline.anonymousId()') as Promise<string | undefined>;

  const idOf = async (page: Page): Promise<string> => {
    const id = await anonymousIdOf(page);
    assert.ok(id, 'the visitor has an anonymous id');
    return id;
  };

  const aidCookie = async (context: BrowserContext) =>
    (await context.cookies(site.origin)).find((cookie) => cookie.name === 'll_aid');

  /**
   * The cookie once the browser's store shows `value` (undefined: gone). A page's
   * `document.cookie` write reaches the store Chromium answers `context.cookies()` from a
   * moment later (a message to its network process), so a read right after it may still see
   * the cookie as it was.
   */
  const aidCookieBecomes = (context: BrowserContext, value: string | undefined) =>
    eventually(
      () => `the ll_aid cookie ${value === undefined ? 'deleted' : `set to ${value}`}`,
      async () => {
        const cookie = await aidCookie(context);
        return cookie?.value === value ? { cookie } : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 20 },
    );

  it('sets the first-party id cookie and sends page views with title, referrer and UTM; the visitor is the same on the next page', async () => {
    site.set('/', sitePage('Acme home', tag(), '<a href="/features">Features</a>'));
    site.set('/features', sitePage('Acme features', tag()));
    const { context, page, errors } = await visitor();
    try {
      await page.goto(site.url('/?utm_source=linkedin&utm_campaign=q1#top'));
      await loaded(page);
      const aid = await idOf(page);
      const { cookie } = await aidCookieBecomes(context, aid);
      assert.ok(cookie, 'll_aid is set');
      assert.match(aid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(cookie.sameSite, 'Lax');
      assert.equal(cookie.path, '/');
      const days = (cookie.expires * 1000 - Date.now()) / 86_400_000;
      assert.ok(days > 364 && days <= 366, `the cookie lasts a year (${days} days)`);

      await page.click('a[href="/features"]');
      await page.waitForURL(site.url('/features'));
      const rows = await until(aid, (r) => r.length >= 2);
      // Both were sent as their page was left, so their times are the same (the tests' clock stands still).
      rows.sort((a, b) =>
        ((a.properties as Json).title as string).localeCompare((b.properties as Json).title),
      );
      assert.deepEqual(
        rows.map((r) => [r.type, (r.properties as Json).url, (r.properties as Json).title]),
        [
          ['page_view', site.url('/features'), 'Acme features'],
          ['page_view', site.url('/?utm_source=linkedin&utm_campaign=q1'), 'Acme home'],
        ],
      );
      assert.deepEqual((rows[1]!.properties as Json).utm, { source: 'linkedin', campaign: 'q1' });
      assert.equal((rows[0]!.properties as Json).referrer, site.url('/?utm_source=linkedin&utm_campaign=q1'));
      // The second page read the same id from the cookie.
      assert.equal(await anonymousIdOf(page), aid);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("counts a single-page app's navigations (pushState, back) as page views", async () => {
    site.set(
      '/app',
      sitePage(
        'App',
        tag(),
        `<button id="next">Next</button>
<script>document.getElementById('next').onclick = () => {
  history.pushState({}, '', '/pricing?plan=team');
  document.title = 'App pricing';
};</script>`,
      ),
    );
    const { context, page, errors } = await visitor();
    try {
      await page.goto(site.url('/app'));
      await loaded(page);
      const aid = await idOf(page);
      await page.click('#next');
      await until(aid, (r) => r.length >= 3);
      await page.goBack();
      const rows = await until(aid, (r) => r.filter((x) => x.type === 'page_view').length >= 3);
      const views = rows.filter((r) => r.type === 'page_view').map((r) => r.properties as Json);
      // Each SPA page view names the previous URL as its referrer; sent in two batches at one
      // (standing) test clock time, so they are compared as a set.
      assert.deepEqual(
        views.map((v) => JSON.stringify([v.path, v.title, v.referrer ?? null])).sort(),
        [
          ['/app', 'App', null],
          ['/app', 'App pricing', site.url('/pricing?plan=team')],
          ['/pricing', 'App pricing', site.url('/app')],
        ]
          .map((v) => JSON.stringify(v))
          .sort(),
      );
      // The pricing page of the app also made the semantic activity (the default URL rule).
      assert.equal(rows.filter((r) => r.type === 'pricing_viewed').length, 1);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it('in consent mode sets no cookie and sends nothing until consent, then sends the waiting page view; withdrawal deletes the cookie', async () => {
    site.set('/consent', sitePage('Consent page', tag(' data-consent="required"')));
    const { context, page, errors } = await visitor();
    const collects = watchRequests(context, '/t/collect');
    try {
      await page.goto(site.url('/consent'));
      await loaded(page);
      assert.equal(await anonymousIdOf(page), undefined);
      // What would send a waiting page view at once: nothing leaves before consent.
      await hide(page);
      await collects.settle(page);
      assert.equal(collects.seen.length, 0, 'nothing sent before consent');
      assert.equal(await aidCookie(context), undefined);
      const before = await anonymous();

      await page.evaluate("window.leadline('consent', true)");
      const aid = await idOf(page);
      await aidCookieBecomes(context, aid);
      const rows = await until(aid, (r) => r.length >= 1);
      assert.equal((rows[0]!.properties as Json).title, 'Consent page');
      assert.equal((await anonymous()).length, before.length + 1, 'nothing else was sent meanwhile');
      assert.equal(collects.seen.length, 1, 'the waiting page view left with the consent');

      await page.evaluate("window.leadline('consent', false)");
      await aidCookieBecomes(context, undefined);
      assert.equal(await anonymousIdOf(page), undefined);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it('takes consent queued before it loaded (the stub snippet)', async () => {
    const stub =
      '<script>window.leadline=window.leadline||function(){(leadline.q=leadline.q||[]).push(arguments)};' +
      "leadline('consent', true);</script>";
    site.set('/queued', sitePage('Queued consent', `${stub}${tag(' data-consent="required"')}`));
    const { context, page, errors } = await visitor();
    try {
      await page.goto(site.url('/queued'));
      await loaded(page);
      const aid = await idOf(page);
      assert.ok(aid);
      await aidCookieBecomes(context, aid);
      await until(aid, (r) => r.length >= 1);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it('with Global Privacy Control or Do Not Track on, sends nothing and keeps no cookie, deleting one set before', async () => {
    site.set('/private', sitePage('Private', tag()));
    const before = (await anonymous()).length;
    const signals: string[] = [
      "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true })",
      "Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' })",
    ];
    for (const signal of signals) {
      const { context, page, errors } = await visitor(signal);
      const collects = watchRequests(context, '/t/collect');
      // The visitor was tracked before turning the signal on: t.js's cookie is still there.
      await context.addCookies([
        { name: 'll_aid', value: '0b6f7d2e-4c1a-4f7e-9a53-0000000000aa', url: site.origin },
      ]);
      try {
        await page.goto(site.url('/private'));
        await loaded(page);
        await aidCookieBecomes(context, undefined); // the old id is deleted
        // Granting consent does not override the browser-wide signal.
        await page.evaluate("window.leadline('consent', true)");
        assert.equal(await anonymousIdOf(page), undefined);
        await hide(page);
        await collects.settle(page);
        assert.equal(collects.seen.length, 0, 'nothing sent');
        assert.equal(await aidCookie(context), undefined);
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    }
    assert.equal((await anonymous()).length, before, 'nothing was stored');
  });

  it('puts the page views sent before a form submission on the lead the submission makes', async () => {
    const slug = `tracked-${Date.now().toString(36)}`;
    await w.ok('POST', '/api/v1/forms', {
      name: 'Demo request',
      slug,
      fields: [{ name: 'email', type: 'email', label: 'Work email', required: true, maps: 'email' }],
      submitLabel: 'Request a demo',
      thankYou: { message: 'We will be in touch.' },
      allowedOrigins: [site.origin],
    });
    site.set('/blog', sitePage('Acme blog', tag()));
    site.set(
      '/pricing',
      sitePage(
        'Acme pricing',
        tag(),
        `<div data-leadline-form="${slug}"></div><script async src="${app().baseUrl}/embed.js"></script>`,
      ),
    );
    const { context, page, errors } = await visitor();
    try {
      await page.goto(site.url('/blog?utm_source=google&utm_medium=cpc'));
      await loaded(page);
      const aid = await idOf(page);
      await page.goto(site.url('/pricing'));
      await until(aid, (r) => r.length >= 3);

      await page.waitForSelector('[data-leadline-rendered]:not([data-leadline-rendered="loading"])');
      await page.getByLabel('Work email').fill('lin@acme-tracked.io');
      app().t.clock.now += 10_000; // a person takes a few seconds to fill a form
      await page.getByRole('button', { name: 'Request a demo' }).click();
      await page.locator('.ll-thanks').waitFor();

      const lead = (await w.ok('GET', `/api/v1/leads?q=${encodeURIComponent('lin@acme-tracked.io')}`))
        .data[0];
      assert.ok(lead, 'the lead exists');
      assert.deepEqual(await anonymous(aid), [], 'the history moved onto the lead');
      const timeline = (await w.ok('GET', `/api/v1/leads/${lead.id}/timeline?limit=100`)).data as Json[];
      const views = timeline.filter((e) => e.type === 'page_view').map((e) => e.properties.path);
      assert.deepEqual(views.sort(), ['/blog', '/pricing']);
      assert.equal(timeline.filter((e) => e.type === 'pricing_viewed').length, 1);
      assert.ok(timeline.some((e) => e.type === 'form_submitted'));
      const identified = timeline.find((e) => e.type === 'identified');
      assert.equal(identified?.properties.anonymousId, aid);
      // The pricing visit counts for the lead's score (the default model's pricing-visit rule).
      const score = await w.ok('GET', `/api/v1/leads/${lead.id}/score`);
      assert.ok(
        score.rules.some((r: Json) => r.id === 'pricing-visit' && r.count === 1),
        JSON.stringify(score),
      );
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("reports a landing page's views with the variant shown, from Leadline's own origin even when the site list is closed", async () => {
    const owner = await tenant(app().t, 'landing-tracked');
    await owner.ok('PUT', '/api/v1/tracking/settings', {
      urlRules: [],
      allowedOrigins: ['https://www.acme.example'],
    });
    const slug = `spring-${Date.now().toString(36)}`;
    await owner.ok('POST', '/api/v1/landing-pages', {
      slug,
      name: 'Spring offer',
      status: 'published',
      variants: [{ key: 'bold', headline: 'Spring offer', body: 'Half price **this week**.' }],
    });
    const { context, page, errors } = await visitor();
    try {
      await page.goto(`${app().baseUrl}/l/${slug}?utm_source=facebook`);
      await loaded(page);
      const aid = await idOf(page);
      const [view, ...more] = await until(aid, (r) => r.length > 0, owner.id);
      assert.equal(more.length, 0);
      const properties = view!.properties as Json;
      assert.equal(properties.path, `/l/${slug}`);
      assert.equal(properties.variant, 'bold');
      assert.deepEqual(properties.utm, { source: 'facebook' });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
