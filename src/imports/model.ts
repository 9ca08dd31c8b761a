import type { FieldError } from '../errors.ts';
import { channelForLabel } from '../leads/channel.ts';
import { LeadInputSchema } from '../leads/input.ts';
import { type Channel, channels, type LeadCapture, type PropertyValue, type Touch } from '../leads/model.ts';
import type { Stage } from '../lifecycle/model.ts';
import { parseDateTimeAsUtc } from '../time.ts';

/**
 * CSV import, the pure part: which lead field each column fills (built-in HubSpot and
 * Salesforce header aliases, our own field names, `--map` overrides), and how one row's cells
 * become a lead input — create dates, employee counts, lifecycle stages and source labels
 * converted on the way. No IO and no clock: `now` is passed in.
 */

// ---------------------------------------------------------------------------------------------
// Targets: where a column's values go

export const utmKeys = ['source', 'medium', 'campaign', 'term', 'content'] as const;
export type UtmKey = (typeof utmKeys)[number];

/** Where one column's values go. */
export type ColumnTarget =
  /** A field of the lead input (`LeadInputSchema`): text, or `companySize` / `stage` (converted). */
  | { kind: 'field'; field: string }
  | { kind: 'utm'; key: UtmKey }
  /** A custom property. */
  | { kind: 'property'; name: string }
  /** The lead's create date: the capture's `at`. */
  | { kind: 'createdAt' }
  /** One of our channel names, taken as given (a Leadline export carries it). */
  | { kind: 'channel' }
  /** A CRM's source label ("Organic Search", "Trade Show"): sets the channel by `channelForLabel`. */
  | { kind: 'originalSource' }
  | { kind: 'ignore' };

/** Custom property names, as `LeadInputSchema` accepts them. */
export const propertyNamePattern = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;

/**
 * Lead input fields a column can fill: every scalar of `LeadInputSchema` (read from the schema,
 * so a field added there is importable at once). `utm` and `properties` are reached as
 * `utm.<key>` and `properties.<name>`.
 */
export const inputFields: readonly string[] = Object.keys(LeadInputSchema.properties).filter(
  (name) => name !== 'utm' && name !== 'properties',
);

/** Names a column can be mapped to besides the input fields and `properties.<name>`. */
const importOnlyTargets = ['createdAt', 'channel', 'originalSource'] as const;

export function targetName(target: ColumnTarget): string {
  switch (target.kind) {
    case 'field':
      return target.field;
    case 'utm':
      return `utm.${target.key}`;
    case 'property':
      return `properties.${target.name}`;
    case 'ignore':
      return '-';
    default:
      return target.kind;
  }
}

/**
 * Lower-case letters and digits only: "Country/Region", "country region" and "COUNTRY_REGION"
 * are the same header. Accents are dropped first ("Société" → "societe").
 */
export function headerKey(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/** Every target name a header or a `--map` entry can name, by its header key. */
const targetsByKey: ReadonlyMap<string, ColumnTarget> = (() => {
  const byKey = new Map<string, ColumnTarget>();
  for (const field of inputFields) byKey.set(headerKey(field), { kind: 'field', field });
  for (const key of utmKeys) byKey.set(headerKey(`utm ${key}`), { kind: 'utm', key });
  for (const kind of importOnlyTargets) byKey.set(headerKey(kind), { kind });
  return byKey;
})();

const targetList = () =>
  [...inputFields, ...utmKeys.map((k) => `utm.${k}`), ...importOnlyTargets, 'properties.<name>', '-'].join(
    ', ',
  );

/**
 * A target as written in `--map` ("email", "utm.source", "properties.leadStatus", "-"). Field
 * names match like headers do ("first name" is firstName); property names are kept exactly.
 */
export function parseTarget(text: string): ColumnTarget | undefined {
  const trimmed = text.trim();
  if (trimmed === '-') return { kind: 'ignore' };
  const property = /^properties\.(.*)$/.exec(trimmed);
  if (property) {
    const name = property[1]!.trim();
    return propertyNamePattern.test(name) ? { kind: 'property', name } : undefined;
  }
  return targetsByKey.get(headerKey(trimmed));
}

/**
 * Built-in header aliases of HubSpot and Salesforce exports, in priority order: when several
 * columns fill the same field (HubSpot's "Phone Number" and "Mobile Phone Number"), a row takes
 * the first non-empty one in this order. Our own field names ("firstName", "utm_source") match
 * too, after these. A column named "properties.<name>" (as `leadline export` writes them) fills
 * that property; any other column becomes a custom property named after it, camelCased.
 *
 * "Original Source" is HubSpot's channel grouping of the first visit, so it sets the channel
 * (and the source text when there is no "Lead Source"); "Lead Source" is the source text.
 * The columns of our export that are derived rather than imported (id, companyDomain,
 * updatedAt) are skipped.
 *
 * An "Owner ID" / "OwnerId" column is kept as the property `crmOwnerId`, not as the lead's
 * owner: in a CRM's export it holds that CRM's user ids (Salesforce "0055g00000XYZ"), never a
 * Leadline user, and as `ownerId` every row of the file would be rejected. A file whose owner
 * column does hold Leadline user ids says so with `--map "Owner ID=ownerId"`.
 */
export const headerAliases: ReadonlyArray<readonly [header: string, target: string]> = [
  ['Email', 'email'],
  ['Email Address', 'email'],
  ['Phone Number', 'phone'],
  ['Phone', 'phone'],
  ['Mobile Phone Number', 'phone'],
  ['Mobile Phone', 'phone'],
  ['First Name', 'firstName'],
  ['Last Name', 'lastName'],
  ['Company Name', 'company'],
  ['Company', 'company'],
  ['Job Title', 'jobTitle'],
  ['Title', 'jobTitle'],
  ['Lead Source', 'source'],
  ['Original Source', 'originalSource'],
  ['Lifecycle Stage', 'stage'],
  ['Lead Status', 'properties.leadStatus'],
  ['Country/Region', 'country'],
  ['Country', 'country'],
  ['City', 'city'],
  ['Website URL', 'website'],
  ['Website', 'website'],
  ['Create Date', 'createdAt'],
  ['Created Date', 'createdAt'],
  ['Number of Employees', 'companySize'],
  ['Employees', 'companySize'],
  ['Industry', 'industry'],
  ['Owner ID', 'properties.crmOwnerId'],
  ['id', '-'],
  ['companyDomain', '-'],
  ['updatedAt', '-'],
  ['emailDisposable', '-'],
];

/** Header key → [target, priority]; lower priority numbers win when columns share a target. */
const aliasesByKey: ReadonlyMap<string, readonly [ColumnTarget, number]> = (() => {
  const byKey = new Map<string, readonly [ColumnTarget, number]>();
  headerAliases.forEach(([header, target], i) => {
    byKey.set(headerKey(header), [parseTarget(target)!, i]);
  });
  let next = headerAliases.length;
  for (const [key, target] of targetsByKey) if (!byKey.has(key)) byKey.set(key, [target, next++]);
  return byKey;
})();

/**
 * A custom property name for a column header: camelCased words of letters and digits ("Record
 * ID" → recordId, "HubSpot Score" → hubSpotScore, "NPS" → nps), prefixed with "column" if
 * that does not start with a letter ("2nd Phone" → column2ndPhone), at most 100 characters.
 * A header without any letter or digit becomes `column<n>` (its 1-based position).
 */
export function propertyNameFor(header: string, position: number): string {
  const words = header
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  const name = words
    .map((word, i) => {
      // A word in one case is a plain word ("NPS", "record"); mixed case is already camelCase.
      const plain = word === word.toLowerCase() || word === word.toUpperCase();
      const body = plain ? word.toLowerCase() : word;
      return i === 0 ? body[0]!.toLowerCase() + body.slice(1) : body[0]!.toUpperCase() + body.slice(1);
    })
    .join('');
  if (name === '') return `column${position}`;
  return (/^[A-Za-z]/.test(name) ? name : `column${name}`).slice(0, 100);
}

// ---------------------------------------------------------------------------------------------
// --map

/** `--map` entries by the header key of their column. */
export type ColumnMap = ReadonlyMap<string, { column: string; target: ColumnTarget }>;

export type Checked<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/**
 * Parses `--map "Column=field,Other Column=properties.foo,Junk=-"`: entries separated by commas,
 * each split at its last "=" (a column name may contain "=", a target never does). Columns
 * match headers like aliases do (case, spaces and punctuation ignored). Every unknown target
 * is reported by name, with the list of valid ones; `path` is where the errors point.
 */
export function parseColumnMap(text: string | undefined, path: string): Checked<ColumnMap> {
  const map = new Map<string, { column: string; target: ColumnTarget }>();
  const errors: FieldError[] = [];
  for (const entry of (text ?? '').split(',')) {
    if (entry.trim() === '') continue;
    const at = entry.lastIndexOf('=');
    const column = at < 0 ? '' : entry.slice(0, at).trim();
    const target = at < 0 ? '' : entry.slice(at + 1).trim();
    if (!column || !target) {
      errors.push({ path, message: `"${entry.trim()}" is not of the form Column=field` });
      continue;
    }
    const parsed = parseTarget(target);
    if (!parsed) {
      const message = target.startsWith('properties.')
        ? `"${target}" is not a valid property name (a letter, then letters, digits or _; at most 100)`
        : `"${target}" is not a lead field; use one of: ${targetList()}`;
      errors.push({ path, message });
      continue;
    }
    const key = headerKey(column);
    if (map.has(key)) {
      errors.push({ path, message: `column "${column}" is mapped twice` });
      continue;
    }
    map.set(key, { column, target: parsed });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: map };
}

// ---------------------------------------------------------------------------------------------
// The plan: what every column of a file does

/** One target and the columns that fill it, in priority order (the first non-empty cell wins). */
export interface Slot {
  target: ColumnTarget;
  columns: number[];
  /**
   * Of a field several columns fill (HubSpot's "Phone Number" and "Mobile Phone Number"): the
   * property each column's value is kept as when another column gave the field, by position in
   * `columns`, so a row's second phone is not lost.
   */
  spare?: string[];
}

export interface ImportPlan {
  header: readonly string[];
  /** Per column, its target. */
  targets: readonly ColumnTarget[];
  slots: readonly Slot[];
  /** The file has a column of our channel names: its empty cells mean "no touch" (see `completeCapture`). */
  hasChannelColumn: boolean;
}

/**
 * The columns `leadline import` writes before a rejected row's own cells in its rejects file.
 * A file whose header starts with them is such a file, fixed to be imported as it is: they are
 * skipped, not made custom properties of every lead.
 */
export const rejectsColumns = ['row', 'line', 'reason'] as const;

/** Whether a file's header is a rejects file's (see `rejectsColumns`). */
export function isRejectsHeader(header: readonly string[]): boolean {
  return rejectsColumns.every((name, i) => header[i] === name);
}

/**
 * A header without the empty cells at its end: a header line ending in a delimiter
 * (`Email,Name,`, as spreadsheets write them) names no column there, and rows may leave those
 * cells out, as they may leave out empty cells past the header.
 */
function withoutTrailingBlanks(header: readonly string[]): readonly string[] {
  let width = header.length;
  while (width > 0 && header[width - 1]!.trim() === '') width--;
  return width === header.length ? header : header.slice(0, width);
}

/**
 * Decides what each column of the file's header fills (empty cells at its end name none): the
 * `--map` entry for it, else a built-in alias or our own field name, else the defined property
 * of exactly that name, else a custom property named in camelCase. Fails when a `--map` column is not in the
 * header, or when no column gives an email or a phone: then every row would be rejected, and
 * the usual cause is a file whose first line is data rather than a header.
 */
export function planImport(
  fileHeader: readonly string[],
  map: ColumnMap,
  paths: { file: string; map: string },
  defined: readonly string[] = [],
): Checked<ImportPlan> {
  const header = withoutTrailingBlanks(fileHeader);
  const definedNames = new Set(defined);
  const errors: FieldError[] = [];
  const keys = header.map(headerKey);
  for (const [key, { column }] of map) {
    if (!keys.includes(key))
      errors.push({ path: paths.map, message: `column "${column}" is not in the file's header` });
  }
  const usedProperties = new Set<string>();
  const ranked: Array<{ target: ColumnTarget; rank: number; column: number }> = [];
  const rejectsFile = isRejectsHeader(header);
  const targets = header.map((name, column): ColumnTarget => {
    const key = keys[column]!;
    const mapped = map.get(key);
    const explicit = /^properties\.(.+)$/.exec(name.trim());
    let target: ColumnTarget;
    let rank: number;
    if (mapped) [target, rank] = [mapped.target, -1];
    else if (rejectsFile && column < rejectsColumns.length) [target, rank] = [{ kind: 'ignore' }, 0];
    else if (explicit && propertyNamePattern.test(explicit[1]!))
      [target, rank] = [{ kind: 'property', name: explicit[1]! }, 0];
    else if (aliasesByKey.has(key)) [target, rank] = aliasesByKey.get(key)!;
    // A column named exactly as a defined property ("renewal_date", "NPS") fills it, typed.
    else if (definedNames.has(name.trim())) [target, rank] = [{ kind: 'property', name: name.trim() }, 0];
    else {
      // Two unknown columns that camelCase alike keep both values: the second gets a number.
      const base = propertyNameFor(name, column + 1);
      let propertyName = base;
      for (let n = 2; usedProperties.has(propertyName); n++) propertyName = `${base.slice(0, 96)}${n}`;
      [target, rank] = [{ kind: 'property', name: propertyName }, Number.MAX_SAFE_INTEGER];
    }
    if (target.kind === 'property') usedProperties.add(target.name);
    if (target.kind !== 'ignore') ranked.push({ target, rank, column });
    return target;
  });
  const slots = new Map<string, Slot>();
  for (const { target, column } of ranked.sort((a, b) => a.rank - b.rank || a.column - b.column)) {
    const name = targetName(target);
    const slot = slots.get(name) ?? { target, columns: [] };
    slot.columns.push(column);
    slots.set(name, slot);
  }
  for (const slot of slots.values()) {
    if (slot.target.kind !== 'field' || slot.columns.length < 2) continue;
    slot.spare = slot.columns.map((column) => {
      const base = propertyNameFor(header[column]!, column + 1);
      let propertyName = base;
      for (let n = 2; usedProperties.has(propertyName); n++) propertyName = `${base.slice(0, 96)}${n}`;
      usedProperties.add(propertyName);
      return propertyName;
    });
  }
  if (!slots.has('email') && !slots.has('phone')) {
    // At most 5 cells of 40 characters, control characters as '?': a binary file's first
    // "line" can be kilobytes of NULs, which would fill the error.
    const shown = header
      .slice(0, 5)
      .map((h) => {
        const printable = h.replace(/[\p{Cc}\p{Cs}\uFFFD]/gu, '?');
        return `"${printable.length > 40 ? `${printable.slice(0, 40)}…` : printable}"`;
      })
      .join(', ');
    const looksLikeData = header.some((h) => h.includes('@') || /^\+?[\d\s().-]{7,}$/.test(h.trim()));
    errors.push({
      path: paths.file,
      message: looksLikeData
        ? `has no header line: the first line holds data (${shown}); add a header such as Email,First Name,…`
        : `has no email or phone column: the first line must be a header naming the columns (found ${shown}); map the email column ("Column=email") if it has another name`,
    });
  }
  // A wide export (HubSpot's "all properties": hundreds of columns, most cells empty) is fine: a
  // row with more values than a lead can hold is rejected on its own (/properties).
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      header,
      targets,
      slots: [...slots.values()],
      hasChannelColumn: slots.has('channel'),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Value conversions

/**
 * Lifecycle stage labels → our stages, by header key: HubSpot's stages (labels and internal
 * names), Salesforce lead statuses, and our own names. HubSpot's "other" and anything unknown
 * map to no stage (see `rowInput`).
 */
const stageByLabel: ReadonlyMap<string, Stage> = new Map<string, Stage>([
  ['subscriber', 'subscriber'],
  ['lead', 'lead'],
  ['new', 'lead'],
  ['open', 'lead'],
  ['opennotcontacted', 'lead'],
  ['working', 'lead'],
  ['workingcontacted', 'lead'],
  ['contacted', 'lead'],
  ['nurturing', 'lead'],
  ['marketingqualifiedlead', 'mql'],
  ['mql', 'mql'],
  ['salesqualifiedlead', 'sql'],
  ['salesacceptedlead', 'sql'],
  ['qualified', 'sql'],
  ['sql', 'sql'],
  ['opportunity', 'opportunity'],
  ['closedconverted', 'opportunity'],
  ['converted', 'opportunity'],
  ['customer', 'customer'],
  ['evangelist', 'customer'],
  ['disqualified', 'disqualified'],
  ['unqualified', 'disqualified'],
  ['closednotconverted', 'disqualified'],
]);

/**
 * Our stage for a CRM's lifecycle stage or lead status: HubSpot subscriber, lead,
 * marketingqualifiedlead (mql), salesqualifiedlead (sql), opportunity, customer and evangelist
 * (customer); Salesforce "Open - Not Contacted" and "Working - Contacted" (lead), "Qualified"
 * (sql), "Closed - Converted" (opportunity), "Closed - Not Converted" and "Unqualified"
 * (disqualified). Undefined for anything else, HubSpot's "other" included.
 */
export function mapStage(label: string): Stage | undefined {
  return stageByLabel.get(headerKey(label));
}

const channelNames: ReadonlySet<string> = new Set(channels);

/** Digits with optional thousands separators (1,000 / 1.000 / 1 000 / 1'000), a decimal part, k or m. */
const QUANTITY = String.raw`(\d{1,3}(?:[,.'\s]\d{3})+|\d+)(?:\.(\d+))?\s*([km])?`;
const EMPLOYEES = new RegExp(
  String.raw`^${QUANTITY}\s*(?:\+|(?:-|–|—|to)\s*${QUANTITY})?\s*(?:employees)?$`,
  'i',
);

/**
 * Number of employees from what CRMs and people write: "250", "1,000", "1.000", "5000+",
 * "10,001+", "1.5k", and ranges "50-100", "51 – 200", "1k to 5k", which give their lower bound
 * (the size the company is known to have). Fractions round down. Undefined for an empty cell;
 * null for text that is not a number of employees ("lots", "<10", "n/a").
 */
export function parseEmployees(text: string): number | null | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const match = EMPLOYEES.exec(trimmed);
  if (!match) return null;
  const [, whole, fraction, unit] = match;
  const value = Number(`${whole!.replace(/[,.'\s]/g, '')}.${fraction ?? '0'}`);
  const multiplier = unit === undefined ? 1 : unit.toLowerCase() === 'k' ? 1_000 : 1_000_000;
  return Math.floor(value * multiplier);
}

/**
 * Epoch ms of a create date: ISO 8601 as HubSpot and Salesforce exports write it
 * ("2025-03-14", "2025-03-14 09:21", "2025-03-14T09:21:05.000Z", "…+02:00"; see
 * `parseDateTimeAsUtc`), or epoch milliseconds (12 or 13 digits). Day-first and month-first
 * dates ("03/04/2025") are refused rather than guessed.
 */
export function parseDateTime(text: string): number | null {
  const trimmed = text.trim();
  if (/^\d{12,13}$/.test(trimmed)) return Number(trimmed);
  return parseDateTimeAsUtc(trimmed);
}

/** Create dates may lie at most this far ahead of the import's clock (time-zone slack). (1 day) */
const FUTURE_SLACK_MS = 24 * 3600 * 1000;

/**
 * First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection: = + -
 * @ tab and carriage return), plus the full-width forms some spreadsheet locales also evaluate.
 */
export const DANGEROUS_FIRST: ReadonlySet<string> = new Set([
  '=',
  '+',
  '-',
  '@',
  '\t',
  '\r',
  '\uff1d',
  '\uff0b',
  '\uff0d',
  '\uff20',
]);

/** A signed decimal number: a spreadsheet reads it as a number, never as a formula. */
const PLAIN_NUMBER = /^[+-]?\d+(?:\.\d+)?$/;

/**
 * Whether a spreadsheet-safe export quotes this value (`escapeCell` prefixes a single quote):
 * it starts with a dangerous character and is not a plain number ("-5", "+442079460958"
 * cannot run anything). A value that already starts with quotes before such a text ("'=A1")
 * is quoted once more, so that every value survives an export and a re-import unchanged.
 */
export function quotedOnExport(value: string): boolean {
  let start = 0;
  while (value[start] === "'") start++;
  const rest = start === 0 ? value : value.slice(start);
  return rest !== '' && DANGEROUS_FIRST.has(rest[0]!) && !PLAIN_NUMBER.test(rest);
}

/**
 * A cell as written by a spreadsheet-safe export, un-quoted: "'=A1" was "=A1". Other cells are
 * returned as they are, so a quote a person typed before ordinary text stays.
 */
export function unescapeCell(cell: string): string {
  return cell[0] === "'" && quotedOnExport(cell.slice(1)) ? cell.slice(1) : cell;
}

// ---------------------------------------------------------------------------------------------
// One row

/** A row turned into a lead input, with what the input schema has no field for. */
export interface ImportRow {
  /** A `LeadInputSchema` object for `parseLeadInput`. */
  input: Record<string, unknown>;
  /** The create date (epoch ms), when the row has one. */
  at: number | undefined;
  /** From a channel column (our names). */
  channel: Channel | undefined;
  /** From an "Original Source" column: HubSpot's channel grouping. */
  labelChannel: Channel | undefined;
  /** Conversion errors, with the same paths `parseLeadInput` uses (`/companySize`). */
  errors: FieldError[];
}

/**
 * The lead input of one row: for each target the first non-empty cell of its columns, trimmed
 * and un-escaped (`unescapeCell`); empty cells are absent (never "clear this field"). Create
 * dates, employee counts, stages and channels are converted here; an unknown lifecycle stage
 * sets no stage and is kept as the property `lifecycleStage`, so nothing in the file is lost.
 * Cells with NUL characters are refused: PostgreSQL cannot store them.
 */
export function rowInput(plan: ImportPlan, cells: readonly string[], now: number): ImportRow {
  const input: Record<string, unknown> = {};
  const row: ImportRow = { input, at: undefined, channel: undefined, labelChannel: undefined, errors: [] };
  let properties: Record<string, PropertyValue> | undefined;
  let utm: Record<string, string> | undefined;
  let originalSource: string | undefined;
  for (const { target, columns, spare } of plan.slots) {
    let value: string | undefined;
    let taken = 0;
    for (; taken < columns.length; taken++) {
      const cell = cells[columns[taken]!];
      if (cell !== undefined && cell !== '') {
        const trimmed = cell.trim();
        if (trimmed !== '') {
          value = unescapeCell(trimmed);
          break;
        }
      }
    }
    if (value === undefined) continue;
    if (spare) {
      // The field's other columns, when they say something else, are kept as properties.
      for (let i = taken + 1; i < columns.length; i++) {
        const other = cells[columns[i]!]?.trim();
        if (!other || unescapeCell(other) === value) continue;
        properties ??= {};
        properties[spare[i]!] = unescapeCell(other);
      }
    }
    if (value.includes('\u0000')) {
      row.errors.push({
        path: `/${targetName(target).replace('.', '/')}`,
        message: 'must not contain NUL characters',
      });
      continue;
    }
    switch (target.kind) {
      case 'field':
        if (target.field === 'companySize') {
          const size = parseEmployees(value);
          if (size === null)
            row.errors.push({ path: '/companySize', message: 'is not a number of employees' });
          else input.companySize = size;
        } else if (target.field === 'stage') {
          const stage = mapStage(value);
          if (stage) input.stage = stage;
          else {
            properties ??= {};
            properties.lifecycleStage = value;
          }
        } else input[target.field] = value;
        break;
      case 'utm':
        utm ??= {};
        utm[target.key] = value;
        break;
      case 'property':
        properties ??= {};
        properties[target.name] = value;
        break;
      case 'createdAt': {
        const at = parseDateTime(value);
        if (at === null)
          row.errors.push({
            path: '/createdAt',
            message: 'is not a date (use YYYY-MM-DD, YYYY-MM-DD HH:MM or ISO 8601)',
          });
        else if (at > now + FUTURE_SLACK_MS)
          row.errors.push({ path: '/createdAt', message: 'is in the future' });
        // Before any CRM kept records: a placeholder for "no date" (0001-01-01, .NET's smallest).
        else if (at < 0)
          row.errors.push({
            path: '/createdAt',
            message: 'is before 1970, a placeholder rather than a create date (leave the cell empty)',
          });
        else row.at = at;
        break;
      }
      case 'channel': {
        const channel = value.toLowerCase();
        if (channelNames.has(channel)) row.channel = channel as Channel;
        else row.errors.push({ path: '/channel', message: `must be one of: ${channels.join(', ')}` });
        break;
      }
      case 'originalSource':
        originalSource = value;
        row.labelChannel = channelForLabel(value) ?? 'other';
        break;
    }
  }
  if (utm) input.utm = utm;
  if (properties) input.properties = properties;
  if (originalSource !== undefined && input.source === undefined) input.source = originalSource;
  // Salesforce exports have no lifecycle stage: their lead status is it ("Closed - Converted").
  // HubSpot's lead statuses (Open, Connected…) map to no stage but "new", "open" and
  // "unqualified", whose meaning is the same; its "Lifecycle Stage" column wins anyway.
  const status = properties?.leadStatus;
  if (input.stage === undefined && typeof status === 'string') {
    const stage = mapStage(status);
    if (stage) input.stage = stage;
  }
  return row;
}

/** The touch of an imported lead that names no source at all. */
const IMPORT_SOURCE = 'import';

/**
 * The capture of one parsed row, with what `parseLeadInput` cannot know: the create date as
 * `at` (of the capture and of its touch) and the channel. The channel is, first match wins:
 * 1. the row's channel column (our own export), taken as given;
 * 2. what UTM, referrer or landing-page columns say (`deriveChannel`, already applied by parse);
 * 3. the "Original Source" label (HubSpot's own channel grouping; unknown labels → other);
 * 4. the source label, when `channelForLabel` knows it ("Trade Show" → events);
 * 5. offline: an import is an offline touch unless the file says otherwise.
 * A row without any source gets the source "import" (offline) — except in a file with a
 * channel column, whose empty cells mean the lead had no touch (so an export re-imports as it was).
 */
export function completeCapture(
  capture: LeadCapture,
  row: Partial<Pick<ImportRow, 'at' | 'channel' | 'labelChannel'>>,
  plan: ImportPlan,
  now: number,
): LeadCapture {
  const at = row.at ?? now;
  let touch: Touch | undefined = capture.touch;
  if (row.channel) {
    touch = { ...(touch ?? emptyTouch(null, at)), channel: row.channel };
  } else if (touch) {
    const fromWeb =
      touch.referrer !== null || touch.landingPage !== null || Object.keys(touch.utm).length > 0;
    if (!fromWeb)
      touch = {
        ...touch,
        channel: row.labelChannel ?? (touch.source ? channelForLabel(touch.source) : undefined) ?? 'offline',
      };
  } else if (!plan.hasChannelColumn) {
    touch = emptyTouch(IMPORT_SOURCE, at);
  }
  const out: LeadCapture = { ...capture };
  if (row.at !== undefined) out.at = row.at;
  if (touch) out.touch = { ...touch, at };
  return out;
}

function emptyTouch(source: string | null, at: number): Touch {
  return { source, channel: 'offline', utm: {}, referrer: null, landingPage: null, at };
}

// ---------------------------------------------------------------------------------------------
// Rejects

/** The column names a field path came from: `/email` → "Email Address", for people reading rejects. */
export function columnsOf(plan: ImportPlan, path: string): string[] {
  const [, first, second] = path.split('/');
  const name = first === 'properties' || first === 'utm' ? `${first}.${second}` : first;
  const slot = plan.slots.find((s) => targetName(s.target) === name);
  if (slot) return slot.columns.map((c) => plan.header[c]!);
  if (first === 'properties' && second === 'lifecycleStage') return columnsOf(plan, '/stage');
  return [];
}

/**
 * One line saying why a row was rejected: each error with the column it came from, as in
 * `email (Email Address): is not a valid email address; country (Country/Region): is not a known country`.
 */
export function rejectReason(plan: ImportPlan, errors: readonly FieldError[]): string {
  return errors
    .map((e) => {
      const field = e.path.replace(/^\//, '').replaceAll('/', '.') || 'row';
      const columns = columnsOf(plan, e.path);
      return `${field}${columns.length > 0 ? ` (${columns.join(' / ')})` : ''}: ${e.message}`;
    })
    .join('; ');
}

// ---------------------------------------------------------------------------------------------
// The file's shape

/**
 * Visits the characters of a CSV text that are outside quoted fields, with their index, until
 * `visit` returns true; returns the index it stopped at, or -1. Quotes are read as csv-parse
 * reads them with `relax_quotes`: a quote opens a quoted field only at the start of a field (of
 * the text, of a line, or after a delimiter: any of comma, semicolon and tab, as the delimiter
 * may not be known yet); in a quoted field "" is a quote and a lone quote ends it. Anywhere else
 * a quote is a character like any other: an inch mark in `Screen 27" Owner` opens nothing.
 */
function scanUnquoted(text: string, visit: (char: string, index: number) => boolean): number {
  let quoted = false;
  let fieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char !== '"') continue;
      if (text[i + 1] === '"') i++;
      else quoted = false;
    } else if (char === '"' && fieldStart) {
      quoted = true;
      fieldStart = false;
    } else {
      if (visit(char, i)) return i;
      fieldStart = char === ',' || char === ';' || char === '\t' || char === '\n' || char === '\r';
    }
  }
  return -1;
}

/**
 * The delimiter of a CSV file from its header line: whichever of comma, semicolon and tab
 * occurs most often outside quoted fields (a comma on a tie, or when there is none: a one-column file).
 */
export function detectDelimiter(headerLine: string): ',' | ';' | '\t' {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  scanUnquoted(headerLine, (char) => {
    if (char === ',' || char === ';' || char === '\t') counts[char]++;
    return false;
  });
  if (counts[';'] > counts[','] && counts[';'] >= counts['\t']) return ';';
  if (counts['\t'] > counts[',']) return '\t';
  return ',';
}

/**
 * The first line of a file's text (without a BOM), or undefined while it may still continue:
 * a line ends at a line break outside quoted fields (see `scanUnquoted`). `complete` says the
 * text is the whole file.
 */
export function firstLine(text: string, complete: boolean): string | undefined {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const end = scanUnquoted(body, (char) => char === '\n' || char === '\r');
  if (end >= 0) return body.slice(0, end);
  return complete ? body : undefined;
}

/** Blank lines (spaces and tabs at most) at the start of a file's text. */
const LEADING_BLANK_LINES = /^(?:[ \t]*(?:\r\n|\r|\n))+/;

/**
 * The header line of a file's text: its first line that is not blank (exports and scripts
 * sometimes leave blank lines at the top), without a BOM. Undefined while it may still
 * continue (see `firstLine`); '' when the whole text is blank.
 */
export function headerLineOf(text: string, complete: boolean): string | undefined {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return firstLine(body.replace(LEADING_BLANK_LINES, ''), complete);
}

/** Why csv-parse refused a record, in words for the rejects file. */
export function csvErrorMessage(code: string | undefined, message: string): string {
  switch (code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'has a quote that is never closed: the rest of the file was read as part of this row';
    case 'CSV_MAX_RECORD_SIZE':
      return 'is longer than 1 MiB, the most one row may hold (or has a quote that is never closed): the rest of the file was not read; shorten the row or close its quote, and import the rows after it again';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'has text right after a closing quote';
    default:
      return message;
  }
}
