import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSubmissionLimiter, ipKey, WINDOW_MS } from './rate-limits.ts';

/** A clock at the start of a minute. */
function clockAt(ms = Date.UTC(2026, 0, 10, 12)) {
  const clock = { now: ms };
  return { clock, limiter: createSubmissionLimiter(() => clock.now) };
}

describe('submission limiter', () => {
  it('lets an IP make perIpPerMinute submissions to a form, then says how long to wait', () => {
    const { clock, limiter } = clockAt();
    const limits = { perIpPerMinute: 3, perFormPerMinute: 100 };
    for (let i = 0; i < 3; i++) assert.equal(limiter.take('f1', '10.0.0.1', limits).ok, true);
    clock.now += 10_000;
    const refused = limiter.take('f1', '10.0.0.1', limits);
    assert.equal(refused.ok, false);
    // All three fall in this minute: room comes back when the next minute has let a third of them fade.
    assert.deepEqual(refused, { ok: false, retryAfterSeconds: 70 });
    // Another IP, and the same IP on another form, are counted apart.
    assert.equal(limiter.take('f1', '10.0.0.2', limits).ok, true);
    assert.equal(limiter.take('f2', '10.0.0.1', limits).ok, true);
    // Waiting as told gets in; refused attempts were not counted against it.
    clock.now += 70_000;
    assert.equal(limiter.take('f1', '10.0.0.1', limits).ok, true);
    assert.equal(limiter.take('f1', '10.0.0.1', limits).ok, false);
  });

  it('takes a refunded submission back off the counts, in its minute or the one after', () => {
    const { clock, limiter } = clockAt();
    const limits = { perIpPerMinute: 2, perFormPerMinute: 2 };
    const first = limiter.take('f1', '10.0.0.1', limits);
    assert.ok(first.ok);
    first.refund();
    assert.equal(limiter.take('f1', '10.0.0.1', limits).ok, true);
    const late = limiter.take('f1', '10.0.0.1', limits);
    assert.ok(late.ok);
    assert.equal(limiter.take('f1', '10.0.0.1', limits).ok, false);
    // Refunded in the next minute: taken off the previous minute's count that still weighs.
    clock.now += WINDOW_MS;
    assert.equal(limiter.take('f1', '10.0.0.1', limits).ok, false);
    late.refund();
    assert.equal(limiter.take('f1', '10.0.0.1', limits).ok, true);
  });

  it('slides: the previous minute counts by how much of it is still inside the last 60 s', () => {
    const { clock, limiter } = clockAt();
    const limits = { perIpPerMinute: 10 };
    for (let i = 0; i < 10; i++) assert.equal(limiter.take('f', 'ip', limits).ok, true);
    // A quarter into the next minute three quarters of those 10 still count: 7.5, room for 2.
    clock.now += WINDOW_MS + WINDOW_MS / 4;
    assert.equal(limiter.take('f', 'ip', limits).ok, true);
    assert.equal(limiter.take('f', 'ip', limits).ok, true);
    const refused = limiter.take('f', 'ip', limits);
    assert.equal(refused.ok, false);
    // 7.5 + 2 = 9.5: room for one more once 0.5 more of the 10 fades (3 s).
    assert.deepEqual(refused, { ok: false, retryAfterSeconds: 3 });
    clock.now += 3000;
    assert.equal(limiter.take('f', 'ip', limits).ok, true);
    // Two minutes of silence forget everything.
    clock.now += 2 * WINDOW_MS;
    for (let i = 0; i < 10; i++) assert.equal(limiter.take('f', 'ip', limits).ok, true);
  });

  it('caps a form for everyone together, without spending the IP allowance of the refused', () => {
    const { clock, limiter } = clockAt();
    const limits = { perIpPerMinute: 2, perFormPerMinute: 5 };
    for (let i = 0; i < 5; i++) assert.equal(limiter.take('f', `ip-${i}`, limits).ok, true);
    const refused = limiter.take('f', 'ip-late', limits);
    assert.equal(refused.ok, false);
    clock.now += WINDOW_MS * 2;
    // ip-late's earlier refusal did not use one of its two.
    assert.equal(limiter.take('f', 'ip-late', limits).ok, true);
    assert.equal(limiter.take('f', 'ip-late', limits).ok, true);
    assert.equal(limiter.take('f', 'ip-late', limits).ok, false);
  });

  it('treats 0 or absent limits as none, and an unknown IP as one sender', () => {
    const { limiter } = clockAt();
    for (let i = 0; i < 1000; i++) assert.equal(limiter.take('f', 'ip', { perIpPerMinute: 0 }).ok, true);
    assert.equal(limiter.size, 0, 'no limit, no counter');
    assert.equal(limiter.take('f', undefined, { perIpPerMinute: 1 }).ok, true);
    assert.equal(limiter.take('f', null, { perIpPerMinute: 1 }).ok, false);
  });

  it('counts an IPv6 sender by its /64, and an IPv4-mapped address as the IPv4 one', () => {
    const { limiter } = clockAt();
    const limits = { perIpPerMinute: 2 };
    assert.equal(limiter.take('f', '2001:db8:a:b::1', limits).ok, true);
    assert.equal(limiter.take('f', '2001:DB8:A:B:ffff:ffff:ffff:ffff', limits).ok, true);
    assert.equal(limiter.take('f', '2001:db8:a:b:1:2:3:4', limits).ok, false);
    assert.equal(limiter.take('f', '2001:db8:a:c::1', limits).ok, true, 'the next /64 is another sender');
    assert.equal(limiter.take('f', '192.0.2.1', limits).ok, true);
    assert.equal(limiter.take('f', '::ffff:192.0.2.1', limits).ok, true);
    assert.equal(limiter.take('f', '::ffff:c000:201', limits).ok, false);
  });

  it('names the sender of an address: IPv4 as is, IPv6 by /64, anything else as given', () => {
    const cases: Array<[string | null, string]> = [
      ['192.0.2.1', '192.0.2.1'],
      ['2001:db8::1', 'v6:2001:db8:0:0::/64'],
      ['2001:0db8:0000:0000:ffff::2', 'v6:2001:db8:0:0::/64'],
      ['fe80::1%eth0', 'v6:fe80:0:0:0::/64'],
      ['::1', 'v6:0:0:0:0::/64'],
      ['1:2:3:4:5:6:1.2.3.4', 'v6:1:2:3:4::/64'],
      ['1:2:3:4:5:6:7::', 'v6:1:2:3:4::/64'],
      ['::ffff:198.51.100.7', '198.51.100.7'],
      ['1::2::3', '1::2::3'],
      ['1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8:9'],
      ['::ffff:999.1.1.1', '::ffff:999.1.1.1'],
      [null, '-'],
    ];
    for (const [ip, key] of cases) assert.equal(ipKey(ip), key, String(ip));
  });

  it('keeps at most maxKeys counters, dropping the least recently used', () => {
    const clock = { now: Date.UTC(2026, 0, 10, 12) };
    const limiter = createSubmissionLimiter(() => clock.now, { maxKeys: 100 });
    const limits = { perIpPerMinute: 1, perFormPerMinute: 1_000_000 };
    assert.equal(limiter.take('f', 'first', limits).ok, true);
    for (let i = 0; i < 10_000; i++) {
      limiter.take('f', `flood-${i}`, limits);
      // Used again before 100 other keys pass: still counted (and still refused).
      if (i % 50 === 0) assert.equal(limiter.take('f', 'first', limits).ok, false, `at ${i}`);
    }
    assert.ok(limiter.size <= 100, `${limiter.size} counters`);
    assert.equal(limiter.take('f', 'first', limits).ok, false);
    // Left alone while 200 other senders come: dropped, so it starts afresh.
    for (let i = 0; i < 200; i++) limiter.take('f', `late-${i}`, limits);
    assert.equal(limiter.take('f', 'first', limits).ok, true);
  });
});
