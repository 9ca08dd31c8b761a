import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sqlitePlan } from '../../test/support/query-plan.ts';
import { newLead, type Touch } from './model.ts';
import { accountSharesQuery, leadToRow, liveLeadCountQuery, rowToLead } from './store.ts';

const touch = (source: string, at: number): Touch => ({
  source,
  channel: 'referral',
  utm: {},
  referrer: `https://${source}/`,
  landingPage: 'https://example.org/',
  at,
});

// Most leads were touched once: their row stores that touch once, not twice.
it('stores a last touch equal to the first as null and reads it back as the first', () => {
  const lead = newLead('l1', 'w', { email: 'a@example.org', touch: touch('a.example', 1) }, 'lead', 1);
  const row = leadToRow(lead);
  assert.equal(row.last_touch, null);
  assert.deepEqual(rowToLead(row).lastTouch, lead.firstTouch);
  const copied = leadToRow({ ...lead, lastTouch: { ...lead.firstTouch! } });
  assert.equal(copied.last_touch, null);
});

it('stores a last touch that differs from the first, and a lead without touches as null', () => {
  const lead = newLead('l1', 'w', { email: 'a@example.org', touch: touch('a.example', 1) }, 'lead', 1);
  const later = { ...lead, lastTouch: touch('b.example', 2) };
  const row = leadToRow(later);
  assert.notEqual(row.last_touch, null);
  const read = rowToLead(row);
  assert.deepEqual(read.firstTouch, lead.firstTouch);
  assert.deepEqual(read.lastTouch, later.lastTouch);
  const untouched = rowToLead(leadToRow(newLead('l2', 'w', { email: 'b@example.org' }, 'lead', 1)));
  assert.equal(untouched.firstTouch, null);
  assert.equal(untouched.lastTouch, null);
});

// The domain index holds owned, live leads only (a capture or an import writes none of it):
// account routing must still find a company's owners through it, not by scanning the workspace.
it('finds the owners of a company through the partial domain index', async () => {
  const plan = await sqlitePlan((d) => accountSharesQuery(d.db, 'w', 'acme.com', 'lead'));
  assert.match(plan, /USING INDEX leads_domain_ix/, plan);
});

// A rescore starts by counting the live leads: through two indexes alone, never the table
// (counting `merged_into_id is null` read every lead's row: over a second for a million).
it('counts the live leads of a workspace from indexes alone', async () => {
  const plan = await sqlitePlan((d) => liveLeadCountQuery(d.db, 'w'));
  const steps = plan.split('\n').filter((line) => /\bleads\b/.test(line));
  assert.equal(steps.length, 2, plan);
  for (const step of steps) assert.match(step, /USING COVERING INDEX/, plan);
  assert.match(plan, /leads_merged_into_ix/, plan);
});
