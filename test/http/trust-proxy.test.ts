import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { isDomainError } from '../../src/errors.ts';
import { startApp } from '../support/engines.ts';

/** Three keyless calls, each from another client behind the same proxy (127.0.0.1, inject's address). */
async function statusesBehindProxy(env: Record<string, string>): Promise<number[]> {
  const t = await startApp('sqlite', { LEADLINE_RATE_LIMIT_PER_IP: '2', ...env });
  try {
    const statuses: number[] = [];
    for (const client of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
      const response = await t.app.inject({
        method: 'GET',
        url: '/api/v1/leads',
        headers: { 'x-forwarded-for': client },
      });
      statuses.push(response.statusCode);
    }
    return statuses;
  } finally {
    await t.close();
  }
}

describe('LEADLINE_TRUST_PROXY', () => {
  it('counts per-IP limits per client behind a trusted proxy, and per socket otherwise', async () => {
    // Not trusted: X-Forwarded-For is ignored, the three clients are one address, the third is limited.
    assert.deepEqual(await statusesBehindProxy({}), [401, 401, 429]);
    // The proxy's address trusted: each client has its own limit.
    assert.deepEqual(await statusesBehindProxy({ LEADLINE_TRUST_PROXY: '127.0.0.1' }), [401, 401, 401]);
    assert.deepEqual(await statusesBehindProxy({ LEADLINE_TRUST_PROXY: '1' }), [401, 401, 401]);
    // A range that does not hold the proxy: still one address.
    assert.deepEqual(await statusesBehindProxy({ LEADLINE_TRUST_PROXY: '10.0.0.0/8' }), [401, 401, 429]);
  });

  it('takes hop counts and address or CIDR lists, and names the variable when it is wrong', () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(loadConfig({ LEADLINE_TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(loadConfig({ LEADLINE_TRUST_PROXY: '10.0.0.0/8, ::1,192.168.1.7' }).trustProxy, [
      '10.0.0.0/8',
      '::1',
      '192.168.1.7',
    ]);
    for (const bad of ['0', '11', 'yes', '10.0.0.0/33', 'fe80::/129', '10.0.0.1/8/9', 'proxy.local']) {
      assert.throws(
        () => loadConfig({ LEADLINE_TRUST_PROXY: bad }),
        (error) => isDomainError(error) && error.errors[0]?.path === 'LEADLINE_TRUST_PROXY',
        bad,
      );
    }
  });
});
