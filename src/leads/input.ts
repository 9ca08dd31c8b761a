import Type, { type Static } from 'typebox';
import type { FieldError } from '../errors.ts';
import { isStage, stages } from '../lifecycle/model.ts';
import { PROPERTY_NAME_PATTERN } from '../properties/model.ts';
import { compileValidator } from '../validate.ts';
import { deriveChannel, utmFromUrl } from './channel.ts';
import type { LeadCapture, PropertyValue, Touch, Utm } from './model.ts';
import {
  companyDomainFromEmail,
  isDisposableEmail,
  normaliseCountry,
  normaliseEmail,
  normalisePhoneIn,
  normaliseText,
  normaliseWebsite,
} from './normalise.ts';

const text = (maxLength: number) => Type.String({ maxLength });

export const UtmSchema = Type.Object(
  {
    source: Type.Optional(text(200)),
    medium: Type.Optional(text(200)),
    campaign: Type.Optional(text(200)),
    term: Type.Optional(text(200)),
    content: Type.Optional(text(200)),
  },
  { additionalProperties: false },
);

/**
 * A custom property value: string, number, boolean, null or a list of strings. One schema with
 * a list of types rather than a union: a validator that coerces types converts a value into the
 * first branch of an `anyOf` (42 was stored as "42" while Fastify's ajv coerced bodies).
 */
export const PropertyValueSchema = Type.Unsafe<PropertyValue>({
  // 'array' first: the response serializer tries the types in order, and as 'string' it would
  // turn ['a', 'b'] into "a,b".
  type: ['array', 'string', 'number', 'boolean', 'null'],
  maxLength: 5000,
  items: { type: 'string', maxLength: 500 },
  maxItems: 100,
});

/** The body of `POST /api/v1/leads` and one item of a batch. Empty strings count as absent. */
export const LeadInputSchema = Type.Object(
  {
    email: Type.Optional(text(320)),
    phone: Type.Optional(text(50)),
    firstName: Type.Optional(text(200)),
    lastName: Type.Optional(text(200)),
    company: Type.Optional(text(300)),
    jobTitle: Type.Optional(text(300)),
    companySize: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
    industry: Type.Optional(text(200)),
    country: Type.Optional(text(100)),
    city: Type.Optional(text(200)),
    website: Type.Optional(text(500)),
    source: Type.Optional(text(200)),
    utm: Type.Optional(UtmSchema),
    referrer: Type.Optional(text(2000)),
    landingPage: Type.Optional(text(2000)),
    stage: Type.Optional(Type.Enum(stages)),
    /** The salesperson who owns the lead (routing assigns one; the API and imports may set it). */
    ownerId: Type.Optional(text(64)),
    properties: Type.Optional(
      Type.Record(Type.String(), PropertyValueSchema, {
        maxProperties: 200,
        // The name rule as `propertyNames`, not as the record's key pattern: a key outside a key
        // pattern is refused as an "additional property", which does not say what is wrong with it.
        propertyNames: { pattern: PROPERTY_NAME_PATTERN },
        description: `Custom properties (at most 200). Names match ${PROPERTY_NAME_PATTERN}: a letter, then up to 99 letters, digits or _.`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type LeadInput = Static<typeof LeadInputSchema>;

const checkShape = compileValidator(LeadInputSchema);

export interface ParseContext {
  /** Country for phone numbers without a country code. */
  defaultCountry?: string | undefined;
  /** Epoch ms of the capture. */
  now: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/**
 * Trimmed text in one Unicode form (NFC: an é typed as e + accent is stored as é, so search
 * finds it either way), with empty strings as absent: forms and CSV files send "" for "not given".
 */
function clean(value: string | undefined): string | undefined {
  const trimmed = value === undefined ? undefined : normaliseText(value);
  return trimmed ? trimmed : undefined;
}

function cleanUtm(utm: Utm | undefined): Utm {
  const out: Utm = {};
  for (const key of ['source', 'medium', 'campaign', 'term', 'content'] as const) {
    const value = clean(utm?.[key]);
    if (value) out[key] = value;
  }
  return out;
}

/**
 * Validates and normalises one lead capture. `basePath` prefixes the field paths, so a batch
 * reports `/leads/3/email`. Pure: the same input and context always give the same result.
 */
export function parseLeadInput(raw: unknown, context: ParseContext, basePath = ''): Parsed<LeadCapture> {
  const shapeErrors = checkShape(raw, basePath);
  if (shapeErrors.length > 0) return { ok: false, errors: shapeErrors };
  const input = raw as LeadInput;
  const errors: FieldError[] = [];
  const out: LeadCapture = {};

  const email = clean(input.email);
  if (email) {
    const result = normaliseEmail(email);
    if (result.ok) {
      out.email = result.value;
      out.emailDisposable = isDisposableEmail(result.value);
      const domain = companyDomainFromEmail(result.value);
      if (domain) out.companyDomain = domain;
    } else errors.push({ path: `${basePath}/email`, message: result.message });
  }
  const country = clean(input.country);
  if (country) {
    const result = normaliseCountry(country);
    if (result.ok) out.country = result.value;
    else errors.push({ path: `${basePath}/country`, message: result.message });
  }
  const phone = clean(input.phone);
  if (phone) {
    // A national number ("(415) 555-0199") is read in the lead's own country first.
    const result = normalisePhoneIn(phone, [out.country, context.defaultCountry]);
    if (result.ok) out.phone = result.value;
    else errors.push({ path: `${basePath}/phone`, message: result.message });
  }
  if (!email && !phone)
    errors.push({ path: `${basePath}/email`, message: 'is required unless phone is given' });
  const website = clean(input.website);
  if (website) {
    const result = normaliseWebsite(website);
    if (result.ok) {
      out.website = result.value.url;
      out.companyDomain ??= result.value.domain;
    } else errors.push({ path: `${basePath}/website`, message: result.message });
  }
  for (const field of ['firstName', 'lastName', 'company', 'jobTitle', 'industry', 'city'] as const) {
    const value = clean(input[field]);
    if (value) out[field] = value;
  }
  if (input.companySize !== undefined) out.companySize = input.companySize;
  if (input.stage !== undefined && isStage(input.stage)) out.stage = input.stage;
  const ownerId = clean(input.ownerId);
  if (ownerId) out.ownerId = ownerId;
  if (input.properties) out.properties = input.properties as Record<string, PropertyValue>;

  const touch = parseTouch(input, context.now);
  if (touch) out.touch = touch;
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: out };
}

/** The touch a capture carries, if it carries any source information at all. */
export function parseTouch(
  input: { source?: string; utm?: Utm; referrer?: string; landingPage?: string },
  at: number,
): Touch | undefined {
  const source = clean(input.source) ?? null;
  const referrer = clean(input.referrer) ?? null;
  const landingPage = clean(input.landingPage) ?? null;
  let utm = cleanUtm(input.utm);
  if (Object.keys(utm).length === 0 && landingPage) utm = utmFromUrl(landingPage);
  if (!source && !referrer && !landingPage && Object.keys(utm).length === 0) return undefined;
  const channel = deriveChannel({ source, utm, referrer, landingPage });
  return { source: source ?? utm.source ?? null, channel, utm, referrer, landingPage, at };
}
