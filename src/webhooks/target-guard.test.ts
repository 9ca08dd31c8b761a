import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isDomainError } from '../errors.ts';
import { assertPublicTarget, isPrivateAddress, MAX_RESPONSE_BYTES, postJson } from './target-guard.ts';

describe('isPrivateAddress', () => {
  it('refuses loopback, private, link-local, CGNAT, ULA, multicast, reserved and their IPv6 disguises', () => {
    for (const address of [
      '127.0.0.1',
      '127.255.255.254',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '100.127.255.255',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '198.18.0.1',
      '::',
      '::1',
      '[::1]',
      'fc00::1',
      'fd12:3456:789a::1',
      'fe80::1',
      'fe80::1%eth0',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:a9fe:a9fe',
      '::ffff:10.0.0.1',
      '64:ff9b::10.0.0.1',
      '::127.0.0.1',
      '2002:7f00:1::1',
      '2001:db8::1',
      'localhost',
      'not an address',
    ])
      assert.equal(isPrivateAddress(address), true, address);
  });

  it('lets public addresses through', () => {
    for (const address of [
      '8.8.8.8',
      '93.184.215.14',
      '1.1.1.1',
      '100.63.255.255',
      '100.128.0.1',
      '172.15.255.255',
      '172.32.0.1',
      '169.253.0.1',
      '2606:4700:4700::1111',
      '2a00:1450:4001::200e',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
    ])
      assert.equal(isPrivateAddress(address), false, address);
  });
});

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isDomainError(error), String(error));
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.equal(error.errors[0]?.path, '/url');
    return error.errors[0]!.message;
  }
  assert.fail('the target was allowed');
}

describe('assertPublicTarget', () => {
  it('refuses private targets, by address or by a name that resolves to one', async () => {
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'https://10.1.2.3/hook',
      'http://[::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://0.0.0.0/',
      'http://2130706433/', // 127.0.0.1 written as one number
      'http://0x7f.1/',
    ])
      assert.match(await refusal(assertPublicTarget(url, false)), /private, loopback or reserved/, url);
    assert.match(
      await refusal(assertPublicTarget('http://localhost:3000/hook', false)),
      /localhost resolves to 127\.0\.0\.1/,
    );
  });

  it('refuses other schemes, credentials, nonsense and names that do not resolve', async () => {
    assert.match(await refusal(assertPublicTarget('ftp://example.org/', true)), /http or https/);
    assert.match(await refusal(assertPublicTarget('file:///etc/passwd', true)), /http or https/);
    assert.match(
      await refusal(assertPublicTarget('https://user:pw@example.org/', true)),
      /user name or password/,
    );
    assert.match(await refusal(assertPublicTarget('not a url', true)), /absolute http or https URL/);
    assert.match(
      await refusal(assertPublicTarget('https://nowhere.invalid/', false)),
      /could not be resolved/,
    );
  });

  it('accepts public addresses, and private ones when the workspace allows them', async () => {
    await assertPublicTarget('https://93.184.215.14/hook', false);
    await assertPublicTarget('https://[2606:4700:4700::1111]/hook', false);
    await assertPublicTarget('http://127.0.0.1:8080/hook', true);
    await assertPublicTarget('http://localhost/hook', true);
  });
});

describe('postJson', () => {
  let server: http.Server;
  let base: string;
  const seen: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        seen.push({ headers: req.headers, body });
        if (req.url === '/big') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('x'.repeat(MAX_RESPONSE_BYTES * 3));
        } else if (req.url === '/redirect') {
          res.writeHead(302, { location: 'http://169.254.169.254/' });
          res.end();
        } else if (req.url === '/slow') {
          // Never answers: the caller's timeout must end the wait.
        } else {
          res.writeHead(201, { 'content-type': 'application/json', 'x-reply': 'yes' });
          res.end('{"ok":true}');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('posts JSON with the given headers and returns the status, body and headers', async () => {
    const answer = await postJson(
      `${base}/hook`,
      '{"a":1}',
      { 'webhook-id': 'msg_1' },
      { allowPrivate: true },
    );
    assert.equal(answer.status, 201);
    assert.equal(answer.body, '{"ok":true}');
    assert.equal(answer.headers['x-reply'], 'yes');
    const request = seen.at(-1)!;
    assert.equal(request.body, '{"a":1}');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers['webhook-id'], 'msg_1');
  });

  it('refuses a private target when not allowed, by literal address and at connect time by name', async () => {
    const before = seen.length;
    assert.match(await refusal(postJson(`${base}/hook`, '{}', {}, { allowPrivate: false })), /127\.0\.0\.1/);
    const byName = base.replace('127.0.0.1', 'localhost');
    assert.match(
      await refusal(postJson(`${byName}/hook`, '{}', {}, { allowPrivate: false })),
      /localhost resolves/,
    );
    assert.equal(seen.length, before, 'nothing reached the server');
    assert.equal((await postJson(`${byName}/hook`, '{}', {}, { allowPrivate: true })).status, 201);
  });

  it('reads at most 64 KiB of the answer, does not follow redirects, and times out', async () => {
    const big = await postJson(`${base}/big`, '{}', {}, { allowPrivate: true });
    assert.equal(big.status, 200);
    assert.equal(big.body.length, MAX_RESPONSE_BYTES);
    const redirect = await postJson(`${base}/redirect`, '{}', {}, { allowPrivate: true });
    assert.equal(redirect.status, 302);
    await assert.rejects(
      postJson(`${base}/slow`, '{}', {}, { allowPrivate: true, timeoutMs: 200 }),
      /timed out after 200 ms/,
    );
    const aborted = new AbortController();
    const pending = postJson(`${base}/slow`, '{}', {}, { allowPrivate: true, signal: aborted.signal });
    aborted.abort(new Error('the worker is shutting down'));
    await assert.rejects(pending, /shutting down|aborted/);
  });
});
