import type { Kysely } from 'kysely';
import { ConfigCache } from '../db/config-cache.ts';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { DB } from '../db/schema.ts';
import { DomainError, validationError } from '../errors.ts';
import type { JobService } from '../jobs/service.ts';
import type { Lead, TimelineEntry } from '../leads/model.ts';
import type { LeadChange } from '../leads/reactions.ts';
import type { LeadService, WorkspaceContext } from '../leads/service.ts';
import type { Signals } from '../signals/bus.ts';
import type { TaskService } from '../tasks/service.ts';
import { addWorkingTime, type User } from '../users/model.ts';
import {
  dueAt,
  firedTrigger,
  isTouch,
  MAX_REASSIGNMENTS,
  type PolicyInput,
  parsePolicies,
  type SlaPolicy,
  triggerLabel,
} from './model.ts';
import * as store from './store.ts';

/** The parts of other domains SLAs use, named narrowly so the dependency is plain. */
export interface SlaDeps {
  database: Database;
  jobs: JobService;
  signals: Signals;
  leads: LeadService;
  tasks: TaskService;
  users: { findIn(db: Kysely<DB>, workspaceId: string, ids: readonly string[]): Promise<User[]> };
  routing: {
    reassignNextIn(
      trx: Kysely<DB>,
      workspace: WorkspaceContext,
      leadId: string,
      reason: string,
    ): Promise<string | null>;
  };
  mail: {
    sendIn(
      trx: Kysely<DB>,
      workspaceId: string,
      message: { to: string[]; subject: string; text: string; key?: string },
    ): Promise<void>;
  };
  workspaces: { getWorkspace(id: string): Promise<WorkspaceContext> };
  clock: () => number;
}

export type SlaService = ReturnType<typeof createSlaService>;

/**
 * How long a workspace's policies are cached when no word of a change comes: a change made by
 * any process is announced as it commits (config-cache.ts), and this is the bound should a
 * process's listening connection be down, or on SQLite. (5 s)
 */
const POLICY_CACHE_MS = 5_000;

interface TimerPayload {
  timerId: string;
}

const isTimerPayload = (p: unknown) =>
  typeof p === 'object' && p !== null && typeof (p as TimerPayload).timerId === 'string'
    ? undefined
    : 'timerId is missing';

const leadLabel = (lead: Lead) =>
  [lead.firstName, lead.lastName].filter(Boolean).join(' ') || lead.email || lead.phone || lead.id;

export function createSlaService(deps: SlaDeps) {
  const { database, jobs, signals, leads, tasks, users, routing, mail, clock } = deps;
  const cache = new ConfigCache<SlaPolicy[]>({ kind: 'sla', database, ttlMs: POLICY_CACHE_MS, clock });

  function policiesIn(db: Kysely<DB>, workspaceId: string): Promise<SlaPolicy[]> {
    return cache.read(workspaceId, () => store.listPolicies(db, workspaceId));
  }

  /** Starts a timer of `policy` for `lead` at `now`: due and warning jobs, a timeline entry, maybe a task. */
  async function startTimer(
    trx: Kysely<DB>,
    workspaceId: string,
    policy: SlaPolicy,
    lead: Lead,
    owner: User | undefined,
    trigger: string,
    now: number,
  ): Promise<void> {
    // An owner with no working time left (absent for good) gets the wall-clock due time.
    const business = owner ? addWorkingTime(owner, now, policy.within.ms) : Number.NaN;
    const due = dueAt(policy, now, Number.isFinite(business) ? () => business : undefined);
    const warnAt = policy.warnBeforeMs === null ? null : Math.max(now, due - policy.warnBeforeMs);
    const timer: store.SlaTimer = {
      id: newId(),
      leadId: lead.id,
      policyId: policy.id,
      policyName: policy.name,
      ownerId: owner?.id ?? null,
      trigger,
      startedAt: now,
      dueAt: due,
      warnAt,
      status: 'pending',
      metAt: null,
      metBy: null,
      breachedAt: null,
      escalation: null,
    };
    await store.insertTimer(trx, workspaceId, timer, now);
    const payload: TimerPayload = { timerId: timer.id };
    await jobs.enqueueIn(trx, workspaceId, [
      { kind: 'sla.breach', payload, key: `sla-breach:${timer.id}`, runAt: due },
      ...(warnAt === null ? [] : [{ kind: 'sla.warn', payload, key: `sla-warn:${timer.id}`, runAt: warnAt }]),
    ]);
    await leads.appendTimelineIn(trx, workspaceId, [
      {
        id: newId(),
        leadId: lead.id,
        type: 'sla_started',
        occurredAt: now,
        properties: {
          timerId: timer.id,
          policyId: policy.id,
          policy: policy.name,
          trigger,
          ownerId: timer.ownerId,
          dueAt: due,
        },
      },
    ]);
    // A deactivated owner keeps the lead until someone reassigns it, but gets no new task.
    if (policy.task && owner?.active)
      await tasks.createIn(
        trx,
        workspaceId,
        { leadId: lead.id, ownerId: owner.id, type: policy.task.type, dueAt: due },
        { kind: 'sla', id: policy.id },
      );
  }

  /**
   * The lead reaction: triggers start timers, the owner's touches meet them. Registered after
   * routing, so a lead routed by this very write already has its owner here.
   */
  async function react(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    changes: readonly LeadChange[],
    now: number,
  ) {
    // Touches are looked for first: time to first contact is kept with or without policies.
    let anyTouch = false;
    for (const change of changes) if (change.entries.some((e) => isTouch(e, null))) anyTouch = true;
    const policies = (await policiesIn(trx, workspace.id)).filter((p) => p.enabled);
    if (policies.length === 0 && !anyTouch) return;
    const fired: Array<{ leadId: string; policy: SlaPolicy; trigger: string }> = [];
    const touched = new Map<string, TimelineEntry[]>();
    for (const change of changes) {
      for (const policy of policies) {
        const trigger = firedTrigger(policy, change);
        if (trigger) fired.push({ leadId: change.leadId, policy, trigger: triggerLabel(trigger) });
      }
      const touches = change.entries.filter((e) => isTouch(e, null));
      if (touches.length > 0) touched.set(change.leadId, touches);
    }
    if (fired.length === 0 && touched.size === 0) return;
    const ids = [...new Set([...fired.map((f) => f.leadId), ...touched.keys()])];
    // The owner as it stands in this transaction: routing may have just set it.
    const byId = new Map((await leads.findIn(trx, workspace.id, ids)).map((l) => [l.id, l]));
    const ownerIds = [...new Set([...byId.values()].flatMap((l) => (l.ownerId ? [l.ownerId] : [])))];
    const owners = new Map((await users.findIn(trx, workspace.id, ownerIds)).map((u) => [u.id, u]));
    const pending = await store.pendingTimers(trx, workspace.id, ids);

    for (const { leadId, policy, trigger } of fired) {
      const lead = byId.get(leadId);
      if (!lead) continue;
      // One timer per policy at a time: a second demo request before the first touch changes nothing.
      if (pending.some((t) => t.leadId === leadId && t.policyId === policy.id)) continue;
      await startTimer(
        trx,
        workspace.id,
        policy,
        lead,
        lead.ownerId ? owners.get(lead.ownerId) : undefined,
        trigger,
        now,
      );
      pending.push({ leadId, policyId: policy.id } as store.SlaTimer);
    }

    const entries: TimelineEntry[] = [];
    for (const [leadId, touches] of touched) {
      const lead = byId.get(leadId);
      if (!lead) continue;
      // Any rep's touch is the lead's first contact; only the owner's meets the owner's SLA.
      const first = touches[0]!;
      await store.recordFirstContact(trx, workspace.id, leadId, {
        at: first.occurredAt,
        userId: typeof first.properties.userId === 'string' ? first.properties.userId : lead.ownerId,
        activityType: first.type,
        msSinceCreated: Math.max(0, first.occurredAt - lead.createdAt),
      });
      const touch = touches.find((e) => isTouch(e, lead.ownerId));
      if (!touch) continue;
      const by = typeof touch.properties.userId === 'string' ? touch.properties.userId : lead.ownerId;
      // Fresh read: timers started above by this same write are pending too (and a touch
      // logged with them meets them).
      const open = (await store.pendingTimers(trx, workspace.id, [leadId])).filter(
        (t) => t.startedAt <= touch.occurredAt || t.startedAt === now,
      );
      if (open.length === 0) continue;
      const metAt = touch.occurredAt;
      const met = new Set(
        await store.markMet(
          trx,
          workspace.id,
          open.map((t) => t.id),
          metAt,
          by,
        ),
      );
      for (const timer of open.filter((t) => met.has(t.id)))
        entries.push({
          id: newId(),
          leadId,
          type: 'sla_met',
          occurredAt: now,
          properties: {
            timerId: timer.id,
            policy: timer.policyName,
            by,
            activity: touch.type,
            withinMs: Math.max(0, metAt - timer.startedAt),
            late: metAt > timer.dueAt,
          },
        });
    }
    await leads.appendTimelineIn(trx, workspace.id, entries);
  }

  /** Past its due time with no touch: breached, then the policy's escalation. Safe to run twice. */
  async function breach(workspaceId: string, timerId: string): Promise<void> {
    const workspace = await deps.workspaces.getWorkspace(workspaceId);
    await database.writes.run(async (trx) => {
      const timer = await store.findTimer(trx, workspaceId, timerId);
      if (timer?.status !== 'pending') return;
      const now = clock();
      const policy = (await store.listPolicies(trx, workspaceId)).find((p) => p.id === timer.policyId);
      const [lead] = await leads.findIn(trx, workspaceId, [timer.leadId]);
      if (!policy || !lead || lead.archivedAt !== null) {
        await store.closeTimer(trx, workspaceId, timerId, 'cancelled', now);
        return;
      }
      // Closing the timer is the claim, before any escalation: a touch committed meanwhile by
      // another process (it waited on, or won, this row) leaves nothing to close, and the rep
      // who just called keeps the lead.
      if (!(await store.closeTimer(trx, workspaceId, timerId, 'breached', now))) return;
      const escalation: NonNullable<store.SlaTimer['escalation']> = { notified: [], reassignedTo: null };
      const [owner] = lead.ownerId ? await users.findIn(trx, workspaceId, [lead.ownerId]) : [];
      if (policy.onBreach.notifyManager) {
        const [manager] = owner?.managerId ? await users.findIn(trx, workspaceId, [owner.managerId]) : [];
        if (manager?.active) {
          await mail.sendIn(trx, workspaceId, {
            to: [manager.email],
            subject: `SLA breached: ${leadLabel(lead)} (${policy.name})`,
            text:
              `${leadLabel(lead)} was due a first touch by ${new Date(timer.dueAt).toISOString()} ` +
              `(${policy.name}) and has none.\nOwner: ${owner?.name ?? 'nobody'}.\nLead id: ${lead.id}\n`,
            key: `sla-breach-mail:${timer.id}`,
          });
          escalation.notified.push(manager.id);
        }
      }
      if (
        policy.onBreach.reassign &&
        // This breach included: the chain stops after MAX_REASSIGNMENTS handovers.
        (await store.breachesSince(
          trx,
          workspaceId,
          lead.id,
          policy.id,
          timer.startedAt - 30 * 86_400_000,
        )) <= MAX_REASSIGNMENTS
      ) {
        escalation.reassignedTo = await routing.reassignNextIn(
          trx,
          workspace,
          lead.id,
          `SLA breached: ${policy.name}`,
        );
      }
      await store.recordEscalation(trx, workspaceId, timerId, escalation);
      await leads.appendTimelineIn(trx, workspaceId, [
        {
          id: newId(),
          leadId: lead.id,
          type: 'sla_breached',
          occurredAt: now,
          properties: {
            timerId,
            policy: policy.name,
            ownerId: timer.ownerId,
            dueAt: timer.dueAt,
            ...escalation,
          },
        },
      ]);
      await signals.emitIn(
        trx,
        workspaceId,
        [
          {
            type: 'sla.breached',
            leadId: lead.id,
            at: now,
            data: {
              timerId,
              policyId: policy.id,
              policy: policy.name,
              ownerId: timer.ownerId,
              dueAt: new Date(timer.dueAt).toISOString(),
              reassignedTo: escalation.reassignedTo,
            },
          },
        ],
        now,
      );
      // The next rep gets the same time to make the first touch.
      if (escalation.reassignedTo) {
        const [next] = await users.findIn(trx, workspaceId, [escalation.reassignedTo]);
        await startTimer(
          trx,
          workspaceId,
          policy,
          { ...lead, ownerId: escalation.reassignedTo },
          next,
          'reassigned',
          now,
        );
      }
    });
  }

  jobs.define<TimerPayload>({
    kind: 'sla.breach',
    check: isTimerPayload,
    run: (job) => breach(job.workspaceId, job.payload.timerId),
  });
  jobs.define<TimerPayload>({
    kind: 'sla.warn',
    check: isTimerPayload,
    run: async (job) => {
      await database.writes.run(async (trx) => {
        const timer = await store.findTimer(trx, job.workspaceId, job.payload.timerId);
        if (timer?.status !== 'pending') return;
        const now = clock();
        // A lead archived or merged away has nobody to call: its timer ends here, as at a breach.
        const [lead] = await leads.findIn(trx, job.workspaceId, [timer.leadId]);
        if (!lead || lead.archivedAt !== null) {
          await store.closeTimer(trx, job.workspaceId, timer.id, 'cancelled', now);
          return;
        }
        // Claimed once: a second run of this job (a retry) warns nobody again.
        if (!(await store.claimWarning(trx, job.workspaceId, timer.id, now))) return;
        await signals.emitIn(
          trx,
          job.workspaceId,
          [
            {
              type: 'sla.warning',
              leadId: timer.leadId,
              at: now,
              data: {
                timerId: timer.id,
                policyId: timer.policyId,
                policy: timer.policyName,
                ownerId: timer.ownerId,
                dueAt: new Date(timer.dueAt).toISOString(),
                msLeft: Math.max(0, timer.dueAt - now),
              },
            },
          ],
          now,
        );
      });
    },
  });

  return {
    react,

    /** Forgets cached policies (of a workspace, or all): another process changed them. */
    forgetCached: (workspaceId?: string) => cache.forget(workspaceId),

    policies: (workspaceId: string) => store.listPolicies(database.db, workspaceId),

    /** Replaces the workspace's policies (ids kept when given, so running timers keep their policy). */
    async replacePolicies(workspaceId: string, inputs: readonly PolicyInput[]): Promise<SlaPolicy[]> {
      const parsed = parsePolicies(inputs);
      if (!parsed.ok) throw validationError(parsed.errors);
      const policies = parsed.policies.map((p) => ({ ...p, id: p.id ?? newId() }));
      await database.writes.run(async (trx) => {
        if (database.engine === 'postgres') await store.lockPolicies(trx, workspaceId);
        await store.replacePolicies(trx, workspaceId, policies, clock());
        await cache.changedIn(trx, workspaceId);
      });
      return policies;
    },

    /** A lead's SLA state: its timers, the current status and time to first contact. */
    async ofLead(workspaceId: string, leadId: string) {
      const [lead] = await leads.findIn(database.db, workspaceId, [leadId]);
      if (!lead) throw new DomainError('LEAD_NOT_FOUND', `No lead ${leadId} in this workspace.`);
      const timers = await store.timersOf(database.db, workspaceId, leadId);
      const contact = await store.firstContactOf(database.db, workspaceId, leadId);
      const pending = timers.filter((t) => t.status === 'pending').sort((a, b) => a.dueAt - b.dueAt);
      const latest = timers[0];
      return {
        status: pending.length > 0 ? ('pending' as const) : (latest?.status ?? null),
        dueAt: pending[0]?.dueAt ?? null,
        timeToFirstContactMs: contact?.msSinceCreated ?? null,
        firstContact: contact ?? null,
        timers,
      };
    },

    metrics: (workspaceId: string, from: number, to: number) =>
      store.metrics(database.db, workspaceId, from, to),
  };
}
