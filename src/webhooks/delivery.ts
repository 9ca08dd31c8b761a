import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { DB } from '../db/schema.ts';
import { isDomainError } from '../errors.ts';
import {
  errorText,
  type JobKind,
  PermanentJobFailure,
  RetryJobLater,
  type RunningJob,
} from '../jobs/model.ts';
import { leadJson } from '../leads/json.ts';
import type { LeadService } from '../leads/service.ts';
import { postJson } from '../outbound/target-guard.ts';
import type { ScoringService } from '../scoring/service.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import {
  type AttemptResult,
  autoDisableReason,
  BREAKER_FAILURES,
  breakerWaitMs,
  type DeliveryTrigger,
  deliveryTriggers,
  failureText,
  judgeAttempt,
  MAX_ATTEMPTS,
  messageBody,
  RESPONSE_LOG_CHARS,
  retryDelayMs,
  type SigningSubscription,
  signingSecrets,
  type WebhookMessage,
} from './model.ts';
import { signatureHeaders } from './signing.ts';
import * as store from './store.ts';

export const DELIVER_KIND = 'webhook.deliver';

/** One message to one subscription. */
export interface DeliverPayload {
  subscriptionId: string;
  messageId: string;
  trigger: DeliveryTrigger;
}

/** How long one attempt may wait for the target's answer. (10 s) */
export const DELIVERY_TIMEOUT_MS = 10_000;

export interface DeliveryDeps {
  database: Database;
  clock: () => number;
  workspaces: WorkspaceService;
  leads: LeadService;
  scoring: ScoringService;
  /**
   * Called in the attempt's transaction when it disabled a subscription: every process drops
   * its cached routes of the workspace.
   */
  changedIn: (trx: Kysely<DB>, workspaceId: string) => Promise<void>;
  /** Jitter source of the retry schedule. (Default: Math.random) */
  random?: () => number;
}

function checkPayload(payload: unknown): string | undefined {
  const p = payload as Partial<DeliverPayload> | null;
  if (!p || typeof p.subscriptionId !== 'string' || typeof p.messageId !== 'string')
    return 'subscriptionId and messageId must be strings';
  if (!deliveryTriggers.includes(p.trigger as DeliveryTrigger)) return 'trigger is not a delivery trigger';
  return undefined;
}

/**
 * The `webhook.deliver` job: one signed POST per run, logged in the delivery log, retried on
 * the Standard Webhooks schedule (model.ts), disabling the subscription on 410 Gone or
 * sustained failure. While a subscription keeps failing, its event deliveries mostly wait
 * instead of connecting (the circuit breaker, model.ts `breakerWaitMs`), so a dead target
 * cannot hold every worker slot for 10 s a delivery. Safe to run twice: a repeat sends the
 * same message with the same `webhook-id`, which receivers dedupe on.
 */
export function deliveryKind(deps: DeliveryDeps): JobKind<DeliverPayload> {
  const { database, clock } = deps;
  const random = deps.random ?? Math.random;
  /** Subscriptions with an open breaker whose probe is under way in this process: the others wait for it. */
  const probing = new Set<string>();

  /** The body of a message whose lead was not at hand when it was queued: the lead as it is now. */
  async function render(workspaceId: string, message: WebhookMessage): Promise<string> {
    let data = message.data;
    if (message.leadId !== null) {
      try {
        const lead = await deps.leads.get(workspaceId, message.leadId);
        const scoreOf = await deps.scoring.scorer(workspaceId);
        data = { ...data, lead: leadJson(lead, scoreOf(lead)) };
      } catch (error) {
        // An erased lead: the event is still news, with its id alone.
        if (!(isDomainError(error) && error.code === 'LEAD_NOT_FOUND')) throw error;
      }
    }
    const body = messageBody(message.eventType, message.occurredAt, message.leadId, data);
    return database.writes.run((trx) => store.settleMessageBody(trx, workspaceId, message.id, body));
  }

  async function run(job: RunningJob<DeliverPayload>): Promise<void> {
    const { workspaceId } = job;
    const { subscriptionId, trigger } = job.payload;
    const sub = await store.findSubscription(database.db, workspaceId, subscriptionId);
    // Deleted, or disabled since the message was queued: it receives nothing new. A test ping
    // still goes: it is how a person checks an endpoint before enabling it again.
    if (!sub || (!sub.enabled && trigger !== 'test')) return;
    // The breaker (model.ts breakerWaitMs): only read when the subscription is failing.
    if (trigger === 'event' && sub.health.consecutiveFailures >= BREAKER_FAILURES) {
      const now = clock();
      const last = probing.has(sub.id) ? now : await store.lastAttemptAt(database.db, workspaceId, sub.id);
      const wait = breakerWaitMs(sub.health, last, trigger, job.attempt, job.maxAttempts, now, random);
      if (wait !== undefined)
        throw new RetryJobLater(
          `not sent: the last ${sub.health.consecutiveFailures} attempts to this subscription failed; ` +
            'waiting for the circuit breaker to let one through',
          wait,
        );
      // A message's last attempt goes even beside a probe: leave that probe's mark alone.
      const probe = !probing.has(sub.id);
      if (probe) probing.add(sub.id);
      try {
        return await attempt(job, sub);
      } finally {
        if (probe) probing.delete(sub.id);
      }
    }
    return attempt(job, sub);
  }

  /** One attempt: render, sign, POST, log, judge. */
  async function attempt(job: RunningJob<DeliverPayload>, sub: SigningSubscription): Promise<void> {
    const { workspaceId } = job;
    const { messageId, trigger } = job.payload;
    const message = await store.findMessage(database.db, workspaceId, messageId);
    if (!message) return;
    const body = message.body ?? (await render(workspaceId, message));
    const workspace = await deps.workspaces.getWorkspace(workspaceId);
    const allowPrivate = workspace.settings.allowPrivateWebhookTargets === true;

    const attemptedAt = clock();
    const headers = signatureHeaders(signingSecrets(sub, attemptedAt), message.id, attemptedAt, body);
    const started = performance.now();
    let result: AttemptResult;
    let response: string | null = null;
    try {
      const answer = await postJson(sub.url, body, headers, {
        allowPrivate,
        signal: job.signal,
        timeoutMs: DELIVERY_TIMEOUT_MS,
      });
      result = { status: answer.status, error: null, retryAfter: answer.headers['retry-after'] };
      response = answer.body.slice(0, RESPONSE_LOG_CHARS);
    } catch (error) {
      result = { status: null, error: errorText(error) };
    }
    const durationMs = Math.round(performance.now() - started);
    const now = clock();
    const verdict = judgeAttempt(result, job.attempt, job.maxAttempts, now, random);
    const failure = failureText(result, response);

    const disabledBy = await database.writes.run(async (trx) => {
      let reason: string | undefined;
      // A test ping reports on the endpoint; it neither heals nor harms the subscription.
      if (trigger !== 'test') {
        if (verdict.succeeded) await store.recordSuccess(trx, workspaceId, sub.id, now);
        else {
          const health = await store.recordFailure(trx, workspaceId, sub.id, now);
          reason = verdict.gone ? 'the target answered 410 Gone' : health && autoDisableReason(health, now);
          if (reason) {
            await store.disableSubscription(trx, workspaceId, sub.id, reason, now);
            await deps.changedIn(trx, workspaceId);
          }
        }
      }
      await store.insertDelivery(trx, workspaceId, {
        id: newId(),
        subscriptionId: sub.id,
        messageId: message.id,
        eventType: message.eventType,
        trigger,
        attempt: job.attempt,
        attemptedAt,
        succeeded: verdict.succeeded,
        statusCode: result.status,
        durationMs,
        error: failure,
        response,
        nextRetryAt: reason ? null : verdict.nextRetryAt,
      });
      return reason;
    });
    if (verdict.succeeded) return;
    if (disabledBy) {
      throw new PermanentJobFailure(`${failure}; subscription disabled: ${disabledBy}`);
    }
    if (verdict.nextRetryAt !== null) throw new RetryJobLater(failure ?? 'failed', verdict.nextRetryAt - now);
    throw new PermanentJobFailure(`${failure}; no attempts left`);
  }

  return {
    kind: DELIVER_KIND,
    check: checkPayload,
    maxAttempts: MAX_ATTEMPTS,
    // Used when a run fails outside the attempt itself (the database, say); attempts that got
    // an answer choose their own delay (RetryJobLater), which the delivery log shows.
    retryDelayMs: (attempt) => retryDelayMs(attempt, random),
    // The target's timeout plus the writes around it.
    timeoutMs: DELIVERY_TIMEOUT_MS + 10_000,
    run,
  };
}
