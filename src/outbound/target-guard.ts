import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { DomainError, validationError } from '../errors.ts';
import { type AddressClass, classifyAddress, mayConnect } from './addresses.ts';
import { resolveHost } from './resolve.ts';

/**
 * Outbound HTTP to addresses customers type in (webhook and alert targets, the platform API
 * base URLs of inbound lead sources), guarded against
 * server-side request forgery: unless a workspace allows private targets, a URL may reach
 * only public internet addresses — never this host or the private network it sits in — and
 * no workspace may reach link-local addresses or the cloud metadata service
 * (169.254.169.254) that hands out credentials (addresses.ts).
 *
 * The check is made twice: when the URL is saved (a clear 422) and when each request
 * connects, on the address the connection actually uses (a name that resolved to a public
 * address at save time can resolve to 127.0.0.1 later: DNS rebinding). Names are resolved
 * off libuv's thread pool (resolve.ts).
 */

/** Largest response body read back, in bytes; the rest is dropped. (64 KiB) */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** (Default: 10 s) */
const DEFAULT_TIMEOUT_MS = 10_000;

function refused(message: string): DomainError {
  return validationError([{ path: '/url', message }], `The target URL is not allowed: ${message}.`);
}

/** The URL, parsed, when it is an http(s) URL without credentials; throws VALIDATION_FAILED otherwise. */
function parseTarget(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refused('must be an absolute http or https URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw refused('must use http or https');
  // Credentials in a URL end up in logs and listings; receivers authenticate by the signature.
  if (parsed.username || parsed.password) throw refused('must not contain a user name or password');
  if (!parsed.hostname) throw refused('must name a host');
  return parsed;
}

/** The host of a parsed URL as DNS and net know it (IPv6 literals without brackets). */
function hostOf(url: URL): string {
  const host = url.hostname;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Why an address of this class is refused, naming the host when it was reached through a name. */
function refusalMessage(host: string, address: string, kind: AddressClass): string {
  const what =
    kind === 'forbidden'
      ? 'a link-local or cloud metadata address (never allowed)'
      : 'a private, loopback or reserved address (the workspace setting allowPrivateWebhookTargets allows it)';
  return host === address ? `${address} is ${what}` : `${host} resolves to ${address}, ${what}`;
}

/** What a request carries that decides which addresses it may reach. */
export interface TargetRules {
  /** The workspace setting `allowPrivateWebhookTargets`: private addresses may be reached. */
  allowPrivate: boolean;
  /**
   * The request carries credentials (an access token, its proof): over plain http they would
   * cross the network unencrypted, so http is allowed only to a private address (where the
   * workspace allows those); a public host must be reached over https. (Default: false —
   * webhook and alert messages are signed, not secret.)
   */
  httpsUnlessPrivate?: boolean | undefined;
}

/** Why plain http to a public address is refused when the request carries credentials. */
function httpsMessage(host: string, address: string | undefined): string {
  const where = address === undefined || address === host ? host : `${host} (${address})`;
  return `must use https: the request carries credentials and ${where} is a public address (plain http is allowed only to a private address, with allowPrivateWebhookTargets)`;
}

/**
 * Why a connection to `address` (reached through `host`) is refused, or undefined when it may
 * be made: its class, and for plain http with credentials, that it is private.
 */
function refusalOf(
  host: string,
  address: string,
  plainHttp: boolean,
  rules: TargetRules,
): string | undefined {
  const kind = classifyAddress(address);
  if (!mayConnect(kind, rules.allowPrivate)) return refusalMessage(host, address, kind);
  if (plainHttp && rules.httpsUnlessPrivate === true && kind === 'public') return httpsMessage(host, address);
  return undefined;
}

/** The refusal of the first address a connection may not reach; undefined when all may be reached. */
function firstRefused(
  host: string,
  addresses: readonly LookupAddress[],
  plainHttp: boolean,
  rules: TargetRules,
): string | undefined {
  for (const { address } of addresses) {
    const refusal = refusalOf(host, address, plainHttp, rules);
    if (refusal) return refusal;
  }
  return undefined;
}

/**
 * Checks a target URL before it is saved: http(s), no credentials, and a host whose every
 * address (resolved now) may be reached — public, or private when `allowPrivate`; never
 * link-local or metadata; with `httpsUnlessPrivate`, https unless every address is private.
 * Throws VALIDATION_FAILED naming `/url`.
 */
export async function assertPublicTarget(
  url: string,
  allowPrivate: boolean,
  options: Pick<TargetRules, 'httpsUnlessPrivate'> = {},
): Promise<void> {
  const target = parseTarget(url);
  const host = hostOf(target);
  const rules: TargetRules = { allowPrivate, httpsUnlessPrivate: options.httpsUnlessPrivate };
  const plainHttp = target.protocol === 'http:';
  // Without private targets, plain http could only reach a public address: refused as it is.
  if (plainHttp && rules.httpsUnlessPrivate && !allowPrivate) throw refused(httpsMessage(host, undefined));
  let addresses: LookupAddress[];
  try {
    addresses = await resolveHost(host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw refused(`its host ${host} could not be resolved (${code})`);
  }
  const bad = firstRefused(host, addresses, plainHttp, rules);
  if (bad) throw refused(bad);
}

/**
 * A `lookup` for http(s).request that refuses a name with any address it may not reach, so
 * the connection is made only to an address that was checked (the one just resolved).
 */
function guardedLookup(plainHttp: boolean, rules: TargetRules): net.LookupFunction {
  return (hostname, options, callback) => {
    const opts = options as { family?: number | string; all?: boolean };
    const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : Number(opts.family ?? 0);
    resolveHost(hostname).then(
      (found) => {
        const bad = firstRefused(hostname, found, plainHttp, rules);
        if (bad) return callback(refused(bad) as never, '', 0);
        const list = family === 4 || family === 6 ? found.filter((a) => a.family === family) : found;
        if (list.length === 0) return callback(new Error(`${hostname} has no address`) as never, '', 0);
        if (opts.all) return (callback as unknown as AllCallback)(null, list);
        callback(null, list[0]!.address, list[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}
type AllCallback = (error: Error | null, addresses: LookupAddress[]) => void;

/** What a guarded request sends. */
export interface GuardedRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers: Record<string, string>;
  body?: string | Buffer | undefined;
  /** Most bytes of the answer read back; the rest is dropped. (Default: MAX_RESPONSE_BYTES) */
  maxBytes?: number | undefined;
}

export interface GuardedResponse {
  status: number;
  /** The response body as text, cut at `maxBytes`. */
  body: string;
  /** Response headers, lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
}

/** Kept as the name webhook and alert code know the answer of postJson by. */
export type PostResult = GuardedResponse;

export interface GuardOptions extends TargetRules {
  signal?: AbortSignal | undefined;
  /** (Default: 10 s) */
  timeoutMs?: number | undefined;
}

/**
 * Sends one request to `url` and reads back at most `maxBytes` of the answer. Redirects are
 * not followed (a 3xx is the answer): following one would leave the checked host. Each
 * request opens its own connection (no keep-alive pool), because a pooled connection to a
 * private address opened for a workspace that allows it must never serve one that does not.
 * Throws on a refused target (VALIDATION_FAILED, `/url`: see isRefusedTarget), a network
 * error, a timeout (`timeoutMs`, default 10 s) or `signal`'s abort.
 */
export async function guardedRequest(
  url: string,
  request: GuardedRequest,
  options: GuardOptions,
): Promise<GuardedResponse> {
  const target = parseTarget(url);
  const host = hostOf(target);
  const plainHttp = target.protocol === 'http:';
  // A literal address is connected to without a lookup: checked here instead.
  if (net.isIP(host)) {
    const refusal = refusalOf(host, host, plainHttp, options);
    if (refusal) throw refused(refusal);
  } else if (plainHttp && options.httpsUnlessPrivate && !options.allowPrivate) {
    throw refused(httpsMessage(host, undefined));
  }
  const maxBytes = request.maxBytes ?? MAX_RESPONSE_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const payload =
    request.body === undefined
      ? undefined
      : Buffer.isBuffer(request.body)
        ? request.body
        : Buffer.from(request.body, 'utf8');
  const send = plainHttp ? http.request : https.request;

  return new Promise<GuardedResponse>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(
        timeout.aborted && !options.signal?.aborted ? new Error(`timed out after ${timeoutMs} ms`) : error,
      );
    };
    const req = send(
      target,
      {
        method: request.method,
        agent: false,
        lookup: guardedLookup(plainHttp, options),
        signal,
        headers: {
          'user-agent': 'Leadline/1',
          ...(payload ? { 'content-length': String(payload.length) } : {}),
          ...request.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          if (settled) return;
          settled = true;
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: flatHeaders(res.headers),
          });
        };
        res.on('data', (chunk: Buffer) => {
          const room = maxBytes - size;
          if (room > 0) chunks.push(chunk.subarray(0, room));
          size += chunk.length;
          // Enough read: an endless or huge answer must not hold the worker or its memory.
          if (size >= maxBytes) {
            finish();
            res.destroy();
          }
        });
        res.on('end', finish);
        res.on('error', fail);
        res.on('close', finish);
      },
    );
    // A refusal from the lookup arrives here as the VALIDATION_FAILED it was made as.
    req.on('error', fail);
    req.end(payload);
  });
}

/**
 * POSTs `body` as JSON to `url` (guardedRequest): what webhook deliveries and alert targets
 * send. Reads back at most MAX_RESPONSE_BYTES.
 */
export function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { allowPrivate: boolean; signal?: AbortSignal; timeoutMs?: number },
): Promise<PostResult> {
  return guardedRequest(
    url,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Leadline-Webhooks/1', ...headers },
      body,
    },
    options,
  );
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Whether an error means the target was refused by the guard (not reachable, not worth retrying soon). */
export function isRefusedTarget(error: unknown): boolean {
  return error instanceof DomainError && error.code === 'VALIDATION_FAILED';
}
