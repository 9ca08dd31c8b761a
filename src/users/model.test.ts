import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  addWorkingTime,
  checkMembers,
  checkWorkingHours,
  inWorkingHours,
  isWorking,
  prepareUser,
  type User,
  type WeeklyHours,
} from './model.ts';
import { instantOf, localTime, startOfLocalDay } from './zoned-time.ts';

const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;

const officeHours: WeeklyHours = {
  mon: [['09:00', '17:30']],
  tue: [['09:00', '17:30']],
  wed: [['09:00', '17:30']],
  thu: [['09:00', '17:30']],
  fri: [['09:00', '17:30']],
};

function user(overrides: Partial<User> = {}): User {
  return {
    id: 'u1',
    workspaceId: 'w1',
    name: 'Ada',
    email: 'ada@example.org',
    role: 'rep',
    timezone: 'Europe/Berlin',
    workingHours: officeHours,
    outOfOffice: [],
    capacity: { daily: null, rolling30Days: null },
    managerId: null,
    active: true,
    createdAt: 0,
    updatedAt: 0,
    ...overrides,
  };
}

describe('working hours', () => {
  test('are read in the person’s time zone', () => {
    const berlin = user();
    // Monday 5 January 2026: Berlin is UTC+1.
    assert.equal(isWorking(berlin, at('2026-01-05T07:59:59Z')), false);
    assert.equal(isWorking(berlin, at('2026-01-05T08:00:00Z')), true);
    assert.equal(isWorking(berlin, at('2026-01-05T16:29:59Z')), true);
    assert.equal(isWorking(berlin, at('2026-01-05T16:30:00Z')), false, 'the end is exclusive');
    assert.equal(isWorking(berlin, at('2026-01-10T10:00:00Z')), false, 'Saturday is off');

    const newYork = user({ timezone: 'America/New_York' });
    assert.equal(isWorking(newYork, at('2026-01-05T13:59:00Z')), false, '08:59 EST');
    assert.equal(isWorking(newYork, at('2026-01-05T14:00:00Z')), true, '09:00 EST');
    const tokyo = user({ timezone: 'Asia/Tokyo' });
    // Sunday 4 January 23:30Z is Monday 08:30 in Tokyo; 00:30Z is 09:30.
    assert.equal(isWorking(tokyo, at('2026-01-04T23:30:00Z')), false);
    assert.equal(isWorking(tokyo, at('2026-01-05T00:30:00Z')), true);
  });

  test('follow daylight saving time', () => {
    const berlin = user();
    // Clocks go forward on Sunday 29 March 2026: 09:00 is 08:00Z before, 07:00Z after.
    assert.equal(isWorking(berlin, at('2026-03-27T07:30:00Z')), false, 'Friday 08:30 CET');
    assert.equal(isWorking(berlin, at('2026-03-30T07:30:00Z')), true, 'Monday 09:30 CEST');
    // …and back on Sunday 25 October.
    assert.equal(isWorking(berlin, at('2026-10-23T07:30:00Z')), true, 'Friday 09:30 CEST');
    assert.equal(isWorking(berlin, at('2026-10-26T07:30:00Z')), false, 'Monday 08:30 CET');
    const newYork = user({ timezone: 'America/New_York' });
    // US clocks go forward on 8 March 2026 (three weeks before Europe's).
    assert.equal(isWorking(newYork, at('2026-03-09T13:30:00Z')), true, '09:30 EDT');
    assert.equal(isWorking(newYork, at('2026-03-06T13:30:00Z')), false, '08:30 EST');
  });

  test('null means always working; out of office and inactive mean not', () => {
    const always = user({ workingHours: null });
    assert.equal(isWorking(always, at('2026-01-10T03:00:00Z')), true);
    const away = user({
      outOfOffice: [{ from: at('2026-01-05T00:00:00Z'), to: at('2026-01-06T00:00:00Z') }],
    });
    assert.equal(isWorking(away, at('2026-01-05T10:00:00Z')), false);
    assert.equal(isWorking(away, at('2026-01-06T10:00:00Z')), true, 'back when the absence ends');
    assert.equal(isWorking(user({ active: false }), at('2026-01-05T10:00:00Z')), false);
  });

  test('a shift may run over midnight as two intervals', () => {
    const night = user({
      timezone: 'UTC',
      workingHours: { sun: [['22:00', '24:00']], mon: [['00:00', '06:00']] },
    });
    assert.equal(inWorkingHours(night, at('2026-01-04T23:59:00Z')), true);
    assert.equal(inWorkingHours(night, at('2026-01-05T00:00:00Z')), true);
    assert.equal(inWorkingHours(night, at('2026-01-05T06:00:00Z')), false);
    assert.equal(
      addWorkingTime(night, at('2026-01-04T23:00:00Z'), 2 * HOUR),
      at('2026-01-05T01:00:00Z'),
      'one hour on Sunday night, one after midnight',
    );
  });
});

describe('addWorkingTime', () => {
  test('skips the weekend', () => {
    const london = user({ timezone: 'Europe/London' });
    // Friday 9 January 17:00 GMT, half an hour left that day.
    assert.equal(addWorkingTime(london, at('2026-01-09T17:00:00Z'), HOUR), at('2026-01-12T09:30:00Z'));
    assert.equal(addWorkingTime(london, at('2026-01-10T12:00:00Z'), HOUR), at('2026-01-12T10:00:00Z'));
  });

  test('starts counting at the start of working hours', () => {
    const london = user({ timezone: 'Europe/London' });
    assert.equal(addWorkingTime(london, at('2026-01-05T07:00:00Z'), HOUR), at('2026-01-05T10:00:00Z'));
    assert.equal(addWorkingTime(london, at('2026-01-05T07:00:00Z'), 0), at('2026-01-05T07:00:00Z'));
  });

  test('skips time out of office', () => {
    const london = user({
      timezone: 'Europe/London',
      outOfOffice: [{ from: at('2026-01-12T00:00:00Z'), to: at('2026-01-12T13:00:00Z') }],
    });
    // Friday's last half hour, then Monday from 13:00 (back from the absence).
    assert.equal(addWorkingTime(london, at('2026-01-09T17:00:00Z'), HOUR), at('2026-01-12T13:30:00Z'));
    const away = user({
      timezone: 'Europe/London',
      outOfOffice: [
        { from: at('2026-01-12T10:00:00Z'), to: at('2026-01-12T11:00:00Z') },
        { from: at('2026-01-13T00:00:00Z'), to: at('2026-01-17T00:00:00Z') },
      ],
    });
    // Monday 09:00-10:00, 11:00-17:30 (7.5 h), then nothing until the next Monday.
    assert.equal(addWorkingTime(away, at('2026-01-12T09:00:00Z'), 8 * HOUR), at('2026-01-19T09:30:00Z'));
  });

  test('counts across a daylight-saving change', () => {
    const berlin = user();
    // Friday 27 March 17:00 CET (16:00Z): 30 minutes that day, 30 on Monday from 09:00 CEST (07:00Z).
    assert.equal(addWorkingTime(berlin, at('2026-03-27T16:00:00Z'), HOUR), at('2026-03-30T07:30:00Z'));
  });

  test('without working hours, only absences are skipped', () => {
    const always = user({
      workingHours: null,
      outOfOffice: [{ from: at('2026-01-05T01:00:00Z'), to: at('2026-01-05T03:00:00Z') }],
    });
    assert.equal(addWorkingTime(always, at('2026-01-05T00:00:00Z'), 2 * HOUR), at('2026-01-05T04:00:00Z'));
  });

  test('adds up: a + b of working time is a, then b more', () => {
    const berlin = user({
      outOfOffice: [
        { from: at('2026-03-02T00:00:00Z'), to: at('2026-03-09T00:00:00Z') },
        { from: at('2026-10-21T12:00:00Z'), to: at('2026-10-27T12:00:00Z') },
      ],
    });
    const year = { min: at('2026-01-01T00:00:00Z'), max: at('2026-12-20T00:00:00Z') };
    fc.assert(
      fc.property(
        fc.integer(year),
        fc.integer({ min: 0, max: 30 * HOUR }),
        fc.integer({ min: 0, max: 30 * HOUR }),
        (start, a, b) => {
          const whole = addWorkingTime(berlin, start, a + b);
          assert.equal(addWorkingTime(berlin, addWorkingTime(berlin, start, a), b), whole);
          if (a + b > 0)
            assert.equal(isWorking(berlin, whole - 1), true, 'the last moment counted was working time');
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('zoned time', () => {
  test('local midnight, and local times that do not exist or exist twice', () => {
    assert.equal(startOfLocalDay('Asia/Tokyo', at('2026-01-05T16:00:00Z')), at('2026-01-05T15:00:00Z'));
    assert.equal(
      startOfLocalDay('America/Los_Angeles', at('2026-01-05T07:00:00Z')),
      at('2026-01-04T08:00:00Z'),
    );
    // 02:30 on 29 March 2026 does not exist in Berlin: 03:30 CEST, as far past the gap.
    assert.equal(
      instantOf('Europe/Berlin', { year: 2026, month: 3, day: 29 }, 2.5 * HOUR),
      at('2026-03-29T01:30:00Z'),
    );
    // 02:30 on 25 October 2026 exists twice: the first (CEST).
    assert.equal(
      instantOf('Europe/Berlin', { year: 2026, month: 10, day: 25 }, 2.5 * HOUR),
      at('2026-10-25T00:30:00Z'),
    );
    const local = localTime('Asia/Kolkata', at('2026-01-05T00:00:00.250Z'));
    assert.deepEqual(local, { year: 2026, month: 1, day: 5, weekday: 0, msOfDay: 5.5 * HOUR + 250 });
  });
});

describe('input checks', () => {
  test('working hours: times, order, overlaps, weekdays, and at least one interval', () => {
    assert.deepEqual(checkWorkingHours(officeHours, '/workingHours'), []);
    const paths = (hours: WeeklyHours) => checkWorkingHours(hours, '/h').map((e) => e.path);
    assert.deepEqual(paths({ mon: [['9:00', '17:00']] }), ['/h/mon/0/0']);
    assert.deepEqual(paths({ mon: [['09:00', '24:01']] }), ['/h/mon/0/1']);
    assert.deepEqual(paths({ mon: [['24:00', '24:00']] }), ['/h/mon/0/0']);
    assert.deepEqual(paths({ mon: [['17:00', '09:00']] }), ['/h/mon/0/1']);
    assert.deepEqual(
      paths({
        tue: [
          ['13:00', '18:00'],
          ['09:00', '13:30'],
        ],
      }),
      ['/h/tue/0'],
    );
    assert.deepEqual(paths({ mon: [] }), ['/h']);
    assert.deepEqual(paths({ monday: [['09:00', '17:00']] } as WeeklyHours), ['/h/monday']);
  });

  test('users: email, IANA time zone, absences, capacity, not their own manager', () => {
    const ids = { id: 'u1', workspaceId: 'w1' };
    const created = prepareUser(
      null,
      { name: ' Ada ', email: 'Ada@Example.org', timezone: 'europe/berlin' },
      ids,
      5,
    );
    assert.ok(created.ok);
    assert.equal(created.user.name, 'Ada');
    assert.equal(created.user.email, 'ada@example.org');
    assert.equal(created.user.timezone, 'Europe/Berlin');
    assert.equal(created.user.role, 'rep');
    const bad = prepareUser(
      null,
      {
        name: 'Ada',
        email: 'not an email',
        timezone: 'Mars/Olympus',
        outOfOffice: [
          { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' },
          { from: 'soon', to: 5 },
        ],
        capacity: { daily: -1 },
        managerId: 'u1',
      },
      ids,
      5,
    );
    assert.ok(!bad.ok);
    assert.deepEqual(
      bad.errors.map((e) => e.path),
      ['/email', '/timezone', '/outOfOffice/0/to', '/outOfOffice/1/from', '/capacity/daily', '/managerId'],
    );
    const patched = prepareUser(created.user, { capacity: { daily: 3 }, active: false }, ids, 9);
    assert.ok(patched.ok);
    assert.deepEqual(patched.user.capacity, { daily: 3, rolling30Days: null });
    assert.equal(patched.user.active, false);
    assert.equal(patched.user.email, 'ada@example.org');
    assert.equal(patched.user.createdAt, 5);
    // Absences take the times the rest of the API takes (src/time.ts): dates, zoned times, epoch ms.
    const away = prepareUser(
      created.user,
      {
        outOfOffice: [
          { from: '2026-02-01', to: '2026-02-02 12:00+01:00' },
          { from: Date.UTC(2026, 2, 1), to: '2026-03-02T00:00:00.5Z' },
        ],
      },
      ids,
      9,
    );
    assert.ok(away.ok);
    assert.deepEqual(away.user.outOfOffice, [
      { from: Date.UTC(2026, 1, 1), to: Date.UTC(2026, 1, 2, 11) },
      { from: Date.UTC(2026, 2, 1), to: Date.UTC(2026, 2, 2, 0, 0, 0, 500) },
    ]);
    const unzoned = prepareUser(created.user, { outOfOffice: [{ from: '2026-02-01T09:00', to: 5 }] }, ids, 9);
    assert.ok(!unzoned.ok);
    assert.deepEqual(
      unzoned.errors.map((e) => e.path),
      ['/outOfOffice/0/from'],
    );
  });

  test('team members: once each, weights 1 to 100', () => {
    assert.deepEqual(checkMembers([{ userId: 'a', weight: 1 }], '/members'), []);
    assert.deepEqual(
      checkMembers(
        [
          { userId: 'a', weight: 0 },
          { userId: 'a', weight: 2 },
        ],
        '/members',
      ).map((e) => e.path),
      ['/members/0/weight', '/members/1/userId'],
    );
  });
});
