import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  classifySmtpError,
  isEmailAddress,
  isSender,
  messageIdFor,
  messageProblem,
  senderAddress,
} from './model.ts';

describe('addresses', () => {
  it('accepts plain addresses and Name <address> senders', () => {
    assert.ok(isEmailAddress('ada@example.com'));
    assert.ok(isEmailAddress('leadline@localhost'));
    assert.ok(!isEmailAddress('ada@example'));
    assert.ok(!isEmailAddress('Ada <ada@example.com>'));
    assert.ok(!isEmailAddress('ada@exa mple.com'));
    assert.ok(isSender('Acme Sales <sales@acme.example>'));
    assert.ok(isSender('sales@acme.example'));
    assert.ok(!isSender('Acme Sales'));
    assert.equal(senderAddress('Acme Sales <sales@acme.example>'), 'sales@acme.example');
    assert.equal(senderAddress('sales@acme.example'), 'sales@acme.example');
  });

  it('derives the Message-ID from the job and the sender domain', () => {
    assert.equal(messageIdFor('job-1', 'Acme <sales@acme.example>'), '<job-1@acme.example>');
  });
});

describe('messageProblem', () => {
  const ok = { to: ['a@example.com'], subject: 'Hi', text: 'Body' };

  it('accepts a well-formed message', () => {
    assert.equal(messageProblem(ok), undefined);
    assert.equal(
      messageProblem({
        ...ok,
        html: '<p>x</p>',
        replyTo: 'r@example.com',
        headers: { 'List-Unsubscribe': '<https://u>' },
      }),
      undefined,
    );
  });

  it('names the field of each problem', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /^must be an object/],
      [{ ...ok, to: [] }, /^to:/],
      [{ ...ok, to: Array.from({ length: 51 }, (_, i) => `a${i}@example.com`) }, /^to: at most 50/],
      [{ ...ok, subject: '' }, /^subject:/],
      [{ ...ok, subject: 'a\r\nBcc: x@y.io' }, /^subject:/],
      [{ ...ok, text: 5 }, /^text:/],
      [{ ...ok, from: 'nobody' }, /^from:/],
      [{ ...ok, headers: { To: 'x@y.io' } }, /^headers: To is set by Leadline/],
      [{ ...ok, headers: { 'Bad Name': 'x' } }, /^headers: Bad Name is not a header name/],
    ];
    for (const [message, problem] of cases) assert.match(messageProblem(message) ?? '', problem);
  });

  it('never lets a header value carry a line break (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (before, after) => {
        const value = `${before}\n${after}`;
        assert.notEqual(messageProblem({ ...ok, headers: { 'X-Test': value } }), undefined);
      }),
    );
  });
});

describe('classifySmtpError', () => {
  it('treats 5xx rejections as permanent, except 503', () => {
    assert.equal(classifySmtpError({ responseCode: 550, response: '550 no such user' }).kind, 'permanent');
    assert.equal(classifySmtpError({ responseCode: 552 }).kind, 'permanent');
    assert.equal(classifySmtpError({ responseCode: 503 }).kind, 'transient');
  });

  it('retries 4xx, connection failures and login problems', () => {
    assert.equal(classifySmtpError({ responseCode: 451, response: '451 later' }).kind, 'transient');
    assert.equal(
      classifySmtpError({ code: 'ECONNECTION', message: 'connect ECONNREFUSED' }).kind,
      'transient',
    );
    assert.equal(classifySmtpError({ code: 'ETIMEDOUT' }).kind, 'transient');
    assert.equal(classifySmtpError({ code: 'EAUTH', responseCode: 535, permanent: true }).kind, 'transient');
  });

  it("follows nodemailer's own permanent flag when it gives one, and keeps the server's words", () => {
    assert.equal(classifySmtpError({ responseCode: 421, permanent: false }).kind, 'transient');
    assert.deepEqual(classifySmtpError({ responseCode: 554, response: '554 spam', permanent: true }), {
      kind: 'permanent',
      reason: '554 spam',
    });
    assert.equal(classifySmtpError(new Error('boom')).reason, 'boom');
  });
});
