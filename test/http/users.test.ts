import assert from 'node:assert/strict';
import { it } from 'node:test';
import { authHeaders, describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function send(t: TestApp, method: Method, url: string, payload?: unknown, key = t.key) {
  return t.app.inject({
    method,
    url,
    headers: authHeaders(key),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

function assertProblem(
  response: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
  code?: string,
) {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /application\/problem\+json/);
  if (code) assert.equal(JSON.parse(response.body).code, code);
}

const errorPaths = (response: { json: () => { errors?: Array<{ path: string }> } }) =>
  (response.json().errors ?? []).map((e) => e.path).sort();

describeEachEngine('users and teams', (engine) => {
  const get = useApp(engine);
  let ada: { id: string };
  let grace: { id: string };

  it('creates users with time zone, working hours, absences and capacity', async () => {
    const t = get();
    const created = await send(t, 'POST', '/api/v1/users', {
      name: 'Ada Lovelace',
      email: 'Ada@Example.org',
      role: 'manager',
      timezone: 'europe/london',
      workingHours: { mon: [['09:00', '17:30']], fri: [['09:00', '13:00']] },
      outOfOffice: [{ from: '2026-02-01T00:00:00Z', to: Date.UTC(2026, 1, 8) }],
      capacity: { daily: 20, rolling30Days: null },
    });
    assert.equal(created.statusCode, 201, created.body);
    ada = created.json();
    assert.deepEqual(
      { ...(created.json() as object), id: undefined, createdAt: undefined, updatedAt: undefined },
      {
        id: undefined,
        name: 'Ada Lovelace',
        email: 'ada@example.org',
        role: 'manager',
        timezone: 'Europe/London',
        workingHours: { mon: [['09:00', '17:30']], fri: [['09:00', '13:00']] },
        outOfOffice: [{ from: '2026-02-01T00:00:00.000Z', to: '2026-02-08T00:00:00.000Z' }],
        capacity: { daily: 20, rolling30Days: null },
        managerId: null,
        active: true,
        createdAt: undefined,
        updatedAt: undefined,
      },
    );
    const second = await send(t, 'POST', '/api/v1/users', {
      name: 'Grace',
      email: 'grace@example.org',
      managerId: ada.id,
    });
    assert.equal(second.statusCode, 201, second.body);
    grace = second.json();
    assert.equal(second.json().role, 'rep');
    assert.equal(second.json().timezone, 'UTC');
    assert.equal(second.json().workingHours, null);

    const list = await send(t, 'GET', '/api/v1/users');
    assert.deepEqual(
      list.json().data.map((u: { name: string }) => u.name),
      ['Ada Lovelace', 'Grace'],
    );
    const managers = await send(t, 'GET', '/api/v1/users?role=manager');
    assert.deepEqual(
      managers.json().data.map((u: { id: string }) => u.id),
      [ada.id],
    );
    const one = await send(t, 'GET', `/api/v1/users/${grace.id}`);
    assert.equal(one.json().managerId, ada.id);
  });

  it('refuses bad fields with 422 naming each, and a taken email with 409', async () => {
    const t = get();
    const bad = await send(t, 'POST', '/api/v1/users', {
      name: 'Bad',
      email: 'not-an-email',
      timezone: 'Europe/Atlantis',
      workingHours: { mon: [['17:00', '09:00']], tue: [['25:00', '26:00']] },
      outOfOffice: [{ from: '2026-02-08T00:00:00Z', to: '2026-02-01T00:00:00Z' }],
      managerId: 'nobody',
    });
    assertProblem(bad, 422, 'VALIDATION_FAILED');
    assert.deepEqual(errorPaths(bad), [
      '/email',
      '/outOfOffice/0/to',
      '/timezone',
      '/workingHours/mon/0/1',
      '/workingHours/tue/0/0',
      '/workingHours/tue/0/1',
    ]);
    const noManager = await send(t, 'POST', '/api/v1/users', {
      name: 'X',
      email: 'x@example.org',
      managerId: 'nobody',
    });
    assertProblem(noManager, 422);
    assert.deepEqual(errorPaths(noManager), ['/managerId']);
    const shape = await send(t, 'POST', '/api/v1/users', { name: 'X', email: 'x@example.org', shoe: 42 });
    assertProblem(shape, 400);
    assert.deepEqual(errorPaths(shape), ['/shoe']);
    const taken = await send(t, 'POST', '/api/v1/users', { name: 'Other Ada', email: 'ADA@example.org' });
    assertProblem(taken, 409, 'USER_EXISTS');
    assert.deepEqual(errorPaths(taken), ['/email']);
    const list = await send(t, 'GET', '/api/v1/users');
    assert.equal(list.json().data.length, 2, 'nothing half-written');
  });

  it('patches the given fields only, deactivates with DELETE and reactivates with PATCH', async () => {
    const t = get();
    t.clock.now += 1000;
    const patched = await send(t, 'PATCH', `/api/v1/users/${grace.id}`, {
      timezone: 'America/New_York',
      capacity: { daily: 5 },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().timezone, 'America/New_York');
    assert.deepEqual(patched.json().capacity, { daily: 5, rolling30Days: null });
    assert.equal(patched.json().name, 'Grace');
    assert.notEqual(patched.json().updatedAt, patched.json().createdAt);
    assertProblem(
      await send(t, 'PATCH', `/api/v1/users/${grace.id}`, { email: 'ada@example.org' }),
      409,
      'USER_EXISTS',
    );
    const self = await send(t, 'PATCH', `/api/v1/users/${ada.id}`, { managerId: ada.id });
    assertProblem(self, 422);
    assert.deepEqual(errorPaths(self), ['/managerId']);

    const gone = await send(t, 'DELETE', `/api/v1/users/${grace.id}`);
    assert.equal(gone.statusCode, 200, gone.body);
    assert.equal(gone.json().active, false);
    const inactive = await send(t, 'GET', '/api/v1/users?active=false');
    assert.deepEqual(
      inactive.json().data.map((u: { id: string }) => u.id),
      [grace.id],
    );
    const back = await send(t, 'PATCH', `/api/v1/users/${grace.id}`, { active: true });
    assert.equal(back.json().active, true);
    assertProblem(await send(t, 'GET', '/api/v1/users/nobody'), 404, 'USER_NOT_FOUND');
    assertProblem(await send(t, 'PATCH', '/api/v1/users/nobody', { name: 'X' }), 404, 'USER_NOT_FOUND');
    assertProblem(await send(t, 'DELETE', '/api/v1/users/nobody'), 404, 'USER_NOT_FOUND');
  });

  it('manages teams with weighted members in order', async () => {
    const t = get();
    const created = await send(t, 'POST', '/api/v1/teams', {
      name: 'EMEA',
      members: [{ userId: ada.id, weight: 2 }, { userId: grace.id }],
    });
    assert.equal(created.statusCode, 201, created.body);
    const team = created.json();
    assert.deepEqual(team.members, [
      { userId: ada.id, weight: 2 },
      { userId: grace.id, weight: 1 },
    ]);
    assertProblem(await send(t, 'POST', '/api/v1/teams', { name: 'EMEA' }), 409, 'TEAM_EXISTS');
    const bad = await send(t, 'POST', '/api/v1/teams', {
      name: 'Bad',
      members: [{ userId: ada.id }, { userId: ada.id }, { userId: 'nobody' }],
    });
    assertProblem(bad, 422);
    assert.deepEqual(errorPaths(bad), ['/members/1/userId', '/members/2/userId']);
    const weight = await send(t, 'POST', '/api/v1/teams', {
      name: 'Bad',
      members: [{ userId: ada.id, weight: 0 }],
    });
    assertProblem(weight, 400);
    assert.deepEqual(errorPaths(weight), ['/members/0/weight']);

    const renamed = await send(t, 'PATCH', `/api/v1/teams/${team.id}`, {
      name: 'Europe',
      members: [{ userId: grace.id, weight: 3 }],
    });
    assert.equal(renamed.statusCode, 200, renamed.body);
    assert.equal(renamed.json().name, 'Europe');
    assert.deepEqual(renamed.json().members, [{ userId: grace.id, weight: 3 }]);
    const nameOnly = await send(t, 'PATCH', `/api/v1/teams/${team.id}`, { name: 'EMEA' });
    assert.deepEqual(nameOnly.json().members, [{ userId: grace.id, weight: 3 }], 'members stay');
    const list = await send(t, 'GET', '/api/v1/teams');
    assert.deepEqual(
      list.json().data.map((x: { name: string }) => x.name),
      ['EMEA'],
    );
    assert.equal((await send(t, 'GET', `/api/v1/teams/${team.id}`)).json().name, 'EMEA');

    const removed = await send(t, 'DELETE', `/api/v1/teams/${team.id}`);
    assert.equal(removed.statusCode, 204, removed.body);
    assertProblem(await send(t, 'GET', `/api/v1/teams/${team.id}`), 404, 'TEAM_NOT_FOUND');
    assertProblem(await send(t, 'DELETE', `/api/v1/teams/${team.id}`), 404, 'TEAM_NOT_FOUND');
  });

  it('refuses to remove a team a routing rule uses', async () => {
    const t = get();
    const team = (
      await send(t, 'POST', '/api/v1/teams', { name: 'Inbound', members: [{ userId: ada.id }] })
    ).json();
    const rules = await send(t, 'PUT', '/api/v1/routing/rules', {
      rules: [{ id: 'inbound', name: 'Inbound', strategy: { type: 'round_robin', teamId: team.id } }],
    });
    assert.equal(rules.statusCode, 200, rules.body);
    const refused = await send(t, 'DELETE', `/api/v1/teams/${team.id}`);
    assertProblem(refused, 409, 'CONFLICT');
    assert.deepEqual(errorPaths(refused), ['/rules/0/strategy/teamId']);
    await send(t, 'PUT', '/api/v1/routing/rules', { rules: [] });
    assert.equal((await send(t, 'DELETE', `/api/v1/teams/${team.id}`)).statusCode, 204);
  });

  it('needs an admin key to change users and teams; a read key may list them', async () => {
    const t = get();
    const { key } = await t.services.workspaces.createKey(t.workspaceId, 'reader', 'read');
    assert.equal((await send(t, 'GET', '/api/v1/users', undefined, key)).statusCode, 200);
    assert.equal((await send(t, 'GET', '/api/v1/teams', undefined, key)).statusCode, 200);
    assertProblem(await send(t, 'POST', '/api/v1/users', { name: 'X', email: 'x@y.io' }, key), 403);
    assertProblem(await send(t, 'PATCH', `/api/v1/users/${ada.id}`, { name: 'X' }, key), 403);
    assertProblem(await send(t, 'DELETE', `/api/v1/users/${ada.id}`, undefined, key), 403);
    assertProblem(await send(t, 'POST', '/api/v1/teams', { name: 'X' }, key), 403);
    const { key: writer } = await t.services.workspaces.createKey(t.workspaceId, 'writer', 'write');
    assertProblem(await send(t, 'POST', '/api/v1/users', { name: 'X', email: 'x@y.io' }, writer), 403);
  });
});
