/**
 * @module engine/network/ipam6
 * The IPv6 pool of a user-defined network (`--ipv6 [--subnet fd00:…/64]`):
 * parsed and compared as 128-bit numbers, a gateway at the subnet's first
 * address unless given, and, without a subnet, a /64 from a random ULA
 * prefix (fd00::/8), as dockerd's default IPv6 pool gives. host-local then
 * leases from it beside the IPv4 pool.
 */
import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { EngineError, invalid } from '../errors.js';
import type { PoolConfig } from './ipam.js';

export interface Cidr6 {
  ip: bigint;
  network: bigint;
  prefix: number;
}

function toBig(ip: string): bigint {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

export function formatIp6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  // The longest run of zero groups becomes "::" (RFC 5952).
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

export function parseCidr6(s: string): Cidr6 | undefined {
  const [addr, len] = s.split('/');
  const prefix = Number(len);
  if (!addr || !isIPv6(addr) || addr.includes('.') || !/^\d+$/.test(len ?? '') || prefix > 128) return undefined;
  const ip = toBig(addr);
  const mask = prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n);
  return { ip, network: ip & mask, prefix };
}

function overlaps6(a: Cidr6, b: Cidr6): boolean {
  const p = BigInt(128 - Math.min(a.prefix, b.prefix));
  return a.network >> p === b.network >> p;
}

export function contains6(c: Cidr6, ip: string): boolean {
  return isIPv6(ip) && overlaps6(c, { ip: toBig(ip), network: toBig(ip), prefix: 128 });
}

/** The IPv6 pool of a new network: the one asked for (checked as dockerd checks it), or a random ULA /64. */
export function choosePool6(want: { Subnet?: string; Gateway?: string } | undefined, taken: string[]): PoolConfig {
  let subnet: Cidr6;
  if (want?.Subnet) {
    const s = parseCidr6(want.Subnet);
    if (!s) throw invalid(`invalid CIDR address: ${want.Subnet}`);
    if (s.ip !== s.network) throw invalid(`invalid network config:\ninvalid subnet ${want.Subnet}: it should be ${formatIp6(s.network)}/${s.prefix}`);
    if (taken.map(parseCidr6).some((t) => t && overlaps6(t, s))) {
      throw new EngineError('forbidden', 'invalid pool request: Pool overlaps with other one on this address space');
    }
    subnet = s;
  } else {
    const bytes = randomBytes(7);
    const net = (0xfdn << 120n) | (BigInt(`0x${bytes.toString('hex')}`) << 64n);
    subnet = { ip: net, network: net, prefix: 64 };
  }
  if (want?.Gateway && !contains6(subnet, want.Gateway)) {
    throw invalid(`invalid network config:\ninvalid gateway ${want.Gateway}: parent subnet ${want.Subnet} doesn't contain this address`);
  }
  return { Subnet: `${formatIp6(subnet.network)}/${subnet.prefix}`, Gateway: want?.Gateway || formatIp6(subnet.network + 1n) };
}
