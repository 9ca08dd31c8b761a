import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Services } from '../../src/app.ts';
import { describeEachEngine, startTwoProcesses } from '../support/engines.ts';

/**
 * Two sets of services on one database stand for two API processes: each has its own
 * connection(s) and its own group commit. Both capture the same new people at the same time
 * (dedupe must still give one lead per email, and no capture may fail), and both score events
 * for the same lead (every event must count).
 */
describeEachEngine('two processes writing the same leads at once', (engine) => {
  let first: Services;
  let second: Services;
  let close: () => Promise<void>;

  before(async () => {
    if (engine === 'sqlite') return;
    ({ first, second, close } = await startTwoProcesses(engine));
    await first.workspaces.bootstrap();
  });

  after(async () => {
    if (engine === 'sqlite') return;
    await close?.();
  });

  // Two better-sqlite3 connections in one process would block each other's event loop in
  // busy_timeout; separate SQLite processes are serialised by BEGIN IMMEDIATE instead (see
  // group-commit.test.ts). The race this guards against is PostgreSQL's.
  const skip = engine === 'sqlite' ? 'two SQLite connections cannot race within one process' : false;

  it('creates one lead per email and acknowledges every capture', { skip }, async () => {
    const workspace = await first.workspaces.resolveWorkspace('default');
    const capture = (services: Services, email: string, name: string) =>
      services.database.writes.run((trx) =>
        services.leads.captureIn(trx, workspace, { email, firstName: name }, 'api'),
      );
    const emails = Array.from({ length: 40 }, (_, i) => `race-${i}@concurrent.example.org`);
    const outcomes = await Promise.allSettled(
      emails.flatMap((email) => [capture(first, email, 'First'), capture(second, email, 'Second')]),
    );
    const failures = outcomes.filter((o) => o.status === 'rejected');
    assert.deepEqual(failures, [], 'every capture is acknowledged');
    for (const email of emails) {
      const results = outcomes
        .slice(emails.indexOf(email) * 2, emails.indexOf(email) * 2 + 2)
        .map((o) => (o as PromiseFulfilledResult<{ lead: { id: string }; created: boolean }>).value);
      assert.equal(results[0]!.lead.id, results[1]!.lead.id, `one lead for ${email}`);
      assert.equal(results.filter((r) => r.created).length, 1, `exactly one capture created ${email}`);
    }
    const listed = await first.leads.list(workspace.id, {
      sort: '-createdAt',
      limit: 500,
      q: 'concurrent.example',
    });
    assert.equal(listed.length, emails.length);
  });

  // Each process reads the lead, adds its event's points and writes the lead back: unless the
  // read locks the lead, the later write drops what the earlier one added.
  it('loses no points when both score events for the same lead at once', { skip }, async () => {
    const workspace = await first.workspaces.resolveWorkspace('default');
    const newLead = async (email: string) =>
      (await first.database.writes.run((trx) => first.leads.captureIn(trx, workspace, { email }, 'api')))
        .lead;
    const [raced, alone] = [
      await newLead('raced@concurrent.example.org'),
      await newLead('alone@concurrent.example.org'),
    ];
    const types = ['content_downloaded', 'webinar_attended', 'email_opened', 'page_view'];
    const send = (services: Services, type: string, leadId: string) =>
      services.database.writes.run((trx) =>
        services.events.ingestIn(trx, workspace, [
          {
            type,
            leadId,
            ...(type === 'page_view' ? { properties: { url: 'https://x.example/pricing' } } : {}),
          },
        ]),
      );
    // The captures of the same person in between rewrite the lead's row too.
    const recapture = (services: Services, round: number) =>
      services.database.writes.run((trx) =>
        services.leads.captureIn(trx, workspace, { email: raced.email!, firstName: `Round${round}` }, 'api'),
      );
    const sent: Promise<unknown>[] = [];
    for (let round = 0; round < 5; round++) {
      for (const [i, type] of types.entries()) {
        sent.push(send(i % 2 === 0 ? first : second, type, raced.id));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      sent.push(recapture(round % 2 === 0 ? second : first, round));
    }
    await Promise.all(sent);
    for (let round = 0; round < 5; round++) for (const type of types) await send(first, type, alone.id);

    // Times and counts per rule; points to the unit (the two leads' events are moments apart,
    // so their log-domain sums differ in the last digits).
    const rules = async (id: string) =>
      (await first.scoring.explain(await first.leads.get(workspace.id, id))).rules.map((r) => [
        r.id,
        r.count,
        Math.round(r.pointsThen),
      ]);
    assert.deepEqual(await rules(raced.id), await rules(alone.id));
  });

  /** Runs `writes` one after another a millisecond apart without waiting for each, and `other` midway. */
  async function race(writes: Array<() => Promise<unknown>>, other: () => Promise<unknown>): Promise<void> {
    const sent: Promise<unknown>[] = [];
    for (const [i, write] of writes.entries()) {
      if (i === Math.floor(writes.length / 2)) sent.push(other());
      sent.push(write());
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(sent);
  }

  const typesOn = async (services: Services, workspaceId: string, leadId: string) =>
    (await services.leads.timeline(workspaceId, leadId, 500)).map((e) => e.type);

  // Archive and merge write whole rows back: unless they lock what they read, a capture the
  // other process committed in between is overwritten with the stale copy.
  it('an archive in one process loses nothing the other process captured meanwhile', { skip }, async () => {
    const workspace = await first.workspaces.resolveWorkspace('default');
    for (let round = 0; round < 3; round++) {
      const email = `archived-${round}@concurrent.example.org`;
      const lead = (
        await first.database.writes.run((trx) => first.leads.captureIn(trx, workspace, { email }, 'api'))
      ).lead;
      const keys = Array.from({ length: 10 }, (_, i) => `p${i}`);
      await race(
        keys.map(
          (key) => () =>
            first.database.writes.run((trx) =>
              first.leads.captureIn(trx, workspace, { email, properties: { [key]: key } }, 'api'),
            ),
        ),
        () => second.leads.archive(workspace.id, lead.id),
      );
      const stored = await first.leads.get(workspace.id, lead.id);
      assert.deepEqual(Object.keys(stored.properties).sort(), keys, `round ${round}`);
    }
  });

  it('events sent to a lead while another process merges it all land on the survivor', { skip }, async () => {
    const workspace = await first.workspaces.resolveWorkspace('default');
    for (let round = 0; round < 3; round++) {
      const capture = async (email: string) =>
        (await first.database.writes.run((trx) => first.leads.captureIn(trx, workspace, { email }, 'api')))
          .lead;
      const loser = await capture(`merged-away-${round}@concurrent.example.org`);
      const survivor = await capture(`survivor-${round}@concurrent.example.org`);
      const events = Array.from(
        { length: 20 },
        (_, i) => () =>
          first.database.writes.run((trx) =>
            first.events.ingestIn(trx, workspace, [
              { id: `merge-race-${round}-${i}`, type: 'content_downloaded', leadId: loser.id },
            ]),
          ),
      );
      await race(events, () => second.leads.merge(workspace, survivor.id, loser.id));
      const types = await typesOn(first, workspace.id, survivor.id);
      assert.equal(types.filter((type) => type === 'content_downloaded').length, 20, `round ${round}`);
      assert.deepEqual(
        await typesOn(first, workspace.id, loser.id),
        [],
        `round ${round}: nothing left behind`,
      );
    }
  });

  it('events of a visitor sent while another process identifies it all land on the lead', {
    skip,
  }, async () => {
    const workspace = await first.workspaces.resolveWorkspace('default');
    for (let round = 0; round < 3; round++) {
      const anonymousId = `visitor-${round}-concurrent`;
      const email = `identified-${round}@concurrent.example.org`;
      const events = Array.from(
        { length: 20 },
        (_, i) => () =>
          first.database.writes.run((trx) =>
            first.events.ingestIn(trx, workspace, [
              { id: `identify-race-${round}-${i}`, type: 'content_downloaded', anonymousId },
            ]),
          ),
      );
      let leadId = '';
      await race(events, async () => {
        leadId = (await second.events.identify(workspace, { anonymousId, email })).leadId;
      });
      const types = await typesOn(first, workspace.id, leadId);
      assert.equal(types.filter((type) => type === 'content_downloaded').length, 20, `round ${round}`);
    }
  });

  it('one grant between two processes granting the same consent at once', { skip }, async () => {
    const workspace = await first.workspaces.resolveWorkspace('default');
    for (let round = 0; round < 3; round++) {
      const lead = (
        await first.database.writes.run((trx) =>
          first.leads.captureIn(trx, workspace, { email: `consent-${round}@concurrent.example.org` }, 'api'),
        )
      ).lead;
      const grant = (services: Services) => () =>
        services.database.writes.run((trx) =>
          services.consent.decideIn(trx, workspace, lead.id, {
            purpose: 'newsletter',
            status: 'granted',
            text: 'Send me the newsletter',
            version: '1',
          }),
        );
      await race(
        Array.from({ length: 10 }, (_, i) => grant(i % 2 === 0 ? first : second)),
        grant(second),
      );
      const { history } = await first.consent.list(workspace.id, lead.id);
      assert.equal(history.length, 1, `round ${round}: one record`);
    }
  });
});

/**
 * A model saved by another process (`leadline scoring apply` beside the server) is the one the
 * next write of this process scores by: a lead scored by the replaced model would keep that
 * score, since the rescore that follows the change may have passed it already. The clock is
 * frozen, so the cache's time bound never runs out here: only the word of the change counts.
 */
describeEachEngine('a scoring model saved by another process', (engine) => {
  let first: Services;
  let second: Services;
  let close: () => Promise<void>;

  before(async () => {
    ({ first, second, close } = await startTwoProcesses(engine, { clock: () => Date.UTC(2026, 0, 1) }));
    await first.workspaces.bootstrap();
  });

  after(async () => {
    await close?.();
  });

  it("is the model this process's next write scores by", async () => {
    const workspace = await first.workspaces.resolveWorkspace('default');
    const pricingPoints = async (email: string) => {
      const { lead } = await first.database.writes.run((trx) =>
        first.leads.captureIn(trx, workspace, { email }, 'api'),
      );
      await first.database.writes.run((trx) =>
        first.events.ingestIn(trx, workspace, [
          { type: 'page_view', leadId: lead.id, properties: { url: 'https://x.example/pricing' } },
        ]),
      );
      const explained = await first.scoring.explain(await first.leads.get(workspace.id, lead.id));
      return explained.rules.find((r) => r.id === 'pricing-visit')?.pointsThen;
    };
    assert.equal(await pricingPoints('before@example.org'), 25, 'the default model, now cached');

    const { model } = await second.scoring.activeModel(workspace.id);
    const cheaper = {
      ...model,
      behaviour: model.behaviour.map((rule) => (rule.id === 'pricing-visit' ? { ...rule, points: 3 } : rule)),
    };
    const saved = await second.scoring.saveModel(workspace.id, cheaper, 'cli');
    if (engine === 'postgres') {
      // The NOTIFY is delivered to the other process's listening connection a moment after commit.
      for (let i = 0; i < 500; i++) {
        if ((await first.scoring.activeModel(workspace.id)).version === saved.version) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    assert.equal((await first.scoring.activeModel(workspace.id)).version, saved.version);
    assert.equal(await pricingPoints('after@example.org'), 3, 'the saved model, at once');
  });
});
