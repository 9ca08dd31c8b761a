import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { sql } from 'kysely';
import { toJson } from '../../src/db/json.ts';
import { type Json, type Tenant, tenant } from '../support/api.ts';
import { describeEachEngine, type TestApp, useApp } from '../support/engines.ts';
import {
  facebookDeliveryV25,
  facebookDeliveryV26,
  graphLeadV25,
  graphLeadV26,
  linkedInForm,
  linkedInFormResponse,
  linkedInNotification,
} from '../support/inbound-examples.ts';

const hmac = (secret: string, data: string | Buffer, encoding: 'hex' | 'base64' = 'hex') =>
  createHmac('sha256', secret).update(data).digest(encoding);

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** A stand-in for the Graph and LinkedIn APIs on 127.0.0.1: answers by path, records every request. */
async function startPlatform() {
  const routes = new Map<string, () => { status: number; body: string; headers: Record<string, string> }>();
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const path = (req.url ?? '').split('?')[0]!;
    const answer = routes.get(path)?.() ?? { status: 404, body: '{"message":"Not found"}', headers: {} };
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    answer: (path: string, status: number, body: unknown, headers: Record<string, string> = {}) =>
      routes.set(path, () => ({
        status,
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headers,
      })),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
type Platform = Awaited<ReturnType<typeof startPlatform>>;

/** A call to the public address, with no API key. */
function deliver(t: TestApp, id: string, body: string, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: `/in/${id}`,
    payload: body,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

async function allowPrivateTargets(w: Tenant): Promise<void> {
  await w.ok('PATCH', '/api/v1/workspace', { settings: { allowPrivateWebhookTargets: true } });
}

async function inboundLeads(w: Tenant, sourceId: string, query = ''): Promise<Json[]> {
  return (await w.ok('GET', `/api/v1/inbound-sources/${sourceId}/leads${query}`)).data;
}

async function formSubmissions(w: Tenant, leadId: string): Promise<Json[]> {
  const timeline = (await w.ok('GET', `/api/v1/leads/${leadId}/timeline?limit=500`)).data as Json[];
  return timeline.filter((e) => e.type === 'form_submitted');
}

describeEachEngine('inbound lead-form webhooks', (engine) => {
  const get = useApp(engine);
  let platform: Platform;
  before(async () => {
    platform = await startPlatform();
  });
  after(async () => platform.close());

  it('a Facebook source shows its secrets once and answers the subscription handshake to its verify token only', async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    const created = await w.call('POST', '/api/v1/inbound-sources', {
      kind: 'facebook',
      name: 'Spring campaign',
      secrets: { appSecret: 'fb-app-secret-1' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const { source, secrets } = created.json();
    assert.equal(secrets.appSecret, 'fb-app-secret-1');
    assert.ok(secrets.verifyToken.length >= 40, 'a verify token is generated');
    assert.equal(source.url, `http://localhost:3000/in/${source.id}`);
    assert.deepEqual(source.secretsSet, ['appSecret', 'verifyToken']);
    assert.equal(source.source, 'facebook_lead_ads');
    assert.deepEqual(source.counts, { pending: 0, captured: 0, failed: 0 });
    for (const url of [`/api/v1/inbound-sources/${source.id}`, '/api/v1/inbound-sources']) {
      const read = await w.call('GET', url);
      assert.equal(read.statusCode, 200);
      assert.ok(!read.body.includes('fb-app-secret-1') && !read.body.includes(secrets.verifyToken), url);
    }

    const handshake = (token: string, challenge = '1158201444') =>
      t.app.inject({
        method: 'GET',
        url: `/in/${source.id}?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=${challenge}`,
      });
    const ok = await handshake(secrets.verifyToken);
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.body, '1158201444');
    assert.match(String(ok.headers['content-type']), /^text\/plain/);
    const wrong = await handshake('not-the-token');
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().code, 'INBOUND_SIGNATURE_INVALID');
    assert.match(String(wrong.headers['content-type']), /^application\/problem\+json/);
    const malformed = await t.app.inject({ method: 'GET', url: `/in/${source.id}?hub.mode=subscribe` });
    assert.equal(malformed.statusCode, 422);
    assert.deepEqual(
      malformed.json().errors.map((e: Json) => e.path),
      ['/query/hub.verify_token', '/query/hub.challenge'],
    );
    const unknown = await t.app.inject({ method: 'GET', url: '/in/0190f1d4-0000-7000-8000-000000000000' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'INBOUND_SOURCE_NOT_FOUND');
  });

  it("Facebook deliveries: the signature is checked on the raw body, answers come from the Graph API, Meta's retry is a duplicate", async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    await allowPrivateTargets(w);
    const { source } = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'facebook',
      name: 'Spring campaign',
      settings: { graphBaseUrl: `${platform.url}/v21.0` },
      secrets: { appSecret: 'fb-app-secret-2', pageAccessToken: 'page-token-2' },
    });
    platform.answer('/v21.0/55459717045641545', 200, graphLeadV25);

    const forged = await deliver(t, source.id, facebookDeliveryV25, {
      'x-hub-signature-256': `sha256=${hmac('someone-else', facebookDeliveryV25)}`,
    });
    assert.equal(forged.statusCode, 401, forged.body);
    assert.equal(forged.json().errors[0].path, '/headers/x-hub-signature-256');
    assert.deepEqual(await inboundLeads(w, source.id), [], 'a forged delivery writes nothing');

    const signature = `sha256=${hmac('fb-app-secret-2', facebookDeliveryV25)}`;
    const first = await deliver(t, source.id, facebookDeliveryV25, { 'x-hub-signature-256': signature });
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(first.json(), {
      received: 1,
      captured: 0,
      pending: 1,
      duplicates: 0,
      failed: 0,
      ignored: 0,
      rejected: [],
    });
    const pending = (await inboundLeads(w, source.id))[0]!;
    assert.equal(pending.status, 'pending');
    assert.equal(pending.externalId, '55459717045641545', 'the id is kept digit for digit');
    assert.equal(pending.eventId, 'fb:55459717045641545');

    await t.services.jobs.runDue();
    const graphCall = platform.seen.find((s) => s.url.startsWith('/v21.0/55459717045641545'));
    assert.ok(graphCall, 'the Graph API was asked');
    const query = new URL(graphCall.url, platform.url).searchParams;
    assert.equal(query.get('access_token'), 'page-token-2');
    assert.equal(query.get('appsecret_proof'), hmac('fb-app-secret-2', 'page-token-2'));

    const captured = (await inboundLeads(w, source.id))[0]!;
    assert.equal(captured.status, 'captured');
    assert.equal(captured.payload, null, 'answers are not kept in the log once captured');
    const lead = await w.ok('GET', `/api/v1/leads/${captured.leadId}`);
    assert.equal(lead.email, 'james.oak@example.org');
    assert.equal(lead.firstName, 'James');
    assert.equal(lead.lastName, 'Oak');
    assert.equal(lead.source, 'facebook_lead_ads');
    assert.equal(lead.firstTouch.channel, 'paid_social');
    const activity = (await formSubmissions(w, lead.id))[0]!;
    assert.equal(activity.id, 'fb:55459717045641545');
    assert.equal(activity.occurredAt, '2015-11-12T15:27:06.000Z');
    assert.deepEqual(
      {
        platform: activity.properties.platform,
        form: activity.properties.form,
        externalLeadId: activity.properties.externalLeadId,
        platformFormId: activity.properties.platformFormId,
        pageId: activity.properties.pageId,
        answers: activity.properties.answers,
      },
      {
        platform: 'facebook',
        form: 'Spring campaign',
        externalLeadId: '55459717045641545',
        platformFormId: '551111744595541',
        pageId: '516540199134611',
        answers: { date_of_birth: 'April 19, 1987', gender: 'male' },
      },
    );

    const again = await deliver(t, source.id, facebookDeliveryV25, { 'x-hub-signature-256': signature });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().duplicates, 1);
    await t.services.jobs.runDue();
    assert.equal((await formSubmissions(w, lead.id)).length, 1, 'one activity, however often Meta delivers');
    const after = await w.ok('GET', `/api/v1/inbound-sources/${source.id}`);
    assert.deepEqual(after.counts, { pending: 0, captured: 1, failed: 0 });
    assert.ok(after.lastReceivedAt);
  });

  it('a Facebook delivery that carries field_data is captured in the request; a bad answer is dropped, not the lead', async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    const { source } = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'facebook',
      name: 'Webinar',
      fieldMapping: { 'what_is_your_budget?': 'properties.budget' },
      secrets: { appSecret: 'fb-app-secret-3' },
    });
    const body = JSON.stringify({
      object: 'page',
      entry: [
        {
          id: '444444444444',
          time: 1767225600,
          changes: [
            {
              field: 'leadgen',
              value: {
                ad_id: '444444444',
                form_id: '444444444444',
                leadgen_id: '444444444444',
                created_time: 1767225500,
                page_id: '444444444444',
                adgroup_id: '44444444444',
                field_data: [
                  { name: 'email', values: ['ada@example.com'] },
                  { name: 'phone_number', values: ['call me maybe'] },
                  { name: 'full_name', values: ['Ada Lovelace'] },
                  { name: 'what_is_your_budget?', values: ['10k'] },
                  { name: 'topics', values: ['AI', 'Analytics'] },
                ],
              },
            },
          ],
        },
      ],
    });
    const response = await deliver(t, source.id, body, {
      'x-hub-signature-256': `sha256=${hmac('fb-app-secret-3', body)}`,
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().captured, 1);
    const entry = (await inboundLeads(w, source.id))[0]!;
    assert.equal(entry.status, 'captured');
    assert.deepEqual(
      entry.warnings.map((e: Json) => e.path),
      ['/phone'],
    );
    const lead = await w.ok('GET', `/api/v1/leads/${entry.leadId}`);
    assert.equal(lead.email, 'ada@example.com');
    assert.equal(lead.phone, null);
    assert.equal(lead.firstName, 'Ada');
    assert.equal(lead.lastName, 'Lovelace');
    assert.deepEqual(lead.properties, { budget: '10k' });
    assert.equal(lead.firstTouch.utm.content, '444444444');
    const activity = (await formSubmissions(w, lead.id))[0]!;
    assert.deepEqual(activity.properties.droppedFields, ['/phone']);
    assert.deepEqual(activity.properties.answers, { topics: 'AI, Analytics' });
    assert.equal(activity.occurredAt, new Date(1767225500_000).toISOString());
  });

  it('a lead whose answers cannot be fetched fails visibly, and a retry captures it once the token is set', async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    await allowPrivateTargets(w);
    const { source } = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'facebook',
      name: 'No token yet',
      settings: { graphBaseUrl: `${platform.url}/v22.0` },
      secrets: { appSecret: 'fb-app-secret-4' },
    });
    const signature = `sha256=${hmac('fb-app-secret-4', facebookDeliveryV26)}`;
    assert.equal(
      (await deliver(t, source.id, facebookDeliveryV26, { 'x-hub-signature-256': signature })).statusCode,
      200,
    );
    await t.services.jobs.runDue();
    const failed = (await inboundLeads(w, source.id, '?status=failed'))[0]!;
    assert.ok(failed, 'failed at once: retrying cannot help without a token');
    assert.match(failed.errors[0].message, /pageAccessToken/);
    assert.equal(failed.fetchAttempts, 1);
    const captured = await w.call('POST', `/api/v1/inbound-sources/${source.id}/leads/${failed.id}/retry`);
    assert.equal(captured.statusCode, 200);
    assert.equal(captured.json().status, 'pending');
    await t.services.jobs.runDue();
    assert.equal((await inboundLeads(w, source.id))[0]!.status, 'failed', 'still no token');

    await w.ok('PATCH', `/api/v1/inbound-sources/${source.id}`, {
      secrets: { pageAccessToken: 'page-token-4' },
    });
    platform.answer('/v22.0/130528934038370', 200, graphLeadV26);
    const retried = await w.ok('POST', `/api/v1/inbound-sources/${source.id}/leads/${failed.id}/retry`);
    assert.equal(retried.status, 'pending');
    await t.services.jobs.runDue();
    const done = (await inboundLeads(w, source.id))[0]!;
    assert.equal(done.status, 'captured');
    const lead = await w.ok('GET', `/api/v1/leads/${done.leadId}`);
    assert.equal(lead.email, 'tom_cook@gmail.com');
    assert.equal(lead.lastName, 'Cook');
    const conflict = await w.call('POST', `/api/v1/inbound-sources/${source.id}/leads/${done.id}/retry`);
    assert.equal(conflict.statusCode, 409, 'only failed leads are retried');
  });

  it("Graph API errors are retried on a schedule, then the lead is failed with the platform's message", async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    await allowPrivateTargets(w);
    const { source } = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'facebook',
      name: 'Expired token',
      settings: { graphBaseUrl: `${platform.url}/v23.0` },
      secrets: { appSecret: 'fb-app-secret-5', pageAccessToken: 'expired-token' },
    });
    platform.answer('/v23.0/55459717045641545', 400, {
      error: {
        message: 'Error validating access token: Session has expired.',
        type: 'OAuthException',
        code: 190,
      },
    });
    const signature = `sha256=${hmac('fb-app-secret-5', facebookDeliveryV25)}`;
    await deliver(t, source.id, facebookDeliveryV25, { 'x-hub-signature-256': signature });
    await t.services.jobs.runDue();
    let entry = (await inboundLeads(w, source.id))[0]!;
    assert.equal(entry.status, 'pending', 'a failed fetch is tried again');
    assert.equal(entry.fetchAttempts, 1);
    assert.match(entry.errors[0].message, /Session has expired.*Graph error 190/);
    for (let i = 0; i < 12 && entry.status === 'pending'; i++) {
      t.clock.now += 9 * 3_600_000;
      await t.services.jobs.runDue();
      entry = (await inboundLeads(w, source.id))[0]!;
    }
    assert.equal(entry.status, 'failed');
    assert.equal(entry.fetchAttempts, 9);
    assert.match(entry.errors[0].message, /HTTP 400: Error validating access token/);
  });

  it('LinkedIn: the validation challenge, signed notifications, the form response and its form fetched with the token', async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    await allowPrivateTargets(w);
    const { source } = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'linkedin',
      name: 'LinkedIn demo form',
      fieldMapping: { JOB_FUNCTION: 'properties.jobFunction' },
      // Checkbox 0 of the form is its marketing consent; 9 is not on this form.
      settings: { apiBaseUrl: platform.url, consentPurposes: { '0': 'marketing', '9': 'newsletter' } },
      secrets: { clientSecret: 'li-client-secret', accessToken: 'li-access-token' },
    });
    assert.deepEqual(source.settings.consentPurposes, { '0': 'marketing', '9': 'newsletter' });
    const challenge = await t.app.inject({
      method: 'GET',
      url: `/in/${source.id}?challengeCode=890e4665-4dfe-4ab1-b689-ed553bceeed0`,
    });
    assert.equal(challenge.statusCode, 200);
    assert.deepEqual(challenge.json(), {
      challengeCode: '890e4665-4dfe-4ab1-b689-ed553bceeed0',
      challengeResponse: hmac('li-client-secret', '890e4665-4dfe-4ab1-b689-ed553bceeed0'),
    });

    // The response without its form projected: the form is then read on its own.
    const { form: _form, ...withoutForm } = { ...linkedInFormResponse, form: undefined };
    platform.answer('/rest/leadFormResponses/249592fc-d272-44ba-a7db-c2bdce579507-6', 200, withoutForm);
    platform.answer('/rest/leadForms/7234246', 200, linkedInForm);

    const unsigned = await deliver(t, source.id, linkedInNotification);
    assert.equal(unsigned.statusCode, 401);
    const signature = hmac('li-client-secret', `hmacsha256=${linkedInNotification}`);
    const received = await deliver(t, source.id, linkedInNotification, { 'x-li-signature': signature });
    assert.equal(received.statusCode, 200, received.body);
    assert.equal(received.json().pending, 1);
    await t.services.jobs.runDue();

    const call = platform.seen.find((s) => s.url.startsWith('/rest/leadFormResponses/'));
    assert.ok(call);
    assert.equal(call.headers.authorization, 'Bearer li-access-token');
    assert.equal(call.headers['linkedin-version'], '202601');
    assert.equal(call.headers['x-restli-protocol-version'], '2.0.0');
    assert.ok(platform.seen.some((s) => s.url === '/rest/leadForms/7234246'));

    const entry = (await inboundLeads(w, source.id))[0]!;
    assert.equal(entry.status, 'captured', JSON.stringify(entry.errors));
    assert.equal(entry.eventId, 'li:249592fc-d272-44ba-a7db-c2bdce579507-6');
    const lead = await w.ok('GET', `/api/v1/leads/${entry.leadId}`);
    assert.deepEqual(
      [lead.email, lead.firstName, lead.lastName, lead.jobTitle, lead.source, lead.properties],
      [
        'kevjohonson@email.com',
        'Kevin',
        'Johonson',
        'Senior Engineer',
        'linkedin_lead_gen',
        { jobFunction: 'Ingeniería' },
      ],
    );
    assert.deepEqual(lead.firstTouch.utm, {
      source: 'linkedin',
      medium: 'paid_social',
      campaign: '198356826',
      content: '241257736',
    });
    const activity = (await formSubmissions(w, lead.id))[0]!;
    assert.equal(activity.occurredAt, new Date(1689894599288).toISOString());
    assert.equal(activity.properties.form, 'Form with written spanish');
    assert.equal(activity.properties.testLead, true);
    assert.deepEqual(activity.properties.answers, {
      WORK_EMAIL: 'kjohonson@email.com',
      'Custom question 0': 'Rojo',
      'Custom question 1': 'Mexico',
      hidden_field: 'abc678',
      campo_escondido: 'def789',
    });
    assert.deepEqual(activity.properties.consents, [
      { id: '0', accepted: true, text: 'marque mi casilla de verificación personalizada!' },
    ]);
    // The checked box is a grant in the consent ledger, with the form's wording and its time.
    const consents = await w.ok('GET', `/api/v1/leads/${lead.id}/consents`);
    assert.deepEqual(
      consents.data.map((c: Json) => [c.purpose, c.status, c.text, c.evidence.source, c.recordedAt]),
      [
        [
          'marketing',
          'granted',
          'marque mi casilla de verificación personalizada!',
          'webhook',
          new Date(1689894599288).toISOString(),
        ],
      ],
    );
    assert.match(consents.data[0].version, /^linkedin:0:[0-9a-f]{12}$/);

    // Purposes are checked where they are set, naming the checkbox.
    const bad = await w.problem(422, 'PATCH', `/api/v1/inbound-sources/${source.id}`, {
      settings: { consentPurposes: { '0': 'Marketing!' } },
    });
    assert.deepEqual(
      bad.errors.map((e: Json) => e.path),
      ['/settings/consentPurposes/0'],
    );

    const deleted = linkedInNotification.replace('"CREATED"', '"DELETED"');
    const ignored = await deliver(t, source.id, deleted, {
      'x-li-signature': hmac('li-client-secret', `hmacsha256=${deleted}`),
    });
    assert.equal(ignored.statusCode, 200);
    assert.deepEqual([ignored.json().received, ignored.json().ignored], [0, 1]);
  });

  it('generic senders: token or HMAC, JSON paths and batches; a lead that cannot be captured is kept for a retry', async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    const created = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'generic',
      name: 'Zapier',
      source: 'zapier',
      fieldMapping: {
        'contact.email': 'email',
        'contact["full name"]': 'fullName',
        'utm.campaign': 'utm.campaign',
      },
      settings: { itemsPath: '$.leads', idPath: 'id', occurredAtPath: 'submitted_at' },
    });
    const { source, secrets } = created;
    const body = JSON.stringify({
      leads: [
        {
          id: 'zap-1',
          submitted_at: '2025-12-31T23:00:00Z',
          contact: { email: 'grace@example.com', 'full name': 'Grace Hopper' },
          company: 'Navy',
          utm: { campaign: 'winter' },
          interest: 'compilers',
        },
        { id: 'zap-2', contact: { mobile: '+44 20 7946 0958' }, company: 'Bletchley' },
      ],
    });
    const anonymous = await deliver(t, source.id, body);
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().errors[0].path, '/headers/authorization');
    const first = await deliver(t, source.id, body, { authorization: `Bearer ${secrets.token}` });
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual([first.json().received, first.json().captured, first.json().failed], [2, 1, 1]);

    const grace = (await inboundLeads(w, source.id, '?status=captured'))[0]!;
    assert.equal(grace.eventId, `gen:${source.id}:zap-1`);
    const lead = await w.ok('GET', `/api/v1/leads/${grace.leadId}`);
    assert.deepEqual(
      [lead.email, lead.firstName, lead.lastName, lead.company, lead.source, lead.firstTouch.utm.campaign],
      ['grace@example.com', 'Grace', 'Hopper', 'Navy', 'zapier', 'winter'],
    );
    const activity = (await formSubmissions(w, lead.id))[0]!;
    assert.equal(activity.occurredAt, '2025-12-31T23:00:00.000Z');
    assert.deepEqual(activity.properties.answers, { interest: 'compilers' });

    const failed = (await inboundLeads(w, source.id, '?status=failed'))[0]!;
    assert.equal(failed.externalId, 'zap-2');
    assert.deepEqual(
      failed.errors.map((e: Json) => e.path),
      ['/email'],
    );
    assert.equal(failed.payload.company, 'Bletchley', 'the answers are kept for a retry');
    // The mapping was missing the phone: fixed, then retried from the stored answers.
    await w.ok('PATCH', `/api/v1/inbound-sources/${source.id}`, {
      fieldMapping: {
        'contact.email': 'email',
        'contact["full name"]': 'fullName',
        'contact.mobile': 'phone',
      },
    });
    const retried = await w.ok('POST', `/api/v1/inbound-sources/${source.id}/leads/${failed.id}/retry`);
    assert.equal(retried.status, 'captured');
    assert.equal((await w.ok('GET', `/api/v1/leads/${retried.leadId}`)).phone, '+442079460958');

    const again = await deliver(t, source.id, body, { 'x-leadline-token': secrets.token });
    assert.equal(again.json().duplicates, 2);

    await w.ok('PATCH', `/api/v1/inbound-sources/${source.id}`, {
      settings: { auth: 'hmac', itemsPath: null },
    });
    const one = JSON.stringify({ email: 'katherine@example.com', first_name: 'Katherine' });
    const bearer = await deliver(t, source.id, one, { authorization: `Bearer ${secrets.token}` });
    assert.equal(bearer.statusCode, 401, 'an HMAC source wants a signature');
    const signed = await deliver(t, source.id, one, {
      'x-leadline-signature': `sha256=${hmac(secrets.token, one)}`,
    });
    assert.equal(signed.statusCode, 200, signed.body);
    assert.equal(signed.json().captured, 1, signed.body);
    const notJson = await deliver(t, source.id, '{"email":', {
      'x-leadline-signature': hmac(secrets.token, '{"email":'),
    });
    assert.equal(notJson.statusCode, 422);
    assert.equal(notJson.json().errors[0].path, '/');
  });

  it('a source linked to a Leadline form names it on the activity, where scoring rules match forms', async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    const form = await w.ok('POST', '/api/v1/forms', {
      name: 'Demo request',
      slug: `demo-request-${w.slug}`,
      fields: [{ name: 'email', type: 'email', required: true, maps: 'email' }],
    });
    const { source, secrets } = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'generic',
      name: 'Partner site',
      formId: form.id,
    });
    const body = JSON.stringify({ email: 'alan@example.com', name: 'Alan Turing' });
    const response = await deliver(t, source.id, body, { authorization: `Bearer ${secrets.token}` });
    assert.equal(response.json().captured, 1, response.body);
    // An item that is not an object is rejected alone: the leads beside it are captured.
    const mixed = JSON.stringify([{ email: 'ada@example.com' }, 5]);
    const partly = await deliver(t, source.id, mixed, { authorization: `Bearer ${secrets.token}` });
    assert.equal(partly.statusCode, 200, partly.body);
    assert.equal(partly.json().captured, 1);
    assert.deepEqual(partly.json().rejected, [{ path: '/1', message: 'must be a JSON object' }]);
    const nothing = await deliver(t, source.id, '[5]', { authorization: `Bearer ${secrets.token}` });
    assert.equal(nothing.statusCode, 422, nothing.body);
    const entry = (await inboundLeads(w, source.id))[0]!;
    const activity = (await formSubmissions(w, entry.leadId))[0]!;
    assert.equal(activity.properties.form, form.slug);
    assert.equal(activity.properties.formId, form.id);
    assert.equal(activity.properties.platform, 'generic');
  });

  it('sources are checked where they point, and a deleted source stops answering', async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    const metadata = await w.problem(422, 'POST', '/api/v1/inbound-sources', {
      kind: 'facebook',
      name: 'SSRF',
      settings: { graphBaseUrl: 'http://169.254.169.254/latest' },
      secrets: { appSecret: 'fb-app-secret-6' },
    });
    assert.equal(metadata.errors[0].path, '/settings/graphBaseUrl');
    const loopback = await w.problem(422, 'POST', '/api/v1/inbound-sources', {
      kind: 'linkedin',
      name: 'Private',
      settings: { apiBaseUrl: platform.url },
      secrets: { clientSecret: 'li-client-secret' },
    });
    assert.match(loopback.errors[0].message, /allowPrivateWebhookTargets/);
    const form = await w.problem(422, 'POST', '/api/v1/inbound-sources', {
      kind: 'generic',
      name: 'Unknown form',
      formId: '0190f1d4-0000-7000-8000-000000000000',
    });
    assert.deepEqual(form.errors, [{ path: '/formId', message: 'is not a form of this workspace' }]);
    const shape = await w.problem(400, 'POST', '/api/v1/inbound-sources', { kind: 'twitter', name: 'x' });
    assert.equal(shape.errors[0].path, '/kind');

    const { source, secrets } = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'generic',
      name: 'Gone soon',
    });
    const kind = await w.problem(422, 'PATCH', `/api/v1/inbound-sources/${source.id}`, {
      secrets: { token: 'short' },
    });
    assert.equal(kind.errors[0].path, '/secrets/token');
    await w.ok('DELETE', `/api/v1/inbound-sources/${source.id}`);
    const gone = await deliver(t, source.id, '{"email":"a@example.com"}', {
      authorization: `Bearer ${secrets.token}`,
    });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().code, 'INBOUND_SOURCE_NOT_FOUND');
    await w.problem(404, 'GET', `/api/v1/inbound-sources/${source.id}`);
  });

  it('LinkedIn: the validation challenge answers UUIDs only, so it cannot be made to sign a forged notification', async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    const { source } = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'linkedin',
      name: 'LinkedIn',
      secrets: { clientSecret: 'li-client-secret-9' },
    });
    // Short enough for any length limit a challenge code might have had.
    const forged = '{"type":"LEAD_ACTION","leadGenFormResponse":"urn:li:leadGenFormResponse:forged-1"}';
    // The challenge's answer is HMAC(client secret, code): for `hmacsha256=` + a body it would be
    // that body's signature, for the body itself its bare HMAC.
    for (const code of [`hmacsha256=${forged}`, forged, 'not-a-uuid']) {
      const challenge = await t.app.inject({
        method: 'GET',
        url: `/in/${source.id}?challengeCode=${encodeURIComponent(code)}`,
      });
      assert.equal(challenge.statusCode, 422, challenge.body);
      assert.deepEqual(challenge.json().errors, [
        { path: '/query/challengeCode', message: 'is required, as the UUID LinkedIn sends' },
      ]);
      assert.ok(!challenge.body.includes(hmac('li-client-secret-9', code)), 'no HMAC of a chosen text');
    }
    const bare = await deliver(t, source.id, forged, {
      'x-li-signature': hmac('li-client-secret-9', forged),
    });
    assert.equal(bare.statusCode, 401, 'the HMAC of the bare body is not a signature');
    assert.deepEqual(await inboundLeads(w, source.id), []);
    const uuid = await t.app.inject({
      method: 'GET',
      url: `/in/${source.id}?challengeCode=890E4665-4DFE-4AB1-B689-ED553BCEEED0`,
    });
    assert.equal(uuid.statusCode, 200);
  });

  it("a platform's bad payload never gives a 5xx: a lead dated 1960, a 17 KB form id, an emoji at a cut, field_data: []", async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    const generic = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'generic',
      name: 'Old CRM',
      settings: { idPath: 'id', occurredAtPath: 'submitted_at' },
    });
    const batch = JSON.stringify([
      { id: 'old-1', submitted_at: '1960-05-01T00:00:00Z', email: 'old@example.com' },
      { id: 'new-1', email: 'new@example.com', note: `${'x'.repeat(499)}😀 and more` },
    ]);
    const answer = await deliver(t, generic.source.id, batch, {
      authorization: `Bearer ${generic.secrets.token}`,
    });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.deepEqual([answer.json().received, answer.json().captured, answer.json().failed], [2, 2, 0]);
    const log = await inboundLeads(w, generic.source.id);
    const old = log.find((e) => e.externalId === 'old-1')!;
    const oldActivity = (await formSubmissions(w, old.leadId))[0]!;
    assert.equal(
      oldActivity.occurredAt,
      new Date(t.clock.now).toISOString(),
      'a time before 1970 is not taken',
    );
    const fresh = log.find((e) => e.externalId === 'new-1')!;
    const note = (await formSubmissions(w, fresh.leadId))[0]!.properties.answers.note;
    assert.equal(note, 'x'.repeat(499), 'cut before the emoji, not through it');

    const facebook = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'facebook',
      name: 'Huge ids',
      secrets: { appSecret: 'fb-app-secret-8' },
    });
    const change = (leadgenId: string, value: Record<string, unknown>) => ({
      field: 'leadgen',
      value: { leadgen_id: leadgenId, page_id: '444', created_time: 1767225500, ...value },
    });
    const body = JSON.stringify({
      object: 'page',
      entry: [
        {
          id: '444',
          time: 1767225600,
          changes: [
            change('81', {
              form_id: '1'.repeat(17_000),
              ad_id: '2'.repeat(17_000),
              field_data: [{ name: 'email', values: ['huge@example.com'] }],
            }),
            change('82', { form_id: '555', field_data: [] }),
          ],
        },
      ],
    });
    const signed = { 'x-hub-signature-256': `sha256=${hmac('fb-app-secret-8', body)}` };
    const delivered = await deliver(t, facebook.source.id, body, signed);
    assert.equal(delivered.statusCode, 200, delivered.body);
    assert.deepEqual(
      [delivered.json().captured, delivered.json().pending, delivered.json().failed],
      [1, 1, 0],
      'field_data: [] carries no answers: fetched, not failed',
    );
    const entries = await inboundLeads(w, facebook.source.id);
    const huge = entries.find((e) => e.externalId === '81')!;
    assert.equal(huge.status, 'captured', JSON.stringify(huge.errors));
    const activity = (await formSubmissions(w, huge.leadId))[0]!;
    assert.equal(activity.properties.platformFormId, '1'.repeat(200));
    assert.ok(Buffer.byteLength(JSON.stringify(activity.properties)) <= 12 * 1024);
    assert.equal(entries.find((e) => e.externalId === '82')!.status, 'pending');
  });

  it('a lead whose capture fails after its answers were fetched is failed with why, and a retry captures it', async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    await allowPrivateTargets(w);
    const { source } = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'facebook',
      name: 'Capture breaks',
      settings: { graphBaseUrl: `${platform.url}/v24.0` },
      secrets: { appSecret: 'fb-app-secret-10', pageAccessToken: 'page-token-10' },
    });
    platform.answer('/v24.0/55459717045641545', 200, graphLeadV25);
    const signature = `sha256=${hmac('fb-app-secret-10', facebookDeliveryV25)}`;
    await deliver(t, source.id, facebookDeliveryV25, { 'x-hub-signature-256': signature });
    const { db } = t.services.database;
    // The database refuses the capture (its activities table is away): the fetch succeeded.
    await sql`alter table activities rename to activities_away`.execute(db);
    try {
      await t.services.jobs.runDue();
    } finally {
      await sql`alter table activities_away rename to activities`.execute(db);
    }
    const failed = (await inboundLeads(w, source.id))[0]!;
    assert.equal(failed.status, 'failed', 'not left pending, where nothing would pick it up');
    assert.match(failed.errors[0].message, /the capture failed/);
    assert.equal(failed.fetchAttempts, 1);
    const calls = platform.seen.filter((s) => s.url.startsWith('/v24.0/')).length;
    t.clock.now += 86_400_000;
    await t.services.jobs.runDue();
    assert.equal(platform.seen.filter((s) => s.url.startsWith('/v24.0/')).length, calls, 'no retry loop');

    const retried = await w.ok('POST', `/api/v1/inbound-sources/${source.id}/leads/${failed.id}/retry`);
    assert.equal(retried.status, 'pending');
    await t.services.jobs.runDue();
    const done = (await inboundLeads(w, source.id))[0]!;
    assert.equal(done.status, 'captured', JSON.stringify(done.errors));
    assert.equal((await w.ok('GET', `/api/v1/leads/${done.leadId}`)).email, 'james.oak@example.org');
  });

  it('fetches: https unless private, a form response over 64 KiB read whole, Retry-After honoured', async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    const plain = await w.problem(422, 'POST', '/api/v1/inbound-sources', {
      kind: 'linkedin',
      name: 'Plain http',
      settings: { apiBaseUrl: 'http://api.example.com' },
      secrets: { clientSecret: 'li-client-secret', accessToken: 'li-access-token' },
    });
    assert.equal(plain.errors[0].path, '/settings/apiBaseUrl');
    assert.match(plain.errors[0].message, /must use https/);
    await allowPrivateTargets(w);
    const publicHttp = await w.problem(422, 'POST', '/api/v1/inbound-sources', {
      kind: 'facebook',
      name: 'Public over http',
      settings: { graphBaseUrl: 'http://93.184.215.14/v21.0' },
      secrets: { appSecret: 'fb-app-secret-11', pageAccessToken: 'page-token-11' },
    });
    assert.equal(publicHttp.errors[0].path, '/settings/graphBaseUrl');
    assert.match(publicHttp.errors[0].message, /must use https: the request carries credentials/);

    // A source saved before the rule: its fetch is refused at connect time, at once.
    const { source: old } = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'facebook',
      name: 'Saved before',
      secrets: { appSecret: 'fb-app-secret-12', pageAccessToken: 'page-token-12' },
    });
    await t.services.database.db
      .updateTable('inbound_sources')
      .set({ settings: toJson({ graphBaseUrl: 'http://93.184.215.14/v21.0' }) })
      .where('id', '=', old.id)
      .execute();
    await deliver(t, old.id, facebookDeliveryV26, {
      'x-hub-signature-256': `sha256=${hmac('fb-app-secret-12', facebookDeliveryV26)}`,
    });
    await t.services.jobs.runDue();
    const refused = (await inboundLeads(w, old.id))[0]!;
    assert.equal(refused.status, 'failed');
    assert.match(refused.errors[0].message, /must use https/);

    const { source } = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'linkedin',
      name: 'Big form',
      settings: { apiBaseUrl: platform.url },
      secrets: { clientSecret: 'li-client-secret-13', accessToken: 'li-access-token-13' },
    });
    const id = '7a1b2c3d-d272-44ba-a7db-c2bdce579507-9';
    const path = `/rest/leadFormResponses/${id}`;
    const notification = linkedInNotification.replace('249592fc-d272-44ba-a7db-c2bdce579507-6', id);
    platform.answer(path, 429, { message: 'Too many requests' }, { 'retry-after': '120' });
    await deliver(t, source.id, notification, {
      'x-li-signature': hmac('li-client-secret-13', `hmacsha256=${notification}`),
    });
    await t.services.jobs.runDue();
    const waiting = (await inboundLeads(w, source.id))[0]!;
    assert.equal(waiting.status, 'pending');
    assert.match(waiting.errors[0].message, /HTTP 429: Too many requests/);
    const asked = () => platform.seen.filter((s) => s.url.startsWith(path)).length;
    assert.equal(asked(), 1);
    t.clock.now += 60_000;
    await t.services.jobs.runDue();
    assert.equal(asked(), 1, 'not before the 120 s LinkedIn asked for');

    const { content } = linkedInForm;
    const big = {
      ...linkedInFormResponse,
      id,
      form: {
        ...linkedInForm,
        content: { ...content, description: { localized: { es_ES: 'ñ'.repeat(60_000) } } },
      },
    };
    assert.ok(Buffer.byteLength(JSON.stringify(big)) > 100 * 1024);
    platform.answer(path, 200, big);
    t.clock.now += 61_000;
    await t.services.jobs.runDue();
    assert.equal(asked(), 2);
    const entry = (await inboundLeads(w, source.id))[0]!;
    assert.equal(entry.status, 'captured', JSON.stringify(entry.errors));
    const lead = await w.ok('GET', `/api/v1/leads/${entry.leadId}`);
    assert.equal(lead.email, 'kevjohonson@email.com');
    assert.equal((await formSubmissions(w, lead.id))[0]!.properties.form, 'Form with written spanish');
  });

  it('the log is pruned: captured entries after 30 days, failed ones after 90; activity ids keep deduping', async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    const { source, secrets } = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'generic',
      name: 'Pruned',
      settings: { idPath: 'id' },
    });
    const body = JSON.stringify([
      { id: 'kept-1', email: 'pruned@example.com', first_name: 'Ada' },
      { id: 'failed-1', company: 'No email, no phone' },
    ]);
    const auth = { authorization: `Bearer ${secrets.token}` };
    assert.equal((await deliver(t, source.id, body, auth)).json().captured, 1);
    const leadId = (await inboundLeads(w, source.id, '?status=captured'))[0]!.leadId;

    t.clock.now += 29 * 86_400_000;
    assert.equal(await t.services.inbound.prune([w.id]), 0);
    t.clock.now += 2 * 86_400_000;
    assert.equal(await t.services.inbound.prune([w.id]), 1);
    assert.deepEqual(
      (await inboundLeads(w, source.id)).map((e) => [e.externalId, e.status]),
      [['failed-1', 'failed']],
    );
    // A late re-delivery is logged again, but its activity id is the one already stored.
    const again = (await deliver(t, source.id, body, auth)).json();
    assert.deepEqual([again.captured, again.duplicates], [1, 1]);
    assert.equal((await formSubmissions(w, leadId)).length, 1);

    t.clock.now += 60 * 86_400_000;
    assert.equal(
      await t.services.inbound.prune([w.id]),
      2,
      'the failed entry at 91 days, the captured at 60',
    );
    assert.deepEqual(await inboundLeads(w, source.id), []);
    assert.equal((await w.ok('GET', `/api/v1/leads/${leadId}`)).email, 'pruned@example.com', 'leads stay');
  });

  it('a deleted source takes its whole log along, however long (deleted in chunks)', async () => {
    const t = get();
    const w = await tenant(t, 'inbound');
    const { source, secrets } = await w.ok('POST', '/api/v1/inbound-sources', {
      kind: 'generic',
      name: 'Long log',
      settings: { idPath: 'id' },
    });
    const auth = { authorization: `Bearer ${secrets.token}` };
    // Failed entries (no email, no phone): logged without a capture, cheap to make 1,001 of.
    for (const [from, count] of [
      [0, 500],
      [500, 500],
      [1000, 1],
    ] as const) {
      const items = Array.from({ length: count }, (_, i) => ({ id: `n-${from + i}`, company: 'x' }));
      const answer = await deliver(t, source.id, JSON.stringify(items), auth);
      assert.equal(answer.json().failed, count, answer.body);
    }
    const rows = async () =>
      Number(
        (
          await t.services.database.db
            .selectFrom('inbound_leads')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('workspace_id', '=', w.id)
            .executeTakeFirstOrThrow()
        ).n,
      );
    assert.equal(await rows(), 1001);
    await w.ok('DELETE', `/api/v1/inbound-sources/${source.id}`);
    assert.equal(await rows(), 0);
  });
});
