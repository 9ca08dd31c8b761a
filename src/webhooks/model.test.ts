import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AUTO_DISABLE_AFTER_MS,
  AUTO_DISABLE_MIN_FAILURES,
  autoDisableReason,
  BREAKER_FAILURES,
  BREAKER_PROBE_EVERY_MS,
  breakerWaitMs,
  failureText,
  judgeAttempt,
  MAX_ATTEMPTS,
  MAX_RETRY_AFTER_MS,
  messageBody,
  normaliseEvents,
  parseRetryAfter,
  RETRY_SCHEDULE_MS,
  retryDelayMs,
  type SigningSubscription,
  signingSecrets,
  wantsEvent,
} from './model.ts';

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const noJitter = () => 0;

describe('retry schedule', () => {
  it('keeps retrying for more than 24 hours, in 8 attempts', () => {
    const total = RETRY_SCHEDULE_MS.reduce((sum, ms) => sum + ms, 0);
    assert.ok(total > 24 * HOUR, `${total / HOUR} h`);
    assert.equal(MAX_ATTEMPTS, 8);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((attempt) => retryDelayMs(attempt, noJitter)),
      [5_000, 300_000, 1_800_000, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR],
    );
  });

  it('adds at most 10 % of jitter, never less than the schedule', () => {
    assert.equal(
      retryDelayMs(1, () => 0.999_999),
      5_500,
    );
    assert.equal(retryDelayMs(99, noJitter), 10 * HOUR, 'past the schedule: its last delay');
  });
});

describe('judgeAttempt', () => {
  const judge = (status: number | null, attempt = 1, retryAfter?: string) =>
    judgeAttempt(
      { status, error: status === null ? 'ECONNREFUSED' : null, retryAfter },
      attempt,
      8,
      T0,
      noJitter,
    );

  it('2xx succeeds; 410 is gone for good; everything else is retried', () => {
    assert.deepEqual(judge(200), { succeeded: true, gone: false, nextRetryAt: null });
    assert.deepEqual(judge(204), { succeeded: true, gone: false, nextRetryAt: null });
    assert.deepEqual(judge(410), { succeeded: false, gone: true, nextRetryAt: null });
    for (const status of [301, 400, 404, 500, null])
      assert.deepEqual(
        judge(status),
        { succeeded: false, gone: false, nextRetryAt: T0 + 5_000 },
        String(status),
      );
  });

  it('gives up after the last attempt', () => {
    assert.equal(judge(500, 7).nextRetryAt, T0 + 10 * HOUR);
    assert.equal(judge(500, 8).nextRetryAt, null);
  });

  it('honours Retry-After on 429 and 503: later than the schedule, capped at a day, never sooner', () => {
    assert.equal(judge(429, 1, '120').nextRetryAt, T0 + 120_000);
    assert.equal(judge(503, 1, new Date(T0 + 3_600_000).toUTCString()).nextRetryAt, T0 + 3_600_000);
    assert.equal(judge(429, 1, '1').nextRetryAt, T0 + 5_000, 'sooner than the schedule: the schedule');
    assert.equal(judge(503, 1, String(7 * 24 * 3600)).nextRetryAt, T0 + MAX_RETRY_AFTER_MS);
    assert.equal(judge(500, 1, '120').nextRetryAt, T0 + 5_000, 'only 429 and 503 ask to wait');
    assert.equal(judge(429, 1, 'soon').nextRetryAt, T0 + 5_000, 'unreadable: the schedule');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('30', T0), 30_000);
    assert.equal(parseRetryAfter(' 0 ', T0), 0);
    assert.equal(parseRetryAfter(new Date(T0 + 90_000).toUTCString(), T0), 90_000);
    assert.equal(parseRetryAfter(new Date(T0 - 90_000).toUTCString(), T0), 0);
    assert.equal(parseRetryAfter(undefined, T0), undefined);
    assert.equal(parseRetryAfter('-5', T0), undefined);
  });
});

describe('autoDisableReason', () => {
  const health = (failingFor: number, failures: number) => ({
    lastSuccessAt: null,
    failingSince: T0 - failingFor,
    consecutiveFailures: failures,
  });

  it('disables only after 5 days without success and at least 10 failed attempts in a row', () => {
    assert.equal(autoDisableReason(health(AUTO_DISABLE_AFTER_MS - 1, 500), T0), undefined, 'not yet 5 days');
    assert.equal(
      autoDisableReason(health(30 * 24 * HOUR, AUTO_DISABLE_MIN_FAILURES - 1), T0),
      undefined,
      'a rarely used target is not disabled by a few failures',
    );
    assert.match(
      autoDisableReason(health(AUTO_DISABLE_AFTER_MS, AUTO_DISABLE_MIN_FAILURES), T0) ?? '',
      /failed for 5 days \(10 attempts in a row\)/,
    );
    assert.equal(
      autoDisableReason({ lastSuccessAt: T0, failingSince: null, consecutiveFailures: 0 }, T0),
      undefined,
    );
  });
});

describe('events', () => {
  it('matches listed types or all of them with *', () => {
    assert.ok(wantsEvent(['lead.created'], 'lead.created'));
    assert.ok(!wantsEvent(['lead.created'], 'lead.updated'));
    assert.ok(wantsEvent(['*'], 'task.due'));
    assert.deepEqual(normaliseEvents(['lead.created', 'lead.created', 'form.submitted']), [
      'lead.created',
      'form.submitted',
    ]);
    assert.deepEqual(normaliseEvents(['lead.created', '*']), ['*']);
  });
});

describe('messageBody', () => {
  it('is the Standard Webhooks payload: type, ISO timestamp, data with the lead id first', () => {
    assert.equal(
      messageBody('lead.stage_changed', T0, 'lead-1', { from: 'lead', to: 'mql' }),
      '{"type":"lead.stage_changed","timestamp":"2026-01-01T00:00:00.000Z","data":{"leadId":"lead-1","from":"lead","to":"mql"}}',
    );
    assert.deepEqual(JSON.parse(messageBody('webhook.ping', T0, null, { a: 1 })).data, { a: 1 });
  });
});

describe('signingSecrets', () => {
  const sub = {
    secret: 'whsec_new',
    previousSecret: 'whsec_old',
    previousSecretUntil: T0 + 1000,
  } as SigningSubscription;

  it('signs with the previous secret too until its grace period ends', () => {
    assert.deepEqual(signingSecrets(sub, T0), ['whsec_new', 'whsec_old']);
    assert.deepEqual(signingSecrets(sub, T0 + 1000), ['whsec_new']);
    assert.deepEqual(signingSecrets({ ...sub, previousSecret: null, previousSecretUntil: null }, T0), [
      'whsec_new',
    ]);
  });
});

describe('failureText', () => {
  it('names the status and the start of the answer, or the error', () => {
    assert.equal(failureText({ status: 200, error: null }, 'ok'), null);
    assert.equal(failureText({ status: 500, error: null }, '  oops\n  broken '), 'HTTP 500: oops broken');
    assert.equal(failureText({ status: 404, error: null }, ''), 'HTTP 404');
    assert.equal(
      failureText({ status: null, error: 'Error: timed out after 10000 ms' }, null),
      'Error: timed out after 10000 ms',
    );
  });
});

describe('circuit breaker', () => {
  const failing = { lastSuccessAt: null, failingSince: T0, consecutiveFailures: BREAKER_FAILURES };
  const healthy = { lastSuccessAt: T0, failingSince: null, consecutiveFailures: BREAKER_FAILURES - 1 };

  it('lets every attempt through until BREAKER_FAILURES attempts in a row failed', () => {
    assert.equal(breakerWaitMs(healthy, T0 - 1, 'event', 1, MAX_ATTEMPTS, T0, noJitter), undefined);
  });

  it('then defers event deliveries until a probe is due, on the retry schedule at least', () => {
    const justFailed = T0 - 1_000;
    assert.equal(
      breakerWaitMs(failing, justFailed, 'event', 1, MAX_ATTEMPTS, T0, noJitter),
      BREAKER_PROBE_EVERY_MS - 1_000,
      'until the next probe',
    );
    assert.equal(
      breakerWaitMs(failing, justFailed, 'event', 3, MAX_ATTEMPTS, T0, noJitter),
      RETRY_SCHEDULE_MS[2],
      'a later attempt waits as long as a failure would have made it wait (30 min)',
    );
    assert.equal(
      breakerWaitMs(failing, T0 - BREAKER_PROBE_EVERY_MS, 'event', 1, MAX_ATTEMPTS, T0, noJitter),
      undefined,
      'the probe goes',
    );
    assert.equal(breakerWaitMs(failing, undefined, 'event', 1, MAX_ATTEMPTS, T0, noJitter), undefined);
  });

  it("never holds back a message's last attempt, a replay or a test ping", () => {
    const justFailed = T0 - 1_000;
    assert.equal(breakerWaitMs(failing, justFailed, 'event', MAX_ATTEMPTS, MAX_ATTEMPTS, T0), undefined);
    assert.equal(breakerWaitMs(failing, justFailed, 'replay', 1, MAX_ATTEMPTS, T0), undefined);
    assert.equal(breakerWaitMs(failing, justFailed, 'test', 1, 1, T0), undefined);
  });
});
