import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../../src/config.ts';
import { EMAIL_SEND } from '../../src/email/service.ts';
import { smtpTransport } from '../../src/email/transport.ts';
import type { Job } from '../../src/jobs/model.ts';
import { authHeaders, describeEachEngine, startApp, type TestApp, useApp } from '../support/engines.ts';

function send(t: TestApp, method: 'GET' | 'DELETE', url: string, key = t.key) {
  return t.app.inject({ method, url, headers: authHeaders(key) });
}

/** Queues one message through the mail service, as any domain does inside its write. */
function queue(t: TestApp, message: Parameters<TestApp['services']['mail']['sendIn']>[2]) {
  return t.services.database.writes.run((trx) => t.services.mail.sendIn(trx, t.workspaceId, message));
}

async function mailJobs(t: TestApp): Promise<Job[]> {
  return t.services.jobs.list(t.workspaceId, { kind: EMAIL_SEND, limit: 100 });
}

describe('mail configuration', () => {
  it('reads LEADLINE_SMTP_URL, LEADLINE_MAIL_FROM and LEADLINE_PUBLIC_URL', () => {
    const config = loadConfig({
      LEADLINE_SMTP_URL: 'smtps://u:p@smtp.example.com',
      LEADLINE_MAIL_FROM: 'Acme <hi@acme.example>',
      LEADLINE_PUBLIC_URL: 'https://leads.acme.example/',
    });
    assert.deepEqual(
      [config.smtpUrl, config.mailFrom, config.publicUrl],
      ['smtps://u:p@smtp.example.com', 'Acme <hi@acme.example>', 'https://leads.acme.example'],
    );
    const defaults = loadConfig({ PORT: '8080' });
    assert.deepEqual(
      [defaults.smtpUrl, defaults.mailFrom, defaults.publicUrl],
      [undefined, 'Leadline <leadline@localhost>', 'http://localhost:8080'],
    );
  });

  it('refuses values it cannot use, naming the variable', () => {
    for (const [name, value] of [
      ['LEADLINE_SMTP_URL', 'http://smtp.example.com'],
      ['LEADLINE_SMTP_URL', 'not a url'],
      ['LEADLINE_MAIL_FROM', 'Acme Sales'],
      ['LEADLINE_PUBLIC_URL', 'leads.acme.example'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (error: { code?: string; errors?: Array<{ path: string }> }) =>
          error.code === 'VALIDATION_FAILED' && error.errors?.[0]?.path === name,
        `${name}=${value}`,
      );
    }
  });
});

describeEachEngine('dev mailbox (no SMTP configured)', (engine) => {
  const get = useApp(engine);

  it('keeps queued mail once the job ran, lists it newest first with a cursor, shows one, clears all', async () => {
    const t = get();
    await queue(t, {
      to: ['ada@example.com'],
      subject: 'First',
      text: 'Hello Ada',
      html: '<p>Hello Ada</p>',
      replyTo: 'sales@example.com',
      headers: { 'X-Leadline-Test': 'yes' },
    });
    t.clock.now += 1000;
    await queue(t, { to: ['bob@example.com', 'carol@example.com'], subject: 'Second', text: 'Hi' });
    let list = await send(t, 'GET', '/api/v1/mailbox');
    assert.equal(list.json().data.length, 0, 'nothing is kept before the job runs');
    assert.equal(await t.services.jobs.runDue(), 2);

    list = await send(t, 'GET', '/api/v1/mailbox');
    assert.equal(list.statusCode, 200, list.body);
    assert.equal(list.json().transport, 'mailbox');
    assert.deepEqual(
      list.json().data.map((m: { subject: string }) => m.subject),
      ['Second', 'First'],
    );
    const page1 = (await send(t, 'GET', '/api/v1/mailbox?limit=1')).json();
    assert.equal(page1.data[0].subject, 'Second');
    const page2 = (await send(t, 'GET', `/api/v1/mailbox?limit=1&cursor=${page1.nextCursor}`)).json();
    assert.deepEqual(
      page2.data.map((m: { subject: string }) => m.subject),
      ['First'],
    );
    const page3 = (await send(t, 'GET', `/api/v1/mailbox?limit=1&cursor=${page2.nextCursor}`)).json();
    assert.deepEqual([page3.data, page3.nextCursor], [[], null]);

    const first = await send(t, 'GET', `/api/v1/mailbox/${page2.data[0].id}`);
    assert.equal(first.statusCode, 200, first.body);
    const { id: _id, createdAt: _at, ...shown } = first.json() as Record<string, unknown>;
    assert.deepEqual(shown, {
      from: 'Leadline <leadline@localhost>',
      to: ['ada@example.com'],
      subject: 'First',
      text: 'Hello Ada',
      html: '<p>Hello Ada</p>',
      replyTo: 'sales@example.com',
      headers: { 'X-Leadline-Test': 'yes' },
    });

    const cleared = await send(t, 'DELETE', '/api/v1/mailbox');
    assert.deepEqual(cleared.json(), { deleted: 2 });
    assert.equal((await send(t, 'GET', '/api/v1/mailbox')).json().data.length, 0);
    const gone = await send(t, 'GET', `/api/v1/mailbox/${page2.data[0].id}`);
    assert.equal(gone.statusCode, 404);
    assert.match(String(gone.headers['content-type']), /application\/problem\+json/);
  });

  it('sends a keyed message once, however often it is queued', async () => {
    const t = get();
    for (let i = 0; i < 3; i++)
      await queue(t, { to: ['ada@example.com'], subject: 'Once', text: 'x', key: 'k-1' });
    await t.services.jobs.runDue();
    const list = (await send(t, 'GET', '/api/v1/mailbox')).json().data;
    assert.deepEqual(
      list.map((m: { subject: string }) => m.subject),
      ['Once'],
    );
    await send(t, 'DELETE', '/api/v1/mailbox');
  });

  it('prunes messages 7 days after they were kept', async () => {
    const t = get();
    await queue(t, { to: ['ada@example.com'], subject: 'Old', text: 'x' });
    await t.services.jobs.runDue();
    t.clock.now += 6 * 86_400_000;
    await queue(t, { to: ['ada@example.com'], subject: 'Newer', text: 'x' });
    await t.services.jobs.runDue();
    const subjects = async () =>
      (await send(t, 'GET', '/api/v1/mailbox')).json().data.map((m: { subject: string }) => m.subject);
    assert.equal(await t.services.mail.prune([t.workspaceId]), 0);
    t.clock.now += 86_400_000 + 1;
    assert.equal(await t.services.mail.prune([t.workspaceId]), 1);
    assert.deepEqual(await subjects(), ['Newer']);
    await send(t, 'DELETE', '/api/v1/mailbox');
  });

  it('refuses messages it could not send, naming the field', async () => {
    const t = get();
    const cases: Array<[Parameters<typeof queue>[1], string]> = [
      [{ to: [], subject: 's', text: 't' }, '/to'],
      [{ to: ['not-an-address'], subject: 's', text: 't' }, '/to'],
      [{ to: ['a@example.com'], subject: 'line\nbreak', text: 't' }, '/subject'],
      [{ to: ['a@example.com'], subject: 's', text: 't', headers: { Bcc: 'spy@example.com' } }, '/headers'],
      [
        { to: ['a@example.com'], subject: 's', text: 't', headers: { 'X-A': 'b\r\nBcc: x@y.io' } },
        '/headers',
      ],
      [{ to: ['a@example.com'], subject: 's', text: 't', replyTo: 'nope' }, '/replyTo'],
    ];
    for (const [message, path] of cases) {
      await assert.rejects(
        queue(t, message),
        (error: { code?: string; errors?: Array<{ path: string }> }) => {
          assert.equal(error.code, 'VALIDATION_FAILED');
          assert.deepEqual(
            error.errors?.map((e) => e.path),
            [path],
          );
          return true;
        },
      );
    }
    assert.equal((await mailJobs(t)).filter((j) => j.state === 'queued').length, 0);
  });

  it('is for admin keys only', async () => {
    const t = get();
    const { key } = await t.services.workspaces.createKey(t.workspaceId, 'writer', 'write');
    for (const [method, url] of [
      ['GET', '/api/v1/mailbox'],
      ['GET', '/api/v1/mailbox/x'],
      ['DELETE', '/api/v1/mailbox'],
    ] as const) {
      assert.equal((await send(t, method, url, key)).statusCode, 403, `${method} ${url}`);
    }
    const badCursor = await send(t, 'GET', '/api/v1/mailbox?cursor=nonsense');
    assert.equal(badCursor.statusCode, 422);
    assert.equal(badCursor.json().errors[0].path, '/query/cursor');
  });
});

interface Received {
  from: string;
  to: string[];
  raw: string;
}

/**
 * A real SMTP server on 127.0.0.1 (the `smtp-server` package) that wants a login, accepts mail
 * for anyone but `reject@…` (550, permanent) and `later@…` (451, transient, while `busy`).
 */
async function startSmtpSink() {
  const received: Received[] = [];
  const state = { busy: true, logins: 0, holdMs: 0, inData: 0, mostInData: 0 };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      state.logins++;
      if (auth.username === 'leadline' && auth.password === 'p@ss/word')
        return callback(null, { user: 'leadline' });
      return callback(new Error('Invalid username or password'));
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('reject@')) {
        return callback(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }));
      }
      if (address.address.startsWith('later@') && state.busy) {
        return callback(Object.assign(new Error('4.7.1 Try again later'), { responseCode: 451 }));
      }
      return callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      state.inData++;
      state.mostInData = Math.max(state.mostInData, state.inData);
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        // `holdMs`: a slow server, so concurrent sends overlap.
        setTimeout(() => {
          state.inData--;
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        }, state.holdMs);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describeEachEngine('SMTP transport (a real smtp-server on 127.0.0.1)', (engine) => {
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  let t: TestApp;
  before(async () => {
    smtp = await startSmtpSink();
    t = await startApp(engine, {
      LEADLINE_SMTP_URL: `smtp://leadline:${encodeURIComponent('p@ss/word')}@127.0.0.1:${smtp.port}`,
      LEADLINE_MAIL_FROM: 'Acme Sales <sales@acme.example>',
    });
  });
  after(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('delivers through SMTP with the configured sender, a login, and a Message-ID made from the job', async () => {
    await queue(t, {
      to: ['ada@example.com'],
      subject: 'Welcome aboard',
      text: 'Plain body',
      html: '<p>HTML body</p>',
      headers: { 'X-Leadline-Test': 'smtp' },
    });
    assert.equal(await t.services.jobs.runDue(), 1);
    assert.equal(smtp.received.length, 1);
    const [message] = smtp.received;
    assert.equal(message!.from, 'sales@acme.example');
    assert.deepEqual(message!.to, ['ada@example.com']);
    assert.match(message!.raw, /^Subject: Welcome aboard\r$/m);
    assert.match(message!.raw, /^From: Acme Sales <sales@acme\.example>\r$/m);
    assert.match(message!.raw, /^X-Leadline-Test: smtp\r$/m);
    const [job] = await mailJobs(t);
    assert.equal(job!.state, 'done');
    assert.ok(message!.raw.includes(`Message-ID: <${job!.id}@acme.example>`), message!.raw.slice(0, 600));
    assert.ok(smtp.state.logins >= 1);
    const mailbox = (await send(t, 'GET', '/api/v1/mailbox')).json();
    assert.deepEqual(
      [mailbox.transport, mailbox.data.length],
      ['smtp', 0],
      'sent mail is not kept in the mailbox',
    );
  });

  it('a permanent 5xx rejection makes the job dead at once, with the reason', async () => {
    const sent = smtp.received.length;
    await queue(t, { to: ['reject@example.com'], subject: 'Nope', text: 'x', key: 'rejected' });
    await t.services.jobs.runDue();
    const job = (await mailJobs(t)).find((j) => j.key === 'mail:rejected')!;
    assert.equal(job.state, 'dead');
    assert.equal(job.attempts, 1);
    assert.match(job.lastError ?? '', /PermanentJobFailure: SMTP rejected the message: .*550.*No such user/);
    assert.equal(smtp.received.length, sent);
  });

  it('keeps at most 5 sends in flight per process, however many are asked for at once', async () => {
    const transport = smtpTransport(
      `smtp://leadline:${encodeURIComponent('p@ss/word')}@127.0.0.1:${smtp.port}`,
    );
    const sent = smtp.received.length;
    smtp.state.holdMs = 100;
    smtp.state.mostInData = 0;
    try {
      const never = new AbortController().signal;
      await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          transport.send(
            {
              workspaceId: t.workspaceId,
              id: `burst-${i}`,
              from: 'sales@acme.example',
              message: { to: [`burst-${i}@example.com`], subject: 'Burst', text: 'x' },
            },
            never,
          ),
        ),
      );
    } finally {
      smtp.state.holdMs = 0;
      await transport.close();
    }
    assert.equal(smtp.received.length, sent + 12);
    assert.ok(smtp.state.mostInData <= 5, `${smtp.state.mostInData} in flight`);
    assert.ok(smtp.state.mostInData >= 2, 'they did run side by side');
  });

  it('a transient 4xx answer is retried later and then delivered', async () => {
    const sent = smtp.received.length;
    await queue(t, { to: ['later@example.com'], subject: 'Patience', text: 'x', key: 'later' });
    await t.services.jobs.runDue();
    let job = (await mailJobs(t)).find((j) => j.key === 'mail:later')!;
    assert.equal(job.state, 'queued');
    assert.equal(job.attempts, 1);
    assert.match(job.lastError ?? '', /SMTP send failed: .*451/);
    assert.ok(job.runAt > t.clock.now, 'retried after a backoff');
    smtp.state.busy = false;
    t.clock.now = job.runAt;
    await t.services.jobs.runDue();
    job = (await mailJobs(t)).find((j) => j.key === 'mail:later')!;
    assert.equal(job.state, 'done');
    assert.equal(smtp.received.length, sent + 1);
    assert.deepEqual(smtp.received.at(-1)!.to, ['later@example.com']);
  });
});
