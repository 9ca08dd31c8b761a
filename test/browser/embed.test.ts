import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Page } from 'playwright-core';
import { clientScript } from '../../src/client/bundle.ts';
import { type Json, type Tenant, tenant } from '../support/api.ts';
import { describeInBrowser, type Site, serveSite, useChromium, useListeningApp } from '../support/browser.ts';

/** A customer's page on the second origin with the form embedded (and `scripts`, such as t.js). */
const sitePage = (baseUrl: string, slug: string, extra = '', scripts = '') => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme — newsletter</title></head>
<body>
<h1>Acme newsletter</h1>
<div data-leadline-form="${slug}"${extra}></div>
${scripts}<script async src="${baseUrl}/embed.js"></script>
</body></html>`;

let forms = 0;

describeInBrowser('embed.js on another site', () => {
  const app = useListeningApp();
  const browser = useChromium();
  let site: Site;
  let w: Tenant;

  before(async () => {
    site = await serveSite({});
    w = await tenant(app().t, 'embed');
  });
  after(async () => site.close());

  /** A form that allows the site's origin, and the site's page embedding it. */
  async function embeddedForm(
    body: Json = {},
    attrs = '',
    scripts = '',
  ): Promise<{ form: Json; path: string }> {
    const slug = `embed-${++forms}-${Date.now().toString(36)}`;
    const form = await w.ok('POST', '/api/v1/forms', {
      name: 'Newsletter',
      slug,
      fields: [
        { name: 'email', type: 'email', label: 'Work email', required: true, maps: 'email' },
        { name: 'first_name', type: 'text', label: 'First name', maps: 'firstName' },
        { name: 'phone', type: 'phone', label: 'Phone', maps: 'phone', help: 'With the country code' },
        {
          name: 'interests',
          type: 'multi-select',
          label: 'Interests',
          options: [
            { value: 'seo', label: 'SEO' },
            { value: 'ads', label: 'Paid ads' },
          ],
        },
      ],
      consents: [{ purpose: 'newsletter', text: 'Send me the newsletter', version: 'v1', required: true }],
      submitLabel: 'Subscribe',
      thankYou: { message: 'Thanks, you are on the list.' },
      leadMagnet: { title: 'The 2026 playbook (PDF)', url: 'https://cdn.example.com/playbook.pdf' },
      allowedOrigins: [site.origin],
      ...body,
    });
    const path = `/${slug}.html`;
    site.set(path, sitePage(app().baseUrl, slug, attrs, scripts));
    return { form, path };
  }

  /** Script errors of each page opened: a test fails on any. */
  const pageErrors = new WeakMap<Page, string[]>();

  /** Opens the site's page and waits until embed.js has rendered the form (or said it cannot). */
  async function open(path: string, query = ''): Promise<Page> {
    const page = await browser().newPage();
    const errors: string[] = [];
    pageErrors.set(page, errors);
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(site.url(`${path}${query}`));
    await page.waitForSelector('[data-leadline-rendered]:not([data-leadline-rendered="loading"])');
    return page;
  }

  const leadByEmail = async (email: string): Promise<Json | undefined> =>
    (await w.ok('GET', `/api/v1/leads?q=${encodeURIComponent(email)}&limit=5`)).data.find(
      (lead: Json) => lead.email === email,
    );

  it('is small: under 10 kB gzipped', async () => {
    const script = await clientScript('embed');
    assert.ok(script.gzipBytes < 10 * 1024, `embed.js is ${script.gzipBytes} bytes gzipped`);
  });

  it('renders the form accessibly; a visitor fills and sends it; the lead has the page UTM and the lead magnet is offered', async () => {
    const { form, path } = await embeddedForm();
    const page = await open(path, '?utm_source=newsletter&utm_medium=email&utm_campaign=spring');
    try {
      // Every visible control has a label; the help text is tied to its field.
      assert.equal(await page.getByLabel('Work email').getAttribute('type'), 'email');
      assert.equal(await page.getByLabel('Work email').getAttribute('autocomplete'), 'email');
      const phone = page.getByLabel('Phone');
      const describedBy = (await phone.getAttribute('aria-describedby'))!.split(' ');
      assert.equal(await page.locator(`#${describedBy[0]}`).textContent(), 'With the country code');
      assert.equal(await page.getByRole('group', { name: 'Interests' }).count(), 1);
      // The honeypot is out of reach of people: hidden from assistive technology, not focusable.
      const honeypot = page.locator('input[name="_ll_hp"]');
      assert.equal(await honeypot.getAttribute('tabindex'), '-1');
      assert.equal(await page.locator('.ll-hp').getAttribute('aria-hidden'), 'true');

      await page.getByLabel('Work email').fill('ada@acme-embed.io');
      await page.getByLabel('First name').fill('Ada');
      await page.getByLabel('Paid ads').check();
      await page.getByLabel('Send me the newsletter').check();
      // A person takes a few seconds to fill a form (the render token's minimum fill time).
      app().t.clock.now += 10_000;
      await page.getByRole('button', { name: 'Subscribe' }).click();
      const thanks = page.locator('.ll-thanks');
      await thanks.waitFor();
      assert.match((await thanks.textContent())!, /Thanks, you are on the list\./);
      assert.equal(
        await page.getByRole('link', { name: 'The 2026 playbook (PDF)' }).getAttribute('href'),
        'https://cdn.example.com/playbook.pdf',
      );
      assert.equal(await page.evaluate('document.activeElement?.className'), 'll-thanks');

      const lead = await leadByEmail('ada@acme-embed.io');
      assert.ok(lead, 'the lead exists');
      assert.equal(lead.firstName, 'Ada');
      const timeline = (await w.ok('GET', `/api/v1/leads/${lead.id}/timeline?limit=50`)).data as Json[];
      const submitted = timeline.find((a) => a.type === 'form_submitted');
      assert.ok(submitted, JSON.stringify(timeline.map((a) => a.type)));
      assert.equal(submitted.properties.formId, form.id);
      assert.deepEqual(submitted.properties.utm, {
        source: 'newsletter',
        medium: 'email',
        campaign: 'spring',
      });
      const pageUrl = site.url(`${path}?utm_source=newsletter&utm_medium=email&utm_campaign=spring`);
      assert.equal(submitted.properties.pageUrl, pageUrl);
      // The lead's first touch is this page: its UTM, its address, the channel they name.
      assert.deepEqual(lead.firstTouch.utm, { source: 'newsletter', medium: 'email', campaign: 'spring' });
      assert.equal(lead.firstTouch.landingPage, pageUrl);
      assert.equal(lead.firstTouch.source, 'newsletter');
      assert.equal(lead.firstTouch.channel, 'email');
      assert.deepEqual(pageErrors.get(page), []);
    } finally {
      await page.close();
    }
  });

  it("shows the server's field errors next to their fields and announces them; the corrected form goes through", async () => {
    const { path } = await embeddedForm({}, ' data-leadline-variant="b"');
    const page = await open(path);
    try {
      // Nothing filled: the browser's own checks stop it before anything is sent.
      await page.getByRole('button', { name: 'Subscribe' }).click();
      const email = page.getByLabel('Work email');
      assert.equal(await email.getAttribute('aria-invalid'), 'true');
      const summary = page.getByRole('alert');
      assert.match((await summary.textContent())!, /There is a problem/);
      assert.equal(await page.evaluate("document.activeElement?.getAttribute('role')"), 'alert');

      // A phone number only the server can judge.
      await email.fill('grace@acme-embed.io');
      await page.getByLabel('Phone').fill('12');
      await page.getByLabel('Send me the newsletter').check();
      app().t.clock.now += 10_000;
      await page.getByRole('button', { name: 'Subscribe' }).click();
      const phone = page.getByLabel('Phone');
      await page.waitForSelector('input[name="phone"][aria-invalid="true"]');
      const errorId = (await phone.getAttribute('aria-describedby'))!.split(' ').at(-1)!;
      assert.match((await page.locator(`#${errorId}`).textContent())!, /valid phone number/);
      assert.equal(await email.getAttribute('aria-invalid'), null, 'fixed fields are no longer marked');
      assert.match((await summary.textContent())!, /Phone: Enter a valid phone number/);
      // The values are kept.
      assert.equal(await email.inputValue(), 'grace@acme-embed.io');

      await phone.fill('+49 30 901820');
      await page.getByRole('button', { name: 'Subscribe' }).click();
      await page.locator('.ll-thanks').waitFor();
      const lead = await leadByEmail('grace@acme-embed.io');
      assert.ok(lead);
      assert.equal(lead.phone, '+4930901820');
      const timeline = (await w.ok('GET', `/api/v1/leads/${lead.id}/timeline?limit=50`)).data as Json[];
      assert.equal(timeline.find((a) => a.type === 'form_submitted')?.properties.variant, 'b');
    } finally {
      await page.close();
    }
  });

  it('is not shown on a site outside the allowed origins', async () => {
    const { path } = await embeddedForm({ allowedOrigins: ['https://www.acme.example'] });
    const page = await open(path);
    try {
      assert.equal(await page.locator('form').count(), 0);
      assert.equal(await page.getByRole('status').textContent(), 'This form is not available right now.');
    } finally {
      await page.close();
    }
  });

  it('puts a bot-style submission (honeypot filled) in the quarantine, not in the leads, and answers it like any other', async () => {
    const { form, path } = await embeddedForm();
    const page = await open(path);
    try {
      await page.getByLabel('Work email').fill('bot@spam-embed.io');
      await page.getByLabel('Send me the newsletter').check();
      // What a bot does: fill every input it finds, the invisible one included.
      await page.locator('input[name="_ll_hp"]').fill('https://cheap-pills.example', { force: true });
      app().t.clock.now += 10_000;
      await page.getByRole('button', { name: 'Subscribe' }).click();
      await page.locator('.ll-thanks').waitFor();
      assert.equal(await leadByEmail('bot@spam-embed.io'), undefined);
      const quarantine = (await w.ok('GET', `/api/v1/forms/quarantine?formId=${form.id}`)).data as Json[];
      assert.equal(quarantine.length, 1, JSON.stringify(quarantine));
      assert.ok(quarantine[0]!.reasons.includes('honeypot'), JSON.stringify(quarantine[0]));
    } finally {
      await page.close();
    }
  });

  it("sends the visitor's id only as t.js allows: never under GPC or before consent; the ll_aid cookie only on pages without t.js", async () => {
    const aid = '0b6f7d2e-4c1a-4f7e-9a53-0000000000bb';
    const gpc = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true })";
    const tracker = (attrs = '') =>
      `<script async src="${app().baseUrl}/t.js" data-workspace="${w.slug}"${attrs}></script>`;
    let visitors = 0;

    /**
     * A visitor whose browser holds t.js's cookie from an earlier visit fills the form: the id
     * sent with the definition request (progressive profiling) and with the submission.
     */
    async function idsSent(scripts: string, init?: string) {
      const { form, path } = await embeddedForm({}, '', scripts);
      const context = await browser().newContext();
      try {
        if (init) await context.addInitScript({ content: init });
        await context.addCookies([{ name: 'll_aid', value: aid, url: site.origin }]);
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(error.message));
        const definition = context.waitForEvent('request', (r) =>
          r.url().includes(`/f/${form.slug}/definition`),
        );
        await page.goto(site.url(path));
        await page.waitForSelector('[data-leadline-rendered="true"]');
        await page.getByLabel('Work email').fill(`visitor-${++visitors}@acme-embed.io`);
        await page.getByLabel('Send me the newsletter').check();
        app().t.clock.now += 10_000;
        const submission = page.waitForRequest(
          (r) => r.method() === 'POST' && r.url().endsWith(`/f/${form.slug}`),
        );
        await page.getByRole('button', { name: 'Subscribe' }).click();
        await page.locator('.ll-thanks').waitFor();
        assert.deepEqual(errors, []);
        return {
          definition: new URL((await definition).url()).searchParams.get('aid'),
          submission: ((await submission).postDataJSON() as Json)._ll_aid as string | undefined,
          cookie: (await context.cookies(site.origin)).find((c) => c.name === 'll_aid')?.value,
        };
      } finally {
        await context.close();
      }
    }

    // Without t.js on the page, its cookie (from the site's other pages) names the visitor…
    assert.deepEqual(await idsSent(''), { definition: aid, submission: aid, cookie: aid });
    // …but not under Global Privacy Control.
    assert.deepEqual(await idsSent('', gpc), { definition: null, submission: undefined, cookie: aid });
    // With t.js on the page, its answer is the only one: the id it keeps…
    assert.deepEqual(await idsSent(tracker()), { definition: aid, submission: aid, cookie: aid });
    // …none under Global Privacy Control (and it deletes the cookie)…
    assert.deepEqual(await idsSent(tracker(), gpc), {
      definition: null,
      submission: undefined,
      cookie: undefined,
    });
    // …and none before the visitor consents, though the cookie of an earlier consent is there.
    assert.deepEqual(await idsSent(tracker(' data-consent="required"')), {
      definition: null,
      submission: undefined,
      cookie: aid,
    });
  });
});
