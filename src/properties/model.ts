import type { FieldError } from '../errors.ts';
import type { PropertyValue } from '../leads/model.ts';
import { parseDateTimeAsUtc } from '../time.ts';

/**
 * What a custom property may be named: a letter, then up to 99 letters, digits or `_`. The name
 * is a key in scoring rules, segments and `properties.<name>` mappings, where `-`, `.` or a space
 * would not read as one name.
 */
export const PROPERTY_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_]{0,99}$';

export const propertyTypes = ['string', 'number', 'boolean', 'date', 'enum'] as const;
export type PropertyType = (typeof propertyTypes)[number];

/** A workspace's declared custom property: its values are type-checked on every write. */
export interface PropertyDefinition {
  name: string;
  type: PropertyType;
  label: string | null;
  /** Allowed values of an `enum` property; null for other types. */
  options: string[] | null;
  createdAt: number;
  updatedAt: number;
}

/** A day without a time. */
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A decimal number as text: 42, -1.5, .5, 1e3. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;
/**
 * Thousands grouped with commas, as spreadsheets export them: 1,234 and -1,234,567.89. Only
 * groups of three after the first: "1,5" (a decimal comma) stays refused, not read as 15.
 */
const GROUPED = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;

/** The number a text says, if it is written as one (decimal or comma-grouped); NaN otherwise. */
function numberText(text: string): number {
  const trimmed = text.trim();
  if (DECIMAL.test(trimmed)) return Number(trimmed);
  return GROUPED.test(trimmed) ? Number(trimmed.replaceAll(',', '')) : Number.NaN;
}

/**
 * Checks (and normalises) one value against its definition. Strings from forms and CSV files
 * are accepted for numbers and booleans when they read unambiguously ("42", "true", "no").
 */
export function coercePropertyValue(
  definition: PropertyDefinition,
  value: PropertyValue,
): { ok: true; value: PropertyValue } | { ok: false; message: string } {
  if (value === null) return { ok: true, value: null };
  switch (definition.type) {
    case 'string':
      return typeof value === 'string' ? { ok: true, value } : { ok: false, message: 'must be a string' };
    case 'number': {
      // Decimal text only: Number() also reads '0x10', '0b11' and '0o7' (16, 3 and 7).
      const n = typeof value === 'string' ? numberText(value) : value;
      return typeof n === 'number' && Number.isFinite(n)
        ? { ok: true, value: n }
        : { ok: false, message: 'must be a number' };
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { ok: true, value };
      const word = typeof value === 'string' ? value.trim().toLowerCase() : '';
      if (['true', 'yes', '1'].includes(word)) return { ok: true, value: true };
      if (['false', 'no', '0'].includes(word)) return { ok: true, value: false };
      return { ok: false, message: 'must be a boolean' };
    }
    case 'date': {
      // One stored form per kind, so values compare and sort as text: a day as YYYY-MM-DD, an
      // instant as UTC ISO 8601 (a time without a zone, as a datetime-local input sends it, is UTC).
      const text = typeof value === 'string' ? value.trim() : '';
      const at = parseDateTimeAsUtc(text);
      if (at === null) return { ok: false, message: 'must be an ISO 8601 date (YYYY-MM-DD or a date-time)' };
      return { ok: true, value: DAY.test(text) ? text : new Date(at).toISOString() };
    }
    case 'enum': {
      // In one Unicode form: "Ü" typed as U + diaeresis is the option "Ü".
      const option =
        typeof value === 'string'
          ? (definition.options ?? []).find((o) => o.normalize('NFC') === value.normalize('NFC'))
          : undefined;
      return option !== undefined
        ? { ok: true, value: option }
        : { ok: false, message: `must be one of: ${(definition.options ?? []).join(', ')}` };
    }
  }
}

/**
 * Type-checks custom property values against the workspace's definitions. Undefined names
 * pass as given unless the workspace is strict. Returns the coerced values or field errors.
 */
export function checkProperties(
  values: Record<string, PropertyValue>,
  definitions: ReadonlyMap<string, PropertyDefinition>,
  strict: boolean,
  basePath = '',
): { ok: true; value: Record<string, PropertyValue> } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const out: Record<string, PropertyValue> = {};
  for (const [name, value] of Object.entries(values)) {
    const definition = definitions.get(name);
    const path = `${basePath}/properties/${name}`;
    if (!definition) {
      // Removing a value (null) is always allowed: strictness is about what gets stored, and a
      // key written before the workspace became strict must stay removable.
      if (strict && value !== null) errors.push({ path, message: 'is not a defined property' });
      else out[name] = value;
      continue;
    }
    const result = coercePropertyValue(definition, value);
    if (result.ok) out[name] = result.value;
    else errors.push({ path, message: result.message });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: out };
}
