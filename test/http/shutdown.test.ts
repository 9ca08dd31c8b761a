import assert from 'node:assert/strict';
import net from 'node:net';
import { it } from 'node:test';
import { describeEachEngine, startApp } from '../support/engines.ts';

describeEachEngine('a server that is stopping', (engine) => {
  it('answers a request that arrives meanwhile with a 503 problem and Retry-After', async () => {
    const t = await startApp(engine);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as net.AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('utf8');
    });
    const ended = new Promise((resolve) => socket.once('close', resolve));
    // Half a request: the connection is busy, so the stop waits for it rather than cut it.
    const body = JSON.stringify({ email: 'late@acme.io' });
    socket.write(`POST /api/v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.key}\r\n`);
    const closed = t.close();
    // The stop has begun once the server no longer listens (its preClose hooks ran first).
    while (t.app.server.listening) await new Promise((resolve) => setTimeout(resolve, 5));
    socket.write(`Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await ended;
    await closed;
    const [head, json] = answer.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 503 /);
    assert.match(head!, /content-type: application\/problem\+json/i);
    assert.match(head!, /retry-after: 5/i);
    assert.equal(JSON.parse(json!).code, 'SHUTTING_DOWN');
  });
});
