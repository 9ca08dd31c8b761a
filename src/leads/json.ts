import Type from 'typebox';
import { stages } from '../lifecycle/model.ts';
import { PropertyValueSchema, UtmSchema } from './input.ts';
import { channels, type Lead, type TimelineEntry, type Touch } from './model.ts';

/** How leads look in the API: camelCase, ISO 8601 times. The response schemas stop field leaks. */
const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const TouchSchema = Type.Object({
  source: Nullable(Type.String()),
  channel: Type.Enum(channels),
  utm: UtmSchema,
  referrer: Nullable(Type.String()),
  landingPage: Nullable(Type.String()),
  at: Type.String({ format: 'date-time' }),
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
  ownerId: Nullable(Type.String()),
  archivedAt: Nullable(Type.String({ format: 'date-time' })),
  mergedIntoId: Nullable(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
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

export function leadJson(lead: Lead) {
  const { workspaceId: _workspace, ...rest } = lead;
  return {
    ...rest,
    firstTouch: touchJson(lead.firstTouch),
    lastTouch: touchJson(lead.lastTouch),
    archivedAt: lead.archivedAt === null ? null : iso(lead.archivedAt),
    createdAt: iso(lead.createdAt),
    updatedAt: iso(lead.updatedAt),
  };
}

export function timelineEntryJson(entry: TimelineEntry) {
  return { id: entry.id, type: entry.type, occurredAt: iso(entry.occurredAt), properties: entry.properties };
}
