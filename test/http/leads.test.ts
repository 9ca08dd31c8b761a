import assert from 'node:assert/strict';
import { it } from 'node:test';
import { authHeaders, describeEachEngine, useApp } from '../support/engines.ts';

describeEachEngine('POST /api/v1/leads', (engine) => {
  const get = useApp(engine);

  it('creates a normalised lead with 201, then updates it with 200', async () => {
    const { app, key } = get();
    const first = await app.inject({
      method: 'POST',
      url: '/api/v1/leads',
      headers: authHeaders(key),
      payload: {
        email: '  Ada.Lovelace@Analytical-Engines.CO.UK ',
        firstName: 'Ada',
        phone: '+44 20 7946 0958',
        country: 'United Kingdom',
        utm: { source: 'google', medium: 'cpc', campaign: 'spring' },
        landingPage: 'https://example.org/pricing',
      },
    });
    assert.equal(first.statusCode, 201, first.body);
    const lead = first.json();
    assert.equal(lead.email, 'ada.lovelace@analytical-engines.co.uk');
    assert.equal(lead.phone, '+442079460958');
    assert.equal(lead.country, 'GB');
    assert.equal(lead.companyDomain, 'analytical-engines.co.uk');
    assert.equal(lead.channel, 'paid_search');
    assert.equal(lead.firstTouch.utm.campaign, 'spring');
    assert.equal(lead.stage, 'lead');

    const second = await app.inject({
      method: 'POST',
      url: '/api/v1/leads',
      headers: authHeaders(key),
      payload: {
        email: 'ada.lovelace@analytical-engines.co.uk',
        lastName: 'Lovelace',
        referrer: 'https://news.ycombinator.com/',
      },
    });
    assert.equal(second.statusCode, 200, second.body);
    const updated = second.json();
    assert.equal(updated.id, lead.id);
    assert.equal(updated.firstName, 'Ada');
    assert.equal(updated.lastName, 'Lovelace');
    assert.equal(updated.firstTouch.channel, 'paid_search');
    assert.equal(updated.lastTouch.channel, 'referral');
  });

  it('derives the channel of webmail, display ads, (direct) / (none), lead source labels and x.ai', async () => {
    const { app, key } = get();
    const channelOf = async (payload: Record<string, unknown>) => {
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/leads',
        headers: authHeaders(key),
        payload,
      });
      assert.equal(response.statusCode, 201, response.body);
      return response.json().channel;
    };
    const cases: [Record<string, unknown>, string][] = [
      [{ referrer: 'https://mail.google.com/' }, 'email'],
      [{ referrer: 'https://outlook.live.com/mail/0/' }, 'email'],
      [{ utm: { source: 'google', medium: 'display' } }, 'display'],
      [{ utm: { source: 'google', medium: 'banner' } }, 'display'],
      [{ utm: { source: 'facebook', medium: 'display' } }, 'display'],
      [{ utm: { source: '(direct)', medium: '(none)' } }, 'direct'],
      [{ source: 'Trade Show' }, 'events'],
      [{ source: 'cold call' }, 'offline'],
      [{ source: 'Expo 2026' }, 'other'],
      [{ referrer: 'https://x.ai/' }, 'referral'],
      [{ referrer: 'https://x.test/' }, 'referral'],
      [{ referrer: 'https://x.com/acme' }, 'organic_social'],
    ];
    for (const [i, [touch, channel]] of cases.entries())
      assert.equal(await channelOf({ email: `c${i}@example.org`, ...touch }), channel, JSON.stringify(touch));
    const listed = await app.inject({
      method: 'GET',
      url: '/api/v1/leads?channel=display',
      headers: authHeaders(key),
    });
    assert.equal(listed.statusCode, 200, listed.body);
    assert.deepEqual(
      listed
        .json()
        .data.map((lead: { email: string }) => lead.email)
        .sort(),
      ['c2@example.org', 'c3@example.org', 'c4@example.org'],
    );
  });

  it('finds a lead with an internationalised email domain by q as typed, and trims q', async () => {
    const { app, key } = get();
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/leads',
      headers: authHeaders(key),
      payload: { email: 'info@müller.de', company: 'PCT Holdings' },
    });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().email, 'info@xn--mller-kva.de');
    const found = async (q: string) => {
      const response = await app.inject({
        method: 'GET',
        url: `/api/v1/leads?q=${encodeURIComponent(q)}`,
        headers: authHeaders(key),
      });
      assert.equal(response.statusCode, 200, response.body);
      return response.json().data.map((lead: { email: string }) => lead.email);
    };
    for (const q of ['müller', 'info@müller.de', 'MÜLLER.DE', 'mu\u0308ller', 'xn--mller-kva', '  pct  '])
      assert.deepEqual(await found(q), ['info@xn--mller-kva.de'], q);
  });

  it('reads back a lead touched once with its last touch equal to its first, and keeps a later one apart', async () => {
    const { app, key } = get();
    const capture = (payload: Record<string, unknown>) =>
      app.inject({ method: 'POST', url: '/api/v1/leads', headers: authHeaders(key), payload });
    // Read back from storage, not the capture's answer.
    const read = async (id: string) =>
      (await app.inject({ method: 'GET', url: `/api/v1/leads/${id}`, headers: authHeaders(key) })).json();

    const created = await capture({
      email: 'once@example.org',
      utm: { source: 'newsletter', medium: 'email' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id;
    const once = await read(id);
    assert.equal(once.firstTouch.channel, 'email');
    assert.deepEqual(once.lastTouch, once.firstTouch);

    const again = await capture({ email: 'once@example.org', referrer: 'https://news.ycombinator.com/' });
    assert.equal(again.statusCode, 200, again.body);
    const twice = await read(id);
    assert.deepEqual(twice.firstTouch, once.firstTouch);
    assert.equal(twice.lastTouch.channel, 'referral');
    assert.equal(twice.lastTouch.referrer, 'https://news.ycombinator.com/');

    const untouched = await capture({ email: 'never@example.org' });
    assert.equal(untouched.statusCode, 201, untouched.body);
    const bare = await read(untouched.json().id);
    assert.equal(bare.firstTouch, null);
    assert.equal(bare.lastTouch, null);
  });

  it('reads the UTM of a landing page with %00 in it without the NUL (PostgreSQL cannot store it)', async () => {
    const { app, key } = get();
    const landingPage = 'https://example.org/offer?UTM_SOURCE=%00x&utm_medium=%00&utm_term=c%00rm';
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/leads',
      headers: authHeaders(key),
      payload: { email: 'nul-utm@example.org', landingPage },
    });
    assert.equal(response.statusCode, 201, response.body);
    const lead = response.json();
    assert.deepEqual(lead.firstTouch.utm, { source: 'x', term: 'crm' });
    assert.equal(lead.firstTouch.landingPage, landingPage);
  });

  it('rejects bad input with problem+json naming each field, and writes nothing', async () => {
    const { app, key } = get();
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/leads',
      headers: authHeaders(key),
      payload: { email: 'not-an-email', phone: 'call me', country: 'Atlantis' },
    });
    assert.equal(response.statusCode, 422, response.body);
    assert.match(response.headers['content-type'] as string, /application\/problem\+json/);
    const paths = response
      .json()
      .errors.map((e: { path: string }) => e.path)
      .sort();
    assert.deepEqual(paths, ['/country', '/email', '/phone']);
    const list = await app.inject({
      method: 'GET',
      url: '/api/v1/leads?q=not-an-email',
      headers: authHeaders(key),
    });
    assert.deepEqual(list.json().data, []);
  });

  it('rejects unknown fields and wrong types with 400 and their paths', async () => {
    const { app, key } = get();
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/leads',
      headers: authHeaders(key),
      payload: { email: 'x@acme.io', favouriteColour: 'blue', companySize: 'lots' },
    });
    assert.equal(response.statusCode, 400, response.body);
    const paths = response
      .json()
      .errors.map((e: { path: string }) => e.path)
      .sort();
    assert.deepEqual(paths, ['/companySize', '/favouriteColour']);
  });

  it('answers captures sent at the same moment as if they ran one by one (they share their writes)', async () => {
    const { app, key } = get();
    const post = (payload: Record<string, unknown>) =>
      app.inject({ method: 'POST', url: '/api/v1/leads', headers: authHeaders(key), payload });
    const [first, invalid, second, other, phoneOnly, third] = await Promise.all([
      post({ email: 'same-moment@example.org', firstName: 'Grace' }),
      post({ email: 'same-moment-invalid', firstName: 'Nobody' }),
      post({ email: 'Same-Moment@example.org', lastName: 'Hopper' }),
      post({ email: 'same-moment-other@example.org' }),
      post({ phone: '+44 20 7946 0101', firstName: 'Phone' }),
      post({ email: 'same-moment@example.org', company: 'Navy' }),
    ]);
    assert.equal(first!.statusCode, 201, first!.body);
    assert.equal(invalid!.statusCode, 422, invalid!.body);
    assert.deepEqual(
      invalid!.json().errors.map((e: { path: string }) => e.path),
      ['/email'],
    );
    assert.equal(second!.statusCode, 200, second!.body);
    assert.equal(other!.statusCode, 201, other!.body);
    assert.equal(phoneOnly!.statusCode, 201, phoneOnly!.body);
    assert.equal(third!.statusCode, 200, third!.body);
    // Each answer shows the lead as it stood after its own capture.
    const [a, b, c] = [first!.json(), second!.json(), third!.json()];
    assert.equal(b.id, a.id);
    assert.equal(c.id, a.id);
    assert.deepEqual([a.firstName, a.lastName, a.company], ['Grace', null, null]);
    assert.deepEqual([b.firstName, b.lastName, b.company], ['Grace', 'Hopper', null]);
    assert.deepEqual([c.firstName, c.lastName, c.company], ['Grace', 'Hopper', 'Navy']);
    assert.equal(typeof c.score, 'number');
    const timeline = await app.inject({
      method: 'GET',
      url: `/api/v1/leads/${a.id}/timeline`,
      headers: authHeaders(key),
    });
    assert.deepEqual(
      timeline
        .json()
        .data.map((e: { type: string }) => e.type)
        .sort(),
      ['lead_created', 'lead_updated', 'lead_updated'],
    );
    const invalidListed = await app.inject({
      method: 'GET',
      url: '/api/v1/leads?q=same-moment-invalid',
      headers: authHeaders(key),
    });
    assert.deepEqual(invalidListed.json().data, []);
  });

  it('requires an API key', async () => {
    const { app } = get();
    const response = await app.inject({ method: 'POST', url: '/api/v1/leads', payload: { email: 'a@b.co' } });
    assert.equal(response.statusCode, 401);
    assert.equal(response.json().code, 'UNAUTHENTICATED');
  });
});
