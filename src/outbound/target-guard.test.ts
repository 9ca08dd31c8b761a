import assert from 'node:assert/strict';
import { pbkdf2 } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isDomainError } from '../errors.ts';
import { resolveHost, unsafeUseNameservers } from './resolve.ts';
import {
  assertPublicTarget,
  guardedRequest,
  isRefusedTarget,
  MAX_RESPONSE_BYTES,
  postJson,
} from './target-guard.ts';

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
      'http://[::ffff:0:127.0.0.1]/hook',
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

  it('refuses link-local and cloud metadata addresses even when private targets are allowed', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://169.254.170.2/v2/credentials',
      'http://100.100.100.200/latest/meta-data/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://[fe80::1]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[::ffff:0:a9fe:a9fe]/',
    ])
      for (const allowPrivate of [false, true])
        assert.match(
          await refusal(assertPublicTarget(url, allowPrivate)),
          /link-local or cloud metadata address \(never allowed\)/,
          `${url} allowPrivate=${allowPrivate}`,
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
  const seen: Array<{ method: string; headers: http.IncomingHttpHeaders; body: string }> = [];

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        seen.push({ method: req.method ?? '', headers: req.headers, body });
        if (req.url === '/busy') {
          res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' });
          res.end('{"message":"slow down"}');
        } else if (req.url === '/big') {
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
    assert.match(
      await refusal(postJson('http://169.254.169.254/latest/meta-data/', '{}', {}, { allowPrivate: true })),
      /never allowed/,
    );
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
  it('guardedRequest: a GET without a body, a larger answer when asked for, and the headers (retry-after) back', async () => {
    const answer = await guardedRequest(
      `${base}/big`,
      { method: 'GET', headers: { accept: 'application/json' }, maxBytes: MAX_RESPONSE_BYTES * 2 },
      { allowPrivate: true },
    );
    assert.equal(answer.status, 200);
    assert.equal(answer.body.length, MAX_RESPONSE_BYTES * 2, 'more than 64 KiB when maxBytes says so');
    const request = seen.at(-1)!;
    assert.equal(request.method, 'GET');
    assert.equal(request.body, '');
    assert.equal(request.headers['content-length'], undefined);
    assert.equal(request.headers['content-type'], undefined);
    assert.equal(request.headers.accept, 'application/json');
    const busy = await guardedRequest(`${base}/busy`, { method: 'GET', headers: {} }, { allowPrivate: true });
    assert.equal(busy.status, 429);
    assert.equal(busy.headers['retry-after'], '7');
    assert.equal(JSON.parse(busy.body).message, 'slow down');
  });

  it('guardedRequest with credentials: plain http only to a private address the workspace allows', async () => {
    const before = seen.length;
    const secret = { method: 'GET', headers: { authorization: 'Bearer token' } } as const;
    // A public address over http: refused before any connection (the token would travel in clear).
    const publicHttp = await refusal(
      guardedRequest('http://93.184.215.14/rest', secret, { allowPrivate: true, httpsUnlessPrivate: true }),
    );
    assert.match(publicHttp, /must use https/);
    const notAllowed = await refusal(
      guardedRequest(`${base.replace('127.0.0.1', 'localhost')}/hook`, secret, {
        allowPrivate: false,
        httpsUnlessPrivate: true,
      }),
    );
    assert.match(notAllowed, /must use https/);
    assert.equal(seen.length, before, 'nothing was sent');
    const privateHttp = await guardedRequest(`${base}/hook`, secret, {
      allowPrivate: true,
      httpsUnlessPrivate: true,
    });
    assert.equal(privateHttp.status, 201, 'a private address the workspace allows may take plain http');
    assert.equal(seen.at(-1)!.headers.authorization, 'Bearer token');
    // Webhook messages are signed, not secret: plain http to a public address stays allowed there.
    await assertPublicTarget('http://93.184.215.14/hook', false);
    assert.match(
      await refusal(assertPublicTarget('http://93.184.215.14/rest', true, { httpsUnlessPrivate: true })),
      /must use https/,
    );
    assert.match(
      await refusal(assertPublicTarget('http://localhost/rest', false, { httpsUnlessPrivate: true })),
      /must use https/,
    );
    await assertPublicTarget('http://localhost/rest', true, { httpsUnlessPrivate: true });
    await assertPublicTarget('https://93.184.215.14/rest', false, { httpsUnlessPrivate: true });
    try {
      await guardedRequest('http://93.184.215.14/rest', secret, {
        allowPrivate: false,
        httpsUnlessPrivate: true,
      });
      assert.fail('allowed');
    } catch (error) {
      assert.ok(isRefusedTarget(error), 'callers tell a refusal apart from a network error');
    }
  });
});

/**
 * A nameserver of the test's own on 127.0.0.1: answers A queries from `records`, no AAAA
 * records, NXDOMAIN for unknown names, and never answers names starting with `tarpit`.
 */
async function startNameserver(records: Record<string, string>) {
  const socket = dgram.createSocket('udp4');
  let queries = 0;
  socket.on('message', (query, peer) => {
    queries++;
    // The question: labels from byte 12 to a zero byte, then type and class.
    const labels: string[] = [];
    let at = 12;
    while (query[at]! > 0) {
      labels.push(query.subarray(at + 1, at + 1 + query[at]!).toString('ascii'));
      at += query[at]! + 1;
    }
    const name = labels.join('.').toLowerCase();
    const type = query.readUInt16BE(at + 1);
    const question = query.subarray(12, at + 5);
    if (name.startsWith('tarpit')) return;
    const address = records[name];
    const answers =
      address !== undefined && type === 1
        ? Buffer.concat([
            Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]),
            Buffer.from(address.split('.').map(Number)),
          ])
        : Buffer.alloc(0);
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    header.writeUInt16BE(address === undefined ? 0x8183 : 0x8180, 2); // NXDOMAIN, or NOERROR
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length > 0 ? 1 : 0, 6);
    socket.send(Buffer.concat([header, question, answers]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    server: `127.0.0.1:${(socket.address() as AddressInfo).port}`,
    queries: () => queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A plain IPv4 entry of /etc/hosts other than localhost, when the machine has one. */
function hostsEntry(): { name: string; address: string } | undefined {
  let text = '';
  try {
    text = fs.readFileSync('/etc/hosts', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    const name = names.find((n) => !/localhost/.test(n));
    if (address && name && net.isIPv4(address)) return { name, address };
  }
  return undefined;
}

describe('name resolution (a nameserver on 127.0.0.1)', () => {
  let ns: Awaited<ReturnType<typeof startNameserver>>;
  let previous: string[];
  before(async () => {
    ns = await startNameserver({
      'hook.test': '93.184.215.14',
      'rebind.test': '127.0.0.1',
      'meta.test': '169.254.169.254',
    });
    previous = unsafeUseNameservers([ns.server]);
  });
  after(async () => {
    unsafeUseNameservers(previous);
    await ns.close();
  });

  it("resolves through c-ares, off libuv's thread pool (busy here with slow work)", async () => {
    let poolDone = 0;
    const slow = Array.from(
      { length: 8 },
      () =>
        new Promise<void>((resolve) =>
          pbkdf2('x', 'y', 400_000, 32, 'sha512', () => {
            poolDone++;
            resolve();
          }),
        ),
    );
    assert.deepEqual(await resolveHost('hook.test'), [{ address: '93.184.215.14', family: 4 }]);
    assert.equal(poolDone, 0, 'resolved while every pool thread was busy');
    await Promise.all(slow);
  });

  it('answers IP literals and localhost without asking, and refuses names that resolve inward', async () => {
    const before = ns.queries();
    assert.deepEqual(await resolveHost('10.0.0.1'), [{ address: '10.0.0.1', family: 4 }]);
    assert.deepEqual(
      (await resolveHost('LocalHost.')).map((a) => a.address),
      ['127.0.0.1', '::1'],
    );
    assert.deepEqual((await resolveHost('api.localhost')).length, 2);
    assert.equal(ns.queries(), before);
    await assertPublicTarget('https://hook.test/in', false);
    assert.match(
      await refusal(assertPublicTarget('https://rebind.test/in', false)),
      /rebind\.test resolves to 127\.0\.0\.1, a private/,
    );
    await assertPublicTarget('https://rebind.test/in', true);
    assert.match(
      await refusal(assertPublicTarget('https://meta.test/in', true)),
      /meta\.test resolves to 169\.254\.169\.254, a link-local or cloud metadata address/,
    );
  });

  it('refuses plain http with credentials to a name that resolves to a public address, when it connects', async () => {
    // hook.test is public: the lookup made for the connection refuses it, nothing is sent.
    assert.match(
      await refusal(
        guardedRequest(
          'http://hook.test/rest',
          { method: 'GET', headers: { authorization: 'Bearer token' } },
          { allowPrivate: true, httpsUnlessPrivate: true },
        ),
      ),
      /must use https: the request carries credentials and hook\.test \(93\.184\.215\.14\) is a public address/,
    );
    await assertPublicTarget('http://rebind.test/rest', true, { httpsUnlessPrivate: true });
  });

  it('gives up on a nameserver that never answers, without falling back to getaddrinfo', async () => {
    const started = performance.now();
    await assert.rejects(resolveHost('tarpit.test'), (error: NodeJS.ErrnoException) => {
      assert.equal(error.code, 'ETIMEOUT');
      return true;
    });
    assert.ok(performance.now() - started < 6_000);
    assert.match(
      await refusal(assertPublicTarget('https://tarpit.test/', true)),
      /could not be resolved \(ETIMEOUT\)/,
    );
  });

  it('falls back to getaddrinfo for a name DNS does not know (an /etc/hosts entry, say)', async () => {
    // The nameserver says NXDOMAIN for every other name; getaddrinfo reads the hosts file.
    await assert.rejects(resolveHost('nowhere.invalid'), { code: 'ENOTFOUND' });
    const entry = hostsEntry();
    if (entry)
      assert.ok(
        (await resolveHost(entry.name)).some((a) => a.address === entry.address),
        entry.name,
      );
  });
});
