import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EMAIL_SEND } from '../../src/email/service.ts';
import { MAX_MAGNET_EMAILS_PER_HOUR } from '../../src/forms/follow-ups.ts';
import { type Json, type Tenant, tenant } from '../support/api.ts';
import { describeEachEngine, startApp, type TestApp, useApp } from '../support/engines.ts';
import { type ReceivedMail, startSmtpInbox } from '../support/smtp.ts';

let forms = 0;

const MAGNET = { title: 'The 2026 Lead Scoring Guide', url: 'https://cdn.acme.example/guide.pdf' };

async function makeForm(w: Tenant, extra: Json = {}): Promise<Json> {
  return w.ok('POST', '/api/v1/forms', {
    name: 'Guide download',
    slug: `follow-ups-${process.pid}-${++forms}`,
    fields: [
      { name: 'email', type: 'email', label: 'Work email', maps: 'email' },
      { name: 'phone', type: 'phone', label: 'Phone', maps: 'phone' },
      { name: 'firstName', type: 'text', label: 'First name', maps: 'firstName' },
      { name: 'company', type: 'text', label: 'Company', maps: 'company' },
      { name: 'message', type: 'textarea', label: 'What are you working on?' },
    ],
    leadMagnet: MAGNET,
    notify: ['sales@acme.example', 'marketing@acme.example'],
    ...extra,
  });
}

/** A person fills in the form (JSON, like embed.js) and gets the thank-you answer. */
async function submit(t: TestApp, slug: string, values: Json): Promise<Json> {
  const token = (await t.app.inject({ method: 'GET', url: `/f/${slug}/definition` })).json().token;
  t.clock.now += 10_000;
  const response = await t.app.inject({
    method: 'POST',
    url: `/f/${slug}`,
    headers: { 'content-type': 'application/json' },
    payload: { ...values, _ll_ts: token, _ll_hp: '' },
  });
  assert.equal(response.statusCode, 200, response.body);
  return response.json();
}

/** Runs the queued jobs; the dev mailbox's messages, oldest first, in full. */
async function mailbox(t: TestApp, w: Tenant): Promise<Json[]> {
  await t.services.jobs.runDue();
  const list = ((await w.ok('GET', '/api/v1/mailbox?limit=100')).data as Json[]).reverse();
  return Promise.all(list.map((m) => w.ok('GET', `/api/v1/mailbox/${m.id}`)));
}

describeEachEngine('form follow-up emails', (engine) => {
  const get = useApp(engine, { LEADLINE_PUBLIC_URL: 'https://leads.acme.example' });

  it('emails the lead magnet to the lead and a notification to each recipient, once per submission', async () => {
    const t = get();
    const w = await tenant(t, 'follow-ups');
    const form = await makeForm(w);
    const answer = await submit(t, form.slug, {
      email: 'ada@example.com',
      firstName: 'Ada',
      company: 'Analytical Engines',
      message: 'Scoring <b>inbound</b> leads\nfor two regions',
      utm_source: 'linkedin',
      _ll_page: 'https://www.acme.example/guide',
    });
    assert.equal(answer.status, 'received');
    const lead = (await w.ok('GET', '/api/v1/leads?q=ada@example.com')).data[0];

    const mail = await mailbox(t, w);
    assert.deepEqual(
      mail.map((m) => m.to),
      [['ada@example.com'], ['sales@acme.example'], ['marketing@acme.example']],
    );
    const [magnet, notify] = mail;
    assert.equal(magnet!.subject, 'Your download: The 2026 Lead Scoring Guide');
    assert.match(magnet!.text, /^Hello Ada,/);
    assert.match(magnet!.text, /https:\/\/cdn\.acme\.example\/guide\.pdf/);
    assert.match(magnet!.html, /<a href="https:\/\/cdn\.acme\.example\/guide\.pdf">/);

    assert.equal(notify!.subject, 'New submission of Guide download: Ada (Analytical Engines)');
    assert.equal(notify!.replyTo, 'ada@example.com', 'replying answers the lead');
    assert.match(notify!.text, /Work email: ada@example\.com/);
    assert.match(notify!.text, /What are you working on\?: Scoring <b>inbound<\/b> leads\nfor two regions/);
    assert.match(notify!.text, /Page: https:\/\/www\.acme\.example\/guide/);
    assert.match(notify!.text, /utm_source: linkedin/);
    assert.match(notify!.text, new RegExp(`Open the lead: https://leads\\.acme\\.example/leads/${lead.id}`));
    assert.ok(!notify!.html.includes('<b>inbound'), 'answers are escaped in HTML');
    assert.match(notify!.html, /Scoring &lt;b&gt;inbound&lt;\/b&gt; leads<br>for two regions/);
    assert.deepEqual(mail[2]!.text, notify!.text);

    // Each email has its key: the submission's id, and the recipient's place in `notify`.
    const jobs = await t.services.jobs.list(w.id, { kind: EMAIL_SEND, limit: 100 });
    const submissionId = (await w.ok('GET', `/api/v1/forms/${form.id}/submissions`)).data[0].id;
    assert.deepEqual(jobs.map((j) => j.key).sort(), [
      `mail:form:${submissionId}:magnet`,
      `mail:form:${submissionId}:notify:0`,
      `mail:form:${submissionId}:notify:1`,
    ]);

    // The same answers again within the duplicate window: answered, nobody mailed again.
    await submit(t, form.slug, {
      email: 'ada@example.com',
      firstName: 'Ada',
      company: 'Analytical Engines',
      message: 'Scoring <b>inbound</b> leads\nfor two regions',
      utm_source: 'linkedin',
    });
    assert.equal((await mailbox(t, w)).length, 3);
  });

  it(`sends one address at most ${MAX_MAGNET_EMAILS_PER_HOUR} lead magnet emails an hour, from all forms together`, async () => {
    const t = get();
    const w = await tenant(t, 'follow-ups');
    const guide = await makeForm(w, { notify: [] });
    const ebook = await makeForm(w, {
      notify: [],
      leadMagnet: { title: 'E-book', url: 'https://cdn.acme.example/e.pdf' },
    });
    // Someone types another person's address again and again, with answers that differ each time.
    const answers: Json[] = [];
    for (let n = 0; n < MAX_MAGNET_EMAILS_PER_HOUR + 2; n++) {
      const form = n % 2 === 0 ? guide : ebook;
      answers.push(await submit(t, form.slug, { email: 'victim@example.com', message: `try ${n}` }));
    }
    // Every submission is written and answered with its download link.
    assert.ok(answers.every((a) => a.status === 'received' && a.leadMagnet?.url));
    assert.equal((await w.ok('GET', `/api/v1/forms/${guide.id}/submissions`)).data.length, 3);
    assert.equal((await w.ok('GET', `/api/v1/forms/${ebook.id}/submissions`)).data.length, 2);
    const magnets = async () => (await mailbox(t, w)).filter((m) => m.to[0] === 'victim@example.com');
    assert.equal((await magnets()).length, MAX_MAGNET_EMAILS_PER_HOUR);
    // Another address is not held back by the first one's count.
    await submit(t, guide.slug, { email: 'other@example.com' });
    assert.equal((await mailbox(t, w)).filter((m) => m.to[0] === 'other@example.com').length, 1);
    // An hour after the first ones, there is room again.
    t.clock.now += 3_600_000;
    await submit(t, ebook.slug, { email: 'victim@example.com', message: 'an hour later' });
    assert.equal((await magnets()).length, MAX_MAGNET_EMAILS_PER_HOUR + 1);
  });

  it('sends no lead magnet to a lead without an email, and nothing without a magnet or recipients', async () => {
    const t = get();
    const w = await tenant(t, 'follow-ups');
    const form = await makeForm(w);
    await submit(t, form.slug, { phone: '+442079460958', firstName: 'Pat' });
    const mail = await mailbox(t, w);
    assert.deepEqual(
      mail.map((m) => m.to[0]),
      ['sales@acme.example', 'marketing@acme.example'],
    );
    assert.equal(mail[0]!.replyTo, null);
    assert.equal(mail[0]!.subject, 'New submission of Guide download: Pat');

    const quiet = await makeForm(w, { leadMagnet: null, notify: [] });
    await submit(t, quiet.slug, { email: 'quiet@example.com' });
    assert.equal((await mailbox(t, w)).length, 2);
  });
});

describe('form follow-up emails through a real SMTP server', () => {
  let received: ReceivedMail[] = [];
  let smtp: Awaited<ReturnType<typeof startSmtpInbox>> | undefined;
  let t: TestApp;
  before(async () => {
    smtp = await startSmtpInbox();
    received = smtp.received;
    t = await startApp('sqlite', { LEADLINE_SMTP_URL: smtp.url });
  });
  after(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('delivers the lead magnet and the notifications', async () => {
    const w = await tenant(t, 'follow-ups-smtp');
    const form = await makeForm(w, { notify: ['sales@acme.example'] });
    await submit(t, form.slug, { email: 'grace@example.com', firstName: 'Grace' });
    await t.services.jobs.runDue();
    assert.deepEqual(received.map((m) => m.to).sort(), [['grace@example.com'], ['sales@acme.example']]);
    const magnet = received.find((m) => m.to[0] === 'grace@example.com')!;
    assert.match(magnet.raw, /Subject: Your download: The 2026 Lead Scoring Guide/);
    assert.match(magnet.raw, /https:\/\/cdn\.acme\.example\/guide\.pdf/);
    const notify = received.find((m) => m.to[0] === 'sales@acme.example')!;
    assert.match(notify.raw, /Reply-To: grace@example\.com/);
  });
});
