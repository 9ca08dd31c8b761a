import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Lead, TimelineEntry } from '../leads/model.ts';
import { dueAt, firedTrigger, isTouch, parsePolicies, policyJson, type SlaPolicy } from './model.ts';

const entry = (type: string, properties: Record<string, unknown> = {}): TimelineEntry => ({
  id: `e-${type}`,
  leadId: 'l1',
  type,
  occurredAt: 1_000,
  properties,
});

const policy = (when: SlaPolicy['when']): SlaPolicy => ({
  id: 'p1',
  name: 'Hot: 5 minutes',
  enabled: true,
  when,
  within: { ms: 300_000, business: false },
  warnBeforeMs: 120_000,
  onBreach: { notifyManager: true, reassign: true },
  task: null,
});

describe('firedTrigger', () => {
  it('fires on a temperature change to the policy temperature, not away from it', () => {
    const p = policy([{ temperature: 'hot' }]);
    assert.deepEqual(
      firedTrigger(p, { leadId: 'l1', entries: [entry('temperature_changed', { from: 'warm', to: 'hot' })] }),
      { temperature: 'hot' },
    );
    assert.equal(
      firedTrigger(p, { leadId: 'l1', entries: [entry('temperature_changed', { from: 'hot', to: 'warm' })] }),
      undefined,
    );
  });

  it('fires on an activity, and on a stage entered (also by a lead created in it)', () => {
    assert.ok(
      firedTrigger(policy([{ activity: 'demo_requested' }]), {
        leadId: 'l1',
        entries: [entry('demo_requested')],
      }),
    );
    const mql = policy([{ stage: 'mql' }]);
    assert.ok(
      firedTrigger(mql, { leadId: 'l1', entries: [entry('stage_changed', { from: 'lead', to: 'mql' })] }),
    );
    const created = { stage: 'mql', scoring: { temperature: 'cold' } } as unknown as Lead;
    assert.ok(
      firedTrigger(mql, { leadId: 'l1', before: null, after: created, entries: [entry('lead_created')] }),
    );
    assert.equal(firedTrigger(mql, { leadId: 'l1', entries: [entry('page_view')] }), undefined);
  });
});

describe('isTouch', () => {
  it('counts the owner’s calls, emails and meetings, and touches that name no user', () => {
    assert.ok(isTouch(entry('call_logged', { userId: 'u1' }), 'u1'));
    assert.ok(isTouch(entry('email_sent'), 'u1'));
    assert.ok(isTouch(entry('meeting_booked', { userId: null }), 'u1'));
  });

  it('does not count another rep’s call, or the lead’s own activity', () => {
    assert.equal(isTouch(entry('call_logged', { userId: 'u2' }), 'u1'), false);
    assert.equal(isTouch(entry('email_replied', { userId: 'u1' }), 'u1'), false);
    assert.equal(isTouch(entry('page_view'), 'u1'), false);
  });
});

describe('dueAt', () => {
  it('adds wall-clock time, or business time through the owner’s hours', () => {
    const p = policy([{ temperature: 'hot' }]);
    assert.equal(dueAt(p, 1_000, undefined), 301_000);
    const business = { ...p, within: { ms: 3_600_000, business: true } };
    assert.equal(
      dueAt(business, 1_000, (start, ms) => start + ms * 2),
      7_201_000,
    );
    assert.equal(dueAt(business, 1_000, undefined), 3_601_000, 'no owner: wall-clock');
  });
});

describe('parsePolicies', () => {
  it('reads the published examples', () => {
    const parsed = parsePolicies([
      {
        name: 'Hot or demo: 5 minutes',
        when: [{ temperature: 'hot' }, { activity: 'demo_requested' }],
        within: { minutes: 5 },
        warnBeforeMinutes: 2,
        onBreach: { notifyManager: true, reassign: true },
        task: { type: 'call' },
      },
      { name: 'MQL: 1 business hour', when: [{ stage: 'mql' }], within: { businessHours: 1 } },
    ]);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.policies[0]!.within, { ms: 300_000, business: false });
    assert.equal(parsed.policies[0]!.warnBeforeMs, 120_000);
    assert.deepEqual(parsed.policies[1]!.within, { ms: 3_600_000, business: true });
    assert.deepEqual(parsed.policies[1]!.onBreach, { notifyManager: true, reassign: false });
    assert.deepEqual(policyJson({ ...parsed.policies[1]!, id: 'x' }).within, { businessMinutes: 60 });
  });

  it('names each bad field', () => {
    const parsed = parsePolicies([
      {
        name: 'bad',
        when: [{ temperature: 'boiling' }, { stage: 'mql', activity: 'x' }, { colour: 'red' }],
        within: { minutes: 5, hours: 1 },
        warnBeforeMinutes: 10,
        task: { type: 'fax' },
      },
    ]);
    assert.equal(parsed.ok, false);
    assert.deepEqual(!parsed.ok && parsed.errors.map((e) => e.path), [
      '/policies/0/when/0/temperature',
      '/policies/0/when/1',
      '/policies/0/when/2/colour',
      '/policies/0/within',
      '/policies/0/task/type',
    ]);
  });
});
