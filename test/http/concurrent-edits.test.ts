import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import type { Services } from '../../src/app.ts';
import { describeOnPostgres, pgUrl, startTwoProcesses } from '../support/engines.ts';

/**
 * Two sets of services on one PostgreSQL database stand for two API processes, each changing
 * another field of the same record at once. Every change reads the record and writes it back
 * whole: unless the read locks the row, the later write undoes the earlier one, and both
 * requests were answered 200. (SQLite's writer lock serialises such writes: the race is
 * PostgreSQL's, as in concurrent-processes.test.ts.)
 */
/**
 * How many of Leadline's connections wait for `holderPid`, directly or behind another waiter
 * (the second session to want a row lock queues behind the first, not behind the holder).
 */
async function waitingBehind(client: pg.Client, holderPid: number): Promise<number> {
  // Read afresh: inside a transaction PostgreSQL keeps its first look at pg_stat_activity.
  await client.query('select pg_stat_clear_snapshot()');
  const { rows } = await client.query<{ n: string }>(
    `with recursive behind(pid) as (
       select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid))
       union
       select a.pid from pg_stat_activity a join behind b on b.pid = any(pg_blocking_pids(a.pid))
     )
     select count(*) as n from behind join pg_stat_activity using (pid) where application_name = 'leadline'`,
    [holderPid],
  );
  return Number(rows[0]!.n);
}

describeOnPostgres('two processes changing the same record at once', () => {
  let first: Services;
  let second: Services;
  let close: () => Promise<void>;
  let workspaceId: string;

  before(async () => {
    ({ first, second, close } = await startTwoProcesses('postgres'));
    workspaceId = (await first.workspaces.bootstrap())!.workspace.id;
  });

  after(async () => {
    await close?.();
  });

  /**
   * Runs `changes` at once while another session holds the row of `table` locked, and lets go
   * only when both processes wait on that lock. A plain read does not wait for a row lock, a
   * locking read (FOR UPDATE) and a write do: so without locking reads, each process has read
   * the row as it was before either writes it back. Deterministic, however loaded the machine.
   * (Changes made by one process share its group commit: one waits, the next queues behind it.)
   */
  async function whileRowHeld(
    table: string,
    where: { workspaceId?: string; id: string } | { workspaceId: string; name: string },
    changes: Array<() => Promise<unknown>>,
    /** Whether every change must be acknowledged (else the outcomes are the caller's to judge). */
    acknowledged = true,
  ): Promise<PromiseSettledResult<unknown>[]> {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(
      first.database.db,
    );
    const holder = new pg.Client({ connectionString: pgUrl });
    await holder.connect();
    try {
      await holder.query('begin');
      const [key, value] = 'name' in where ? ['name', where.name] : ['id', where.id];
      const filter = where.workspaceId === undefined ? `${key} = $1` : `${key} = $1 and workspace_id = $2`;
      const params = where.workspaceId === undefined ? [value] : [value, where.workspaceId];
      const locked = await holder.query(
        `select 1 from "${rows[0]!.schema}".${table} where ${filter} for update`,
        params,
      );
      assert.equal(locked.rowCount, 1, `the ${table} row exists`);
      const holderPid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      const settled = Promise.allSettled(changes.map((change) => change()));
      // Up to a minute, however busy the machine.
      let waiting = 0;
      for (let i = 0; i < 3000 && waiting < 2; i++) {
        waiting = await waitingBehind(holder, holderPid);
        if (waiting < 2) await sleep(20);
      }
      assert.equal(waiting, 2, 'both processes wait on the held row');
      await holder.query('commit');
      const outcomes = await settled;
      if (acknowledged)
        assert.deepEqual(
          outcomes.filter((outcome) => outcome.status === 'rejected'),
          [],
          'every change is acknowledged',
        );
      return outcomes;
    } finally {
      await holder.end();
    }
  }

  it('keeps every workspace setting changed at once (lifecycle, default country, score thresholds)', async () => {
    // The defaults, stored: none were before.
    const lifecycle = first.lifecycle.settings(await first.workspaces.getWorkspace(workspaceId));
    await whileRowHeld('workspaces', { id: workspaceId }, [
      () => first.workspaces.updateSettings(workspaceId, { lifecycle }),
      () => second.workspaces.updateSettings(workspaceId, { defaultCountry: 'FR' }),
      () => second.workspaces.updateSettings(workspaceId, { scoreThresholds: [40, 80] }),
    ]);
    const stored = await second.workspaces.resolveWorkspace(workspaceId);
    assert.deepEqual(stored.settings.lifecycle, lifecycle);
    assert.equal(stored.settings.defaultCountry, 'FR');
    assert.deepEqual(stored.settings.scoreThresholds, [40, 80]);
  });

  it('a user deactivated while another process changes their timezone stays deactivated', async () => {
    const user = await first.users.create(workspaceId, { name: 'Rita Rep', email: 'rita@edits.example.org' });
    await whileRowHeld('users', { workspaceId, id: user.id }, [
      () => first.users.deactivate(workspaceId, user.id),
      () => second.users.update(workspaceId, user.id, { timezone: 'Europe/Paris' }),
    ]);
    const stored = await first.users.get(workspaceId, user.id);
    assert.equal(stored.active, false);
    assert.equal(stored.timezone, 'Europe/Paris');
  });

  it('keeps every field of a task edited in two processes at once', async () => {
    const owner = await first.users.create(workspaceId, { name: 'Tom Task', email: 'tom@edits.example.org' });
    const task = await first.tasks.create(workspaceId, {
      ownerId: owner.id,
      type: 'call',
      title: 'Call back',
      dueAt: Date.now() + 86_400_000,
    });
    await whileRowHeld('tasks', { workspaceId, id: task.id }, [
      () => first.tasks.change(workspaceId, task.id, { kind: 'edit', title: 'Call back today' }),
      () => second.tasks.change(workspaceId, task.id, { kind: 'edit', notes: 'Asked for pricing' }),
      () => second.tasks.change(workspaceId, task.id, { kind: 'edit', type: 'email' }),
    ]);
    const stored = await first.tasks.get(workspaceId, task.id);
    assert.deepEqual(
      { title: stored.title, notes: stored.notes, type: stored.type },
      { title: 'Call back today', notes: 'Asked for pricing', type: 'email' },
    );

    const other = await first.tasks.create(workspaceId, {
      ownerId: owner.id,
      type: 'call',
      dueAt: Date.now(),
    });
    // Which of the two gets the row first is up to PostgreSQL: the notes land on the task, or,
    // when the task was completed first, the edit of a done task is refused; never lost unsaid.
    const [edited] = await whileRowHeld(
      'tasks',
      { workspaceId, id: other.id },
      [
        () => first.tasks.change(workspaceId, other.id, { kind: 'edit', notes: 'Left a voicemail' }),
        () => second.tasks.change(workspaceId, other.id, { kind: 'complete', outcome: 'reached' }),
      ],
      false,
    );
    const done = await first.tasks.get(workspaceId, other.id);
    assert.deepEqual({ status: done.status, outcome: done.outcome }, { status: 'done', outcome: 'reached' });
    if (edited!.status === 'fulfilled') assert.equal(done.notes, 'Left a voicemail');
    else assert.equal((edited!.reason as { code?: string }).code, 'CONFLICT');
  });

  it('keeps every field of a webhook subscription changed in two processes at once', async () => {
    await first.workspaces.updateSettings(workspaceId, { allowPrivateWebhookTargets: true });
    const { subscription } = await first.webhooks.create(workspaceId, {
      url: 'http://127.0.0.1:9/hooks',
      events: ['lead.created'],
    });
    await whileRowHeld('webhook_subscriptions', { workspaceId, id: subscription.id }, [
      () => first.webhooks.update(workspaceId, subscription.id, { description: 'CRM sync' }),
      () => second.webhooks.update(workspaceId, subscription.id, { events: ['lead.assigned'] }),
      () => second.webhooks.update(workspaceId, subscription.id, { url: 'http://127.0.0.1:9/other' }),
    ]);
    const stored = await first.webhooks.get(workspaceId, subscription.id);
    assert.deepEqual(
      { description: stored.description, events: stored.events, url: stored.url },
      { description: 'CRM sync', events: ['lead.assigned'], url: 'http://127.0.0.1:9/other' },
    );
  });

  it('keeps every field of an alert rule changed in two processes at once', async () => {
    const rule = await first.alerts.createRule(workspaceId, {
      name: 'Score 60+',
      trigger: { type: 'score_crossed', threshold: 60 },
      channels: [{ type: 'email' }],
    });
    await whileRowHeld('alert_rules', { workspaceId, id: rule.id }, [
      () => first.alerts.updateRule(workspaceId, rule.id, { name: 'Score 60 plus' }),
      () => second.alerts.updateRule(workspaceId, rule.id, { enabled: false }),
    ]);
    const stored = await first.alerts.getRule(workspaceId, rule.id);
    assert.deepEqual(
      { name: stored.name, enabled: stored.enabled },
      { name: 'Score 60 plus', enabled: false },
    );
  });

  it('keeps every field of a landing page changed in two processes at once', async () => {
    const page = await first.landing.create(workspaceId, {
      slug: `edits-${process.pid}`,
      name: 'Spring offer',
      variants: [{ key: 'a', headline: 'Save 20% this spring', body: 'Our **best** offer.' }],
    });
    await whileRowHeld('landing_pages', { workspaceId, id: page.id }, [
      () => first.landing.update(workspaceId, page.id, { name: 'Spring sale' }),
      () => second.landing.update(workspaceId, page.id, { status: 'published' }),
    ]);
    const stored = await first.landing.get(workspaceId, page.id);
    assert.deepEqual(
      { name: stored.name, status: stored.status },
      { name: 'Spring sale', status: 'published' },
    );
  });

  it('keeps every field of a form changed in two processes at once', async () => {
    const form = await first.forms.create(workspaceId, {
      name: 'Guide download',
      slug: `edits-form-${process.pid}`,
      fields: [{ name: 'email', type: 'email', label: 'Work email', maps: 'email' }],
    });
    await whileRowHeld('forms', { workspaceId, id: form.id }, [
      () => first.forms.update(workspaceId, form.id, { name: 'Pricing guide' }),
      () => second.forms.update(workspaceId, form.id, { submitLabel: 'Send me the guide' }),
    ]);
    const stored = await first.forms.get(workspaceId, form.id);
    assert.deepEqual(
      { name: stored.name, submitLabel: stored.submitLabel },
      { name: 'Pricing guide', submitLabel: 'Send me the guide' },
    );
  });

  it('keeps both the label and the options of a property changed in two processes at once', async () => {
    await first.properties.create(workspaceId, { name: 'plan', type: 'enum', options: ['free', 'pro'] });
    await whileRowHeld('property_definitions', { workspaceId, name: 'plan' }, [
      () => first.properties.update(workspaceId, 'plan', { label: 'Plan' }),
      () => second.properties.update(workspaceId, 'plan', { options: ['free', 'pro', 'team'] }),
    ]);
    const stored = await first.properties.get(workspaceId, 'plan');
    assert.deepEqual(
      { label: stored.label, options: stored.options },
      { label: 'Plan', options: ['free', 'pro', 'team'] },
    );
  });

  it('keeps both the name and the members of a team changed in two processes at once', async () => {
    const member = await first.users.create(workspaceId, {
      name: 'Mia Member',
      email: 'mia@edits.example.org',
    });
    const team = await first.teams.create(workspaceId, { name: 'Inside sales' });
    await whileRowHeld('teams', { workspaceId, id: team.id }, [
      () => first.teams.update(workspaceId, team.id, { name: 'Inbound sales' }),
      () => second.teams.update(workspaceId, team.id, { members: [{ userId: member.id }] }),
    ]);
    const stored = await first.teams.get(workspaceId, team.id);
    assert.deepEqual(
      { name: stored.name, members: stored.members.map((m) => m.userId) },
      { name: 'Inbound sales', members: [member.id] },
    );
  });

  it('keeps every field of an inbound source changed in two processes at once', async () => {
    const { source } = await first.inbound.create(workspaceId, {
      kind: 'generic',
      name: 'Zapier',
      fieldMapping: { 'contact.email': 'email' },
      settings: { itemsPath: '$.leads' },
    });
    await whileRowHeld('inbound_sources', { workspaceId, id: source.id }, [
      () => first.inbound.update(workspaceId, source.id, { name: 'Zapier (webinars)' }),
      () => second.inbound.update(workspaceId, source.id, { fieldMapping: { 'contact.mail': 'email' } }),
    ]);
    const { source: stored } = await first.inbound.get(workspaceId, source.id);
    assert.deepEqual(
      { name: stored.name, fieldMapping: stored.fieldMapping },
      { name: 'Zapier (webinars)', fieldMapping: { 'contact.mail': 'email' } },
    );
  });

  it('two processes replacing the SLA policies at once leave one list, not both', async () => {
    const policy = (name: string) => ({ name, when: [{ temperature: 'hot' }], within: { minutes: 5 } });
    const [held] = await first.sla.replacePolicies(workspaceId, [policy('Before')]);
    await whileRowHeld('sla_policies', { workspaceId, id: held!.id }, [
      () => first.sla.replacePolicies(workspaceId, [policy('First')]),
      () => second.sla.replacePolicies(workspaceId, [policy('Second')]),
    ]);
    const names = (await first.sla.policies(workspaceId)).map((p) => p.name);
    assert.equal(names.length, 1, `one list: ${names.join(', ')}`);
  });

  it('a failed external lead retried in two processes at once is captured once; the other retry is refused', async () => {
    const { source, secrets } = await first.inbound.create(workspaceId, {
      kind: 'generic',
      name: 'Zapier',
      source: 'zapier',
      fieldMapping: { 'contact.email': 'email' },
      settings: { itemsPath: '$.leads', idPath: 'id' },
    });
    const body = { leads: [{ id: 'twice-1', contact: { mobile: '+44 20 7946 0958' } }] };
    const received = await first.inbound.receive(source.id, Buffer.from(JSON.stringify(body)), {
      authorization: `Bearer ${secrets.token}`,
    });
    assert.equal(received.failed, 1, 'no email: kept to be retried');
    const [entry] = await first.inbound.leads(workspaceId, source.id, { limit: 10 });
    await first.inbound.update(workspaceId, source.id, {
      fieldMapping: { 'contact.email': 'email', 'contact.mobile': 'phone' },
    });
    const outcomes = await whileRowHeld(
      'inbound_leads',
      { workspaceId, id: entry!.id },
      [
        () => first.inbound.retry(workspaceId, source.id, entry!.id),
        () => second.inbound.retry(workspaceId, source.id, entry!.id),
      ],
      false,
    );
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    assert.equal((refused.reason as { code?: string }).code, 'CONFLICT');
    const captured = (
      outcomes.find((o) => o.status === 'fulfilled') as PromiseFulfilledResult<{ leadId: string }>
    ).value;
    const timeline = await first.leads.timeline(workspaceId, captured.leadId, 500);
    assert.equal(timeline.filter((e) => e.type === 'form_submitted').length, 1, 'captured once');
  });
});
