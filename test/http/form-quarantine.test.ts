import assert from 'node:assert/strict';
import { it } from 'node:test';
import { QUARANTINE_RETENTION_MS } from '../../src/forms/quarantine-service.ts';
import { type Json, type Tenant, tenant } from '../support/api.ts';
import { describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

let forms = 0;

/** A form of the tenant's with an email and a first-name field; `extra` adds or overrides settings. */
async function makeForm(w: Tenant, extra: Json = {}): Promise<Json> {
  return w.ok('POST', '/api/v1/forms', {
    name: 'Contact us',
    slug: `quarantine-${process.pid}-${++forms}`,
    fields: [
      { name: 'email', type: 'email', maps: 'email', required: true },
      { name: 'firstName', type: 'text', maps: 'firstName' },
    ],
    ...extra,
  });
}

/** The render token a visitor's page gets, from the public definition. */
async function renderToken(t: TestApp, slug: string): Promise<string> {
  const response = await t.app.inject({ method: 'GET', url: `/f/${slug}/definition` });
  assert.equal(response.statusCode, 200, response.body);
  return response.json().token;
}

/** Posts values to the form as JSON from `ip`, like embed.js does. */
function post(t: TestApp, slug: string, values: Json, ip = '203.0.113.7') {
  return t.app.inject({
    method: 'POST',
    url: `/f/${slug}`,
    remoteAddress: ip,
    headers: { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 (test)' },
    payload: values,
  });
}

/** A person: renders, waits `waitMs`, fills in, submits. */
async function person(t: TestApp, slug: string, values: Json, waitMs = 8000, ip?: string) {
  const token = await renderToken(t, slug);
  t.clock.now += waitMs;
  return post(t, slug, { ...values, _ll_ts: token, _ll_hp: '' }, ip);
}

const leadsOf = async (w: Tenant) => (await w.ok('GET', '/api/v1/leads?limit=500')).data as Json[];
const quarantined = async (w: Tenant, query = '') =>
  (await w.ok('GET', `/api/v1/forms/quarantine${query}`)).data as Json[];

describeEachEngine('form quarantine', (engine) => {
  const get = useApp(engine);

  it('holds a bot-style submission (honeypot filled) with the same answer a person gets, writing no lead', async () => {
    const t = get();
    const w = await tenant(t, 'quarantine');
    const form = await makeForm(w);
    const real = await person(t, form.slug, { email: 'ada@example.com', firstName: 'Ada' });
    assert.equal(real.statusCode, 200, real.body);
    const token = await renderToken(t, form.slug);
    t.clock.now += 8000;
    const bot = await post(t, form.slug, {
      email: 'bot@spam.example',
      firstName: 'Bot',
      _ll_ts: token,
      _ll_hp: 'http://cheap-pills.example',
    });
    assert.equal(bot.statusCode, 200, bot.body);
    assert.deepEqual(bot.json(), real.json(), 'a bot learns nothing from the answer');

    assert.deepEqual(
      (await leadsOf(w)).map((l) => l.email),
      ['ada@example.com'],
    );
    const [entry] = await quarantined(w);
    assert.ok(entry);
    assert.equal(entry.formId, form.id);
    assert.equal(entry.email, 'bot@spam.example');
    assert.deepEqual(entry.reasons, ['honeypot']);
    assert.equal(entry.status, 'quarantined');
    assert.equal(entry.ip, '203.0.113.7');
    assert.equal(entry.userAgent, 'Mozilla/5.0 (test)');
    assert.equal(entry.values.firstName, 'Bot');
    assert.equal(entry.leadId, null);
    assert.equal(entry.receivedAt, new Date(t.clock.now).toISOString());
    assert.deepEqual(await w.ok('GET', `/api/v1/forms/quarantine/${entry.id}`), entry);
  });

  it('quarantines a missing render token, a forged one and a fill faster than minFillSeconds', async () => {
    const t = get();
    const w = await tenant(t, 'quarantine');
    const form = await makeForm(w, { spam: { minFillSeconds: 5 } });
    assert.equal((await post(t, form.slug, { email: 'no-token@example.com' })).statusCode, 200);
    assert.equal(
      (
        await post(t, form.slug, {
          email: 'forged@example.com',
          _ll_ts: `${(t.clock.now - 60_000).toString(36)}.${'A'.repeat(43)}`,
        })
      ).statusCode,
      200,
    );
    assert.equal((await person(t, form.slug, { email: 'fast@example.com' }, 4000)).statusCode, 200);
    assert.equal((await person(t, form.slug, { email: 'patient@example.com' }, 5000)).statusCode, 200);
    const reasons = Object.fromEntries((await quarantined(w)).map((e) => [e.email, e.reasons]));
    assert.deepEqual(reasons, {
      'no-token@example.com': ['token_missing'],
      'forged@example.com': ['token_invalid'],
      'fast@example.com': ['too_fast'],
    });
    assert.deepEqual(
      (await leadsOf(w)).map((l) => l.email),
      ['patient@example.com'],
    );
  });

  it('quarantines disposable emails only when the form says so', async () => {
    const t = get();
    const w = await tenant(t, 'quarantine');
    const strict = await makeForm(w, { spam: { rejectDisposable: true } });
    const lenient = await makeForm(w);
    await person(t, strict.slug, { email: 'x1@mailinator.com' });
    await person(t, lenient.slug, { email: 'x2@mailinator.com' });
    const entries = await quarantined(w);
    assert.deepEqual(
      entries.map((e) => [e.email, e.reasons, e.formId]),
      [['x1@mailinator.com', ['disposable_email'], strict.id]],
    );
    assert.deepEqual(
      (await leadsOf(w)).map((l) => l.email),
      ['x2@mailinator.com'],
    );
  });

  it('a release records consents with the wording the person ticked, even after the form changed it', async () => {
    const t = get();
    const w = await tenant(t, 'quarantine');
    const consent = (purpose: string, text: string, version: string) => ({ purpose, text, version });
    const form = await makeForm(w, {
      consents: [consent('marketing', 'Send me product news.', '1'), consent('events', 'Invite me.', '1')],
    });
    await post(t, form.slug, {
      email: 'ticked@example.com',
      _ll_consent_marketing: 'on',
      _ll_consent_events: 'on',
    });
    const [entry] = await quarantined(w);
    // Meanwhile the form asks for something else, and no longer for events.
    await w.ok('PATCH', `/api/v1/forms/${form.id}`, {
      consents: [consent('marketing', 'We share your data with partners.', '2')],
    });
    const released = await w.ok('POST', `/api/v1/forms/quarantine/${entry!.id}/release`);
    const consents = (await w.ok('GET', `/api/v1/leads/${released.leadId}/consents`)).data as Json[];
    assert.deepEqual(consents.map((c) => [c.purpose, c.status, c.version, c.text]).sort(), [
      ['events', 'granted', '1', 'Invite me.'],
      ['marketing', 'granted', '1', 'Send me product news.'],
    ]);
  });

  it('releases an entry: the submission is written as received (lead, activity) and marked released, once', async () => {
    const t = get();
    const w = await tenant(t, 'quarantine');
    const form = await makeForm(w);
    const receivedAt = t.clock.now;
    await post(t, form.slug, {
      email: 'grace@example.com',
      firstName: 'Grace',
      utm_source: 'newsletter',
      _ll_page: 'https://www.example.com/contact',
    });
    const [entry] = await quarantined(w);
    assert.deepEqual(entry?.reasons, ['token_missing']);
    t.clock.now += 3_600_000;

    const released = await w.ok('POST', `/api/v1/forms/quarantine/${entry!.id}/release`);
    assert.equal(released.status, 'released');
    assert.equal(released.decidedAt, new Date(t.clock.now).toISOString());
    const lead = await w.ok('GET', `/api/v1/leads/${released.leadId}`);
    assert.equal(lead.email, 'grace@example.com');
    assert.equal(lead.firstName, 'Grace');
    const timeline = (await w.ok('GET', `/api/v1/leads/${lead.id}/timeline`)).data as Json[];
    const submitted = timeline.find((e) => e.type === 'form_submitted');
    assert.ok(submitted, JSON.stringify(timeline));
    assert.equal(submitted.properties.formId, form.id);
    assert.equal(submitted.properties.pageUrl, 'https://www.example.com/contact');
    assert.equal(Date.parse(submitted.occurredAt), receivedAt, 'it happened when it was received');
    assert.deepEqual(await w.ok('GET', `/api/v1/forms/quarantine/${entry!.id}`), released);

    const again = await w.problem(409, 'POST', `/api/v1/forms/quarantine/${entry!.id}/release`);
    assert.equal(again.code, 'CONFLICT');
    assert.equal(
      (await w.problem(409, 'POST', `/api/v1/forms/quarantine/${entry!.id}/discard`)).errors[0].path,
      '/status',
    );
    assert.equal((await leadsOf(w)).length, 1);
  });

  it('a release does what the submission would have done: consents and follow-up emails too', async () => {
    const t = get();
    const w = await tenant(t, 'quarantine');
    const form = await makeForm(w, {
      consents: [{ purpose: 'newsletter', text: 'Send me the newsletter', version: 'v1' }],
      leadMagnet: { title: 'The guide', url: 'https://cdn.example.com/guide.pdf' },
      notify: ['sales@example.com'],
    });
    await post(t, form.slug, { email: 'hana@example.com', _ll_consent_newsletter: 'on' });
    await t.services.jobs.runDue();
    assert.deepEqual((await w.ok('GET', '/api/v1/mailbox')).data, [], 'held: nobody is mailed');
    const [entry] = await quarantined(w);
    const released = await w.ok('POST', `/api/v1/forms/quarantine/${entry!.id}/release`);
    const consents = await w.ok('GET', `/api/v1/leads/${released.leadId}/consents`);
    assert.deepEqual(
      consents.data.map((c: Json) => [c.purpose, c.status, c.evidence.formId, c.evidence.ip]),
      [['newsletter', 'granted', form.id, '203.0.113.7']],
    );
    await t.services.jobs.runDue();
    const mail = (await w.ok('GET', '/api/v1/mailbox')).data as Json[];
    assert.deepEqual(mail.map((m) => m.to[0]).sort(), ['hana@example.com', 'sales@example.com']);
  });

  it('discards an entry: it stays listed as discarded, is never submitted, and cannot be released', async () => {
    const t = get();
    const w = await tenant(t, 'quarantine');
    const form = await makeForm(w);
    await post(t, form.slug, { email: 'spam@example.com' });
    const [entry] = await quarantined(w);
    const discarded = await w.ok('POST', `/api/v1/forms/quarantine/${entry!.id}/discard`);
    assert.equal(discarded.status, 'discarded');
    assert.equal(discarded.leadId, null);
    await w.problem(409, 'POST', `/api/v1/forms/quarantine/${entry!.id}/release`);
    assert.deepEqual(await leadsOf(w), []);
    assert.deepEqual(
      (await quarantined(w, '?status=discarded')).map((e) => e.id),
      [entry!.id],
    );
    assert.deepEqual(await quarantined(w, '?status=quarantined'), []);
  });

  it('answers 404 QUARANTINE_NOT_FOUND for unknown ids, and checks its query', async () => {
    const t = get();
    const w = await tenant(t, 'quarantine');
    for (const url of [
      '/api/v1/forms/quarantine/nope',
      '/api/v1/forms/quarantine/nope/release',
      '/api/v1/forms/quarantine/nope/discard',
    ]) {
      const body = await w.problem(404, url.endsWith('nope') ? 'GET' : 'POST', url);
      assert.equal(body.code, 'QUARANTINE_NOT_FOUND');
    }
    const bad = await w.problem(400, 'GET', '/api/v1/forms/quarantine?status=maybe&limit=0');
    assert.deepEqual(bad.errors.map((e: Json) => e.path).sort(), ['/query/limit', '/query/status']);
    assert.equal(
      (await w.problem(422, 'GET', '/api/v1/forms/quarantine?cursor=zzz')).errors[0].path,
      '/query/cursor',
    );
  });

  it('lists newest first, by form and status, a page at a time', async () => {
    const t = get();
    const w = await tenant(t, 'quarantine');
    const a = await makeForm(w);
    const b = await makeForm(w);
    for (let i = 0; i < 5; i++) {
      t.clock.now += 1000;
      await post(t, (i % 2 === 0 ? a : b).slug, { email: `bot${i}@example.com` });
    }
    const all = await quarantined(w);
    assert.deepEqual(
      all.map((e) => e.email),
      ['bot4@example.com', 'bot3@example.com', 'bot2@example.com', 'bot1@example.com', 'bot0@example.com'],
    );
    assert.deepEqual(
      (await quarantined(w, `?formId=${b.id}`)).map((e) => e.email),
      ['bot3@example.com', 'bot1@example.com'],
    );
    const first = await w.ok('GET', '/api/v1/forms/quarantine?limit=2');
    assert.deepEqual(
      first.data.map((e: Json) => e.email),
      ['bot4@example.com', 'bot3@example.com'],
    );
    const second = await w.ok('GET', `/api/v1/forms/quarantine?limit=2&cursor=${first.nextCursor}`);
    assert.deepEqual(
      second.data.map((e: Json) => e.email),
      ['bot2@example.com', 'bot1@example.com'],
    );
    const third = await w.ok('GET', `/api/v1/forms/quarantine?limit=2&cursor=${second.nextCursor}`);
    assert.deepEqual(
      third.data.map((e: Json) => e.email),
      ['bot0@example.com'],
    );
    assert.equal(third.nextCursor, null);
  });

  it('refuses a cursor of another list (the forms list pages by the same columns) with 422 at /query/cursor', async () => {
    const t = get();
    const w = await tenant(t, 'quarantine');
    const form = await makeForm(w);
    await makeForm(w);
    for (let i = 0; i < 3; i++) {
      t.clock.now += 1000;
      await post(t, form.slug, { email: `bot${i}@example.com` });
    }
    const held = await w.ok('GET', '/api/v1/forms/quarantine?limit=1');
    const forms = await w.ok('GET', '/api/v1/forms?limit=1');
    await w.ok('POST', '/api/v1/leads', { email: 'one@lead.example' });
    await w.ok('POST', '/api/v1/leads', { email: 'two@lead.example' });
    const leads = await w.ok('GET', '/api/v1/leads?limit=1');
    for (const url of [
      `/api/v1/forms/quarantine?cursor=${forms.nextCursor}`,
      `/api/v1/forms?cursor=${held.nextCursor}`,
      `/api/v1/forms/quarantine?cursor=${leads.nextCursor}`,
      `/api/v1/forms/${form.id}/submissions?cursor=${held.nextCursor}`,
    ]) {
      const body = await w.problem(422, 'GET', url);
      assert.equal(body.errors[0].path, '/query/cursor', url);
    }
    assert.equal((await w.ok('GET', `/api/v1/forms/quarantine?cursor=${held.nextCursor}`)).data.length, 2);
  });

  it('limits submissions per IP with 429 and Retry-After, storing nothing for the refused', async () => {
    const t = get();
    const w = await tenant(t, 'quarantine');
    const form = await makeForm(w, { spam: { perIpPerMinute: 2 } });
    // Start at a fresh minute, so the window holds exactly these.
    t.clock.now += 60_000 - (t.clock.now % 60_000);
    // A page each: a render token is good for one submission.
    const tokens: string[] = [];
    for (let n = 0; n < 4; n++) tokens.push(await renderToken(t, form.slug));
    t.clock.now += 5000;
    const send = (n: number, ip: string) =>
      post(t, form.slug, { email: `p${n}@example.com`, _ll_ts: tokens[n - 1], _ll_hp: '' }, ip);
    assert.equal((await send(1, '198.51.100.1')).statusCode, 200);
    assert.equal((await send(2, '198.51.100.1')).statusCode, 200);
    const refused = await send(3, '198.51.100.1');
    assert.equal(refused.statusCode, 429, refused.body);
    assert.equal(refused.json().code, 'RATE_LIMITED');
    // 5 s into the minute: room comes back when half the next minute has let one of the two fade.
    assert.equal(refused.headers['retry-after'], '85');
    assert.equal((await send(4, '198.51.100.2')).statusCode, 200, 'another IP is counted apart');
    assert.deepEqual((await leadsOf(w)).map((l) => l.email).sort(), [
      'p1@example.com',
      'p2@example.com',
      'p4@example.com',
    ]);
    assert.deepEqual(await quarantined(w), []);
  });

  it('prunes entries decided longer ago than the retention; never one nobody decided on', async () => {
    const t = get();
    const w = await tenant(t, 'quarantine');
    const form = await makeForm(w);
    for (const email of ['undecided@example.com', 'discarded@example.com', 'released@example.com'])
      await post(t, form.slug, { email });
    const entries = await quarantined(w);
    const id = (email: string) => entries.find((e) => e.email === email)!.id;
    const DAY = 86_400_000;
    const arrived = t.clock.now;
    t.clock.now = arrived + 10 * DAY;
    await w.ok('POST', `/api/v1/forms/quarantine/${id('discarded@example.com')}/discard`);
    await w.ok('POST', `/api/v1/forms/quarantine/${id('released@example.com')}/release`);
    t.clock.now = arrived + 20 * DAY;
    await post(t, form.slug, { email: 'later@example.com' });
    await w.ok('POST', `/api/v1/forms/quarantine/${(await quarantined(w))[0]!.id}/discard`);

    // The retention after arrival: the decisions are younger than it, nothing goes.
    t.clock.now = arrived + QUARANTINE_RETENTION_MS + 1000;
    assert.equal(await t.services.quarantine.prune([w.id]), 0);
    // The retention after the first decisions: those two go; the undecided one stays, however old.
    t.clock.now = arrived + 10 * DAY + QUARANTINE_RETENTION_MS + 1000;
    assert.equal(await t.services.quarantine.prune([w.id]), 2);
    assert.deepEqual((await quarantined(w)).map((e) => [e.email, e.status]).sort(), [
      ['later@example.com', 'discarded'],
      ['undecided@example.com', 'quarantined'],
    ]);
    t.clock.now += 5 * 365 * 86_400_000;
    assert.equal(await t.services.quarantine.prune([w.id]), 1);
    assert.deepEqual(
      (await quarantined(w)).map((e) => e.email),
      ['undecided@example.com'],
    );
    assert.equal((await leadsOf(w)).length, 1, 'a released entry going leaves its lead');
  });

  it('releases an entry of a form closed or archived since it arrived', async () => {
    const t = get();
    const w = await tenant(t, 'quarantine');
    const closed = await makeForm(w);
    const archived = await makeForm(w);
    await post(t, closed.slug, { email: 'closed@example.com' });
    await post(t, archived.slug, { email: 'archived@example.com' });
    await w.ok('PATCH', `/api/v1/forms/${closed.id}`, { status: 'closed' });
    await w.ok('DELETE', `/api/v1/forms/${archived.id}`);
    // The public form is closed to new submissions…
    const late = await post(t, closed.slug, { email: 'late@example.com' });
    assert.equal(late.statusCode, 410, late.body);
    // …but what arrived while it was open can still be let through.
    for (const entry of await quarantined(w)) {
      const released = await w.ok('POST', `/api/v1/forms/quarantine/${entry.id}/release`);
      assert.equal(released.status, 'released');
      const lead = await w.ok('GET', `/api/v1/leads/${released.leadId}`);
      assert.equal(lead.email, entry.email);
    }
    assert.deepEqual((await leadsOf(w)).map((l) => l.email).sort(), [
      'archived@example.com',
      'closed@example.com',
    ]);
  });

  it('quarantines a render token used again with other answers (token_reused); a double click stays a duplicate', async () => {
    const t = get();
    const w = await tenant(t, 'quarantine');
    const form = await makeForm(w);
    const token = await renderToken(t, form.slug);
    t.clock.now += 8000;
    const send = (email: string, firstName = 'Ada') =>
      post(t, form.slug, { email, firstName, _ll_ts: token, _ll_hp: '' });
    assert.equal((await send('ada@example.com')).statusCode, 200);
    // The same answers again within the duplicate window: the first one's answer, nothing more.
    assert.equal((await send('ada@example.com')).statusCode, 200);
    assert.deepEqual(await quarantined(w), []);
    // The page's token replayed for hours with other answers: held, with the same answer to the sender.
    t.clock.now += 3 * 3_600_000;
    for (const email of ['bot1@example.com', 'bot2@example.com', 'ada@example.com']) {
      const replay = await send(email, 'Bot');
      assert.equal(replay.statusCode, 200, replay.body);
      assert.deepEqual(replay.json().status, 'received');
    }
    assert.deepEqual(
      (await leadsOf(w)).map((l) => l.email),
      ['ada@example.com'],
    );
    const held = await quarantined(w);
    assert.deepEqual(held.map((e) => [e.email, e.reasons]).sort(), [
      ['ada@example.com', ['token_reused']],
      ['bot1@example.com', ['token_reused']],
      ['bot2@example.com', ['token_reused']],
    ]);
    // A fresh page is a fresh token.
    const fresh = await person(t, form.slug, { email: 'grace@example.com', firstName: 'Grace' });
    assert.equal(fresh.statusCode, 200);
    assert.equal((await leadsOf(w)).length, 2);
    // A person may still let one through.
    const bot1 = held.find((e) => e.email === 'bot1@example.com')!;
    await w.ok('POST', `/api/v1/forms/quarantine/${bot1.id}/release`);
    assert.equal((await leadsOf(w)).length, 3);
  });
});
