import type { Kysely, Transaction } from 'kysely';
import type pino from 'pino';
import type { Config } from '../config.ts';
import type { ConsentService } from '../consent/service.ts';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { DB } from '../db/schema.ts';
import { DomainError, type FieldError, isDomainError, validationError } from '../errors.ts';
import { errorText, PermanentJobFailure, RetryJobLater, type RunningJob } from '../jobs/model.ts';
import type { JobService } from '../jobs/service.ts';
import { parseEventInput } from '../leads/events-input.ts';
import type { EventService } from '../leads/events-service.ts';
import type { LeadService, WorkspaceContext } from '../leads/service.ts';
import { assertPublicTarget, guardedRequest, isRefusedTarget } from '../outbound/target-guard.ts';
import type { WorkspaceService } from '../workspaces/service.ts';
import { platformGrants } from './consents.ts';
import { newSecret, sha256Hex } from './crypto.ts';
import {
  facebookHandshake,
  facebookLead,
  graphErrorMessage,
  graphLeadUrl,
  type LeadgenChange,
  parseFacebookDelivery,
  parseGraphLead,
  verifyFacebookSignature,
} from './facebook.ts';
import { genericItems, genericLead, verifyGenericRequest } from './generic.ts';
import {
  apiErrorMessage,
  apiHeaders,
  formUrl,
  type LeadForm,
  type LeadNotification,
  linkedInChallenge,
  linkedInLead,
  parseFormResponse,
  parseLeadForm,
  parseLinkedInDelivery,
  responseUrl,
  verifyLinkedInSignature,
} from './linkedin.ts';
import {
  type ActivityContext,
  activityProperties,
  assignAnswers,
  buildCapture,
  withoutRefused,
} from './mapping.ts';
import {
  CAPTURED_RETENTION_MS,
  type ExternalLead,
  eventIdFor,
  type FacebookSettings,
  type GenericSettings,
  type InboundLead,
  type InboundSource,
  type InboundStatus,
  isObject,
  type LinkedInSettings,
  LOG_DELETE_CHUNK,
  MAX_ITEMS_PER_DELIVERY,
  MAX_SOURCES,
  parseInboundJson,
  retryAfterMs,
  type SecretSource,
  safeExternalId,
  UNCAPTURED_RETENTION_MS,
} from './model.ts';
import { prepareSource, type SourceInput } from './source-input.ts';
import * as store from './store.ts';

/** Leadline forms by id (the forms domain): to check a source's `formId` and name its activity's form. */
export interface FormLookup {
  /** Throws (FORM_NOT_FOUND) when the workspace has no such form. */
  get(workspaceId: string, id: string): Promise<{ id: string; slug: string }>;
}

export interface InboundServiceDeps {
  database: Database;
  /** Records the consents a platform form's checkboxes grant (`settings.consentPurposes`). */
  consent: ConsentService;
  jobs: JobService;
  leads: LeadService;
  events: EventService;
  workspaces: WorkspaceService;
  config: Pick<Config, 'publicUrl'>;
  clock: () => number;
  logger: pino.Logger;
  /** Wired to the forms domain when it exists; without it `formId` is kept unchecked. */
  forms?: FormLookup | undefined;
}

export type InboundService = ReturnType<typeof createInboundService>;

/** Job kind that reads a lead's answers from its platform (Graph API, LinkedIn API). */
export const FETCH_KIND = 'inbound.fetch';

interface FetchPayload {
  sourceId: string;
  inboundId: string;
}

/**
 * Waits between fetch attempts: a platform hiccup is retried within minutes, an expired or
 * missing token (which a person has to fix) for about 16 hours; then the lead is `failed`
 * and waits for `POST …/retry`. (30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h)
 */
const FETCH_DELAYS_MS = [30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000];
/**
 * Most bytes of a platform's answer read back: a LinkedIn form response with its form's
 * questions projected (options, consents, localized texts) can pass 64 KiB. (1 MiB)
 */
const MAX_FETCH_BYTES = 1024 * 1024;
/** (15 s) */
const FETCH_TIMEOUT_MS = 15_000;

/** What one delivery did, lead by lead. */
export interface ReceiveSummary {
  /** External leads in the delivery. */
  received: number;
  captured: number;
  /** Waiting for their answers to be fetched from the platform. */
  pending: number;
  /** Delivered before: nothing written. */
  duplicates: number;
  /** Could not be captured; kept in the source's log to be retried. */
  failed: number;
  /** Notifications that are not new leads (other page fields, LinkedIn DELETED). */
  ignored: number;
  /** Items of the delivery that could not be read. */
  rejected: FieldError[];
}

/** A delivered item: its external id, what is stored of it, and its lead when it came with answers. */
interface Item {
  externalId: string;
  payload: unknown;
  lead: ExternalLead | null;
}

/** What GET /in/{id} answers: the challenge as text (Facebook) or JSON (LinkedIn). */
export type Handshake = { type: 'text'; body: string } | { type: 'json'; body: Record<string, string> };

const notFound = (id: string) => new DomainError('INBOUND_SOURCE_NOT_FOUND', `No inbound source ${id}.`);
const unauthenticated = (message: string, errors: FieldError[] = []) =>
  new DomainError('INBOUND_SIGNATURE_INVALID', message, errors);

/** A source without its secrets: what the API shows. */
export function withoutSecrets(source: SecretSource): InboundSource {
  const { secrets: _secrets, ...rest } = source;
  return rest;
}

/**
 * Inbound lead-form webhooks: sources (CRUD), the public endpoint's deliveries (authenticated,
 * deduplicated, captured in one transaction), the fetch jobs for platforms whose notifications
 * carry ids only, and the log of external leads with retries.
 */
export function createInboundService(deps: InboundServiceDeps) {
  const { database, consent, jobs, leads, events, workspaces, config, clock, logger, forms } = deps;
  const { db } = database;

  jobs.define<FetchPayload>({
    kind: FETCH_KIND,
    maxAttempts: FETCH_DELAYS_MS.length + 1,
    retryDelayMs: (attempt) => FETCH_DELAYS_MS[Math.min(attempt, FETCH_DELAYS_MS.length) - 1] ?? 28_800_000,
    timeoutMs: 40_000,
    check: (payload) =>
      isObject(payload) && typeof payload.sourceId === 'string' && typeof payload.inboundId === 'string'
        ? undefined
        : 'needs sourceId and inboundId',
    run: runFetch,
  });

  // -------------------------------------------------------------------------------------------
  // Capture

  /** The source's checkbox-to-purpose map: LinkedIn's forms send consents; others none yet. */
  function consentPurposesOf(source: SecretSource): Record<string, string> {
    return source.kind === 'linkedin' ? ((source.settings as LinkedInSettings).consentPurposes ?? {}) : {};
  }

  /** The Leadline form a source is linked to, as its activities name it (null: none, or gone). */
  async function formOf(workspaceId: string, source: SecretSource): Promise<ActivityContext['form']> {
    if (source.formId === null) return null;
    if (!forms) return { id: source.formId, slug: null };
    try {
      const form = await forms.get(workspaceId, source.formId);
      return { id: form.id, slug: form.slug };
    } catch (error) {
      if (isDomainError(error)) return { id: source.formId, slug: null };
      throw error;
    }
  }

  /**
   * Captures one external lead in `trx`: its answers mapped to a capture, the lead created or
   * updated (`via` webhook), its `form_submitted` activity with the platform's ids (event id
   * `fb:{leadgen_id}`…: a second delivery cannot add a second one). Fields the capture refuses
   * (a malformed phone) are dropped as warnings when the rest still names a person; otherwise
   * the entry is failed with the refusals. The activity is checked before anything is written:
   * one the events domain would refuse fails the entry (with its errors, paths under
   * `/activity`) instead of the delivery. Returns the entry as it is now; throws only on what
   * a platform's payload cannot cause (the database).
   */
  async function captureIn(
    trx: Transaction<DB>,
    workspace: WorkspaceContext,
    source: SecretSource,
    form: ActivityContext['form'],
    entry: InboundLead,
    lead: ExternalLead,
  ): Promise<InboundLead> {
    const now = clock();
    const failed = (errors: FieldError[], warnings: FieldError[] = []): InboundLead => ({
      ...entry,
      status: 'failed',
      errors,
      warnings,
      updatedAt: now,
    });
    const assignment = assignAnswers(lead.answers, source.fieldMapping);
    let capture = buildCapture(assignment.fields, lead.utm, { source: source.source });
    let warnings: FieldError[] = [];
    let [parsed] = await leads.parseManyIn(trx, workspace, [capture], () => '');
    if (!parsed!.ok) {
      const kept = withoutRefused(capture, parsed!.errors);
      if (!kept) return failed(parsed!.errors);
      capture = kept.capture;
      warnings = kept.dropped;
      [parsed] = await leads.parseManyIn(trx, workspace, [capture], () => '');
      if (!parsed!.ok) return failed(parsed!.errors);
    }
    const activity = {
      id: entry.eventId,
      type: 'form_submitted',
      // Never ahead of the server clock: a platform's clock may run fast.
      occurredAt: Math.min(lead.occurredAt ?? now, now),
      properties: activityProperties(
        { kind: source.kind, sourceId: source.id, sourceName: source.name, form },
        lead,
        assignment.unmapped,
        capture.utm,
        warnings,
      ),
    };
    // The lead id is not known yet; any id stands in for it to check the rest.
    const check = parseEventInput({ ...activity, leadId: entry.id }, { now }, '/activity');
    if (!check.ok) return failed(check.errors, warnings);
    const { lead: written } = await leads.captureIn(trx, workspace, capture, 'webhook');
    const outcome = await events.ingestIn(trx, workspace, [{ ...activity, leadId: written.id }]);
    const grants = platformGrants(source.kind, consentPurposesOf(source), lead.consents);
    if (grants.length > 0)
      await consent.recordIn(
        trx,
        workspace,
        written.id,
        grants,
        { source: 'webhook', at: activity.occurredAt },
        // The platform's form asked and the person ticked the box: nothing left to confirm.
        { doubleOptIn: false },
        now,
      );
    const result = outcome.results[0];
    // Checked above, so not expected; if it happens, the lead (a valid capture) stays and the
    // entry says why its activity is missing: a retry captures it again and adds the activity.
    if (result?.status === 'rejected')
      return failed(result.errors ?? [{ path: '/activity', message: 'was refused' }], warnings);
    return {
      ...entry,
      status: 'captured',
      leadId: written.id,
      payload: null,
      errors: [],
      warnings,
      capturedAt: now,
      updatedAt: now,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Deliveries

  async function publicSource(id: string): Promise<{ workspaceId: string; source: SecretSource }> {
    const found = await store.findPublicSource(db, id);
    if (!found) throw notFound(id);
    return found;
  }

  /** Checks that a delivery comes from the platform (or sender) the source stands for. */
  function authenticate(
    source: SecretSource,
    raw: Buffer,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    const header = (name: string) => {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const secrets = source.secrets;
    if (source.kind === 'facebook') {
      if (!verifyFacebookSignature(secrets.appSecret!, raw, header('x-hub-signature-256')))
        throw unauthenticated(
          'X-Hub-Signature-256 is missing or is not the app secret’s signature of the body.',
          [{ path: '/headers/x-hub-signature-256', message: 'does not sign this body with the app secret' }],
        );
    } else if (source.kind === 'linkedin') {
      if (!verifyLinkedInSignature(secrets.clientSecret!, raw, header('x-li-signature')))
        throw unauthenticated(
          'X-LI-Signature is missing or is not the client secret’s signature of the body.',
          [{ path: '/headers/x-li-signature', message: 'does not sign this body with the client secret' }],
        );
    } else {
      const settings = source.settings as GenericSettings;
      if (!verifyGenericRequest(settings, secrets.token!, raw, headers)) {
        const path =
          settings.auth === 'hmac' ? `/headers/${settings.signatureHeader}` : '/headers/authorization';
        throw unauthenticated(
          settings.auth === 'hmac'
            ? `${settings.signatureHeader} is missing or does not sign the body with the source's token.`
            : "Send the source's token as Authorization: Bearer <token> (or X-Leadline-Token).",
          [{ path, message: 'does not authenticate this source' }],
        );
      }
    }
  }

  /** The external leads of a parsed body, per kind, with what could not be read. */
  function itemsOf(
    source: SecretSource,
    body: unknown,
  ): { items: Item[]; ignored: number; errors: FieldError[] } {
    if (source.kind === 'facebook') {
      const { changes, ignored, errors } = parseFacebookDelivery(body);
      return {
        items: changes.map((change) => ({
          externalId: change.leadgenId,
          payload: change,
          // `field_data: []` carries no answers: they are fetched like a bare notification's.
          lead: change.fieldData?.length ? facebookLead(change, null) : null,
        })),
        ignored,
        errors,
      };
    }
    if (source.kind === 'linkedin') {
      const { notifications, ignored, errors } = parseLinkedInDelivery(body);
      // A lead deleted on LinkedIn stays in Leadline (erasure is a privacy request of its own).
      const created = notifications.filter((n) => n.action === 'CREATED');
      return {
        items: created.map((n) => ({
          externalId: safeExternalId(n.responseId, sha256Hex),
          payload: n,
          lead: null,
        })),
        ignored: ignored + notifications.length - created.length,
        errors,
      };
    }
    const settings = source.settings as GenericSettings;
    const { items, errors } = genericItems(body, settings);
    return {
      items: items.map((item) => {
        const record = item as Record<string, unknown>;
        const lead = genericLead(
          record,
          settings,
          source.fieldMapping,
          `h:${sha256Hex(JSON.stringify(record)).slice(0, 40)}`,
        );
        const externalId = safeExternalId(lead.externalId, sha256Hex);
        return { externalId, payload: record, lead: { ...lead, externalId } };
      }),
      ignored: 0,
      errors,
    };
  }

  /**
   * One delivery to `/in/{id}`: authenticated on its raw bytes, read, and written in one
   * transaction — every new external lead logged, captured at once when it carries its
   * answers, else queued for a fetch job. A retried delivery finds its leads logged already
   * and writes nothing. Leads that cannot be captured are logged as failed and still answered
   * 200: the platform's retries could not change that, a mapping fix and a retry can.
   */
  async function receive(
    id: string,
    raw: Buffer,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<ReceiveSummary> {
    const { workspaceId, source } = await publicSource(id);
    authenticate(source, raw, headers);
    const parsed = parseInboundJson(raw.toString('utf8'));
    if (!parsed.ok) throw validationError([{ path: '/', message: `is not JSON: ${parsed.message}` }]);
    const { items, ignored, errors } = itemsOf(source, parsed.value);
    if (items.length > MAX_ITEMS_PER_DELIVERY)
      throw validationError([{ path: '/', message: `may carry at most ${MAX_ITEMS_PER_DELIVERY} leads` }]);
    if (items.length === 0 && errors.length > 0) throw validationError(errors);
    const summary: ReceiveSummary = {
      received: items.length,
      captured: 0,
      pending: 0,
      duplicates: 0,
      failed: 0,
      ignored,
      rejected: errors,
    };
    if (items.length === 0) return summary;
    const workspace = await workspaces.getWorkspace(workspaceId);
    const form = await formOf(workspaceId, source);
    await database.writes.run(async (trx) => {
      const now = clock();
      for (const item of items) {
        const entry: InboundLead = {
          id: newId(now),
          sourceId: source.id,
          externalId: item.externalId,
          status: item.lead ? 'failed' : 'pending',
          leadId: null,
          eventId: eventIdFor(source.kind, source.id, item.externalId),
          payload: item.payload,
          errors: [],
          warnings: [],
          fetchAttempts: 0,
          receivedAt: now,
          capturedAt: null,
          updatedAt: now,
        };
        if (!(await store.insertInboundLead(trx, workspaceId, entry))) {
          summary.duplicates++;
          continue;
        }
        if (item.lead) {
          const done = await captureIn(trx, workspace, source, form, entry, item.lead);
          await store.updateInboundLead(trx, workspaceId, done);
          summary[done.status === 'captured' ? 'captured' : 'failed']++;
        } else {
          await queueFetchIn(trx, workspaceId, entry);
          summary.pending++;
        }
      }
      await store.markReceived(trx, workspaceId, source.id, now);
    });
    if (summary.failed > 0 || errors.length > 0)
      logger.info(
        { source: source.id, ...summary, rejected: errors.length },
        'inbound delivery with failed leads',
      );
    return summary;
  }

  async function queueFetchIn(trx: Kysely<DB>, workspaceId: string, entry: InboundLead): Promise<void> {
    await jobs.enqueueIn(trx, workspaceId, {
      kind: FETCH_KIND,
      payload: { sourceId: entry.sourceId, inboundId: entry.id } satisfies FetchPayload,
      // One job per entry and attempt round: a retry after a failure needs a fresh key.
      key: `inbound:${entry.id}:${entry.fetchAttempts}:${entry.updatedAt}`,
    });
  }

  /** GET /in/{id}: Meta's subscription handshake, LinkedIn's webhook validation. */
  async function handshake(id: string, query: Record<string, unknown>): Promise<Handshake> {
    const { source } = await publicSource(id);
    if (source.kind === 'facebook') {
      const answer = facebookHandshake(query, source.secrets.verifyToken!);
      if (answer.ok) return { type: 'text', body: answer.challenge };
      if (answer.unauthorized)
        throw unauthenticated('hub.verify_token is not the verify token of this source.', answer.errors);
      throw validationError(answer.errors, 'Not a subscription handshake.');
    }
    if (source.kind === 'linkedin') {
      const answer = linkedInChallenge(query, source.secrets.clientSecret!);
      if (answer.ok) return { type: 'json', body: answer.body };
      throw validationError(answer.errors, 'Not a webhook validation.');
    }
    throw validationError([
      { path: '/', message: 'a generic source takes leads by POST; it has no handshake' },
    ]);
  }

  // -------------------------------------------------------------------------------------------
  // Fetching answers from the platforms

  /** Reads a pending lead's answers from its platform; throws what the job should do about a failure. */
  async function fetchLead(
    source: SecretSource,
    entry: InboundLead,
    allowPrivate: boolean,
    signal: AbortSignal | undefined,
  ): Promise<ExternalLead> {
    const get = async (
      url: string,
      headers: Record<string, string>,
      describe: (body: unknown) => string | undefined,
    ) => {
      let response: Awaited<ReturnType<typeof guardedRequest>>;
      try {
        response = await guardedRequest(
          url,
          {
            method: 'GET',
            headers: { accept: 'application/json', 'user-agent': 'Leadline-Inbound/1', ...headers },
            maxBytes: MAX_FETCH_BYTES,
          },
          // The URL or headers carry the token: https unless the platform stand-in is private.
          { allowPrivate, httpsUnlessPrivate: true, signal, timeoutMs: FETCH_TIMEOUT_MS },
        );
      } catch (error) {
        // A refused base URL stays refused until a person changes it: no retries.
        if (isRefusedTarget(error)) throw new PermanentJobFailure(errorText(error));
        throw error;
      }
      const parsed = parseInboundJson(response.body);
      const body = parsed.ok ? parsed.value : undefined;
      if (response.status === 200) {
        if (!parsed.ok) throw new Error(`the platform answered with invalid JSON: ${parsed.message}`);
        return body;
      }
      const message = `HTTP ${response.status}: ${describe(body) ?? response.body.slice(0, 200)}`;
      if (response.status === 429 || response.status === 503) {
        const wait = retryAfterMs(response.headers['retry-after'], clock());
        if (wait !== undefined) throw new RetryJobLater(message, Math.min(wait, 86_400_000));
      }
      // 404: the lead is gone (deleted, or older than the platform keeps): retrying cannot help.
      if (response.status === 404) throw new PermanentJobFailure(message);
      throw new Error(message);
    };

    if (source.kind === 'facebook') {
      const token = source.secrets.pageAccessToken;
      if (!token)
        throw new PermanentJobFailure(
          'This delivery carries no answers and the source has no page access token: set secrets.pageAccessToken, then retry the lead.',
        );
      const change = entry.payload as LeadgenChange;
      const settings = source.settings as FacebookSettings;
      const body = await get(
        graphLeadUrl(settings.graphBaseUrl, change.leadgenId, token, source.secrets.appSecret!),
        {},
        graphErrorMessage,
      );
      const lead = parseGraphLead(body);
      if (!lead.ok) throw new PermanentJobFailure(lead.message);
      return facebookLead(change, lead.lead);
    }
    if (source.kind === 'linkedin') {
      const token = source.secrets.accessToken;
      if (!token)
        throw new PermanentJobFailure(
          'LinkedIn notifications carry no answers and the source has no access token: set secrets.accessToken, then retry the lead.',
        );
      const notification = entry.payload as LeadNotification;
      const settings = source.settings as LinkedInSettings;
      const headers = apiHeaders(token, settings.apiVersion);
      const body = await get(
        responseUrl(settings.apiBaseUrl, notification.responseId),
        headers,
        apiErrorMessage,
      );
      const response = parseFormResponse(body);
      if (!response.ok) throw new PermanentJobFailure(response.message);
      let form: LeadForm | null = response.response.form;
      if (!form && response.response.formId)
        form = parseLeadForm(
          await get(formUrl(settings.apiBaseUrl, response.response.formId), headers, apiErrorMessage),
        );
      return { ...linkedInLead(response.response, form), externalId: entry.externalId };
    }
    throw new PermanentJobFailure('generic sources deliver their answers; there is nothing to fetch');
  }

  async function runFetch(job: RunningJob<FetchPayload>): Promise<void> {
    const { sourceId, inboundId } = job.payload;
    const source = await store.findSource(db, job.workspaceId, sourceId);
    if (!source) throw new PermanentJobFailure(`inbound source ${sourceId} no longer exists`);
    const entry = await store.findInboundLead(db, job.workspaceId, sourceId, inboundId);
    // Captured or failed meanwhile (a retry, another run): nothing left to do.
    if (entry?.status !== 'pending') return;
    const workspace = await workspaces.getWorkspace(job.workspaceId);
    let lead: ExternalLead;
    try {
      lead = await fetchLead(
        source,
        entry,
        workspace.settings.allowPrivateWebhookTargets === true,
        job.signal,
      );
    } catch (error) {
      const last = error instanceof PermanentJobFailure || job.attempt >= job.maxAttempts;
      await database.writes.run(async (trx) => {
        const current = await store.findInboundLead(trx, job.workspaceId, sourceId, inboundId);
        if (current?.status !== 'pending') return;
        await store.updateInboundLead(trx, job.workspaceId, {
          ...current,
          status: last ? 'failed' : 'pending',
          errors: [{ path: '/', message: errorText(error) }],
          fetchAttempts: current.fetchAttempts + 1,
          updatedAt: clock(),
        });
      });
      throw error;
    }
    const form = await formOf(job.workspaceId, source);
    try {
      await database.writes.run(async (trx) => {
        // Re-read in the transaction: a concurrent run or a retry may have settled it.
        const current = await store.findInboundLead(trx, job.workspaceId, sourceId, inboundId);
        if (current?.status !== 'pending') return;
        const done = await captureIn(
          trx,
          workspace,
          source,
          form,
          { ...current, fetchAttempts: current.fetchAttempts + 1 },
          lead,
        );
        await store.updateInboundLead(trx, job.workspaceId, done);
      });
    } catch (error) {
      // The capture's transaction rolled back, the entry's update with it. Left pending, the
      // job's retries would fetch and fail alike, then the job dies and the entry stays pending
      // for good (`POST …/retry` takes failed ones only). Failed, with why, in a write of its
      // own: a retry fetches and captures it again.
      await database.writes.run(async (trx) => {
        const current = await store.findInboundLead(trx, job.workspaceId, sourceId, inboundId);
        if (current?.status !== 'pending') return;
        await store.updateInboundLead(trx, job.workspaceId, {
          ...current,
          status: 'failed',
          errors: [{ path: '/', message: `the capture failed: ${errorText(error)}` }],
          fetchAttempts: current.fetchAttempts + 1,
          updatedAt: clock(),
        });
      });
      throw new PermanentJobFailure(`the capture failed: ${errorText(error)}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Sources

  async function requireSource(workspaceId: string, id: string): Promise<SecretSource> {
    const source = await store.findSource(db, workspaceId, id);
    if (!source) throw notFound(id);
    return source;
  }

  /**
   * Checks what a source points at: a platform base URL a person typed in (SSRF guard; the
   * platforms' own defaults are not looked up) and its Leadline form.
   */
  async function checkReferences(workspaceId: string, input: SourceInput): Promise<void> {
    const errors: FieldError[] = [];
    for (const key of ['graphBaseUrl', 'apiBaseUrl'] as const) {
      const url = input.settings?.[key];
      if (typeof url !== 'string') continue;
      const workspace = await workspaces.getWorkspace(workspaceId);
      try {
        // Fetches carry the page access token or bearer token: https unless private.
        await assertPublicTarget(url, workspace.settings.allowPrivateWebhookTargets === true, {
          httpsUnlessPrivate: true,
        });
      } catch (error) {
        if (!isDomainError(error)) throw error;
        for (const e of error.errors) errors.push({ path: `/settings/${key}`, message: e.message });
      }
    }
    if (input.formId && forms) {
      try {
        await forms.get(workspaceId, input.formId);
      } catch (error) {
        if (!isDomainError(error)) throw error;
        errors.push({ path: '/formId', message: 'is not a form of this workspace' });
      }
    }
    if (errors.length > 0) throw validationError(errors);
  }

  /** The lead of a logged entry whose answers are stored with it (generic items, Facebook changes with field_data). */
  function storedLead(source: SecretSource, entry: InboundLead): ExternalLead | null {
    if (source.kind === 'generic' && isObject(entry.payload)) {
      const lead = genericLead(
        entry.payload,
        source.settings as GenericSettings,
        source.fieldMapping,
        entry.externalId,
      );
      return { ...lead, externalId: entry.externalId };
    }
    if (
      source.kind === 'facebook' &&
      isObject(entry.payload) &&
      Array.isArray(entry.payload.fieldData) &&
      entry.payload.fieldData.length > 0
    )
      return facebookLead(entry.payload as unknown as LeadgenChange, null);
    return null;
  }

  /** The public address of a source. */
  const urlOf = (id: string) => `${config.publicUrl}/in/${id}`;

  return {
    receive,
    handshake,
    urlOf,

    /** The workspace's sources, oldest first, with their log's counts per status. */
    async list(workspaceId: string) {
      const [sources, counts] = await Promise.all([
        store.listSources(db, workspaceId),
        store.countByStatus(db, workspaceId),
      ]);
      return sources.map((s) => ({
        source: withoutSecrets(s),
        counts: counts.get(s.id) ?? { pending: 0, captured: 0, failed: 0 },
      }));
    },

    async get(workspaceId: string, id: string) {
      const source = await requireSource(workspaceId, id);
      const counts = (await store.countByStatus(db, workspaceId, id)).get(id);
      return { source: withoutSecrets(source), counts: counts ?? { pending: 0, captured: 0, failed: 0 } };
    },

    /** Adds a source; its secrets (those given and those generated) are returned this once. */
    async create(workspaceId: string, input: SourceInput) {
      const prepared = prepareSource(null, input, { id: newId(), now: clock(), newSecret });
      if (!prepared.ok) throw validationError(prepared.errors);
      await checkReferences(workspaceId, input);
      await database.writes.run(async (trx) => {
        if ((await store.countSources(trx, workspaceId)) >= MAX_SOURCES)
          throw validationError([
            { path: '/', message: `a workspace may have at most ${MAX_SOURCES} inbound sources` },
          ]);
        await store.insertSource(trx, workspaceId, prepared.source);
      });
      return { source: withoutSecrets(prepared.source), secrets: { ...prepared.source.secrets } };
    },

    /** Changes the given fields; `settings` and `secrets` are merged, `fieldMapping` replaced whole. */
    async update(workspaceId: string, id: string, input: SourceInput): Promise<InboundSource> {
      // Checked before the transaction: a base URL is looked up in DNS, which must not hold
      // the writer.
      const checked = prepareSource(await requireSource(workspaceId, id), input, {
        id,
        now: clock(),
        newSecret,
      });
      if (!checked.ok) throw validationError(checked.errors);
      await checkReferences(workspaceId, input);
      const source = await database.writes.run(async (trx) => {
        // The change applied to the source as it is now, not as read above: settings and
        // secrets are merged, and another change committed meanwhile (by another request,
        // another process) is kept. Locked on PostgreSQL until this commits; SQLite's writer
        // lock serialises writers already.
        const current = await store.findSource(trx, workspaceId, id, database.engine === 'postgres');
        if (!current) throw notFound(id);
        const prepared = prepareSource(current, input, { id, now: clock(), newSecret });
        if (!prepared.ok) throw validationError(prepared.errors);
        await store.updateSource(trx, workspaceId, prepared.source);
        return prepared.source;
      });
      return withoutSecrets(source);
    },

    /**
     * Deletes a source, then its log in chunks (one short transaction each: a long log must
     * not hold the writer): its address stops answering at once; leads it captured stay. A log
     * left behind by a crash midway is invisible (no source lists it) and pruned by age.
     */
    async remove(workspaceId: string, id: string): Promise<void> {
      const deleted = await database.writes.run((trx) => store.deleteSource(trx, workspaceId, id));
      if (!deleted) throw notFound(id);
      for (;;) {
        const n = await database.writes.run((trx) =>
          store.deleteLogChunk(trx, workspaceId, id, LOG_DELETE_CHUNK),
        );
        if (n < LOG_DELETE_CHUNK) break;
      }
    },

    /**
     * Deletes log entries past their retention, in chunks: captured ones CAPTURED_RETENTION_MS
     * after they arrived, failed and pending ones UNCAPTURED_RETENTION_MS after. Returns how many.
     */
    async prune(workspaceIds: readonly string[]): Promise<number> {
      const now = clock();
      let deleted = 0;
      for (const workspaceId of workspaceIds)
        for (const [status, before] of [
          ['captured', now - CAPTURED_RETENTION_MS],
          [undefined, now - UNCAPTURED_RETENTION_MS],
        ] as const)
          for (;;) {
            const n = await database.writes.run((trx) =>
              store.pruneLog(trx, workspaceId, status, before, LOG_DELETE_CHUNK),
            );
            deleted += n;
            if (n < LOG_DELETE_CHUNK) break;
          }
      return deleted;
    },

    /** A source's log of external leads, newest first. */
    async leads(
      workspaceId: string,
      sourceId: string,
      filter: store.InboundLeadFilter,
    ): Promise<InboundLead[]> {
      await requireSource(workspaceId, sourceId);
      return store.listInboundLeads(db, workspaceId, sourceId, filter);
    },

    /**
     * Tries a failed external lead again: captured now when its answers are stored (after a
     * mapping or property fix), else fetched again from its platform (after a token fix).
     */
    async retry(workspaceId: string, sourceId: string, inboundId: string): Promise<InboundLead> {
      const source = await requireSource(workspaceId, sourceId);
      const entry = await store.findInboundLead(db, workspaceId, sourceId, inboundId);
      if (!entry) throw new DomainError('NOT_FOUND', `No external lead ${inboundId} from this source.`);
      if (entry.status !== 'failed')
        throw new DomainError(
          'CONFLICT',
          `The external lead is ${entry.status}; only failed ones are retried.`,
        );
      const lead = storedLead(source, entry);
      const workspace = await workspaces.getWorkspace(workspaceId);
      const form = lead ? await formOf(workspaceId, source) : null;
      return database.writes.run(async (trx) => {
        const current = await store.findInboundLead(trx, workspaceId, sourceId, inboundId);
        if (current?.status !== 'failed')
          throw new DomainError('CONFLICT', 'The external lead changed meanwhile; read it again.');
        let next: InboundLead;
        if (lead) next = await captureIn(trx, workspace, source, form, current, lead);
        else {
          next = { ...current, status: 'pending' as InboundStatus, errors: [], updatedAt: clock() };
          await queueFetchIn(trx, workspaceId, next);
        }
        await store.updateInboundLead(trx, workspaceId, next);
        return next;
      });
    },
  };
}
