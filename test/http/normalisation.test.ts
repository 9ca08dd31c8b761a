import assert from 'node:assert/strict';
import { it } from 'node:test';
import { authHeaders, describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

type Lead = Record<string, unknown> & { id: string };

function post(t: TestApp, url: string, payload: unknown) {
  return t.app.inject({ method: 'POST', url, headers: authHeaders(t.key), payload: payload as object });
}

/** POST /api/v1/leads that must answer `status`; returns the lead. */
async function capture(t: TestApp, payload: Record<string, unknown>, status: 200 | 201 = 201): Promise<Lead> {
  const response = await post(t, '/api/v1/leads', payload);
  assert.equal(response.statusCode, status, `${JSON.stringify(payload)}: ${response.body}`);
  return response.json();
}

/** POST /api/v1/leads that must be refused with 422 and an error at `path`; returns its message. */
async function refused(t: TestApp, payload: Record<string, unknown>, path: string): Promise<string> {
  const response = await post(t, '/api/v1/leads', payload);
  assert.equal(response.statusCode, 422, `${JSON.stringify(payload)}: ${response.body}`);
  const error = (response.json().errors as Array<{ path: string; message: string }>).find(
    (e) => e.path === path,
  );
  assert.ok(error, `expected an error at ${path}: ${response.body}`);
  return error.message;
}

async function search(t: TestApp, q: string): Promise<Lead[]> {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/v1/leads?q=${encodeURIComponent(q)}`,
    headers: authHeaders(t.key),
  });
  assert.equal(response.statusCode, 200, response.body);
  return response.json().data;
}

async function ok(t: TestApp, method: 'POST' | 'PUT', url: string, payload: unknown) {
  const response = await t.app.inject({
    method,
    url,
    headers: authHeaders(t.key),
    payload: payload as object,
  });
  assert.ok(response.statusCode < 300, `${method} ${url}: ${response.body}`);
  return response.json();
}

describeEachEngine('lead normalisation', (engine) => {
  const get = useApp(engine);
  let n = 0;

  it('gives leads of the large free-mail providers no company domain, and so no account', async () => {
    const t = get();
    const freeMail = [
      'hotmail.de',
      'hotmail.it',
      'hotmail.es',
      'hotmail.nl',
      'hotmail.com.br',
      'live.co.uk',
      'live.de',
      'live.fr',
      'live.nl',
      'live.it',
      'live.ca',
      'outlook.fr',
      'outlook.es',
      'outlook.com.br',
      'yahoo.es',
      'yahoo.it',
      'yahoo.com.mx',
      'yahoo.com.au',
      'yahoo.in',
      'rocketmail.com',
      'bol.com.br',
      'gmx.ch',
      'gmx.fr',
      'laposte.fr',
      'protonmail.ch',
      'posteo.de',
      'inbox.ru',
      'gmail.com',
    ];
    for (const domain of freeMail) {
      const lead = await capture(t, { email: `free-${++n}@${domain}` });
      assert.equal(lead.companyDomain, null, domain);
    }
    // The website then names the company, as for any free-mail lead.
    const withSite = await capture(t, { email: `free-${++n}@live.co.uk`, website: 'https://initech.io' });
    assert.equal(withSite.companyDomain, 'initech.io');
    // Organisations whose staff domain the package lists as free-mail keep it: they are accounts.
    for (const domain of ['bt.com', 'nus.edu.sg', 'acme-industries.de']) {
      const lead = await capture(t, { email: `staff-${++n}@${domain}` });
      assert.equal(lead.companyDomain, domain);
    }
  });

  it('routes free-mail strangers apart instead of into one account', async () => {
    const t = get();
    const users: string[] = [];
    for (const name of ['Una', 'Vic']) {
      users.push(
        (await ok(t, 'POST', '/api/v1/users', { name, email: `${name.toLowerCase()}@sales.io` })).id,
      );
    }
    const squad = (
      await ok(t, 'POST', '/api/v1/teams', { name: 'Squad', members: users.map((userId) => ({ userId })) })
    ).id;
    await ok(t, 'PUT', '/api/v1/routing/rules', {
      rules: [
        { id: 'account', name: 'Account owner', strategy: { type: 'account' } },
        { id: 'rr', name: 'Round robin', strategy: { type: 'round_robin', teamId: squad } },
      ],
    });
    const ownerOf = async (email: string) => {
      const { id } = await capture(t, { email });
      const response = await t.app.inject({
        method: 'GET',
        url: `/api/v1/leads/${id}`,
        headers: authHeaders(t.key),
      });
      return response.json().ownerId as string;
    };
    const first = await ownerOf(`stranger-${++n}@live.co.uk`);
    const second = await ownerOf(`stranger-${++n}@live.co.uk`);
    assert.deepEqual([first, second], users, 'the second stranger takes the round robin’s next turn');
    // A company domain still makes an account.
    const cfo = await ownerOf(`cfo-${++n}@initrode.de`);
    assert.equal(await ownerOf(`cto-${++n}@initrode.de`), cfo);
    await ok(t, 'PUT', '/api/v1/routing/rules', { rules: [] });
  });

  it('accepts an email with an internationalised domain, stored in punycode as one lead with its ASCII spelling', async () => {
    const t = get();
    const unicode = await capture(t, { email: 'info@müller-gmbh.de' });
    assert.equal(unicode.email, 'info@xn--mller-gmbh-9db.de');
    assert.equal(unicode.companyDomain, 'xn--mller-gmbh-9db.de');
    const ascii = await capture(t, { email: 'info@xn--mller-gmbh-9db.de', firstName: 'Ina' }, 200);
    assert.equal(ascii.id, unicode.id);
    const upper = await capture(t, { email: ' INFO@MÜLLER-GMBH.DE ', lastName: 'Müller' }, 200);
    assert.equal(upper.id, unicode.id);
    // Decomposed ü (NFD) is the same domain.
    const decomposed = await capture(t, { email: 'info@mu\u0308ller-gmbh.de' }, 200);
    assert.equal(decomposed.id, unicode.id);
    // The same company typed as a website gives the same company domain.
    const site = await capture(t, { email: `ina-${++n}@gmail.com`, website: 'https://müller-gmbh.de' });
    assert.equal(site.companyDomain, unicode.companyDomain);
    // An IDN top-level domain.
    assert.equal((await capture(t, { email: 'x@пример.рф' })).email, 'x@xn--e1afmkfd.xn--p1ai');
  });

  it('keeps refusing invalid internationalised emails', async () => {
    const t = get();
    for (const email of [
      'info@müller gmbh.de',
      'info@müller_gmbh.de',
      'info@-müller.de',
      'info@müller..de',
      'info@müller',
      'info@müller.d',
      // Full-width letters, a zero-width space and a soft hyphen: look-alikes of another domain.
      'info@ｍüller.de',
      'info@mü\u200bller.de',
      'info@mü\u00adller.de',
      'info@müller\u3002de',
      // Non-ASCII local parts need SMTPUTF8, which few mail systems deliver.
      'jané@müller-gmbh.de',
      `info@${'ü'.repeat(70)}.de`,
    ]) {
      assert.equal(await refused(t, { email }, '/email'), 'is not a valid email address', email);
    }
    // A website's IDN label may not start or end with a hyphen either.
    for (const website of ['-bücher.de', 'https://bücher-.de']) {
      const message = await refused(t, { email: `w-${++n}@acme.io`, website }, '/website');
      assert.equal(message, 'is not a valid website URL', website);
    }
  });

  it('understands St./St for Saint, official long names, inverted names and common short forms', async () => {
    const t = get();
    const cases: [string, string][] = [
      ['United Kingdom of Great Britain and Northern Ireland', 'GB'],
      ['St. Lucia', 'LC'],
      ['St Lucia', 'LC'],
      ['St Kitts and Nevis', 'KN'],
      ['St. Vincent & the Grenadines', 'VC'],
      ['Saint Martin', 'MF'],
      ['Bosnia', 'BA'],
      ['Bosnia-Herzegovina', 'BA'],
      ['Federal Republic of Germany', 'DE'],
      ['Republic of Ireland', 'IE'],
      ['Kingdom of the Netherlands', 'NL'],
      ['Iran, Islamic Republic of', 'IR'],
      ['Micronesia, Federated States of', 'FM'],
      ['Federated States of Micronesia', 'FM'],
      ['British Virgin Islands', 'VG'],
      ['Korea, South', 'KR'],
      ['Bahamas, The', 'BS'],
      ['French Republic', 'FR'],
      ['Swiss Confederation', 'CH'],
      ["People's Republic of China", 'CN'],
      ['Republic of China', 'TW'],
      ['Republic of the Congo', 'CG'],
      ['Republic of Congo', 'CG'],
      ['Democratic Republic of Congo', 'CD'],
      ['Falkland Islands', 'FK'],
    ];
    for (const [country, code] of cases) {
      assert.equal((await capture(t, { email: `c-${++n}@acme.io`, country })).country, code, country);
    }
  });

  it('refuses unknown and ambiguous country names', async () => {
    const t = get();
    for (const country of [
      'Republic of Atlantis',
      'Republic of',
      'Kingdom of the',
      'St.',
      'Saint',
      'Northern',
    ]) {
      assert.equal(
        await refused(t, { email: `c-${++n}@acme.io`, country }, '/country'),
        'is not a known country',
        country,
      );
    }
    for (const country of ['Korea', 'Congo', 'Virgin Islands']) {
      assert.equal(
        await refused(t, { email: `c-${++n}@acme.io`, country }, '/country'),
        'is ambiguous; use the ISO country code',
        country,
      );
    }
  });

  it('stores names in NFC and finds them by either Unicode form', async () => {
    const t = get();
    const decomposed = await capture(t, {
      email: `amelie-${++n}@acme.io`,
      firstName: 'Ame\u0301lie',
      company: 'Cafe\u0301 Zoe\u0308',
    });
    assert.equal(decomposed.firstName, 'Amélie'.normalize('NFC'));
    assert.equal(decomposed.company, 'Café Zoë'.normalize('NFC'));
    assert.deepEqual(
      (await search(t, 'Am\u00e9lie')).map((lead) => lead.id),
      [decomposed.id],
    );
    const composed = await capture(t, { email: `bjorn-${++n}@acme.io`, lastName: 'Bj\u00f6rnsd\u00f3ttir' });
    assert.deepEqual(
      (await search(t, 'Bjo\u0308rnsdo\u0301ttir')).map((lead) => lead.id),
      [composed.id],
    );
    assert.deepEqual(
      (await search(t, 'cafe\u0301')).map((lead) => lead.id),
      [decomposed.id],
    );
  });
});
