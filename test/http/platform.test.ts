import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import Fastify, { type InjectOptions } from 'fastify';
import { openDatabase } from '../../src/db/database.ts';
import { registerHealthRoutes } from '../../src/http/health.ts';
import type { HttpApp } from '../../src/http/types.ts';
import { authHeaders, describeEachEngine, type TestApp, useApp } from '../support/engines.ts';

interface Reply {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
  json: () => { code?: string; status?: number; errors?: Array<{ path: unknown; message: unknown }> };
}

function assertProblem(response: Reply, status: number, code?: string) {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const body = response.json();
  assert.equal(body.status, status);
  if (code) assert.equal(body.code, code);
}

/** A 4xx answer must be problem+json whose field errors each name a JSON Pointer. */
function assertClientProblemWithPaths(response: Reply, label: string) {
  assert.ok(
    response.statusCode >= 400 && response.statusCode < 500,
    `${label}: ${response.statusCode} ${response.body}`,
  );
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/, label);
  const errors = response.json().errors;
  assert.ok(Array.isArray(errors) && errors.length > 0, `${label}: no errors in ${response.body}`);
  for (const error of errors) {
    assert.equal(typeof error.path, 'string', label);
    assert.match(error.path as string, /^\//, label);
    assert.equal(typeof error.message, 'string', label);
  }
}

const httpMethods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface Parameter {
  in: string;
  name: string;
  required?: boolean;
  schema?: unknown;
  content?: unknown;
}
interface Operation {
  responses?: Record<string, unknown>;
  parameters?: Parameter[];
  requestBody?: { content?: unknown };
}
interface OpenApiDocument {
  openapi: string;
  info?: { title?: unknown; version?: unknown };
  paths: Record<string, Record<string, Operation>>;
  components?: { securitySchemes?: Record<string, unknown> };
  security?: Array<Record<string, unknown>>;
}

/**
 * The structural rules of OpenAPI 3.1 a generator can break: version, info, path templates whose
 * parameters are all declared as required path parameters, operations with responses keyed by
 * status codes, parameter locations, security schemes that exist, and `$ref`s that resolve.
 */
function assertOpenApi31(doc: OpenApiDocument) {
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  assert.equal(typeof doc.info?.title, 'string');
  assert.equal(typeof doc.info?.version, 'string');
  assert.equal(typeof doc.paths, 'object');
  const schemes = Object.keys(doc.components?.securitySchemes ?? {});
  for (const requirement of doc.security ?? []) {
    for (const name of Object.keys(requirement)) assert.ok(schemes.includes(name), `security scheme ${name}`);
  }
  for (const [path, item] of Object.entries(doc.paths)) {
    assert.match(path, /^\//);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, operation] of Object.entries(item)) {
      if (method === 'parameters' || method === 'summary' || method === 'description') continue;
      assert.ok(httpMethods.includes(method), `${path}: ${method} is not an operation`);
      const where = `${method.toUpperCase()} ${path}`;
      const responses = Object.keys(operation.responses ?? {});
      assert.ok(responses.length > 0, `${where} has no responses`);
      for (const code of responses) assert.match(code, /^([1-5]\d\d|[1-5]XX|default)$/, `${where}: ${code}`);
      const parameters = operation.parameters ?? [];
      for (const parameter of parameters) {
        assert.ok(['query', 'header', 'path', 'cookie'].includes(parameter.in), `${where}: ${parameter.in}`);
        assert.equal(typeof parameter.name, 'string');
        assert.ok(parameter.schema || parameter.content, `${where}: ${parameter.name} has no schema`);
      }
      const pathParameters = parameters.filter((p) => p.in === 'path');
      assert.deepEqual(
        pathParameters.map((p) => p.name).sort(),
        [...templated].sort(),
        `${where} path parameters`,
      );
      for (const parameter of pathParameters)
        assert.equal(parameter.required, true, `${where}: ${parameter.name}`);
      if (operation.requestBody) assert.equal(typeof operation.requestBody.content, 'object', where);
    }
  }
  const refs = JSON.stringify(doc).match(/"\$ref":"[^"]*"/g) ?? [];
  for (const ref of refs) {
    const pointer = ref.slice(8, -1);
    assert.match(pointer, /^#\//, `external ref ${pointer}`);
    let target: unknown = doc;
    for (const part of pointer.slice(2).split('/')) target = (target as Record<string, unknown>)?.[part];
    assert.ok(target !== undefined, `unresolved ${pointer}`);
  }
}

function send(t: TestApp, options: InjectOptions) {
  return t.app.inject(options);
}

describeEachEngine('platform', (engine) => {
  describe('health, OpenAPI, docs, errors', () => {
    const get = useApp(engine);

    it('answers /healthz and /readyz without a key', async () => {
      const t = get();
      const health = await send(t, { method: 'GET', url: '/healthz' });
      assert.equal(health.statusCode, 200);
      assert.deepEqual(health.json(), { status: 'ok' });
      const ready = await send(t, { method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 200);
      assert.deepEqual(ready.json(), { status: 'ready', engine });
    });

    it('publishes a valid OpenAPI 3.1 document listing the lead routes', async () => {
      const t = get();
      const response = await send(t, { method: 'GET', url: '/api/v1/openapi.json' });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^application\/json/);
      const doc = JSON.parse(response.body);
      assertOpenApi31(doc);
      const operations = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      );
      for (const expected of [
        'POST /api/v1/leads',
        'GET /api/v1/leads',
        'POST /api/v1/leads/batch',
        'GET /api/v1/leads/{id}',
        'GET /api/v1/leads/{id}/timeline',
        'POST /api/v1/leads/{id}/archive',
        'POST /api/v1/leads/{id}/merge',
        'GET /api/v1/properties',
        'POST /api/v1/properties',
      ]) {
        assert.ok(operations.includes(expected), `${expected} missing from the OpenAPI document`);
      }
      assert.ok(!operations.some((op) => op.includes('/healthz') || op.includes('openapi.json')));
      const create = doc.paths['/api/v1/leads'].post;
      assert.ok(create.responses['201'] && create.responses['200']);
      assert.equal(create.requestBody.content['application/json'].schema.additionalProperties, false);
      assert.deepEqual(doc.security, [{ apiKey: [] }]);
    });

    it('serves the docs page as HTML', async () => {
      const t = get();
      const response = await send(t, { method: 'GET', url: '/docs' });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^text\/html/);
      assert.match(response.body, /<html/i);
      assert.match(response.body, /swagger/i);
    });

    it('refuses a limit that is not written as an integer, naming /query/limit', async () => {
      const t = get();
      for (const limit of ['1.5', '1e2', '0x10', '', ' 5', '1.0']) {
        const response = await send(t, {
          method: 'GET',
          url: `/api/v1/leads?limit=${encodeURIComponent(limit)}`,
          headers: authHeaders(t.key),
        });
        assertProblem(response, 400, 'VALIDATION_FAILED');
        assert.deepEqual(
          response.json().errors,
          [{ path: '/query/limit', message: 'must be integer' }],
          limit,
        );
      }
      const scored = await send(t, {
        method: 'GET',
        url: '/api/v1/leads?minScore=0x10',
        headers: authHeaders(t.key),
      });
      assert.deepEqual(scored.json().errors, [{ path: '/query/minScore', message: 'must be number' }]);
      for (const url of ['/api/v1/leads?limit=2', '/api/v1/leads?minScore=1e1&limit=500']) {
        const response = await send(t, { method: 'GET', url, headers: authHeaders(t.key) });
        assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
      }
    });

    it('answers a bad sort with one error listing the allowed values', async () => {
      const t = get();
      const response = await send(t, {
        method: 'GET',
        url: '/api/v1/leads?sort=name',
        headers: authHeaders(t.key),
      });
      assertProblem(response, 400, 'VALIDATION_FAILED');
      assert.deepEqual(response.json().errors, [
        { path: '/query/sort', message: 'must be one of: createdAt, -createdAt, updatedAt, -updatedAt' },
      ]);
    });

    it('answers unknown routes with a 404 problem', async () => {
      const t = get();
      assertProblem(await send(t, { method: 'GET', url: '/no/such/page' }), 404, 'NOT_FOUND');
      assertProblem(
        await send(t, { method: 'GET', url: '/api/v1/nothing-here', headers: authHeaders(t.key) }),
        404,
        'NOT_FOUND',
      );
      assertProblem(
        await send(t, { method: 'DELETE', url: '/api/v1/leads', headers: authHeaders(t.key) }),
        404,
        'NOT_FOUND',
      );
      // Without a key, /api answers 401 before telling which routes exist.
      assertProblem(await send(t, { method: 'GET', url: '/api/v1/nothing-here' }), 401, 'UNAUTHENTICATED');
      // The router's own refusals: a path parameter over 100 characters, broken percent-encoding.
      const long = await send(t, {
        method: 'GET',
        url: `/api/v1/leads/${'a'.repeat(101)}`,
        headers: authHeaders(t.key),
      });
      assertProblem(long, 414, 'VALIDATION_FAILED');
      const broken = await send(t, {
        method: 'GET',
        url: '/api/v1/leads/%E0%A4%A',
        headers: authHeaders(t.key),
      });
      assertProblem(broken, 400, 'VALIDATION_FAILED');
    });

    it('requires a valid key, even on a percent-encoded path to an /api route', async () => {
      const t = get();
      assertProblem(await send(t, { method: 'GET', url: '/api/v1/leads' }), 401, 'UNAUTHENTICATED');
      for (const authorization of ['Bearer nope-nope-nope', 'Basic abc', `Bearer ${t.key} extra`, t.key]) {
        const response = await send(t, { method: 'GET', url: '/api/v1/leads', headers: { authorization } });
        assertProblem(response, 401, 'UNAUTHENTICATED');
      }
      for (const url of ['/%61pi/v1/leads', '/%61pi/v1/workspace', '/api/v1/%6ceads']) {
        assertProblem(await send(t, { method: 'GET', url }), 401, 'UNAUTHENTICATED');
      }
      const encoded = await send(t, { method: 'GET', url: '/%61pi/v1/leads', headers: authHeaders(t.key) });
      assert.equal(encoded.statusCode, 200);
    });

    it('answers malformed JSON with 400, and other media types with 415, as problems', async () => {
      const t = get();
      const post = (payload: string, contentType?: string) =>
        send(t, {
          method: 'POST',
          url: '/api/v1/leads',
          headers: authHeaders(t.key, contentType ? { 'content-type': contentType } : {}),
          payload,
        });
      for (const broken of ['{"email":', '{email: "a@b.co"}', "{'email':'a@b.co'}", '[1,]', 'nul']) {
        assertProblem(await post(broken, 'application/json'), 400);
      }
      assertProblem(await post('', 'application/json'), 400);
      const poisoned = await post('{"__proto__":{"admin":true},"email":"p@b.co"}', 'application/json');
      assertProblem(poisoned, 400);
      // Valid JSON, refused for its key: the answer says so rather than "not valid JSON" alone.
      assert.match(poisoned.json().detail, /__proto__/);
      for (const type of [
        'text/plain',
        'application/xml',
        'application/x-www-form-urlencoded',
        'image/png',
      ]) {
        assertProblem(await post('email=a@b.co', type), 415, 'UNSUPPORTED_MEDIA_TYPE');
      }
      // JSON text sent as text/plain is still not a JSON body.
      assertProblem(await post('{"email":"a@b.co"}', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      assertProblem(await post('email,phone\na@b.co,\n', 'text/csv'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      const multipart = await post(
        '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.co\r\n--x--\r\n',
        'multipart/form-data; boundary=x',
      );
      assertProblem(multipart, 415, 'UNSUPPORTED_MEDIA_TYPE');
      assertProblem(await post('{"email":"a@b.co"}'), 415);
      const list = await send(t, {
        method: 'GET',
        url: '/api/v1/leads?q=a@b.co',
        headers: authHeaders(t.key),
      });
      assert.deepEqual(list.json().data, []);
    });

    it('never answers bad input with a 5xx', async () => {
      const t = get();
      const lead = (payload: unknown) =>
        send(t, {
          method: 'POST',
          url: '/api/v1/leads',
          headers: authHeaders(t.key, { 'content-type': 'application/json' }),
          payload: JSON.stringify(payload),
        });
      const bodies: unknown[] = [
        { email: 'nul@bad.io', firstName: 'a\u0000b' },
        { email: 'surrogate@bad.io', properties: { note: '\ud800' } },
        { email: 'surrogate@bad.io', company: 'x\udfffy' },
        { email: 'key@bad.io', properties: { 'k\u0000': 1 } },
        { email: 'num@bad.io', companySize: 1e308 },
        { email: 'num@bad.io', companySize: -1 },
        { email: 'num@bad.io', companySize: 2 ** 53 },
        { email: 'num@bad.io', properties: { big: 1e308, tiny: -1e-308 } },
        { email: 'x'.repeat(400) },
        { email: 'long@bad.io', firstName: 'x'.repeat(10_000) },
        { email: ['a@b.co'] },
        { email: { $ne: null } },
        { email: 'a@b.co', stage: 'customer', properties: { constructor: { prototype: 1 } } },
        { email: 'a@b.co', utm: 'google' },
        { email: 'a@b.co', utm: { source: { nested: true } } },
        {
          email: 'a@b.co',
          properties: Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`p${i}`, i])),
        },
        [],
        [{ email: 'a@b.co' }],
        'a@b.co',
        42,
        null,
      ];
      for (const [i, body] of bodies.entries()) {
        const response = await lead(body);
        assert.ok(response.statusCode < 500, `body ${i}: ${response.statusCode} ${response.body}`);
        if (response.statusCode >= 400) assertClientProblemWithPaths(response, `body ${i}`);
      }
      // Nesting deeper than any stack: sent as text, since JSON.stringify cannot build it either.
      for (const depth of [1_000, 200_000]) {
        const response = await send(t, {
          method: 'POST',
          url: '/api/v1/leads',
          headers: authHeaders(t.key, { 'content-type': 'application/json' }),
          payload: `{"email":"deep@bad.io","properties":{"deep":${'['.repeat(depth)}${']'.repeat(depth)}}}`,
        });
        assertClientProblemWithPaths(response, `depth ${depth}`);
      }
      const urls = [
        '/api/v1/leads/%00',
        '/api/v1/leads/%00/timeline',
        '/api/v1/leads?q=%00',
        '/api/v1/leads?owner=%00',
        '/api/v1/leads?q=%ED%A0%80',
        '/api/v1/leads?createdFrom=99999999999999999999',
        '/api/v1/leads?createdFrom=-1',
        '/api/v1/leads?limit=1e3',
        '/api/v1/leads?limit=9999999999999999999999',
        '/api/v1/leads?includeArchived=maybe',
        `/api/v1/leads?cursor=${Buffer.from('[1.5,"x"]').toString('base64url')}`,
        `/api/v1/leads?cursor=${Buffer.from('[1,"\\u0000"]').toString('base64url')}`,
        `/api/v1/leads?cursor=${Buffer.from('[1,"\\ud800"]').toString('base64url')}`,
        `/api/v1/leads/x/timeline?cursor=${Buffer.from('[1e400,"x"]').toString('base64url')}`,
        `/api/v1/leads/${'x'.repeat(65)}`,
        '/api/v1/properties/%00',
      ];
      for (const url of urls) {
        const response = await send(t, { method: 'GET', url, headers: authHeaders(t.key) });
        assert.ok(response.statusCode < 500, `${url}: ${response.statusCode} ${response.body}`);
        // Invalid UTF-8 in a query decodes to U+FFFD: a harmless search. Everything else is refused.
        if (url.includes('%ED%A0%80')) continue;
        assertClientProblemWithPaths(response, url);
      }
      const batch = await send(t, {
        method: 'POST',
        url: '/api/v1/leads/batch',
        headers: authHeaders(t.key),
        payload: { leads: [{ email: 'ok@bad.io' }, { email: 'n@bad.io', lastName: '\u0000' }] },
      });
      assert.ok(batch.statusCode < 500, batch.body);
      const merge = await send(t, {
        method: 'POST',
        url: '/api/v1/leads/x/merge',
        headers: authHeaders(t.key),
        payload: { otherId: '\ud800' },
      });
      assertClientProblemWithPaths(merge, 'merge');
    });

    it('fuzz: any JSON body to POST /api/v1/leads gets a 2xx or a problem naming a field, never a 5xx', async () => {
      const t = get();
      // Typed properties, so values also meet the property checks, not only the schema.
      for (const definition of [
        { name: 'score', type: 'number' },
        { name: 'vip', type: 'boolean' },
        { name: 'renewal', type: 'date' },
        { name: 'plan', type: 'enum', options: ['free', 'pro'] },
      ]) {
        await send(t, {
          method: 'POST',
          url: '/api/v1/properties',
          headers: authHeaders(t.key),
          payload: definition,
        });
      }
      // Mostly plausible values (binary strings: NUL, lone surrogates, any script), sometimes any JSON at all.
      const anyValue = fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' });
      const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constant(''), fc.constant(' '));
      const maybe = <T>(plausible: fc.Arbitrary<T>) =>
        fc.oneof({ weight: 20, arbitrary: plausible }, { weight: 1, arbitrary: anyValue });
      const url = fc.oneof(fc.webUrl({ withQueryParameters: true }), text);
      const leadLike = fc.record(
        {
          email: maybe(fc.oneof({ weight: 4, arbitrary: fc.emailAddress() }, { weight: 1, arbitrary: text })),
          phone: maybe(fc.oneof(fc.constantFrom('+14155552671', '+44 20 7946 0958', '555'), text)),
          firstName: maybe(text),
          company: maybe(text),
          companySize: maybe(
            fc.oneof({ weight: 20, arbitrary: fc.nat(10_000_000) }, fc.integer(), fc.double()),
          ),
          country: maybe(fc.oneof(fc.constantFrom('GB', 'Germany', 'Atlantis'), text)),
          website: maybe(url),
          stage: maybe(
            fc.oneof(
              { weight: 20, arbitrary: fc.constantFrom('lead', 'mql', 'customer', 'disqualified') },
              text,
            ),
          ),
          ownerId: maybe(text),
          utm: maybe(fc.record({ source: text, medium: text, campaign: text }, { requiredKeys: [] })),
          referrer: maybe(url),
          landingPage: maybe(url),
          properties: maybe(
            fc.dictionary(
              fc.oneof(
                fc.constantFrom('score', 'vip', 'renewal', 'plan'),
                fc.stringMatching(/^[A-Za-z]\w{0,8}$/),
              ),
              fc.oneof(
                text,
                fc.double(),
                fc.boolean(),
                fc.constant(null),
                fc.array(text, { maxLength: 3 }),
                anyValue,
              ),
              { maxKeys: 4 },
            ),
          ),
        },
        { requiredKeys: [] },
      );
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof({ weight: 4, arbitrary: leadLike }, { weight: 1, arbitrary: anyValue }),
          async (body) => {
            const response = await send(t, {
              method: 'POST',
              url: '/api/v1/leads',
              headers: authHeaders(t.key, { 'content-type': 'application/json' }),
              payload: JSON.stringify(body) ?? 'null',
            });
            statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
            if (response.statusCode < 300) {
              assert.equal(typeof response.json().id, 'string');
            } else {
              assertClientProblemWithPaths(response, JSON.stringify(body));
            }
          },
        ),
        { numRuns: 200 },
      );
      // The runs reached the domain checks and the database, not only the schema.
      const count = (from: number, to: number) =>
        [...statuses].filter(([status]) => status >= from && status < to).reduce((n, [, k]) => n + k, 0);
      assert.ok(count(200, 300) >= 5, `too few writes: ${JSON.stringify([...statuses])}`);
      assert.ok(count(422, 423) >= 10, `too few domain refusals: ${JSON.stringify([...statuses])}`);
    });
  });

  describe('body limit', () => {
    const get = useApp(engine, { LEADLINE_BODY_LIMIT_BYTES: '2048' });

    it('refuses a body over the limit with 413, and takes one under it', async () => {
      const t = get();
      const post = (firstName: string) =>
        send(t, {
          method: 'POST',
          url: '/api/v1/leads',
          headers: authHeaders(t.key),
          payload: { email: 'big@limit.io', firstName },
        });
      assertProblem(await post('x'.repeat(3000)), 413, 'PAYLOAD_TOO_LARGE');
      const small = await post('x'.repeat(100));
      assert.equal(small.statusCode, 201, small.body);
      const batch = await send(t, {
        method: 'POST',
        url: '/api/v1/leads/batch',
        headers: authHeaders(t.key),
        payload: { leads: Array.from({ length: 100 }, (_, i) => ({ email: `b${i}@limit.io` })) },
      });
      assertProblem(batch, 413, 'PAYLOAD_TOO_LARGE');
    });
  });

  describe('rate limits', () => {
    const get = useApp(engine, { LEADLINE_RATE_LIMIT_PER_KEY: '5', LEADLINE_RATE_LIMIT_PER_IP: '3' });

    it('allows 5 requests a minute per key, then answers 429 with Retry-After; another key still passes', async () => {
      const t = get();
      const workspace = await t.services.workspaces.resolveWorkspace('default');
      const { key: other } = await t.services.workspaces.createKey(workspace.id, 'other', 'read');
      const list = (key: string) =>
        send(t, {
          method: 'GET',
          url: '/api/v1/leads',
          headers: authHeaders(key),
          remoteAddress: '10.0.0.1',
        });
      for (let i = 0; i < 5; i++) assert.equal((await list(t.key)).statusCode, 200);
      const limited = await list(t.key);
      assertProblem(limited, 429, 'RATE_LIMITED');
      const retryAfter = Number(limited.headers['retry-after']);
      assert.ok(retryAfter > 0 && retryAfter <= 60, `retry-after: ${limited.headers['retry-after']}`);
      assert.equal((await list(other)).statusCode, 200);
    });

    it('limits requests without a valid key per IP, before checking the key', async () => {
      const t = get();
      const anonymous = (headers: Record<string, string>, remoteAddress: string) =>
        send(t, { method: 'GET', url: '/api/v1/leads', headers, remoteAddress });
      // Invented keys do not get an allowance each: they count against the IP.
      assertProblem(await anonymous({}, '10.0.0.2'), 401);
      assertProblem(await anonymous(authHeaders('guess-1'), '10.0.0.2'), 401);
      assertProblem(await anonymous(authHeaders('guess-2'), '10.0.0.2'), 401);
      const limited = await anonymous(authHeaders('guess-3'), '10.0.0.2');
      assertProblem(limited, 429, 'RATE_LIMITED');
      assert.ok(Number(limited.headers['retry-after']) > 0);
      // Keyless public routes share the IP's limit: a hosted form or t.js is no way around it.
      assertProblem(await send(t, { method: 'GET', url: '/t.js', remoteAddress: '10.0.0.2' }), 429);
      assertProblem(await send(t, { method: 'GET', url: '/api/v1/nothing', remoteAddress: '10.0.0.2' }), 429);
      // Another IP, and a valid key from the limited IP, still pass.
      assertProblem(await anonymous({}, '10.0.0.3'), 401);
      const workspace = await t.services.workspaces.resolveWorkspace('default');
      const { key } = await t.services.workspaces.createKey(workspace.id, 'fresh', 'read');
      assert.equal((await anonymous(authHeaders(key), '10.0.0.2')).statusCode, 200);
    });

    it('never limits health probes or the API docs, and does not count them', async () => {
      const t = get();
      const from = (url: string, headers: Record<string, string> = {}) =>
        send(t, { method: 'GET', url, headers, remoteAddress: '10.0.0.4' });
      // Behind a proxy every keyless caller shares one IP: its limit is used up by others.
      for (let i = 0; i < 3; i++) assertProblem(await from('/api/v1/leads', authHeaders(`guess-${i}`)), 401);
      assertProblem(await from('/api/v1/leads'), 429, 'RATE_LIMITED');
      for (let i = 0; i < 5; i++) {
        assert.equal((await from('/healthz')).statusCode, 200);
        assert.equal((await from('/readyz', authHeaders('guess'))).statusCode, 200);
        assert.equal((await from('/api/v1/openapi.json')).statusCode, 200);
        assert.equal((await from('/docs/json')).statusCode, 200);
        const docs = await from('/docs');
        assert.ok(docs.statusCode < 400, `/docs: ${docs.statusCode}`);
      }
      // On a fresh IP they take nothing from its allowance.
      for (let i = 0; i < 5; i++)
        assert.equal(
          (await send(t, { method: 'GET', url: '/healthz', remoteAddress: '10.0.0.5' })).statusCode,
          200,
        );
      for (let i = 0; i < 3; i++)
        assertProblem(await send(t, { method: 'GET', url: '/api/v1/leads', remoteAddress: '10.0.0.5' }), 401);
      assertProblem(await send(t, { method: 'GET', url: '/api/v1/leads', remoteAddress: '10.0.0.5' }), 429);
    });
  });
});

describe('readiness without a database', () => {
  it('answers /readyz with a 503 problem when the database cannot be reached, /healthz still 200', async () => {
    // A real PostgreSQL client pointed at a port nobody listens on: no mock.
    const database = openDatabase({ databaseUrl: 'postgres://nobody@127.0.0.1:9/none' });
    const app = Fastify({ logger: false });
    registerHealthRoutes(app as unknown as HttpApp, database);
    try {
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 503);
      assert.match(String(ready.headers['content-type']), /^application\/problem\+json/);
      assert.equal(ready.json().code, 'NOT_READY');
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    } finally {
      await app.close();
      await database.close();
    }
  });
});
