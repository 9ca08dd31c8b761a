import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newLead, type TimelineEntry } from '../leads/model.ts';
import { defaultQualificationRule } from '../lifecycle/qualification.ts';
import { defaultStageRules } from '../lifecycle/stage-rules.ts';
import { defaultTemperatureConfig } from '../lifecycle/temperature.ts';
import { presets } from './presets.ts';
import { rescoreLead, type ScoringContext } from './qualify.ts';

const t0 = Date.UTC(2026, 2, 1);
const DAY = 24 * 60 * 60 * 1000;

const ctx: ScoringContext = {
  version: 1,
  model: presets['b2b-saas'].model,
  stageRules: defaultStageRules,
  temperature: defaultTemperatureConfig,
  qualification: defaultQualificationRule,
};

describe('rescoreLead', () => {
  test('replays a history given in any order oldest first, and leaves the given list as it was', () => {
    // Order matters to these rules: a frequency (3 product days within 7), caps and a once-rule.
    const at = (id: string, type: string, daysAgo: number): TimelineEntry => ({
      id,
      leadId: 'lead-1',
      type,
      occurredAt: t0 - daysAgo * DAY,
      properties: {},
    });
    const inOrder = [
      at('a', 'product_used', 20),
      at('b', 'product_used', 12),
      at('c', 'email_clicked', 9),
      at('d', 'product_used', 8),
      at('e', 'product_used', 6),
      at('f', 'email_clicked', 6),
      at('g', 'email_clicked', 6),
      at('h', 'trial_started', 3),
      at('i', 'trial_started', 1),
    ];
    const lead = newLead('lead-1', 'ws', { email: 'dana@northwind.io' }, 'lead', t0 - 30 * DAY);
    const ids = () => 'new-id';
    const expected = rescoreLead(ctx, lead, inOrder, t0, ids);
    assert.ok((expected.state?.k ?? 0) > 0, 'the history scores');
    const shuffled = [
      inOrder[5]!,
      inOrder[8]!,
      inOrder[0]!,
      inOrder[3]!,
      inOrder[7]!,
      inOrder[1]!,
      inOrder[6]!,
      inOrder[4]!,
      inOrder[2]!,
    ];
    const given = [...shuffled];
    const got = rescoreLead(ctx, lead, shuffled, t0, ids);
    assert.deepEqual(got.state, expected.state);
    assert.deepEqual(got.lead.scoring, expected.lead.scoring);
    assert.deepEqual(shuffled, given);
  });
});
