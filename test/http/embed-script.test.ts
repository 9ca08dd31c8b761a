import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { useApp } from '../support/engines.ts';

// No database work here: the script is the same on either engine.
describe('GET /embed.js', () => {
  const get = useApp('sqlite');

  it('serves the bundled script without a key, cacheable, revalidated by ETag, gzipped on request', async () => {
    const t = get();
    const plain = await t.app.inject({ method: 'GET', url: '/embed.js' });
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(plain.headers['cache-control'], 'public, max-age=300');
    assert.equal(plain.headers['cross-origin-resource-policy'], 'cross-origin');
    assert.ok(plain.body.includes('data-leadline-form'), 'it looks for the form containers');
    assert.ok(!plain.body.includes('import '), 'one self-contained script');
    const etag = String(plain.headers.etag);

    const again = await t.app.inject({ method: 'GET', url: '/embed.js', headers: { 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');

    const gzipped = await t.app.inject({
      method: 'GET',
      url: '/embed.js',
      headers: { 'accept-encoding': 'gzip, br' },
    });
    assert.equal(gzipped.headers['content-encoding'], 'gzip');
    const bytes = gzipped.rawPayload;
    assert.ok(bytes.length < 10 * 1024, `${bytes.length} bytes gzipped`);
    assert.equal(gunzipSync(bytes).toString('utf8'), plain.body);
  });
});
