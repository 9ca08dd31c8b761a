import assert from 'node:assert/strict';
import { it } from 'node:test';
import { authHeaders, describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function api(t: TestApp, method: Method, url: string, payload?: unknown) {
  return t.app.inject({
    method,
    url,
    headers: authHeaders(t.key),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

// biome-ignore lint/suspicious/noExplicitAny: API answers are read field by field in the tests.
async function ok(t: TestApp, method: Method, url: string, payload?: unknown): Promise<any> {
  const response = await api(t, method, url, payload);
  assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
  return response.json();
}

const event = (t: TestApp, leadId: string, type: string, properties: Record<string, unknown> = {}) =>
  ok(t, 'POST', '/api/v1/events', { events: [{ type, leadId, occurredAt: t.clock.now, properties }] });

const MINUTE = 60_000;

describeEachEngine('speed-to-lead SLAs', (engine) => {
  const get = useApp(engine);
  const people = { manager: '', ada: '', grace: '' };

  it('takes the published policies and gives them back in the form it took them', async () => {
    const t = get();
    people.manager = (
      await ok(t, 'POST', '/api/v1/users', {
        name: 'Mia Manager',
        email: 'mia@sales.example',
        role: 'manager',
      })
    ).id;
    people.ada = (
      await ok(t, 'POST', '/api/v1/users', {
        name: 'Ada Rep',
        email: 'ada@sales.example',
        managerId: people.manager,
      })
    ).id;
    people.grace = (
      await ok(t, 'POST', '/api/v1/users', {
        name: 'Grace Rep',
        email: 'grace@sales.example',
        managerId: people.manager,
      })
    ).id;
    const team = await ok(t, 'POST', '/api/v1/teams', {
      name: 'Inbound',
      members: [{ userId: people.ada }, { userId: people.grace }],
    });
    await ok(t, 'PUT', '/api/v1/routing/rules', {
      rules: [{ name: 'Everyone to inbound', strategy: { type: 'round_robin', teamId: team.id } }],
    });
    const put = await ok(t, 'PUT', '/api/v1/sla/policies', {
      policies: [
        {
          id: 'hot-5',
          name: 'Hot or demo: 5 minutes',
          when: [{ temperature: 'hot' }, { activity: 'demo_requested' }],
          within: { minutes: 5 },
          warnBeforeMinutes: 2,
          onBreach: { notifyManager: true, reassign: true },
          task: { type: 'call' },
        },
        {
          id: 'mql-1h',
          name: 'MQL: 1 business hour',
          when: [{ stage: 'mql' }],
          within: { businessHours: 1 },
        },
      ],
    });
    assert.equal(put.policies.length, 2);
    assert.deepEqual(put.policies[0].within, { minutes: 5 });
    assert.deepEqual(put.policies[1].within, { businessMinutes: 60 });
    assert.deepEqual(await ok(t, 'GET', '/api/v1/sla/policies'), put);
  });

  it('refuses bad policies, naming the field', async () => {
    const t = get();
    const response = await api(t, 'PUT', '/api/v1/sla/policies', {
      policies: [
        { name: 'x', when: [{ temperature: 'boiling' }], within: { minutes: 5 }, warnBeforeMinutes: 9 },
      ],
    });
    assert.equal(response.statusCode, 422, response.body);
    assert.deepEqual(
      response.json().errors.map((e: { path: string }) => e.path),
      ['/policies/0/when/0/temperature', '/policies/0/warnBeforeMinutes'],
    );
    assert.equal((await ok(t, 'GET', '/api/v1/sla/policies')).policies.length, 2, 'nothing half-written');
    // Positive, but no whole millisecond: it would be stored as 0, which the API then refuses back.
    const tiny = await api(t, 'PUT', '/api/v1/sla/policies', {
      policies: [{ name: 'y', when: [{ stage: 'mql' }], within: { minutes: 0.000001 } }],
    });
    assert.equal(tiny.statusCode, 422, tiny.body);
    assert.deepEqual(
      tiny.json().errors.map((e: { path: string }) => e.path),
      ['/policies/0/within/minutes'],
    );
    // An id is a name for URLs and logs: not empty, no spaces or slashes.
    for (const id of ['', 'hot 5', 'a/b']) {
      const badId = await api(t, 'PUT', '/api/v1/sla/policies', {
        policies: [{ id, name: 'z', when: [{ stage: 'mql' }], within: { minutes: 5 } }],
      });
      assert.equal(badId.statusCode, 400, badId.body);
      assert.deepEqual(
        badId.json().errors.map((e: { path: string }) => e.path),
        ['/policies/0/id'],
      );
    }
    assert.equal((await ok(t, 'GET', '/api/v1/sla/policies')).policies.length, 2, 'nothing half-written');
  });

  it('starts a 5-minute timer on a demo request and meets it with the owner’s call', async () => {
    const t = get();
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'first@buyer.example', firstName: 'Fay' });
    assert.equal(lead.ownerId, people.ada, 'round robin starts with the first member');
    const created = t.clock.now;
    t.clock.now += MINUTE;
    await event(t, lead.id, 'demo_requested');
    let sla = await ok(t, 'GET', `/api/v1/leads/${lead.id}/sla`);
    assert.equal(sla.status, 'pending');
    // The demo request made the lead an MQL too: both policies run, the sooner due one leads.
    assert.deepEqual(sla.timers.map((x: { policyId: string }) => x.policyId).sort(), ['hot-5', 'mql-1h']);
    assert.equal(sla.dueAt, new Date(t.clock.now + 5 * MINUTE).toISOString());
    const hot = () => sla.timers.find((x: { policyId: string }) => x.policyId === 'hot-5');
    assert.equal(hot().policy, 'Hot or demo: 5 minutes');
    // The demo request also made the lead hot: either trigger of the policy started it.
    assert.ok(['activity:demo_requested', 'temperature:hot'].includes(hot().trigger));
    const tasks = await ok(t, 'GET', `/api/v1/tasks?leadId=${lead.id}`);
    assert.equal(tasks.data.length, 1, 'the hot policy gave the owner a call task');
    assert.equal(tasks.data[0].ownerId, people.ada);
    assert.equal(tasks.data[0].dueAt, sla.dueAt);

    // A second demo request before the touch does not restart the clock.
    t.clock.now += MINUTE;
    await event(t, lead.id, 'demo_requested');
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${lead.id}/sla`)).timers.length, 2);

    // Another rep's call is not the owner's touch.
    await event(t, lead.id, 'call_logged', { userId: people.grace });
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${lead.id}/sla`)).status, 'pending');

    t.clock.now += MINUTE;
    await event(t, lead.id, 'call_logged', { userId: people.ada });
    sla = await ok(t, 'GET', `/api/v1/leads/${lead.id}/sla`);
    assert.equal(sla.status, 'met');
    assert.deepEqual(
      sla.timers.map((x: { status: string; metBy: string }) => [x.status, x.metBy]),
      [
        ['met', people.ada],
        ['met', people.ada],
      ],
    );
    // The first touch was Grace's call, a minute before Ada's: time to first contact counts any rep.
    assert.equal(sla.timeToFirstContactMs, t.clock.now - MINUTE - created);
    const timeline = await ok(t, 'GET', `/api/v1/leads/${lead.id}/timeline`);
    const met = timeline.data.find((e: { type: string }) => e.type === 'sla_met');
    assert.equal(met.properties.withinMs, 2 * MINUTE);
    // Its breach check finds it met and does nothing.
    t.clock.now += 10 * MINUTE;
    await t.services.jobs.runDue();
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${lead.id}/sla`)).status, 'met');
  });

  it('breaches an untouched timer: the manager is told and the lead goes to the next rep with a new timer', async () => {
    const t = get();
    await ok(t, 'DELETE', '/api/v1/mailbox');
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'second@buyer.example', firstName: 'Sam' });
    assert.equal(lead.ownerId, people.grace);
    await event(t, lead.id, 'demo_requested');
    const started = t.clock.now;
    t.clock.now = started + 3 * MINUTE;
    await t.services.jobs.runDue();
    assert.equal(
      (await ok(t, 'GET', `/api/v1/leads/${lead.id}/sla`)).status,
      'pending',
      'warned, not breached',
    );
    t.clock.now = started + 5 * MINUTE;
    await t.services.jobs.runDue();

    const sla = await ok(t, 'GET', `/api/v1/leads/${lead.id}/sla`);
    const ofHot = sla.timers.filter((x: { policyId: string }) => x.policyId === 'hot-5');
    const [next, breached] = ofHot;
    assert.equal(breached.status, 'breached');
    assert.equal(breached.ownerId, people.grace);
    assert.deepEqual(breached.escalation, { notified: [people.manager], reassignedTo: people.ada });
    assert.equal(next.status, 'pending');
    assert.equal(next.ownerId, people.ada);
    assert.equal(next.trigger, 'reassigned');
    assert.equal(next.dueAt, new Date(t.clock.now + 5 * MINUTE).toISOString());
    assert.equal((await ok(t, 'GET', `/api/v1/leads/${lead.id}`)).ownerId, people.ada);

    const mailbox = await ok(t, 'GET', '/api/v1/mailbox');
    const breachMail = mailbox.data.find((m: { subject: string }) => m.subject.startsWith('SLA breached'));
    assert.ok(breachMail, JSON.stringify(mailbox.data));
    assert.deepEqual(breachMail.to, ['mia@sales.example']);
    const timeline = await ok(t, 'GET', `/api/v1/leads/${lead.id}/timeline`);
    const types = timeline.data.map((e: { type: string }) => e.type);
    assert.ok(types.includes('sla_breached'));
    assert.ok(types.includes('lead_assigned'));
  });

  it('counts met and breached timers and time to first contact', async () => {
    const t = get();
    const metrics = await ok(t, 'GET', '/api/v1/sla/metrics');
    const hot = metrics.policies.find((p: { policyId: string }) => p.policyId === 'hot-5');
    assert.equal(hot.met, 1);
    assert.equal(hot.breached, 1);
    assert.equal(hot.pending, 1);
    assert.equal(hot.metRate, 0.5);
    assert.equal(metrics.firstContact.leads, 1);
    const bad = await api(t, 'GET', '/api/v1/sla/metrics?from=yesterday');
    assert.equal(bad.statusCode, 422);
    assert.equal(bad.json().errors[0].path, '/query/from');
  });

  it('times a lead whose owner was deactivated, without giving that owner a task', async () => {
    const t = get();
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'third@buyer.example' });
    assert.ok(lead.ownerId);
    await ok(t, 'DELETE', `/api/v1/users/${lead.ownerId}`);
    await event(t, lead.id, 'demo_requested');
    const sla = await ok(t, 'GET', `/api/v1/leads/${lead.id}/sla`);
    assert.equal(sla.status, 'pending');
    assert.equal((await ok(t, 'GET', `/api/v1/tasks?leadId=${lead.id}`)).data.length, 0);
    await ok(t, 'PATCH', `/api/v1/users/${lead.ownerId}`, { active: true });
  });

  it('cancels the timer of a lead archived before its due time, without warning anyone', async () => {
    const t = get();
    await ok(t, 'DELETE', '/api/v1/mailbox');
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'fourth@buyer.example' });
    await event(t, lead.id, 'demo_requested');
    await ok(t, 'POST', `/api/v1/leads/${lead.id}/archive`);
    t.clock.now += 3 * MINUTE; // the warning's time
    await t.services.jobs.runDue();
    const warnings = (await ok(t, 'GET', '/api/v1/mailbox')).data.filter(
      (m: { subject: string }) =>
        m.subject.includes('fourth@buyer.example') && m.subject.includes('about to breach'),
    );
    assert.deepEqual(warnings, [], 'nobody is told to call an archived lead');
    t.clock.now += 58 * MINUTE; // past both policies' due times
    await t.services.jobs.runDue();
    const timers = (await ok(t, 'GET', `/api/v1/leads/${lead.id}/sla`)).timers;
    assert.ok(timers.length > 0);
    assert.ok(timers.every((x: { status: string }) => x.status === 'cancelled'));
  });

  it('warns the owner once, even when the warning job runs again', async () => {
    const t = get();
    await ok(t, 'DELETE', '/api/v1/mailbox');
    const lead = await ok(t, 'POST', '/api/v1/leads', { email: 'fifth@buyer.example' });
    await event(t, lead.id, 'demo_requested');
    t.clock.now += 3 * MINUTE;
    await t.services.jobs.runDue();
    const warningsOf = async () =>
      (await ok(t, 'GET', '/api/v1/mailbox')).data.filter(
        (m: { subject: string }) =>
          m.subject.includes('fifth@buyer.example') && m.subject.includes('about to breach'),
      );
    assert.equal((await warningsOf()).length, 1);
    const [job] = (await ok(t, 'GET', '/api/v1/jobs?kind=sla.warn&limit=500')).data.filter(
      (j: { payload: { timerId: string }; state: string }) => j.state === 'done',
    );
    await ok(t, 'POST', `/api/v1/jobs/${job.id}/retry`);
    t.clock.now += 10_000;
    await t.services.jobs.runDue();
    assert.equal((await warningsOf()).length, 1, 'the retried job warned nobody again');
    await event(t, lead.id, 'call_logged', { userId: lead.ownerId });
  });

  it('rounds fractional minutes to whole milliseconds', async () => {
    const t = get();
    const current = (await ok(t, 'GET', '/api/v1/sla/policies')).policies;
    const put = await ok(t, 'PUT', '/api/v1/sla/policies', {
      policies: [
        ...current,
        { name: 'Odd', when: [{ activity: 'chat_started' }], within: { minutes: 0.33333 } },
      ],
    });
    assert.equal(put.policies[2].within.minutes * 60_000, 20_000);
    await ok(t, 'PUT', '/api/v1/sla/policies', { policies: current });
  });

  it('has nothing to say about a lead of another workspace, or none', async () => {
    const t = get();
    assert.equal((await api(t, 'GET', '/api/v1/leads/no-such-lead/sla')).statusCode, 404);
  });
});
