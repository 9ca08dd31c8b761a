import assert from 'node:assert/strict';
import { it } from 'node:test';
import { authHeaders, describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

function send(t: TestApp, method: Method, url: string, payload?: unknown, key = t.key) {
  return t.app.inject({
    method,
    url,
    headers: authHeaders(key),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

function errorPaths(response: { json: () => { errors?: Array<{ path: string }> } }): string[] {
  return (response.json().errors ?? []).map((e) => e.path).sort();
}

function assertProblem(
  response: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
) {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /application\/problem\+json/);
}

describeEachEngine('custom properties', (engine) => {
  const get = useApp(engine);

  it('defines string, number, boolean, date and enum properties', async () => {
    const t = get();
    const definitions = [
      { name: 'nickname', type: 'string', label: 'Nickname' },
      { name: 'score', type: 'number' },
      { name: 'vip', type: 'boolean' },
      { name: 'renewal', type: 'date' },
      { name: 'plan', type: 'enum', options: ['free', 'pro', 'enterprise'] },
    ];
    for (const definition of definitions) {
      const response = await send(t, 'POST', '/api/v1/properties', definition);
      assert.equal(response.statusCode, 201, response.body);
      const created = response.json();
      assert.equal(created.name, definition.name);
      assert.equal(created.type, definition.type);
      assert.equal(created.label, definition.label ?? null);
      assert.deepEqual(created.options, definition.options ?? null);
    }
    const list = await send(t, 'GET', '/api/v1/properties');
    assert.deepEqual(
      list.json().data.map((p: { name: string }) => p.name),
      ['nickname', 'plan', 'renewal', 'score', 'vip'],
    );
    const one = await send(t, 'GET', '/api/v1/properties/plan');
    assert.deepEqual(one.json().options, ['free', 'pro', 'enterprise']);
    assertProblem(await send(t, 'GET', '/api/v1/properties/nothing'), 404);
  });

  it('refuses an enum without options, options on other types, repeats, bad names and duplicates', async () => {
    const t = get();
    const noOptions = await send(t, 'POST', '/api/v1/properties', { name: 'tier', type: 'enum' });
    assertProblem(noOptions, 422);
    assert.deepEqual(errorPaths(noOptions), ['/options']);
    const stray = await send(t, 'POST', '/api/v1/properties', {
      name: 'age',
      type: 'number',
      options: ['1'],
    });
    assertProblem(stray, 422);
    assert.deepEqual(errorPaths(stray), ['/options']);
    const repeated = await send(t, 'POST', '/api/v1/properties', {
      name: 'tier',
      type: 'enum',
      options: ['a', 'a'],
    });
    assertProblem(repeated, 422);
    const badName = await send(t, 'POST', '/api/v1/properties', { name: '1st', type: 'string' });
    assertProblem(badName, 400);
    assert.deepEqual(errorPaths(badName), ['/name']);
    const badType = await send(t, 'POST', '/api/v1/properties', { name: 'when', type: 'datetime' });
    assertProblem(badType, 400);
    const duplicate = await send(t, 'POST', '/api/v1/properties', { name: 'score', type: 'string' });
    assertProblem(duplicate, 409);
    assert.equal(duplicate.json().code, 'PROPERTY_EXISTS');
    assert.equal((await send(t, 'GET', '/api/v1/properties/score')).json().type, 'number');
    assertProblem(await send(t, 'GET', '/api/v1/properties/tier'), 404);
  });

  it('type-checks values on every lead write, naming /properties/<name>, and writes nothing', async () => {
    const t = get();
    const response = await send(t, 'POST', '/api/v1/leads', {
      email: 'typed@props.io',
      properties: { nickname: 5, score: 'many', vip: 'maybe', renewal: '2026-02-30', plan: 'gold' },
    });
    assertProblem(response, 422);
    assert.deepEqual(errorPaths(response), [
      '/properties/nickname',
      '/properties/plan',
      '/properties/renewal',
      '/properties/score',
      '/properties/vip',
    ]);
    assert.match(
      response.json().errors.find((e: { path: string }) => e.path === '/properties/plan').message,
      /free, pro/,
    );
    const list = await send(t, 'GET', '/api/v1/leads?q=typed@props.io');
    assert.deepEqual(list.json().data, []);

    const batch = await send(t, 'POST', '/api/v1/leads/batch', {
      leads: [
        { email: 'ok@props.io', properties: { score: 1 } },
        { email: 'bad@props.io', properties: { score: 'x' } },
      ],
    });
    assert.equal(batch.statusCode, 200);
    assert.equal(batch.json().results[0].status, 'created');
    assert.deepEqual(
      batch.json().results[1].errors.map((e: { path: string }) => e.path),
      ['/leads/1/properties/score'],
    );
  });

  it('coerces unambiguous text ("42", "yes", a trimmed date) and keeps the types of undefined ones', async () => {
    const t = get();
    const response = await send(t, 'POST', '/api/v1/leads', {
      email: 'coerced@props.io',
      properties: {
        score: '42',
        vip: 'yes',
        renewal: ' 2026-03-01 ',
        plan: 'pro',
        nickname: 'Al',
        shoeSize: 42,
        newsletter: true,
        tags: ['a', 'b'],
        note: '42',
      },
    });
    assert.equal(response.statusCode, 201, response.body);
    assert.deepEqual(response.json().properties, {
      score: 42,
      vip: true,
      renewal: '2026-03-01',
      plan: 'pro',
      nickname: 'Al',
      shoeSize: 42,
      newsletter: true,
      tags: ['a', 'b'],
      note: '42',
    });
    const reread = await send(t, 'GET', `/api/v1/leads/${response.json().id}`);
    assert.deepEqual(reread.json().properties, response.json().properties);

    const cleared = await send(t, 'POST', '/api/v1/leads', {
      email: 'coerced@props.io',
      properties: { vip: 'no', note: null, score: 0 },
    });
    assert.equal(cleared.statusCode, 200, cleared.body);
    assert.equal(cleared.json().properties.vip, false);
    assert.equal(cleared.json().properties.score, 0);
    assert.ok(!('note' in cleared.json().properties));

    // A date-time is kept in one form, UTC ISO 8601, whatever way it was written.
    for (const [written, stored] of [
      ['2026-01-31T11:00:00+01:00', '2026-01-31T10:00:00.000Z'],
      ['2026-01-31 10:00:00Z', '2026-01-31T10:00:00.000Z'],
      ['2026-01-31T10:00', '2026-01-31T10:00:00.000Z'],
    ]) {
      const dated = await send(t, 'POST', '/api/v1/leads', {
        email: 'coerced@props.io',
        properties: { renewal: written },
      });
      assert.equal(dated.json().properties.renewal, stored, written);
    }
    const impossible = await send(t, 'POST', '/api/v1/leads', {
      email: 'coerced@props.io',
      properties: { renewal: '2026-01-31T24:00:00Z' },
    });
    assertProblem(impossible, 422);
    assert.deepEqual(errorPaths(impossible), ['/properties/renewal']);
  });

  it('refuses property values of no JSON property type and unnamed keys', async () => {
    const t = get();
    const nested = await send(t, 'POST', '/api/v1/leads', {
      email: 'n@props.io',
      properties: { deep: { a: 1 } },
    });
    assertProblem(nested, 400);
    assert.deepEqual(errorPaths(nested), ['/properties/deep']);
    const badKey = await send(t, 'POST', '/api/v1/leads', {
      email: 'n@props.io',
      properties: { 'two words': 1 },
    });
    assertProblem(badKey, 400);
    assert.deepEqual(errorPaths(badKey), ['/properties/two words']);
  });

  it('says a key is not a valid property name, with the rule, and the OpenAPI document states it', async () => {
    const t = get();
    const rule = 'is not a valid property name: must match pattern "^[A-Za-z][A-Za-z0-9_]{0,99}$"';
    const properties = { 'plan-tier': 'a', 'a/b': 1, '9lives': true, plan_Tier2: 'ok' };
    const single = await send(t, 'POST', '/api/v1/leads', { email: 'p@x.test', properties });
    assertProblem(single, 400);
    assert.deepEqual(single.json().errors, [
      { path: '/properties/plan-tier', message: rule },
      { path: '/properties/a~1b', message: rule },
      { path: '/properties/9lives', message: rule },
    ]);
    const batch = await send(t, 'POST', '/api/v1/leads/batch', {
      leads: [{ email: 'p@x.test', properties }],
    });
    assert.equal(batch.statusCode, 200, batch.body);
    assert.deepEqual(batch.json().results[0].errors, [
      { path: '/leads/0/properties/plan-tier', message: rule },
      { path: '/leads/0/properties/a~1b', message: rule },
      { path: '/leads/0/properties/9lives', message: rule },
    ]);
    const good = await send(t, 'POST', '/api/v1/leads', {
      email: 'p@x.test',
      properties: { plan_Tier2: 'ok' },
    });
    assert.equal(good.statusCode, 201, good.body);

    const doc = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    const schema = doc.paths['/api/v1/leads'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(schema.properties.properties.propertyNames, { pattern: '^[A-Za-z][A-Za-z0-9_]{0,99}$' });
    assert.match(schema.properties.properties.description, /a letter, then up to 99 letters, digits or _/);
  });

  it('updates labels and enum options, and deletes definitions (values stay on leads)', async () => {
    const t = get();
    const updated = await send(t, 'PATCH', '/api/v1/properties/plan', {
      label: 'Plan',
      options: ['free', 'pro', 'team'],
    });
    assert.equal(updated.statusCode, 200, updated.body);
    assert.equal(updated.json().label, 'Plan');
    assert.deepEqual(updated.json().options, ['free', 'pro', 'team']);
    assert.equal(updated.json().type, 'enum');
    const team = await send(t, 'POST', '/api/v1/leads', {
      email: 'team@props.io',
      properties: { plan: 'team' },
    });
    assert.equal(team.statusCode, 201, team.body);
    const gone = await send(t, 'POST', '/api/v1/leads', {
      email: 'ent@props.io',
      properties: { plan: 'enterprise' },
    });
    assertProblem(gone, 422);
    assertProblem(await send(t, 'PATCH', '/api/v1/properties/score', { options: ['1'] }), 422);
    assertProblem(await send(t, 'PATCH', '/api/v1/properties/plan', { options: [] }), 400);
    assertProblem(await send(t, 'PATCH', '/api/v1/properties/nothing', { label: 'x' }), 404);
    assertProblem(await send(t, 'PATCH', '/api/v1/properties/plan', { type: 'string' }), 400);

    const deleted = await send(t, 'DELETE', '/api/v1/properties/plan');
    assert.equal(deleted.statusCode, 204);
    assertProblem(await send(t, 'GET', '/api/v1/properties/plan'), 404);
    assertProblem(await send(t, 'DELETE', '/api/v1/properties/plan'), 404);
    const kept = await send(t, 'GET', `/api/v1/leads/${team.json().id}`);
    assert.equal(kept.json().properties.plan, 'team');
    // Undefined again, so any value passes (the workspace is not strict).
    const free = await send(t, 'POST', '/api/v1/leads', {
      email: 'ent@props.io',
      properties: { plan: 'enterprise' },
    });
    assert.equal(free.statusCode, 201, free.body);
  });

  it('rejects undefined properties in a workspace with strictProperties', async () => {
    const t = get();
    const strict = await send(t, 'PATCH', '/api/v1/workspace', { settings: { strictProperties: true } });
    assert.equal(strict.statusCode, 200, strict.body);
    assert.equal(strict.json().settings.strictProperties, true);
    const response = await send(t, 'POST', '/api/v1/leads', {
      email: 'strict@props.io',
      properties: { score: 3, favouriteColour: 'teal' },
    });
    assertProblem(response, 422);
    assert.deepEqual(errorPaths(response), ['/properties/favouriteColour']);
    const defined = await send(t, 'POST', '/api/v1/leads', {
      email: 'strict@props.io',
      properties: { score: 3 },
    });
    assert.equal(defined.statusCode, 201, defined.body);
    const relaxed = await send(t, 'PATCH', '/api/v1/workspace', { settings: { strictProperties: false } });
    assert.equal(relaxed.json().settings.strictProperties, false);
    const loose = await send(t, 'POST', '/api/v1/leads', {
      email: 'strict@props.io',
      properties: { favouriteColour: 'teal' },
    });
    assert.equal(loose.statusCode, 200, loose.body);

    // Strict again: the key stored while relaxed can still be removed (null), not set.
    await send(t, 'PATCH', '/api/v1/workspace', { settings: { strictProperties: true } });
    const removed = await send(t, 'POST', '/api/v1/leads', {
      email: 'strict@props.io',
      properties: { favouriteColour: null },
    });
    assert.equal(removed.statusCode, 200, removed.body);
    assert.equal('favouriteColour' in removed.json().properties, false);
    assertProblem(
      await send(t, 'POST', '/api/v1/leads', {
        email: 'strict@props.io',
        properties: { favouriteColour: 'red' },
      }),
      422,
    );
  });

  it('lets only admin keys define properties, and only write keys capture leads', async () => {
    const t = get();
    const keyOf = async (scope: string) => {
      const response = await send(t, 'POST', '/api/v1/keys', { name: `${scope} key`, scope });
      assert.equal(response.statusCode, 201, response.body);
      return response.json().key as string;
    };
    const readKey = await keyOf('read');
    const writeKey = await keyOf('write');
    const definition = { name: 'region', type: 'string' };
    for (const key of [readKey, writeKey]) {
      const refused = await send(t, 'POST', '/api/v1/properties', definition, key);
      assertProblem(refused, 403);
      assert.equal(refused.json().code, 'FORBIDDEN');
      assertProblem(await send(t, 'PATCH', '/api/v1/properties/score', { label: 'x' }, key), 403);
      assertProblem(await send(t, 'DELETE', '/api/v1/properties/score', undefined, key), 403);
      assertProblem(await send(t, 'PATCH', '/api/v1/workspace', { settings: {} }, key), 403);
      assertProblem(await send(t, 'GET', '/api/v1/keys', undefined, key), 403);
    }
    assertProblem(await send(t, 'GET', '/api/v1/properties/region'), 404);
    assert.equal((await send(t, 'GET', '/api/v1/properties', undefined, readKey)).statusCode, 200);
    const readWrite = await send(t, 'POST', '/api/v1/leads', { email: 'scoped@props.io' }, readKey);
    assertProblem(readWrite, 403);
    const batchWrite = await send(
      t,
      'POST',
      '/api/v1/leads/batch',
      { leads: [{ email: 'scoped@props.io' }] },
      readKey,
    );
    assertProblem(batchWrite, 403);
    assert.equal((await send(t, 'GET', '/api/v1/leads?q=scoped', undefined, readKey)).json().data.length, 0);
    const written = await send(t, 'POST', '/api/v1/leads', { email: 'scoped@props.io' }, writeKey);
    assert.equal(written.statusCode, 201, written.body);
  });
});
