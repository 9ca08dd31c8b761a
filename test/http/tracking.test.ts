import assert from 'node:assert/strict';
import { it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { clientScript } from '../../src/client/bundle.ts';
import { type Json, type Tenant, tenant } from '../support/api.ts';
import { describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

/** Leadline's own origin in these tests (LEADLINE_PUBLIC_URL's default). */
const OWN_ORIGIN = 'http://localhost:3000';
const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36';

let visitors = 0;
/** A fresh anonymous id, as t.js makes them. */
const visitor = () => `0b6f7d2e-4c1a-4f7e-9a53-${(++visitors).toString(16).padStart(12, '0')}`;
let hits = 0;
const hitId = () => `hit${(++hits).toString(16).padStart(8, '0')}`;

interface HitInput {
  u: string;
  ti?: string;
  r?: string;
  i?: string;
  v?: string;
}

/** A batch as t.js sends it: the page views happened 3 s and 1 s before it left. */
function batch(workspace: string, anonymousId: string, pages: HitInput[]) {
  const sentAt = 1_700_000_000_000;
  return {
    w: workspace,
    a: anonymousId,
    s: sentAt,
    e: pages.map((page, n) => ({
      t: 'page_view',
      i: page.i ?? hitId(),
      ts: sentAt - 3000 + n * 2000,
      ...page,
    })),
  };
}

/** POST /t/collect as sendBeacon sends it: text/plain, no key, a browser's Origin and user agent. */
function collect(t: TestApp, body: unknown, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/t/collect',
    headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': CHROME, ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function anonymousRows(t: TestApp, workspaceId: string, anonymousId: string) {
  return t.services.database.db
    .selectFrom('anonymous_activities')
    .select(['id', 'type', 'occurred_at'])
    .where('workspace_id', '=', workspaceId)
    .where('anonymous_id', '=', anonymousId)
    .orderBy('id')
    .execute();
}

async function timeline(w: Tenant, leadId: string): Promise<Json[]> {
  return (await w.ok('GET', `/api/v1/leads/${leadId}/timeline?limit=500`)).data;
}

describeEachEngine('website tracking', (engine) => {
  const get = useApp(engine);

  it('serves t.js small, minified and cacheable: ETag and 304, gzip when accepted', async () => {
    const t = get();
    const script = await clientScript('t');
    assert.ok(script.gzipBytes < 5 * 1024, `t.js is ${script.gzipBytes} bytes gzipped; the budget is 5 kB`);
    const plain = await t.app.inject({ method: 'GET', url: '/t.js' });
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(plain.headers['cache-control'], 'public, max-age=300');
    assert.equal(plain.headers.etag, script.etag);
    assert.equal(plain.body, script.code);
    assert.ok(!plain.body.includes('\n  '), 'minified');
    assert.match(plain.body, /t\/collect/);

    const gzipped = await t.app.inject({
      method: 'GET',
      url: '/t.js',
      headers: { 'accept-encoding': 'gzip, br' },
    });
    assert.equal(gzipped.headers['content-encoding'], 'gzip');
    assert.equal(gzipped.headers.vary, 'accept-encoding');
    assert.notEqual(gzipped.headers.etag, script.etag, 'the gzipped bytes have their own ETag');
    const gzipRevalidated = await t.app.inject({
      method: 'GET',
      url: '/t.js',
      headers: { 'accept-encoding': 'gzip', 'if-none-match': String(gzipped.headers.etag) },
    });
    assert.equal(gzipRevalidated.statusCode, 304);
    assert.equal(gunzipSync(gzipped.rawPayload).toString('utf8'), script.code);

    const revalidated = await t.app.inject({
      method: 'GET',
      url: '/t.js',
      headers: { 'if-none-match': `"other", ${script.etag}` },
    });
    assert.equal(revalidated.statusCode, 304);
    assert.equal(revalidated.body, '');
    assert.equal((await t.app.inject({ method: 'HEAD', url: '/t.js' })).statusCode, 200);
  });

  it("keeps an anonymous visitor's page views, with the URL rules' activities, until they are identified", async () => {
    const t = get();
    const w = await tenant(t, 'track');
    const aid = visitor();
    const body = batch(w.slug, aid, [
      {
        u: 'https://acme.com/?utm_source=newsletter&utm_campaign=spring',
        ti: 'Acme',
        r: 'https://mail.example/',
      },
      { u: 'https://acme.com/pricing?plan=team', ti: 'Pricing' },
    ]);
    const sent = await collect(t, body, { origin: 'https://acme.com' });
    assert.equal(sent.statusCode, 200, sent.body);
    assert.deepEqual(sent.json(), { accepted: 3, duplicates: 0, ignored: 0 });
    assert.equal(sent.headers['access-control-allow-origin'], 'https://acme.com');
    assert.equal(sent.headers['cache-control'], 'no-store');
    const rows = await anonymousRows(t, w.id, aid);
    assert.deepEqual(rows.map((r) => r.type).sort(), ['page_view', 'page_view', 'pricing_viewed']);
    // On the server's clock, 3 s and 1 s before the request, whatever the browser's clock said.
    assert.deepEqual([...new Set(rows.map((r) => Number(r.occurred_at)))].sort(), [
      t.clock.now - 3000,
      t.clock.now - 1000,
    ]);

    // sendBeacon may deliver a batch twice: the second time changes nothing.
    const again = await collect(t, body, { origin: 'https://acme.com' });
    assert.deepEqual(again.json(), { accepted: 0, duplicates: 3, ignored: 0 });
    assert.equal((await anonymousRows(t, w.id, aid)).length, 3);

    // The visitor fills a form: the history moves onto the lead and scores once.
    const identified = await w.ok('POST', '/api/v1/identify', { anonymousId: aid, email: 'vera@acme.com' });
    assert.equal(identified.moved, 3);
    const entries = await timeline(w, identified.leadId);
    const views = entries.filter((e) => e.type === 'page_view');
    assert.equal(views.length, 2);
    const home = views.find((e) => e.properties.path === '/')!;
    assert.deepEqual(home.properties, {
      url: 'https://acme.com/?utm_source=newsletter&utm_campaign=spring',
      host: 'acme.com',
      path: '/',
      title: 'Acme',
      referrer: 'https://mail.example/',
      utm: { source: 'newsletter', campaign: 'spring' },
    });
    const pricing = entries.filter((e) => e.type === 'pricing_viewed');
    assert.equal(pricing.length, 1);
    assert.equal(pricing[0]!.properties.urlRule, '/pricing*');
    const score = await w.ok('GET', `/api/v1/leads/${identified.leadId}/score`);
    assert.equal(
      Math.round(score.behaviourScore),
      25,
      'the pricing visit scores once (the page view), not twice',
    );

    // Later page views of the identified visitor go straight to the lead.
    const later = await collect(t, batch(w.slug, aid, [{ u: 'https://acme.com/docs' }]));
    assert.equal(later.statusCode, 200, later.body);
    assert.equal((await anonymousRows(t, w.id, aid)).length, 0);
    const after = await timeline(w, identified.leadId);
    assert.ok(after.some((e) => e.type === 'page_view' && e.properties.path === '/docs'));
  });

  it('takes a JSON body too, and answers the CORS preflight', async () => {
    const t = get();
    const w = await tenant(t, 'track');
    const aid = visitor();
    const json = await t.app.inject({
      method: 'POST',
      url: '/t/collect',
      headers: { 'content-type': 'application/json', origin: 'https://shop.acme.com' },
      payload: batch(w.slug, aid, [{ u: 'https://shop.acme.com/cart', v: 'b' }]),
    });
    assert.equal(json.statusCode, 200, json.body);
    assert.equal(json.json().accepted, 1);
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/t/collect',
      headers: {
        origin: 'https://shop.acme.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://shop.acme.com');
    assert.equal(preflight.headers['access-control-allow-methods'], 'POST');
    assert.equal(preflight.headers['access-control-allow-headers'], 'content-type');
  });

  it('refuses bad batches whole, naming the field, and writes nothing', async () => {
    const t = get();
    const w = await tenant(t, 'track');
    const aid = visitor();
    const problem = async (status: number, body: unknown) => {
      const response = await collect(t, body);
      assert.equal(response.statusCode, status, response.body);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      return response.json() as Json;
    };
    const good = batch(w.slug, aid, [{ u: 'https://acme.com/' }]);
    const paths = (p: Json) => p.errors.map((e: Json) => e.path);

    assert.deepEqual(paths(await problem(400, '{"w": "acme", "a": ')), ['/']);
    assert.deepEqual(paths(await problem(400, { ...good, a: 'ada@acme.com' })), ['/a']);
    assert.deepEqual(paths(await problem(400, { ...good, e: [] })), ['/e']);
    const tooMany = batch(
      w.slug,
      aid,
      Array.from({ length: 51 }, () => ({ u: 'https://acme.com/' })),
    );
    assert.deepEqual(paths(await problem(400, tooMany)), ['/e']);
    assert.ok(paths(await problem(400, { ...good, e: [{ ...good.e[0], t: 'click' }] })).includes('/e/0/t'));
    assert.deepEqual(paths(await problem(400, { ...good, x: 1 })), ['/x']);
    assert.deepEqual(paths(await problem(400, { ...good, e: [{ ...good.e[0], ti: 'x'.repeat(301) }] })), [
      '/e/0/ti',
    ]);
    const mixed = batch(w.slug, aid, [{ u: 'https://acme.com/pricing' }, { u: 'file:///etc/passwd' }]);
    assert.deepEqual(paths(await problem(422, mixed)), ['/e/1/u']);
    // A lone surrogate (PostgreSQL cannot store it) is refused on both engines alike.
    const lone = batch(w.slug, aid, [{ u: 'https://acme.com/', ti: 'bad \ud800 title' }]);
    assert.deepEqual(paths(await problem(422, lone)), ['/e/0/ti']);
    const unknown = await problem(404, batch('no-such-workspace', aid, [{ u: 'https://acme.com/' }]));
    assert.equal(unknown.code, 'WORKSPACE_NOT_FOUND');
    assert.deepEqual(paths(unknown), ['/w']);
    assert.deepEqual(await anonymousRows(t, w.id, aid), []);
  });

  it('records a page view whose URL has %00 in a UTM parameter, without the NUL (PostgreSQL cannot store it)', async () => {
    const t = get();
    const w = await tenant(t, 'track');
    const aid = visitor();
    const url = 'https://a.com/?utm_medium=%00x&utm_source=%00&utm_campaign=q%001';
    const sent = await collect(t, batch(w.slug, aid, [{ u: url }]));
    assert.equal(sent.statusCode, 200, sent.body);
    assert.deepEqual(sent.json(), { accepted: 1, duplicates: 0, ignored: 0 });
    const { leadId } = await w.ok('POST', '/api/v1/identify', { anonymousId: aid, email: 'nul@a.com' });
    const [view] = (await timeline(w, leadId)).filter((e) => e.type === 'page_view');
    // The URL is kept as sent (still escaped); only the decoded values lose their NULs.
    assert.deepEqual(view?.properties, {
      url,
      host: 'a.com',
      path: '/',
      utm: { medium: 'x', campaign: 'q1' },
    });
  });

  it('records nothing under Global Privacy Control, Do Not Track or for a crawler', async () => {
    const t = get();
    const w = await tenant(t, 'track');
    const aid = visitor();
    const body = batch(w.slug, aid, [{ u: 'https://acme.com/' }, { u: 'https://acme.com/pricing' }]);
    const signals: Record<string, string>[] = [
      { 'sec-gpc': '1' },
      { dnt: '1' },
      { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' },
    ];
    for (const headers of signals) {
      const response = await collect(t, body, headers);
      assert.equal(response.statusCode, 200, response.body);
      assert.deepEqual(response.json(), { accepted: 0, duplicates: 0, ignored: 2 });
    }
    assert.deepEqual(await anonymousRows(t, w.id, aid), []);
  });

  it('lets only the allowed origins (and Leadline itself) send page views once the list is set', async () => {
    const t = get();
    const w = await tenant(t, 'track');
    const settings = await w.ok('PUT', '/api/v1/tracking/settings', {
      urlRules: [{ match: '/pricing*', activity: 'pricing_viewed' }],
      allowedOrigins: ['https://acme.com', 'https://*.acme.io'],
    });
    assert.deepEqual(settings.allowedOrigins, ['https://acme.com', 'https://*.acme.io']);
    const aid = visitor();
    const send = (origin: string | undefined, url: string) =>
      collect(t, batch(w.slug, aid, [{ u: url }]), origin ? { origin } : {});

    const refused = await send('https://evil.example', 'https://acme.com/');
    assert.equal(refused.statusCode, 403, refused.body);
    assert.equal(refused.json().code, 'TRACKING_ORIGIN_NOT_ALLOWED');
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    // Without an Origin header (not a browser), the page's own origin is checked instead.
    assert.equal((await send(undefined, 'https://evil.example/')).statusCode, 403);
    assert.deepEqual(await anonymousRows(t, w.id, aid), []);

    assert.equal((await send('https://acme.com', 'https://acme.com/')).statusCode, 200);
    assert.equal((await send('https://docs.acme.io', 'https://docs.acme.io/start')).statusCode, 200);
    assert.equal((await send(undefined, 'https://acme.com/about')).statusCode, 200);
    assert.equal((await send(OWN_ORIGIN, `${OWN_ORIGIN}/l/spring-offer`)).statusCode, 200);
    assert.equal((await anonymousRows(t, w.id, aid)).length, 4);
  });

  it('keeps tracking settings per workspace: defaults, replacement, field errors, double-scoring warnings', async () => {
    const t = get();
    const w = await tenant(t, 'track');
    assert.deepEqual(await w.ok('GET', '/api/v1/tracking/settings'), {
      urlRules: [{ match: '/pricing*', activity: 'pricing_viewed' }],
      allowedOrigins: [],
      updatedAt: null,
      warnings: [],
    });

    const invalid = await w.problem(422, 'PUT', '/api/v1/tracking/settings', {
      urlRules: [
        { match: '/webinar/thanks*', activity: 'webinar_registered' },
        { match: '/x*', activity: 'call_logged' },
        { match: '/guides/*', activity: 'custom' },
      ],
      allowedOrigins: ['https://acme.com/blog'],
    });
    assert.deepEqual(
      invalid.errors.map((e: Json) => e.path),
      ['/urlRules/1/activity', '/urlRules/2/name', '/allowedOrigins/0'],
    );
    const shape = await w.problem(400, 'PUT', '/api/v1/tracking/settings', { urlRules: [{ match: '/x' }] });
    assert.ok(shape.errors.some((e: Json) => e.path === '/urlRules/0/activity'));
    assert.equal((await w.ok('GET', '/api/v1/tracking/settings')).updatedAt, null, 'nothing stored');

    const replaced = await w.ok('PUT', '/api/v1/tracking/settings', {
      urlRules: [
        { match: '/webinar/thanks*', activity: 'webinar_registered' },
        { match: '/guides/*', activity: 'custom', name: 'guide_read' },
      ],
      allowedOrigins: ['HTTPS://ACME.COM/'],
    });
    assert.deepEqual(replaced.urlRules, [
      { match: '/webinar/thanks*', activity: 'webinar_registered' },
      { match: '/guides/*', activity: 'custom', name: 'guide_read' },
    ]);
    assert.deepEqual(replaced.allowedOrigins, ['https://acme.com']);
    assert.equal(replaced.updatedAt, new Date(t.clock.now).toISOString());
    assert.deepEqual(await w.ok('GET', '/api/v1/tracking/settings'), replaced);

    // The new rules apply to the next page view at once; pricing pages no longer add pricing_viewed.
    const aid = visitor();
    const sent = await collect(
      t,
      batch(w.slug, aid, [{ u: 'https://acme.com/guides/setup' }, { u: 'https://acme.com/pricing' }]),
      { origin: 'https://acme.com' },
    );
    assert.equal(sent.json().accepted, 3, sent.body);
    assert.deepEqual((await anonymousRows(t, w.id, aid)).map((r) => r.type).sort(), [
      'custom',
      'page_view',
      'page_view',
    ]);

    // A scoring model that scores pricing_viewed too would count a pricing visit twice: said so.
    const saved = await w.call('PUT', '/api/v1/scoring/model', {
      behaviour: [
        { id: 'pricing-visit', points: 25, type: 'page_view', where: { url: { matches: ['/pricing*'] } } },
        { id: 'pricing-activity', points: 10, type: 'pricing_viewed' },
      ],
    });
    assert.equal(saved.statusCode, 200, saved.body);
    const warned = await w.ok('PUT', '/api/v1/tracking/settings', {
      urlRules: [{ match: '/pricing*', activity: 'pricing_viewed' }],
      allowedOrigins: [],
    });
    assert.equal(warned.warnings.length, 1);
    assert.match(warned.warnings[0], /pricing-visit.*pricing-activity.*twice/);
  });

  it('lets read keys see the settings and only admin keys change them', async () => {
    const t = get();
    const w = await tenant(t, 'track');
    const { key } = await t.services.workspaces.createKey(w.id, 'writer', 'write');
    const headers = { authorization: `Bearer ${key}` };
    const read = await t.app.inject({ method: 'GET', url: '/api/v1/tracking/settings', headers });
    assert.equal(read.statusCode, 200);
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/tracking/settings',
      headers,
      payload: { urlRules: [], allowedOrigins: [] },
    });
    assert.equal(put.statusCode, 403, put.body);
  });
});
