import assert from 'node:assert/strict';
import { authHeaders, type TestApp } from './engines.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
// biome-ignore lint/suspicious/noExplicitAny: API answers are read field by field in the tests.
export type Json = Record<string, any>;

let tenants = 0;

/**
 * A workspace of its own with an admin key, and calls through `app.inject` as that key: the
 * data of one test never meets another's. `ok` asserts a 2xx and returns the JSON body;
 * `problem` asserts a problem+json answer with that status and returns it.
 */
export async function tenant(t: TestApp, prefix = 'tenant') {
  const workspace = await t.services.workspaces.createWorkspace(`${prefix}-${++tenants}`);
  const { key } = await t.services.workspaces.createKey(workspace.id, 'admin', 'admin');
  const call = async (method: Method, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({
      method,
      url,
      headers: authHeaders(key, headers),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const ok = async (method: Method, url: string, payload?: unknown): Promise<Json> => {
    const response = await call(method, url, payload);
    assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
    return response.statusCode === 204 ? {} : response.json();
  };
  const problem = async (status: number, method: Method, url: string, payload?: unknown): Promise<Json> => {
    const response = await call(method, url, payload);
    assert.equal(response.statusCode, status, `${method} ${url}: ${response.statusCode} ${response.body}`);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    return response.json();
  };
  return { id: workspace.id, slug: workspace.slug, key, call, ok, problem };
}

export type Tenant = Awaited<ReturnType<typeof tenant>>;
