import type { FieldError } from '../errors.ts';
import { hmacBase64, hmacHex, safeEqual } from './crypto.ts';
import { parseJsonPath, readPath } from './json-path.ts';
import {
  type Answer,
  type AnswerValue,
  type ExternalLead,
  type GenericSettings,
  isObject,
  MAX_ITEMS_PER_DELIVERY,
  parseTime,
} from './model.ts';

/**
 * Generic JSON senders (Zapier, Make, n8n, a site's own backend): one lead per body, a list of
 * them, or a list under `itemsPath`. Fields come from JSON paths (`fieldMapping`) and from the
 * usual top-level names (`email`, `first_name`…). Authenticated by a shared token
 * (`Authorization: Bearer <token>` or `X-Leadline-Token: <token>`) or by an HMAC-SHA256
 * signature of the raw body with the same secret (`sha256=<hex>`, hex or base64). Pure.
 */

/** Whether a request carries the source's token or a signature made with it (constant-time). */
export function verifyGenericRequest(
  settings: GenericSettings,
  token: string,
  raw: Buffer,
  headers: Record<string, string | string[] | undefined>,
): boolean {
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  if (settings.auth === 'hmac') {
    const given = header(settings.signatureHeader)
      ?.trim()
      .replace(/^sha256=/i, '');
    if (!given) return false;
    const hex = safeEqual(given.toLowerCase(), hmacHex(token, raw));
    const base64 = safeEqual(given, hmacBase64(token, raw));
    return hex || base64;
  }
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header('authorization') ?? '')?.[1];
  const given = bearer ?? header('x-leadline-token')?.trim();
  return given !== undefined && safeEqual(given, token);
}

/** The leads of a body: under `itemsPath`, else the body itself (a list or one object). */
export function genericItems(
  body: unknown,
  settings: GenericSettings,
): { items: unknown[]; errors: FieldError[] } {
  let value = body;
  if (settings.itemsPath !== null) {
    const parsed = parseJsonPath(settings.itemsPath);
    value = parsed.ok ? readPath(body, parsed.segments) : undefined;
    if (!Array.isArray(value))
      return { items: [], errors: [{ path: '/', message: `has no list of leads at ${settings.itemsPath}` }] };
  }
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return { items, errors: [{ path: '/', message: 'has no leads' }] };
  if (items.length > MAX_ITEMS_PER_DELIVERY)
    return {
      items: [],
      errors: [{ path: '/', message: `may carry at most ${MAX_ITEMS_PER_DELIVERY} leads` }],
    };
  // An item that is not an object is reported on its own; the others are still leads.
  const objects: unknown[] = [];
  const errors: FieldError[] = [];
  items.forEach((item, i) => {
    if (isObject(item)) objects.push(item);
    else errors.push({ path: Array.isArray(value) ? `/${i}` : '/', message: 'must be a JSON object' });
  });
  return { items: objects, errors };
}

function answerValue(value: unknown): AnswerValue | undefined {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number'))
    return value.map(String);
  return undefined;
}

/**
 * One item as a lead: every mapped path's value (keyed by its path) and every top-level field
 * holding a text, number, boolean or list of texts (keyed by its name). Its id is the `idPath`
 * value, else `fallbackId` (the service hashes the item: an identical retry is a duplicate).
 */
export function genericLead(
  item: Record<string, unknown>,
  settings: GenericSettings,
  mapping: Readonly<Record<string, string>>,
  fallbackId: string,
): ExternalLead {
  const answers: Answer[] = [];
  const seen = new Set<string>();
  for (const path of Object.keys(mapping)) {
    const parsed = parseJsonPath(path);
    if (!parsed.ok) continue;
    const value = answerValue(readPath(item, parsed.segments));
    if (value === undefined) continue;
    answers.push({ keys: [path], label: path, value });
    // A path that is a top-level name (`email`, `$.email`) stands for that field.
    if (parsed.segments.length === 1 && typeof parsed.segments[0] === 'string') seen.add(parsed.segments[0]);
  }
  // The id and time are the lead's metadata, not its answers.
  for (const path of [settings.idPath, settings.occurredAtPath]) {
    const parsed = path === null ? undefined : parseJsonPath(path);
    if (parsed?.ok && parsed.segments.length === 1 && typeof parsed.segments[0] === 'string')
      seen.add(parsed.segments[0]);
  }
  for (const [name, raw] of Object.entries(item)) {
    if (seen.has(name)) continue;
    const value = answerValue(raw);
    if (value !== undefined) answers.push({ keys: [name], label: name, value });
  }
  const read = (path: string | null) => {
    if (path === null) return undefined;
    const parsed = parseJsonPath(path);
    return parsed.ok ? readPath(item, parsed.segments) : undefined;
  };
  const id = read(settings.idPath);
  const externalId =
    typeof id === 'string' && id.trim() !== ''
      ? id.trim()
      : typeof id === 'number' && Number.isFinite(id)
        ? String(id)
        : fallbackId;
  return {
    externalId,
    occurredAt: parseTime(read(settings.occurredAtPath)) ?? null,
    answers,
    facts: {},
    utm: {},
  };
}
