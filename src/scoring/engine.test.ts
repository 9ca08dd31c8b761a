import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Lead, newLead } from '../leads/model.ts';
import { DAY_MS, halfLifeMs, valueAt } from './decay.ts';
import {
  applyActivities,
  applyActivity,
  arrivesLate,
  behaviourAt,
  behaviourThresholdK,
  computeFit,
  emptyState,
  gradeFor,
  RECENT_IDS,
  rebaseState,
  replay,
  type ScoreState,
  scoreAt,
} from './engine.ts';
import {
  type Activity,
  type BehaviourRule,
  defaultGrades,
  defaultModel,
  type NegativeRule,
  type ScoringModel,
} from './model.ts';

const t0 = Date.UTC(2026, 2, 1);
const HOUR = 3_600_000;

function close(actual: number, expected: number, tolerance = 1e-6): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)),
    `${actual} ≉ ${expected}`,
  );
}

function lead(fields: Parameters<typeof newLead>[2] = {}): Lead {
  return newLead('l1', 'w1', fields, 'lead', t0);
}

function model(parts: Partial<ScoringModel>): ScoringModel {
  return {
    halfLifeDays: 30,
    grades: defaultGrades,
    competitorDomains: [],
    fit: [],
    behaviour: [],
    negative: [],
    ...parts,
  };
}

let nextId = 0;
function activity(type: string, occurredAt: number, properties: Record<string, unknown> = {}): Activity {
  return { id: `a${nextId++}`, type, occurredAt, properties };
}

function run(m: ScoringModel, activities: Activity[], now = t0 + 100 * DAY_MS): ScoreState {
  return applyActivities(m, emptyState(m), activities, now);
}

const visit: BehaviourRule = { id: 'visit', label: 'Visit', points: 10, type: 'page_view' };

describe('behaviour rules', () => {
  test('every matching activity adds its points, which then halve every half-life', () => {
    const m = model({ behaviour: [visit] });
    const state = run(m, [activity('page_view', t0), activity('page_view', t0 + 30 * DAY_MS)]);
    assert.equal(behaviourAt(state, t0 + 30 * DAY_MS), 15);
    assert.equal(behaviourAt(state, t0 + 60 * DAY_MS), 7.5);
    assert.equal(state.rules.visit?.fired, 2);
    assert.equal(state.rules.visit?.awarded, 20);
  });

  test('a late activity decays from its own time', () => {
    const m = model({ behaviour: [visit] });
    const inOrder = run(m, [activity('page_view', t0), activity('page_view', t0 + 30 * DAY_MS)]);
    const late = run(m, [activity('page_view', t0 + 30 * DAY_MS), activity('page_view', t0)]);
    close(late.k!, inOrder.k!, 1e-12);
    assert.equal(late.rules.visit?.firstAt, t0);
    assert.equal(late.rules.visit?.lastAt, t0 + 30 * DAY_MS);
  });

  test('property filters choose the activities', () => {
    const m = model({ behaviour: [{ ...visit, where: { url: { matches: ['/pricing*'] } } }] });
    const result = applyActivity(
      m,
      emptyState(m),
      activity('page_view', t0, { url: 'https://a.io/blog' }),
      t0,
    );
    assert.equal(result.changed, false);
    assert.equal(result.fired.length, 0);
    const hit = applyActivity(
      m,
      emptyState(m),
      activity('page_view', t0, { url: 'https://a.io/pricing' }),
      t0,
    );
    assert.deepEqual(hit.fired, [{ ruleId: 'visit', kind: 'behaviour', points: 10, cut: 0, at: t0 }]);
  });

  test('a cap tops the rule up to the cap instead of piling up', () => {
    const m = model({ behaviour: [{ ...visit, points: 25, cap: 30 }] });
    let state = emptyState(m);
    const fired = [];
    for (const at of [t0, t0 + HOUR, t0 + 30 * DAY_MS]) {
      const result = applyActivity(m, state, activity('page_view', at), at);
      state = result.state;
      fired.push(result.fired[0]);
    }
    close(fired[0]!.points, 25);
    // An hour later the rule holds ~25, so only ~5 fit under the cap.
    close(fired[1]!.points, 30 - 25 * 0.5 ** (HOUR / halfLifeMs(30)));
    close(fired[1]!.cut, 25 - fired[1]!.points);
    // Nearly a half-life later it holds about 15: all 25 would exceed 30, so about 15 are awarded.
    const held = 30 * 0.5 ** ((30 * DAY_MS - HOUR) / halfLifeMs(30));
    close(fired[2]!.points, 30 - held);
    close(behaviourAt(state, t0 + 30 * DAY_MS), 30);
    close(state.rules.visit!.capped, 25 - fired[1]!.points + (25 - fired[2]!.points));
  });

  test('a once-rule fires once, at the earliest matching time even when that arrives late', () => {
    const m = model({ behaviour: [{ ...visit, id: 'trial', type: 'trial_started', once: true }] });
    let state = run(m, [
      activity('trial_started', t0 + 10 * DAY_MS),
      activity('trial_started', t0 + 20 * DAY_MS),
    ]);
    assert.equal(state.rules.trial?.fired, 1);
    assert.equal(state.rules.trial?.matched, 2);
    const late = applyActivity(m, state, activity('trial_started', t0), t0 + 30 * DAY_MS);
    assert.deepEqual(late.fired, [
      { ruleId: 'trial', kind: 'behaviour', points: 10, cut: 0, at: t0, moved: true },
    ]);
    state = late.state;
    assert.equal(state.rules.trial?.firstAt, t0);
    close(behaviourAt(state, t0 + 30 * DAY_MS), 5);
  });

  test('"opened 5 or more emails" fires once, on the fifth', () => {
    const rule = defaultModel.behaviour.find((r) => r.id === 'email-opens')!;
    const m = model({ behaviour: [rule] });
    const opens = [0, 1, 2, 3, 4, 5, 6].map((d) => activity('email_opened', t0 + d * DAY_MS));
    let state = emptyState(m);
    const firedAt: number[] = [];
    for (const open of opens) {
      const result = applyActivity(m, state, open, t0 + 10 * DAY_MS);
      state = result.state;
      for (const f of result.fired) firedAt.push(f.at);
    }
    assert.deepEqual(firedAt, [t0 + 4 * DAY_MS]);
    assert.equal(state.rules['email-opens']?.matched, 7);
    assert.deepEqual(
      state.rules['email-opens']?.times,
      [0, 1, 2, 3, 4].map((d) => t0 + d * DAY_MS),
    );
    // An open from before any of them arrives late: the fifth-earliest is now day 3.
    const late = applyActivity(m, state, activity('email_opened', t0 - DAY_MS), t0 + 10 * DAY_MS);
    assert.equal(late.fired[0]?.at, t0 + 3 * DAY_MS);
    assert.equal(late.state.rules['email-opens']?.firstAt, t0 + 3 * DAY_MS);
  });

  test('"at least 3 within 7 days" pays once per 3 qualifying activities', () => {
    const m = model({ behaviour: [{ ...visit, frequency: { atLeast: 3, withinDays: 7 } }] });
    const days = [0, 5, 10, 11, 12, 13, 14, 15];
    let state = emptyState(m);
    const firedAt: number[] = [];
    for (const d of days) {
      const result = applyActivity(m, state, activity('page_view', t0 + d * DAY_MS), t0 + 20 * DAY_MS);
      state = result.state;
      for (const f of result.fired) firedAt.push((f.at - t0) / DAY_MS);
    }
    // 0, 5, 10 span 10 days: no; 5, 10, 11 span 6: yes (at 11); then 12, 13, 14 (at 14); 15 waits.
    assert.deepEqual(firedAt, [11, 14]);
    assert.deepEqual(state.rules.visit?.times, [t0 + 15 * DAY_MS]);
    assert.ok((state.rules.visit?.times?.length ?? 0) <= 3);
  });
});

describe('negative rules', () => {
  const unsubscribed: NegativeRule = {
    id: 'unsub',
    label: 'Unsubscribed',
    points: -20,
    type: 'email_unsubscribed',
    once: true,
  };
  const bounce: NegativeRule = { id: 'bounce', label: 'Bounce', points: -15, type: 'email_bounced', cap: 40 };

  test('activity negatives do not decay; a cap bounds their size', () => {
    const m = model({ negative: [unsubscribed, bounce] });
    const state = run(m, [
      activity('email_unsubscribed', t0),
      activity('email_unsubscribed', t0 + DAY_MS),
      activity('email_bounced', t0),
      activity('email_bounced', t0),
      activity('email_bounced', t0),
    ]);
    assert.equal(state.negative, -60);
    assert.equal(state.rules.bounce?.awarded, -40);
    assert.equal(state.rules.bounce?.capped, 5);
    assert.equal(state.k, null);
    const score = scoreAt(m, state, lead(), t0 + 1000 * DAY_MS);
    assert.equal(score.negativeScore, -60);
    assert.equal(score.score, 0);
  });

  test('profile negatives follow the lead and pull the fit grade down', () => {
    const m = model({
      competitorDomains: ['rival.io'],
      fit: [{ id: 'vp', label: 'VP', points: 45, when: { jobTitle: { matches: ['vp'] } } }],
      negative: [
        {
          id: 'competitor',
          label: 'Competitor',
          points: -100,
          when: { email: { domainType: ['competitor'] } },
        },
      ],
    });
    const rival = scoreAt(m, null, lead({ email: 'x@rival.io', jobTitle: 'VP Sales' }), t0);
    assert.deepEqual(
      { score: rival.score, fit: rival.fitScore, negative: rival.negativeScore, grade: rival.grade },
      { score: 0, fit: 45, negative: -100, grade: 'D4' },
    );
    const prospect = scoreAt(m, null, lead({ email: 'x@acme.io', jobTitle: 'VP Sales' }), t0);
    assert.equal(prospect.grade, 'A4');
    assert.equal(prospect.score, 45);
  });
});

describe('state', () => {
  test('an activity matching no rule leaves the very same state', () => {
    const state = emptyState(defaultModel);
    const result = applyActivity(defaultModel, state, activity('chat_started', t0), t0);
    assert.equal(result.state, state);
    assert.equal(result.changed, false);
  });

  test('a replayed activity id is a no-op; the id list stays bounded', () => {
    const m = model({ behaviour: [visit] });
    const first = activity('page_view', t0);
    const once = applyActivity(m, emptyState(m), first, t0).state;
    const twice = applyActivity(m, once, first, t0);
    assert.equal(twice.changed, false);
    assert.equal(twice.state, once);
    const many = run(
      m,
      Array.from({ length: 25 }, (_, i) => activity('page_view', t0 + i)),
    );
    assert.equal(many.recent.length, RECENT_IDS);
  });

  test('is plain JSON', () => {
    const state = run(defaultModel, [
      activity('email_opened', t0),
      activity('page_view', t0, { url: '/pricing' }),
      activity('content_downloaded', t0),
    ]);
    assert.deepEqual(JSON.parse(JSON.stringify(state)), state);
  });

  test('a state from another half-life is rebased, keeping its value', () => {
    const m = model({ behaviour: [visit] });
    const state = run(m, [activity('page_view', t0)]);
    const faster = { ...m, halfLifeDays: 10 };
    const now = t0 + 30 * DAY_MS;
    const rebased = rebaseState(state, 10, now);
    assert.equal(rebased.halfLifeDays, 10);
    close(behaviourAt(rebased, now), 5);
    close(behaviourAt(rebased, now + 10 * DAY_MS), 2.5);
    const next = applyActivity(faster, state, activity('page_view', now), now).state;
    close(behaviourAt(next, now), 15);
  });
});

describe('scores and grades', () => {
  test('fit lists the rules the lead matches', () => {
    const fit = computeFit(defaultModel, lead({ jobTitle: 'Head of IT', companySize: 20, industry: 'SaaS' }));
    assert.deepEqual(
      fit.rules.map((r) => r.id),
      ['senior-title', 'target-industry'],
    );
    assert.equal(fit.points, 30);
  });

  test('grade thresholds are inclusive', () => {
    assert.equal(gradeFor(defaultGrades, 40, 40).grade, 'A1');
    assert.equal(gradeFor(defaultGrades, 39.9, 39.9).grade, 'B2');
    assert.equal(gradeFor(defaultGrades, 10, 5).grade, 'C3');
    assert.equal(gradeFor(defaultGrades, 9, 4.99).grade, 'D4');
  });

  test('the behaviour threshold bound selects the same leads as the decayed score', () => {
    const m = model({ behaviour: [visit] });
    const state = run(m, [activity('page_view', t0), activity('page_view', t0 + 5 * DAY_MS)]);
    for (const days of [0, 10, 30, 90]) {
      const now = t0 + days * DAY_MS;
      for (const theta of [1, 5, 10, 15]) {
        assert.equal(
          state.k! > behaviourThresholdK(30, theta, now),
          behaviourAt(state, now) > theta,
          `${days} ${theta}`,
        );
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const types = ['page_view', 'email_opened', 'webinar_attended', 'email_bounced'] as const;

interface RuleShape {
  type: (typeof types)[number];
  points: number;
  once: boolean;
  atLeast: number;
  withinDays: number | undefined;
  cap: number | undefined;
}

const ruleShape = fc.record({
  type: fc.constantFrom(...types),
  points: fc.integer({ min: 1, max: 40 }),
  once: fc.boolean(),
  atLeast: fc.integer({ min: 1, max: 4 }),
  withinDays: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
  cap: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
});

function modelOf(behaviour: RuleShape[], negative: RuleShape[], halfLifeDays: number): ScoringModel {
  const rule = (shape: RuleShape, id: string, sign: 1 | -1) => ({
    id,
    label: id,
    points: sign * shape.points,
    type: shape.type,
    ...(shape.once ? { once: true } : {}),
    ...(shape.atLeast > 1
      ? {
          frequency: {
            atLeast: shape.atLeast,
            ...(shape.withinDays ? { withinDays: shape.withinDays } : {}),
          },
        }
      : {}),
    ...(shape.cap !== undefined ? { cap: shape.cap } : {}),
  });
  return model({
    halfLifeDays,
    fit: [{ id: 'f', label: 'f', points: 30, when: { jobTitle: { matches: ['vp'] } } }],
    behaviour: behaviour.map((s, i) => rule(s, `b${i}`, 1)),
    negative: [
      ...negative.map((s, i) => rule(s, `n${i}`, -1)),
      { id: 'p', label: 'p', points: -10, when: { companySize: { max: 5 } } },
    ],
  });
}

const anyModel = fc
  .tuple(
    fc.array(ruleShape, { maxLength: 5 }),
    fc.array(ruleShape, { maxLength: 2 }),
    fc.constantFrom(1, 7, 30, 90),
  )
  .map(([b, n, h]) => modelOf(b, n, h));

/** Rules whose result does not depend on arrival order: no behaviour caps, no windows, no repeating frequencies. */
const orderFreeModel = fc
  .tuple(
    fc.array(ruleShape, { maxLength: 5 }),
    fc.array(ruleShape, { maxLength: 2 }),
    fc.constantFrom(1, 7, 30),
  )
  .map(([b, n, h]) =>
    modelOf(
      b.map((s) => ({ ...s, cap: undefined, withinDays: undefined, atLeast: s.once ? s.atLeast : 1 })),
      n.map((s) => ({ ...s, withinDays: undefined, atLeast: s.once ? s.atLeast : 1 })),
      h,
    ),
  );

const anyActivity = fc.record({
  type: fc.constantFrom(...types),
  hours: fc.integer({ min: 0, max: 60 * 24 }),
});

function activitiesOf(shapes: Array<{ type: string; hours: number }>): Activity[] {
  return shapes.map((s, i) => ({
    id: `p${i}`,
    type: s.type,
    occurredAt: t0 + s.hours * HOUR,
    properties: {},
  }));
}

const anyLead = fc
  .record({ vp: fc.boolean(), small: fc.boolean() })
  .map(({ vp, small }) => lead({ jobTitle: vp ? 'VP Sales' : 'Engineer', companySize: small ? 3 : 300 }));

/**
 * Asserts two states reached in different orders are the same: floats within 1e-9 (relative),
 * recent ids as a set (or not at all: which ids are the last few applied depends on arrival order).
 */
function assertSameState(actual: ScoreState, expected: ScoreState, compareRecent = true): void {
  const floats: Array<[number | null, number | null]> = [[actual.k, expected.k]];
  const strip = (state: ScoreState, side: 0 | 1) => ({
    ...state,
    k: null,
    recent: compareRecent ? [...state.recent].sort() : [],
    rules: Object.fromEntries(
      Object.entries(state.rules).map(([id, r]) => {
        if (side === 0)
          floats.push([r.k, expected.rules[id]?.k ?? null], [r.awarded, expected.rules[id]?.awarded ?? null]);
        return [id, { ...r, k: r.k === null ? null : 0, awarded: 0 }];
      }),
    ),
  });
  assert.deepEqual(strip(actual, 0), strip(expected, 1));
  for (const [a, b] of floats) {
    if (a === null || b === null) assert.equal(a, b);
    else close(a, b, 1e-9);
  }
}

describe('properties', () => {
  // The rescore replays millions of activities through `replay`; `applyActivity` is the
  // definition. Same ids repeat (replays), states start null, empty or from another half-life.
  test('a replay gives exactly the state of applying the activities one by one', () => {
    fc.assert(
      fc.property(
        anyModel,
        fc.array(anyActivity, { maxLength: 25 }),
        fc.array(fc.nat(), { maxLength: 25 }),
        fc.constantFrom('null', 'empty', 'other half-life'),
        fc.array(fc.nat({ max: 25 }), { maxLength: 4 }),
        (m, acts, idPicks, start, reads) => {
          const activities = activitiesOf(acts).map((a, i) => ({ ...a, id: `p${idPicks[i] ?? i}` }));
          const initial: ScoreState | null =
            start === 'null'
              ? null
              : start === 'empty'
                ? emptyState(m)
                : run({ ...m, halfLifeDays: m.halfLifeDays + 1 }, activities.slice(0, 3), t0);
          // The fold a replay stands for: rebased once, then every activity that changes it.
          let expected = initial && rebaseState(initial, m.halfLifeDays, t0);
          const replayed = replay(m, initial, t0);
          const handedOut: Array<[ScoreState | null, ScoreState | null]> = [];
          for (const [i, a] of activities.entries()) {
            const applied = applyActivity(m, expected ?? emptyState(m), a, t0);
            if (applied.changed) expected = applied.state;
            assert.equal(replayed.apply(a), applied.changed);
            // Reading the state midway (a stage rule looks at the score) must not disturb the rest.
            if (reads.includes(i)) handedOut.push([replayed.state(), structuredClone(expected)]);
          }
          // ... nor be changed by the activities after it.
          for (const [read, then] of handedOut) assert.deepEqual(read, then);
          assert.deepEqual(replayed.state(), expected);
        },
      ),
    );
  });

  test('the score is never outside 0–100', () => {
    fc.assert(
      fc.property(
        anyModel,
        fc.array(anyActivity, { maxLength: 30 }),
        anyLead,
        fc.integer({ min: -10, max: 400 }),
        (m, acts, l, days) => {
          const state = run(m, activitiesOf(acts), t0);
          const { score } = scoreAt(m, state, l, t0 + days * DAY_MS);
          assert.ok(score >= 0 && score <= 100, String(score));
        },
      ),
    );
  });

  test('with nothing new, the score never rises over time', () => {
    fc.assert(
      fc.property(
        anyModel,
        fc.array(anyActivity, { maxLength: 20 }),
        anyLead,
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 200 }),
        (m, acts, l, a, b) => {
          const state = run(m, activitiesOf(acts), t0);
          const [early, late] = a <= b ? [a, b] : [b, a];
          const start = t0 + 60 * DAY_MS;
          assert.ok(
            scoreAt(m, state, l, start + late * HOUR).score <=
              scoreAt(m, state, l, start + early * HOUR).score,
          );
        },
      ),
    );
  });

  test('applying the same activity twice changes nothing', () => {
    fc.assert(
      fc.property(
        anyModel,
        fc.array(anyActivity, { minLength: 1, maxLength: 20 }),
        fc.nat(),
        (m, acts, pick) => {
          const activities = activitiesOf(acts);
          const state = run(m, activities, t0);
          const again = activities[pick % activities.length]!;
          const recentlyApplied = state.recent.includes(again.id);
          const result = applyActivity(m, state, again, t0);
          if (recentlyApplied) assert.equal(result.state, state);
          // Right after its first application a replay is always recognised.
          const before = run(m, activities.slice(0, -1), t0);
          const last = activities.at(-1)!;
          const after = applyActivity(m, before, last, t0).state;
          assert.deepEqual(applyActivity(m, after, last, t0).state, after);
        },
      ),
    );
  });

  test('two activities applied in either order give the same state (order-free rules)', () => {
    fc.assert(
      fc.property(
        orderFreeModel,
        fc.array(anyActivity, { maxLength: 10 }),
        anyActivity,
        anyActivity,
        (m, history, x, y) => {
          const base = run(m, activitiesOf(history), t0);
          const [a, b] = activitiesOf([x, y]).map((act, i) => ({ ...act, id: `x${i}` }));
          const ab = applyActivities(m, base, [a!, b!], t0);
          const ba = applyActivities(m, base, [b!, a!], t0);
          assertSameState(ab, ba);
        },
      ),
    );
  });

  test('any arrival order gives the same state for order-free rules', () => {
    fc.assert(
      fc.property(
        orderFreeModel,
        fc.array(anyActivity, { maxLength: 15 }).chain((acts) =>
          fc.tuple(
            fc.constant(acts),
            fc.shuffledSubarray(
              acts.map((_, i) => i),
              { minLength: acts.length },
            ),
          ),
        ),
        (m, [acts, order]) => {
          const activities = activitiesOf(acts);
          const shuffled = order.map((i) => activities[i]!);
          assertSameState(run(m, shuffled, t0), run(m, activities, t0), false);
        },
      ),
    );
  });

  test('in time order, every rule kind matches a naive simulation over the full history', () => {
    fc.assert(
      fc.property(
        anyModel,
        fc.array(anyActivity, { maxLength: 30 }),
        fc.integer({ min: 0, max: 120 }),
        (m, acts, days) => {
          const activities = activitiesOf(acts).sort((p, q) => p.occurredAt - q.occurredAt);
          const now = t0 + days * DAY_MS;
          const state = run(m, activities, now);
          const expected = simulate(m, activities, now);
          close(valueAt(state.k, now, halfLifeMs(m.halfLifeDays)), expected.behaviour, 1e-7);
          close(state.negative, expected.negative, 1e-9);
        },
      ),
    );
  });

  test('in any arrival order a capped rule never holds more than its cap', () => {
    fc.assert(
      fc.property(anyModel, fc.array(anyActivity, { maxLength: 30 }), (m, acts) => {
        const now = t0 + 61 * DAY_MS; // after every activity
        const state = run(m, activitiesOf(acts), now);
        for (const rule of [...m.behaviour, ...m.negative]) {
          const held = state.rules[rule.id];
          if (!held || !('cap' in rule) || rule.cap === undefined) continue;
          const value =
            held.kind === 'behaviour' ? valueAt(held.k, now, halfLifeMs(m.halfLifeDays)) : -held.awarded;
          assert.ok(value <= rule.cap * (1 + 1e-9), `${rule.id}: ${value} > ${rule.cap}`);
        }
      }),
    );
  });
});

/**
 * The rules re-stated naively for activities in time order: full history, plain sums of
 * 0.5^(age / half-life), a window checked over the unused activities so far.
 */
function simulate(
  m: ScoringModel,
  activities: Activity[],
  now: number,
): { behaviour: number; negative: number } {
  const h = halfLifeMs(m.halfLifeDays);
  let behaviour = 0;
  let negative = 0;
  const rules = [
    ...m.behaviour.map((r) => ({ r, decays: true })),
    ...m.negative.map((r) => ({ r, decays: false })),
  ];
  for (const { r, decays } of rules) {
    if (!('type' in r)) continue;
    const awards: Array<{ points: number; at: number }> = [];
    let unused: number[] = [];
    for (const act of activities) {
      if (act.type !== r.type || (r.once && awards.length > 0)) continue;
      const t = act.occurredAt;
      unused.push(t);
      const n = r.frequency?.atLeast ?? 1;
      const window = (r.frequency?.withinDays ?? Infinity) * DAY_MS;
      if (unused.length < n || t - unused[unused.length - n]! > window) continue;
      unused = [];
      const held = awards.reduce(
        (sum, a) => sum + (decays ? a.points * 0.5 ** ((t - a.at) / h) : a.points),
        0,
      );
      let amount = Math.abs(r.points);
      if (r.cap !== undefined) amount = Math.min(amount, Math.max(0, r.cap - held));
      if (amount < 1e-9) amount = 0;
      awards.push({ points: amount, at: t });
    }
    for (const a of awards) {
      if (decays) behaviour += a.points * 0.5 ** ((now - a.at) / h);
      else negative -= a.points;
    }
  }
  return { behaviour, negative };
}

describe('arrivesLate', () => {
  const m = model({
    behaviour: [
      { id: 'pricing', label: 'Pricing', points: 25, type: 'pricing_viewed', cap: 50 },
      { id: 'use', label: 'Use', points: 10, type: 'product_used', frequency: { atLeast: 3, withinDays: 7 } },
      { id: 'webinar', label: 'Webinar', points: 15, type: 'webinar_attended' },
    ],
  });

  test('an activity older than one its capped or frequency rule took in arrives late', () => {
    assert.equal(
      arrivesLate(m, null, [activity('pricing_viewed', t0)]),
      false,
      'no state: nothing to be late for',
    );
    const fired = run(m, [activity('pricing_viewed', t0)]);
    assert.equal(arrivesLate(m, fired, [activity('pricing_viewed', t0 + 1)]), false);
    assert.equal(
      arrivesLate(m, fired, [activity('pricing_viewed', t0)]),
      false,
      'the same moment is not earlier',
    );
    assert.equal(arrivesLate(m, fired, [activity('pricing_viewed', t0 - 1)]), true);
    assert.equal(
      arrivesLate(m, fired, [activity('product_used', t0 - 1)]),
      false,
      'its own rule took nothing',
    );
    const counted = run(m, [activity('product_used', t0 + DAY_MS)]);
    assert.equal(
      arrivesLate(m, counted, [activity('product_used', t0)]),
      true,
      'a pending frequency time counts',
    );
  });

  test('a plain rule adds up in any order: never late', () => {
    const attended = run(m, [activity('webinar_attended', t0)]);
    assert.equal(arrivesLate(m, attended, [activity('webinar_attended', t0 - DAY_MS)]), false);
  });
});
