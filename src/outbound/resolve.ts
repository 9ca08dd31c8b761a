import dns, { type LookupAddress } from 'node:dns';
import net from 'node:net';

/**
 * Host names of outbound targets to addresses, without tying up libuv's thread pool.
 *
 * `dns.lookup` (getaddrinfo) runs on that pool's 4 threads, the ones the SQLite WAL's
 * fdatasync (src/db/wal-sync.ts) waits for: a customer's target whose nameserver never answers
 * would park a thread per delivery for the resolver's whole timeout, and four of them stall
 * every acknowledged write. So names are resolved by c-ares (`dns.promises.Resolver`: A and
 * AAAA over UDP on the event loop, no thread) with a short timeout and few tries.
 *
 * c-ares does not read /etc/hosts. `localhost` and `*.localhost` are loopback by definition
 * (RFC 6761) and answered here. A name DNS does not know (NXDOMAIN, no records, no
 * nameserver: a hosts-file entry, a search-domain short name) falls back to getaddrinfo, at
 * most one lookup at a time for the whole process: a slow one can hold one pool thread,
 * never all four. A nameserver that times out (the tarpit) gets no fallback.
 */

/** c-ares' first wait for an answer, doubled on each retry. (1.5 s) */
const QUERY_TIMEOUT_MS = 1_500;
/** Tries per nameserver. (2) */
const QUERY_TRIES = 2;
/** The longest a whole resolution may take, getaddrinfo fallback included. (5 s) */
export const RESOLVE_TIMEOUT_MS = 5_000;

const resolver = new dns.promises.Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });

/** c-ares answers that mean "DNS does not know this name" (not "DNS did not answer"). */
const unknownName = new Set<string>([dns.NOTFOUND, dns.NODATA, dns.CONNREFUSED, dns.REFUSED]);

const loopback: LookupAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

function errorWithCode(message: string, code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** Rejects with ETIMEOUT after `ms`; the promise it races keeps running (c-ares cannot be told per query). */
function withTimeout<T>(promise: Promise<T>, ms: number, host: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(errorWithCode(`resolving ${host} took longer than ${ms} ms`, dns.TIMEOUT)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The one getaddrinfo allowed in flight; later callers wait their turn. */
let hostsTurn: Promise<unknown> = Promise.resolve();

/** getaddrinfo, one at a time; a caller whose turn comes after `deadline` (performance.now()) is not looked up. */
function systemLookup(host: string, deadline: number): Promise<LookupAddress[]> {
  const run = hostsTurn.then(() => {
    if (performance.now() >= deadline)
      throw errorWithCode(`resolving ${host} waited too long for its turn`, dns.TIMEOUT);
    return dns.promises.lookup(host, { all: true, order: 'ipv4first' });
  });
  // The next lookup waits for this one to end, however it ends.
  hostsTurn = run.catch(() => {});
  return run;
}

async function resolveDns(host: string, deadline: number): Promise<LookupAddress[]> {
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  const addresses: LookupAddress[] = [
    ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
    ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : []),
  ];
  if (addresses.length > 0) return addresses;
  const errors = [v4, v6].flatMap((r) =>
    r.status === 'rejected' ? [r.reason as NodeJS.ErrnoException] : [],
  );
  if (errors.length > 0 && errors.every((e) => e.code !== undefined && unknownName.has(e.code)))
    return systemLookup(host, deadline);
  throw errors[0] ?? errorWithCode(`${host} has no address`, dns.NODATA);
}

/**
 * Every address of `host` (IPv4 first): an IP literal is itself, `localhost` is loopback,
 * other names are resolved as described above. Throws an error with a DNS `code`
 * (ENOTFOUND, ETIMEOUT …) when there is none.
 */
export async function resolveHost(host: string): Promise<LookupAddress[]> {
  const family = net.isIP(host);
  if (family !== 0) return [{ address: host, family }];
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return loopback;
  return withTimeout(resolveDns(name, performance.now() + RESOLVE_TIMEOUT_MS), RESOLVE_TIMEOUT_MS, host);
}

/**
 * Points the resolver at other nameservers (`host:port`), for tests with a nameserver of
 * their own; returns the previous list. Never for production code: targets would resolve
 * through whatever server is named.
 */
export function unsafeUseNameservers(servers: readonly string[]): string[] {
  const previous = resolver.getServers();
  resolver.setServers([...servers]);
  return previous;
}
