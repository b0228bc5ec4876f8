/**
 * @module engine/network/networks
 * User-defined networks (`docker network create`): their records (./store.ts),
 * the choice and checks of their address pools (./ipam.ts), their bridges on
 * the host (./user-bridge.ts), Docker's NetworkResource shape for them, and
 * the DNS entries of the containers on them (./dns.ts). Containers' endpoints
 * are wired by the network service, which calls in here.
 */
import { createHash, randomBytes } from 'node:crypto';
import { conflict, EngineError, invalid, notFound } from '../errors.js';
import { run } from '../../util/exec.js';
import type { EndpointResource, Network, NetworkCreateRequest } from '../../common/api/index.js';
import { isIPv6 } from 'node:net';
import { choosePool6, contains6, parseCidr6 } from './ipam6.js';
import { choosePool, contains, ipToInt, isIPv4, parseCidr, validatePool, type Cidr } from './ipam.js';
import { NetworkStore, type NetworkRecord } from './store.js';
import { bridgeDown, bridgeLeftovers, bridgeNameFor, bridgeUp, leaseDir, leaseLeftovers, type UserEndpoint } from './user-bridge.js';
import { fixAll, type Finding } from '../check/finding.js';
import type { DnsServer } from './dns.js';

/** A container's settings for one network (NetworkingConfig.EndpointsConfig[name], `network connect`'s EndpointConfig). */
export interface EndpointConfig {
  NetworkID?: string;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Aliases?: string[] | null;
  Links?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
  GwPriority?: number;
}

/** A container as the user networks see it. */
export interface NetworkUser {
  Id: string;
  Name: string;
  Config: { Hostname?: string };
  HostConfig?: { Dns?: string[] | null };
  EndpointsConfig?: Record<string, EndpointConfig>;
  NetworkAttachment?: { endpoints?: Record<string, UserEndpoint> };
}

const KNOWN_DRIVERS = new Set(['bridge']);

export class UserNetworks {
  private constructor(
    readonly store: NetworkStore,
    private readonly ipamDir: string,
    private readonly iptables: boolean,
    private readonly dns: DnsServer,
    /** Subnets others hold: the default bridge's. */
    private readonly reserved: () => string[],
    private readonly users: () => NetworkUser[],
  ) {}

  static async open(
    dir: string,
    o: { ipamDir: string; iptables: boolean; dns: DnsServer; reserved: () => string[]; users: () => NetworkUser[] },
  ): Promise<UserNetworks> {
    const n = new UserNetworks(await NetworkStore.open(dir), o.ipamDir, o.iptables, o.dns, o.reserved, o.users);
    return n;
  }

  /** Whether containers can resolve names (aardvark-dns installed). */
  get dnsAvailable(): boolean {
    return this.dns.available;
  }

  list(): NetworkRecord[] {
    return this.store.list();
  }

  /** A network by exact name, full ID or unique ID prefix; undefined when none. */
  lookup(idOrName: string): NetworkRecord | undefined {
    const all = this.store.list();
    const byName = all.find((n) => n.Name === idOrName);
    if (byName) return byName;
    const full = all.find((n) => n.Id === idOrName);
    if (full) return full;
    const prefixed = idOrName.length > 0 ? all.filter((n) => n.Id.startsWith(idOrName)) : [];
    if (prefixed.length > 1) throw invalid(`network ${idOrName} is ambiguous (${prefixed.length} matches found based on ID prefix)`);
    return prefixed[0];
  }

  get(idOrName: string): NetworkRecord {
    const n = this.lookup(idOrName);
    if (!n) throw notFound(`network ${idOrName} not found`);
    return n;
  }

  /** POST /networks/create, as dockerd checks it; nothing is left behind when it fails. */
  async create(req: NetworkCreateRequest, predefined: string[]): Promise<{ Id: string; Warning: string }> {
    if (!req?.Name) throw invalid('network name cannot be empty');
    if (predefined.includes(req.Name)) throw new EngineError('forbidden', `operation is not permitted on predefined ${req.Name} network `);
    if (this.lookup(req.Name)?.Name === req.Name) throw conflict(`network with name ${req.Name} already exists`);
    const driver = req.Driver || 'bridge';
    if (!KNOWN_DRIVERS.has(driver)) throw notFound(`plugin "${driver}" not found`);
    const ipamDriver = req.IPAM?.Driver || 'default';
    if (ipamDriver !== 'default') throw notFound(`plugin "${ipamDriver}" not found`);
    const v4 = (req.IPAM?.Config ?? []).filter((c) => !c.Subnet || !c.Subnet.includes(':'));
    if (v4.length > 1) throw new EngineError('notimplemented', 'berth supports one IPv4 subnet per network');
    const want = v4[0];
    if (want) validatePool(want);
    const v6 = (req.IPAM?.Config ?? []).filter((c) => c.Subnet?.includes(':'));
    if (v6.length > 1) throw new EngineError('notimplemented', 'berth supports one IPv6 subnet per network');
    const others: Cidr[] = [...this.reserved(), ...this.store.list().map((n) => n.IPAM.Config[0]!.Subnet)].map((s) => parseCidr(s)!).filter(Boolean);
    // A subnet the user did not give must also stay clear of the host's routes.
    const taken = want?.Subnet ? others : [...others, ...(await hostRoutes())];
    const pool = choosePool(want, taken);
    const pool6 = req.EnableIPv6 ? choosePool6(v6[0], this.store.list().flatMap((n) => n.IPAM.Config.slice(1).map((c) => c.Subnet))) : undefined;
    const id = randomBytes(32).toString('hex');
    const options = { ...(req.Options ?? {}) };
    const rec: NetworkRecord = {
      Id: id,
      Name: req.Name,
      Created: new Date().toISOString(),
      Driver: 'bridge',
      Internal: !!req.Internal,
      Attachable: !!req.Attachable,
      EnableIPv6: !!req.EnableIPv6,
      // The IPv4 pool first (everything reads Config[0] as it), the IPv6 one second.
      IPAM: { Driver: 'default', Options: req.IPAM?.Options ?? {}, Config: pool6 ? [pool, pool6] : [pool] },
      Options: options,
      Labels: req.Labels ?? {},
      BridgeName: bridgeNameFor(id, options),
    };
    if (rec.BridgeName.length > 15) throw invalid(`bridge name ${rec.BridgeName} is too long`);
    if (this.store.list().some((n) => n.BridgeName === rec.BridgeName)) {
      throw conflict(`bridge name ${rec.BridgeName} is already in use by another network`);
    }
    try {
      // The record first: a crash between the two leaves a network whose
      // bridge the next start brings up (sweep), never a bridge and rules no
      // record names — which no berthd could tell from another daemon's.
      await this.store.save(rec);
      await bridgeUp(rec, this.iptables);
    } catch (err) {
      await bridgeDown(rec, this.iptables, this.ipamDir).catch(() => undefined);
      await this.store.remove(rec.Id).catch(() => undefined);
      throw err;
    }
    // Its DNS server up now, not on the first container's start (a failure shows when names do not resolve).
    await this.refreshDns(rec.Id).catch(() => undefined);
    return { Id: id, Warning: '' };
  }

  /** The running containers with an endpoint on `n`. */
  members(n: NetworkRecord): NetworkUser[] {
    return this.users().filter((c) => c.NetworkAttachment?.endpoints?.[n.Id]);
  }

  /** DELETE /networks/{id}: dockerd's 403 while containers are attached. */
  async remove(idOrName: string): Promise<NetworkRecord> {
    const n = this.get(idOrName);
    const eps = this.members(n);
    if (eps.length) {
      const list = eps.map((c) => `name:"${c.Name.replace(/^\//, '')}" id:"${c.NetworkAttachment!.endpoints![n.Id]!.endpointId.slice(0, 12)}"`).join(', ');
      throw new EngineError('forbidden', `error while removing network: network ${n.Name} has active endpoints (${list})`);
    }
    await this.dns.update(n.Id, undefined, []);
    await bridgeDown(n, this.iptables, this.ipamDir);
    await this.store.remove(n.Id);
    return n;
  }

  /** Docker's NetworkResource; `withContainers` fills Containers (inspect), else it stays empty (list). */
  resource(n: NetworkRecord, withContainers: boolean): Network {
    const containers: Record<string, EndpointResource> = {};
    if (withContainers) {
      for (const c of this.members(n)) {
        const ep = c.NetworkAttachment!.endpoints![n.Id]!;
        containers[c.Id] = {
          Name: c.Name.replace(/^\//, ''),
          EndpointID: ep.endpointId,
          MacAddress: ep.mac,
          IPv4Address: `${ep.ip}/${ep.prefixLen}`,
          IPv6Address: ep.ipv6 ? `${ep.ipv6}/${ep.prefixLen6}` : '',
        };
      }
    }
    return {
      Name: n.Name,
      Id: n.Id,
      Created: n.Created,
      Scope: 'local',
      Driver: n.Driver,
      EnableIPv4: true,
      EnableIPv6: n.EnableIPv6,
      IPAM: { Driver: n.IPAM.Driver, Options: n.IPAM.Options, Config: n.IPAM.Config.map((c) => ({ ...c })) },
      Internal: n.Internal,
      Attachable: n.Attachable,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: n.Options,
      Labels: n.Labels,
    };
  }

  /** Create/connect-time checks of a container's settings for `n` (dockerd's "invalid endpoint settings"). */
  validateEndpoint(n: NetworkRecord, cfg: EndpointConfig | undefined): void {
    const errs: string[] = [];
    const ip = cfg?.IPAMConfig?.IPv4Address;
    if (ip) {
      if (!isIPv4(ip)) errs.push(`invalid IPv4 address: ${ip}`);
      else if (!contains(parseCidr(n.IPAM.Config[0]!.Subnet)!, ipToInt(ip))) errs.push(`no configured subnet contains IP address ${ip}`);
    }
    const ip6 = cfg?.IPAMConfig?.IPv6Address;
    if (ip6) {
      const pool6 = n.IPAM.Config[1] && parseCidr6(n.IPAM.Config[1].Subnet);
      if (!isIPv6(ip6)) errs.push(`invalid IPv6 address: ${ip6}`);
      else if (!pool6 || !contains6(pool6, ip6)) errs.push(`no configured subnet contains IP address ${ip6}`);
    }
    for (const a of cfg?.IPAMConfig?.LinkLocalIPs ?? []) if (!/^[\d.]+$|:/.test(a)) errs.push(`invalid link-local IP address: ${a}`);
    if (cfg?.MacAddress && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(cfg.MacAddress)) errs.push(`invalid MAC address: ${cfg.MacAddress}`);
    if (errs.length) throw invalid(`invalid endpoint settings:\n${errs.join('\n')}`);
  }

  /** The names a container answers to on a network: its name, its aliases, its short ID, its hostname (dockerd's DNSNames). */
  dnsNames(c: NetworkUser, n: NetworkRecord): string[] {
    const cfg = c.EndpointsConfig?.[n.Name];
    return [...new Set([c.Name.replace(/^\//, ''), ...(cfg?.Aliases ?? []), c.Id.slice(0, 12), ...(c.Config.Hostname ? [c.Config.Hostname] : [])])];
  }

  /** Rewrites a network's DNS entries from the containers on it now. */
  async refreshDns(networkId: string): Promise<void> {
    const n = this.store.get(networkId);
    if (!n) return;
    const entries = this.members(n).map((c) => ({
      id: c.Id,
      ip: c.NetworkAttachment!.endpoints![n.Id]!.ip,
      ipv6: c.NetworkAttachment!.endpoints![n.Id]!.ipv6,
      names: this.dnsNames(c, n),
      servers: c.HostConfig?.Dns ?? undefined,
    }));
    await this.dns.update(n.Id, n.IPAM.Config[0]!.Gateway, entries);
    await this.membersChanged?.(n.Id).catch(() => undefined);
  }

  /**
   * Told after a network's DNS entries were rewritten, i.e. whenever who is
   * on it, at which address and under which name may have changed: the
   * linking containers' /etc/hosts follow (./link-aliases.ts).
   */
  membersChanged?: (networkId: string) => Promise<void>;

  /**
   * Daemon start: leftovers removed, bridges and rules of the known networks
   * back in place (a reboot or someone may have removed them), DNS entries rewritten.
   */
  async sweep(running: Set<string>): Promise<void> {
    await fixAll(await this.leftovers(running));
    for (const n of this.store.list()) await bridgeUp(n, this.iptables).catch(() => undefined);
    await this.dns.retain(new Set(this.store.list().map((n) => n.Id)));
    for (const n of this.store.list()) await this.refreshDns(n.Id).catch(() => undefined);
  }

  /** Leftovers of removed networks, and leases held by containers not in `live` (the check's user-network part). */
  async leftovers(live: Set<string>): Promise<Finding[]> {
    const out = await bridgeLeftovers(this.store.list(), this.iptables, this.ipamDir);
    for (const n of this.store.list()) out.push(...(await leaseLeftovers(leaseDir(n, this.ipamDir), live)));
    return out;
  }

  /** A stable fake ID for predefined names is not this module's: user networks have random IDs. */
  static sandboxId(netns: string, id: string): string {
    return createHash('sha256').update(netns + id).digest('hex');
  }
}

/** The host's routes as CIDRs (a subnet picked for a network must not collide with them). */
async function hostRoutes(): Promise<Cidr[]> {
  const r = await run('ip', ['-j', '-4', 'route', 'show'], { allowFailure: true });
  if (r.code !== 0) return [];
  const routes = JSON.parse(r.stdout || '[]') as { dst: string }[];
  return routes
    .filter((x) => x.dst !== 'default')
    .map((x) => parseCidr(x.dst.includes('/') ? x.dst : `${x.dst}/32`))
    .filter((c): c is Cidr => !!c);
}
