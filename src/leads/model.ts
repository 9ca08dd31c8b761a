import { DomainError } from '../errors.ts';
import type { Stage } from '../lifecycle/model.ts';
import { mergeQualifications, type Qualification } from '../lifecycle/qualification.ts';
import type { Temperature } from '../lifecycle/temperature.ts';
import { emailDomainToAscii } from './normalise.ts';

/** Marketing channel of a touch, in the spirit of GA4's default channel grouping. */
export const channels = [
  'organic_search',
  'paid_search',
  'organic_social',
  'paid_social',
  'display',
  'email',
  'referral',
  'direct',
  'events',
  'offline',
  'other',
] as const;
export type Channel = (typeof channels)[number];

export interface Utm {
  source?: string;
  medium?: string;
  campaign?: string;
  term?: string;
  content?: string;
}

/** Where one capture came from. A lead keeps its first and its latest touch apart. */
export interface Touch {
  source: string | null;
  channel: Channel;
  utm: Utm;
  referrer: string | null;
  landingPage: string | null;
  /** Epoch milliseconds. */
  at: number;
}

export type PropertyValue = string | number | boolean | string[] | null;

/**
 * What scoring and qualification keep on the lead row (src/scoring, src/lifecycle): enough to
 * compute the exact score at any moment without the per-rule state, and to filter lists.
 */
export interface LeadScoring {
  /** The scoring model version these numbers come from; null: not scored yet. */
  modelVersion: number | null;
  /** Fit points (who the lead is), recomputed on every change of the lead. */
  fitScore: number;
  /** Negative points from who the lead is (student title, competitor…). */
  profileNegative: number;
  /** Negative points from activities (unsubscribed, bounced…); they do not decay. */
  activityNegative: number;
  /** Behaviour points in the log domain (scoring/decay.ts); null: none. */
  behaviourK: number | null;
  /** The half-life `behaviourK` decays with, in days. */
  halfLifeDays: number;
  lastHighIntentAt: number | null;
  temperature: Temperature;
  /** When the temperature drops by decay alone if nothing happens; null: never (cold). */
  temperatureChangesAt: number | null;
  /** Product-qualified lead. */
  pql: boolean;
  /** Service-qualified lead (purchase intent through support). */
  serviceQualified: boolean;
  /**
   * A person moved the lead backwards (rejected, recycled, lost): score-based stage rules
   * move it forward again only on a new crossing of their threshold, not because the score
   * is still above it. Activity rules (a demo request) still apply. Cleared by a forward move.
   */
  stageHold: boolean;
}

export const opportunityStatuses = ['open', 'won', 'lost'] as const;
export type OpportunityStatus = (typeof opportunityStatuses)[number];

/** A deal in progress; amounts in the currency's major unit (e.g. 1200.50 EUR). */
export interface Opportunity {
  status: OpportunityStatus;
  amount: number | null;
  currency: string | null;
  /** YYYY-MM-DD. */
  expectedCloseDate: string | null;
  openedAt: number;
  closedAt: number | null;
  /** The value won (may differ from `amount`). */
  value: number | null;
  lostReason: string | null;
}

/** A lead before scoring: what `newLead` starts with. */
export const unscored: LeadScoring = {
  modelVersion: null,
  fitScore: 0,
  profileNegative: 0,
  activityNegative: 0,
  behaviourK: null,
  halfLifeDays: 30,
  lastHighIntentAt: null,
  temperature: 'cold',
  temperatureChangesAt: null,
  pql: false,
  serviceQualified: false,
  stageHold: false,
};

/** A lead as the domain sees it (times in epoch milliseconds). */
export interface Lead {
  id: string;
  workspaceId: string;
  email: string | null;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  companyDomain: string | null;
  jobTitle: string | null;
  companySize: number | null;
  industry: string | null;
  country: string | null;
  city: string | null;
  website: string | null;
  emailDisposable: boolean;
  source: string | null;
  channel: Channel | null;
  firstTouch: Touch | null;
  lastTouch: Touch | null;
  properties: Record<string, PropertyValue>;
  stage: Stage;
  /** When the lead entered its current stage. */
  stageChangedAt: number;
  ownerId: string | null;
  archivedAt: number | null;
  mergedIntoId: string | null;
  createdAt: number;
  updatedAt: number;
  scoring: LeadScoring;
  /** When a person last cleared each flag (epoch ms; null: never). */
  flagsClearedAt: FlagClears;
  opportunity: Opportunity | null;
  qualification: Qualification | null;
}

/**
 * When a person last cleared a flag: activities up to that moment (a rescore's replay, a late
 * event) do not set it again; a later one does.
 */
export interface FlagClears {
  pql: number | null;
  serviceQualified: number | null;
}

export const noFlagClears: FlagClears = { pql: null, serviceQualified: null };

/** A capture request after validation and normalisation: what `capture` writes. */
export interface LeadCapture {
  email?: string;
  phone?: string;
  firstName?: string;
  lastName?: string;
  company?: string;
  /** From the email's domain unless it is a free-mail domain; or from `website`. */
  companyDomain?: string;
  jobTitle?: string;
  companySize?: number;
  industry?: string;
  /** ISO 3166-1 alpha-2. */
  country?: string;
  city?: string;
  website?: string;
  emailDisposable?: boolean;
  stage?: Stage;
  ownerId?: string;
  properties?: Record<string, PropertyValue>;
  /** Present when the capture carries any source, UTM, referrer or landing page. */
  touch?: Touch;
  /**
   * When the lead was created, for a capture that records history rather than a new sign of
   * interest (a CSV import's create date). Its touch is the lead's origin: it replaces a later
   * first touch, but never a last touch the lead already has.
   */
  at?: number;
}

/** Lead fields a capture can set directly, in the order exports list them. */
export const leadFields = [
  'email',
  'phone',
  'firstName',
  'lastName',
  'company',
  'companyDomain',
  'jobTitle',
  'companySize',
  'industry',
  'country',
  'city',
  'website',
] as const;
export type LeadField = (typeof leadFields)[number];

/**
 * Lead fields a capture from outside (a form field, an ad platform's answer) may fill:
 * `leadFields` but `companyDomain`, which is derived from the email or website.
 */
export const capturableLeadFields = [
  'email',
  'phone',
  'firstName',
  'lastName',
  'company',
  'jobTitle',
  'companySize',
  'industry',
  'country',
  'city',
  'website',
] as const satisfies readonly LeadField[];

/** System entries the lead's timeline records beside the activities it receives. */
export const timelineTypes = [
  'lead_created',
  'lead_updated',
  'lead_merged',
  'lead_archived',
  'lead_restored',
  'identified',
  'stage_changed',
  'temperature_changed',
  'flag_set',
  'flag_cleared',
  'qualification_updated',
  'opportunity_updated',
  'lead_assigned',
  'task_created',
  'task_completed',
  'task_cancelled',
  'sla_started',
  'sla_met',
  'sla_breached',
  'alert_sent',
  'consent_granted',
  'consent_requested',
  'consent_withdrawn',
] as const;

/**
 * A custom property's value, or undefined. Only the lead's own keys: property names such as
 * `constructor` or `toString` are allowed, and a plain lookup would find the object's
 * inherited members under them (a rule on `properties.constructor` fired for every lead).
 */
export function propertyOf(lead: Pick<Lead, 'properties'>, name: string): unknown {
  return Object.hasOwn(lead.properties, name) ? lead.properties[name] : undefined;
}

/** One entry of a lead's timeline (an activity or a system entry). */
export interface TimelineEntry {
  id: string;
  leadId: string;
  type: string;
  occurredAt: number;
  properties: Record<string, unknown>;
}

export function searchText(lead: Pick<Lead, 'firstName' | 'lastName' | 'email' | 'company'>): string {
  return [lead.firstName, lead.lastName, lead.email, lead.company]
    .filter((part): part is string => Boolean(part))
    .join(' ')
    .toLowerCase();
}

/**
 * What a list's `q` is looked for in `searchText`, as substrings: the query trimmed, in NFC and
 * lower case, and, when its domain part (after the last '@', or the whole query) is not ASCII,
 * also with that part in punycode, as capture stores an email's domain (`emailDomainToAscii`):
 * 'info@müller.de' → also 'info@xn--mller-kva.de', 'müller' → also 'xn--mller-kva'. Punycode
 * does not keep substrings, so a part of a Unicode label ('müll') finds no email. Empty when the
 * query is blank: no filter.
 */
export function searchTerms(q: string): string[] {
  const term = q.trim().normalize('NFC').toLowerCase();
  if (term === '') return [];
  const at = term.lastIndexOf('@');
  const domain = term.slice(at + 1);
  const ascii = domain === '' ? null : emailDomainToAscii(domain);
  return ascii === null || ascii === domain ? [term] : [term, `${term.slice(0, at + 1)}${ascii}`];
}

/** A new lead from its first capture. */
export function newLead(
  id: string,
  workspaceId: string,
  capture: LeadCapture,
  defaultStageValue: Stage,
  now: number,
): Lead {
  const at = capture.at ?? now;
  return {
    id,
    workspaceId,
    email: capture.email ?? null,
    phone: capture.phone ?? null,
    firstName: capture.firstName ?? null,
    lastName: capture.lastName ?? null,
    company: capture.company ?? null,
    companyDomain: capture.companyDomain ?? null,
    jobTitle: capture.jobTitle ?? null,
    companySize: capture.companySize ?? null,
    industry: capture.industry ?? null,
    country: capture.country ?? null,
    city: capture.city ?? null,
    website: capture.website ?? null,
    emailDisposable: capture.emailDisposable ?? false,
    source: capture.touch?.source ?? null,
    channel: capture.touch?.channel ?? null,
    firstTouch: capture.touch ?? null,
    lastTouch: capture.touch ?? null,
    properties: withoutNulls(capture.properties ?? {}),
    stage: capture.stage ?? defaultStageValue,
    stageChangedAt: at,
    ownerId: capture.ownerId ?? null,
    archivedAt: null,
    mergedIntoId: null,
    createdAt: at,
    updatedAt: now,
    scoring: unscored,
    flagsClearedAt: noFlagClears,
    opportunity: null,
    qualification: null,
  };
}

/**
 * The deal a merged lead keeps (a lead has one): an open deal before a won one before a lost one,
 * so the survivor can still work the deal in progress and its stage agrees with its deal; among
 * closed ones of the same kind the later. The other stays on the timeline. Two open deals cannot
 * become one: MERGE_CONFLICT, close one first.
 */
function mergedDeal(winner: Lead, loser: Lead): Opportunity | null {
  const a = winner.opportunity;
  const b = loser.opportunity;
  if (!a || !b) return a ?? b;
  if (a.status === 'open' && b.status === 'open')
    throw new DomainError(
      'MERGE_CONFLICT',
      'Both leads have an open opportunity: close one of them (won or lost) before merging.',
    );
  const rank = { open: 0, won: 1, lost: 2 } as const;
  if (rank[a.status] !== rank[b.status]) return rank[a.status] < rank[b.status] ? a : b;
  return (b.closedAt ?? 0) > (a.closedAt ?? 0) ? b : a;
}

function latest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

function withoutNulls(values: Record<string, PropertyValue>): Record<string, PropertyValue> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null));
}

/**
 * A later capture of a known lead: given fields overwrite (the latest word wins), absent ones
 * stay, properties merge key by key (null removes a key), the stage only moves forward, the
 * earlier first touch and the later last touch win (a touch is dated by its `at`; a dated
 * capture's touch is history, see `LeadCapture.at`). An archived lead is restored, unless
 * `restore` is false (an import is data from elsewhere, not the person showing up again).
 * Returns the lead and the fields that changed.
 */
export function applyCapture(
  lead: Lead,
  capture: LeadCapture,
  now: number,
  forward: (current: Stage, proposed: Stage | undefined) => Stage,
  restore = true,
): { lead: Lead; changed: string[] } {
  const next: Lead = { ...lead };
  const changed: string[] = [];
  for (const field of leadFields) {
    const value = capture[field];
    if (value !== undefined && value !== lead[field]) {
      (next as unknown as Record<string, unknown>)[field] = value;
      changed.push(field);
    }
  }
  if (capture.emailDisposable !== undefined && capture.emailDisposable !== lead.emailDisposable) {
    next.emailDisposable = capture.emailDisposable;
  }
  if (capture.properties) {
    const properties = { ...lead.properties };
    for (const [key, value] of Object.entries(capture.properties)) {
      if (value === null) {
        if (key in properties) {
          delete properties[key];
          changed.push(`properties.${key}`);
        }
      } else if (JSON.stringify(properties[key]) !== JSON.stringify(value)) {
        properties[key] = value;
        changed.push(`properties.${key}`);
      }
    }
    next.properties = properties;
  }
  const stage = forward(lead.stage, capture.stage);
  if (stage !== lead.stage) {
    next.stage = stage;
    next.stageChangedAt = now;
    changed.push('stage');
  }
  // Touches are ordered by when they happened, not by when they arrive: an import of a CRM's
  // history can bring a touch older than those already known (as a merge compares them too).
  const touch = capture.touch;
  if (touch) {
    if (!lead.lastTouch || (capture.at === undefined && touch.at >= lead.lastTouch.at))
      next.lastTouch = touch;
    if (!lead.firstTouch || touch.at < lead.firstTouch.at) {
      next.firstTouch = touch;
      next.source = touch.source;
      next.channel = touch.channel;
      changed.push('source');
    }
  }
  if (capture.ownerId !== undefined && capture.ownerId !== lead.ownerId) {
    next.ownerId = capture.ownerId;
    changed.push('ownerId');
  }
  const restored = restore && lead.archivedAt !== null;
  if (restored) next.archivedAt = null;
  if (changed.length > 0 || capture.touch || restored) next.updatedAt = now;
  return { lead: next, changed };
}

/**
 * An explicit merge: `winner` keeps its id and email; fields it lacks come from `loser`;
 * properties combine with the winner's values first; the earlier first touch and the later
 * last touch win; the furthest stage wins.
 */
export function mergeLeads(
  winner: Lead,
  loser: Lead,
  now: number,
  forward: (a: Stage, b: Stage) => Stage,
): Lead {
  const merged: Lead = { ...winner };
  for (const field of leadFields) {
    if (merged[field] === null && loser[field] !== null)
      (merged as unknown as Record<string, unknown>)[field] = loser[field];
  }
  // The disposable flag describes the email: it comes along when the email does.
  if (winner.email === null && loser.email !== null) merged.emailDisposable = loser.emailDisposable;
  merged.properties = { ...loser.properties, ...winner.properties };
  if (loser.firstTouch && (!winner.firstTouch || loser.firstTouch.at < winner.firstTouch.at)) {
    merged.firstTouch = loser.firstTouch;
    merged.source = loser.source;
    merged.channel = loser.channel;
  }
  if (loser.lastTouch && (!winner.lastTouch || loser.lastTouch.at > winner.lastTouch.at))
    merged.lastTouch = loser.lastTouch;
  merged.stage = forward(winner.stage, loser.stage);
  if (merged.stage !== winner.stage) merged.stageChangedAt = now;
  merged.opportunity = mergedDeal(winner, loser);
  merged.qualification = mergeQualifications(winner.qualification, loser.qualification);
  // A person's clear of a flag on either lead holds for the merged history (the later one).
  merged.flagsClearedAt = {
    pql: latest(winner.flagsClearedAt.pql, loser.flagsClearedAt.pql),
    serviceQualified: latest(winner.flagsClearedAt.serviceQualified, loser.flagsClearedAt.serviceQualified),
  };
  merged.ownerId = winner.ownerId ?? loser.ownerId;
  merged.createdAt = Math.min(winner.createdAt, loser.createdAt);
  merged.updatedAt = now;
  return merged;
}
