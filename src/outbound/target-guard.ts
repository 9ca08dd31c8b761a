import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { DomainError, validationError } from '../errors.ts';
import { type AddressClass, classifyAddress, mayConnect } from './addresses.ts';
import { resolveHost } from './resolve.ts';

/**
 * Outbound HTTP to addresses customers type in (webhook and alert targets), guarded against
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

/** The first address a connection may not reach, with its class; undefined when all may be reached. */
function firstRefused(
  addresses: readonly LookupAddress[],
  allowPrivate: boolean,
): { address: string; kind: AddressClass } | undefined {
  for (const { address } of addresses) {
    const kind = classifyAddress(address);
    if (!mayConnect(kind, allowPrivate)) return { address, kind };
  }
  return undefined;
}

/**
 * Checks a target URL before it is saved: http(s), no credentials, and a host whose every
 * address (resolved now) may be reached — public, or private when `allowPrivate`; never
 * link-local or metadata. Throws VALIDATION_FAILED naming `/url`.
 */
export async function assertPublicTarget(url: string, allowPrivate: boolean): Promise<void> {
  const host = hostOf(parseTarget(url));
  let addresses: LookupAddress[];
  try {
    addresses = await resolveHost(host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw refused(`its host ${host} could not be resolved (${code})`);
  }
  const bad = firstRefused(addresses, allowPrivate);
  if (bad) throw refused(refusalMessage(host, bad.address, bad.kind));
}

/**
 * A `lookup` for http(s).request that refuses a name with any address it may not reach, so
 * the connection is made only to an address that was checked (the one just resolved).
 */
function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    const opts = options as { family?: number | string; all?: boolean };
    const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : Number(opts.family ?? 0);
    resolveHost(hostname).then(
      (found) => {
        const bad = firstRefused(found, allowPrivate);
        if (bad) return callback(refused(refusalMessage(hostname, bad.address, bad.kind)) as never, '', 0);
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

export interface PostResult {
  status: number;
  /** The response body as text, cut at MAX_RESPONSE_BYTES. */
  body: string;
  /** Response headers, lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
}

/**
 * POSTs `body` as JSON to `url` and reads back at most MAX_RESPONSE_BYTES of the answer.
 * Redirects are not followed (a 3xx is the answer): following one would leave the checked
 * host. Each request opens its own connection (no keep-alive pool), because a pooled
 * connection to a private address opened for a workspace that allows it must never serve
 * one that does not. Throws on a refused target (VALIDATION_FAILED, `/url`), a network
 * error, a timeout (`timeoutMs`, default 10 s) or `signal`'s abort.
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { allowPrivate: boolean; signal?: AbortSignal; timeoutMs?: number },
): Promise<PostResult> {
  const target = parseTarget(url);
  const host = hostOf(target);
  // A literal address is connected to without a lookup: checked here instead.
  if (net.isIP(host)) {
    const kind = classifyAddress(host);
    if (!mayConnect(kind, options.allowPrivate)) throw refused(refusalMessage(host, host, kind));
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const payload = Buffer.from(body, 'utf8');
  const request = target.protocol === 'https:' ? https.request : http.request;

  return new Promise<PostResult>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(
        timeout.aborted && !options.signal?.aborted ? new Error(`timed out after ${timeoutMs} ms`) : error,
      );
    };
    const req = request(
      target,
      {
        method: 'POST',
        agent: false,
        lookup: guardedLookup(options.allowPrivate),
        signal,
        headers: {
          'content-type': 'application/json',
          'content-length': String(payload.length),
          'user-agent': 'Leadline-Webhooks/1',
          ...headers,
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
          const room = MAX_RESPONSE_BYTES - size;
          if (room > 0) chunks.push(chunk.subarray(0, room));
          size += chunk.length;
          // Enough read: an endless or huge answer must not hold the worker or its memory.
          if (size >= MAX_RESPONSE_BYTES) {
            finish();
            res.destroy();
          }
        });
        res.on('end', finish);
        res.on('error', fail);
        res.on('close', finish);
      },
    );
    req.on('error', fail);
    req.end(payload);
  });
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
