import net from 'node:net';

/**
 * Which addresses outbound HTTP (webhook and alert targets, typed in by customers) may reach.
 * Pure: no DNS, no sockets.
 *
 * - `public`: the public internet.
 * - `private`: this host, its networks and reserved space (loopback, RFC 1918, CGNAT, ULA …).
 *   Refused unless the workspace setting `allowPrivateWebhookTargets` is on: a receiver on the
 *   same host or network (the speed-to-lead benchmark's sink on 127.0.0.1) needs it.
 * - `forbidden`: link-local addresses and the cloud metadata services, which hand out the
 *   host's credentials (169.254.169.254, fd00:ec2::254 …). Refused always, whatever the
 *   setting: a workspace admin must never be able to read the machine's cloud identity.
 */
export type AddressClass = 'public' | 'private' | 'forbidden';

const rank: Record<AddressClass, number> = { public: 0, private: 1, forbidden: 2 };
const worse = (a: AddressClass, b: AddressClass): AddressClass => (rank[a] >= rank[b] ? a : b);

function blockList(family: 'ipv4' | 'ipv6', ranges: ReadonlyArray<readonly [string, number]>) {
  const list = new net.BlockList();
  for (const [prefix, bits] of ranges) list.addSubnet(prefix, bits, family);
  return list;
}

/**
 * Link-local (where AWS, GCP, Azure, Oracle and DigitalOcean serve metadata at
 * 169.254.169.254) and Alibaba Cloud's metadata address (inside CGNAT space).
 */
const forbiddenV4 = blockList('ipv4', [
  ['169.254.0.0', 16],
  ['100.100.100.200', 32],
]);
/** Link-local, and AWS's IPv6 metadata address (inside ULA space). */
const forbiddenV6 = blockList('ipv6', [
  ['fe80::', 10],
  ['fd00:ec2::254', 128],
]);

/**
 * Not the public internet: this network, private (RFC 1918), shared (CGNAT RFC 6598),
 * loopback, IETF/documentation/benchmark blocks, multicast and reserved.
 */
const nonPublicV4 = blockList('ipv4', [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
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
]);
/**
 * IPv6: unspecified, loopback and IPv4-compatible (::/96), discard, Teredo, documentation,
 * 6to4 (it embeds any IPv4 address), local-use NAT64, ULA, site-local, multicast.
 */
const nonPublicV6 = blockList('ipv6', [
  ['::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fec0::', 10],
  ['ff00::', 8],
]);

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

/**
 * The IPv4 address an IPv6 address carries in its last 32 bits, and whether it stands for
 * that address exactly (`mapped`: IPv4-mapped `::ffff:a.b.c.d`, well-known NAT64
 * `64:ff9b::a.b.c.d`) or only embeds it (IPv4-compatible `::a.b.c.d`, IPv4-translated
 * `::ffff:0:a.b.c.d`): those are judged at least private whatever they embed.
 */
function embeddedIpv4(address: string): { v4: string; mapped: boolean } | undefined {
  const g = expandIpv6(address);
  if (!g) return undefined;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const v4 = () => `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
  if (zeros(0, 5) && g[5] === 0xffff) return { v4: v4(), mapped: true };
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return { v4: v4(), mapped: true };
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return { v4: v4(), mapped: false };
  if (zeros(0, 6)) return { v4: v4(), mapped: false };
  return undefined;
}

function classifyIpv4(address: string): AddressClass {
  if (forbiddenV4.check(address, 'ipv4')) return 'forbidden';
  return nonPublicV4.check(address, 'ipv4') ? 'private' : 'public';
}

/** How an IP address is treated (see AddressClass); anything that is not an IP address is private. */
export function classifyAddress(address: string): AddressClass {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = net.isIP(bare);
  if (family === 4) return classifyIpv4(bare);
  if (family !== 6) return 'private';
  const embedded = embeddedIpv4(bare);
  if (embedded) {
    const inner = classifyIpv4(embedded.v4);
    return embedded.mapped ? inner : worse(inner, 'private');
  }
  const plain = bare.split('%')[0]!;
  if (forbiddenV6.check(plain, 'ipv6')) return 'forbidden';
  return nonPublicV6.check(plain, 'ipv6') ? 'private' : 'public';
}

/** True for an address outside the public internet (private or forbidden). */
export function isPrivateAddress(address: string): boolean {
  return classifyAddress(address) !== 'public';
}

/** Whether a connection to an address of this class may be made. */
export function mayConnect(kind: AddressClass, allowPrivate: boolean): boolean {
  return kind === 'public' || (kind === 'private' && allowPrivate);
}
