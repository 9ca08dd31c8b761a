import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CONFIRMATION_TTL_MS, MAX_CONFIRMATIONS_PER_HOUR } from '../../src/consent/model.ts';
import { type Json, type Tenant, tenant } from '../support/api.ts';
import { describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

const NEWSLETTER = {
  purpose: 'newsletter',
  status: 'granted',
  text: 'Send me the monthly newsletter',
  version: '2026-01',
};

const consents = (w: Tenant, leadId: string) => w.ok('GET', `/api/v1/leads/${leadId}/consents`);
const timelineTypes = async (w: Tenant, leadId: string) =>
  ((await w.ok('GET', `/api/v1/leads/${leadId}/timeline`)).data as Json[]).map((e) => e.type);

/** Runs the queued jobs and returns the dev mailbox's messages to `to`, oldest first, in full. */
async function mailTo(t: TestApp, w: Tenant, to: string): Promise<Json[]> {
  await t.services.jobs.runDue();
  const list = (await w.ok('GET', '/api/v1/mailbox')).data as Json[];
  const mine = list.filter((m) => m.to.includes(to)).reverse();
  return Promise.all(mine.map((m) => w.ok('GET', `/api/v1/mailbox/${m.id}`)));
}

/** The confirm path (`/c/{token}`) in a confirmation email. */
function confirmPath(message: Json): string {
  const match = /https?:\/\/[^/\s]+(\/c\/[A-Za-z0-9_-]{75})/.exec(message.text);
  assert.ok(match, message.text);
  return match[1]!;
}

function open(t: TestApp, path: string, method: 'GET' | 'HEAD' = 'GET', accept = 'text/html,*/*') {
  return t.app.inject({
    method,
    url: path,
    remoteAddress: '192.0.2.44',
    headers: { accept, 'user-agent': 'MailClient/1' },
  });
}

let forms = 0;

describeEachEngine('consent', (engine) => {
  const get = useApp(engine);

  it('records grants and withdrawals through the API, keeping the whole history and the timeline', async () => {
    const t = get();
    const w = await tenant(t, 'consent');
    const lead = await w.ok('POST', '/api/v1/leads', { email: 'ada@example.com' });
    const url = `/api/v1/leads/${lead.id}/consents`;
    const granted = await w.call('POST', url, {
      ...NEWSLETTER,
      privacyUrl: 'https://acme.example/privacy',
      evidence: {
        source: 'import',
        pageUrl: 'https://acme.example/signup',
        ip: '198.51.100.9',
        userAgent: 'Old CRM',
      },
      recordedAt: '2025-11-02T10:00:00Z',
    });
    assert.equal(granted.statusCode, 201, granted.body);
    const record = granted.json().consent;
    assert.deepEqual(
      { ...record, id: undefined, createdAt: undefined },
      {
        id: undefined,
        leadId: lead.id,
        purpose: 'newsletter',
        status: 'granted',
        version: '2026-01',
        text: 'Send me the monthly newsletter',
        privacyUrl: 'https://acme.example/privacy',
        evidence: {
          source: 'import',
          formId: null,
          pageUrl: 'https://acme.example/signup',
          ip: '198.51.100.9',
          userAgent: 'Old CRM',
          confirmationId: null,
        },
        recordedAt: '2025-11-02T10:00:00.000Z',
        createdAt: undefined,
      },
    );
    assert.equal(granted.json().changed, true);
    assert.equal(granted.json().confirmation, null);

    // Ticking the same box again changes nothing.
    const same = await w.call('POST', url, NEWSLETTER);
    assert.equal(same.statusCode, 200, same.body);
    assert.equal(same.json().changed, false);
    assert.equal(same.json().consent.id, record.id);

    t.clock.now += 1000;
    const withdrawn = await w.call('POST', url, { purpose: 'newsletter', status: 'withdrawn' });
    assert.equal(withdrawn.statusCode, 201, withdrawn.body);
    assert.equal(withdrawn.json().consent.status, 'withdrawn');
    assert.equal(withdrawn.json().consent.version, '2026-01', 'a withdrawal names the wording it withdraws');
    assert.equal(withdrawn.json().consent.evidence.source, 'api');
    await w.ok('POST', url, { purpose: 'marketing', status: 'withdrawn' });

    const state = await consents(w, lead.id);
    assert.deepEqual(
      state.data.map((c: Json) => [c.purpose, c.status]),
      [
        ['marketing', 'withdrawn'],
        ['newsletter', 'withdrawn'],
      ],
    );
    assert.deepEqual(
      state.history.map((c: Json) => [c.purpose, c.status]),
      [
        ['marketing', 'withdrawn'],
        ['newsletter', 'withdrawn'],
        ['newsletter', 'granted'],
      ],
    );
    const types = await timelineTypes(w, lead.id);
    assert.equal(types.filter((x) => x === 'consent_withdrawn').length, 2);
    assert.equal(types.filter((x) => x === 'consent_granted').length, 1);
  });

  it('refuses what it cannot record, naming the field', async () => {
    const t = get();
    const w = await tenant(t, 'consent');
    const lead = await w.ok('POST', '/api/v1/leads', { email: 'bob@example.com' });
    const phoneOnly = await w.ok('POST', '/api/v1/leads', { phone: '+442079460958' });
    const url = `/api/v1/leads/${lead.id}/consents`;
    const paths = async (status: number, body: Json, target = url) =>
      ((await w.problem(status, 'POST', target, body)).errors as Json[]).map((e) => e.path).sort();
    assert.deepEqual(await paths(422, { purpose: 'newsletter', status: 'granted' }), ['/text', '/version']);
    assert.deepEqual(await paths(400, { ...NEWSLETTER, purpose: 'News Letter' }), ['/purpose']);
    assert.deepEqual(await paths(400, { ...NEWSLETTER, status: 'pending' }), ['/status']);
    assert.deepEqual(await paths(400, { ...NEWSLETTER, privacyUrl: 'javascript:alert(1)' }), ['/privacyUrl']);
    assert.deepEqual(await paths(422, { purpose: 'newsletter', status: 'withdrawn', doubleOptIn: true }), [
      '/doubleOptIn',
    ]);
    assert.deepEqual(await paths(422, { ...NEWSLETTER, recordedAt: t.clock.now + 3_600_000 }), [
      '/recordedAt',
    ]);
    assert.deepEqual(await paths(422, { ...NEWSLETTER, recordedAt: 'last tuesday' }), ['/recordedAt']);
    assert.deepEqual(await paths(422, { ...NEWSLETTER, evidence: { source: 'double_opt_in' } }), [
      '/evidence/source',
    ]);
    // Evidence that could pass for a Leadline form's, or that is not what it says it is.
    assert.deepEqual(await paths(422, { ...NEWSLETTER, evidence: { source: 'form', ip: 'not-an-ip' } }), [
      '/evidence/ip',
      '/evidence/source',
    ]);
    assert.deepEqual(await paths(400, { ...NEWSLETTER, evidence: { pageUrl: 'javascript:alert(1)' } }), [
      '/evidence/pageUrl',
    ]);
    assert.equal(
      (
        await w.call('POST', `/api/v1/leads/${phoneOnly.id}/consents`, {
          ...NEWSLETTER,
          evidence: { source: 'import', ip: '2001:db8::1' },
        })
      ).statusCode,
      201,
    );
    assert.deepEqual(
      await paths(422, { ...NEWSLETTER, doubleOptIn: true }, `/api/v1/leads/${phoneOnly.id}/consents`),
      ['/doubleOptIn'],
    );
    assert.equal((await w.problem(404, 'GET', '/api/v1/leads/nope/consents')).code, 'LEAD_NOT_FOUND');
    assert.equal(
      (await w.problem(404, 'POST', '/api/v1/leads/nope/consents', NEWSLETTER)).code,
      'LEAD_NOT_FOUND',
    );
    assert.deepEqual((await consents(w, lead.id)).history, []);
  });

  it('replays a retried POST with the same Idempotency-Key', async () => {
    const t = get();
    const w = await tenant(t, 'consent');
    const lead = await w.ok('POST', '/api/v1/leads', { email: 'cy@example.com' });
    const url = `/api/v1/leads/${lead.id}/consents`;
    const first = await w.call('POST', url, NEWSLETTER, { 'idempotency-key': 'consent-1' });
    await w.ok('POST', url, { purpose: 'newsletter', status: 'withdrawn' });
    const retry = await w.call('POST', url, NEWSLETTER, { 'idempotency-key': 'consent-1' });
    assert.equal(retry.statusCode, 201);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.deepEqual(retry.json(), first.json());
    assert.equal((await consents(w, lead.id)).data[0].status, 'withdrawn', 'the retry wrote nothing');
  });

  it('double opt-in: pending until the emailed link is opened; a HEAD probe confirms nothing; one confirmation', async () => {
    const t = get();
    const w = await tenant(t, 'consent');
    const lead = await w.ok('POST', '/api/v1/leads', { email: 'dee@example.com', firstName: 'Dee' });
    const url = `/api/v1/leads/${lead.id}/consents`;
    const asked = await w.call('POST', url, { ...NEWSLETTER, doubleOptIn: true });
    assert.equal(asked.statusCode, 201, asked.body);
    assert.equal(asked.json().consent.status, 'pending');
    assert.equal(asked.json().confirmation.emailed, true);
    const confirmationId = asked.json().confirmation.id;

    const [email, ...more] = await mailTo(t, w, 'dee@example.com');
    assert.equal(more.length, 0);
    assert.ok(email);
    assert.match(email.subject, /^Please confirm your email address for consent-/);
    assert.match(email.text, /^Hello Dee,/);
    assert.match(email.text, /- Send me the monthly newsletter/);
    const path = confirmPath(email);
    assert.match(
      email.text,
      new RegExp(`http://localhost:3000${path}`),
      'links start at LEADLINE_PUBLIC_URL',
    );

    const probe = await open(t, path, 'HEAD');
    assert.notEqual(probe.statusCode, 200);
    assert.equal((await consents(w, lead.id)).data[0].status, 'pending');

    t.clock.now += 60_000;
    const page = await open(t, path);
    assert.equal(page.statusCode, 200, page.body);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.match(page.body, /you are confirmed/);
    assert.match(page.body, /Send me the monthly newsletter/);

    const state = await consents(w, lead.id);
    const [now] = state.data;
    assert.equal(now.status, 'granted');
    assert.equal(now.version, '2026-01');
    assert.deepEqual(now.evidence, {
      source: 'double_opt_in',
      formId: null,
      pageUrl: null,
      ip: '192.0.2.44',
      userAgent: 'MailClient/1',
      confirmationId,
    });
    assert.equal(now.recordedAt, new Date(t.clock.now).toISOString());
    assert.deepEqual(
      state.history.map((c: Json) => c.status),
      ['granted', 'pending'],
    );
    const types = await timelineTypes(w, lead.id);
    assert.ok(types.includes('consent_requested') && types.includes('consent_granted'), types.join());

    const again = await open(t, path);
    assert.equal(again.statusCode, 200);
    assert.match(again.body, /Already confirmed/);
    const json = await open(t, path, 'GET', 'application/json');
    assert.deepEqual(json.json(), { status: 'already_confirmed' });
    assert.equal((await consents(w, lead.id)).history.length, 2, 'a second click records nothing');
  });

  it('refuses links it did not make (404) and expired ones (410), as a page or as problem+json', async () => {
    const t = get();
    const w = await tenant(t, 'consent');
    const lead = await w.ok('POST', '/api/v1/leads', { email: 'eve@example.com' });
    await w.ok('POST', `/api/v1/leads/${lead.id}/consents`, { ...NEWSLETTER, doubleOptIn: true });
    const [email] = await mailTo(t, w, 'eve@example.com');
    const path = confirmPath(email!);
    const tampered = `${path.slice(0, -4)}${path.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    for (const bad of [tampered, '/c/not-a-token', `/c/${'A'.repeat(75)}`]) {
      const page = await open(t, bad);
      assert.equal(page.statusCode, 404, bad);
      assert.match(page.body, /not valid/);
    }
    const problem = await open(t, '/c/not-a-token', 'GET', 'application/json');
    assert.equal(problem.statusCode, 404);
    assert.match(String(problem.headers['content-type']), /^application\/problem\+json/);
    assert.equal(problem.json().code, 'CONSENT_TOKEN_INVALID');

    t.clock.now += CONFIRMATION_TTL_MS + 1;
    const expired = await open(t, path);
    assert.equal(expired.statusCode, 410);
    assert.match(expired.body, /expired/);
    const expiredJson = await open(t, path, 'GET', 'application/json');
    assert.equal(expiredJson.statusCode, 410);
    assert.equal(expiredJson.json().code, 'CONSENT_TOKEN_INVALID');
    assert.equal((await consents(w, lead.id)).data[0].status, 'pending');
  });

  it('a link opened after the person withdrew confirms nothing', async () => {
    const t = get();
    const w = await tenant(t, 'consent');
    const lead = await w.ok('POST', '/api/v1/leads', { email: 'fay@example.com' });
    const url = `/api/v1/leads/${lead.id}/consents`;
    await w.ok('POST', url, { ...NEWSLETTER, doubleOptIn: true });
    t.clock.now += 1000;
    await w.ok('POST', url, { purpose: 'newsletter', status: 'withdrawn' });
    const [email] = await mailTo(t, w, 'fay@example.com');
    const page = await open(t, confirmPath(email!));
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Nothing left to confirm/);
    assert.equal((await consents(w, lead.id)).data[0].status, 'withdrawn');
  });

  it(`sends at most ${MAX_CONFIRMATIONS_PER_HOUR} confirmation emails to one lead per hour`, async () => {
    const t = get();
    const w = await tenant(t, 'consent');
    const lead = await w.ok('POST', '/api/v1/leads', { email: 'gus@example.com' });
    const url = `/api/v1/leads/${lead.id}/consents`;
    const emailed: boolean[] = [];
    for (const purpose of ['a1', 'a2', 'a3', 'a4']) {
      t.clock.now += 60_000;
      const answer = await w.ok('POST', url, { ...NEWSLETTER, purpose, doubleOptIn: true });
      emailed.push(answer.confirmation.emailed);
    }
    assert.deepEqual(emailed, [true, true, true, false]);
    assert.equal((await mailTo(t, w, 'gus@example.com')).length, 3);
    assert.equal((await consents(w, lead.id)).data.find((c: Json) => c.purpose === 'a4').status, 'pending');
    t.clock.now += 3_600_000;
    const later = await w.ok('POST', url, { ...NEWSLETTER, purpose: 'a4', doubleOptIn: true });
    assert.equal(later.confirmation.emailed, true, 'an hour later it is sent again');
  });

  it("follows merges: the survivor shows the merged leads' consents and decides against them", async () => {
    const t = get();
    const w = await tenant(t, 'consent');
    const older = await w.ok('POST', '/api/v1/leads', { email: 'jo@example.com' });
    const survivor = await w.ok('POST', '/api/v1/leads', { email: 'jo@work.example' });
    await w.ok('POST', `/api/v1/leads/${older.id}/consents`, NEWSLETTER);
    // A lead merged into the older one first: a chain two merges deep.
    const oldest = await w.ok('POST', '/api/v1/leads', { email: 'jo@old.example' });
    await w.ok('POST', `/api/v1/leads/${oldest.id}/consents`, { ...NEWSLETTER, purpose: 'partners' });
    await w.ok('POST', `/api/v1/leads/${older.id}/merge`, { otherId: oldest.id });
    await w.ok('POST', `/api/v1/leads/${survivor.id}/merge`, { otherId: older.id });

    const state = await consents(w, survivor.id);
    assert.deepEqual(
      state.data.map((c: Json) => [c.purpose, c.status, c.leadId]),
      [
        ['newsletter', 'granted', older.id],
        ['partners', 'granted', oldest.id],
      ],
      'each record keeps the lead it was made for',
    );
    assert.deepEqual(await consents(w, older.id), state, 'a merged-away lead shows its survivor');
    // Granted already (through the merged lead): the same grant records nothing new.
    const same = await w.call('POST', `/api/v1/leads/${survivor.id}/consents`, NEWSLETTER);
    assert.equal(same.statusCode, 200, same.body);
    assert.equal(same.json().changed, false);
    // A withdrawal on the survivor supersedes the merged lead's grant.
    await w.ok('POST', `/api/v1/leads/${survivor.id}/consents`, {
      purpose: 'newsletter',
      status: 'withdrawn',
    });
    assert.deepEqual(
      (await consents(w, survivor.id)).data.map((c: Json) => [c.purpose, c.status]),
      [
        ['newsletter', 'withdrawn'],
        ['partners', 'granted'],
      ],
    );
  });

  it('refuses a decision on a merged-away lead with 409, naming the survivor', async () => {
    const t = get();
    const w = await tenant(t, 'consent');
    const gone = await w.ok('POST', '/api/v1/leads', { email: 'gone@example.com' });
    const survivor = await w.ok('POST', '/api/v1/leads', { email: 'kept@example.com' });
    await w.ok('POST', `/api/v1/leads/${survivor.id}/merge`, { otherId: gone.id });
    const refused = await w.problem(409, 'POST', `/api/v1/leads/${gone.id}/consents`, NEWSLETTER);
    assert.equal(refused.code, 'CONFLICT');
    assert.match(refused.detail, new RegExp(`merged into lead ${survivor.id}`));
  });

  it('a grant dated before the current withdrawal is history: it changes nothing now, and says so', async () => {
    const t = get();
    const w = await tenant(t, 'consent');
    const lead = await w.ok('POST', '/api/v1/leads', { email: 'backdated@example.com' });
    const url = `/api/v1/leads/${lead.id}/consents`;
    await w.ok('POST', url, { purpose: 'newsletter', status: 'withdrawn' });
    const backdated = await w.call('POST', url, { ...NEWSLETTER, recordedAt: '2025-06-01T00:00:00Z' });
    assert.equal(backdated.statusCode, 200, backdated.body);
    assert.equal(backdated.json().changed, false);
    assert.equal(backdated.json().consent.status, 'withdrawn');
    const state = await consents(w, lead.id);
    assert.deepEqual(
      state.data.map((c: Json) => [c.purpose, c.status]),
      [['newsletter', 'withdrawn']],
    );
    assert.equal(state.history.length, 2, 'the grant is kept as evidence');
  });

  it('shows every purpose in force, however many records came after it', async () => {
    const t = get();
    const w = await tenant(t, 'consent');
    const lead = await w.ok('POST', '/api/v1/leads', { email: 'churn@example.com' });
    const url = `/api/v1/leads/${lead.id}/consents`;
    await w.ok('POST', url, { ...NEWSLETTER, purpose: 'partners' });
    const workspace = await t.services.workspaces.getWorkspace(w.id);
    // 501 decisions on another purpose, written directly (through the API this takes a while).
    for (let i = 0; i < 501; i++) {
      t.clock.now += 1000;
      await t.services.database.writes.run((trx) =>
        t.services.consent.decideIn(trx, workspace, lead.id, {
          purpose: 'newsletter',
          status: i % 2 === 0 ? 'granted' : 'withdrawn',
          text: NEWSLETTER.text,
          version: NEWSLETTER.version,
        }),
      );
    }
    const state = await consents(w, lead.id);
    assert.deepEqual(state.data.map((c: Json) => [c.purpose, c.status]).sort(), [
      ['newsletter', 'granted'],
      ['partners', 'granted'],
    ]);
  });

  it('a confirmation link opened after its lead was merged grants on the survivor', async () => {
    const t = get();
    const w = await tenant(t, 'consent');
    const asked = await w.ok('POST', '/api/v1/leads', { email: 'kim@example.com', firstName: 'Kim' });
    const survivor = await w.ok('POST', '/api/v1/leads', { email: 'kim@work.example' });
    await w.ok('POST', `/api/v1/leads/${asked.id}/consents`, { ...NEWSLETTER, doubleOptIn: true });
    const [email] = await mailTo(t, w, 'kim@example.com');
    await w.ok('POST', `/api/v1/leads/${survivor.id}/merge`, { otherId: asked.id });
    assert.deepEqual(
      (await consents(w, survivor.id)).data.map((c: Json) => [c.purpose, c.status]),
      [['newsletter', 'pending']],
    );

    t.clock.now += 60_000;
    const page = await open(t, confirmPath(email!));
    assert.equal(page.statusCode, 200, page.body);
    assert.match(page.body, /you are confirmed/);
    const [now] = (await consents(w, survivor.id)).data;
    assert.equal(now.status, 'granted');
    assert.equal(now.leadId, survivor.id, 'recorded on the lead that exists now');
    assert.equal(now.evidence.source, 'double_opt_in');
    const types = await timelineTypes(w, survivor.id);
    assert.ok(types.includes('consent_granted'), types.join());
  });

  it('records the boxes ticked on a form, with the form as evidence; with double opt-in they wait for the link', async () => {
    const t = get();
    const w = await tenant(t, 'consent');
    const consentsOf = [
      {
        purpose: 'newsletter',
        text: 'Send me the newsletter',
        version: 'v3',
        privacyUrl: 'https://acme.example/privacy',
      },
      { purpose: 'partners', text: 'Share my details with partners', version: 'v1' },
    ];
    const fields = [{ name: 'email', type: 'email', maps: 'email', required: true }];
    const slug = (n: string) => `consent-${process.pid}-${++forms}-${n}`;
    const plain = await w.ok('POST', '/api/v1/forms', {
      name: 'Plain',
      slug: slug('plain'),
      fields,
      consents: consentsOf,
    });
    const doi = await w.ok('POST', '/api/v1/forms', {
      name: 'Double',
      slug: slug('doi'),
      fields,
      consents: consentsOf,
      doubleOptIn: true,
    });
    const submit = async (form: Json, values: Json) => {
      const token = (await t.app.inject({ method: 'GET', url: `/f/${form.slug}/definition` })).json().token;
      t.clock.now += 10_000;
      const response = await t.app.inject({
        method: 'POST',
        url: `/f/${form.slug}`,
        remoteAddress: '203.0.113.50',
        headers: { 'content-type': 'application/json', 'user-agent': 'Browser/1' },
        payload: { ...values, _ll_ts: token, _ll_page: 'https://www.acme.example/signup' },
      });
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    };

    await submit(plain, { email: 'hal@example.com', _ll_consent_newsletter: 'on' });
    const hal = (await w.ok('GET', '/api/v1/leads?q=hal@example.com')).data[0];
    const halState = await consents(w, hal.id);
    assert.deepEqual(
      halState.data.map((c: Json) => [c.purpose, c.status, c.version]),
      [['newsletter', 'granted', 'v3']],
      'an unticked box records nothing',
    );
    assert.deepEqual(halState.data[0].evidence, {
      source: 'form',
      formId: plain.id,
      pageUrl: 'https://www.acme.example/signup',
      ip: '203.0.113.50',
      userAgent: 'Browser/1',
      confirmationId: null,
    });
    assert.equal((await mailTo(t, w, 'hal@example.com')).length, 0);

    await submit(doi, {
      email: 'ivy@example.com',
      _ll_consent_newsletter: 'on',
      _ll_consent_partners: 'true',
    });
    const ivy = (await w.ok('GET', '/api/v1/leads?q=ivy@example.com')).data[0];
    assert.deepEqual(
      (await consents(w, ivy.id)).data.map((c: Json) => [c.purpose, c.status]),
      [
        ['newsletter', 'pending'],
        ['partners', 'pending'],
      ],
    );
    const [email] = await mailTo(t, w, 'ivy@example.com');
    assert.match(email!.text, /- Send me the newsletter\n- Share my details with partners/);
    assert.match(email!.text, /Privacy notice: https:\/\/acme\.example\/privacy/);
    assert.equal((await open(t, confirmPath(email!))).statusCode, 200);
    const confirmed = (await consents(w, ivy.id)).data;
    assert.deepEqual(
      confirmed.map((c: Json) => [
        c.purpose,
        c.status,
        c.evidence.source,
        c.evidence.formId,
        c.evidence.pageUrl,
      ]),
      [
        ['newsletter', 'granted', 'double_opt_in', doi.id, 'https://www.acme.example/signup'],
        ['partners', 'granted', 'double_opt_in', doi.id, 'https://www.acme.example/signup'],
      ],
    );
  });
});
