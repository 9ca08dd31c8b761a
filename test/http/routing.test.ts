import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createHttpApp, type Services } from '../../src/app.ts';
import type { Signal } from '../../src/signals/bus.ts';
import {
  authHeaders,
  describeEachEngine,
  startTwoProcesses,
  type TestApp,
  useApp,
} from '../support/engines.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Entry = { type: string; occurredAt: string; properties: Record<string, unknown> };

function send(
  t: TestApp,
  method: Method,
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
) {
  return t.app.inject({
    method,
    url,
    headers: authHeaders(t.key, headers),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

async function ok(t: TestApp, method: Method, url: string, payload?: unknown) {
  const response = await send(t, method, url, payload);
  assert.ok(response.statusCode < 300, `${method} ${url}: ${response.body}`);
  return response.json();
}

function assertProblem(response: { statusCode: number; body: string }, status: number, path?: string) {
  assert.equal(response.statusCode, status, response.body);
  if (path) {
    const paths = (JSON.parse(response.body).errors ?? []).map((e: { path: string }) => e.path);
    assert.ok(paths.includes(path), `expected an error at ${path}: ${response.body}`);
  }
}

const HOUR = 3_600_000;
let emails = 0;

/** A new user; returns its id. */
async function user(t: TestApp, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  return (
    await ok(t, 'POST', '/api/v1/users', {
      name,
      email: `${name.toLowerCase()}-${++emails}@sales.io`,
      ...extra,
    })
  ).id;
}

async function team(t: TestApp, name: string, members: Array<{ userId: string; weight?: number }>) {
  return (await ok(t, 'POST', '/api/v1/teams', { name, members })).id as string;
}

async function setRules(t: TestApp, rules: unknown[], fallbackOwnerId: string | null = null) {
  await ok(t, 'PUT', '/api/v1/routing/rules', { rules });
  await ok(t, 'PUT', '/api/v1/routing/settings', { fallbackOwnerId });
}

/** Captures a lead; returns its id. */
async function capture(t: TestApp, fields: Record<string, unknown> = {}): Promise<string> {
  return (await ok(t, 'POST', '/api/v1/leads', { email: `lead-${++emails}@example.org`, ...fields })).id;
}

const ownerOf = async (t: TestApp, id: string) => (await ok(t, 'GET', `/api/v1/leads/${id}`)).ownerId;

/** The lead's `lead_assigned` entries, oldest first. */
async function assignments(t: TestApp, id: string): Promise<Entry['properties'][]> {
  const timeline = await ok(t, 'GET', `/api/v1/leads/${id}/timeline?limit=500`);
  return (timeline.data as Entry[])
    .filter((e) => e.type === 'lead_assigned')
    .reverse()
    .map((e) => e.properties);
}

describeEachEngine('lead routing', (engine) => {
  const get = useApp(engine);
  const signals: Signal[] = [];

  before(() => {
    get().services.signals.subscribe(
      'routing-test',
      async (_trx, _workspaceId, emitted) => {
        for (const signal of emitted) if (signal.type === 'lead.assigned') signals.push(signal);
      },
      async () => false,
    );
  });

  it('runs the rules in order: the first that matches and finds someone wins', async () => {
    const t = get();
    const alice = await user(t, 'Alice');
    const bob = await user(t, 'Bob');
    await setRules(t, [
      {
        id: 'enterprise',
        name: 'Enterprise',
        when: { companySize: { min: 1000 } },
        strategy: { type: 'owner', userId: alice },
      },
      { id: 'everyone', name: 'Everyone', strategy: { type: 'owner', userId: bob } },
    ]);
    const big = await capture(t, { companySize: 5000 });
    const small = await capture(t, { companySize: 20 });
    assert.equal(await ownerOf(t, big), alice);
    assert.equal(await ownerOf(t, small), bob);
    assert.deepEqual(await assignments(t, big), [
      {
        ownerId: alice,
        previousOwnerId: null,
        cause: 'rule',
        ruleId: 'enterprise',
        ruleName: 'Enterprise',
        strategy: 'owner',
        reason: 'fixed owner',
      },
    ]);
    const signal = signals.find((s) => s.leadId === big);
    assert.equal(signal?.data.ownerId, alice);
    assert.equal(signal?.data.ruleId, 'enterprise');

    // Alice away: her rule finds nobody, the next rule takes the lead.
    await ok(t, 'PATCH', `/api/v1/users/${alice}`, {
      outOfOffice: [{ from: t.clock.now - HOUR, to: t.clock.now + HOUR }],
    });
    const whileAway = await capture(t, { companySize: 5000 });
    assert.equal(await ownerOf(t, whileAway), bob);
    assert.equal((await assignments(t, whileAway))[0]!.ruleId, 'everyone');
  });

  it('keeps the rules as given: GET gives back what PUT takes', async () => {
    const t = get();
    const alice = await user(t, 'Ann');
    const squad = await team(t, 'Round trip', [{ userId: alice }]);
    const rules = [
      {
        id: 'a',
        name: 'Hot MQLs',
        enabled: true,
        when: { stage: { in: ['mql'] }, temperature: { in: ['hot'] }, score: { min: 10 } },
        strategy: { type: 'round_robin', teamId: squad },
      },
      {
        id: 'b',
        name: 'Territories',
        enabled: false,
        strategy: {
          type: 'territory',
          territories: [
            { countries: ['DE'], userId: alice },
            { regions: ['NA'], teamId: squad },
          ],
        },
      },
      { id: 'c', name: 'Accounts', enabled: true, strategy: { type: 'account' } },
    ];
    const put = await ok(t, 'PUT', '/api/v1/routing/rules', { rules });
    assert.deepEqual(put.rules, rules);
    const got = await ok(t, 'GET', '/api/v1/routing/rules');
    assert.deepEqual(got.rules, rules);
    await ok(t, 'PUT', '/api/v1/routing/rules', { rules: got.rules });
    const made = await ok(t, 'PUT', '/api/v1/routing/rules', {
      rules: [{ name: 'No id', strategy: { type: 'account' } }],
    });
    assert.match(made.rules[0].id, /^[0-9a-f-]{36}$/);
    assert.equal(made.rules[0].enabled, true);

    const unknown = await send(t, 'PUT', '/api/v1/routing/rules', {
      rules: [
        { name: 'X', strategy: { type: 'owner', userId: 'nobody' } },
        { name: 'Y', strategy: { type: 'round_robin', teamId: 'no-team' } },
        { name: 'Z', when: { stage: { in: ['nowhere'] } }, strategy: { type: 'round_robin' } },
      ],
    });
    assertProblem(unknown, 422, '/rules/2/when/stage/in/0');
    assertProblem(unknown, 422, '/rules/2/strategy/teamId');
    const refs = await send(t, 'PUT', '/api/v1/routing/rules', {
      rules: [
        { name: 'X', strategy: { type: 'owner', userId: 'nobody' } },
        { name: 'Y', strategy: { type: 'round_robin', teamId: 'no-team' } },
      ],
    });
    assertProblem(refs, 422, '/rules/0/strategy/userId');
    assertProblem(refs, 422, '/rules/1/strategy/teamId');
    assertProblem(
      await send(t, 'PUT', '/api/v1/routing/settings', { fallbackOwnerId: 'nobody' }),
      422,
      '/fallbackOwnerId',
    );
    assertProblem(
      await send(t, 'PUT', '/api/v1/routing/rules', { rules: [{ name: 'X', strategy: { type: 'coin' } }] }),
      400,
    );
    // An id is a name for URLs and logs: not empty, no spaces or slashes.
    for (const id of ['', 'two words', 'a/b']) {
      assertProblem(
        await send(t, 'PUT', '/api/v1/routing/rules', {
          rules: [{ id, name: 'X', strategy: { type: 'account' } }],
        }),
        400,
        '/rules/0/id',
      );
    }
    assert.deepEqual(
      (await ok(t, 'GET', '/api/v1/routing/rules')).rules,
      made.rules,
      'refused lists change nothing',
    );
    const { key } = await t.services.workspaces.createKey(t.workspaceId, 'writer', 'write');
    const forbidden = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/routing/rules',
      headers: authHeaders(key),
      payload: { rules: [] },
    });
    assert.equal(forbidden.statusCode, 403);
  });

  it('takes weighted turns over a team, in a fixed order, skipping who is away, off or inactive', async () => {
    const t = get();
    const ann = await user(t, 'Ann');
    const ben = await user(t, 'Ben');
    const cat = await user(t, 'Cat');
    const squad = await team(t, 'Squad', [
      { userId: ann, weight: 2 },
      { userId: ben, weight: 1 },
    ]);
    await setRules(t, [{ id: 'rr', name: 'Round robin', strategy: { type: 'round_robin', teamId: squad } }]);
    const owners: string[] = [];
    for (let i = 0; i < 6; i++) owners.push(await ownerOf(t, await capture(t)));
    assert.deepEqual(owners, [ann, ben, ann, ann, ben, ann]);
    const last = await assignments(t, (await ok(t, 'GET', '/api/v1/leads?limit=1')).data[0].id);
    assert.equal(last[0]!.strategy, 'round_robin');
    assert.equal(last[0]!.reason, 'round robin over team Squad');

    // Ben outside his working hours (none on Thursdays), Cat inactive: Ann takes every turn.
    await ok(t, 'PATCH', `/api/v1/teams/${squad}`, {
      members: [
        { userId: ann, weight: 1 },
        { userId: ben, weight: 1 },
        { userId: cat, weight: 1 },
      ],
    });
    await ok(t, 'PATCH', `/api/v1/users/${ben}`, { workingHours: { mon: [['09:00', '17:00']] } });
    await ok(t, 'DELETE', `/api/v1/users/${cat}`);
    for (let i = 0; i < 3; i++) assert.equal(await ownerOf(t, await capture(t)), ann);
    // Ann away too: nobody is available, and with no fallback the lead stays unassigned.
    await ok(t, 'PATCH', `/api/v1/users/${ann}`, {
      outOfOffice: [{ from: t.clock.now - HOUR, to: t.clock.now + HOUR }],
    });
    const orphan = await capture(t);
    assert.equal(await ownerOf(t, orphan), null);
    assert.deepEqual(await assignments(t, orphan), []);
  });

  it('skips reps at capacity: daily since their local midnight, and the rolling 30 days', async () => {
    const t = get();
    // 2026-01-01T00:00Z is 09:00 on Thursday in Tokyo: Dee's day started at 15:00Z the day before.
    const dee = await user(t, 'Dee', { timezone: 'Asia/Tokyo', capacity: { daily: 1 } });
    const eve = await user(t, 'Eve', { capacity: { rolling30Days: 3 } });
    const squad = await team(t, 'Capped', [{ userId: dee }, { userId: eve }]);
    await setRules(t, [{ id: 'capped', name: 'Capped', strategy: { type: 'round_robin', teamId: squad } }]);
    const owners: Array<string | null> = [];
    for (let i = 0; i < 3; i++) owners.push(await ownerOf(t, await capture(t)));
    assert.deepEqual(owners, [dee, eve, eve], 'Dee is full for her day');
    // 15:00Z is midnight in Tokyo: Dee has room again; Eve has had 2 of her 3. The turns Eve
    // took alone did not count against her: the rotation goes on where it was (Eve, then Dee).
    t.clock.now += 15 * HOUR;
    owners.length = 0;
    for (let i = 0; i < 4; i++) owners.push(await ownerOf(t, await capture(t)));
    assert.deepEqual(owners, [eve, dee, null, null], 'both full: unassigned');
    // 30 days after Eve's first leads, her window has room again.
    t.clock.now += 30 * 24 * HOUR;
    assert.equal(await ownerOf(t, await capture(t)), dee);
    assert.equal(await ownerOf(t, await capture(t)), eve);
  });

  it('routes by territory: country lists and regions, to a person or a team', async () => {
    const t = get();
    const hans = await user(t, 'Hans');
    const nora = await user(t, 'Nora');
    const ned = await user(t, 'Ned');
    const fallback = await user(t, 'Fallback');
    const na = await team(t, 'North America', [{ userId: nora }, { userId: ned }]);
    await setRules(
      t,
      [
        {
          id: 'geo',
          name: 'Territories',
          strategy: {
            type: 'territory',
            territories: [
              { countries: ['Germany', 'AT', 'CH'], userId: hans },
              { regions: ['NA'], teamId: na },
            ],
          },
        },
      ],
      fallback,
    );
    assert.equal(await ownerOf(t, await capture(t, { country: 'Austria' })), hans);
    assert.equal(await ownerOf(t, await capture(t, { country: 'US' })), nora);
    assert.equal(await ownerOf(t, await capture(t, { country: 'CA' })), ned);
    const french = await capture(t, { country: 'FR' });
    assert.equal(await ownerOf(t, french), fallback);
    const [entry] = await assignments(t, french);
    assert.equal(entry!.strategy, 'fallback');
    assert.equal(entry!.ruleId, null);
    assert.match(String(entry!.reason), /no territory contains country FR/);
    const austrian = await capture(t, { country: 'AT' });
    assert.equal((await assignments(t, austrian))[0]!.reason, 'territory DE, AT, CH');
  });

  it('gives a lead to the owner of its account, else to the next rule', async () => {
    const t = get();
    const olga = await user(t, 'Olga');
    const pete = await user(t, 'Pete');
    const squad = await team(t, 'Accounts team', [{ userId: olga }, { userId: pete }]);
    await setRules(t, [
      { id: 'account', name: 'Account owner', strategy: { type: 'account' } },
      { id: 'rr-accounts', name: 'Round robin', strategy: { type: 'round_robin', teamId: squad } },
    ]);
    const first = await capture(t, { email: 'cfo@initech.io' });
    assert.equal(await ownerOf(t, first), olga);
    assert.equal((await assignments(t, first))[0]!.ruleId, 'rr-accounts');
    // The round robin would give Pete the next lead; the account rule gives it to Olga.
    const second = await capture(t, { email: 'cto@initech.io' });
    assert.equal(await ownerOf(t, second), olga);
    const [entry] = await assignments(t, second);
    assert.equal(entry!.strategy, 'account');
    assert.equal(entry!.reason, 'owner of the account initech.io');
    // Free-mail leads have no account: the round robin goes on.
    assert.equal(await ownerOf(t, await capture(t, { email: 'someone@gmail.com' })), pete);
  });

  it('falls back to the fallback owner, or leaves the lead unassigned', async () => {
    const t = get();
    const finn = await user(t, 'Finn');
    await setRules(
      t,
      [{ id: 'never', name: 'Never', when: { companySize: { min: 1e6 } }, strategy: { type: 'account' } }],
      finn,
    );
    const lead = await capture(t);
    assert.equal(await ownerOf(t, lead), finn);
    assert.deepEqual(await assignments(t, lead), [
      {
        ownerId: finn,
        previousOwnerId: null,
        cause: 'rule',
        ruleId: null,
        ruleName: null,
        strategy: 'fallback',
        reason: 'fallback owner (no rule matched)',
      },
    ]);
    assert.deepEqual((await ok(t, 'GET', '/api/v1/routing/settings')).fallbackOwnerId, finn);
    await ok(t, 'PUT', '/api/v1/routing/settings', { fallbackOwnerId: null });
    assert.equal(await ownerOf(t, await capture(t)), null);
  });

  it('shows the reactions after routing the lead as routing left it', async () => {
    const t = get();
    const gus = await user(t, 'Gus');
    await setRules(t, [], gus);
    // Registered last, after routing, SLAs and alerts: what a later reaction sees of a new lead.
    const seen = new Map<string, string | null>();
    t.services.reactions.register('routing-test-probe', async (_trx, _workspace, changes) => {
      for (const change of changes)
        if (change.before === null && change.after) seen.set(change.leadId, change.after.ownerId);
    });
    const single = await capture(t);
    const batch = await ok(t, 'POST', '/api/v1/leads/batch', {
      leads: [{ email: `probe-a-${++emails}@example.org` }, { email: `probe-b-${++emails}@example.org` }],
    });
    for (const id of [single, ...batch.results.map((r: { id: string }) => r.id)])
      assert.equal(seen.get(id), gus, `the change of ${id} carries its new owner`);
    await setRules(t, []);
  });

  it('routes an unowned lead again when a change makes a rule match', async () => {
    const t = get();
    const mia = await user(t, 'Mia');
    await setRules(t, [
      { id: 'mql', name: 'MQLs', when: { stage: { in: ['mql'] } }, strategy: { type: 'owner', userId: mia } },
    ]);
    const email = `later-${++emails}@example.org`;
    const id = await capture(t, { email });
    assert.equal(await ownerOf(t, id), null);
    await capture(t, { email, firstName: 'Still a lead' });
    assert.equal(await ownerOf(t, id), null);
    await capture(t, { email, stage: 'mql' });
    assert.equal(await ownerOf(t, id), mia);
    assert.equal((await assignments(t, id)).length, 1);
  });

  it('assigns by hand or by the rules again, and records who and why', async () => {
    const t = get();
    const sam = await user(t, 'Sam');
    const tia = await user(t, 'Tia');
    const boss = await user(t, 'Boss', { role: 'manager' });
    await setRules(t, [{ id: 'sam', name: 'Sam gets all', strategy: { type: 'owner', userId: sam } }]);
    const id = await capture(t);
    assert.equal(await ownerOf(t, id), sam);

    t.clock.now += 1000;
    const byApi = await send(t, 'POST', `/api/v1/leads/${id}/assign`, {
      ownerId: tia,
      reason: 'speaks German',
    });
    assert.equal(byApi.statusCode, 200, byApi.body);
    assert.equal(byApi.json().lead.ownerId, tia);
    assert.equal(byApi.json().decision.reason, 'speaks German');
    t.clock.now += 1000;
    const byBoss = await send(t, 'POST', `/api/v1/leads/${id}/assign`, { ownerId: boss, byUserId: boss });
    assert.equal(byBoss.statusCode, 200, byBoss.body);
    t.clock.now += 1000;
    const rerouted = await send(t, 'POST', `/api/v1/leads/${id}/assign`, { route: true });
    assert.equal(rerouted.statusCode, 200, rerouted.body);
    assert.equal(rerouted.json().lead.ownerId, sam);
    assert.deepEqual(rerouted.json().decision, {
      ownerId: sam,
      ruleId: 'sam',
      ruleName: 'Sam gets all',
      strategy: 'owner',
      reason: 'fixed owner',
    });
    const history = await assignments(t, id);
    assert.deepEqual(
      history.map((e) => [e.cause, e.previousOwnerId, e.ownerId, e.ruleId, e.reason]),
      [
        ['rule', null, sam, 'sam', 'fixed owner'],
        ['api', sam, tia, null, 'speaks German'],
        ['user', tia, boss, null, null],
        ['rule', boss, sam, 'sam', 'fixed owner'],
      ],
    );
    assert.equal(history[2]!.byUserId, boss);
    // The same owner again changes nothing and records nothing.
    await ok(t, 'POST', `/api/v1/leads/${id}/assign`, { ownerId: sam });
    assert.equal((await assignments(t, id)).length, 4);

    assertProblem(
      await send(t, 'POST', `/api/v1/leads/${id}/assign`, { ownerId: 'nobody' }),
      422,
      '/ownerId',
    );
    await ok(t, 'DELETE', `/api/v1/users/${tia}`);
    assertProblem(await send(t, 'POST', `/api/v1/leads/${id}/assign`, { ownerId: tia }), 422, '/ownerId');
    assertProblem(
      await send(t, 'POST', `/api/v1/leads/${id}/assign`, { ownerId: sam, byUserId: 'x' }),
      422,
      '/byUserId',
    );
    assertProblem(await send(t, 'POST', `/api/v1/leads/${id}/assign`, {}), 422, '/ownerId');
    assertProblem(
      await send(t, 'POST', `/api/v1/leads/${id}/assign`, { ownerId: sam, route: true }),
      422,
      '/route',
    );
    const missing = await send(t, 'POST', '/api/v1/leads/01900000-0000-7000-8000-000000000000/assign', {
      ownerId: sam,
    });
    assertProblem(missing, 404);
    assert.equal(JSON.parse(missing.body).code, 'LEAD_NOT_FOUND');
    assert.equal(await ownerOf(t, id), sam, 'refused assignments changed nothing');

    // An Idempotency-Key replays the answer instead of assigning twice.
    const key = { 'idempotency-key': `assign-${id}` };
    const once = await send(t, 'POST', `/api/v1/leads/${id}/assign`, { ownerId: boss }, key);
    const twice = await send(t, 'POST', `/api/v1/leads/${id}/assign`, { ownerId: boss }, key);
    assert.equal(twice.headers['idempotent-replayed'], 'true');
    assert.deepEqual(twice.json(), once.json());
    assert.equal((await assignments(t, id)).length, 5);
  });

  it('accepts an owner set by a capture only if it is an active user, and records it', async () => {
    const t = get();
    await setRules(t, []);
    const uma = await user(t, 'Uma');
    const id = await capture(t, { ownerId: uma });
    assert.equal(await ownerOf(t, id), uma);
    assert.deepEqual(
      (await assignments(t, id)).map((e) => [e.cause, e.ownerId, e.previousOwnerId]),
      [['api', uma, null]],
    );
    const email = `owned-${++emails}@example.org`;
    const bad = await send(t, 'POST', '/api/v1/leads', { email, ownerId: 'rep-1' });
    assertProblem(bad, 422, '/ownerId');
    const lookup = await ok(t, 'GET', `/api/v1/leads?q=${encodeURIComponent(email)}`);
    assert.equal(lookup.data.length, 0, 'the refused capture wrote nothing');
  });

  it('refuses a bad ownerId of a batch item as that item, and writes the others', async () => {
    const t = get();
    await setRules(t, []);
    const vic = await user(t, 'Vic');
    const gone = await user(t, 'Gone');
    await ok(t, 'DELETE', `/api/v1/users/${gone}`);
    const emailsOf = [1, 2, 3, 4].map((i) => `batch-${i}-${++emails}@example.org`);
    const batch = await send(t, 'POST', '/api/v1/leads/batch', {
      leads: [
        { email: emailsOf[0] },
        { email: emailsOf[1], ownerId: 'rep-2' },
        { email: emailsOf[2], ownerId: vic },
        { email: emailsOf[3], ownerId: gone },
      ],
    });
    assert.equal(batch.statusCode, 200, batch.body);
    const body = batch.json();
    assert.deepEqual([body.created, body.updated, body.rejected], [2, 0, 2]);
    assert.deepEqual(
      body.results.map((r: { status: string }) => r.status),
      ['created', 'rejected', 'created', 'rejected'],
    );
    assert.deepEqual(body.results[1].errors, [
      { path: '/leads/1/ownerId', message: '"rep-2" is not an active user of this workspace' },
    ]);
    assert.deepEqual(
      body.results[3].errors.map((e: { path: string }) => e.path),
      ['/leads/3/ownerId'],
    );
    assert.equal(await ownerOf(t, body.results[2].id), vic);
    assert.deepEqual(
      (await assignments(t, body.results[2].id)).map((e) => [e.cause, e.ownerId]),
      [['api', vic]],
    );
    for (const email of [emailsOf[1], emailsOf[3]]) {
      const lookup = await ok(t, 'GET', `/api/v1/leads?q=${encodeURIComponent(email!)}`);
      assert.equal(lookup.data.length, 0, `the rejected ${email} was written nowhere`);
    }
  });

  it('routes a batch as it would route its leads one by one: turns, capacity and accounts', async () => {
    const t = get();
    // Ben's weight would give him most turns; his capacity of one a day stops him after the first.
    const ann = await user(t, 'Ann');
    const ben = await user(t, 'Ben', { capacity: { daily: 1 } });
    const cat = await user(t, 'Cat');
    const squad = await team(t, 'Batch squad', [
      { userId: ann, weight: 1 },
      { userId: ben, weight: 3 },
      { userId: cat, weight: 1 },
    ]);
    await setRules(t, [
      { id: 'acct', name: 'Account owner', strategy: { type: 'account' } },
      { id: 'rr-batch', name: 'Round robin', strategy: { type: 'round_robin', teamId: squad } },
    ]);
    const tag = ++emails;
    const batch = await ok(t, 'POST', '/api/v1/leads/batch', {
      leads: [
        { email: `a-${tag}@acme-${tag}.io` },
        { email: `b-${tag}@beta-${tag}.io` },
        // Acme's account was given to Ben by the first lead of this very batch.
        { email: `c-${tag}@acme-${tag}.io` },
        { email: `d-${tag}@gamma-${tag}.io` },
        { email: `e-${tag}@beta-${tag}.io` },
        { email: `f-${tag}@gmail.com` },
        { email: `g-${tag}@delta-${tag}.io` },
      ],
    });
    assert.equal(batch.created, 7);
    const ids = batch.results.map((r: { id: string }) => r.id) as string[];
    const owners = [];
    for (const id of ids) owners.push(await ownerOf(t, id));
    assert.deepEqual(owners, [ben, ann, ben, cat, ann, ann, cat]);
    const reasons = [];
    for (const id of ids) reasons.push((await assignments(t, id)).map((e) => e.reason));
    assert.deepEqual(reasons, [
      ['round robin over team Batch squad'],
      ['round robin over team Batch squad'],
      [`owner of the account acme-${tag}.io`],
      ['round robin over team Batch squad'],
      [`owner of the account beta-${tag}.io`],
      ['round robin over team Batch squad'],
      ['round robin over team Batch squad'],
    ]);
    const lastSignals = signals.filter((s) => ids.includes(s.leadId!));
    assert.deepEqual(
      lastSignals.map((s) => s.data.ownerId),
      owners,
      'one lead.assigned signal per lead, in batch order',
    );
  });

  it('reassigns to the next rep of the rule that assigned the lead, never the current owner', async () => {
    const t = get();
    const ray = await user(t, 'Ray');
    const sue = await user(t, 'Sue');
    const squad = await team(t, 'SLA squad', [{ userId: ray }, { userId: sue }]);
    await setRules(t, [
      { id: 'sla-rr', name: 'SLA round robin', strategy: { type: 'round_robin', teamId: squad } },
    ]);
    const id = await capture(t);
    assert.equal(await ownerOf(t, id), ray);
    const workspace = await t.services.workspaces.getWorkspace(t.workspaceId);
    const next = await t.services.database.writes.run((trx) =>
      t.services.routing.reassignNextIn(trx, workspace, id, 'first touch SLA breached'),
    );
    assert.equal(next, sue);
    assert.equal(await ownerOf(t, id), sue);
    const [, entry] = await assignments(t, id);
    assert.equal(entry!.cause, 'sla');
    assert.equal(entry!.ruleId, 'sla-rr');
    assert.equal(entry!.reason, 'first touch SLA breached (round robin over team SLA squad)');
    // Ray away: nobody but the current owner is left, and the lead stays with Sue.
    await ok(t, 'PATCH', `/api/v1/users/${ray}`, {
      outOfOffice: [{ from: t.clock.now - HOUR, to: t.clock.now + HOUR }],
    });
    const none = await t.services.database.writes.run((trx) =>
      t.services.routing.reassignNextIn(trx, workspace, id, 'breached again'),
    );
    assert.equal(none, null);
    assert.equal(await ownerOf(t, id), sue);

    // A lead given by hand is reassigned within a team of its owner.
    await ok(t, 'PATCH', `/api/v1/users/${ray}`, { outOfOffice: [] });
    await setRules(t, []);
    const manual = await capture(t, { ownerId: sue });
    const other = await t.services.database.writes.run((trx) =>
      t.services.routing.reassignNextIn(trx, workspace, manual, 'no answer'),
    );
    assert.equal(other, ray);
  });
});

/**
 * Two sets of services on one PostgreSQL database stand for two API processes routing at the
 * same time: the rotation's row lock must keep the turns exact (without it both would read the
 * same state and give the same rep the same turn).
 */
describeEachEngine('round robin across two processes', (engine) => {
  let first: Services;
  let second: Services;
  let close: () => Promise<void>;
  const skip = engine === 'sqlite' ? 'SQLite has one writer; the race is PostgreSQL’s' : false;

  before(async () => {
    if (skip) return;
    ({ first, second, close } = await startTwoProcesses(engine));
    await first.workspaces.bootstrap();
  });

  after(async () => {
    if (skip) return;
    await close?.();
  });

  it('hands out every turn once', { skip }, async () => {
    const workspace = await first.workspaces.resolveWorkspace('default');
    const a = await first.users.create(workspace.id, { name: 'A', email: 'a@race.io' });
    const b = await first.users.create(workspace.id, { name: 'B', email: 'b@race.io' });
    const squad = await first.teams.create(workspace.id, {
      name: 'Race',
      members: [{ userId: a.id }, { userId: b.id }],
    });
    await first.routing.putRules(workspace.id, [
      { id: 'race', name: 'Race', strategy: { type: 'round_robin', teamId: squad.id } },
    ]);
    const capture = (services: Services, i: number) =>
      services.database.writes.run((trx) =>
        services.leads.captureIn(trx, workspace, { email: `race-${i}@leads.io` }, 'api'),
      );
    // 21 each: an odd run per process, so a turn taken twice shows as 22 against 20.
    const results = await Promise.all(
      Array.from({ length: 42 }, (_, i) => capture(i % 2 === 0 ? first : second, i)),
    );
    const owners = results.map((r) => r.lead.ownerId);
    assert.equal(owners.filter((o) => o === a.id).length, 21, owners.join(' '));
    assert.equal(owners.filter((o) => o === b.id).length, 21, owners.join(' '));
  });
});

type HttpApp = Awaited<ReturnType<typeof createHttpApp>>;

/**
 * Two API processes change the routing configuration at the same time: a rules change and a
 * settings change must both survive (each writes only its own column, under the settings
 * row's lock), and a team cannot be removed while a rule that routes to it is being saved.
 */
describeEachEngine('routing configuration across two processes', (engine) => {
  let first: Services;
  let second: Services;
  let apps: HttpApp[];
  let key: string;
  let close: () => Promise<void>;
  const skip = engine === 'sqlite' ? 'SQLite has one writer; the race is PostgreSQL’s' : false;

  before(async () => {
    if (skip) return;
    ({ first, second, close } = await startTwoProcesses(engine));
    key = (await first.workspaces.bootstrap())!.key;
    apps = [await createHttpApp(first), await createHttpApp(second)];
  });

  after(async () => {
    if (skip) return;
    for (const app of apps) await app.close();
    await close?.();
  });

  const put = async (app: HttpApp, url: string, payload: object) => {
    const response = await app.inject({ method: 'PUT', url, headers: authHeaders(key), payload });
    assert.equal(response.statusCode, 200, response.body);
  };

  it('keeps a rules change and a settings change made at the same time', { skip }, async () => {
    const workspace = await first.workspaces.resolveWorkspace('default');
    const people: string[] = [];
    for (let i = 0; i < 4; i++)
      people.push((await first.users.create(workspace.id, { name: `P${i}`, email: `p${i}@cfg.io` })).id);
    for (let i = 0; i < 20; i++) {
      await Promise.all([
        put(apps[0]!, '/api/v1/routing/rules', {
          rules: [{ id: `r${i}`, name: `Rule ${i}`, strategy: { type: 'owner', userId: people[i % 4] } }],
        }),
        put(apps[1]!, '/api/v1/routing/settings', { fallbackOwnerId: people[(i + 1) % 4] }),
      ]);
      const config = await second.routing.config(workspace.id);
      assert.deepEqual(
        [config.rules.map((r) => r.id), config.fallbackOwnerId],
        [[`r${i}`], people[(i + 1) % 4]],
        `round ${i}: neither change undid the other`,
      );
    }
  });

  it('never leaves a rule routing to a team removed meanwhile', { skip }, async () => {
    const workspace = await first.workspaces.resolveWorkspace('default');
    const rep = await first.users.create(workspace.id, { name: 'Rep', email: 'rep@cfg.io' });
    for (let i = 0; i < 10; i++) {
      const squad = await first.teams.create(workspace.id, {
        name: `Squad ${i}`,
        members: [{ userId: rep.id }],
      });
      await Promise.allSettled([
        first.routing.putRules(workspace.id, [
          { id: `t${i}`, name: `Team ${i}`, strategy: { type: 'round_robin', teamId: squad.id } },
        ]),
        second.teams.remove(workspace.id, squad.id),
      ]);
      const config = await first.routing.config(workspace.id);
      const routedTo = config.rules.flatMap((r) =>
        r.strategy.type === 'round_robin' ? [r.strategy.teamId] : [],
      );
      const exists = (await first.teams.list(workspace.id)).some((team) => team.id === squad.id);
      assert.ok(exists || !routedTo.includes(squad.id), `round ${i}: a rule routes to a removed team`);
      await first.routing.putRules(workspace.id, []);
    }
  });
});
