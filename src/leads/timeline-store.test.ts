import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sqlitePlan } from '../../test/support/query-plan.ts';
import { historyQuery, timelineQuery } from './timeline-store.ts';

// A lead's activities lie wherever they arrived among everyone else's: a table lookup per
// activity is what made reading histories in lead order slow (see the migration).
it('reads histories for a rescore from the history index alone, already in lead and time order', async () => {
  const plan = await sqlitePlan((d) =>
    historyQuery(d.db, 'w', { ids: ['a', 'b'] }, ['page_viewed', 'demo_requested']),
  );
  assert.match(plan, /USING COVERING INDEX activities_history_ix/, plan);
  assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
});

it('still reads from the history index alone when only some types need their properties', async () => {
  const plan = await sqlitePlan((d) =>
    historyQuery(d.db, 'w', { ids: ['a', 'b'] }, ['page_viewed', 'demo_requested'], ['page_viewed']),
  );
  assert.match(plan, /USING COVERING INDEX activities_history_ix/, plan);
  assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
});

it("reads a rescore chunk's histories as one stretch of the history index, in order", async () => {
  const plan = await sqlitePlan((d) =>
    historyQuery(d.db, 'w', { from: 'a', to: 'b' }, ['page_viewed', 'demo_requested'], ['page_viewed']),
  );
  assert.match(
    plan,
    /USING COVERING INDEX activities_history_ix \(workspace_id=\? AND lead_id>\? AND lead_id<\?\)/,
    plan,
  );
  assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
});

it('reads a timeline page from the history index alone, newest first without a sort', async () => {
  const plan = await sqlitePlan((d) => timelineQuery(d.db, 'w', 'a', 50, { occurredAt: 1, id: 'x' }));
  assert.match(plan, /USING COVERING INDEX activities_history_ix/, plan);
  assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
});
