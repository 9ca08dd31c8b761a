import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sqlitePlan } from '../../test/support/query-plan.ts';
import { accountSharesQuery, liveLeadCountQuery } from './store.ts';

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
