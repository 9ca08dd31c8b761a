import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { classifyAddress, mayConnect } from '../outbound/addresses.ts';
import { resolveHost } from '../outbound/resolve.ts';
import { MAX_RESPONSE_BYTES } from '../outbound/target-guard.ts';

/**
 * GET to a platform API (Graph, LinkedIn) through the same SSRF rules as outbound webhooks
 * (src/outbound/target-guard.ts): the base URLs are per source, typed in by workspace admins,
 * so the address each connection uses is checked when it connects (no DNS rebinding), link-
 * local and metadata addresses never, private ones only with `allowPrivateWebhookTargets`.
 * Redirects are not followed; one connection per request (no pool shared across workspaces).
 *
 * target-guard.ts only offers POST; this is its GET twin, kept here until the guard grows one.
 */

/** (Default: 15 s) */
const DEFAULT_TIMEOUT_MS = 15_000;

export interface GetResult {
  status: number;
  /** The body as text, cut at MAX_RESPONSE_BYTES. */
  body: string;
  /** `retry-after`, when the answer had one. */
  retryAfter: string | undefined;
}

/** Thrown when the URL's host may not be reached: retrying cannot help until the settings change. */
export class RefusedTarget extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedTarget';
  }
}

function refusal(host: string, address: string, kind: string): RefusedTarget {
  const what =
    kind === 'forbidden'
      ? 'a link-local or cloud metadata address (never allowed)'
      : 'a private, loopback or reserved address (the workspace setting allowPrivateWebhookTargets allows it)';
  return new RefusedTarget(
    host === address ? `${address} is ${what}` : `${host} resolves to ${address}, ${what}`,
  );
}

function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    const opts = options as { family?: number | string; all?: boolean };
    const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : Number(opts.family ?? 0);
    resolveHost(hostname).then(
      (found) => {
        for (const { address } of found) {
          const kind = classifyAddress(address);
          if (!mayConnect(kind, allowPrivate))
            return callback(refusal(hostname, address, kind) as never, '', 0);
        }
        const list = family === 4 || family === 6 ? found.filter((a) => a.family === family) : found;
        if (list.length === 0) return callback(new Error(`${hostname} has no address`) as never, '', 0);
        if (opts.all)
          return (callback as unknown as (e: Error | null, a: LookupAddress[]) => void)(null, list);
        callback(null, list[0]!.address, list[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

/** GETs `url` and reads at most MAX_RESPONSE_BYTES of the answer; throws on a refused target, a network error or a timeout. */
export async function guardedGet(
  url: string,
  headers: Record<string, string>,
  options: { allowPrivate: boolean; signal?: AbortSignal | undefined; timeoutMs?: number },
): Promise<GetResult> {
  const target = new URL(url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:')
    throw new RefusedTarget('not an http(s) URL');
  const host = target.hostname.replace(/^\[|\]$/g, '');
  // A literal address is connected to without a lookup: checked here instead.
  if (net.isIP(host)) {
    const kind = classifyAddress(host);
    if (!mayConnect(kind, options.allowPrivate)) throw refusal(host, host, kind);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const request = target.protocol === 'https:' ? https.request : http.request;
  return new Promise<GetResult>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(timeout.aborted ? new Error(`timed out after ${timeoutMs} ms`) : error);
    };
    const req = request(
      target,
      {
        method: 'GET',
        agent: false,
        lookup: guardedLookup(options.allowPrivate),
        signal,
        headers: { 'user-agent': 'Leadline-Inbound/1', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          if (settled) return;
          settled = true;
          const retryAfter = res.headers['retry-after'];
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
          });
        };
        res.on('data', (chunk: Buffer) => {
          const room = MAX_RESPONSE_BYTES - size;
          if (room > 0) chunks.push(chunk.subarray(0, room));
          size += chunk.length;
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
    // A refusal from the lookup arrives here as the RefusedTarget it was made as.
    req.on('error', fail);
    req.end();
  });
}
