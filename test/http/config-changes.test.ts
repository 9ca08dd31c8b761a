import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Services } from '../../src/app.ts';
import type { Workspace } from '../../src/workspaces/model.ts';
import { describeOnPostgres, startTwoProcesses } from '../support/engines.ts';

/**
 * Two sets of services on one PostgreSQL database stand for two API processes. What one caches
 * (routing rules, webhook subscriptions, alert rules, SLA policies, property definitions,
 * tracking settings, workspace settings, key lookups, public forms) and the other changes is
 * what the first uses from its next write on: a lead captured by the old routing rules keeps
 * the old owner for good, a lead.created not queued is never delivered. The clock is frozen, so
 * the caches' time bound never runs out here: only the word of the change (NOTIFY) counts.
 */
describeOnPostgres('configuration changed by another process', () => {
  let first: Services;
  let second: Services;
  let close: () => Promise<void>;
  let workspace: Workspace;
  let emails = 0;

  before(async () => {
    ({ first, second, close } = await startTwoProcesses('postgres', { clock: () => Date.UTC(2026, 0, 1) }));
    workspace = (await first.workspaces.bootstrap())!.workspace;
    // Webhook targets on this machine (127.0.0.1) are allowed.
    workspace = await first.workspaces.updateSettings(workspace.id, { allowPrivateWebhookTargets: true });
  });

  after(async () => {
    await close?.();
  });

  /**
   * Asks `seen` until it holds: the NOTIFY reaches the other process's listening connection a
   * moment after the commit (milliseconds). Up to 5 s of real time, however busy the machine;
   * without the word of the change it never holds, as the frozen clock keeps every cache entry.
   */
  async function eventually(seen: () => Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 500; i++) {
      if (await seen()) return;
      await sleep(10);
    }
    assert.fail(`the first process never saw it: ${what}`);
  }

  const capture = async (services: Services) =>
    (
      await services.database.writes.run((trx) =>
        services.leads.captureIn(trx, workspace, { email: `lead-${++emails}@config.example.org` }, 'api'),
      )
    ).lead;

  it('routes the next lead by the rules another process just saved', async () => {
    const rep = await second.users.create(workspace.id, {
      name: 'Rita Rep',
      email: 'rita@config.example.org',
    });
    assert.equal((await capture(first)).ownerId, null, 'no rules yet (now cached)');
    await second.routing.putRules(workspace.id, [
      { name: 'All to Rita', strategy: { type: 'owner', userId: rep.id } },
    ]);
    await eventually(async () => (await capture(first)).ownerId === rep.id, 'the new routing rules');
  });

  it('queues lead.created for a webhook subscription another process just created', async () => {
    await capture(first); // Nobody subscribed (now cached).
    const { subscription } = await second.webhooks.create(workspace.id, {
      url: 'http://127.0.0.1:9/hooks',
      events: ['lead.created'],
    });
    await eventually(async () => {
      const lead = await capture(first);
      const jobs = await first.jobs.list(workspace.id, { kind: 'webhook.deliver', limit: 100 });
      return jobs.some((job) => JSON.stringify(job.payload).includes(subscription.id)) && lead.id !== '';
    }, 'the new webhook subscription');
  });

  it('starts an SLA timer by the policies another process just saved', async () => {
    const demo = async () => {
      const lead = await capture(first);
      await first.database.writes.run((trx) =>
        first.events.ingestIn(trx, workspace, [{ type: 'demo_requested', leadId: lead.id }]),
      );
      return (await first.sla.ofLead(workspace.id, lead.id)).timers.length > 0;
    };
    assert.equal(await demo(), false, 'no policies yet (now cached)');
    await second.sla.replacePolicies(workspace.id, [
      { name: 'Demo within the hour', when: [{ activity: 'demo_requested' }], within: { hours: 1 } },
    ]);
    await eventually(demo, 'the new SLA policy');
  });

  it('follows the alert rules another process just created', async () => {
    await first.alerts.listRules(workspace.id); // The default rules, written.
    assert.equal(await first.alerts.interested(first.database.db, workspace.id), false, 'now cached');
    await second.alerts.createRule(workspace.id, {
      name: 'Score 60+',
      trigger: { type: 'score_crossed', threshold: 60 },
      channels: [{ type: 'email' }],
      fallbackEmail: 'inbox@config.example.org',
    });
    await eventually(() => first.alerts.interested(first.database.db, workspace.id), 'the new alert rule');
  });

  it('checks properties against the definitions another process just saved', async () => {
    const plan = async () =>
      (await first.properties.definitionsIn(first.database.db, workspace.id)).has('plan');
    assert.equal(await plan(), false, 'not defined yet (now cached)');
    await second.properties.create(workspace.id, { name: 'plan', type: 'enum', options: ['free', 'pro'] });
    await eventually(plan, 'the new property definition');
  });

  it('reads the workspace settings another process just changed', async () => {
    const country = async () => (await first.workspaces.getWorkspace(workspace.id)).settings.defaultCountry;
    assert.equal(await country(), undefined, 'now cached');
    await second.workspaces.updateSettings(workspace.id, { defaultCountry: 'FR' });
    await eventually(async () => (await country()) === 'FR', 'the new default country');
  });

  it('reads the tracking settings another process just changed', async () => {
    const origins = async () => (await first.tracking.settings(workspace.id)).allowedOrigins;
    assert.deepEqual(await origins(), [], 'now cached');
    await second.tracking.replaceSettings(workspace.id, {
      urlRules: [],
      allowedOrigins: ['https://www.config.example.org'],
    });
    await eventually(async () => (await origins()).length === 1, 'the new allowed origin');
  });

  it('refuses a key another process just revoked', async () => {
    const { key, apiKey } = await first.workspaces.createKey(workspace.id, 'temporary', 'read');
    assert.ok(await first.workspaces.authenticate(key), 'valid (now cached)');
    await second.workspaces.revokeKey(workspace.id, apiKey.id);
    await eventually(async () => (await first.workspaces.authenticate(key)) === undefined, 'the revocation');
  });

  it('shows a form closed by another process as closed', async () => {
    const form = await second.forms.create(workspace.id, {
      name: 'Guide download',
      slug: `config-changes-${process.pid}`,
      fields: [{ name: 'email', type: 'email', label: 'Work email', maps: 'email' }],
    });
    assert.equal((await first.forms.getPublic(form.slug)).form.status, 'active', 'now cached');
    await second.forms.update(workspace.id, form.id, { status: 'closed' });
    await eventually(
      async () => (await first.forms.getPublic(form.slug)).form.status === 'closed',
      'the closing',
    );
  });
});
