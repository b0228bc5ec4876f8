/**
 * `-p/--publish` and `--expose`, parsed as docker's go-connections
 * nat.ParsePortSpecs: `[ip:][hostPort:]containerPort[/proto]`, with port
 * ranges on either side (a host range must match the container range's
 * length, or be one port... range for a single container port).
 */

export interface PortBindingSpec {
  HostIp: string;
  HostPort: string;
}

export interface ParsedPorts {
  exposed: Record<string, Record<string, never>>;
  bindings: Record<string, PortBindingSpec[]>;
}

function parseRange(s: string, what: string, raw: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new Error(`invalid ${what}: ${s === '' ? raw : s}`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > 65535 || hi > 65535 || hi < lo) throw new Error(`invalid ${what}: ${s}`);
  return [lo, hi];
}

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

/** One -p value. */
export function parsePublish(raw: string, into: ParsedPorts): void {
  let spec = raw;
  let proto = 'tcp';
  const slash = spec.lastIndexOf('/');
  if (slash >= 0) {
    proto = spec.slice(slash + 1).toLowerCase();
    spec = spec.slice(0, slash);
    if (!PROTOCOLS.has(proto)) throw new Error(`invalid proto: ${proto}`);
  }
  let ip = '';
  // An IPv6 host address is bracketed: [::1]:8080:80.
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(spec);
  let rest: string[];
  if (v6) {
    ip = v6[1]!;
    rest = v6[2]!.split(':');
    if (rest.length === 1) rest = ['', rest[0]!];
  } else {
    const parts = spec.split(':');
    if (parts.length > 3) throw new Error(`invalid port format: ${raw}`);
    if (parts.length === 3) ip = parts.shift()!;
    rest = parts.length === 1 ? ['', parts[0]!] : parts;
  }
  const [hostPart, containerPart] = rest as [string, string];
  if (containerPart === '') throw new Error(`no port specified: ${raw}<empty>`);
  const [cLo, cHi] = parseRange(containerPart, 'containerPort', raw);
  let hLo = 0;
  let hHi = 0;
  if (hostPart !== '') [hLo, hHi] = parseRange(hostPart, 'hostPort', raw);
  if (hostPart !== '' && hHi - hLo !== cHi - cLo && !(cLo === cHi && hHi !== hLo)) {
    throw new Error(`invalid ranges specified for container and host Ports: ${containerPart} and ${hostPart}`);
  }
  for (let p = cLo; p <= cHi; p++) {
    const key = `${p}/${proto}`;
    into.exposed[key] = {};
    let hostPort = '';
    if (hostPart !== '') hostPort = cLo === cHi && hHi !== hLo ? `${hLo}-${hHi}` : String(hLo + (p - cLo));
    (into.bindings[key] ??= []).push({ HostIp: ip, HostPort: hostPort });
  }
}

/** One --expose value: a port or range, with an optional protocol. */
export function parseExpose(raw: string, into: ParsedPorts): void {
  const [ports = '', proto = 'tcp'] = raw.split('/');
  if (!PROTOCOLS.has(proto.toLowerCase())) throw new Error(`invalid proto: ${proto}`);
  const [lo, hi] = parseRange(ports, 'range format for --expose', raw);
  for (let p = lo; p <= hi; p++) into.exposed[`${p}/${proto.toLowerCase()}`] = {};
}
