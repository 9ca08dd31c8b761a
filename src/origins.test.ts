import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normaliseOrigin, originInList } from './origins.ts';

describe('origins', () => {
  it('normalises origins and patterns as browsers send them, and refuses what is not one', () => {
    assert.equal(normaliseOrigin('HTTPS://Acme.COM/'), 'https://acme.com');
    assert.equal(normaliseOrigin('https://acme.com:443'), 'https://acme.com');
    assert.equal(normaliseOrigin('http://acme.com:80'), 'http://acme.com');
    assert.equal(normaliseOrigin('http://localhost:3000'), 'http://localhost:3000');
    assert.equal(normaliseOrigin('https://*.acme.com'), 'https://*.acme.com');
    assert.equal(normaliseOrigin('http://[::1]:8080'), 'http://[::1]:8080');
    for (const bad of [
      'https://acme.com/blog',
      'https://acme.com?x=1',
      'ftp://acme.com',
      'acme.com',
      'https://*',
      'https://a..b',
      'https://.acme.com',
      'https://acme.com:0',
      'https://acme.com:99999',
      'https://*.[::1]',
      'https://user@acme.com',
    ]) {
      assert.equal(normaliseOrigin(bad), undefined, bad);
    }
  });

  it('allows exact origins and subdomains of a pattern, never the bare domain, another scheme or port', () => {
    const allowed = ['https://www.example.com', 'https://*.example.org', 'http://[::1]:8080'];
    assert.ok(originInList(allowed, 'https://www.example.com'));
    assert.ok(originInList(allowed, 'HTTPS://WWW.EXAMPLE.COM'));
    assert.ok(originInList(allowed, 'https://a.b.example.org'));
    assert.ok(originInList(allowed, 'http://[::1]:8080'));
    assert.ok(!originInList(allowed, 'https://example.org'));
    assert.ok(!originInList(allowed, 'https://evilexample.org'));
    assert.ok(!originInList(allowed, 'http://www.example.com'));
    assert.ok(!originInList(allowed, 'https://www.example.com:8443'));
    assert.ok(!originInList(allowed, 'https://blog.example.org:8443'));
    assert.ok(!originInList(allowed, 'null'));
    assert.ok(!originInList(allowed, 'https://*.example.org'), 'a pattern is not an origin');
    assert.ok(!originInList([], 'https://www.example.com'));
  });
});
