import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { it } from 'node:test';
import { type Json, tenant } from '../support/api.ts';
import { describeEachEngine, useApp } from '../support/engines.ts';

let pages = 0;
const slug = (prefix = 'lp') => `${prefix}-${++pages}-${Date.now().toString(36)}`;

const formBody = (formSlug: string) => ({
  name: 'Demo request',
  slug: formSlug,
  fields: [
    { name: 'email', type: 'email', label: 'Work email', required: true, maps: 'email' },
    { name: 'company', type: 'text', label: 'Company', maps: 'company' },
  ],
});

/** The variant key a GET of the page shows (from the `data-variant` of its main element). */
const shownVariant = (html: string) => /<main[^>]*data-variant="([^"]+)"/.exec(html)?.[1];
/** A content security policy as directive → sources. */
const policyOf = (headers: Record<string, unknown>): Record<string, string[]> =>
  Object.fromEntries(
    String(headers['content-security-policy'])
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .map(([name, ...sources]) => [name, sources]),
  );
/** The CSP source of each inline script of a page: what the browser checks the policy against. */
const inlineScriptHashes = (html: string) =>
  [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    ([, code]) => `'sha256-${createHash('sha256').update(code!).digest('base64')}'`,
  );

/** The `ll_lp_<slug>` cookie a response sets, as `name=value`. */
const variantCookie = (headers: Record<string, unknown>) => {
  const raw = headers['set-cookie'];
  const all = Array.isArray(raw) ? raw : raw === undefined ? [] : [String(raw)];
  return all.find((c: string) => c.startsWith('ll_lp_'));
};

describeEachEngine('landing pages', (engine) => {
  const get = useApp(engine);

  it('creates, reads, lists, changes and archives a page; the slug stays taken after archiving', async () => {
    const t = get();
    const w = await tenant(t, 'landing');
    const pageSlug = slug();
    const created = await w.call('POST', '/api/v1/landing-pages', {
      slug: pageSlug,
      name: 'Spring offer',
      variants: [{ key: 'a', headline: 'Save 20% this spring', body: 'Our **best** offer.' }],
    });
    assert.equal(created.statusCode, 201, created.body);
    const page = created.json();
    assert.deepEqual(
      { ...page, id: undefined, createdAt: undefined, updatedAt: undefined },
      {
        id: undefined,
        slug: pageSlug,
        name: 'Spring offer',
        status: 'published',
        url: `${t.services.config.publicUrl}/l/${pageSlug}`,
        variants: [
          {
            key: 'a',
            weight: 1,
            headline: 'Save 20% this spring',
            body: 'Our **best** offer.',
            imageUrl: null,
            imageAlt: null,
            formSlug: null,
            cta: null,
          },
        ],
        createdAt: undefined,
        updatedAt: undefined,
      },
    );
    assert.deepEqual(await w.ok('GET', `/api/v1/landing-pages/${page.id}`), page);
    assert.deepEqual(
      (await w.ok('GET', '/api/v1/landing-pages')).data.map((p: Json) => p.id),
      [page.id],
    );

    t.clock.now += 1000;
    const changed = await w.ok('PATCH', `/api/v1/landing-pages/${page.id}`, {
      name: 'Spring offer 2026',
      variants: [
        { key: 'a', weight: 1, headline: 'Save 20%' },
        { key: 'b', weight: 3, headline: 'Spring deal', cta: { label: 'See pricing', url: '/pricing' } },
      ],
    });
    assert.equal(changed.name, 'Spring offer 2026');
    assert.deepEqual(
      changed.variants.map((v: Json) => [v.key, v.weight, v.cta]),
      [
        ['a', 1, null],
        ['b', 3, { label: 'See pricing', url: '/pricing' }],
      ],
    );
    assert.equal(changed.createdAt, page.createdAt);
    assert.notEqual(changed.updatedAt, page.updatedAt);

    const archived = await w.ok('DELETE', `/api/v1/landing-pages/${page.id}`);
    assert.equal(archived.status, 'archived');
    assert.deepEqual((await w.ok('GET', '/api/v1/landing-pages')).data, []);
    assert.deepEqual(
      (await w.ok('GET', '/api/v1/landing-pages?status=archived')).data.map((p: Json) => p.id),
      [page.id],
    );
    const gone = await t.app.inject({ method: 'GET', url: `/l/${pageSlug}` });
    assert.equal(gone.statusCode, 410);
    assert.match(String(gone.headers['content-type']), /^text\/html/);

    const taken = await w.problem(409, 'POST', '/api/v1/landing-pages', {
      slug: pageSlug,
      name: 'Again',
      variants: [{ key: 'a', headline: 'A' }],
    });
    assert.equal(taken.code, 'LANDING_PAGE_EXISTS');
    assert.deepEqual(taken.errors, [
      { path: '/slug', message: 'is already the address of another landing page' },
    ]);
    const restored = await w.ok('PATCH', `/api/v1/landing-pages/${page.id}`, { status: 'published' });
    assert.equal(restored.status, 'published');
  });

  it('keeps slugs unique across workspaces, on create and on rename', async () => {
    const t = get();
    const a = await tenant(t, 'landing');
    const b = await tenant(t, 'landing');
    const first = slug();
    const second = slug();
    await a.ok('POST', '/api/v1/landing-pages', {
      slug: first,
      name: 'A',
      variants: [{ key: 'a', headline: 'A' }],
    });
    const other = await b.ok('POST', '/api/v1/landing-pages', {
      slug: second,
      name: 'B',
      variants: [{ key: 'a', headline: 'B' }],
    });
    const onCreate = await b.problem(409, 'POST', '/api/v1/landing-pages', {
      slug: first,
      name: 'B',
      variants: [{ key: 'a', headline: 'B' }],
    });
    assert.equal(onCreate.code, 'LANDING_PAGE_EXISTS');
    const onRename = await b.problem(409, 'PATCH', `/api/v1/landing-pages/${other.id}`, { slug: first });
    assert.equal(onRename.code, 'LANDING_PAGE_EXISTS');
    // Renaming to its own slug is no conflict.
    await b.ok('PATCH', `/api/v1/landing-pages/${other.id}`, { slug: second });
  });

  it('refuses bad input with problem+json naming each field, and writes nothing', async () => {
    const t = get();
    const w = await tenant(t, 'landing');
    const schema = await w.problem(400, 'POST', '/api/v1/landing-pages', {
      slug: 'Not a slug',
      name: '',
      variants: [{ key: 'a', headline: 'A', extra: 1 }],
      colour: 'red',
    });
    assert.deepEqual(schema.errors.map((e: Json) => e.path).sort(), [
      '/colour',
      '/name',
      '/slug',
      '/variants/0/extra',
    ]);
    const model = await w.problem(422, 'POST', '/api/v1/landing-pages', {
      slug: slug(),
      name: 'X',
      variants: [
        {
          key: 'a',
          headline: 'A',
          imageUrl: 'https://cdn.example.com/a.png',
          cta: { label: 'Go', url: 'javascript:alert(1)' },
        },
        { key: 'a', headline: 'B', formSlug: 'no-such-form' },
      ],
    });
    assert.equal(model.code, 'VALIDATION_FAILED');
    assert.deepEqual(
      model.errors.map((e: Json) => e.path),
      ['/variants/0/imageAlt', '/variants/0/cta/url', '/variants/1/key'],
    );
    const unknownForm = await w.problem(422, 'POST', '/api/v1/landing-pages', {
      slug: slug(),
      name: 'X',
      variants: [{ key: 'a', headline: 'A', formSlug: 'no-such-form' }],
    });
    assert.deepEqual(unknownForm.errors, [
      { path: '/variants/0/formSlug', message: 'is not a form of this workspace' },
    ]);
    // A link that leaves the site though it reads as a path (browsers take \ for /).
    const offSite = await w.problem(422, 'POST', '/api/v1/landing-pages', {
      slug: slug(),
      name: 'X',
      variants: [{ key: 'a', headline: 'A', cta: { label: 'Go', url: '/\\evil.example/login' } }],
    });
    assert.deepEqual(
      offSite.errors.map((e: Json) => e.path),
      ['/variants/0/cta/url'],
    );
    // A body marked cannot render (it overflows the stack): refused, not a page that fails.
    const nested = await w.problem(422, 'POST', '/api/v1/landing-pages', {
      slug: slug(),
      name: 'X',
      variants: [{ key: 'a', headline: 'A', body: `${'> '.repeat(5000)}hi` }],
    });
    assert.deepEqual(nested.errors, [
      {
        path: '/variants/0/body',
        message: 'is nested too deeply to show (quotes or lists inside each other)',
      },
    ]);
    assert.deepEqual((await w.ok('GET', '/api/v1/landing-pages?status=draft')).data, []);
    assert.deepEqual((await w.ok('GET', '/api/v1/landing-pages')).data, []);
    const missing = await w.problem(404, 'GET', '/api/v1/landing-pages/nope');
    assert.equal(missing.code, 'LANDING_PAGE_NOT_FOUND');
    await w.problem(404, 'PATCH', '/api/v1/landing-pages/nope', { name: 'x' });
    await w.problem(404, 'DELETE', '/api/v1/landing-pages/nope');
  });

  it('embeds only forms of the same workspace', async () => {
    const t = get();
    const a = await tenant(t, 'landing');
    const b = await tenant(t, 'landing');
    const formSlug = slug('form');
    await a.ok('POST', '/api/v1/forms', formBody(formSlug));
    const foreign = await b.problem(422, 'POST', '/api/v1/landing-pages', {
      slug: slug(),
      name: 'X',
      variants: [{ key: 'a', headline: 'A', formSlug }],
    });
    assert.deepEqual(foreign.errors, [
      { path: '/variants/0/formSlug', message: 'is not a form of this workspace' },
    ]);
    const own = await a.ok('POST', '/api/v1/landing-pages', {
      slug: slug(),
      name: 'X',
      variants: [{ key: 'a', headline: 'A', formSlug, cta: { label: 'Book a demo' } }],
    });
    assert.equal(own.variants[0].formSlug, formSlug);
  });

  it('serves a published page with its Markdown made safe, the form, the t.js tag, and no write', async () => {
    const t = get();
    const w = await tenant(t, 'landing');
    const formSlug = slug('form');
    await w.ok('POST', '/api/v1/forms', formBody(formSlug));
    const pageSlug = slug();
    await w.ok('POST', '/api/v1/landing-pages', {
      slug: pageSlug,
      name: 'Guide',
      variants: [
        {
          key: 'a',
          headline: 'The <lead> guide',
          body: '# Why\n\nRead **this**. <script>alert(1)</script> [bad](javascript:alert(1)) [good](https://example.com)',
          imageUrl: 'https://cdn.example.com/guide.png',
          imageAlt: 'The guide cover',
          formSlug,
          cta: { label: 'Get the guide' },
        },
      ],
    });
    const before = (await w.ok('GET', '/api/v1/leads?limit=500')).data.length;
    const response = await t.app.inject({
      method: 'GET',
      url: `/l/${pageSlug}?utm_source=news&utm_campaign=spring`,
      headers: { referer: 'https://news.example.com/issue-1' },
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.match(String(response.headers['content-type']), /^text\/html; charset=utf-8/);
    assert.equal(response.headers['cache-control'], 'no-store');
    const html = response.body;
    assert.ok(html.includes('<h1>The &lt;lead&gt; guide</h1>'));
    assert.ok(html.includes('<h2>Why</h2>'), 'Markdown headings sit under the h1');
    assert.ok(html.includes('<strong>this</strong>'));
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'raw HTML is shown as text');
    assert.ok(!html.includes('<script>alert(1)'));
    assert.ok(!html.includes('javascript:'), 'unsafe links lose their address');
    assert.ok(html.includes('<a href="https://example.com" rel="noopener noreferrer">good</a>'));
    assert.ok(html.includes('<img src="https://cdn.example.com/guide.png" alt="The guide cover">'));
    assert.ok(html.includes('<a class="ll-button" href="#ll-form">Get the guide</a>'));
    assert.match(html, new RegExp(`<form[^>]*action="http://localhost:3000/f/${formSlug}"`));
    assert.match(html, /name="_ll_variant"[^>]*value="a"|value="a"[^>]*name="_ll_variant"/);
    assert.match(html, /name="utm_source"[^>]*value="news"|value="news"[^>]*name="utm_source"/);
    assert.match(
      html,
      /name="_ll_ref"[^>]*value="https:\/\/news.example.com\/issue-1"|value="https:\/\/news.example.com\/issue-1"[^>]*name="_ll_ref"/,
    );
    assert.match(
      html,
      new RegExp(
        `<script async src="http://localhost:3000/t.js" data-workspace="${w.slug}" data-variant="a"></script>`,
      ),
    );
    // The hosted form's protections, plus what t.js and the page's one inline script need.
    assert.equal(response.headers['referrer-policy'], 'strict-origin-when-cross-origin');
    const policy = policyOf(response.headers);
    const hashes = inlineScriptHashes(html);
    assert.equal(hashes.length, 1, 'one inline script: the identify-on-submit one');
    assert.deepEqual(policy['default-src'], ["'none'"]);
    assert.deepEqual(policy['script-src'], ["'self'", 'http://localhost:3000', hashes[0]]);
    assert.deepEqual(policy['connect-src'], ["'self'", 'http://localhost:3000']);
    assert.deepEqual(policy['form-action'], ["'self'", 'http://localhost:3000']);
    assert.deepEqual(policy['style-src'], ["'unsafe-inline'"]);
    assert.deepEqual(policy['base-uri'], ["'none'"]);
    assert.ok(policy['img-src']?.includes('https:'));
    assert.equal(variantCookie(response.headers), undefined, 'one variant: nothing to remember, no cookie');
    assert.equal((await w.ok('GET', '/api/v1/leads?limit=500')).data.length, before);
  });

  it('answers 404 for drafts and unknown slugs, 410 for archived pages, as HTML', async () => {
    const t = get();
    const w = await tenant(t, 'landing');
    const draftSlug = slug();
    await w.ok('POST', '/api/v1/landing-pages', {
      slug: draftSlug,
      name: 'Draft',
      status: 'draft',
      variants: [{ key: 'a', headline: 'Secret launch' }],
    });
    const draft = await t.app.inject({ method: 'GET', url: `/l/${draftSlug}` });
    assert.equal(draft.statusCode, 404);
    assert.match(String(draft.headers['content-type']), /^text\/html/);
    assert.ok(!draft.body.includes('Secret launch'));
    const unknown = await t.app.inject({ method: 'GET', url: '/l/no-such-page' });
    assert.equal(unknown.statusCode, 404);
    // Pages without script or form allow neither.
    const policy = policyOf(unknown.headers);
    assert.deepEqual(policy['default-src'], ["'none'"]);
    assert.equal(policy['script-src'], undefined);
    assert.deepEqual(policy['form-action'], ["'none'"]);
    assert.equal(unknown.headers['referrer-policy'], 'strict-origin-when-cross-origin');
    // An address no slug can have is a page that is not there too, not a JSON 400.
    const tooLong = await t.app.inject({ method: 'GET', url: `/l/${'a'.repeat(65)}` });
    assert.equal(tooLong.statusCode, 404);
    assert.match(String(tooLong.headers['content-type']), /^text\/html/);
  });

  it('previews any page through the API (a draft too), any variant, without remembering it', async () => {
    const t = get();
    const w = await tenant(t, 'landing');
    const draft = await w.ok('POST', '/api/v1/landing-pages', {
      slug: slug(),
      name: 'Draft',
      status: 'draft',
      variants: [
        { key: 'a', weight: 0, headline: 'Secret launch A' },
        { key: 'b', weight: 0, headline: 'Secret launch B' },
      ],
    });
    const first = await w.call('GET', `/api/v1/landing-pages/${draft.id}/preview`);
    assert.equal(first.statusCode, 200, first.body);
    assert.match(String(first.headers['content-type']), /^text\/html; charset=utf-8/);
    assert.equal(shownVariant(first.body), 'a');
    assert.ok(first.body.includes('<meta name="robots" content="noindex">'));
    assert.equal(variantCookie(first.headers), undefined);
    const second = await w.call('GET', `/api/v1/landing-pages/${draft.id}/preview?variant=b`);
    assert.ok(second.body.includes('<h1>Secret launch B</h1>'));
    const unknown = await w.problem(422, 'GET', `/api/v1/landing-pages/${draft.id}/preview?variant=zz`);
    assert.deepEqual(unknown.errors, [{ path: '/query/variant', message: 'is not a variant of this page' }]);
    await w.problem(404, 'GET', '/api/v1/landing-pages/nope/preview');
    const anonymous = await t.app.inject({ method: 'GET', url: `/api/v1/landing-pages/${draft.id}/preview` });
    assert.equal(anonymous.statusCode, 401);
  });

  it('picks a variant by weight and keeps it in a cookie; a preview shows any variant and sets none', async () => {
    const t = get();
    const w = await tenant(t, 'landing');
    const pageSlug = slug();
    await w.ok('POST', '/api/v1/landing-pages', {
      slug: pageSlug,
      name: 'AB',
      variants: [
        { key: 'a', weight: 1, headline: 'A headline' },
        { key: 'b', weight: 1, headline: 'B headline' },
        { key: 'paused', weight: 0, headline: 'Paused headline' },
      ],
    });
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const response = await t.app.inject({ method: 'GET', url: `/l/${pageSlug}` });
      const key = shownVariant(response.body)!;
      seen.add(key);
      const cookie = variantCookie(response.headers);
      assert.ok(cookie, 'a new visitor gets the cookie');
      assert.match(
        cookie,
        new RegExp(`^ll_lp_${pageSlug}=${key}; Path=/l/${pageSlug}; Max-Age=\\d+; SameSite=Lax; HttpOnly`),
      );
      // The same visitor comes back: same variant, no new cookie.
      const again = await t.app.inject({
        method: 'GET',
        url: `/l/${pageSlug}`,
        headers: { cookie: `other=1; ${cookie.split(';')[0]}` },
      });
      assert.equal(shownVariant(again.body), key);
      assert.equal(variantCookie(again.headers), undefined);
    }
    assert.deepEqual([...seen].sort(), ['a', 'b']);
    const paused = await t.app.inject({
      method: 'GET',
      url: `/l/${pageSlug}`,
      headers: { cookie: `ll_lp_${pageSlug}=paused` },
    });
    assert.notEqual(shownVariant(paused.body), 'paused', 'a paused variant is not kept');
    assert.ok(variantCookie(paused.headers));
    const preview = await t.app.inject({ method: 'GET', url: `/l/${pageSlug}?variant=paused` });
    assert.equal(shownVariant(preview.body), 'paused');
    assert.ok(preview.body.includes('<meta name="robots" content="noindex">'));
    assert.equal(variantCookie(preview.headers), undefined);
  });

  it('shows a notice instead of a form that is closed', async () => {
    const t = get();
    const w = await tenant(t, 'landing');
    const formSlug = slug('form');
    const form = await w.ok('POST', '/api/v1/forms', formBody(formSlug));
    const pageSlug = slug();
    await w.ok('POST', '/api/v1/landing-pages', {
      slug: pageSlug,
      name: 'Webinar',
      variants: [{ key: 'a', headline: 'Webinar', formSlug }],
    });
    await w.ok('PATCH', `/api/v1/forms/${form.id}`, { status: 'closed' });
    const response = await t.app.inject({ method: 'GET', url: `/l/${pageSlug}` });
    assert.equal(response.statusCode, 200);
    assert.ok(!response.body.includes('<form'));
    assert.ok(response.body.includes('This form is closed.'));
  });

  it("lets the form follow a redirect to its thank-you page's origin; a page without a form has no inline script", async () => {
    const t = get();
    const w = await tenant(t, 'landing');
    const formSlug = slug('form');
    await w.ok('POST', '/api/v1/forms', {
      ...formBody(formSlug),
      thankYou: { redirectUrl: 'https://www.acme.example/thanks?from=lp' },
    });
    const withForm = slug();
    await w.ok('POST', '/api/v1/landing-pages', {
      slug: withForm,
      name: 'With form',
      variants: [{ key: 'a', headline: 'With form', formSlug }],
    });
    const response = await t.app.inject({ method: 'GET', url: `/l/${withForm}` });
    assert.deepEqual(policyOf(response.headers)['form-action'], [
      "'self'",
      'http://localhost:3000',
      'https://www.acme.example',
    ]);

    const withoutForm = slug();
    await w.ok('POST', '/api/v1/landing-pages', {
      slug: withoutForm,
      name: 'No form',
      variants: [{ key: 'a', headline: 'No form' }],
    });
    const plain = await t.app.inject({ method: 'GET', url: `/l/${withoutForm}` });
    assert.deepEqual(inlineScriptHashes(plain.body), []);
    assert.deepEqual(policyOf(plain.headers)['script-src'], ["'self'", 'http://localhost:3000']);
    // The API preview is the same page: the same policy.
    const page = (await w.ok('GET', '/api/v1/landing-pages')).data.find((p: Json) => p.slug === withoutForm);
    const preview = await w.call('GET', `/api/v1/landing-pages/${page.id}/preview`);
    assert.equal(preview.headers['content-security-policy'], plain.headers['content-security-policy']);
  });

  it("puts t.js's anonymous id cookie into the form, except under Global Privacy Control or Do Not Track", async () => {
    const t = get();
    const w = await tenant(t, 'landing');
    const formSlug = slug('form');
    await w.ok('POST', '/api/v1/forms', formBody(formSlug));
    const pageSlug = slug();
    await w.ok('POST', '/api/v1/landing-pages', {
      slug: pageSlug,
      name: 'Private',
      variants: [{ key: 'a', headline: 'Private', formSlug }],
    });
    const aid = '0b6f7d2e-4c1a-4f7e-9a53-00000000aaaa';
    const view = (headers: Record<string, string>) =>
      t.app.inject({
        method: 'GET',
        url: `/l/${pageSlug}`,
        headers: { cookie: `ll_aid=${aid}`, ...headers },
      });
    const idField = new RegExp(`name="_ll_aid" value="${aid}"`);
    assert.match((await view({})).body, idField);
    const signals: Record<string, string>[] = [{ 'sec-gpc': '1' }, { dnt: '1' }];
    for (const signal of signals) {
      const html = (await view(signal)).body;
      assert.ok(!html.includes(aid), `no anonymous id under ${JSON.stringify(signal)}`);
    }
  });
});

describeEachEngine('landing pages behind a path prefix', (engine) => {
  const get = useApp(engine, { LEADLINE_PUBLIC_URL: 'https://www.acme.example/leadline' });

  it('addresses t.js and the form by LEADLINE_PUBLIC_URL, whose origin the policy allows', async () => {
    const t = get();
    const w = await tenant(t, 'landing');
    const formSlug = slug('form');
    await w.ok('POST', '/api/v1/forms', formBody(formSlug));
    const pageSlug = slug();
    await w.ok('POST', '/api/v1/landing-pages', {
      slug: pageSlug,
      name: 'Prefixed',
      variants: [{ key: 'a', headline: 'Prefixed', formSlug }],
    });
    // The proxy in front strips the prefix: Leadline sees /l/{slug}.
    const response = await t.app.inject({ method: 'GET', url: `/l/${pageSlug}?utm_source=x` });
    assert.equal(response.statusCode, 200, response.body);
    assert.match(response.body, /<script async src="https:\/\/www\.acme\.example\/leadline\/t\.js" /);
    assert.match(
      response.body,
      new RegExp(`<form[^>]*action="https://www\\.acme\\.example/leadline/f/${formSlug}"`),
    );
    const policy = policyOf(response.headers);
    assert.deepEqual(policy['script-src']?.slice(0, 2), ["'self'", 'https://www.acme.example']);
    assert.deepEqual(policy['connect-src'], ["'self'", 'https://www.acme.example']);
  });

  it('keeps the variant cookie on the path the browser sees, prefix included', async () => {
    const t = get();
    const w = await tenant(t, 'landing');
    const pageSlug = slug();
    await w.ok('POST', '/api/v1/landing-pages', {
      slug: pageSlug,
      name: 'Sticky',
      variants: [
        { key: 'a', weight: 1, headline: 'A' },
        { key: 'b', weight: 1, headline: 'B' },
      ],
    });
    const response = await t.app.inject({ method: 'GET', url: `/l/${pageSlug}` });
    assert.match(variantCookie(response.headers) ?? '', new RegExp(`; Path=/leadline/l/${pageSlug};`));
  });
});
