/**
 * @module engine/network/ipam
 * IPv4 address arithmetic for user-defined networks, and the choices
 * dockerd's default IPAM makes: a subnet given by the user is checked
 * (masked, gateway and ip-range inside it, no overlap with another
 * network's); a subnet not given is the first of dockerd's default pools
 * (172.17-31.0.0/16, then 192.168.0.0/20 … 192.168.240.0/20) that overlaps
 * neither the host's routes nor another network. The addresses of containers
 * themselves are leased by CNI's host-local plugin.
 */
import { EngineError, invalid } from '../errors.js';

export interface Cidr {
  /** The address as written (for a gateway CIDR, the gateway). */
  ip: number;
  prefix: number;
  /** The masked network address. */
  network: number;
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => (acc * 256 + Number(o)) >>> 0, 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export function isIPv4(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  return !!m && m.slice(1).every((o) => Number(o) <= 255);
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** "10.1.2.3/16" → its parts; undefined when not an IPv4 CIDR. */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s);
  if (!m || !isIPv4(m[1]!) || Number(m[2]) > 32) return undefined;
  const ip = ipToInt(m[1]!);
  const prefix = Number(m[2]);
  return { ip, prefix, network: (ip & maskOf(prefix)) >>> 0 };
}

export function formatCidr(network: number, prefix: number): string {
  return `${intToIp(network)}/${prefix}`;
}

export function contains(c: Cidr, ip: number): boolean {
  return ((ip & maskOf(c.prefix)) >>> 0) === c.network;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const m = maskOf(Math.min(a.prefix, b.prefix));
  return ((a.network & m) >>> 0) === ((b.network & m) >>> 0);
}

/** dockerd's default address pools, in the order it tries them. */
export function defaultPools(): Cidr[] {
  const out: Cidr[] = [];
  for (let i = 17; i <= 31; i++) out.push(parseCidr(`172.${i}.0.0/16`)!);
  for (let i = 0; i < 256; i += 16) out.push(parseCidr(`192.168.${i}.0/20`)!);
  return out;
}

/** The IPAM of one network as stored and as inspect shows it (IPv4 only). */
export interface PoolConfig {
  Subnet: string;
  Gateway: string;
  IPRange?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** A requested IPAM config (`--subnet --gateway --ip-range --aux-address`), checked as dockerd checks it. */
export function validatePool(want: { Subnet?: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses?: Record<string, string> | null }): void {
  const errs: string[] = [];
  if (!want.Subnet) {
    if (want.Gateway || want.IPRange) throw new EngineError('forbidden', 'invalid pool request: ' + (want.IPRange ? 'ip-range' : 'gateway') + ' requires a subnet');
    return;
  }
  const subnet = parseCidr(want.Subnet);
  if (!subnet) throw invalid(`invalid CIDR address: ${want.Subnet}`);
  if (subnet.ip !== subnet.network) errs.push(`invalid subnet ${want.Subnet}: it should be ${formatCidr(subnet.network, subnet.prefix)}`);
  if (want.IPRange) {
    const r = parseCidr(want.IPRange);
    if (!r) throw invalid(`invalid CIDR address: ${want.IPRange}`);
    if (r.prefix < subnet.prefix) errs.push(`invalid ip-range ${want.IPRange}: CIDR block is bigger than its parent subnet ${want.Subnet}`);
    if (r.ip !== r.network) errs.push(`invalid ip-range ${want.IPRange}: it should be ${formatCidr(r.network, r.prefix)}`);
    if (!overlaps(r, subnet)) errs.push(`invalid ip-range ${want.IPRange}: parent subnet ${want.Subnet} doesn't contain ip-range`);
  }
  const addr = (what: string, a: string) => {
    if (!isIPv4(a)) throw invalid(`invalid ${what}: ${a}`);
    if (!contains(subnet, ipToInt(a))) errs.push(`invalid ${what} ${a}: parent subnet ${want.Subnet} doesn't contain this address`);
  };
  if (want.Gateway) addr('gateway', want.Gateway);
  for (const [k, a] of Object.entries(want.AuxiliaryAddresses ?? {})) {
    if (!isIPv4(a)) throw invalid(`invalid auxiliary address ${k}: ${a}`);
    if (!contains(subnet, ipToInt(a))) errs.push(`invalid auxiliary address ${k}: parent subnet ${want.Subnet} doesn't contain this address`);
  }
  if (errs.length) throw invalid(`invalid network config:\n${errs.join('\n')}`);
}

/**
 * The pool a new network gets: the one asked for (refused when it overlaps a
 * taken one, dockerd's 403), or the first free default pool. The gateway is
 * the first address unless given.
 */
export function choosePool(
  want: { Subnet?: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses?: Record<string, string> | null } | undefined,
  taken: Cidr[],
): PoolConfig {
  if (want?.Subnet) {
    const s = parseCidr(want.Subnet)!;
    if (taken.some((t) => overlaps(t, s))) throw new EngineError('forbidden', 'invalid pool request: Pool overlaps with other one on this address space');
    return {
      Subnet: want.Subnet,
      Gateway: want.Gateway || intToIp(s.network + 1),
      ...(want.IPRange ? { IPRange: want.IPRange } : {}),
      ...(want.AuxiliaryAddresses && Object.keys(want.AuxiliaryAddresses).length ? { AuxiliaryAddresses: want.AuxiliaryAddresses } : {}),
    };
  }
  const free = defaultPools().find((p) => !taken.some((t) => overlaps(t, p)));
  if (!free) throw new EngineError('forbidden', 'all predefined address pools have been fully subnetted');
  return { Subnet: formatCidr(free.network, free.prefix), Gateway: intToIp(free.network + 1) };
}

/** The first and last address host-local may hand out for a pool (the ip-range, else the subnet less network and broadcast). */
export function leaseRange(p: PoolConfig): { start: string; end: string } {
  const r = parseCidr(p.IPRange || p.Subnet)!;
  const size = 2 ** (32 - r.prefix);
  const s = parseCidr(p.Subnet)!;
  const subnetEnd = s.network + 2 ** (32 - s.prefix) - 1;
  const start = Math.max(r.network, s.network + 1);
  const end = Math.min(r.network + size - 1, subnetEnd - 1);
  return { start: intToIp(start), end: intToIp(end) };
}
