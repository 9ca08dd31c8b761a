import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type Json, tenant } from '../support/api.ts';
import { authHeaders, describeEachEngine, useApp } from '../support/engines.ts';

let slugs = 0;
/** A slug no other test of the run uses: slugs are global across workspaces. */
const freshSlug = (prefix = 'form') => `${prefix}-${process.pid}-${++slugs}`;

/** A small, valid form definition. */
function demoForm(extra: Json = {}): Json {
  return {
    name: 'Request a demo',
    slug: freshSlug('demo'),
    fields: [
      { name: 'email', type: 'email', label: 'Work email', required: true, maps: 'email' },
      { name: 'first_name', type: 'text', maps: 'firstName' },
      {
        name: 'team_size',
        type: 'select',
        options: [
          { value: '1-10', label: '1–10' },
          { value: '11+', label: '11 or more' },
        ],
      },
    ],
    ...extra,
  };
}

describeEachEngine('forms API', (engine) => {
  const get = useApp(engine);

  it('creates a form with defaults filled in, its public addresses and no secret; reads and lists it', async () => {
    const t = get();
    const w = await tenant(t, 'forms');
    const created = await w.call('POST', '/api/v1/forms', demoForm());
    assert.equal(created.statusCode, 201, created.body);
    const form = created.json();
    assert.equal(form.status, 'active');
    assert.equal(form.archived, false);
    assert.deepEqual(form.spam, {
      honeypot: true,
      minFillSeconds: 3,
      rejectDisposable: false,
      perIpPerMinute: 10,
      perFormPerMinute: 600,
      duplicateWindowSeconds: 60,
    });
    assert.deepEqual(form.consents, []);
    assert.equal(form.doubleOptIn, false);
    assert.equal(form.urls.hosted, `http://localhost:3000/f/${form.slug}`);
    assert.match(form.embed, new RegExp(`data-leadline-form="${form.slug}"`));
    assert.ok(!created.body.includes('secret'), 'the render-token secret never leaves the server');

    assert.deepEqual(await w.ok('GET', `/api/v1/forms/${form.id}`), form);
    const list = await w.ok('GET', '/api/v1/forms');
    assert.deepEqual(
      list.data.map((f: Json) => f.id),
      [form.id],
    );
  });

  it('refuses a slug another form of any workspace has (409 FORM_EXISTS), also on change', async () => {
    const t = get();
    const a = await tenant(t, 'forms');
    const b = await tenant(t, 'forms');
    const first = await a.ok('POST', '/api/v1/forms', demoForm());
    const taken = await b.problem(409, 'POST', '/api/v1/forms', demoForm({ slug: first.slug }));
    assert.equal(taken.code, 'FORM_EXISTS');
    assert.deepEqual(taken.errors, [{ path: '/slug', message: 'is already the address of another form' }]);
    const other = await b.ok('POST', '/api/v1/forms', demoForm());
    const renamed = await b.problem(409, 'PATCH', `/api/v1/forms/${other.id}`, { slug: first.slug });
    assert.equal(renamed.code, 'FORM_EXISTS');
    // Its own slug again is no conflict.
    await b.ok('PATCH', `/api/v1/forms/${other.id}`, { slug: other.slug, name: 'Renamed' });
  });

  it('names every bad part of a definition (422) and writes nothing', async () => {
    const t = get();
    const w = await tenant(t, 'forms');
    const bad = await w.problem(422, 'POST', '/api/v1/forms', {
      name: 'Bad',
      slug: freshSlug('bad'),
      fields: [
        { name: 'email', type: 'email', maps: 'email' },
        { name: 'email', type: 'text' },
        { name: '_ll_hp', type: 'text' },
        { name: 'plan', type: 'select' },
        { name: 'size', type: 'text', maps: 'companySize' },
        { name: 'code', type: 'text', validation: { pattern: '(a+)+$' } },
        { name: 'broken', type: 'text', validation: { pattern: '(' } },
        { name: 'twice', type: 'text', validation: { pattern: '(\\w)\\1' } },
        { name: 'ahead', type: 'text', validation: { pattern: '(?=\\d)\\w+' } },
        { name: 'toString', type: 'text' },
        { name: 'length', type: 'text' },
      ],
      consents: [{ purpose: 'Marketing!', text: 'Yes', version: '1' }],
      thankYou: { redirectUrl: 'javascript:alert(1)' },
      allowedOrigins: ['https://example.com/path'],
      notify: ['not-an-email'],
      progressive: { queue: ['email', 'nope'] },
    });
    assert.equal(bad.code, 'VALIDATION_FAILED');
    assert.deepEqual(
      bad.errors.map((e: Json) => e.path),
      [
        '/fields/1/name',
        '/fields/2/name',
        '/fields/3/options',
        '/fields/4/maps',
        '/fields/5/validation/pattern',
        '/fields/6/validation/pattern',
        '/fields/7/validation/pattern',
        '/fields/8/validation/pattern',
        '/fields/9/name',
        '/fields/10/name',
        '/consents/0/purpose',
        '/thankYou/redirectUrl',
        '/notify/0',
        '/allowedOrigins/0',
        '/progressive/queue/0',
        '/progressive/queue/1',
      ],
    );
    const linear = bad.errors.find((e: Json) => e.path === '/fields/7/validation/pattern');
    assert.match(linear.message, /backreferences/);
    const noIdentity = await w.problem(422, 'POST', '/api/v1/forms', {
      name: 'No email',
      slug: freshSlug('noid'),
      fields: [{ name: 'comment', type: 'textarea' }],
    });
    assert.deepEqual(noIdentity.errors, [
      { path: '/fields', message: 'must have a field that maps to email or phone (a lead needs one)' },
    ]);
    // Schema errors (unknown type, unknown setting) are 400 with the field's path.
    const schema = await w.problem(
      400,
      'POST',
      '/api/v1/forms',
      demoForm({ fields: [{ name: 'x', type: 'date' }] }),
    );
    assert.ok(schema.errors.some((e: Json) => e.path.startsWith('/fields/0/type')));
    assert.deepEqual((await w.ok('GET', '/api/v1/forms')).data, []);
  });

  it('changes settings (lists replaced, null clears, spam merged key by key); normalises origins and emails', async () => {
    const t = get();
    const w = await tenant(t, 'forms');
    const form = await w.ok(
      'POST',
      '/api/v1/forms',
      demoForm({
        thankYou: { message: 'Thanks!' },
        leadMagnet: { title: 'The guide', url: 'https://cdn.example.com/guide.pdf' },
        allowedOrigins: ['HTTPS://WWW.Example.com:443/', 'https://*.example.org'],
        notify: ['Sales@Example.com'],
        spam: { perIpPerMinute: 30 },
      }),
    );
    assert.deepEqual(form.allowedOrigins, ['https://www.example.com', 'https://*.example.org']);
    assert.deepEqual(form.notify, ['sales@example.com']);
    assert.equal(form.spam.perIpPerMinute, 30);
    assert.equal(form.spam.minFillSeconds, 3);

    const changed = await w.ok('PATCH', `/api/v1/forms/${form.id}`, {
      status: 'closed',
      leadMagnet: null,
      spam: { minFillSeconds: 0 },
      fields: [{ name: 'phone', type: 'phone', maps: 'phone', required: true }],
    });
    assert.equal(changed.status, 'closed');
    assert.equal(changed.leadMagnet, null);
    assert.deepEqual(changed.thankYou, { message: 'Thanks!' }, 'what the patch did not name stays');
    assert.equal(changed.spam.perIpPerMinute, 30);
    assert.equal(changed.spam.minFillSeconds, 0);
    assert.deepEqual(
      changed.fields.map((f: Json) => f.name),
      ['phone'],
    );
  });

  it('stores URLs as parsed: a line break in a redirect, magnet or privacy URL never reaches a header', async () => {
    const t = get();
    const w = await tenant(t, 'forms');
    const form = await w.ok(
      'POST',
      '/api/v1/forms',
      demoForm({
        thankYou: { redirectUrl: 'https://www.example.com/thanks\r\nSet-Cookie: session=stolen' },
        leadMagnet: { title: 'Guide', url: ' https://cdn.example.com/the guide.pdf\n' },
        consents: [
          { purpose: 'news', text: 'News', version: '1', privacyUrl: 'https://Example.com/pri\tvacy' },
        ],
      }),
    );
    assert.equal(form.thankYou.redirectUrl, 'https://www.example.com/thanksSet-Cookie:%20session=stolen');
    assert.equal(form.leadMagnet.url, 'https://cdn.example.com/the%20guide.pdf');
    assert.equal(form.consents[0].privacyUrl, 'https://example.com/privacy');
    const changed = await w.ok('PATCH', `/api/v1/forms/${form.id}`, {
      thankYou: { redirectUrl: 'https://www.example.com/next\nX-Evil: 1' },
    });
    assert.equal(changed.thankYou.redirectUrl, 'https://www.example.com/nextX-Evil:%201');

    // A browser's submission is redirected there: 303, not a 500 from an unsendable header.
    const token = (await t.app.inject({ method: 'GET', url: `/f/${form.slug}/definition` })).json().token;
    t.clock.now += 5_000;
    const posted = await t.app.inject({
      method: 'POST',
      url: `/f/${form.slug}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      payload: new URLSearchParams({ email: 'ada@example.com', _ll_ts: token }).toString(),
    });
    assert.equal(posted.statusCode, 303, posted.body);
    assert.equal(posted.headers.location, 'https://www.example.com/nextX-Evil:%201');
    assert.equal(posted.headers['x-evil'], undefined);
  });

  it('archives on DELETE: gone from the list, still readable, 410 in public, no more changes', async () => {
    const t = get();
    const w = await tenant(t, 'forms');
    const form = await w.ok('POST', '/api/v1/forms', demoForm());
    const deleted = await w.call('DELETE', `/api/v1/forms/${form.id}`);
    assert.equal(deleted.statusCode, 204);
    assert.equal((await w.call('DELETE', `/api/v1/forms/${form.id}`)).statusCode, 204, 'idempotent');
    assert.deepEqual((await w.ok('GET', '/api/v1/forms')).data, []);
    const all = await w.ok('GET', '/api/v1/forms?includeArchived=true');
    assert.equal(all.data[0].archived, true);
    assert.ok(all.data[0].archivedAt);
    const page = await t.app.inject({ method: 'GET', url: `/f/${form.slug}` });
    assert.equal(page.statusCode, 410);
    assert.match(page.body, /This form is closed/);
    const change = await w.problem(409, 'PATCH', `/api/v1/forms/${form.id}`, { name: 'Back' });
    assert.equal(change.code, 'CONFLICT');
  });

  it('answers 404 FORM_NOT_FOUND for unknown ids and pages through forms newest first', async () => {
    const t = get();
    const w = await tenant(t, 'forms');
    const missing = await w.problem(404, 'GET', '/api/v1/forms/0190f0a0-0000-7000-8000-000000000000');
    assert.equal(missing.code, 'FORM_NOT_FOUND');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await w.ok('POST', '/api/v1/forms', demoForm())).id);
      t.clock.now += 1000;
    }
    const first = await w.ok('GET', '/api/v1/forms?limit=2');
    assert.deepEqual(
      first.data.map((f: Json) => f.id),
      [ids[2], ids[1]],
    );
    const second = await w.ok('GET', `/api/v1/forms?limit=2&cursor=${first.nextCursor}`);
    assert.deepEqual(
      second.data.map((f: Json) => f.id),
      [ids[0]],
    );
    assert.equal(second.nextCursor, null);
  });

  it('lets only an admin key make a form email its submissions (notify), as webhooks', async () => {
    const t = get();
    const w = await tenant(t, 'forms');
    const { key } = await t.services.workspaces.createKey(w.id, 'capture script', 'write');
    const asWriter = (method: 'POST' | 'PATCH', url: string, payload: Json) =>
      t.app.inject({ method, url, headers: authHeaders(key), payload });
    const refused = await asWriter(
      'POST',
      '/api/v1/forms',
      demoForm({ notify: ['collector@elsewhere.example'] }),
    );
    assert.equal(refused.statusCode, 403, refused.body);
    assert.deepEqual(refused.json().errors, [{ path: '/notify', message: 'needs an admin key' }]);
    // Without recipients a write key builds and changes forms as before.
    const created = await asWriter('POST', '/api/v1/forms', demoForm());
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id;
    assert.equal((await asWriter('PATCH', `/api/v1/forms/${id}`, { name: 'Renamed' })).statusCode, 200);
    assert.equal(
      (await asWriter('PATCH', `/api/v1/forms/${id}`, { notify: ['collector@elsewhere.example'] }))
        .statusCode,
      403,
    );
    assert.deepEqual((await w.ok('GET', `/api/v1/forms/${id}`)).notify, []);
    await w.ok('PATCH', `/api/v1/forms/${id}`, { notify: ['sales@example.com'] });
  });
});
