import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { findLeadsToRescore } from '../../src/leads/store.ts';
import { defaultModel, type ScoringModel } from '../../src/scoring/model.ts';
import { presetNamed } from '../../src/scoring/presets.ts';
import { createRescoreService, type RescoreProgress } from '../../src/scoring/rescore.ts';
import { historiesToReplay } from '../../src/scoring/service.ts';
import { authHeaders, type TestApp, useApp } from '../support/engines.ts';

/**
 * The bulk rescore on SQLite with a worker thread beside the writer (rescore-prefetch.ts): what
 * it writes must be exactly what the writer alone computes, and a chunk that another write
 * touched after the worker read it must be rescored by the writer. Only SQLite has the worker.
 */

const LEADS = 600;
const DAY = 24 * 60 * 60 * 1000;

async function post(t: TestApp, url: string, payload: object) {
  const response = await t.app.inject({ method: 'POST', url, headers: authHeaders(t.key), payload });
  assert.ok(response.statusCode < 300, `${url}: ${response.statusCode} ${response.body}`);
  return response.json();
}

/** Every lead of the workspace as the API shows it, by id. */
async function allLeads(t: TestApp): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  let cursor: string | null = null;
  do {
    const url: string = `/api/v1/leads?limit=500${cursor ? `&cursor=${cursor}` : ''}`;
    const page = (await t.app.inject({ method: 'GET', url, headers: authHeaders(t.key) })).json();
    for (const lead of page.data) out.set(lead.id, lead);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

describe('bulk rescore with a worker thread [sqlite]', () => {
  const get = useApp('sqlite');
  const rescoreWith = (t: TestApp, prefetchFrom: number) =>
    createRescoreService({
      database: t.services.database,
      leads: t.services.leads,
      scoring: t.services.scoring,
      clock: () => t.clock.now,
      prefetchFrom,
    });

  it('writes what the writer alone computes, and rescores itself a chunk written to meanwhile', async () => {
    const t = get();
    const created = await post(t, '/api/v1/leads/batch', {
      leads: Array.from({ length: LEADS }, (_, i) => ({
        email: `person${i}@company${i % 37}.io`,
        jobTitle: ['VP Marketing', 'Student', 'Head of Sales', 'Engineer'][i % 4],
        companySize: (i % 9) * 60,
        industry: i % 3 === 0 ? 'Software' : 'Retail',
        country: ['US', 'DE', 'BR'][i % 3],
        utm: { source: 'google', medium: 'cpc', campaign: `campaign-${i % 5}` },
      })),
    });
    const ids: string[] = created.results.map((r: { id: string }) => r.id);
    const types = ['page_view', 'content_downloaded', 'webinar_attended', 'demo_requested', 'email_opened'];
    const events = ids.flatMap((leadId, i) =>
      Array.from({ length: i % 6 }, (_, k) => ({
        type: types[(i + k) % types.length],
        leadId,
        occurredAt: t.clock.now - ((i * 7 + k * 13) % 60) * DAY,
        properties: { url: k % 2 ? 'https://company.io/pricing' : 'https://company.io/blog' },
      })),
    );
    for (let i = 0; i < events.length; i += 1000)
      await post(t, '/api/v1/events', { events: events.slice(i, i + 1000) });
    t.clock.now += DAY;
    const workspace = await t.services.workspaces.getWorkspace(t.workspaceId);

    const before = await allLeads(t);
    // A new model: the worker computes every chunk, and nothing else writes meanwhile.
    await t.services.scoring.saveModel(t.workspaceId, presetNamed('b2b-saas').model, 'test');
    const withWorker = await rescoreWith(t, 0).run(workspace);
    assert.equal(withWorker.status, 'done', withWorker.error ?? '');
    assert.deepEqual([withWorker.total, withWorker.done, withWorker.prefetched], [LEADS, LEADS, LEADS]);
    assert.ok(
      withWorker.bandChanged > 0 && withWorker.stageChanged > 0,
      'the model change changed scores and stages',
    );

    // The writer alone, on what the worker's run wrote: nothing is left to change.
    const afterWorker = await allLeads(t);
    // The worker reads leads without their touches (no rule looks at them); the rows keep them.
    for (const [id, lead] of before) {
      assert.equal(
        (lead.firstTouch as { utm: { campaign: string } }).utm.campaign.startsWith('campaign-'),
        true,
      );
      assert.deepEqual(
        [afterWorker.get(id)!.firstTouch, afterWorker.get(id)!.lastTouch],
        [lead.firstTouch, lead.lastTouch],
      );
    }
    const alone = await rescoreWith(t, Number.POSITIVE_INFINITY).run(workspace);
    assert.deepEqual([alone.prefetched, alone.bandChanged, alone.stageChanged], [0, 0, 0]);
    assert.deepEqual(await allLeads(t), afterWorker);

    // Another model; after the first chunk an event arrives for the first lead of the next
    // chunk, which the worker was already computing: the writer must rescore that chunk itself.
    const model: ScoringModel = {
      ...defaultModel,
      behaviour: [
        ...defaultModel.behaviour,
        { id: 'demo', label: 'Demo', points: 30, type: 'demo_requested' },
      ],
    };
    await t.services.scoring.saveModel(t.workspaceId, model, 'test');
    const inOrder = [...ids].sort();
    let target: string | undefined;
    let arrived: Promise<unknown> | undefined;
    const raced = await rescoreWith(t, 0).run(workspace, {
      onProgress: (progress) => {
        if (target) return;
        target = inOrder[progress.done]!;
        arrived = t.services.events.ingest(workspace, [{ type: 'demo_requested', leadId: target }]);
      },
    });
    await arrived;
    assert.equal(raced.status, 'done', raced.error ?? '');
    assert.ok(raced.prefetched > 0 && raced.prefetched < LEADS, `prefetched ${raced.prefetched} of ${LEADS}`);
    const lead = (await allLeads(t)).get(target!)!;
    const check = await rescoreWith(t, Number.POSITIVE_INFINITY).run(workspace);
    assert.deepEqual([check.bandChanged, check.stageChanged], [0, 0]);
    assert.deepEqual((await allLeads(t)).get(target!), lead, 'the new demo request is in the rescored score');
  });

  it('writes no lead a rescore leaves as it is, in either thread', async () => {
    const t = get();
    const workspace = await t.services.workspaces.getWorkspace(t.workspaceId);
    // Rows changed by the app's connection so far (SQLite counts them per connection).
    const changes = async () =>
      (await sql<{ n: number }>`select total_changes() as n`.execute(t.services.database.db)).rows[0]!.n;
    for (const prefetchFrom of [0, Number.POSITIVE_INFINITY]) {
      const before = await allLeads(t);
      const start = await changes();
      const again = await rescoreWith(t, prefetchFrom).run(workspace);
      assert.deepEqual(
        [again.status, again.done, again.bandChanged, again.stageChanged],
        ['done', LEADS, 0, 0],
      );
      assert.equal(
        await changes(),
        start,
        `rows written by a rescore that changes nothing (prefetchFrom ${prefetchFrom})`,
      );
      assert.deepEqual(await allLeads(t), before);
    }
  });

  it('counts a dry run in two threads exactly as in one', async () => {
    const t = get();
    const workspace = await t.services.workspaces.getWorkspace(t.workspaceId);
    // The leads were last scored with a model that gives a demo request 30 points: the
    // default model's would change bands and stages.
    const context = { ...(await t.services.scoring.context(workspace)), model: defaultModel };
    const twoThreads = await rescoreWith(t, 0).run(workspace, { context, dryRun: true });
    const oneThread = await rescoreWith(t, Number.POSITIVE_INFINITY).run(workspace, {
      context,
      dryRun: true,
    });
    const counts = (p: RescoreProgress) => [p.status, p.total, p.done, p.bandChanged, p.stageChanged];
    assert.deepEqual(counts(twoThreads), counts(oneThread));
    assert.deepEqual(counts(twoThreads).slice(0, 3), ['done', LEADS, LEADS]);
    assert.ok(twoThreads.bandChanged > 0, 'the dry run counts changes');
  });

  it('goes on without the worker thread when it fails, and says so', async () => {
    const t = get();
    const workspace = await t.services.workspaces.getWorkspace(t.workspaceId);
    await t.services.scoring.saveModel(t.workspaceId, presetNamed('b2b-saas').model, 'test again');
    const warnings: string[] = [];
    const broken = createRescoreService({
      // The worker cannot open this file: it fails at its start.
      database: { ...t.services.database, sqliteFile: '/nonexistent/leadline.db' },
      leads: t.services.leads,
      scoring: t.services.scoring,
      clock: () => t.clock.now,
      logger: { warn: (_fields: unknown, message?: string) => void warnings.push(String(message)) },
      prefetchFrom: 0,
    });
    const progress = await broken.run(workspace);
    assert.equal(progress.status, 'done', progress.error ?? '');
    assert.deepEqual([progress.done, progress.prefetched], [LEADS, 0]);
    assert.deepEqual(warnings, ['rescore worker failed; the writer goes on alone']);
    const before = await allLeads(t);
    const check = await rescoreWith(t, Number.POSITIVE_INFINITY).run(workspace);
    assert.deepEqual([check.bandChanged, check.stageChanged], [0, 0]);
    assert.deepEqual(await allLeads(t), before);
  });

  it('reads a chunk as the run of ids between its ends, leaving out a merged lead inside it', async () => {
    const t = get();
    const workspace = await t.services.workspaces.getWorkspace(t.workspaceId);
    // Three new leads get the three highest ids, in this order. The reads below are given the
    // run [first, third] directly; the whole rescore after them may or may not cut a chunk there.
    const three: string[] = [];
    for (const name of ['survivor', 'merged', 'after']) {
      const lead = await post(t, '/api/v1/leads', { email: `${name}@run.io`, jobTitle: 'VP Marketing' });
      three.push(lead.id);
      await post(t, '/api/v1/events', {
        events: [{ type: 'demo_requested', leadId: lead.id, occurredAt: t.clock.now - DAY }],
      });
    }
    assert.deepEqual([...three].sort(), three, 'ids ascend in creation order');
    const run = [three[0]!, three[2]!];
    const { db } = t.services.database;
    const demos = async () => {
      const context = await t.services.scoring.context(workspace);
      const histories = await historiesToReplay(db, t.workspaceId, run, context, { run: true });
      return [...histories].map(([id, list]) => [id, list.map((a) => a.type)]);
    };
    // A lead between the ends that is not in the run (as one created after the chunk's ids were
    // taken would be): its activities are dropped.
    assert.deepEqual(await demos(), [
      [three[0], ['demo_requested']],
      [three[2], ['demo_requested']],
    ]);

    await post(t, `/api/v1/leads/${three[0]}/merge`, { otherId: three[1] });
    await t.services.scoring.saveModel(t.workspaceId, presetNamed('b2b-saas').model, 'run');

    // What the worker reads for a chunk whose run has the merged lead inside it.
    const read = await findLeadsToRescore(db, t.workspaceId, run);
    assert.deepEqual(
      read.map((lead) => lead.id),
      run,
    );
    assert.deepEqual(
      await demos(),
      [
        [three[0], ['demo_requested', 'demo_requested']],
        [three[2], ['demo_requested']],
      ],
      "the survivor's history holds the merged lead's demo request",
    );

    const withWorker = await rescoreWith(t, 0).run(workspace);
    assert.equal(withWorker.status, 'done', withWorker.error ?? '');
    assert.deepEqual(
      [withWorker.total, withWorker.done, withWorker.prefetched],
      [LEADS + 2, LEADS + 2, LEADS + 2],
    );
    const leads = await allLeads(t);
    assert.equal(leads.has(three[1]!), false, 'the merged lead is not listed');
    // The writer alone, reading by id, finds nothing to change.
    const check = await rescoreWith(t, Number.POSITIVE_INFINITY).run(workspace);
    assert.deepEqual([check.done, check.bandChanged, check.stageChanged], [LEADS + 2, 0, 0]);
    assert.deepEqual(await allLeads(t), leads);
  });

  it('wins the open deal of a lead that a new stage rule makes a customer, as the writer alone does', async () => {
    const t = get();
    const shoppers = [...(await allLeads(t)).keys()].sort().slice(0, 2);
    for (const id of shoppers) {
      await post(t, `/api/v1/leads/${id}/opportunity`, { amount: 250, currency: 'EUR' });
      await post(t, '/api/v1/events', {
        events: [{ type: 'custom', leadId: id, properties: { name: 'order_placed' } }],
      });
    }
    // The rule comes after the orders: only the bulk rescore can apply it.
    const order = { type: 'custom', where: { name: { in: ['order_placed'] } } };
    const settings = t.services.lifecycle.settings(await t.services.workspaces.getWorkspace(t.workspaceId));
    const workspace = await t.services.lifecycle.saveSettings(t.workspaceId, {
      ...settings,
      stageRules: { ...settings.stageRules, moves: [{ id: 'ordered', to: 'customer', activities: [order] }] },
    });
    const withWorker = await rescoreWith(t, 0).run(workspace);
    assert.equal(withWorker.status, 'done', withWorker.error ?? '');
    assert.equal(withWorker.prefetched, withWorker.done, 'the worker computed every chunk');
    const leads = await allLeads(t);
    for (const id of shoppers) {
      const lead = leads.get(id) as { stage: string; opportunity: { status: string; value: number } };
      assert.deepEqual(
        [lead.stage, lead.opportunity.status, lead.opportunity.value],
        ['customer', 'won', 250],
      );
    }
    const check = await rescoreWith(t, Number.POSITIVE_INFINITY).run(workspace);
    assert.deepEqual([check.bandChanged, check.stageChanged], [0, 0]);
    assert.deepEqual(await allLeads(t), leads);
  });
});
