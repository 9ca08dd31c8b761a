import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { type Json, type Tenant, tenant } from '../support/api.ts';
import { describeInBrowser, eventually, useChromium, useListeningApp } from '../support/browser.ts';

let forms = 0;

describeInBrowser('pages Leadline serves: hosted form and landing page', () => {
  const app = useListeningApp();
  const browser = useChromium();
  let w: Tenant;

  before(async () => {
    w = await tenant(app().t, 'pages');
  });

  async function demoForm(): Promise<Json> {
    return w.ok('POST', '/api/v1/forms', {
      name: 'Demo request',
      slug: `demo-${++forms}-${Date.now().toString(36)}`,
      fields: [
        { name: 'email', type: 'email', label: 'Work email', required: true, maps: 'email' },
        { name: 'company', type: 'text', label: 'Company', required: true, maps: 'company' },
        { name: 'size', type: 'number', label: 'Company size', maps: 'companySize' },
      ],
      submitLabel: 'Request a demo',
      thankYou: { message: 'Thanks! We will be in touch within a day.' },
    });
  }

  const leadByEmail = async (email: string): Promise<Json | undefined> =>
    (await w.ok('GET', `/api/v1/leads?q=${encodeURIComponent(email)}&limit=5`)).data.find(
      (lead: Json) => lead.email === email,
    );

  it('the hosted form works with JavaScript off: errors next to the fields, values kept, then success', async () => {
    const form = await demoForm();
    const context = await browser().newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    try {
      await page.goto(`${app().baseUrl}/f/${form.slug}?utm_source=linkedin&utm_campaign=q1`);
      await page.getByLabel('Work email').fill('not an email');
      await page.getByLabel('Company size').fill('40');
      app().t.clock.now += 10_000;
      await page.getByRole('button', { name: 'Request a demo' }).click();
      await page.waitForLoadState();

      const email = page.getByLabel('Work email');
      const company = page.getByLabel(/^Company\s*\*?$/);
      assert.equal(await email.getAttribute('aria-invalid'), 'true');
      assert.equal(await company.getAttribute('aria-invalid'), 'true');
      const emailError = (await email.getAttribute('aria-describedby'))!.split(' ').at(-1)!;
      assert.match((await page.locator(`#${emailError}`).textContent())!, /valid email/);
      const companyError = (await company.getAttribute('aria-describedby'))!.split(' ').at(-1)!;
      assert.match((await page.locator(`#${companyError}`).textContent())!, /required/);
      assert.match((await page.getByRole('alert').textContent())!, /There is a problem/);
      assert.equal(await email.inputValue(), 'not an email', 'what was typed is kept');
      assert.equal(await page.getByLabel('Company size').inputValue(), '40');

      await email.fill('linus@acme-hosted.io');
      await company.fill('Acme Hosted');
      app().t.clock.now += 10_000;
      await page.getByRole('button', { name: 'Request a demo' }).click();
      await page.waitForLoadState();
      assert.match((await page.textContent('body'))!, /Thanks! We will be in touch within a day\./);

      const lead = await leadByEmail('linus@acme-hosted.io');
      assert.ok(lead, 'the lead exists');
      assert.equal(lead.company, 'Acme Hosted');
      assert.equal(lead.companySize, 40);
      const timeline = (await w.ok('GET', `/api/v1/leads/${lead.id}/timeline?limit=50`)).data as Json[];
      const submitted = timeline.find((a) => a.type === 'form_submitted');
      assert.deepEqual(submitted?.properties.utm, { source: 'linkedin', campaign: 'q1' });
    } finally {
      await context.close();
    }
  });

  it('a landing page renders its variant with the form, and a visitor submits it', async () => {
    const form = await demoForm();
    const slug = `lp-${Date.now().toString(36)}`;
    await w.ok('POST', '/api/v1/landing-pages', {
      slug,
      name: 'Demo landing page',
      variants: [
        {
          key: 'bold',
          headline: 'See Leadline in 20 minutes',
          body: 'Speed to lead **wins deals**.\n\n- Route in seconds\n- Score with decay',
          formSlug: form.slug,
          cta: { label: 'Book your demo' },
        },
      ],
    });
    const context = await browser().newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // The page's content security policy lets t.js and its inline script run: the browser says so otherwise.
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) errors.push(message.text());
    });
    try {
      await page.goto(`${app().baseUrl}/l/${slug}?utm_source=google&utm_medium=cpc`, {
        referer: 'https://www.google.com/',
      });
      assert.equal(await page.title(), 'See Leadline in 20 minutes');
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'See Leadline in 20 minutes');
      assert.equal(await page.locator('.ll-body strong').textContent(), 'wins deals');
      assert.equal(await page.locator('.ll-body li').count(), 2);
      // The call to action leads to the form.
      await page.getByRole('link', { name: 'Book your demo' }).click();
      assert.ok(page.url().endsWith('#ll-form'));

      await page.getByLabel('Work email').fill('margaret@acme-landing.io');
      await page.getByLabel(/^Company\s*\*?$/).fill('Acme Landing');
      app().t.clock.now += 10_000;
      await page.getByRole('button', { name: 'Request a demo' }).click();
      await page.waitForLoadState();
      assert.match((await page.textContent('body'))!, /Thanks! We will be in touch within a day\./);

      const lead = await leadByEmail('margaret@acme-landing.io');
      assert.ok(lead, 'the lead exists');
      const timeline = (await w.ok('GET', `/api/v1/leads/${lead.id}/timeline?limit=50`)).data as Json[];
      const submitted = timeline.find((a) => a.type === 'form_submitted');
      assert.ok(submitted);
      assert.equal(submitted.properties.variant, 'bold');
      assert.equal(submitted.properties.referrer, 'https://www.google.com/');
      assert.deepEqual(submitted.properties.utm, { source: 'google', medium: 'cpc' });
      assert.equal(
        submitted.properties.pageUrl,
        `${app().baseUrl}/l/${slug}?utm_source=google&utm_medium=cpc`,
      );
      // t.js on the page reported the view with the variant, and the form carried the visitor's
      // anonymous id: the visit is on the lead's timeline (the beacon may land just after the submit).
      const pageView = await eventually('the landing page view on the lead', async () => {
        const entries = (await w.ok('GET', `/api/v1/leads/${lead.id}/timeline?limit=50`)).data as Json[];
        return entries.find((a) => a.type === 'page_view' && a.properties.path === `/l/${slug}`);
      });
      assert.equal(pageView.properties.variant, 'bold');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("does not recognise a visitor under Global Privacy Control: no id in the landing page's form, t.js's old cookie deleted", async () => {
    const form = await demoForm();
    const slug = `lp-gpc-${Date.now().toString(36)}`;
    await w.ok('POST', '/api/v1/landing-pages', {
      slug,
      name: 'Private landing page',
      variants: [{ key: 'a', headline: 'Private', body: 'Ask us.', formSlug: form.slug }],
    });
    const aid = '0b6f7d2e-4c1a-4f7e-9a53-0000000000cc';
    // A browser with GPC on says so in every request (Sec-GPC) and to scripts.
    const context = await browser().newContext({ extraHTTPHeaders: { 'Sec-GPC': '1' } });
    await context.addInitScript({
      content: "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true })",
    });
    // t.js kept the visitor's id on Leadline's origin before they turned GPC on.
    await context.addCookies([{ name: 'll_aid', value: aid, url: app().baseUrl }]);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await page.goto(`${app().baseUrl}/l/${slug}`);
      assert.equal(await page.locator('input[name="_ll_aid"]').count(), 0, 'no id in the form');
      await page.waitForFunction('window.leadline && window.leadline.loaded === true');
      // t.js deletes it through document.cookie, which reaches the store context.cookies() reads
      // a moment later.
      await eventually('t.js deleted the old id', async () =>
        (await context.cookies(app().baseUrl)).some((c) => c.name === 'll_aid') ? undefined : true,
      );
      await page.getByLabel('Work email').fill('ada@acme-private.io');
      await page.getByLabel(/^Company\s*\*?$/).fill('Acme Private');
      app().t.clock.now += 10_000;
      const submission = page.waitForRequest(
        (r) => r.method() === 'POST' && r.url().endsWith(`/f/${form.slug}`),
      );
      await page.getByRole('button', { name: 'Request a demo' }).click();
      await page.waitForLoadState();
      assert.equal(new URLSearchParams((await submission).postData() ?? '').get('_ll_aid'), null);
      assert.match((await page.textContent('body'))!, /Thanks! We will be in touch within a day\./);
      const lead = await leadByEmail('ada@acme-private.io');
      assert.ok(lead, 'the lead exists');
      const timeline = (await w.ok('GET', `/api/v1/leads/${lead.id}/timeline?limit=50`)).data as Json[];
      assert.ok(!timeline.some((a) => a.type === 'identified'), 'no anonymous history joined the lead');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
