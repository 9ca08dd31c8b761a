import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { ConsentEvidence, ConsentGrant } from '../consent/model.ts';
import { ConfigCache } from '../db/config-cache.ts';
import type { Database } from '../db/database.ts';
import { newId } from '../db/ids.ts';
import type { DB } from '../db/schema.ts';
import { writeWithSlug } from '../db/unique-violation.ts';
import { DomainError, type FieldError, isDomainError, validationError } from '../errors.ts';
import { MAX_PROPERTIES_BYTES } from '../leads/events-model.ts';
import type { EventService } from '../leads/events-service.ts';
import type { Lead, LeadCapture, PropertyValue } from '../leads/model.ts';
import type { LeadService, WorkspaceContext } from '../leads/service.ts';
import type { PropertyService } from '../properties/service.ts';
import type { Workspace } from '../workspaces/model.ts';
import {
  type Answer,
  captureErrorsAsFieldErrors,
  fitSubmissionProperties,
  parseSubmission,
} from './fields.ts';
import type { StoredMagnetFile } from './magnet-store.ts';
import * as magnetStore from './magnet-store.ts';
import {
  type AcceptedSubmission,
  checkFormSettings,
  defaultSpamSettings,
  type Form,
  type FormField,
  type FormSettings,
  type FormStatus,
  fieldsToShow,
  isMagnetFile,
  isOpen,
  type LeadMagnetInput,
  type MagnetFile,
  normaliseSettings,
  reserved,
  resolveLeadMagnet,
  type SpamSettings,
  type Submission,
  type SubmitOutcome,
  submissionFingerprint,
  textValue,
} from './model.ts';
import { createSubmissionLimiter, type SubmissionLimiter } from './rate-limits.ts';
import { assessSubmission } from './spam.ts';
import { renderToken, renderTokenHash, verifyRenderToken } from './spam-tokens.ts';
import * as store from './store.ts';

/** What forms need of the quarantine (src/forms/quarantine-service.ts): keep a suspect submission. */
export interface QuarantineSink {
  addIn(
    trx: Transaction<DB>,
    workspaceId: string,
    entry: {
      formId: string;
      email: string | null;
      submission: Submission;
      reasons: string[];
      ip: string | null;
      userAgent: string | null;
    },
  ): Promise<unknown>;
}

/** What forms need of consent (src/consent/service.ts): record the boxes ticked, with evidence. */
export interface ConsentRecorder {
  recordIn(
    trx: Transaction<DB>,
    workspace: WorkspaceContext,
    leadId: string,
    grants: ConsentGrant[],
    evidence: ConsentEvidence,
    options: { doubleOptIn: boolean },
    now: number,
  ): Promise<unknown>;
}

/** The emails a submission causes (src/forms/follow-ups.ts): the lead magnet, the notifications. */
export interface FollowUpQueue {
  queueFollowUpsIn(
    trx: Transaction<DB>,
    workspace: WorkspaceContext,
    form: Form,
    lead: Lead,
    submission: AcceptedSubmission,
    now: number,
  ): Promise<{ magnetEmailed: boolean }>;
}

/** How a submission is taken. */
export interface SubmitOptions {
  /** A person released it from the quarantine: no spam checks. */
  skipSpam?: boolean | undefined;
  /**
   * Take it even if the form is closed or archived now: a release decides on a submission
   * that arrived while the form was open (the quarantine holds nothing else).
   */
  evenIfClosed?: boolean | undefined;
}

export interface FormServiceDeps {
  database: Database;
  workspaces: { getWorkspace(id: string): Promise<Workspace> };
  leads: Pick<LeadService, 'captureIn' | 'findIn'>;
  /** The workspace's property definitions: a strict workspace takes only defined ones. */
  properties: Pick<PropertyService, 'definitionsIn'>;
  events: Pick<EventService, 'identifyIn' | 'ingestIn' | 'leadOfAnonymousIdIn'>;
  consent: ConsentRecorder;
  quarantine: QuarantineSink;
  followUps: FollowUpQueue;
  clock: () => number;
  /** Per-form rate limits. (Default: one in this process's memory, on `clock`) */
  limiter?: SubmissionLimiter | undefined;
}

export type FormService = ReturnType<typeof createFormService>;

/** A new form as the API takes it; absent settings take their defaults. */
export interface FormInput {
  name: string;
  slug: string;
  status?: FormStatus | undefined;
  fields: FormField[];
  consents?: FormSettings['consents'] | undefined;
  submitLabel?: string | null | undefined;
  thankYou?: FormSettings['thankYou'] | undefined;
  leadMagnet?: LeadMagnetInput | null | undefined;
  notify?: string[] | undefined;
  doubleOptIn?: boolean | undefined;
  allowedOrigins?: string[] | undefined;
  progressive?: FormSettings['progressive'] | undefined;
  spam?: Partial<SpamSettings> | undefined;
  source?: string | null | undefined;
}

/** A lead-magnet file as uploaded: its checked name and media type (magnet-files.ts), its bytes. */
export interface MagnetUpload {
  name: string;
  contentType: string;
  content: Buffer;
  /** The lead magnet's title. (Default: the current one, else the file name) */
  title?: string | undefined;
}

/** A change: every given key replaces the stored one (lists whole); null clears an optional one. */
export type FormPatch = Partial<FormInput>;

/**
 * How long a public lookup by slug is cached when no word of a change comes: a change made by
 * any process is announced as it commits (config-cache.ts), and this is the bound should a
 * process's listening connection be down, or on SQLite. (5 s)
 */
const PUBLIC_CACHE_MS = 5_000;
/** Room an activity's properties leave for a submission's free answers (16 KiB is the limit). */
const ANSWERS_BUDGET_BYTES = 12 * 1024;

const notFound = (what: string) => new DomainError('FORM_NOT_FOUND', `No form ${what}.`);
const archived = (form: Form) =>
  new DomainError('CONFLICT', `The form ${form.slug} is archived; it can no longer change.`);
const magnetNotFound = (form: Form) =>
  new DomainError('LEAD_MAGNET_NOT_FOUND', `The form ${form.slug} has no lead-magnet file.`);

function slugTaken(slug: string): DomainError {
  return new DomainError('FORM_EXISTS', `The slug ${slug} is taken by another form.`, [
    { path: '/slug', message: 'is already the address of another form' },
  ]);
}

/**
 * Runs another domain's write for a submission: its checks (a website that is not one, a
 * custom property of another type, double opt-in without an email) are about the form's
 * fields, so their errors name them (`/email` → `/fields/work_email`).
 */
async function asFieldErrors<T>(form: Form, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isDomainError(error) && error.code === 'VALIDATION_FAILED')
      throw validationError(captureErrorsAsFieldErrors(form, error.errors));
    throw error;
  }
}

/**
 * The settings a create (no `base`) or a change of `base` asks for, normalised, and the errors
 * only the combination shows (a lead magnet's title alone on a form without a file).
 */
function settingsOf(input: FormInput, base?: Form): { settings: FormSettings; errors: FieldError[] } {
  const pick = <K extends keyof FormSettings>(key: K, fallback: FormSettings[K]): FormSettings[K] => {
    const given = (input as Partial<Record<keyof FormSettings, unknown>>)[key];
    if (given === undefined) return base ? base[key] : fallback;
    return (given ?? fallback) as FormSettings[K];
  };
  const magnet = resolveLeadMagnet(input.leadMagnet, base?.leadMagnet ?? null);
  const settings = normaliseSettings({
    fields: input.fields ?? base?.fields ?? [],
    consents: pick('consents', []),
    submitLabel: pick('submitLabel', null),
    thankYou: pick('thankYou', null),
    leadMagnet: magnet.ok ? magnet.value : null,
    notify: pick('notify', []),
    doubleOptIn: pick('doubleOptIn', false),
    allowedOrigins: pick('allowedOrigins', []),
    progressive: pick('progressive', null),
    // Spam settings merge key by key: `{ perIpPerMinute: 30 }` keeps the other defaults.
    spam: { ...defaultSpamSettings, ...base?.spam, ...(input.spam ?? {}) },
    source: pick('source', null),
  });
  return { settings, errors: magnet.ok ? [] : [magnet.error] };
}

export function createFormService(deps: FormServiceDeps) {
  const { database, workspaces, leads, properties, events, consent, quarantine, followUps, clock } = deps;
  const { db } = database;
  const limiter = deps.limiter ?? createSubmissionLimiter(clock);
  const publicCache = new ConfigCache<Form>({ kind: 'forms', database, ttlMs: PUBLIC_CACHE_MS, clock });

  /** Forgets the forms at these slugs here, once the change is committed (or failed). */
  function forget(...slugs: string[]): void {
    for (const slug of slugs) publicCache.forget(slug);
  }

  /**
   * The form; with `lock` (in a write that stores it back) its row stays locked on PostgreSQL
   * until the transaction ends, or two processes changing different fields at once would each
   * undo the other's. SQLite serialises writers already.
   */
  async function requireForm(trx: Kysely<DB>, workspaceId: string, id: string, lock = false): Promise<Form> {
    const form = await store.findForm(trx, workspaceId, id, lock && database.engine === 'postgres');
    if (!form) throw notFound(id);
    return form;
  }

  /** The lead an anonymous visitor was identified as, read in `trx` (or outside any transaction). */
  async function knownLead(
    trx: Kysely<DB>,
    workspaceId: string,
    anonymousId: string | undefined,
  ): Promise<Lead | undefined> {
    if (!anonymousId || anonymousId.length > 128) return undefined;
    const leadId = await events.leadOfAnonymousIdIn(trx, workspaceId, anonymousId);
    if (!leadId) return undefined;
    return (await leads.findIn(trx, workspaceId, [leadId]))[0];
  }

  /**
   * A strict workspace refuses properties it does not define; a visitor cannot fix that, so a
   * form's answer for one (its definition deleted, or the workspace made strict, after the form
   * was built) is left off the lead. It stays in the submission's activity with the others.
   */
  async function withoutUndefinedProperties(
    trx: Kysely<DB>,
    workspace: WorkspaceContext,
    form: Form,
    parsed: { capture: LeadCapture; answers: Record<string, Answer> },
  ): Promise<{ capture: LeadCapture; answers: Record<string, Answer> }> {
    const { capture, answers } = parsed;
    if (!workspace.settings.strictProperties || !capture.properties) return parsed;
    const defined = await properties.definitionsIn(trx, workspace.id);
    const kept: Record<string, PropertyValue> = {};
    const left = { ...answers };
    for (const [name, value] of Object.entries(capture.properties)) {
      if (defined.has(name)) kept[name] = value;
      else {
        const field = form.fields.find((f) => f.maps === `properties.${name}`);
        if (field) left[field.name] = value as Answer;
      }
    }
    return { capture: { ...capture, properties: kept }, answers: left };
  }

  /** In a strict workspace, the fields that fill a property it does not define (to refuse the form). */
  async function undefinedTargets(workspaceId: string, fields: readonly FormField[]): Promise<FieldError[]> {
    const workspace = await workspaces.getWorkspace(workspaceId);
    if (!workspace.settings.strictProperties) return [];
    const defined = await properties.definitionsIn(db, workspaceId);
    return fields.flatMap((field, i) => {
      const name = field.maps?.startsWith('properties.') ? field.maps.slice('properties.'.length) : undefined;
      return name === undefined || defined.has(name)
        ? []
        : [
            {
              path: `/fields/${i}/maps`,
              message: 'is not a defined property, and this workspace takes only defined ones',
            },
          ];
    });
  }

  /**
   * Writes one submission in the caller's transaction: checks its values, answers a duplicate
   * like the first, quarantines suspected spam (unless `skipSpam`: a person released it), then
   * captures the lead, identifies the visitor, records the activities, the consents and the
   * follow-up emails, and the submission row. Invalid values throw VALIDATION_FAILED with
   * paths `/fields/<name>`; nothing is written then. A closed form throws FORM_CLOSED, unless
   * `evenIfClosed`.
   */
  async function submitIn(
    trx: Transaction<DB>,
    workspace: WorkspaceContext,
    form: Form,
    submission: Submission,
    options: SubmitOptions = {},
  ): Promise<SubmitOutcome> {
    if (!options.evenIfClosed && !isOpen(form))
      throw new DomainError('FORM_CLOSED', `The form ${form.slug} no longer takes submissions.`);
    const now = clock();
    const values = submission.values;
    // Required fields are those this visitor was shown: progressive profiling leaves out
    // what is known of them already.
    const anonymousId = textValue(values, reserved.anonymousId);
    const known = form.progressive ? await knownLead(trx, workspace.id, anonymousId) : undefined;
    const shown = fieldsToShow(form, known);
    // A released submission records the consents with the wording they were given under (its
    // snapshot), whatever the form says by the time a person lets it through.
    const consentsAsGiven = submission.consentsSeen ? { ...form, consents: submission.consentsSeen } : form;
    const parsed = parseSubmission(consentsAsGiven, shown, values, {
      defaultCountry: workspace.settings.defaultCountry,
    });
    if (!parsed.ok) throw validationError(parsed.errors);
    const { meta } = parsed.value;
    const { capture, answers } = await withoutUndefinedProperties(trx, workspace, form, parsed.value);

    const tokenCheck =
      meta.token === undefined
        ? undefined
        : verifyRenderToken(form.secret, form.id, meta.token, submission.receivedAt);
    // Only a token Leadline made is remembered: a forged one is spam by itself.
    const tokenHash = meta.token !== undefined && tokenCheck?.ok ? renderTokenHash(meta.token) : null;

    // Before the spam checks: a person's double click sends the same answers with the same
    // token, and must get the first one's answer, not a quarantine for a reused token.
    const fingerprint = submissionFingerprint(form, values);
    const windowMs = form.spam.duplicateWindowSeconds * 1000;
    if (windowMs > 0) {
      const earlier = await store.findRecentSubmission(
        trx,
        workspace.id,
        form.id,
        fingerprint,
        now - windowMs,
      );
      if (earlier) return { status: 'duplicate', submissionId: earlier.id, leadId: earlier.leadId };
    }

    if (!options.skipSpam) {
      // One token, one submission: a page (or a script holding its token) replayed for a day
      // with other answers is quarantined. Token checks are off with minFillSeconds 0.
      const tokenReused =
        tokenHash !== null &&
        form.spam.minFillSeconds > 0 &&
        (await store.tokenUsed(trx, workspace.id, form.id, tokenHash));
      const verdict = assessSubmission({
        settings: form.spam,
        honeypotValue: meta.honeypot,
        token: tokenCheck,
        tokenReused,
        email: parsed.value.email,
        emailDisposable: parsed.value.emailDisposable,
        now: submission.receivedAt,
      });
      if (verdict.verdict === 'quarantine') {
        await quarantine.addIn(trx, workspace.id, {
          formId: form.id,
          email: parsed.value.email ?? null,
          submission: { ...submission, consentsSeen: parsed.value.consents },
          reasons: verdict.reasons,
          ip: submission.ip,
          userAgent: submission.userAgent,
        });
        return { status: 'quarantined', reasons: verdict.reasons };
      }
    }

    const captured = await asFieldErrors(form, () => leads.captureIn(trx, workspace, capture, 'form'));
    const { lead } = captured;

    if (meta.anonymousId) {
      try {
        await events.identifyIn(trx, workspace, { anonymousId: meta.anonymousId, leadId: lead.id });
      } catch (error) {
        // A shared computer: this browser was identified as someone else before. The submission
        // still counts for the person who made it; the earlier link stays as it was.
        if (!(isDomainError(error) && error.code === 'ANONYMOUS_ID_LINKED')) throw error;
      }
    }

    const submissionId = newId();
    const described: Record<string, unknown> = {
      formId: form.id,
      formSlug: form.slug,
      // Scoring rules match `form` (`form: { matches: ['demo', 'quote'] }`): the name says what it is.
      form: form.name,
      submissionId,
      pageUrl: meta.pageUrl ?? null,
      referrer: meta.referrer ?? null,
      utm: meta.utm,
      variant: meta.variant ?? null,
    };
    const properties = fitSubmissionProperties(
      described,
      answers,
      MAX_PROPERTIES_BYTES,
      ANSWERS_BUDGET_BYTES,
    );
    const activities: unknown[] = [
      {
        id: `form:${submissionId}`,
        type: 'form_submitted',
        leadId: lead.id,
        occurredAt: submission.receivedAt,
        properties,
      },
    ];
    if (form.leadMagnet)
      activities.push({
        id: `form:${submissionId}:magnet`,
        type: 'content_downloaded',
        leadId: lead.id,
        occurredAt: submission.receivedAt,
        properties: {
          formId: form.id,
          formSlug: form.slug,
          submissionId,
          title: form.leadMagnet.title,
          // The file's description, never its download link (a credential good for 30 days).
          ...('file' in form.leadMagnet ? { file: form.leadMagnet.file } : { url: form.leadMagnet.url }),
        },
      });
    const ingested = await events.ingestIn(trx, workspace, activities);
    const rejected = ingested.results.find((r) => r.status === 'rejected');
    if (rejected) throw new Error(`a form activity was refused: ${JSON.stringify(rejected.errors)}`);

    if (parsed.value.consents.length > 0) {
      await asFieldErrors(form, () =>
        consent.recordIn(
          trx,
          workspace,
          lead.id,
          parsed.value.consents.map((c) => ({
            purpose: c.purpose,
            text: c.text,
            version: c.version,
            privacyUrl: c.privacyUrl ?? null,
          })),
          {
            source: 'form',
            formId: form.id,
            pageUrl: meta.pageUrl ?? null,
            ip: submission.ip,
            userAgent: submission.userAgent,
            at: submission.receivedAt,
          },
          { doubleOptIn: form.doubleOptIn },
          now,
        ),
      );
    }

    const accepted: AcceptedSubmission = {
      ...submission,
      id: submissionId,
      formId: form.id,
      leadId: lead.id,
      pageUrl: meta.pageUrl ?? null,
    };
    const { magnetEmailed } = await followUps.queueFollowUpsIn(trx, workspace, form, lead, accepted, now);
    await store.insertSubmission(trx, workspace.id, {
      id: submissionId,
      formId: form.id,
      leadId: lead.id,
      fingerprint,
      createdAt: now,
      tokenHash,
      magnetEmailed,
    });
    return { status: 'accepted', submissionId, leadId: lead.id, leadCreated: captured.created };
  }

  return {
    submitIn,

    async create(workspaceId: string, input: FormInput): Promise<Form> {
      const { settings, errors: magnetErrors } = settingsOf(input);
      const errors = [...magnetErrors, ...checkFormSettings(settings)];
      if (errors.length === 0) errors.push(...(await undefinedTargets(workspaceId, settings.fields)));
      if (errors.length > 0) throw validationError(errors);
      const now = clock();
      const form: Form = {
        ...settings,
        workspaceId,
        id: newId(),
        name: input.name,
        slug: input.slug,
        status: input.status ?? 'active',
        secret: randomBytes(32).toString('base64url'),
        createdAt: now,
        updatedAt: now,
        archivedAt: null,
      };
      const inserted = await writeWithSlug(
        database,
        (trx) => store.insertForm(trx, form),
        () => slugTaken(form.slug),
      );
      if (!inserted) throw slugTaken(form.slug);
      forget(form.slug);
      return form;
    },

    get: (workspaceId: string, id: string) => requireForm(db, workspaceId, id),

    list: (workspaceId: string, filter: store.FormFilter) => store.listForms(db, workspaceId, filter),

    /** Changes a form; an archived form is kept as it was (409). */
    async update(workspaceId: string, id: string, patch: FormPatch): Promise<Form> {
      const slug = patch.slug;
      const changed = await writeWithSlug(
        database,
        async (trx) => {
          const form = await requireForm(trx, workspaceId, id, true);
          if (form.archivedAt !== null) throw archived(form);
          const { settings, errors: magnetErrors } = settingsOf(
            {
              ...patch,
              name: patch.name ?? form.name,
              slug: slug ?? form.slug,
              fields: patch.fields ?? form.fields,
            },
            form,
          );
          const errors = [...magnetErrors, ...checkFormSettings(settings)];
          if (errors.length === 0 && patch.fields)
            errors.push(...(await undefinedTargets(workspaceId, settings.fields)));
          if (errors.length > 0) throw validationError(errors);
          if (slug !== undefined && slug !== form.slug && (await store.slugTaken(trx, slug, form.id)))
            throw slugTaken(slug);
          const next: Form = {
            ...form,
            ...settings,
            name: patch.name ?? form.name,
            slug: slug ?? form.slug,
            status: patch.status ?? form.status,
            updatedAt: clock(),
          };
          await store.updateForm(trx, next);
          await publicCache.changedIn(trx, form.slug);
          if (next.slug !== form.slug) await publicCache.changedIn(trx, next.slug);
          // A URL (or no magnet) replaces the file: its bytes go with it.
          if (isMagnetFile(form.leadMagnet) && !isMagnetFile(next.leadMagnet))
            await magnetStore.deleteMagnetFile(trx, workspaceId, id);
          return { before: form, after: next };
        },
        () => slugTaken(slug ?? ''),
      );
      forget(changed.before.slug, changed.after.slug);
      return changed.after;
    },

    /** Archives a form: it stops taking submissions for good and leaves the default list. Idempotent. */
    async archive(workspaceId: string, id: string): Promise<Form> {
      const form = await database.writes.run(async (trx) => {
        const found = await requireForm(trx, workspaceId, id, true);
        if (found.archivedAt !== null) return found;
        const now = clock();
        const archived: Form = { ...found, archivedAt: now, updatedAt: now };
        await store.updateForm(trx, archived);
        await publicCache.changedIn(trx, archived.slug);
        return archived;
      });
      forget(form.slug);
      return form;
    },

    /**
     * Makes `upload` the form's lead magnet: its bytes stored and the form's `leadMagnet` set to
     * the file, titled `upload.title`, else the magnet's title so far, else the file name; a URL
     * or an earlier file is replaced. One transaction. An archived form is kept as it was (409).
     */
    async putMagnetFile(workspaceId: string, id: string, upload: MagnetUpload): Promise<Form> {
      // Hashed before the transaction: 25 MiB take tens of milliseconds no grouped write should wait.
      const file: MagnetFile = {
        name: upload.name,
        contentType: upload.contentType,
        size: upload.content.length,
        sha256: createHash('sha256').update(upload.content).digest('hex'),
      };
      const form = await database.writes.run(async (trx) => {
        const found = await requireForm(trx, workspaceId, id, true);
        if (found.archivedAt !== null) throw archived(found);
        const now = clock();
        const title = upload.title ?? found.leadMagnet?.title ?? upload.name;
        const next: Form = { ...found, leadMagnet: { title, file }, updatedAt: now };
        await magnetStore.putMagnetFile(trx, workspaceId, id, file, upload.content, now);
        await store.updateForm(trx, next);
        await publicCache.changedIn(trx, next.slug);
        return next;
      });
      forget(form.slug);
      return form;
    },

    /** Removes the form's lead-magnet file, and with it the lead magnet (links sent stop working). */
    async removeMagnetFile(workspaceId: string, id: string): Promise<Form> {
      const form = await database.writes.run(async (trx) => {
        const found = await requireForm(trx, workspaceId, id, true);
        if (!isMagnetFile(found.leadMagnet)) throw magnetNotFound(found);
        if (found.archivedAt !== null) throw archived(found);
        const next: Form = { ...found, leadMagnet: null, updatedAt: clock() };
        await magnetStore.deleteMagnetFile(trx, workspaceId, id);
        await store.updateForm(trx, next);
        await publicCache.changedIn(trx, next.slug);
        return next;
      });
      forget(form.slug);
      return form;
    },

    /** The form's lead-magnet file with its bytes, for the workspace's own keys. */
    async magnetFile(workspaceId: string, id: string): Promise<StoredMagnetFile> {
      const form = await requireForm(db, workspaceId, id);
      const file = isMagnetFile(form.leadMagnet)
        ? await magnetStore.findMagnetFile(db, workspaceId, id)
        : undefined;
      if (!file) throw magnetNotFound(form);
      return file;
    },

    /**
     * The file a download link of `form` (as getPublic gives it) serves: none once the form is
     * archived or its magnet is no longer a file. Read fresh: the public form may be seconds old.
     */
    async magnetDownload(form: Form): Promise<StoredMagnetFile | undefined> {
      if (form.archivedAt !== null || !isMagnetFile(form.leadMagnet)) return undefined;
      return magnetStore.findMagnetFile(db, form.workspaceId, form.id);
    },

    /** A form's written submissions, newest first (quarantined ones are in the quarantine). */
    async submissions(
      workspaceId: string,
      id: string,
      limit: number,
      before?: { value: number; id: string },
    ) {
      await requireForm(db, workspaceId, id);
      return store.listSubmissions(db, workspaceId, id, limit, before);
    },

    /**
     * The form at a public address and its workspace (closed and archived forms too: their
     * pages say so). Cached for a few seconds: every submission starts here.
     */
    async getPublic(slug: string): Promise<{ workspace: Workspace; form: Form }> {
      const form = await publicCache.read(slug, async () => {
        const found = await store.findFormBySlug(db, slug);
        if (!found) throw notFound(slug);
        return found;
      });
      return { workspace: await workspaces.getWorkspace(form.workspaceId), form };
    },

    /** Forgets cached public lookups (of a slug, or all): another process changed the form. */
    forgetCached: (slug?: string) => publicCache.forget(slug),

    /** The fields a visitor is shown: progressive profiling for an identified anonymous id. */
    async fieldsFor(
      workspace: WorkspaceContext,
      form: Form,
      anonymousId: string | undefined,
    ): Promise<FormField[]> {
      if (!form.progressive) return fieldsToShow(form, undefined);
      return fieldsToShow(form, await knownLead(db, workspace.id, anonymousId));
    },

    /** A fresh render token for the form (`_ll_ts`): proves when it was shown. */
    token: (form: Form) => renderToken(form.secret, form.id, clock()),

    /**
     * Takes one public submission: the form's rate limits first (refused: nothing stored, the
     * sender told when to retry), then `submitIn` in one grouped transaction. An invalid
     * submission does not count against the limits.
     */
    async submit(
      workspace: WorkspaceContext,
      form: Form,
      submission: Submission,
    ): Promise<SubmitOutcome | { status: 'rate_limited'; retryAfterSeconds: number }> {
      if (!isOpen(form))
        throw new DomainError('FORM_CLOSED', `The form ${form.slug} no longer takes submissions.`);
      const decision = limiter.take(form.id, submission.ip, form.spam);
      if (!decision.ok) return { status: 'rate_limited', retryAfterSeconds: decision.retryAfterSeconds };
      try {
        return await database.writes.run((trx) => submitIn(trx, workspace, form, submission));
      } catch (error) {
        if (isDomainError(error) && error.code === 'VALIDATION_FAILED') decision.refund();
        throw error;
      }
    },
  };
}
