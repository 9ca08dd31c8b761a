import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { ALERT_DELIVER } from '../../src/alerts/service.ts';
import { authHeaders, describeEachEngine, startApp, type TestApp, useApp } from '../support/engines.ts';
import { type ReceivedMail, startSmtpInbox } from '../support/smtp.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
// biome-ignore lint/suspicious/noExplicitAny: API answers and webhook bodies are read field by field in the tests.
type Json = Record<string, any>;

let tenants = 0;

/** A workspace of its own for each test, with an admin key: alerts of one test never meet another's. */
async function tenant(t: TestApp) {
  const workspace = await t.services.workspaces.createWorkspace(`alerts-${++tenants}`);
  const { key } = await t.services.workspaces.createKey(workspace.id, 'admin', 'admin');
  const call = async (method: Method, url: string, payload?: unknown) =>
    t.app.inject({
      method,
      url,
      headers: authHeaders(key),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const ok = async (method: Method, url: string, payload?: unknown): Promise<Json> => {
    const response = await call(method, url, payload);
    assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
    return response.statusCode === 204 ? {} : response.json();
  };
  return {
    id: workspace.id,
    key,
    call,
    ok,
    user: async (name: string, email: string, extra: Json = {}) =>
      (await ok('POST', '/api/v1/users', { name, email, ...extra })).id as string,
    lead: async (body: Json) => (await ok('POST', '/api/v1/leads', body)) as Json,
    event: async (leadId: string, type: string, extra: Json = {}) =>
      ok('POST', '/api/v1/events', { events: [{ type, leadId, ...extra }] }),
    mailbox: async () => (await ok('GET', '/api/v1/mailbox')).data as Json[],
    mail: async (id: string) => ok('GET', `/api/v1/mailbox/${id}`),
    alerts: async (query = '') => (await ok('GET', `/api/v1/alerts${query}`)).data as Json[],
    rules: async () => (await ok('GET', '/api/v1/alerts/rules')).data as Json[],
    /** Deletes every rule (the defaults included). */
    clearRules: async () => {
      for (const rule of (await ok('GET', '/api/v1/alerts/rules')).data)
        await ok('DELETE', `/api/v1/alerts/rules/${rule.id}`);
    },
    alertJobs: async () =>
      (await t.services.jobs.list(workspace.id, { kind: ALERT_DELIVER, limit: 500 })).filter(
        (j) => j.kind === ALERT_DELIVER,
      ),
  };
}

const byRule = (alerts: Json[], name: string) => alerts.filter((a) => a.ruleName === name);

describeEachEngine('owner alerts', (engine) => {
  const get = useApp(engine);

  it('starts a workspace with the default rules; rules are added, changed and deleted by admin keys', async () => {
    const t = get();
    const w = await tenant(t);
    const rules = await w.rules();
    assert.deepEqual(
      rules.map((r) => [r.name, r.enabled, r.trigger, r.channels, r.fallbackEmail]),
      [
        [
          'Demo requested',
          true,
          { type: 'activity', activity: 'demo_requested', atLeast: 1, withinDays: null },
          [{ type: 'email' }],
          null,
        ],
        [
          'Pricing viewed 3 times in 7 days',
          true,
          { type: 'activity', activity: 'pricing_viewed', atLeast: 3, withinDays: 7 },
          [{ type: 'email' }],
          null,
        ],
        ['Lead became hot', true, { type: 'became_hot' }, [{ type: 'email' }], null],
        ['SLA about to breach', true, { type: 'sla_warning' }, [{ type: 'email' }], null],
      ],
    );

    const created = await w.ok('POST', '/api/v1/alerts/rules', {
      name: 'Score 60+',
      trigger: { type: 'score_crossed', threshold: 60 },
      channels: [{ type: 'email' }],
      fallbackEmail: 'inbox@acme.example',
    });
    assert.equal(created.enabled, true);
    assert.deepEqual(await w.ok('GET', `/api/v1/alerts/rules/${created.id}`), created);
    const changed = await w.ok('PATCH', `/api/v1/alerts/rules/${created.id}`, {
      enabled: false,
      name: 'Score 60 plus',
    });
    assert.deepEqual(
      [changed.enabled, changed.name, changed.trigger],
      [false, 'Score 60 plus', created.trigger],
    );
    await w.ok('DELETE', `/api/v1/alerts/rules/${created.id}`);
    const gone = await w.call('GET', `/api/v1/alerts/rules/${created.id}`);
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().code, 'ALERT_RULE_NOT_FOUND');
    assert.equal(
      (await w.call('PATCH', `/api/v1/alerts/rules/${created.id}`, { enabled: true })).statusCode,
      404,
    );
    assert.equal((await w.call('DELETE', `/api/v1/alerts/rules/${created.id}`)).statusCode, 404);

    // A deleted default stays deleted.
    await w.ok('DELETE', `/api/v1/alerts/rules/${rules[2]!.id}`);
    assert.deepEqual(
      (await w.rules()).map((r) => r.name),
      ['Demo requested', 'Pricing viewed 3 times in 7 days', 'SLA about to breach'],
    );

    const { key: writer } = await t.services.workspaces.createKey(w.id, 'writer', 'write');
    const forbidden = await t.app.inject({
      method: 'GET',
      url: '/api/v1/alerts/rules',
      headers: authHeaders(writer),
    });
    assert.equal(forbidden.statusCode, 403);
    const log = await t.app.inject({ method: 'GET', url: '/api/v1/alerts', headers: authHeaders(writer) });
    assert.equal(log.statusCode, 200, 'the alerts log is readable by any key');
  });

  it('refuses rules that cannot work, naming the field, and writes nothing', async () => {
    const t = get();
    const w = await tenant(t);
    const before = await w.rules();
    const cases: Array<[Json, number, string[]]> = [
      [
        {
          name: 'x',
          trigger: { type: 'activity', activity: 'pricing_viewed', atLeast: 3 },
          channels: [{ type: 'email' }],
        },
        422,
        ['/trigger/withinDays'],
      ],
      [
        { name: 'x', trigger: { type: 'activity', activity: 'nap_taken' }, channels: [{ type: 'email' }] },
        422,
        ['/trigger/activity'],
      ],
      [
        { name: 'x', trigger: { type: 'score_crossed' }, channels: [{ type: 'email' }] },
        422,
        ['/trigger/threshold'],
      ],
      [
        { name: 'x', trigger: { type: 'became_hot' }, channels: [{ type: 'webhook' }] },
        422,
        ['/channels/0/url'],
      ],
      [
        {
          name: 'x',
          trigger: { type: 'became_hot' },
          channels: [{ type: 'email' }],
          fallbackEmail: 'nobody',
        },
        422,
        ['/fallbackEmail'],
      ],
      [{ name: 'x', trigger: { type: 'moon_phase' }, channels: [{ type: 'email' }] }, 400, ['/trigger/type']],
      [{ name: 'x', trigger: { type: 'became_hot' }, channels: [] }, 400, ['/channels']],
      // The SSRF guard: private and loopback targets need the workspace setting.
      [
        {
          name: 'x',
          trigger: { type: 'became_hot' },
          channels: [{ type: 'email' }, { type: 'webhook', url: 'http://127.0.0.1:9/x' }],
        },
        422,
        ['/channels/1/url'],
      ],
      [
        {
          name: 'x',
          trigger: { type: 'became_hot' },
          channels: [{ type: 'webhook', url: 'http://10.1.2.3/hook', format: 'slack' }],
        },
        422,
        ['/channels/0/url'],
      ],
      [
        {
          name: 'x',
          trigger: { type: 'became_hot' },
          channels: [{ type: 'webhook', url: 'ftp://example.com/x' }],
        },
        422,
        ['/channels/0/url'],
      ],
    ];
    for (const [body, status, paths] of cases) {
      const response = await w.call('POST', '/api/v1/alerts/rules', body);
      assert.equal(response.statusCode, status, `${JSON.stringify(body)}: ${response.body}`);
      assert.match(String(response.headers['content-type']), /application\/problem\+json/);
      assert.deepEqual(
        response.json().errors.map((e: { path: string }) => e.path),
        paths,
        JSON.stringify(body),
      );
    }
    const patch = await w.call('PATCH', `/api/v1/alerts/rules/${before[0]!.id}`, {
      channels: [{ type: 'webhook', url: 'http://[::1]:8080/x' }],
    });
    assert.equal(patch.statusCode, 422, patch.body);
    assert.deepEqual(patch.json().errors[0].path, '/channels/0/url');
    assert.deepEqual(await w.rules(), before);
  });

  it('emails the owner when a lead requests a demo: one email (the lead also became hot), logged and on the timeline', async () => {
    const t = get();
    const w = await tenant(t);
    const owner = await w.user('Bob Seller', 'bob@acme.example');
    const lead = await w.lead({
      email: 'ada@lovelace.io',
      firstName: 'Ada',
      lastName: 'Lovelace',
      company: 'Analytical',
      ownerId: owner,
    });
    await w.event(lead.id, 'demo_requested', { id: 'demo-1' });

    const pending = await w.alerts(`?leadId=${lead.id}`);
    assert.deepEqual(pending.map((a) => [a.ruleName, a.status]).sort(), [
      ['Demo requested', 'pending'],
      ['Lead became hot', 'skipped'],
    ]);
    assert.equal(
      (await w.alertJobs()).length,
      1,
      'one alert job per firing and channel, queued with the write; none for an email another covers',
    );
    assert.deepEqual(await w.mailbox(), [], 'nothing is sent inside the request');

    await t.services.jobs.runDue();
    const mailbox = await w.mailbox();
    assert.equal(mailbox.length, 1, JSON.stringify(mailbox));
    assert.deepEqual(mailbox[0]!.to, ['bob@acme.example']);
    assert.equal(mailbox[0]!.subject, 'Ada Lovelace (Analytical) requested a demo');
    const message = await w.mail(mailbox[0]!.id);
    assert.match(message.text, /^Owner: Bob Seller$/m);
    assert.match(message.text, new RegExp(`/leads/${lead.id}`));
    assert.match(message.html, /<a href="http:\/\/localhost:3000\/leads\//);

    const log = await w.alerts(`?leadId=${lead.id}`);
    const demo = byRule(log, 'Demo requested')[0]!;
    assert.deepEqual(
      [demo.status, demo.target, demo.trigger, demo.description],
      ['sent', 'bob@acme.example', 'demo_requested', 'requested a demo'],
    );
    const hot = byRule(log, 'Lead became hot')[0]!;
    assert.equal(hot.status, 'skipped');
    assert.match(hot.error, /covered by alert .*Demo requested/);

    const timeline = (await w.ok('GET', `/api/v1/leads/${lead.id}/timeline`)).data as Json[];
    const sent = timeline.filter((e) => e.type === 'alert_sent');
    assert.equal(sent.length, 1);
    assert.deepEqual(
      [
        sent[0]!.properties.ruleName,
        sent[0]!.properties.channel,
        sent[0]!.properties.to,
        sent[0]!.properties.via,
      ],
      ['Demo requested', 'email', ['bob@acme.example'], 'owner'],
    );

    // The same event again (a client retry) and another job run change nothing.
    await w.event(lead.id, 'demo_requested', { id: 'demo-1' });
    await t.services.jobs.runDue();
    assert.equal((await w.mailbox()).length, 1);
    assert.equal((await w.alerts(`?leadId=${lead.id}`)).length, 2);
  });

  it("sends to the deactivated owner's manager, else the rule's fallback email, else logs the alert as skipped", async () => {
    const t = get();
    const w = await tenant(t);
    const manager = await w.user('Mia Manager', 'mia@acme.example', { role: 'manager' });
    const rep = await w.user('Rick Rep', 'rick@acme.example', { managerId: manager });
    const owned = await w.lead({ email: 'owned@lead.io', ownerId: rep });
    await w.ok('DELETE', `/api/v1/users/${rep}`);
    await w.event(owned.id, 'demo_requested');
    const orphan = await w.lead({ email: 'orphan@lead.io', firstName: 'Orphan' });
    await w.event(orphan.id, 'demo_requested');
    await t.services.jobs.runDue();
    assert.deepEqual(
      (await w.mailbox()).map((m) => m.to),
      [['mia@acme.example']],
    );
    const skipped = byRule(await w.alerts(`?leadId=${orphan.id}`), 'Demo requested')[0]!;
    assert.equal(skipped.status, 'skipped');
    assert.match(skipped.error, /nobody to email/);

    const demoRule = (await w.rules()).find((r) => r.name === 'Demo requested')!;
    await w.ok('PATCH', `/api/v1/alerts/rules/${demoRule.id}`, { fallbackEmail: 'sales-inbox@acme.example' });
    t.clock.now += 60_000;
    await w.event(orphan.id, 'demo_requested');
    await t.services.jobs.runDue();
    const latest = (await w.mailbox())[0]!;
    assert.deepEqual([latest.to, latest.subject], [['sales-inbox@acme.example'], 'Orphan requested a demo']);
  });

  it('pricing viewed 3 times within 7 days fires once, and again only in a later window', async () => {
    const t = get();
    const w = await tenant(t);
    const owner = await w.user('Bob Seller', 'bob@acme.example');
    const lead = await w.lead({ email: 'pat@pricing.io', firstName: 'Pat', ownerId: owner });
    const pricingAlerts = async () =>
      byRule(await w.alerts(`?leadId=${lead.id}`), 'Pricing viewed 3 times in 7 days');
    for (let view = 1; view <= 5; view++) {
      t.clock.now += 3_600_000;
      await w.event(lead.id, 'pricing_viewed');
      assert.equal((await pricingAlerts()).length, view >= 3 ? 1 : 0, `after view ${view}`);
    }
    await t.services.jobs.runDue();
    const [alert] = await pricingAlerts();
    assert.deepEqual([alert!.status, alert!.description], ['sent', 'viewed pricing 3 times in 7 days']);
    assert.ok((await w.mailbox()).some((m) => m.subject === 'Pat viewed pricing 3 times in 7 days'));

    // Eight days on, the old views have left the window: two more are not enough, a third is.
    t.clock.now += 8 * 86_400_000;
    await w.event(lead.id, 'pricing_viewed');
    await w.event(lead.id, 'pricing_viewed');
    assert.equal((await pricingAlerts()).length, 1);
    await w.event(lead.id, 'pricing_viewed');
    assert.equal((await pricingAlerts()).length, 2);
  });

  it('counts windowed rules for a whole batch of events at once, each lead over its own window', async () => {
    const t = get();
    const w = await tenant(t);
    const owner = await w.user('Bob Seller', 'bob@acme.example');
    const [ann, ben, cat] = await Promise.all(
      ['ann', 'ben', 'cat'].map((name) =>
        w.lead({ email: `${name}@batch.io`, firstName: name, ownerId: owner }),
      ),
    );
    // Ann viewed pricing eight days ago (outside the window), six days ago and yesterday.
    const at = (ms: number) => new Date(t.clock.now - ms).toISOString();
    await w.ok('POST', '/api/v1/events', {
      events: [
        { type: 'pricing_viewed', leadId: ann!.id, occurredAt: at(8 * 86_400_000) },
        { type: 'pricing_viewed', leadId: ann!.id, occurredAt: at(6 * 86_400_000) },
        { type: 'pricing_viewed', leadId: ann!.id, occurredAt: at(20 * 3_600_000) },
      ],
    });
    assert.deepEqual(byRule(await w.alerts(), 'Pricing viewed 3 times in 7 days'), []);
    // One batch: Ann's third view in the window, Ben's three, Cat's two — at different times.
    await w.ok('POST', '/api/v1/events', {
      events: [
        { type: 'pricing_viewed', leadId: ann!.id, occurredAt: at(3_600_000) },
        { type: 'pricing_viewed', leadId: ben!.id, occurredAt: at(3 * 3_600_000) },
        { type: 'pricing_viewed', leadId: ben!.id, occurredAt: at(2 * 3_600_000) },
        { type: 'pricing_viewed', leadId: ben!.id, occurredAt: at(60_000) },
        { type: 'pricing_viewed', leadId: cat!.id, occurredAt: at(30_000) },
        { type: 'pricing_viewed', leadId: cat!.id },
      ],
    });
    const fired = byRule(await w.alerts(), 'Pricing viewed 3 times in 7 days');
    assert.deepEqual(
      fired.map((a) => [a.leadId, a.description]).sort(),
      [
        [ann!.id, 'viewed pricing 3 times in 7 days'],
        [ben!.id, 'viewed pricing 3 times in 7 days'],
      ].sort(),
    );
  });

  it('prunes alerts 400 days after they fired', async () => {
    const t = get();
    const w = await tenant(t);
    const lead = await w.lead({
      email: 'old@news.io',
      ownerId: await w.user('Bob Seller', 'bob@acme.example'),
    });
    await w.event(lead.id, 'demo_requested');
    const fired = await w.alerts();
    assert.ok(fired.length > 0);
    t.clock.now += 399 * 86_400_000;
    await w.event(lead.id, 'demo_requested');
    const fresh = (await w.alerts()).length - fired.length;
    await t.services.alerts.prune([w.id]);
    assert.equal((await w.alerts()).length, fired.length + fresh, 'nothing is 400 days old yet');
    t.clock.now += 2 * 86_400_000;
    assert.equal(await t.services.alerts.prune([w.id]), fired.length);
    assert.equal((await w.alerts()).length, fresh);
  });

  it('alerts when a lead becomes hot, and when its score crosses a threshold (signal lead.score_crossed)', async () => {
    const t = get();
    const w = await tenant(t);
    const owner = await w.user('Bob Seller', 'bob@acme.example');
    const lead = await w.lead({ email: 'tina@trial.io', firstName: 'Tina', ownerId: owner });
    await w.event(lead.id, 'trial_started'); // high intent: hot, and no activity rule of its own
    await t.services.jobs.runDue();
    assert.deepEqual(
      (await w.mailbox()).map((m) => m.subject),
      ['Tina became hot'],
    );

    const scored = await tenant(t);
    await scored.clearRules();
    await scored.ok('PUT', '/api/v1/scoring/model', {
      behaviour: [{ id: 'webinar', type: 'webinar_attended', points: 80 }],
    });
    await t.services.rescore.settled(scored.id);
    await scored.ok('POST', '/api/v1/alerts/rules', {
      name: 'Score 60+',
      trigger: { type: 'score_crossed', threshold: 60 },
      channels: [{ type: 'email' }],
      fallbackEmail: 'scores@acme.example',
    });
    const sam = await scored.lead({ email: 'sam@score.io', firstName: 'Sam' });
    await scored.event(sam.id, 'webinar_attended');
    await t.services.jobs.runDue();
    const alerts = await scored.alerts();
    assert.equal(alerts.length, 1, 'crossing 50 and 75 at once alerts once, for 75');
    assert.match(alerts[0]!.description, /^crossed a score of 75 \(now \d+\)$/);
    assert.deepEqual(
      (await scored.mailbox()).map((m) => m.to),
      [['scores@acme.example']],
    );
  });

  it('alerts the owner on an SLA warning (signal sla.warning, as the SLA timers emit it)', async () => {
    const t = get();
    const w = await tenant(t);
    const owner = await w.user('Bob Seller', 'bob@acme.example');
    const lead = await w.lead({ email: 'sue@sla.io', firstName: 'Sue', ownerId: owner });
    const warn = () =>
      t.services.database.writes.run((trx) =>
        t.services.signals.emitIn(
          trx,
          w.id,
          [
            {
              type: 'sla.warning',
              leadId: lead.id,
              at: t.clock.now,
              data: { timerId: 'timer-1', dueAt: '2026-01-01T01:00:00.000Z' },
            },
          ],
          t.clock.now,
        ),
      );
    await warn();
    await warn(); // the same warning again (a repeated timer job): one alert
    await t.services.jobs.runDue();
    assert.deepEqual(
      (await w.mailbox()).map((m) => [m.to, m.subject]),
      [[['bob@acme.example'], 'Sue is about to breach its response SLA (due 2026-01-01T01:00:00.000Z)']],
    );
    assert.deepEqual(
      (await w.alerts()).map((a) => [a.ruleName, a.trigger, a.status]),
      [['SLA about to breach', 'sla_warning', 'sent']],
    );
  });

  it('enqueues nothing for a workspace without enabled rules', async () => {
    const t = get();
    const w = await tenant(t);
    await w.clearRules();
    await w.ok('POST', '/api/v1/alerts/rules', {
      name: 'Off',
      enabled: false,
      trigger: { type: 'activity', activity: 'demo_requested' },
      channels: [{ type: 'email' }],
      fallbackEmail: 'x@acme.example',
    });
    const lead = await w.lead({ email: 'quiet@lead.io' });
    await w.event(lead.id, 'demo_requested');
    await w.event(lead.id, 'trial_started');
    await w.ok('POST', '/api/v1/leads/batch', { leads: [{ email: 'b1@lead.io' }, { email: 'b2@lead.io' }] });
    assert.deepEqual(await w.alertJobs(), []);
    assert.deepEqual(await w.alerts(), []);
  });
});

interface Hit {
  path: string;
  body: Json;
  headers: http.IncomingHttpHeaders;
}

/**
 * A real HTTP receiver on 127.0.0.1: 200 on most paths, 500 once on /flaky, 404 on /gone, 404
 * on /toggle while `state.down`, 429 with `state.retryAfter` on /throttled while it is set.
 */
async function startReceiver() {
  const hits: Hit[] = [];
  const state: { down: boolean; retryAfter: string | undefined } = { down: true, retryAfter: undefined };
  let flaky = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({
        path: req.url ?? '',
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        headers: req.headers,
      });
      if (req.url === '/gone' || (req.url === '/toggle' && state.down))
        res.writeHead(404).end('no such hook');
      else if (req.url === '/throttled' && state.retryAfter !== undefined)
        res.writeHead(429, { 'retry-after': state.retryAfter }).end('slow down');
      else if (req.url === '/flaky' && flaky++ === 0) res.writeHead(500).end('oops');
      else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, hits, state, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describeEachEngine('alert webhooks (a real receiver on 127.0.0.1)', (engine) => {
  const get = useApp(engine);
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => receiver?.close());

  it('posts generic JSON and Slack payloads with a link to the lead', async () => {
    const t = get();
    const w = await tenant(t);
    await w.clearRules();
    await w.ok('PATCH', '/api/v1/workspace', { settings: { allowPrivateWebhookTargets: true } });
    const rule = await w.ok('POST', '/api/v1/alerts/rules', {
      name: 'Meeting booked',
      trigger: { type: 'activity', activity: 'meeting_booked' },
      channels: [
        { type: 'webhook', url: `${receiver.base}/json` },
        { type: 'webhook', url: `${receiver.base}/slack`, format: 'slack' },
      ],
    });
    const lead = await w.lead({ email: 'mo@meet.io', firstName: 'Mo', company: 'Meet & Greet' });
    await w.event(lead.id, 'meeting_booked');
    await t.services.jobs.runDue();

    const json = receiver.hits.find((h) => h.path === '/json')!;
    assert.equal(json.headers['content-type'], 'application/json');
    assert.deepEqual(
      [
        json.body.type,
        json.body.alert.ruleId,
        json.body.alert.ruleName,
        json.body.alert.trigger,
        json.body.alert.description,
      ],
      ['alert', rule.id, 'Meeting booked', 'meeting_booked', 'Mo booked a meeting'],
    );
    assert.equal(json.body.lead.id, lead.id);
    assert.equal(json.body.lead.email, 'mo@meet.io');
    assert.equal(typeof json.body.lead.score, 'number');
    assert.equal(json.body.url, `http://localhost:3000/leads/${lead.id}`);

    const slack = receiver.hits.find((h) => h.path === '/slack')!;
    assert.equal(
      slack.body.text,
      `Mo at Meet &amp; Greet booked a meeting: http://localhost:3000/leads/${lead.id}`,
    );
    assert.equal(slack.body.blocks[0].type, 'section');
    assert.equal(
      slack.body.blocks[0].text.text,
      `*<http://localhost:3000/leads/${lead.id}|Mo>* at Meet &amp; Greet booked a meeting`,
    );
    assert.equal(slack.body.blocks[2].elements[0].url, `http://localhost:3000/leads/${lead.id}`);

    const log = await w.alerts();
    assert.deepEqual(
      log
        .map((a) => [a.channel, a.status, a.target])
        .sort((a, b) => String(a[0].format).localeCompare(String(b[0].format))),
      [
        [{ type: 'webhook', format: 'json' }, 'sent', new URL(receiver.base).host],
        [{ type: 'webhook', format: 'slack' }, 'sent', new URL(receiver.base).host],
      ],
      'the log shows the host, never the secret URL',
    );
  });

  it('retries a failing target, gives up on a 4xx, and refuses a private target once the setting is off', async () => {
    const t = get();
    const w = await tenant(t);
    await w.clearRules();
    await w.ok('PATCH', '/api/v1/workspace', { settings: { allowPrivateWebhookTargets: true } });
    for (const path of ['/flaky', '/gone']) {
      await w.ok('POST', '/api/v1/alerts/rules', {
        name: `hook ${path}`,
        trigger: { type: 'activity', activity: 'chat_started' },
        channels: [{ type: 'webhook', url: `${receiver.base}${path}` }],
      });
    }
    const lead = await w.lead({ email: 'cy@chat.io' });
    await w.event(lead.id, 'chat_started');
    await t.services.jobs.runDue();
    let log = await w.alerts();
    const flaky = byRule(log, 'hook /flaky')[0]!;
    assert.deepEqual([flaky.status, flaky.error], ['pending', 'Error: the target answered HTTP 500: oops']);
    const gone = byRule(log, 'hook /gone')[0]!;
    assert.equal(gone.status, 'failed');
    assert.match(gone.error, /PermanentJobFailure: the target answered HTTP 404/);

    const job = (await w.alertJobs()).find((j) => j.state === 'queued')!;
    t.clock.now = job.runAt;
    await t.services.jobs.runDue();
    log = await w.alerts();
    assert.equal(byRule(log, 'hook /flaky')[0]!.status, 'sent');

    // Setting off: the next delivery to 127.0.0.1 is refused at send time, for good.
    await w.ok('PATCH', '/api/v1/workspace', { settings: { allowPrivateWebhookTargets: false } });
    const hitsBefore = receiver.hits.length;
    t.clock.now += 60_000;
    await w.event(lead.id, 'chat_started');
    await t.services.jobs.runDue();
    assert.equal(receiver.hits.length, hitsBefore);
    const refused = (await w.alerts()).filter((a) => a.ruleName === 'hook /flaky' && a.status === 'failed');
    assert.equal(refused.length, 1);
    assert.match(refused[0]!.error, /target refused/);
  });
});

describeEachEngine('alert webhooks: retries (a real receiver on 127.0.0.1)', (engine) => {
  const get = useApp(engine);
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => receiver?.close());

  async function hookedTenant(t: TestApp, path: string) {
    const w = await tenant(t);
    await w.clearRules();
    await w.ok('PATCH', '/api/v1/workspace', { settings: { allowPrivateWebhookTargets: true } });
    await w.ok('POST', '/api/v1/alerts/rules', {
      name: `hook ${path}`,
      trigger: { type: 'activity', activity: 'chat_started' },
      channels: [{ type: 'webhook', url: `${receiver.base}${path}` }],
    });
    return w;
  }

  it('delivers a failed alert when its dead job is retried through the API', async () => {
    const t = get();
    const w = await hookedTenant(t, '/toggle');
    receiver.state.down = true;
    const lead = await w.lead({ email: 'dead@letter.io' });
    await w.event(lead.id, 'chat_started');
    await t.services.jobs.runDue();
    const [failed] = await w.alerts();
    assert.equal(failed!.status, 'failed');
    const [job] = await w.alertJobs();
    assert.equal(job!.state, 'dead');

    receiver.state.down = false;
    const retried = await w.call('POST', `/api/v1/jobs/${job!.id}/retry`);
    assert.equal(retried.statusCode, 200, retried.body);
    await t.services.jobs.runDue();
    const [sent] = await w.alerts();
    assert.deepEqual([sent!.id, sent!.status, sent!.error], [failed!.id, 'sent', null]);
    assert.equal(
      receiver.hits.filter((h) => h.path === '/toggle' && h.body.lead.id === lead.id).length,
      2,
      'the failed attempt and the retried one',
    );

    // Retried again (a done job may be), the sent alert is not sent twice.
    await w.ok('POST', `/api/v1/jobs/${job!.id}/retry`);
    await t.services.jobs.runDue();
    assert.equal(receiver.hits.filter((h) => h.body.lead?.id === lead.id).length, 2);
  });

  it('waits at least its backoff on a 429 with Retry-After 0, and as long as asked when that is longer', async () => {
    const t = get();
    const w = await hookedTenant(t, '/throttled');
    const lead = await w.lead({ email: 'slow@down.io' });
    const delays: number[] = [];
    for (const retryAfter of ['0', '', '120']) {
      receiver.state.retryAfter = retryAfter;
      t.clock.now += 60_000;
      await w.event(lead.id, 'chat_started');
      await t.services.jobs.runDue();
      const job = (await w.alertJobs()).find((j) => j.state === 'queued')!;
      delays.push(job.runAt - t.clock.now);
      assert.equal(job.attempts, 1, 'not run again at once');
      t.clock.now = job.runAt;
      receiver.state.retryAfter = undefined;
      await t.services.jobs.runDue();
    }
    // The jobs' backoff after a first attempt: 2 s ± 20 %.
    assert.ok(delays[0]! >= 1_600 && delays[0]! <= 2_400, `Retry-After 0: ${delays[0]} ms`);
    assert.ok(delays[1]! >= 1_600 && delays[1]! <= 2_400, `empty Retry-After: ${delays[1]} ms`);
    assert.equal(delays[2], 120_000, 'Retry-After 120');
    assert.deepEqual(
      (await w.alerts()).map((a) => a.status),
      ['sent', 'sent', 'sent'],
    );
  });
});

describeEachEngine('alert emails through SMTP (a real smtp-server on 127.0.0.1)', (engine) => {
  let received: ReceivedMail[] = [];
  let smtp: Awaited<ReturnType<typeof startSmtpInbox>> | undefined;
  let t: TestApp;
  before(async () => {
    smtp = await startSmtpInbox();
    received = smtp.received;
    t = await startApp(engine, {
      LEADLINE_SMTP_URL: smtp.url,
      LEADLINE_PUBLIC_URL: 'https://leads.acme.example/',
    });
  });
  after(async () => {
    await t?.close();
    await smtp?.close();
  });

  it("delivers a demo request alert to the owner's inbox", async () => {
    const w = await tenant(t);
    const owner = await w.user('Bob Seller', 'bob@acme.example');
    const lead = await w.lead({ email: 'ada@lovelace.io', firstName: 'Ada', ownerId: owner });
    await w.event(lead.id, 'demo_requested');
    await t.services.jobs.runDue();
    assert.equal(received.length, 1);
    assert.deepEqual(received[0]!.to, ['bob@acme.example']);
    assert.match(received[0]!.raw, /^Subject: Ada requested a demo\r$/m);
    // Bodies travel quoted-printable: undo its soft line breaks and escapes before looking inside.
    const body = received[0]!.raw
      .replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    assert.ok(body.includes(`Open the lead: https://leads.acme.example/leads/${lead.id}`), body);
    assert.deepEqual(await w.mailbox(), [], 'with SMTP configured nothing lands in the dev mailbox');
  });
});
