/**
 * @module engine/network/user-bridge
 * The host side of one user-defined bridge network, as dockerd's bridge
 * driver makes it: a Linux bridge of its own (`br-<id12>`) holding the
 * gateway address, iptables rules, and each container a veth on it wired by
 * CNI's `bridge` plugin with `host-local` leases (plus `tuning` for a fixed
 * MAC address and `portmap` for published ports).
 *
 * Every rule berth adds carries the comment `berth:<id12>` and the bridge
 * the alias `berth:<id>`, so a daemon restarted after a SIGKILL can find and
 * remove what belongs to networks that no longer exist (sweep()).
 *
 * FORWARD rules, in chains of berth's own that FORWARD jumps to first:
 *  - BERTH-ISOLATION-STAGE-1/-2, dockerd's DOCKER-ISOLATION-STAGE-1/-2
 *    under berth's name: a packet that comes in on one berth bridge and goes
 *    out on another is dropped, so a container on network A cannot reach one
 *    on network B (nor on the default bridge) through the host, while a
 *    container on both networks has an interface on each and reaches both.
 *  - BERTH-FORWARD: ACCEPT for what enters and leaves each bridge, because
 *    other software on the host (dockerd among them) sets the FORWARD policy
 *    to DROP, which would cut the containers off. An `--internal` network
 *    gets DROP rules instead for anything crossing its bridge, no default
 *    route and no masquerading: nothing leaves it.
 * A network with IPv6 has the same rules from ip6tables (its IPv6 subnet
 * masqueraded), as dockerd's with ip6tables on.
 * The jump to the isolation chain is BERTH-FORWARD's first rule and the
 * per-network rules are appended after it, so no network's ACCEPT can come
 * before the isolation check. The chains are shared by every berthd on the
 * host (as dockerd's are by its networks) and stay when empty.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { run } from '../../util/exec.js';
import { cniAdd, cniDel, CniError, CNI_VERSION, execPlugin, type CniResult, type NetworkConfigList } from './cni.js';
import { leaseRange, parseCidr, formatCidr } from './ipam.js';
import type { NetworkRecord } from './store.js';
import type { PortBinding } from './bridge.js';
import type { Finding } from '../check/finding.js';
import { addRules, ensureForwardChains, FORWARD_CHAIN, isolationRules, type Iptables } from './isolation.js';

/** What a container got on one user-defined network; kept in its record so a later daemon can undo it. */
export interface UserEndpoint {
  networkId: string;
  endpointId: string;
  ifName: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  /** On a network with IPv6 (`--ipv6`): the container's global address there. */
  ipv6?: string;
  prefixLen6?: number;
  gateway6?: string;
  mac: string;
  ports: PortBinding[];
}

export interface EndpointRequest {
  ifName: string;
  /** A fixed address (`--ip`, `--ip6`); host-local refuses it when taken. */
  ip?: string;
  ip6?: string;
  mac?: string;
  /** Only the container's first network gives it its default route, as dockerd picks one gateway. */
  defaultRoute: boolean;
  ports: PortBinding[];
}

export function bridgeNameFor(id: string, options: Record<string, string>): string {
  return options['com.docker.network.bridge.name'] || `br-${id.slice(0, 12)}`;
}

function cniName(id: string): string {
  return `berth-${id.slice(0, 12)}`;
}

async function iptables(args: string[], cmd: Iptables): Promise<void> {
  await run(cmd, ['-w', ...args], { allowFailure: true });
}

/**
 * The rules one network needs in one address family, as [table, chain,
 * …match and target]: the same for IPv6 (a network with a second, IPv6
 * pool) with its IPv6 subnet masqueraded, as dockerd's ip6tables rules are.
 */
function rules(n: NetworkRecord, family: Iptables = 'iptables'): string[][] {
  const br = n.BridgeName;
  const tag = ['-m', 'comment', '--comment', `berth:${n.Id.slice(0, 12)}`];
  const v4 = parseCidr(n.IPAM.Config[0]!.Subnet)!;
  const subnet = family === 'iptables' ? formatCidr(v4.network, v4.prefix) : n.IPAM.Config[1]!.Subnet;
  const out: string[][] = [...isolationRules(br, tag), ['filter', FORWARD_CHAIN, '-i', br, '-o', br, ...tag, '-j', 'ACCEPT']];
  if (n.Internal) {
    out.push(['filter', FORWARD_CHAIN, '-i', br, '!', '-o', br, ...tag, '-j', 'DROP']);
    out.push(['filter', FORWARD_CHAIN, '-o', br, '!', '-i', br, ...tag, '-j', 'DROP']);
  } else {
    out.push(['filter', FORWARD_CHAIN, '-i', br, ...tag, '-j', 'ACCEPT']);
    out.push(['filter', FORWARD_CHAIN, '-o', br, ...tag, '-j', 'ACCEPT']);
    if (n.Options['com.docker.network.bridge.enable_ip_masquerade'] !== 'false') {
      out.push(['nat', 'POSTROUTING', '-s', subnet, '!', '-o', br, ...tag, '-j', 'MASQUERADE']);
    }
  }
  return out;
}

/** Creates (or adopts) the network's bridge with its gateway and rules. Idempotent. */
export async function bridgeUp(n: NetworkRecord, useIptables: boolean): Promise<void> {
  const br = n.BridgeName;
  const pool = n.IPAM.Config[0]!;
  const prefix = parseCidr(pool.Subnet)!.prefix;
  if ((await run('ip', ['link', 'show', 'dev', br], { allowFailure: true })).code !== 0) {
    const r = await run('ip', ['link', 'add', 'name', br, 'type', 'bridge'], { allowFailure: true });
    if (r.code !== 0) throw new Error(`failed to create bridge ${br}: ${r.stderr.trim()}`);
  }
  await run('ip', ['link', 'set', 'dev', br, 'alias', `berth:${n.Id}`]);
  await run('ip', ['addr', 'replace', `${pool.Gateway}/${prefix}`, 'dev', br]);
  const pool6 = n.IPAM.Config[1];
  if (pool6) {
    // A bridge may start with IPv6 off (a sysctl default); nodad: the gateway is usable at once.
    await fsp.writeFile(`/proc/sys/net/ipv6/conf/${br}/disable_ipv6`, '0').catch(() => undefined);
    await run('ip', ['-6', 'addr', 'replace', `${pool6.Gateway}/${pool6.Subnet.split('/')[1]}`, 'dev', br, 'nodad']);
  }
  await run('ip', ['link', 'set', 'dev', br, 'up']);
  if (useIptables) {
    await ensureForwardChains();
    await addRules(rules(n));
    if (pool6) {
      await ensureForwardChains('ip6tables');
      await addRules(rules(n, 'ip6tables'), 'ip6tables');
    }
  }
}

/** Removes the bridge, its rules and its leases. Safe to repeat. */
export async function bridgeDown(n: NetworkRecord, useIptables: boolean, ipamDir: string): Promise<void> {
  await run('ip', ['link', 'del', 'dev', n.BridgeName], { allowFailure: true });
  if (useIptables) await removeTaggedRules(new Set([n.Id.slice(0, 12)]));
  await fsp.rm(path.join(ipamDir, cniName(n.Id)), { recursive: true, force: true });
}

/** iptables and ip6tables rules tagged `berth:<id12>`, as [command, table, chain, spec, id12] ready for `-D`. */
async function taggedRules(): Promise<{ cmd: Iptables; table: string; chain: string; spec: string[]; id12: string }[]> {
  const out = [];
  for (const cmd of ['iptables', 'ip6tables'] as const) {
    for (const table of ['filter', 'nat']) {
      const saved = await run(`${cmd}-save`, ['-t', table], { allowFailure: true });
      for (const line of saved.stdout.split('\n')) {
        const m = /^-A (\S+) (.*--comment "?berth:([0-9a-f]{12})"? .*)$/.exec(line);
        // iptables-save quotes the comment; the argument vector must not.
        if (m) out.push({ cmd, table, chain: m[1]!, spec: m[2]!.replace(/"(berth:[0-9a-f]{12})"/, '$1').split(' '), id12: m[3]! });
      }
    }
  }
  return out;
}

/** Deletes every rule tagged `berth:<id12>` for the given IDs. */
async function removeTaggedRules(ids: Set<string>): Promise<void> {
  for (const r of await taggedRules()) if (ids.has(r.id12)) await iptables(['-t', r.table, '-D', r.chain, ...r.spec], r.cmd);
}

/**
 * Bridges, rules and lease directories of networks that are gone (a daemon
 * killed in the middle of a remove, or an older berth's create): the check's
 * and the daemon start's user-network part. Other berthds on the host (other
 * data roots) tag their bridges and rules the same way, so a bridge or rule
 * of an unknown network counts as this daemon's only while its lease
 * directory is still under this exec root; otherwise it is left alone.
 */
export async function bridgeLeftovers(known: NetworkRecord[], useIptables: boolean, ipamDir: string): Promise<Finding[]> {
  const out: Finding[] = [];
  const ids = new Set(known.map((n) => n.Id));
  const names = new Set(known.map((n) => cniName(n.Id)));
  const goneDirs = new Set((await fsp.readdir(ipamDir).catch(() => [] as string[])).filter((d) => /^berth-[0-9a-f]{12}$/.test(d) && !names.has(d)));
  const ours = (id12: string) => goneDirs.has(`berth-${id12}`);
  const links = await run('ip', ['-j', '-d', 'link', 'show', 'type', 'bridge'], { allowFailure: true });
  for (const l of JSON.parse(links.stdout || '[]') as { ifname: string; ifalias?: string }[]) {
    const owner = /^berth:([0-9a-f]{64})$/.exec(l.ifalias ?? '')?.[1];
    if (owner && !ids.has(owner) && ours(owner.slice(0, 12))) {
      out.push({ kind: 'bridge-leftover', subject: l.ifname, message: `the bridge of network ${owner.slice(0, 12)}, which is gone`, action: 'delete the bridge', fix: async () => void (await run('ip', ['link', 'del', 'dev', l.ifname], { allowFailure: true })) });
    }
  }
  if (useIptables) {
    for (const r of await taggedRules()) {
      if (!ours(r.id12)) continue;
      out.push({ kind: 'iptables-leftover', subject: `${r.cmd} ${r.table} ${r.chain} ${r.spec.join(' ')}`, message: `a rule of network ${r.id12}, which is gone`, action: 'delete the rule', fix: () => iptables(['-t', r.table, '-D', r.chain, ...r.spec], r.cmd) });
    }
  }
  // The lease directory last: it is what marks the bridge and rules as this daemon's.
  for (const d of goneDirs) {
    out.push({ kind: 'ipam-leftover', subject: path.join(ipamDir, d), message: `address leases of network ${d.slice(6)}, which is gone`, action: 'delete them', fix: () => fsp.rm(path.join(ipamDir, d), { recursive: true, force: true }) });
  }
  return out;
}

/** Address leases in one host-local directory held by containers not in `live`. */
export async function leaseLeftovers(dir: string, live: Set<string>): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const f of await fsp.readdir(dir).catch(() => [] as string[])) {
    // host-local's lease files are named by address (IPv4, or IPv6 with colons).
    if (!/^\d+\.\d+\.\d+\.\d+$|^[0-9a-f]*:[0-9a-f:]+$/.test(f)) continue;
    // host-local's lease file: "<container ID>\r\n<interface>".
    const owner = (await fsp.readFile(path.join(dir, f), 'utf8').catch(() => '')).split(/\r?\n/)[0]!;
    if (live.has(owner)) continue;
    out.push({ kind: 'lease-leftover', subject: `${path.basename(dir)}/${f}`, message: `address ${f} leased to ${owner.slice(0, 12) || 'nobody'}, which is not running`, action: 'release it', fix: () => fsp.rm(path.join(dir, f), { force: true }) });
  }
  return out;
}

/**
 * Releases a container's leases on one interface as host-local's DEL does
 * (the files named by its addresses that say `<container ID>\r\n<ifName>`),
 * without running the plugin: a Go binary's start is ~15 ms of CPU on the
 * path of every exit. Removing a lease cannot collide with host-local
 * allocating another: it only ever creates files (O_EXCL) and never
 * rewrites one. False when an address is not known (a record from before
 * addresses were kept): the caller runs host-local then.
 */
export async function releaseLeases(dir: string, containerId: string, ifName: string, addresses: (string | undefined)[]): Promise<boolean> {
  if (addresses.length === 0 || addresses.some((a) => !a)) return false;
  for (const a of addresses as string[]) {
    const f = path.join(dir, a);
    const owner = (await fsp.readFile(f, 'utf8').catch(() => '')).trim();
    // An older host-local wrote the container ID alone.
    if (owner === `${containerId}\r\n${ifName}` || owner === containerId) await fsp.rm(f, { force: true });
  }
  return true;
}

/**
 * Gives the lease of `address` held by `from` on `ifName` to `to` (a spare
 * namespace's address to the container that takes it). The file is
 * replaced by rename, so host-local, which only ever creates lease files,
 * always sees one owner or the other.
 */
export async function reassignLease(dir: string, address: string, from: string, to: string, ifName: string): Promise<void> {
  const f = path.join(dir, address);
  const owner = (await fsp.readFile(f, 'utf8')).trim();
  if (owner !== `${from}\r\n${ifName}`) throw new Error(`address ${address} is not leased to ${from}`);
  const tmp = path.join(dir, `.${address}.${to.slice(0, 12)}`);
  await fsp.writeFile(tmp, `${to}\r\n${ifName}`);
  await fsp.rename(tmp, f);
}

/** The lease directory of a user network. */
export function leaseDir(n: NetworkRecord, ipamDir: string): string {
  return path.join(ipamDir, cniName(n.Id));
}

function configList(n: NetworkRecord, ipamDir: string, req: Pick<EndpointRequest, 'mac' | 'defaultRoute'>, withPorts: boolean): NetworkConfigList {
  const pool = n.IPAM.Config[0]!;
  const { start, end } = leaseRange(pool);
  const plugins: Record<string, unknown>[] = [
    {
      type: 'bridge',
      bridge: n.BridgeName,
      isGateway: false,
      ipMasq: false,
      hairpinMode: true,
      ipam: {
        type: 'host-local',
        ranges: [
          [{ subnet: pool.Subnet, gateway: pool.Gateway, rangeStart: start, rangeEnd: end }],
          ...n.IPAM.Config.slice(1).map((p) => [{ subnet: p.Subnet, gateway: p.Gateway }]),
        ],
        routes: req.defaultRoute && !n.Internal ? [{ dst: '0.0.0.0/0' }, ...(n.IPAM.Config[1] ? [{ dst: '::/0' }] : [])] : [],
        dataDir: ipamDir,
      },
    },
  ];
  if (req.mac) plugins.push({ type: 'tuning', mac: req.mac });
  if (withPorts) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
  return { cniVersion: CNI_VERSION, name: cniName(n.Id), plugins };
}

function portMappings(ports: PortBinding[]): Record<string, unknown> {
  return { portMappings: ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIP })) };
}

/** Wires a container's namespace onto the network's bridge as `ifName`. */
export async function endpointAdd(n: NetworkRecord, ipamDir: string, containerId: string, netns: string, req: EndpointRequest): Promise<UserEndpoint> {
  const list = configList(n, ipamDir, req, req.ports.length > 0);
  let result: CniResult;
  try {
    result = await cniAdd(list, {
      containerId,
      netns,
      ifName: req.ifName,
      runtimeConfig: portMappings(req.ports),
      ...(req.ip || req.ip6 ? { args: `IgnoreUnknown=1;IP=${[req.ip, req.ip6].filter(Boolean).join(',')}` } : {}),
    });
  } catch (err) {
    // host-local's words for a requested address another container holds: dockerd's.
    if (err instanceof CniError && req.ip && /not available|already allocated|has been allocated/.test(err.message)) {
      throw Object.assign(new Error('Address already in use'), { addressInUse: true });
    }
    throw err;
  }
  const addr = result.ips?.find((a) => !a.address.includes(':'));
  if (!addr) throw new Error('the bridge plugin gave the container no address');
  const [ip, prefix] = addr.address.split('/');
  const addr6 = result.ips?.find((a) => a.address.includes(':'));
  const [ip6, prefix6] = addr6 ? addr6.address.split('/') : [];
  const iface = result.interfaces?.find((i) => i.name === req.ifName && i.sandbox);
  return {
    networkId: n.Id,
    endpointId: randomBytes(32).toString('hex'),
    ifName: req.ifName,
    ip: ip!,
    prefixLen: Number(prefix),
    gateway: n.IPAM.Config[0]!.Gateway,
    ...(ip6 ? { ipv6: ip6, prefixLen6: Number(prefix6), gateway6: n.IPAM.Config[1]!.Gateway } : {}),
    mac: req.mac || iface?.mac || '',
    ports: req.ports,
  };
}

/** What of an endpoint a release undoes: its published ports, its address, or both. */
export type ReleasePart = 'ports' | 'address' | 'both';

/**
 * Undoes endpointAdd(). `live`: the namespace stays (disconnect from a
 * running container), so the bridge plugin removes the veth too; otherwise
 * the namespace is about to go and only the lease and port rules need
 * undoing, or one of them (`part`).
 */
export async function endpointDel(n: NetworkRecord, ipamDir: string, containerId: string, netns: string, ep: UserEndpoint, live: boolean, part: ReleasePart = 'both'): Promise<void> {
  const list = configList(n, ipamDir, { defaultRoute: false }, ep.ports.length > 0);
  const req = { containerId, netns, ifName: ep.ifName, runtimeConfig: portMappings(ep.ports) };
  if (live) {
    await cniDel(list, req);
    return;
  }
  const portmap = { ...list, plugins: list.plugins.filter((p) => p.type === 'portmap') };
  const bridgeConf = { ...list.plugins[0]!, cniVersion: list.cniVersion, name: list.name };
  await Promise.all([
    portmap.plugins.length > 0 && part !== 'address' ? cniDel(portmap, req) : Promise.resolve(),
    part === 'ports' ? null : releaseLeases(leaseDir(n, ipamDir), containerId, ep.ifName, [ep.ip, ...(n.IPAM.Config[1] ? [ep.ipv6] : [])]).then((done) => (done ? null : execPlugin('DEL', 'host-local', bridgeConf, req))),
  ]);
}
