import { stringify } from 'csv-stringify/sync';
import { iso, leadJson } from '../leads/json.ts';
import { type Lead, leadFields, type PropertyValue } from '../leads/model.ts';
import { quotedOnExport } from './model.ts';

/**
 * The export format, the pure part: columns, cells, and the escaping that keeps a spreadsheet
 * from running a cell as a formula. `service.ts` streams leads through it page by page.
 */

export const exportFormats = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof exportFormats)[number];

/** The lead columns of a CSV export, in order; custom properties follow as `properties.<key>`. */
export const leadColumns = [
  'id',
  ...leadFields,
  'stage',
  'source',
  'channel',
  'createdAt',
  'updatedAt',
] as const;

/**
 * Property columns are named `properties.<key>` rather than `<key>`: a property called `title`
 * or `email` must not come back as the job title or the email when the file is re-imported
 * (the importer reads `properties.<key>` headers as exactly that property).
 */
export function exportHeader(propertyKeys: readonly string[]): string[] {
  return [...leadColumns, ...propertyKeys.map((key) => `properties.${key}`)];
}

/**
 * Makes a cell safe to open in a spreadsheet (OWASP "CSV injection"): a cell starting with
 * = + - @ tab or carriage return (or their full-width forms) gets a leading single quote, which
 * spreadsheets show as text and do not evaluate. Plain numbers are left alone ("-5", "+3.5", and
 * E.164 phones like "+442079460958", which are "+" and digits only): they cannot run anything,
 * and quoting them would change every phone in the file. The importer strips the quote again
 * (`unescapeCell`), so an export re-imports as it was (see `quotedOnExport`).
 */
export function escapeCell(value: string): string {
  return quotedOnExport(value) ? `'${value}` : value;
}

/**
 * A cell as read from a file (a rejects file repeats them), made safe to open in a spreadsheet
 * like `escapeCell`, except that a cell an export already escaped ("'=A1") is kept as it is:
 * the importer reads it as "=A1", and quoting it again would make it "'=A1".
 */
export function escapeFileCell(cell: string): string {
  return cell[0] !== "'" && quotedOnExport(cell) ? `'${cell}` : cell;
}

/** A property value as one cell: lists as JSON (["a","b"]), booleans as true/false. */
export function propertyCell(value: PropertyValue | undefined): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}

/** One lead as the cells of a CSV row (escaped), in `exportHeader(propertyKeys)` order. */
export function leadCells(lead: Lead, propertyKeys: readonly string[]): string[] {
  const text = (value: string | number | null) => (value === null ? '' : escapeCell(String(value)));
  return [
    lead.id,
    text(lead.email),
    text(lead.phone),
    text(lead.firstName),
    text(lead.lastName),
    text(lead.company),
    text(lead.companyDomain),
    text(lead.jobTitle),
    text(lead.companySize),
    text(lead.industry),
    text(lead.country),
    text(lead.city),
    text(lead.website),
    lead.stage,
    text(lead.source),
    text(lead.channel),
    iso(lead.createdAt),
    iso(lead.updatedAt),
    ...propertyKeys.map((key) => escapeCell(propertyCell(lead.properties[key]))),
  ];
}

/**
 * CSV text of rows (RFC 4180: quoted where needed, CRLF line ends). A cell holding a bare LF or
 * CR is quoted too: csv-stringify quotes only cells holding the record delimiter (CRLF), and
 * spreadsheets end a row at either, so such a cell would split its row, and a value such as
 * "\n=2+2" would begin a new row with a formula the escape never saw.
 */
export function csvRows(rows: readonly (readonly string[])[]): string {
  return stringify(rows as string[][], { record_delimiter: '\r\n', quoted_match: /[\r\n]/ });
}

/** One lead as a JSON line, the same shape `GET /api/v1/leads/{id}` returns. */
export function jsonLine(lead: Lead): string {
  return `${JSON.stringify(leadJson(lead))}\n`;
}
