import Type from 'typebox';
import { Nullable } from '../http/schemas.ts';
import { stages } from '../lifecycle/model.ts';
import { temperatures } from '../lifecycle/temperature.ts';
import type { Score } from '../scoring/engine.ts';
import { PropertyValueSchema, UtmSchema } from './input.ts';
import {
  channels,
  type Lead,
  type Opportunity,
  opportunityStatuses,
  type TimelineEntry,
  type Touch,
} from './model.ts';

/** How leads look in the API: camelCase, ISO 8601 times. The response schemas stop field leaks. */

export const TouchSchema = Type.Object({
  source: Nullable(Type.String()),
  channel: Type.Enum(channels),
  utm: UtmSchema,
  referrer: Nullable(Type.String()),
  landingPage: Nullable(Type.String()),
  at: Type.String({ format: 'date-time' }),
});

export const OpportunitySchema = Type.Object({
  status: Type.Enum(opportunityStatuses),
  amount: Nullable(Type.Number()),
  currency: Nullable(Type.String()),
  expectedCloseDate: Nullable(Type.String()),
  openedAt: Type.String({ format: 'date-time' }),
  closedAt: Nullable(Type.String({ format: 'date-time' })),
  value: Nullable(Type.Number()),
  lostReason: Nullable(Type.String()),
});

export const LeadSchema = Type.Object({
  id: Type.String(),
  email: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  firstName: Nullable(Type.String()),
  lastName: Nullable(Type.String()),
  company: Nullable(Type.String()),
  companyDomain: Nullable(Type.String()),
  jobTitle: Nullable(Type.String()),
  companySize: Nullable(Type.Integer()),
  industry: Nullable(Type.String()),
  country: Nullable(Type.String()),
  city: Nullable(Type.String()),
  website: Nullable(Type.String()),
  emailDisposable: Type.Boolean(),
  source: Nullable(Type.String()),
  channel: Nullable(Type.String()),
  firstTouch: Nullable(TouchSchema),
  lastTouch: Nullable(TouchSchema),
  properties: Type.Record(Type.String(), PropertyValueSchema),
  stage: Type.Enum(stages),
  stageChangedAt: Type.String({ format: 'date-time' }),
  ownerId: Nullable(Type.String()),
  archivedAt: Nullable(Type.String({ format: 'date-time' })),
  mergedIntoId: Nullable(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  /** fit + behaviour now + negatives, clamped to 0–100, at the moment of the response. */
  score: Type.Optional(Type.Number()),
  fitScore: Type.Optional(Type.Number()),
  behaviourScore: Type.Optional(Type.Number()),
  negativeScore: Type.Optional(Type.Number()),
  /** Fit letter A–D × engagement digit 1–4 ("A1" best). */
  grade: Type.Optional(Type.String()),
  temperature: Type.Enum(temperatures),
  pql: Type.Boolean(),
  serviceQualified: Type.Boolean(),
  opportunity: Nullable(OpportunitySchema),
});

export const TimelineEntrySchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  occurredAt: Type.String({ format: 'date-time' }),
  properties: Type.Record(Type.String(), Type.Unknown()),
});

export const iso = (ms: number) => new Date(ms).toISOString();

function touchJson(touch: Touch | null) {
  return touch && { ...touch, at: iso(touch.at) };
}

export function opportunityJson(opportunity: Opportunity | null) {
  return (
    opportunity && {
      ...opportunity,
      openedAt: iso(opportunity.openedAt),
      closedAt: opportunity.closedAt === null ? null : iso(opportunity.closedAt),
    }
  );
}

/**
 * A lead as the API shows it. `score` is its score at the moment of the response (see
 * ScoringService.scorer); without it (exports) the score fields are left out.
 */
export function leadJson(lead: Lead, score?: Score) {
  const { workspaceId: _workspace, scoring, qualification: _qualification, ...rest } = lead;
  return {
    ...rest,
    firstTouch: touchJson(lead.firstTouch),
    lastTouch: touchJson(lead.lastTouch),
    stageChangedAt: iso(lead.stageChangedAt),
    archivedAt: lead.archivedAt === null ? null : iso(lead.archivedAt),
    createdAt: iso(lead.createdAt),
    updatedAt: iso(lead.updatedAt),
    ...(score && {
      score: score.score,
      fitScore: score.fitScore,
      behaviourScore: score.behaviourScore,
      negativeScore: score.negativeScore,
      grade: score.grade,
    }),
    temperature: scoring.temperature,
    pql: scoring.pql,
    serviceQualified: scoring.serviceQualified,
    opportunity: opportunityJson(lead.opportunity),
  };
}

export function timelineEntryJson(entry: TimelineEntry) {
  return { id: entry.id, type: entry.type, occurredAt: iso(entry.occurredAt), properties: entry.properties };
}
