/**
 * @module engine/network/bridge
 * The default `bridge` network, as dockerd's docker0: a Linux bridge on the
 * host with the gateway address, each container a veth on it with an address
 * from the subnet, and published ports (`-p`) forwarded to it. The wiring is
 * done by CNI plugins: `bridge` with `host-local` IPAM (veth, address,
 * default route) and `portmap` (iptables DNAT for `-p`); the namespace's
 * loopback is its maker's (./netns.ts, or ./service.ts for one runc made).
 *
 * berth creates and addresses the bridge itself and runs the bridge plugin
 * with isGateway=false, so the plugin never switches on IP forwarding: the
 * daemon's `--ip-forward` decides that, as dockerd's does. `--ip-masq` is one
 * MASQUERADE rule for the subnet, as dockerd writes it, rather than the
 * plugin's chain per container (iptables runs cost tens of ms each here).
 *
 * Releasing a container does not run the bridge plugin's DEL: the container's
 * namespace is destroyed right after (taking the veth pair with it), so only
 * the address lease (host-local's file, removed by berth itself) and
 * published ports (portmap) are undone.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { leaseLeftovers, releaseLeases, type ReleasePart } from './user-bridge.js';
import type { Finding } from '../check/finding.js';
import { run } from '../../util/exec.js';
import { cniAdd, cniDel, CNI_VERSION, execPlugin, type CniResult, type NetworkConfigList } from './cni.js';
import { addRules, ensureForwardChains, FORWARD_CHAIN, isolationRules } from './isolation.js';

export interface BridgeOptions {
  /** Bridge interface name (dockerd --bridge); "none" disables the network. */
  bridge: string;
  /** Gateway address and prefix (dockerd --bip), e.g. "172.17.0.1/16"; picked from free ranges when absent. */
  bip?: string;
  ipMasq: boolean;
  ipForward: boolean;
  /** Port publishing needs iptables (dockerd --iptables). */
  iptables: boolean;
  /** Where host-local keeps its address leases (exec root: they die with the containers at reboot). */
  ipamDir: string;
}

/** One published port: a container port and where it is reachable on the host. */
export interface PortBinding {
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP: string;
  hostPort: number;
}

/** What a container got on the bridge; kept in its record so a later daemon can undo it. */
export interface BridgeEndpoint {
  endpointId: string;
  /** The container's interface: eth0, or ethN when connected after a user network (`network connect bridge`). */
  ifName?: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
  ports: PortBinding[];
}

/** The ranges dockerd's default address pools try first for docker0. */
const CANDIDATE_POOLS = Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.1/16`);

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => (acc * 256 + Number(o)) >>> 0, 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

function parseCidr(cidr: string): { ip: string; prefix: number; network: string } {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new Error(`invalid --bip ${cidr}: want an IPv4 address with a prefix length, like 172.17.0.1/16`);
  const prefix = Number(m[2]);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { ip: m[1]!, prefix, network: `${intToIp(ipToInt(m[1]!) & mask)}/${prefix}` };
}

function overlaps(a: string, b: string): boolean {
  const pa = parseCidr(a);
  const pb = parseCidr(b);
  const prefix = Math.min(pa.prefix, pb.prefix);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return ((ipToInt(pa.ip) ^ ipToInt(pb.ip)) & mask) === 0;
}

async function linkExists(name: string): Promise<boolean> {
  return (await run('ip', ['link', 'show', 'dev', name], { allowFailure: true })).code === 0;
}

/** Routes on the host not on `except`, as CIDRs: a subnet for the bridge must not collide with them. */
async function hostRoutes(except: string): Promise<string[]> {
  const r = await run('ip', ['-j', '-4', 'route', 'show'], { allowFailure: true });
  if (r.code !== 0) return [];
  const routes = JSON.parse(r.stdout || '[]') as { dst: string; dev?: string }[];
  return routes
    .filter((x) => x.dev !== except && x.dst !== 'default')
    .map((x) => (x.dst.includes('/') ? x.dst : `${x.dst}/32`));
}

/** A free TCP/UDP port on the host for `-p <port>` without a host port, as dockerd's port allocator gives. */
export function freePort(hostIP: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, hostIP || '0.0.0.0', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export class BridgeNetwork {
  /** "172.17.0.1/16" once init() has run. */
  private gatewayCidr = '';

  private constructor(
    readonly opts: BridgeOptions,
    /** The network's ID, as `docker network inspect bridge` shows it (random, kept across restarts). */
    readonly id: string,
    /** When berth first made it (the ID file's time). */
    readonly created: string,
  ) {}

  static async open(opts: BridgeOptions, stateFile: string): Promise<BridgeNetwork> {
    let id: string;
    try {
      id = (await fsp.readFile(stateFile, 'utf8')).trim();
    } catch {
      id = randomBytes(32).toString('hex');
      await fsp.mkdir(path.dirname(stateFile), { recursive: true });
      await fsp.writeFile(stateFile, id);
    }
    const n = new BridgeNetwork(opts, id, (await fsp.stat(stateFile)).mtime.toISOString());
    await n.init();
    return n;
  }

  /**
   * The default bridge as recorded, without touching the host (an offline
   * `berth system check`): enough to find its leases and port rules.
   */
  static async forCheck(opts: BridgeOptions, stateFile: string): Promise<BridgeNetwork | undefined> {
    const id = (await fsp.readFile(stateFile, 'utf8').catch(() => '')).trim();
    return id ? new BridgeNetwork(opts, id, '') : undefined;
  }

  get subnet(): string {
    return parseCidr(this.gatewayCidr).network;
  }

  get gateway(): string {
    return parseCidr(this.gatewayCidr).ip;
  }

  /** Creates the bridge (or adopts an existing one) with its gateway address, and sets forwarding as asked. */
  private async init(): Promise<void> {
    const name = this.opts.bridge;
    if (!(await linkExists(name))) {
      await run('ip', ['link', 'add', 'name', name, 'type', 'bridge']);
    }
    const addrs = await run('ip', ['-j', '-4', 'addr', 'show', 'dev', name]);
    const existing = (JSON.parse(addrs.stdout || '[]') as { addr_info?: { local: string; prefixlen: number }[] }[])[0]?.addr_info?.[0];
    if (this.opts.bip) {
      this.gatewayCidr = this.opts.bip;
      parseCidr(this.gatewayCidr);
    } else if (existing) {
      this.gatewayCidr = `${existing.local}/${existing.prefixlen}`;
    } else {
      const taken = await hostRoutes(name);
      const free = CANDIDATE_POOLS.find((c) => !taken.some((t) => overlaps(c, t)));
      if (!free) throw new Error('could not find a free address range for the default bridge: pass --bip');
      this.gatewayCidr = free;
    }
    if (!existing || `${existing.local}/${existing.prefixlen}` !== this.gatewayCidr) {
      if (existing) await run('ip', ['addr', 'del', `${existing.local}/${existing.prefixlen}`, 'dev', name], { allowFailure: true });
      await run('ip', ['addr', 'add', this.gatewayCidr, 'dev', name]);
    }
    await run('ip', ['link', 'set', 'dev', name, 'up']);
    if (this.opts.ipForward) await fsp.writeFile('/proc/sys/net/ipv4/ip_forward', '1');
    if (this.opts.ipMasq && this.opts.iptables) {
      // dockerd's rule: traffic from the subnet leaving by another interface goes out as the host.
      const rule = ['-t', 'nat', 'POSTROUTING', '-s', parseCidr(this.gatewayCidr).network, '!', '-o', name, '-j', 'MASQUERADE'];
      const present = await run('iptables', ['-w', '-t', 'nat', '-C', ...rule.slice(2)], { allowFailure: true });
      if (present.code !== 0) await run('iptables', ['-w', '-t', 'nat', '-A', ...rule.slice(2)]);
    }
    if (this.opts.iptables) {
      // Isolated from the user-defined networks, as docker0 is from dockerd's. The tag is not
      // `berth:<id12>`, which the user networks' sweep would take for a removed network's.
      await ensureForwardChains();
      const tag = ['-m', 'comment', '--comment', `berth-bridge:${name}`];
      await addRules([
        ...isolationRules(name, tag),
        // dockerd's inter-container rule for docker0: containers on the bridge reach each other
        // when br_netfilter sends bridged frames through FORWARD and its policy is DROP (as
        // dockerd sets it on a host that runs both). dockerd's rules for traffic leaving the
        // bridge are not added: test daemons rely on the host's policy to keep their traffic in.
        ['filter', FORWARD_CHAIN, '-i', name, '-o', name, ...tag, '-j', 'ACCEPT'],
      ]);
    }
  }

  /**
   * `withPorts`: portmap is left out when nothing is published, sparing its iptables runs on every start and exit.
   * `defaultRoute`: false when the bridge is not the container's first network (that one has the route).
   */
  private configList(withPorts: boolean, mac?: string, defaultRoute = true): NetworkConfigList {
    const { ip, network } = parseCidr(this.gatewayCidr);
    const plugins: Record<string, unknown>[] = [
      {
        type: 'bridge',
        bridge: this.opts.bridge,
        isGateway: false,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: network, gateway: ip }]],
          routes: defaultRoute ? [{ dst: '0.0.0.0/0' }] : [],
          dataDir: this.opts.ipamDir,
        },
      },
    ];
    // --mac-address: CNI's tuning plugin sets it on the container's interface.
    if (mac) plugins.push({ type: 'tuning', mac });
    if (this.opts.iptables && withPorts) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
    return { cniVersion: CNI_VERSION, name: `berth-${this.opts.bridge}`, plugins };
  }

  /** Where host-local keeps the bridge's address leases. */
  leaseDir(): string {
    return path.join(this.opts.ipamDir, this.configList(false).name);
  }

  /**
   * Wires a container's namespace onto the bridge and publishes its ports.
   * `secondary`: the container is on a user network first (`network connect
   * bridge`): the interface is `ifName`, without the default route.
   */
  async connect(containerId: string, netns: string, ports: PortBinding[], mac?: string, secondary?: { ifName: string }): Promise<BridgeEndpoint> {
    const ifName = secondary?.ifName ?? 'eth0';
    if (ports.length > 0 && !this.opts.iptables) {
      throw new Error('publishing ports needs iptables, which the daemon was told not to use (--iptables=false)');
    }
    const resolved: PortBinding[] = [];
    for (const p of ports) resolved.push({ ...p, hostPort: p.hostPort || (await freePort(p.hostIP)) });
    const result: CniResult = await cniAdd(this.configList(resolved.length > 0, mac, !secondary), {
      containerId,
      netns,
      ifName,
      runtimeConfig: { portMappings: resolved.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIP })) },
    });
    const addr = result.ips?.[0];
    if (!addr) throw new Error('the bridge plugin gave the container no address');
    const [ip, prefix] = addr.address.split('/');
    const eth0 = result.interfaces?.find((i) => i.name === ifName && i.sandbox);
    return {
      endpointId: randomBytes(32).toString('hex'),
      ...(secondary ? { ifName } : {}),
      ip: ip!,
      prefixLen: Number(prefix),
      gateway: addr.gateway ?? this.gateway,
      mac: mac || eth0?.mac || '',
      ports: resolved,
    };
  }

  /**
   * What connect() left for containers not in `live` (a daemon killed
   * half-way through a start or a release): address leases held by them,
   * and portmap's rules for them. The check's default-bridge part.
   */
  async leftovers(live: Set<string>): Promise<Finding[]> {
    const out = await leaseLeftovers(path.join(this.opts.ipamDir, this.configList(false).name), live);
    if (!this.opts.iptables) return out;
    const nat = await run('iptables-save', ['-t', 'nat'], { allowFailure: true });
    const name = this.configList(true).name;
    const stale = new Set<string>();
    for (const m of nat.stdout.matchAll(/dnat name: \\"([^"\\]+)\\" id: \\"([0-9a-f]{64})\\"/g)) {
      if (m[1] === name && !live.has(m[2]!)) stale.add(m[2]!);
    }
    for (const id of stale) {
      out.push({
        kind: 'portmap-leftover',
        subject: id,
        message: `published-port rules of container ${id.slice(0, 12)}, which is not running`,
        action: 'delete the rules',
        // portmap's DEL finds its rules by container ID; any valid mapping lets the configuration parse.
        fix: () => this.disconnect(id, '', { ports: [{ containerPort: 1, protocol: 'tcp', hostIP: '', hostPort: 1 }] }),
      });
    }
    return out;
  }

  /**
   * Undoes connect() for a namespace about to be destroyed: published ports
   * (portmap) and the address lease (host-local), or only one of them
   * (`part`); the veth pair goes with the namespace. `live`: the namespace
   * stays (`network disconnect bridge`), so the bridge plugin removes the
   * interface too. Safe to repeat; works after a daemon restart.
   */
  async disconnect(containerId: string, netns: string, ep: Pick<BridgeEndpoint, 'ports' | 'ifName'> & { ip?: string }, live = false, part: ReleasePart = 'both'): Promise<void> {
    const list = this.configList(ep.ports.length > 0);
    const req = {
      containerId,
      netns,
      ifName: ep.ifName ?? 'eth0',
      runtimeConfig: { portMappings: ep.ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIP })) },
    };
    if (live) {
      await cniDel(list, req);
      return;
    }
    const portmap = { ...list, plugins: list.plugins.filter((p) => p.type === 'portmap') };
    const bridgeConf = { ...list.plugins[0]!, cniVersion: list.cniVersion, name: list.name };
    await Promise.all([
      portmap.plugins.length > 0 && part !== 'address' ? cniDel(portmap, req) : Promise.resolve(),
      part === 'ports' ? null : releaseLeases(path.join(this.opts.ipamDir, list.name), containerId, req.ifName, [ep.ip]).then((done) => (done ? null : execPlugin('DEL', 'host-local', bridgeConf, req))),
    ]);
  }
}
