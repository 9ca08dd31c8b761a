import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sqlitePlan } from '../../test/support/query-plan.ts';
import { claimQuery } from './store.ts';

it('claims through the due-jobs index, never by scanning every job kept', async () => {
  const details = await sqlitePlan((database) => claimQuery(database.db, 'sqlite', 'w', 8, 1_000, 2_000));
  assert.match(details, /USING INDEX jobs_due_ix/, details);
  assert.doesNotMatch(details, /SCAN jobs\b/, details);
});
