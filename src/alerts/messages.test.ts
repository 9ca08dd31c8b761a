import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messageProblem } from '../email/model.ts';
import { newLead } from '../leads/model.ts';
import {
  type AlertContext,
  alertEmail,
  alertJsonBody,
  alertSlackBody,
  describeFacts,
  leadLabel,
} from './messages.ts';

const NOW = Date.UTC(2026, 0, 10);

function context(overrides: Partial<AlertContext> = {}): AlertContext {
  const lead = newLead(
    'lead-1',
    'ws',
    { email: 'ada@acme.io', firstName: 'Ada', lastName: 'Lovelace', company: 'Acme <Labs> & Co' },
    'lead',
    NOW,
  );
  return {
    alertId: 'alert-1',
    ruleId: 'rule-1',
    ruleName: 'Demo requested',
    facts: { type: 'activity', activity: 'demo_requested', occurredAt: NOW, count: 1, withinDays: null },
    firedAt: NOW,
    lead,
    score: 72,
    link: 'https://leadline.example/leads/lead-1',
    ownerName: 'Bob Seller',
    ...overrides,
  };
}

describe('alert texts', () => {
  it('describes each trigger', () => {
    assert.equal(
      describeFacts({
        type: 'activity',
        activity: 'pricing_viewed',
        occurredAt: NOW,
        count: 3,
        withinDays: 7,
      }),
      'viewed pricing 3 times in 7 days',
    );
    assert.equal(describeFacts({ type: 'became_hot', at: NOW }), 'became hot');
    assert.equal(
      describeFacts({ type: 'score_crossed', at: NOW, threshold: 75, from: 60, to: 81 }),
      'crossed a score of 75 (now 81)',
    );
    assert.equal(
      describeFacts({ type: 'sla_warning', at: NOW, data: { dueAt: '2026-01-10T01:00:00.000Z' } }),
      'is about to breach its response SLA (due 2026-01-10T01:00:00.000Z)',
    );
    assert.equal(
      describeFacts({ type: 'activity', activity: 'custom', occurredAt: NOW, count: 1, withinDays: null }),
      'did "custom"',
    );
  });

  it('names a lead by name, else email, else phone', () => {
    const ctx = context();
    assert.equal(leadLabel(ctx.lead), 'Ada Lovelace');
    assert.equal(leadLabel({ ...ctx.lead, firstName: null, lastName: null }), 'ada@acme.io');
    assert.equal(
      leadLabel({ ...ctx.lead, firstName: null, lastName: null, email: null, phone: '+4912' }),
      '+4912',
    );
  });

  it('makes an email the mail service accepts, with lead values escaped in the HTML', () => {
    const email = alertEmail(context());
    assert.equal(email.subject, 'Ada Lovelace (Acme <Labs> & Co) requested a demo');
    assert.match(email.text, /^Ada Lovelace \(Acme <Labs> & Co\) requested a demo\.$/m);
    assert.match(email.text, /^Score: 72$/m);
    assert.match(email.text, /^Owner: Bob Seller$/m);
    assert.match(email.text, /Open the lead: https:\/\/leadline\.example\/leads\/lead-1/);
    assert.ok(email.html.includes('Acme &lt;Labs&gt; &amp; Co'));
    assert.ok(!email.html.includes('<Labs>'));
    assert.equal(messageProblem({ to: ['bob@example.com'], ...email }), undefined);
  });

  it('keeps the subject on one line whatever the lead holds', () => {
    const ctx = context();
    const email = alertEmail({ ...ctx, lead: { ...ctx.lead, firstName: 'Ada\r\nBcc: spy@evil.io' } });
    assert.ok(!/[\r\n]/.test(email.subject));
    assert.equal(messageProblem({ to: ['bob@example.com'], ...email }), undefined);
  });

  it('builds the JSON body with the lead and the Slack body with a link and escaped text', () => {
    const ctx = context();
    const json = alertJsonBody(ctx, { id: 'lead-1' });
    assert.deepEqual(json.alert.trigger, 'demo_requested');
    assert.equal(json.alert.description, 'Ada Lovelace requested a demo');
    assert.deepEqual(json.lead, { id: 'lead-1' });
    assert.equal(json.url, ctx.link);

    const slack = alertSlackBody(ctx);
    assert.equal(slack.text, `Ada Lovelace at Acme &lt;Labs&gt; &amp; Co requested a demo: ${ctx.link}`);
    assert.equal(slack.blocks[0]!.type, 'section');
    assert.ok(JSON.stringify(slack.blocks).includes(`<${ctx.link}|Ada Lovelace>`));
    assert.ok(JSON.stringify(slack.blocks).includes('"url":"https://leadline.example/leads/lead-1"'));
  });
});
