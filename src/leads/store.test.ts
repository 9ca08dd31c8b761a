import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sqlitePlan } from '../../test/support/query-plan.ts';
import { accountSharesQuery } from './store.ts';

// The domain index holds owned, live leads only (a capture or an import writes none of it):
// account routing must still find a company's owners through it, not by scanning the workspace.
it('finds the owners of a company through the partial domain index', async () => {
  const plan = await sqlitePlan((d) => accountSharesQuery(d.db, 'w', 'acme.com', 'lead'));
  assert.match(plan, /USING INDEX leads_domain_ix/, plan);
});
