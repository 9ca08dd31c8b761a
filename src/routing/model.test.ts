import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { newLead } from '../leads/model.ts';
import { emptyContext } from '../scoring/conditions.ts';
import type { TeamMember, User } from '../users/model.ts';
import {
  type AccountShare,
  accountOwnerOf,
  checkRules,
  hasCapacity,
  isAvailable,
  isReachable,
  leadView,
  loadWindows,
  newlyMatching,
  plusGiven,
  type Rotation,
  type RoutingRule,
  referencesOf,
  ruleMatches,
  takeTurn,
  territoryFor,
  withShare,
} from './model.ts';

/** Runs `turns` turns from an empty rotation; returns who was chosen, in order. */
function run(
  members: TeamMember[],
  turns: number,
  eligible: (id: string, turn: number) => boolean = () => true,
) {
  let rotation: Rotation = {};
  const chosen: string[] = [];
  for (let turn = 0; turn < turns; turn++) {
    const next = takeTurn(members, rotation, (id) => eligible(id, turn));
    if (!next) {
      chosen.push('-');
      continue;
    }
    rotation = next.rotation;
    chosen.push(next.userId);
  }
  return { chosen, rotation };
}

const countOf = (list: string[]) => {
  const out: Record<string, number> = {};
  for (const id of list) out[id] = (out[id] ?? 0) + 1;
  return out;
};

describe('smooth weighted round robin', () => {
  test('spreads weighted turns out, in a predictable order', () => {
    assert.deepEqual(
      run(
        [
          { userId: 'a', weight: 1 },
          { userId: 'b', weight: 1 },
          { userId: 'c', weight: 1 },
        ],
        6,
      ).chosen,
      ['a', 'b', 'c', 'a', 'b', 'c'],
    );
    // 5:1:1 gives a a b a c a a (nginx's example), not a run of five a's.
    assert.deepEqual(
      run(
        [
          { userId: 'a', weight: 5 },
          { userId: 'b', weight: 1 },
          { userId: 'c', weight: 1 },
        ],
        7,
      ).chosen,
      ['a', 'a', 'b', 'a', 'c', 'a', 'a'],
    );
  });

  test('over N × sum(weights) turns each member gets exactly N × weight', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 5 }),
        (weights, n) => {
          const members = weights.map((weight, i) => ({ userId: `u${i}`, weight }));
          const total = weights.reduce((a, b) => a + b, 0);
          const { chosen, rotation } = run(members, n * total);
          const counts = countOf(chosen);
          for (const m of members) assert.equal(counts[m.userId], n * m.weight, m.userId);
          // A whole cycle brings every member back to where it started.
          for (const m of members) assert.equal(rotation[m.userId], 0);
        },
      ),
    );
  });

  test('skips members who are not eligible, and owes them nothing', () => {
    const members = [
      { userId: 'a', weight: 1 },
      { userId: 'b', weight: 1 },
      { userId: 'c', weight: 1 },
    ];
    // b is away for turns 0-3: a and c alternate, then b joins as an equal (no catching up).
    const { chosen } = run(members, 9, (id, turn) => id !== 'b' || turn >= 4);
    assert.deepEqual(chosen, ['a', 'c', 'a', 'c', 'a', 'b', 'c', 'a', 'b']);
    assert.equal(
      takeTurn(members, {}, () => false),
      null,
    );
    // Nobody eligible changes nothing; members gone from the team are dropped from the state.
    const next = takeTurn([{ userId: 'a', weight: 2 }], { a: 1, gone: 7 }, () => true);
    assert.deepEqual(next, { userId: 'a', rotation: { a: 1 } });
  });

  test('stays fair among whoever is eligible, whatever the pattern of absences', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        (weights, away) => {
          const members = weights.map((weight, i) => ({ userId: `u${i}`, weight }));
          const present = members.filter((_, i) => !away[i % away.length]);
          fc.pre(present.length > 0);
          const total = present.reduce((a, m) => a + m.weight, 0);
          const { chosen } = run(members, 3 * total, (id) => present.some((m) => m.userId === id));
          const counts = countOf(chosen);
          for (const m of members)
            assert.equal(counts[m.userId] ?? 0, present.includes(m) ? 3 * m.weight : 0);
        },
      ),
    );
  });
});

const rep = (overrides: Partial<User> = {}): User => ({
  id: 'u1',
  workspaceId: 'w1',
  name: 'Ada',
  email: 'ada@example.org',
  role: 'rep',
  timezone: 'UTC',
  workingHours: null,
  outOfOffice: [],
  capacity: { daily: null, rolling30Days: null },
  managerId: null,
  active: true,
  createdAt: 0,
  updatedAt: 0,
  ...overrides,
});

describe('availability', () => {
  test('capacity: daily and rolling 30 days, null is unlimited', () => {
    assert.equal(hasCapacity(rep(), { today: 1000, last30Days: 1000 }), true);
    const limited = rep({ capacity: { daily: 2, rolling30Days: 10 } });
    assert.equal(hasCapacity(limited, { today: 1, last30Days: 9 }), true);
    assert.equal(hasCapacity(limited, { today: 2, last30Days: 9 }), false);
    assert.equal(hasCapacity(limited, { today: 0, last30Days: 10 }), false);
  });

  test('named people need only be active and in; team turns also need hours and capacity', () => {
    const now = Date.UTC(2026, 0, 10, 3); // Saturday night
    const weekdays = rep({ workingHours: { mon: [['09:00', '17:00']] } });
    assert.equal(isReachable(weekdays, now), true);
    assert.equal(isAvailable(weekdays, now, { today: 0, last30Days: 0 }), false);
    const away = rep({ outOfOffice: [{ from: now - 1, to: now + 1 }] });
    assert.equal(isReachable(away, now), false);
    assert.equal(isReachable(rep({ active: false }), now), false);
  });
});

describe('loads', () => {
  const now = Date.UTC(2026, 0, 1, 0, 30); // 09:30 in Tokyo, 19:30 the day before in New York

  test('one count per local midnight and one over 30 days, only for people with a capacity', () => {
    const windows = loadWindows(
      [
        rep({ id: 'free' }),
        rep({ id: 'tokyo', timezone: 'Asia/Tokyo', capacity: { daily: 5, rolling30Days: 50 } }),
        rep({ id: 'osaka', timezone: 'Asia/Tokyo', capacity: { daily: 5, rolling30Days: null } }),
        rep({ id: 'ny', timezone: 'America/New_York', capacity: { daily: 5, rolling30Days: null } }),
        rep({ id: 'utc', capacity: { daily: null, rolling30Days: 100 } }),
      ],
      now,
    );
    assert.deepEqual(windows, [
      { window: 'today', since: Date.UTC(2025, 11, 31, 15), userIds: ['tokyo', 'osaka'] },
      { window: 'today', since: Date.UTC(2025, 11, 31, 5), userIds: ['ny'] },
      { window: 'last30Days', since: now - 30 * 86_400_000, userIds: ['tokyo', 'utc'] },
    ]);
    assert.deepEqual(loadWindows([rep()], now), []);
  });

  test('leads given now count in both windows', () => {
    assert.deepEqual(plusGiven({ today: 1, last30Days: 7 }, 2), { today: 3, last30Days: 9 });
    const load = { today: 1, last30Days: 1 };
    assert.equal(plusGiven(load, 0), load);
  });
});

describe('account owner', () => {
  test('most leads wins; on a tie, the earliest first lead; nobody without owned leads', () => {
    const shares: AccountShare[] = [
      { ownerId: 'a', leads: 2, firstCreatedAt: 50 },
      { ownerId: 'b', leads: 3, firstCreatedAt: 90 },
      { ownerId: 'c', leads: 3, firstCreatedAt: 10 },
    ];
    assert.equal(accountOwnerOf(shares), 'c');
    assert.equal(accountOwnerOf([]), null);
  });

  test("a lead given during a pass joins its owner's share, or starts one", () => {
    const shares: AccountShare[] = [{ ownerId: 'a', leads: 1, firstCreatedAt: 50 }];
    assert.deepEqual(withShare(shares, 'a', 20), [{ ownerId: 'a', leads: 2, firstCreatedAt: 20 }]);
    assert.deepEqual(withShare(shares, 'b', 70), [...shares, { ownerId: 'b', leads: 1, firstCreatedAt: 70 }]);
    assert.equal(accountOwnerOf(withShare(withShare(shares, 'b', 70), 'b', 80)), 'b');
    assert.deepEqual(shares, [{ ownerId: 'a', leads: 1, firstCreatedAt: 50 }], 'not changed in place');
  });

  test('adding shares one lead at a time agrees with counting them all at once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ownerId: fc.constantFrom('a', 'b', 'c'), createdAt: fc.nat(1000) })),
        (owned) => {
          let shares: AccountShare[] = [];
          for (const { ownerId, createdAt } of owned) shares = withShare(shares, ownerId, createdAt);
          for (const share of shares) {
            const mine = owned.filter((o) => o.ownerId === share.ownerId);
            assert.equal(share.leads, mine.length);
            assert.equal(share.firstCreatedAt, Math.min(...mine.map((o) => o.createdAt)));
          }
          assert.equal(shares.length, new Set(owned.map((o) => o.ownerId)).size);
        },
      ),
    );
  });
});

function lead(fields: Parameters<typeof newLead>[2] = {}) {
  return newLead('l1', 'w1', { email: 'x@acme.io', ...fields }, 'lead', 0);
}

function rule(overrides: Partial<RoutingRule>): RoutingRule {
  return { id: 'r', name: 'R', enabled: true, when: null, strategy: { type: 'account' }, ...overrides };
}

describe('rule conditions', () => {
  test('lead fields, properties, score, temperature and stage, all of which must hold', () => {
    const enterprise = rule({
      when: {
        country: { region: ['EMEA'] },
        companySize: { min: 500 },
        jobTitle: { matches: ['vp', 'head of'] },
        'properties.plan': { in: ['enterprise'] },
        score: { min: 40 },
        temperature: { in: ['hot', 'warm'] },
        stage: { in: ['mql', 'sql'] },
      },
    });
    const big = lead({
      country: 'DE',
      companySize: 800,
      jobTitle: 'VP Sales',
      properties: { plan: 'enterprise' },
      stage: 'mql',
    });
    const hot = { ...big, scoring: { ...big.scoring, temperature: 'hot' as const } };
    assert.equal(ruleMatches(enterprise, leadView(hot, 55), emptyContext), true);
    assert.equal(ruleMatches(enterprise, leadView(hot, 39), emptyContext), false, 'score');
    assert.equal(ruleMatches(enterprise, leadView(big, 55), emptyContext), false, 'temperature cold');
    assert.equal(ruleMatches(enterprise, leadView({ ...hot, country: 'US' }, 55), emptyContext), false);
    assert.equal(ruleMatches(enterprise, leadView({ ...hot, stage: 'lead' }, 55), emptyContext), false);
    assert.equal(ruleMatches({ ...enterprise, enabled: false }, leadView(hot, 55), emptyContext), false);
    assert.equal(ruleMatches(rule({}), leadView(lead(), 0), emptyContext), true, 'no conditions: every lead');
  });

  test('a change that makes a rule match is news; one that keeps it matching is not', () => {
    const mql = [rule({ when: { stage: { in: ['mql'] } } })];
    const before = leadView(lead(), 0);
    const after = leadView({ ...lead(), stage: 'mql' }, 0);
    assert.equal(newlyMatching(mql, before, after, emptyContext), true);
    assert.equal(newlyMatching(mql, after, after, emptyContext), false);
    assert.equal(newlyMatching(mql, after, before, emptyContext), false);
  });

  test('territories: the first that contains the country, by code or region', () => {
    const territories = [
      { countries: ['GB', 'IE'], regions: [], userId: 'uk', teamId: null },
      { countries: [], regions: ['DACH' as const], userId: null, teamId: 'dach' },
      { countries: [], regions: ['EMEA' as const], userId: 'emea', teamId: null },
    ];
    assert.equal(territoryFor(territories, 'IE')?.userId, 'uk');
    assert.equal(territoryFor(territories, 'AT')?.teamId, 'dach');
    assert.equal(territoryFor(territories, 'FR')?.userId, 'emea');
    assert.equal(territoryFor(territories, 'US'), null);
    assert.equal(territoryFor(territories, null), null);
  });
});

describe('rule input', () => {
  const ids = () => {
    let n = 0;
    return () => `made-${++n}`;
  };

  test('gives ids, defaults enabled, normalises territories, lists references', () => {
    const checked = checkRules(
      [
        { name: 'Big', when: { companySize: { min: 500 } }, strategy: { type: 'owner', userId: 'u1' } },
        {
          id: 'eu',
          name: 'Europe',
          enabled: false,
          strategy: {
            type: 'territory',
            territories: [
              { countries: ['Germany', 'at'], teamId: 't1' },
              { regions: ['nordics'], userId: 'u2' },
            ],
          },
        },
      ],
      ids(),
    );
    assert.ok(checked.ok);
    assert.deepEqual(
      checked.rules.map((r) => [r.id, r.enabled]),
      [
        ['made-1', true],
        ['eu', false],
      ],
    );
    assert.deepEqual(checked.rules[1]!.strategy, {
      type: 'territory',
      territories: [
        { countries: ['DE', 'AT'], regions: [], userId: null, teamId: 't1' },
        { countries: [], regions: ['NORDICS'], userId: 'u2', teamId: null },
      ],
    });
    const refs = referencesOf(checked.rules);
    assert.deepEqual(
      refs.users.map((u) => u.path),
      ['/rules/0/strategy/userId', '/rules/1/strategy/territories/1/userId'],
    );
    assert.deepEqual(
      refs.teams.map((t) => [t.id, t.rule]),
      [['t1', 'Europe']],
    );
  });

  test('names every bad field', () => {
    const checked = checkRules(
      [
        { id: 'a', name: 'A', strategy: { type: 'owner' } },
        { id: 'a', name: ' ', strategy: { type: 'round_robin', teamId: 't', userId: 'u' } },
        {
          name: 'C',
          when: {
            stage: { in: ['martian'] },
            score: { matches: ['x'] },
            temperature: { min: 1 },
            shoeSize: { min: 40 },
          },
          strategy: { type: 'territory', territories: [{ countries: ['Atlantis'], regions: ['MARS'] }] },
        },
        { id: 'has space', name: 'D', strategy: { type: 'account', teamId: 't' } },
      ],
      ids(),
    );
    assert.ok(!checked.ok);
    assert.deepEqual(
      checked.errors.map((e) => e.path),
      [
        '/rules/0/strategy/userId',
        '/rules/1/id',
        '/rules/1/name',
        '/rules/1/strategy/userId',
        '/rules/2/when/stage/in/0',
        '/rules/2/when/score',
        '/rules/2/when/temperature',
        '/rules/2/when/shoeSize',
        '/rules/2/strategy/territories/0/countries/0',
        '/rules/2/strategy/territories/0/regions/0',
        '/rules/2/strategy/territories/0',
        '/rules/3/id',
        '/rules/3/strategy/teamId',
      ],
    );
  });
});
