import { isPurpose } from '../consent/model.ts';
import { type FieldError, pointer } from '../errors.ts';
import { parseJsonPath } from './json-path.ts';
import { checkTarget } from './mapping.ts';
import {
  defaultSource,
  FACEBOOK_GRAPH_URL,
  type FacebookSettings,
  GENERIC_SIGNATURE_HEADER,
  type GenericSettings,
  type InboundKind,
  inboundKinds,
  LINKEDIN_API_URL,
  LINKEDIN_API_VERSION,
  type LinkedInSettings,
  MAX_CONSENT_PURPOSES,
  MAX_MAPPING_ENTRIES,
  MIN_SECRET_LENGTH,
  type SecretSource,
  type SourceSettings,
  secretNames,
} from './model.ts';

/** A source as the API takes it (after its schema): loose shapes, checked by `prepareSource`. */
export interface SourceInput {
  kind?: string | undefined;
  name?: string | undefined;
  source?: string | undefined;
  formId?: string | null | undefined;
  fieldMapping?: Record<string, string> | undefined;
  /** Merged into the current settings; null resets one to its default. */
  settings?: Record<string, unknown> | undefined;
  /** Merged into the current secrets; null removes an optional one. */
  secrets?: Record<string, string | null> | undefined;
}

/**
 * Secrets the platforms issue (app secret, client secret, access tokens): any length they
 * come in, from 8. Those a person chooses to guard the endpoint (verify token, shared token)
 * must be at least MIN_SECRET_LENGTH characters; left out, Leadline generates them.
 */
const chosenSecrets = new Set(['verifyToken', 'token']);
/** Required secrets Leadline can make up: generated when not given. */
const generated = new Set(['verifyToken', 'token']);

/**
 * A new source (`current` null: kind, name and the kind's required secret are needed) or a
 * changed one (absent fields keep their value; `kind` cannot change). `newSecret` makes the
 * secrets the caller did not give. Base URLs are checked here for form only: the service
 * checks where they resolve (SSRF guard).
 */
export function prepareSource(
  current: SecretSource | null,
  input: SourceInput,
  options: { id: string; now: number; newSecret: () => string },
): { ok: true; source: SecretSource } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (current && input.kind !== undefined && input.kind !== current.kind)
    errors.push({ path: '/kind', message: 'cannot be changed; create another source' });
  const kind = (current?.kind ?? input.kind) as InboundKind | undefined;
  if (kind === undefined || !(inboundKinds as readonly string[]).includes(kind)) {
    errors.push({ path: '/kind', message: `must be one of ${inboundKinds.join(', ')}` });
    return { ok: false, errors };
  }
  const name = input.name !== undefined ? input.name.trim() : current?.name;
  if (!name) errors.push({ path: '/name', message: 'must not be blank' });
  const source = input.source !== undefined ? input.source.trim() : (current?.source ?? defaultSource[kind]);
  if (!source) errors.push({ path: '/source', message: 'must not be blank' });
  const formId = input.formId !== undefined ? input.formId : (current?.formId ?? null);

  const fieldMapping = input.fieldMapping ?? current?.fieldMapping ?? {};
  const entries = Object.entries(fieldMapping);
  if (entries.length > MAX_MAPPING_ENTRIES)
    errors.push({ path: '/fieldMapping', message: `may have at most ${MAX_MAPPING_ENTRIES} entries` });
  for (const [key, target] of entries) {
    const path = `/fieldMapping/${pointer(key)}`;
    if (key.trim() === '') errors.push({ path, message: 'needs a field name' });
    else if (kind === 'generic') {
      const parsed = parseJsonPath(key);
      if (!parsed.ok) errors.push({ path, message: `is not a JSON path: it ${parsed.message}` });
    }
    const problem = checkTarget(target);
    if (problem) errors.push({ path, message: problem });
  }

  const settings = prepareSettings(kind, current?.settings, input.settings ?? {}, errors);
  const secrets = prepareSecrets(
    kind,
    current?.secrets ?? null,
    input.secrets ?? {},
    options.newSecret,
    errors,
  );

  if (errors.length > 0 || !name || !source || !settings || !secrets) return { ok: false, errors };
  return {
    ok: true,
    source: {
      id: options.id,
      kind,
      name,
      source,
      formId,
      fieldMapping: { ...fieldMapping },
      settings,
      secretsSet: Object.keys(secrets).sort(),
      secrets,
      lastReceivedAt: current?.lastReceivedAt ?? null,
      createdAt: current?.createdAt ?? options.now,
      updatedAt: options.now,
    },
  };
}

function absoluteUrl(value: unknown, path: string, errors: FieldError[]): string | undefined {
  if (typeof value !== 'string') {
    errors.push({ path, message: 'must be an http or https URL' });
    return undefined;
  }
  const url = URL.parse(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !url.hostname) {
    errors.push({ path, message: 'must be an absolute http or https URL' });
    return undefined;
  }
  if (url.username || url.password || url.search || url.hash) {
    errors.push({ path, message: 'must have no credentials, query or fragment' });
    return undefined;
  }
  return value.replace(/\/+$/, '');
}

function optionalPath(value: unknown, path: string, errors: FieldError[]): string | null {
  if (value === null) return null;
  if (typeof value !== 'string') {
    errors.push({ path, message: 'must be a JSON path or null' });
    return null;
  }
  const parsed = parseJsonPath(value);
  if (!parsed.ok) errors.push({ path, message: `is not a JSON path: it ${parsed.message}` });
  return value;
}

function prepareSettings(
  kind: InboundKind,
  current: SourceSettings | undefined,
  patch: Record<string, unknown>,
  errors: FieldError[],
): SourceSettings | undefined {
  const before = errors.length;
  const allowed: Record<InboundKind, string[]> = {
    facebook: ['graphBaseUrl'],
    linkedin: ['apiBaseUrl', 'apiVersion', 'consentPurposes'],
    generic: ['auth', 'signatureHeader', 'itemsPath', 'idPath', 'occurredAtPath'],
  };
  for (const key of Object.keys(patch))
    if (!allowed[kind].includes(key))
      errors.push({ path: `/settings/${key}`, message: `is not a setting of a ${kind} source` });
  // A given value replaces the current one; null brings back the default.
  const pick = <T>(key: string, fallback: T, read: (value: unknown) => T): T => {
    if (!(key in patch)) return (current as unknown as Record<string, T> | undefined)?.[key] ?? fallback;
    return patch[key] === null ? fallback : read(patch[key]);
  };
  let settings: SourceSettings;
  if (kind === 'facebook') {
    settings = {
      graphBaseUrl: pick('graphBaseUrl', FACEBOOK_GRAPH_URL, (v) =>
        absoluteUrl(v, '/settings/graphBaseUrl', errors),
      ),
    } as FacebookSettings;
  } else if (kind === 'linkedin') {
    settings = {
      apiBaseUrl: pick('apiBaseUrl', LINKEDIN_API_URL, (v) => absoluteUrl(v, '/settings/apiBaseUrl', errors)),
      apiVersion: pick('apiVersion', LINKEDIN_API_VERSION, (v) => {
        if (typeof v === 'string' && /^\d{6}(?:\.\d{2})?$/.test(v)) return v;
        errors.push({ path: '/settings/apiVersion', message: 'must be a LinkedIn-Version such as 202601' });
        return undefined;
      }),
      consentPurposes: pick('consentPurposes', {}, (v) => consentPurposes(v, errors)),
    } as LinkedInSettings;
  } else {
    settings = {
      auth: pick('auth', 'token' as const, (v) => {
        if (v === 'token' || v === 'hmac') return v;
        errors.push({ path: '/settings/auth', message: 'must be token or hmac' });
        return undefined;
      }),
      signatureHeader: pick('signatureHeader', GENERIC_SIGNATURE_HEADER, (v) => {
        if (typeof v === 'string' && /^[A-Za-z0-9-]{1,100}$/.test(v)) return v.toLowerCase();
        errors.push({ path: '/settings/signatureHeader', message: 'must be a header name' });
        return undefined;
      }),
      itemsPath: pick('itemsPath', null, (v) => optionalPath(v, '/settings/itemsPath', errors)),
      idPath: pick('idPath', null, (v) => optionalPath(v, '/settings/idPath', errors)),
      occurredAtPath: pick('occurredAtPath', null, (v) =>
        optionalPath(v, '/settings/occurredAtPath', errors),
      ),
    } as GenericSettings;
  }
  return errors.length > before ? undefined : settings;
}

/** Consent checkbox ids to ledger purposes: ids as the platform sends them, purposes as forms name them. */
function consentPurposes(value: unknown, errors: FieldError[]): Record<string, string> | undefined {
  const path = '/settings/consentPurposes';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    errors.push({ path, message: 'must be an object of consent checkbox ids to purposes' });
    return undefined;
  }
  const entries = Object.entries(value);
  const before = errors.length;
  if (entries.length > MAX_CONSENT_PURPOSES)
    errors.push({ path, message: `may have at most ${MAX_CONSENT_PURPOSES} entries` });
  for (const [id, purpose] of entries) {
    const at = `${path}/${pointer(id)}`;
    if (id.trim() === '' || id.length > 200)
      errors.push({ path: at, message: 'needs a checkbox id of 1 to 200 characters' });
    else if (typeof purpose !== 'string' || !isPurpose(purpose))
      errors.push({
        path: at,
        message:
          'must be a purpose: a lower-case letter, then up to 39 letters, digits or _ (marketing, newsletter)',
      });
  }
  return errors.length > before ? undefined : (Object.fromEntries(entries) as Record<string, string>);
}

function prepareSecrets(
  kind: InboundKind,
  current: Record<string, string> | null,
  patch: Record<string, string | null>,
  newSecret: () => string,
  errors: FieldError[],
): Record<string, string> | undefined {
  const before = errors.length;
  const names: readonly string[] = secretNames[kind];
  const required = names[0]!;
  const secrets: Record<string, string> = { ...(current ?? {}) };
  for (const [name, value] of Object.entries(patch)) {
    const path = `/secrets/${name}`;
    if (!names.includes(name)) {
      errors.push({ path, message: `is not a secret of a ${kind} source (${names.join(', ')})` });
      continue;
    }
    if (value === null) {
      if (name === required || generated.has(name)) errors.push({ path, message: 'is required' });
      else delete secrets[name];
      continue;
    }
    const min = chosenSecrets.has(name) ? MIN_SECRET_LENGTH : 8;
    if (value.length < min || value.trim() !== value)
      errors.push({ path, message: `must be at least ${min} characters, without surrounding spaces` });
    else secrets[name] = value;
  }
  for (const name of names) {
    if (secrets[name] !== undefined) continue;
    if (generated.has(name)) secrets[name] = newSecret();
    else if (name === required && !errors.some((e) => e.path === `/secrets/${name}`))
      errors.push({ path: `/secrets/${name}`, message: 'is required' });
  }
  return errors.length > before ? undefined : secrets;
}
