import dns, { type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { DomainError, validationError } from '../errors.ts';

/**
 * Outbound HTTP to addresses customers type in (webhook and alert targets), guarded against
 * server-side request forgery: unless a workspace allows private targets, a URL may reach
 * only public internet addresses — never this host, the private network it sits in, or the
 * cloud metadata service (169.254.169.254) that hands out credentials.
 *
 * The check is made twice: when the URL is saved (a clear 422) and when each request
 * connects, on the address the connection actually uses (a name that resolved to a public
 * address at save time can resolve to 127.0.0.1 later: DNS rebinding).
 */

/** Largest response body read back, in bytes; the rest is dropped. (64 KiB) */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** (Default: 10 s) */
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Ranges that are not the public internet: this network, private (RFC 1918), shared (CGNAT
 * RFC 6598), loopback, link-local (cloud metadata), IETF/documentation/benchmark blocks,
 * multicast and reserved. IPv6: unspecified, loopback, IPv4-compatible, discard, Teredo,
 * documentation, 6to4 (it embeds any IPv4 address), local NAT64, ULA, link-local,
 * site-local, multicast. IPv4-mapped and NAT64 addresses are judged by their IPv4 address.
 */
const nonPublic = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  nonPublic.addSubnet(prefix, bits, 'ipv4');
for (const [prefix, bits] of [
  ['::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  nonPublic.addSubnet(prefix, bits, 'ipv6');

/** The IPv4 address an IPv6 address stands for (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`). */
function embeddedIpv4(address: string): string | undefined {
  const groups = expandIpv6(address);
  if (!groups) return undefined;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0);
  if (!mapped && !nat64) return undefined;
  const [hi, lo] = [groups[6]!, groups[7]!];
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 part included). */
function expandIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase().split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const parts = dotted[1]!.split('.').map(Number);
    const hex = (a: number, b: number) => ((a << 8) | b).toString(16);
    text = `${text.slice(0, dotted.index)}${hex(parts[0]!, parts[1]!)}:${hex(parts[2]!, parts[3]!)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? left.length !== 8 : missing < 1) return undefined;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right].map((g) =>
    Number.parseInt(g, 16),
  );
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** True for an address outside the public internet (see `nonPublic`); anything that is not an IP address counts as private. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = net.isIP(bare);
  if (family === 4) return nonPublic.check(bare, 'ipv4');
  if (family !== 6) return true;
  const v4 = embeddedIpv4(bare);
  if (v4 !== undefined) return nonPublic.check(v4, 'ipv4');
  return nonPublic.check(bare.split('%')[0]!, 'ipv6');
}

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

function privateMessage(host: string, address: string): string {
  return host === address
    ? `${address} is a private, loopback or reserved address (the workspace setting allowPrivateWebhookTargets allows it)`
    : `${host} resolves to ${address}, a private, loopback or reserved address (the workspace setting allowPrivateWebhookTargets allows it)`;
}

/**
 * Checks a target URL before it is saved: http(s), no credentials, and — unless
 * `allowPrivate` — a host whose every address (DNS resolved) is public. Throws
 * VALIDATION_FAILED naming `/url`.
 */
export async function assertPublicTarget(url: string, allowPrivate: boolean): Promise<void> {
  const parsed = parseTarget(url);
  if (allowPrivate) return;
  const host = hostOf(parsed);
  let addresses: LookupAddress[];
  try {
    addresses = net.isIP(host) ? [{ address: host, family: net.isIP(host) }] : await resolveAll(host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw refused(`its host ${host} could not be resolved (${code})`);
  }
  const bad = addresses.find((a) => isPrivateAddress(a.address));
  if (bad) throw refused(privateMessage(host, bad.address));
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  return dns.promises.lookup(host, { all: true, verbatim: true });
}

/**
 * A `lookup` for http(s).request that refuses a name with any non-public address, so the
 * connection is made only to an address that was checked (the one just resolved).
 */
function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as unknown as LookupAddress[];
      const bad = allowPrivate ? undefined : list.find((a) => isPrivateAddress(a.address));
      if (bad) return callback(refused(privateMessage(hostname, bad.address)) as never, '', 0);
      if (list.length === 0) return callback(new Error(`${hostname} has no address`) as never, '', 0);
      if ((options as dns.LookupOptions).all) return (callback as unknown as AllCallback)(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
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
  if (!options.allowPrivate && net.isIP(host) && isPrivateAddress(host))
    throw refused(privateMessage(host, host));
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
