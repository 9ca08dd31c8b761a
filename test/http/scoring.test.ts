import assert from 'node:assert/strict';
import { it } from 'node:test';
import { authHeaders, describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

/** Scoring through the HTTP API: the published example end to end, decay, explanations, models. */

const DAY = 24 * 60 * 60 * 1000;

async function api(t: TestApp, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, headers = {}) {
  return t.app.inject({
    method,
    url,
    headers: authHeaders(t.key, headers),
    ...(payload === undefined
      ? {}
      : typeof payload === 'string'
        ? { payload }
        : { payload: payload as object }),
  });
}

async function ok(t: TestApp, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) {
  const response = await api(t, method, url, payload);
  assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
  return response.json();
}

/** A lead who matches every fit rule of the default model: 10 + 15 + 20 + 5 = 50 fit points. */
const idealLead = {
  email: 'dana@northwind.io',
  firstName: 'Dana',
  jobTitle: 'VP Marketing',
  companySize: 200,
  industry: 'Computer Software',
  country: 'US',
};

describeEachEngine('scoring', (engine) => {
  const get = useApp(engine);

  it('reproduces the published example: fit, behaviour, the 100 cap, and exact decay after one half-life', async () => {
    const t = get();
    const lead = await ok(t, 'POST', '/api/v1/leads', idealLead);
    assert.equal(lead.fitScore, 50);
    assert.equal(lead.score, 50);
    assert.equal(lead.grade, 'A4');
    // The default stage rules make a lead with a score of 50 an MQL at once.
    assert.equal(lead.stage, 'mql');

    const events = [
      { type: 'content_downloaded', leadId: lead.id },
      { type: 'page_view', leadId: lead.id, properties: { url: 'https://northwind.io/pricing?plan=pro' } },
      { type: 'webinar_attended', leadId: lead.id },
      ...Array.from({ length: 5 }, () => ({ type: 'email_opened', leadId: lead.id })),
    ];
    await ok(t, 'POST', '/api/v1/events', { events });

    const scored = await ok(t, 'GET', `/api/v1/leads/${lead.id}`);
    assert.equal(scored.behaviourScore, 5 + 25 + 15 + 10);
    assert.equal(scored.score, 100, '105 points, capped at 100');
    assert.equal(scored.grade, 'A1');
    assert.equal(scored.temperature, 'hot', 'a pricing page view is high intent');

    t.clock.now += 30 * DAY; // one half-life of the default model
    const later = await ok(t, 'GET', `/api/v1/leads/${lead.id}`);
    assert.equal(later.behaviourScore, 27.5);
    assert.equal(later.score, 77.5);

    const explained = await ok(t, 'GET', `/api/v1/leads/${lead.id}/score`);
    assert.equal(explained.score, 77.5);
    const rule = (id: string) => explained.rules.find((r: { id: string }) => r.id === id);
    assert.deepEqual(
      [rule('pricing-visit').pointsThen, rule('pricing-visit').pointsNow, rule('pricing-visit').kind],
      [25, 12.5, 'behaviour'],
    );
    assert.equal(rule('email-opens').count, 1, 'the 5-opens rule fired once');
    assert.equal(rule('senior-title').pointsNow, 10, 'fit does not decay');
    assert.equal(rule('pricing-visit').lastAt, new Date(t.clock.now - 30 * DAY).toISOString());
  });

  it('records the stage move and the temperature change on the timeline, with their cause', async () => {
    const t = get();
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'sam@example.org' });
    assert.equal(lead.stage, 'lead');
    await ok(t, 'POST', '/api/v1/events', { events: [{ type: 'demo_requested', leadId: lead.id }] });
    const after = await ok(t, 'GET', `/api/v1/leads/${lead.id}`);
    assert.equal(after.stage, 'mql');
    assert.equal(after.temperature, 'hot');
    const timeline = (await ok(t, 'GET', `/api/v1/leads/${lead.id}/timeline`)).data;
    const stage = timeline.find((e: { type: string }) => e.type === 'stage_changed');
    assert.deepEqual(
      [stage.properties.from, stage.properties.to, stage.properties.cause, stage.properties.ruleId],
      ['lead', 'mql', 'rule', 'mql-demo'],
    );
    const temperature = timeline.find((e: { type: string }) => e.type === 'temperature_changed');
    assert.deepEqual([temperature.properties.from, temperature.properties.to], ['cold', 'hot']);
  });

  // One batch's leads are written together (on PostgreSQL in one statement): each must end
  // exactly as if its events had come alone, whichever of stage, temperature and state moved.
  it('scores every lead of one event batch as if its events came one request at a time', async () => {
    const t = get();
    const plans: Array<{ profile: Record<string, unknown>; events: string[] }> = [
      { profile: { jobTitle: 'Engineer' }, events: ['demo_requested'] }, // stage and temperature move
      { profile: idealLead, events: ['email_opened', 'email_opened'] }, // an MQL already; score only
      { profile: { jobTitle: 'Student' }, events: ['content_downloaded', 'webinar_attended'] },
      { profile: {}, events: ['page_view'] }, // relevant to no rule of the default model
    ];
    const leadsOf = async (prefix: string) =>
      Promise.all(
        plans.map(({ profile }, i) =>
          ok(t, 'POST', '/api/v1/leads', { ...profile, email: `${prefix}${i}@batch.example` }),
        ),
      );
    const together = await leadsOf('together');
    const alone = await leadsOf('alone');
    const eventsOf = (leads: Array<{ id: string }>) =>
      plans.flatMap(({ events }, i) => events.map((type) => ({ type, leadId: leads[i]!.id })));
    await ok(t, 'POST', '/api/v1/events', { events: eventsOf(together) });
    for (const event of eventsOf(alone)) await ok(t, 'POST', '/api/v1/events', { events: [event] });

    const fields = ['score', 'fitScore', 'behaviourScore', 'grade', 'stage', 'temperature', 'pql'];
    for (let i = 0; i < plans.length; i++) {
      const [a, b] = await Promise.all(
        [together[i]!, alone[i]!].map((lead) => ok(t, 'GET', `/api/v1/leads/${lead.id}`)),
      );
      for (const field of fields) assert.deepEqual(a[field], b[field], `lead ${i}: ${field}`);
      const [x, y] = await Promise.all(
        [together[i]!, alone[i]!].map((lead) => ok(t, 'GET', `/api/v1/leads/${lead.id}/score`)),
      );
      const fired = (s: { rules: Array<{ id: string; pointsThen: number; count: number }> }) =>
        s.rules.map((r) => [r.id, r.pointsThen, r.count]);
      assert.deepEqual(fired(x), fired(y), `lead ${i}: rules fired`);
    }
    const first = await ok(t, 'GET', `/api/v1/leads/${together[0]!.id}`);
    assert.deepEqual(
      [first.stage, first.temperature],
      ['mql', 'hot'],
      'the batch moved stage and temperature',
    );
  });

  it('applies an event sent twice with the same id once', async () => {
    const t = get();
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'twice@example.org' });
    const event = { id: 'evt:webinar-1', type: 'webinar_attended', leadId: lead.id };
    await ok(t, 'POST', '/api/v1/events', { events: [event] });
    await ok(t, 'POST', '/api/v1/events', { events: [event, event] });
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${lead.id}`)).behaviourScore, 15);
  });

  it('counts an event stamped ahead of the server clock from now: never more than its points or its cap', async () => {
    const t = get();
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'ahead@example.org' });
    const ahead = new Date(t.clock.now + 23 * 60 * 60 * 1000).toISOString();
    await ok(t, 'POST', '/api/v1/events', {
      events: [1, 2, 3].map(() => ({
        type: 'page_view',
        leadId: lead.id,
        occurredAt: ahead,
        properties: { url: 'https://northwind.io/pricing' },
      })),
    });
    const explained = await ok(t, 'GET', `/api/v1/leads/${lead.id}/score`);
    const pricing = explained.rules.find((r: { id: string }) => r.id === 'pricing-visit');
    assert.ok(pricing.pointsNow <= pricing.pointsThen, JSON.stringify(pricing));
    assert.equal(explained.behaviourScore, 50, 'the cap holds');
  });

  it('scores events that arrive out of time order as if they had come in order (caps are judged in time)', async () => {
    const t = get();
    const visit = (leadId: string, at: number) => ({
      type: 'page_view',
      leadId,
      occurredAt: at,
      properties: { url: 'https://northwind.io/pricing' },
    });
    const old = [1, 2, 3].map((i) => t.clock.now - 30 * DAY + i);
    const inOrder = await ok(t, 'POST', '/api/v1/leads', { email: 'in-order@example.org' });
    await ok(t, 'POST', '/api/v1/events', { events: old.map((at) => visit(inOrder.id, at)) });
    await ok(t, 'POST', '/api/v1/events', { events: [visit(inOrder.id, t.clock.now)] });
    const late = await ok(t, 'POST', '/api/v1/leads', { email: 'late@example.org' });
    await ok(t, 'POST', '/api/v1/events', { events: [visit(late.id, t.clock.now)] });
    // The three older visits arrive afterwards (a backfill, a delayed sender).
    await ok(t, 'POST', '/api/v1/events', { events: old.map((at) => visit(late.id, at)) });
    const [a, b] = [
      await ok(t, 'GET', `/api/v1/leads/${inOrder.id}/score`),
      await ok(t, 'GET', `/api/v1/leads/${late.id}/score`),
    ];
    assert.equal(a.behaviourScore, 50, 'the decayed 25 topped up to the cap');
    assert.equal(b.behaviourScore, a.behaviourScore);
    const timeline = (await ok(t, 'GET', `/api/v1/leads/${late.id}/timeline?limit=50`)).data;
    assert.equal(timeline.filter((e: { type: string }) => e.type === 'page_view').length, 4);
  });

  it('a threshold counts as reached by events stamped up to a day ago, in order or late; older ones and rescores judge the score now', async () => {
    const shared = get();
    const workspace = await shared.services.workspaces.createWorkspace('reached', 'Reached');
    const { key } = await shared.services.workspaces.createKey(workspace.id, 'reached admin', 'admin');
    const t: TestApp = { ...shared, key, workspaceId: workspace.id };
    const HOUR = 60 * 60 * 1000;
    const at = (ago: number) => new Date(t.clock.now - ago).toISOString();
    const send = (leadId: string, type: string, ago: number) =>
      ok(t, 'POST', '/api/v1/events', { events: [{ type, leadId, occurredAt: at(ago) }] });
    // Fit 35 (job title 10, industry 20, location 5) and a webinar (+15): 50 when it happened.
    const fit35 = { jobTitle: 'VP Marketing', industry: 'Computer Software', country: 'US' };
    const synced = await ok(t, 'POST', '/api/v1/leads', { email: 'synced@northwind.io', ...fit35 });
    assert.equal(synced.fitScore, 35);
    await send(synced.id, 'webinar_attended', 2 * HOUR);
    const mql = await ok(t, 'GET', `/api/v1/leads/${synced.id}`);
    assert.ok(mql.score < 50, `decayed a little since: ${mql.score}`);
    assert.equal(mql.stage, 'mql', 'it reached 50 two hours ago');
    const change = (await ok(t, 'GET', `/api/v1/leads/${synced.id}/stages`)).changes.at(-1);
    assert.deepEqual(
      [change.to, change.cause.reason, change.cause.detail],
      ['mql', 'score', 'score 50 ≥ 50'],
    );

    // Late: a second webinar (a capped rule: order matters) arrives after one it happened just
    // before, and is replayed with the lead's history.
    const late = await ok(t, 'POST', '/api/v1/leads', {
      email: 'late@northwind.io',
      industry: 'Computer Software',
    });
    assert.equal(late.fitScore, 20);
    await send(late.id, 'webinar_attended', 2 * HOUR);
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${late.id}`)).stage, 'lead');
    await send(late.id, 'webinar_attended', 2 * HOUR + 1);
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${late.id}`)).stage, 'mql');

    // A backfill of old history is judged by the score now.
    const old = await ok(t, 'POST', '/api/v1/leads', { email: 'old@northwind.io', ...fit35 });
    await send(old.id, 'webinar_attended', 3 * 24 * HOUR);
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${old.id}`)).stage, 'lead');

    // So is a rescore for a model change: a webinar worth 15 from now on does not make a lead
    // an MQL for the 50 it would have had two hours ago.
    const model = (await ok(t, 'GET', '/api/v1/scoring/model')).model;
    const cheaper = structuredClone(model);
    cheaper.behaviour.find((r: { id: string }) => r.id === 'webinar-attended').points = 10;
    await ok(t, 'PUT', '/api/v1/scoring/model', cheaper);
    await t.services.rescore.settled(t.workspaceId);
    const rescored = await ok(t, 'POST', '/api/v1/leads', { email: 'rescored@northwind.io', ...fit35 });
    await send(rescored.id, 'webinar_attended', 2 * HOUR);
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${rescored.id}`)).stage, 'lead', '35 + 10');
    await ok(t, 'PUT', '/api/v1/scoring/model', model);
    await t.services.rescore.settled(t.workspaceId);
    const after = await ok(t, 'GET', `/api/v1/leads/${rescored.id}`);
    assert.ok(after.score > 49.9 && after.score < 50, `${after.score}`);
    assert.equal(after.stage, 'lead');
  });

  it('saves models as versions (JSON or YAML), rescores every lead, and refuses a bad model naming the field', async () => {
    // A workspace of its own: the model and the lead count concern only this test.
    const shared = get();
    const workspace = await shared.services.workspaces.createWorkspace('models', 'Models');
    const { key } = await shared.services.workspaces.createKey(workspace.id, 'models admin', 'admin');
    const t: TestApp = { ...shared, key, workspaceId: workspace.id };
    const lead = await ok(t, 'POST', '/api/v1/leads', idealLead);
    // A lead merged into it is no longer live: no rescore counts or rescores it.
    const duplicate = await ok(t, 'POST', '/api/v1/leads', { email: 'dana.w@northwind.io' });
    await ok(t, 'POST', `/api/v1/leads/${lead.id}/merge`, { otherId: duplicate.id });
    // Only the pricing page view matches a rule with a condition on its properties: a rescore
    // reads those properties and leaves out the ones no rule looks at.
    await ok(t, 'POST', '/api/v1/events', {
      events: [
        { type: 'webinar_attended', leadId: lead.id, properties: { url: 'https://northwind.io/pricing' } },
        { type: 'page_view', leadId: lead.id, properties: { url: 'https://northwind.io/pricing' } },
        { type: 'page_view', leadId: lead.id, properties: { url: 'https://northwind.io/blog' } },
      ],
    });
    assert.equal((await ok(t, 'GET', '/api/v1/scoring/model')).version, 0);

    const bad = await api(t, 'PUT', '/api/v1/scoring/model', {
      behaviour: [{ id: 'webinar', type: 'webinar_attended', points: 'lots' }],
    });
    assert.equal(bad.statusCode, 422, bad.body);
    assert.match(bad.headers['content-type'] as string, /application\/problem\+json/);
    assert.ok(
      bad.json().errors.some((e: { path: string }) => e.path === '/behaviour/0/points'),
      bad.body,
    );

    const yaml = [
      'halfLifeDays: 10',
      'fit:',
      '  - id: big-company',
      '    points: 40',
      '    when: { companySize: { min: 100 } }',
      'behaviour:',
      '  - id: webinar',
      '    type: webinar_attended',
      '    points: 30',
      '  - id: pricing',
      '    type: page_view',
      "    where: { url: { matches: ['/pricing*'] } }",
      '    points: 20',
    ].join('\n');
    const plain = await api(t, 'PUT', '/api/v1/scoring/model', yaml, { 'content-type': 'text/plain' });
    assert.equal(plain.statusCode, 415, plain.body);
    assert.match(
      plain.json().detail,
      /YAML \(application\/yaml\)/,
      'names both kinds of body the route takes',
    );
    const dry = await api(t, 'PUT', '/api/v1/scoring/model?dryRun=true', yaml, {
      'content-type': 'application/yaml',
    });
    assert.equal(dry.statusCode, 200, dry.body);
    assert.deepEqual([dry.json().version, dry.json().rescore.dryRun, dry.json().rescore.total], [0, true, 1]);
    // 50 fit + 15 webinar + 25 pricing page = 90 (band 3 of 0-3) would become 40 + 30 + 20 = 90
    // (band 3): no band change.
    assert.equal(dry.json().rescore.bandChanged, 0);
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${lead.id}`)).score, 90, 'a dry run writes nothing');

    const saved = await api(t, 'PUT', '/api/v1/scoring/model', yaml, { 'content-type': 'application/yaml' });
    assert.equal(saved.statusCode, 200, saved.body);
    assert.equal(saved.json().version, 1);
    await t.services.rescore.settled(t.workspaceId);
    const progress = (await ok(t, 'GET', '/api/v1/scoring/rescore')).latest;
    assert.deepEqual([progress.status, progress.done, progress.total], ['done', 1, 1]);

    const rescored = await ok(t, 'GET', `/api/v1/leads/${lead.id}`);
    assert.deepEqual([rescored.fitScore, rescored.behaviourScore, rescored.score], [40, 50, 90]);
    const model = await api(t, 'GET', '/api/v1/scoring/model?format=yaml');
    assert.match(model.body, /halfLifeDays: 10/);
    assert.equal((await ok(t, 'GET', '/api/v1/scoring/model/versions')).data.length, 1);
  });

  it("matches model text typed in any Unicode form, reads only a lead's own properties, and refuses an empty model", async () => {
    const shared = get();
    const workspace = await shared.services.workspaces.createWorkspace('model-text', 'Model text');
    const { key } = await shared.services.workspaces.createKey(workspace.id, 'model-text admin', 'admin');
    const t: TestApp = { ...shared, key, workspaceId: workspace.id };
    const saved = await api(t, 'PUT', '/api/v1/scoring/model', {
      fit: [
        // Decomposed, as a macOS keyboard may type them: lead text is stored composed.
        { id: 'energy', points: 20, when: { industry: { in: ['e\u0301nergie'] } } },
        { id: 'zurich', points: 5, when: { city: { matches: ['Zu\u0308rich'] } } },
        // Names a property may have, and a plain object inherits.
        { id: 'constructor', points: 7, when: { 'properties.constructor': { exists: true } } },
        { id: 'to-string', points: 3, when: { 'properties.toString': { exists: true } } },
      ],
      behaviour: [],
      negative: [{ id: 'competitor', points: -30, when: { email: { domainType: ['competitor'] } } }],
      competitorDomains: ['müller.de'],
    });
    assert.equal(saved.statusCode, 200, saved.body);
    const lead = await ok(t, 'POST', '/api/v1/leads', {
      email: 'ana@energie.example',
      industry: 'énergie',
      city: 'Zürich',
    });
    assert.equal(lead.fitScore, 25, 'the two text rules and nothing for properties it does not have');
    const competitor = await ok(t, 'POST', '/api/v1/leads', { email: 'spy@müller.de' });
    assert.equal(
      competitor.negativeScore,
      -30,
      'a competitor domain written in Unicode matches the punycode the lead is stored with',
    );
    const own = await ok(t, 'POST', '/api/v1/leads', {
      email: 'own@example.org',
      properties: { constructor: 'yes' },
    });
    assert.equal(own.fitScore, 7);

    for (const body of [{}, { halfLifeDays: 7 }]) {
      const empty = await api(t, 'PUT', '/api/v1/scoring/model', body);
      assert.equal(empty.statusCode, 422, empty.body);
      assert.deepEqual(
        empty.json().errors.map((e: { path: string }) => e.path),
        ['/'],
      );
    }
    const blankYaml = await api(t, 'PUT', '/api/v1/scoring/model', '# nothing here\n', {
      'content-type': 'application/yaml',
    });
    assert.equal(blankYaml.statusCode, 422, blankYaml.body);
    // Latin-1 bytes (M\xfcnchen): decoded leniently they would be saved as a value no lead has.
    const latin1 = Buffer.from(
      'fit:\n  - id: a\n    points: 5\n    when: { city: { in: [M\xfcnchen] } }\n',
      'latin1',
    );
    const notUtf8 = await api(t, 'PUT', '/api/v1/scoring/model', latin1, {
      'content-type': 'application/yaml',
    });
    assert.equal(notUtf8.statusCode, 422, notUtf8.body);
    assert.match(notUtf8.headers['content-type'] as string, /application\/problem\+json/);
    assert.deepEqual(
      notUtf8.json().errors.map((e: { path: string }) => e.path),
      ['/'],
    );
    assert.equal(
      (await ok(t, 'GET', '/api/v1/scoring/model')).version,
      saved.json().version,
      'nothing saved',
    );
  });

  it('filters lists by the exact score now and by temperature; decay cools a hot lead down and the timeline records it', async () => {
    const shared = get();
    const workspace = await shared.services.workspaces.createWorkspace('decay', 'Decay');
    const { key } = await shared.services.workspaces.createKey(workspace.id, 'decay admin', 'admin');
    const t: TestApp = { ...shared, key, workspaceId: workspace.id };
    const hot = await ok(t, 'POST', '/api/v1/leads', { email: 'hot@example.org' });
    const cold = await ok(t, 'POST', '/api/v1/leads', { email: 'cold@example.org' });
    const pricing = { url: 'https://example.org/pricing' };
    await ok(t, 'POST', '/api/v1/events', {
      events: [
        { type: 'page_view', leadId: hot.id, properties: pricing },
        { type: 'webinar_attended', leadId: hot.id },
      ],
    });
    const ids = async (query: string) =>
      (await ok(t, 'GET', `/api/v1/leads?${query}`)).data.map((l: { id: string }) => l.id).sort();
    assert.deepEqual(await ids('minScore=40'), [hot.id], '25 + 15 = 40 points');
    assert.deepEqual(await ids('minScore=10'), [hot.id]);
    assert.deepEqual(await ids('temperature=hot'), [hot.id]);
    assert.deepEqual(await ids('temperature=cold'), [cold.id]);

    t.clock.now += 30 * DAY; // one half-life: 20 points left
    assert.deepEqual(await ids('minScore=40'), [], 'the filter sees the decayed score');
    assert.deepEqual(await ids('minScore=20'), [hot.id]);

    // Decay alone: no event arrives, the sweeper records the drop (serve runs it every minute).
    const settled = await t.services.leads.settleTemperatures(
      await t.services.workspaces.getWorkspace(workspace.id),
    );
    assert.equal(settled, 1);
    const lead = await ok(t, 'GET', `/api/v1/leads/${hot.id}`);
    assert.equal(lead.temperature, 'warm');
    assert.deepEqual(await ids('temperature=hot'), []);
    const timeline = (await ok(t, 'GET', `/api/v1/leads/${hot.id}/timeline`)).data;
    const cooled = timeline.find(
      (e: { type: string; properties: { to: string } }) =>
        e.type === 'temperature_changed' && e.properties.to === 'warm',
    );
    assert.equal(cooled.properties.from, 'hot');

    const bad = await api(t, 'GET', '/api/v1/leads?minScore=101');
    assert.equal(bad.statusCode, 400, bad.body);
  });

  it('keeps a lead that sales rejected out of MQL while its score merely stays high; a new intent brings it back', async () => {
    const t = get();
    const lead = await ok(t, 'POST', '/api/v1/leads', { ...idealLead, email: 'held@northwind.io' });
    assert.equal(lead.stage, 'mql', 'fit 50 reaches the MQL threshold');
    const rejected = await ok(t, 'POST', `/api/v1/leads/${lead.id}/reject`, { reason: 'bad_timing' });
    assert.equal(rejected.stage, 'lead');

    await ok(t, 'POST', '/api/v1/events', { events: [{ type: 'email_opened', leadId: lead.id }] });
    await ok(t, 'POST', '/api/v1/leads', { email: 'held@northwind.io', city: 'Boston' });
    assert.equal(
      (await ok(t, 'GET', `/api/v1/leads/${lead.id}`)).stage,
      'lead',
      'no re-promotion by score alone',
    );

    await ok(t, 'POST', '/api/v1/events', { events: [{ type: 'demo_requested', leadId: lead.id }] });
    const back = await ok(t, 'GET', `/api/v1/leads/${lead.id}`);
    assert.equal(back.stage, 'mql', 'a demo request is a new reason');
    const history = await ok(t, 'GET', `/api/v1/leads/${lead.id}/stages`);
    assert.ok(JSON.stringify(history).includes('mql-demo'), 'the move back names the activity rule');
  });
});
