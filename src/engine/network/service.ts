/**
 * @module engine/network/service
 * Network modes of containers, as dockerd's: `bridge` (the default network:
 * a namespace of its own wired to the bridge, ports published), `none`
 * (loopback only), `host` (the host's namespace) and `container:<name|id>`
 * (another running container's namespace). attach() runs before the
 * container's process starts and returns what the OCI spec should join;
 * release() undoes it when the process has ended, also after a daemon
 * restart, from what attach() recorded; connect and disconnect of a
 * running container; what a crashed daemon left (sweep, leftovers). The
 * networks themselves, as `/networks` lists them, are ./catalogue.ts's.
 */
import net from 'node:net';
import path from 'node:path';
import { fixAll, type Finding } from '../check/finding.js';
import { run } from '../../util/exec.js';
import { conflict, EngineError, invalid, notFound } from '../errors.js';
import { freePort, type BridgeEndpoint, type BridgeNetwork, type PortBinding } from './bridge.js';
import type { NetnsKind, NetnsStore } from './netns.js';
import { dnsKind, handOver, PLAIN, spareOwner, takesWired, wiredBridgeKind, type PrewiredBridge } from './netns-kinds.js';
import type { NetworkCatalogue } from './catalogue.js';
import type { EndpointConfig, UserNetworks } from './networks.js';
import { endpointAdd, endpointDel, type ReleasePart, type UserEndpoint } from './user-bridge.js';
import { cniAdd, CNI_VERSION } from './cni.js';
import { EMBEDDED_DNS, pointEmbeddedDns } from './embedded-dns.js';
import { EmbeddedDnsTcp } from './embedded-dns-tcp.js';
import { span } from '../trace.js';
import type { NetworkRecord } from './store.js';

/**
 * What EndpointSettings ask beyond an address: link-local addresses
 * (IPAMConfig.LinkLocalIPs, added to the interface as dockerd does) and the
 * bridge driver's per-interface sysctls (DriverOpts
 * `com.docker.network.endpoint.sysctls`, `net.X.Y.IFNAME.Z=V`).
 */
async function endpointExtras(netns: string, ifName: string, cfg: EndpointConfig | undefined): Promise<void> {
  const inNs = (args: string[]) => run('nsenter', [`--net=${netns}`, ...args]);
  for (const ip of cfg?.IPAMConfig?.LinkLocalIPs ?? []) {
    await inNs(['ip', 'addr', 'add', ip.includes('/') ? ip : `${ip}/${ip.includes(':') ? 64 : 16}`, 'dev', ifName]);
  }
  const sysctls = cfg?.DriverOpts?.['com.docker.network.endpoint.sysctls'];
  for (const s of sysctls ? sysctls.split(',') : []) {
    const [key, value] = s.split('=');
    const parts = (key ?? '').split('.');
    if (parts.length !== 5 || !/^ifname$/i.test(parts[3]!) || value === undefined) {
      throw invalid(`unrecognised network interface sysctl '${s}'; represent 'net.X.Y.ethN.Z=V' as 'net.X.Y.IFNAME.Z=V', 'X' must be 'ipv4', 'ipv6' or 'mpls'`);
    }
    parts[3] = ifName;
    await inNs(['sysctl', '-w', `${parts.join('.')}=${value}`]);
  }
}

/** What a container is attached to; stored in its record. */
export interface NetworkAttachment {
  mode: 'bridge' | 'none' | 'host' | 'container';
  /** bridge: the pinned namespace (SandboxKey); unset when the container's own process holds it (user namespaces). */
  netns?: string;
  endpoint?: BridgeEndpoint;
  /** User-defined networks the namespace is wired to, by network ID. */
  endpoints?: Record<string, UserEndpoint>;
  /** bridge, wired once the process exists (ready()): the ports it will publish. */
  pendingPorts?: PortBinding[];
  /** container: the container whose namespace is shared. */
  container?: string;
  /**
   * The user network whose aardvark 127.0.0.11 is carried to (./embedded-dns.ts);
   * null: the container uses 127.0.0.11 but is on no user network now; absent: it does not use it.
   */
  dnsNetwork?: string | null;
}

/** The slice of a container record networking reads. */
export interface NetworkedContainer {
  Id: string;
  Name: string;
  HostConfig: { NetworkMode?: string; PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null; PublishAllPorts?: boolean };
  Config: { ExposedPorts?: Record<string, unknown> | null; Hostname?: string };
  NetworkAttachment?: NetworkAttachment;
  /** The networks a container is configured for, by name, with its settings on each (NetworkingConfig). */
  EndpointsConfig?: Record<string, EndpointConfig>;
}

/** What wiring a namespace gives: the default bridge's endpoint and the user networks'. */
interface Wired {
  endpoint?: BridgeEndpoint;
  endpoints: Record<string, UserEndpoint>;
  dnsNetwork?: string | null;
}

/** Resolves `container:<x>` to a running container's ID and PID. */
export type ContainerLookup = (idOrName: string) => { Id: string; Pid: number; Running: boolean };

/** What the spec builder gets: a namespace path to join, "host", or undefined for a new one. */
export type SpecNetwork = string | 'host' | undefined;

/** A binding as asked: a host port of 0 means any free one; a range means the first free one in it. */
interface RequestedBinding extends PortBinding {
  hostPortEnd: number;
}

function parsePortBindings(c: NetworkedContainer): RequestedBinding[] {
  const bindings: Record<string, { HostIp?: string; HostPort?: string }[] | null> = { ...(c.HostConfig.PortBindings ?? {}) };
  // -P: every exposed port without a binding gets a free host port.
  if (c.HostConfig.PublishAllPorts) for (const key of Object.keys(c.Config.ExposedPorts ?? {})) bindings[key] ??= [{}];
  const out: RequestedBinding[] = [];
  for (const [key, list] of Object.entries(bindings)) {
    const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key);
    if (!m) throw invalid(`invalid port specification: "${key}"`);
    const containerPort = Number(m[1]);
    const protocol = (m[2] ?? 'tcp') as PortBinding['protocol'];
    for (const b of list ?? [{}]) {
      const r = /^(\d+)(?:-(\d+))?$/.exec(b.HostPort || '0');
      const hostPort = r ? Number(r[1]) : NaN;
      const hostPortEnd = r?.[2] !== undefined ? Number(r[2]) : hostPort;
      if (!r || hostPort > 65535 || hostPortEnd > 65535 || hostPortEnd < hostPort) throw invalid(`invalid port specification: "${b.HostPort}"`);
      out.push({ containerPort, protocol, hostIP: b.HostIp || '0.0.0.0', hostPort, hostPortEnd });
    }
  }
  return out;
}

/** Whether a host process holds the port already (dockerd's proxy would fail to bind it). */
function portInUse(p: PortBinding): Promise<boolean> {
  if (p.protocol !== 'tcp') return Promise.resolve(false);
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'));
    srv.listen(p.hostPort, p.hostIP, () => srv.close(() => resolve(false)));
  });
}

/** The longest a start or exit holds back the making of spare namespaces. */
const BUSY_MAX_MS = 10_000;

export class NetworkService {
  /** Host ports published by running containers: `<ip>:<port>/<proto>` → container ID. */
  private readonly published = new Map<string, string>();
  /** Bridge wiring in flight for containers being started, settled by ready(). */
  private readonly wiring = new Map<string, Promise<Wired>>();
  /** Second halves of releaseDeferred() still to run or running: a new attach of the same container waits for them. */
  private readonly releasing = new Map<string, Promise<void>>();
  /** The TCP side of 127.0.0.11 in containers on user networks. */
  readonly dnsTcp = new EmbeddedDnsTcp();
  /** Where the addresses of user networks' endpoints are leased (host-local's data dir). */
  ipamDir = '';
  /** Starts between attach() and started(): spare namespaces are not made meanwhile (./netns.ts busy()). */
  private readonly starting = new Map<string, () => void>();
  /** The default bridge's kind of spare namespace, wired ahead (./netns-kinds.ts). */
  private readonly wiredBridge?: NetnsKind<PrewiredBridge>;

  constructor(
    /** The networks there are: the default bridge and the user-defined ones. */
    readonly catalogue: NetworkCatalogue,
    private readonly netns: NetnsStore,
  ) {
    if (catalogue.bridge) this.wiredBridge = wiredBridgeKind(catalogue.bridge);
  }

  get bridge(): BridgeNetwork | undefined {
    return this.catalogue.bridge;
  }

  get user(): UserNetworks | undefined {
    return this.catalogue.user;
  }

  /** Create-time check of PortBindings (dockerd refuses malformed ones then, not at start). */
  validatePorts(c: Pick<NetworkedContainer, 'HostConfig' | 'Config'>): void {
    parsePortBindings(c as NetworkedContainer);
  }

  /** Learns which host ports a running container holds and opens its DNS over TCP (after a daemon restart). */
  adopt(c: NetworkedContainer): void {
    this.holdPorts(c);
    this.listenDnsTcp(c);
  }

  /** Records the host ports a container publishes as taken. */
  private holdPorts(c: NetworkedContainer): void {
    const eps = [c.NetworkAttachment?.endpoint, ...Object.values(c.NetworkAttachment?.endpoints ?? {})];
    for (const p of eps.flatMap((e) => e?.ports ?? [])) this.published.set(`${p.hostIP}:${p.hostPort}/${p.protocol}`, c.Id);
  }

  /**
   * Told once a container's process runs (its start is recorded): what can
   * come after the start, the DNS over TCP listener, is made now.
   */
  started(c: NetworkedContainer): void {
    this.starting.get(c.Id)?.();
    // After the start's response: spawning blocks the event loop for the fork.
    setImmediate(() => this.listenDnsTcp(c));
  }

  /**
   * DNS over TCP on 127.0.0.11 for a container whose 127.0.0.11 goes to
   * aardvark (./embedded-dns-tcp.ts). Its helper is a Node process (~100 ms
   * of CPU here), so it is made after the start, at low priority: it must not
   * take the CPU from the starts and exits a client is waiting for.
   */
  private listenDnsTcp(c: NetworkedContainer): void {
    const a = c.NetworkAttachment;
    if (a?.mode === 'bridge' && a.netns && a.dnsNetwork) void this.dnsTcp.open(c.Id, a.netns).catch(() => undefined);
  }

  /**
   * `ownNetns`: the container runs in a user namespace of its own. A network
   * namespace made beforehand would belong to the host's user namespace, and
   * runc could neither mount sysfs for it nor `exec` into it; so runc makes
   * the namespace and ready() wires it before the process starts
   * (dockerd does this wiring in a prestart hook for the same reason).
   */
  async attach(c: NetworkedContainer, lookup: ContainerLookup, ownNetns = false): Promise<SpecNetwork> {
    const mode = c.HostConfig.NetworkMode || this.catalogue.defaultMode();
    if (mode === 'none') {
      c.NetworkAttachment = { mode: 'none' };
      return undefined;
    }
    if (mode === 'host') {
      c.NetworkAttachment = { mode: 'host' };
      return 'host';
    }
    if (mode.startsWith('container:')) {
      const other = lookup(mode.slice('container:'.length));
      if (other.Id === c.Id) throw invalid('cannot join own network');
      if (!other.Running || other.Pid <= 0) throw conflict(`cannot join network of a non running container: ${other.Id}`);
      c.NetworkAttachment = { mode: 'container', container: other.Id };
      return `/proc/${other.Pid}/ns/net`;
    }
    if (mode === 'bridge' ? !this.bridge : !this.catalogue.userNetwork(mode)) throw notFound(`network ${mode} not found`);
    // Until started() (or a release after a failed start).
    this.starting.set(c.Id, this.busy(c.Id));
    await this.releasing.get(c.Id)?.catch(() => undefined);
    const ports: PortBinding[] = [];
    for (const want of parsePortBindings(c)) {
      const { hostPortEnd, ...p } = want;
      if (p.hostPort === 0) {
        ports.push(p);
        continue;
      }
      let chosen = 0;
      for (let port = p.hostPort; port <= hostPortEnd && chosen === 0; port++) {
        const owner = this.published.get(`${p.hostIP}:${port}/${p.protocol}`);
        if ((!owner || owner === c.Id) && !(await portInUse({ ...p, hostPort: port }))) chosen = port;
      }
      if (chosen === 0) {
        const shown = hostPortEnd === p.hostPort ? String(p.hostPort) : `${p.hostPort}-${hostPortEnd}`;
        throw new EngineError(
          'system',
          `driver failed programming external connectivity on endpoint ${c.Name.slice(1)}: Bind for ${p.hostIP}:${shown} failed: port is already allocated`,
        );
      }
      ports.push({ ...p, hostPort: chosen });
      // Taken from now on: a start racing this one must not pick it too.
      this.published.set(`${p.hostIP}:${chosen}/${p.protocol}`, c.Id);
    }
    if (ownNetns) {
      c.NetworkAttachment = { mode: 'bridge', pendingPorts: ports };
      return undefined;
    }
    const dnsVia = this.embeddedDnsVia(c);
    const wired = mode === 'bridge' && this.wiredBridge && takesWired(c.EndpointsConfig, ports) ? this.wiredBridge : undefined;
    const kind = dnsVia ? dnsKind(dnsVia.IPAM.Config[0]!.Gateway) : (wired ?? PLAIN);
    const made = await span('netns', () => this.netns.create(c.Id, kind));
    const netnsPath = made.path;
    c.NetworkAttachment = { mode: 'bridge', netns: netnsPath };
    // CNI runs while the caller mounts, writes the bundle and has runc create
    // the container (which joins the namespace by path): ready() waits for it
    // before the process is started. A spare wired ahead needs none.
    const pre = wired && (made.prepared as PrewiredBridge | undefined);
    const wiring: Promise<Wired> = pre
      ? handOver(this.bridge!, pre, c.Id).then(
          (endpoint) => ({ endpoint, endpoints: {} }),
          async (err) => {
            await this.bridge!.disconnect(pre.owner, netnsPath, pre.endpoint).catch(() => undefined);
            throw err;
          },
        )
      : this.wire(c, netnsPath, ports, true);
    wiring.catch(() => undefined);
    this.wiring.set(c.Id, wiring);
    return netnsPath;
  }

  /**
   * At daemon start, once running containers are known (`running`: their
   * IDs): removes what a daemon killed in the middle of a start or a release
   * left behind: pinned namespaces, address leases, port rules.
   */
  async sweep(running: Set<string>): Promise<void> {
    await fixAll(await this.leftovers(running, { userNetworks: false }));
    await this.user?.sweep(running);
    // Most containers start on the default bridge: have its spare namespace ready for the first.
    if (this.wiredBridge) this.netns.want(this.wiredBridge);
  }

  /** The spare namespaces' mount points that are in use: held by this daemon or taken by a container in `live`. */
  async netnsMountsInUse(live: Set<string>): Promise<Set<string>> {
    return this.netns.sparesInUse(new Set([...live].map((id) => id.slice(0, 12))));
  }

  /**
   * Marks a start or an exit of container `id` as in hand (see NetnsStore.busy);
   * the returned function ends it, as does a release of the container, and
   * at the latest BUSY_MAX_MS later, whatever went wrong in between.
   */
  private busy(id: string): () => void {
    const end = this.netns.busy();
    const timer = setTimeout(() => done(), BUSY_MAX_MS);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      if (this.starting.get(id) === done) this.starting.delete(id);
      end();
    };
    this.starting.get(id)?.();
    return done;
  }

  /** Daemon shutdown: the spare namespaces go (containers keep theirs). */
  async close(): Promise<void> {
    await this.netns.close();
  }

  /**
   * Network state held for containers not in `live` (the check's network
   * part): pinned namespaces (their veths go with them), the default bridge's
   * leases and port rules, and user networks' leftovers.
   */
  async leftovers(live: Set<string>, o: { userNetworks?: boolean } = {}): Promise<Finding[]> {
    const short = new Set([...live].map((id) => id.slice(0, 12)));
    const out: Finding[] = [];
    for (const f of await this.netns.list()) {
      if (short.has(f)) continue;
      out.push({ kind: 'netns-leftover', subject: path.join(this.netns.dir, f), message: `the network namespace of container ${f}, which is not running`, action: 'unpin it (its interfaces go with it)', fix: () => this.netns.removeFile(f) });
    }
    for (const p of await this.netns.strayedSpares(short)) {
      out.push({ kind: 'netns-leftover', subject: p, message: 'a spare network namespace no container took and no daemon holds', action: 'unpin it', fix: () => this.netns.removeSpare(p) });
    }
    // The default bridge's spares hold addresses under IDs of their own (./netns-kinds.ts).
    if (this.bridge) out.push(...(await this.bridge.leftovers(new Set([...live, ...this.netns.held().map(spareOwner)]))));
    if (this.user && o.userNetworks !== false) out.push(...(await this.user.leftovers(live)));
    return out;
  }

  /**
   * Finishes attach() once runc has created the container (`pid`, not yet
   * started): waits for the wiring in flight, or wires the namespace runc made
   * (attach's `ownNetns`). True when the container got an address (its
   * /etc/hosts should list it).
   */
  async ready(c: NetworkedContainer, pid: number): Promise<boolean> {
    const a = c.NetworkAttachment;
    if (a?.mode !== 'bridge') return false;
    try {
      const inFlight = this.wiring.get(c.Id);
      if (inFlight) {
        this.wiring.delete(c.Id);
        Object.assign(a, await inFlight);
      } else if (a.pendingPorts) {
        Object.assign(a, await this.wire(c, `/proc/${pid}/ns/net`, a.pendingPorts, false));
        delete a.pendingPorts;
      }
    } catch (err) {
      throw new EngineError('system', `failed to set up container networking: ${(err as Error).message}`, { cause: err });
    }
    this.holdPorts(c);
    await this.refreshDns(c);
    return a.endpoint !== undefined || Object.keys(a.endpoints ?? {}).length > 0;
  }

  /** Releases what attach() set up. Safe to call again, and for containers that never attached. */
  async release(c: NetworkedContainer): Promise<void> {
    const done = this.busy(c.Id);
    try {
      await (await this.releaseFirst(c))();
    } finally {
      done();
    }
  }

  /**
   * release() in two halves, for a caller whose client waits for something
   * else (`run --rm` waits for the removal): the published ports, DNS entries
   * and the record's attachment are undone before this returns; the
   * returned `finish` unpins the namespace (a umount) and then frees the
   * addresses, to be called once the client has its answer (a daemon that
   * dies first leaves them to its start's sweep). A new attach of the
   * container waits for it.
   */
  async releaseDeferred(c: NetworkedContainer): Promise<() => void> {
    const done = this.busy(c.Id);
    const rest = await this.releaseFirst(c).catch((err) => {
      done();
      throw err;
    });
    let finish!: () => void;
    const p = new Promise<void>((resolve) => (finish = resolve)).then(rest).finally(done);
    // Registered now, not at finish(): whatever attaches the container next waits for all of it.
    this.releasing.set(c.Id, p);
    void p.catch(() => undefined).finally(() => {
      if (this.releasing.get(c.Id) === p) this.releasing.delete(c.Id);
    });
    return finish;
  }

  /**
   * What both halves of a release share: the first half done, the second
   * returned. The namespace is unpinned before the addresses are freed: its
   * interfaces answer for them until it is gone, and no other container may
   * get one meanwhile.
   */
  private async releaseFirst(c: NetworkedContainer): Promise<() => Promise<void>> {
    const a = c.NetworkAttachment;
    // A start that failed before ready(): let its wiring settle, then undo it.
    const inFlight = this.wiring.get(c.Id);
    if (inFlight && a) {
      this.wiring.delete(c.Id);
      Object.assign(a, await inFlight.catch(() => ({})));
    }
    const dnsOf = Object.keys(a?.endpoints ?? {});
    await this.dnsTcp.close(c.Id);
    const each = (part: ReleasePart) => Promise.all([
      a?.mode === 'bridge' && a.endpoint && this.bridge ? this.bridge.disconnect(c.Id, a.netns ?? '', a.endpoint, false, part).catch(() => undefined) : undefined,
      ...Object.values(a?.endpoints ?? {}).map((ep) => {
        const n = this.user?.store.get(ep.networkId);
        return n ? endpointDel(n, this.ipamDir, c.Id, a!.netns ?? '', ep, false, part).catch(() => undefined) : undefined;
      }),
    ]);
    await each('ports');
    for (const [key, owner] of this.published) if (owner === c.Id) this.published.delete(key);
    c.NetworkAttachment = undefined;
    // Once more: an adopt() that ran while this released (a daemon restart's
    // exit watcher and its restore loop both reach an exited container) may
    // have opened the TCP listener since; its sockets would hold the unpinned
    // namespace, and the veth in it, for good. With the attachment gone no
    // further one can open.
    await this.dnsTcp.close(c.Id);
    for (const id of dnsOf) await this.user?.refreshDns(id).catch(() => undefined);
    return async () => {
      // Unpinning destroys the namespace, and the container's veth pair with it.
      if (a?.mode === 'bridge' && a.netns) await this.netns.remove(c.Id);
      await each('address');
    };
  }

  /**
   * Wires a new namespace: the default bridge (eth0) or the container's
   * primary user network (eth0, with the default route and the published
   * ports), then every other user network it is configured for (eth1, …).
   * `made`: ./netns.ts made the namespace, with lo up and the embedded DNS
   * rules set; one runc made gets them here, beside the interfaces (lo from
   * CNI's loopback plugin). A failure undoes what was wired.
   */
  private async wire(c: NetworkedContainer, netns: string, ports: PortBinding[], made: boolean): Promise<Wired> {
    const out: Wired = { endpoints: {} };
    const mode = c.HostConfig.NetworkMode || this.catalogue.defaultMode();
    const dnsVia = this.embeddedDnsVia(c);
    const dnsRules = dnsVia && !made ? pointEmbeddedDns(netns, dnsVia.IPAM.Config[0]!.Gateway) : Promise.resolve();
    dnsRules.catch(() => undefined);
    const loopback = made ? Promise.resolve() : cniAdd({ cniVersion: CNI_VERSION, name: 'berth-loopback', plugins: [{ type: 'loopback' }] }, { containerId: c.Id, netns, ifName: 'lo' });
    loopback.catch(() => undefined);
    try {
      // A container made on the bridge and disconnected from it since (`network disconnect bridge`) stays off it.
      if (mode === 'bridge' && (!c.EndpointsConfig || c.EndpointsConfig.bridge)) {
        const cfg = c.EndpointsConfig?.bridge;
        out.endpoint = await this.bridge!.connect(c.Id, netns, ports, cfg?.MacAddress || undefined);
        await endpointExtras(netns, 'eth0', cfg);
      }
      const primary = mode === 'bridge' ? undefined : this.user!.get(mode);
      const nets = this.configuredNetworks(c).filter((n) => n.Id !== primary?.Id);
      if (primary) nets.unshift(primary);
      let index = mode === 'bridge' ? 1 : 0;
      // `-p 80` without a host port: a free one, as the default bridge gives (portmap needs a number).
      const resolved: PortBinding[] = [];
      for (const p of mode === 'bridge' ? [] : ports) resolved.push({ ...p, hostPort: p.hostPort || (await freePort(p.hostIP)) });
      for (const n of nets) {
        const first = n === primary;
        out.endpoints[n.Id] = await this.addEndpoint(c, n, netns, `eth${index++}`, first, first ? resolved : []);
      }
      // On a user network first and on the default bridge too (`network connect bridge` while stopped).
      const bridgeCfg = c.EndpointsConfig?.bridge;
      if (mode !== 'bridge' && bridgeCfg && this.bridge) {
        const ifName = `eth${index++}`;
        out.endpoint = await this.bridge.connect(c.Id, netns, [], bridgeCfg.MacAddress || undefined, { ifName });
        await endpointExtras(netns, ifName, bridgeCfg);
      }
      await loopback;
      await dnsRules;
      if (dnsVia) out.dnsNetwork = dnsVia.Id;
      return out;
    } catch (err) {
      await Promise.allSettled([loopback, dnsRules]);
      if (out.endpoint) await this.bridge!.disconnect(c.Id, netns, out.endpoint).catch(() => undefined);
      for (const ep of Object.values(out.endpoints)) await endpointDel(this.user!.get(ep.networkId), this.ipamDir, c.Id, netns, ep, false).catch(() => undefined);
      throw err;
    }
  }

  /** The user networks a container's EndpointsConfig names that exist (a removed one is skipped, as dockerd skips it). */
  private configuredNetworks(c: NetworkedContainer): NetworkRecord[] {
    const out: NetworkRecord[] = [];
    for (const name of Object.keys(c.EndpointsConfig ?? {})) {
      const n = this.catalogue.userNetwork(name);
      if (n) out.push(n);
    }
    return out;
  }

  private async addEndpoint(c: NetworkedContainer, n: NetworkRecord, netns: string, ifName: string, defaultRoute: boolean, ports: PortBinding[]): Promise<UserEndpoint> {
    const cfg = c.EndpointsConfig?.[n.Name];
    try {
      const ep = await endpointAdd(n, this.ipamDir, c.Id, netns, {
        ifName,
        ip: cfg?.IPAMConfig?.IPv4Address || undefined,
        ip6: cfg?.IPAMConfig?.IPv6Address || undefined,
        mac: cfg?.MacAddress || undefined,
        defaultRoute,
        ports,
      });
      try {
        await endpointExtras(netns, ifName, cfg);
      } catch (err) {
        await endpointDel(n, this.ipamDir, c.Id, netns, ep, true).catch(() => undefined);
        throw err;
      }
      return ep;
    } catch (err) {
      if ((err as { addressInUse?: boolean }).addressInUse) throw new EngineError('forbidden', 'Address already in use');
      throw err;
    }
  }

  /**
   * The DNS server a container on a user-defined network asks: 127.0.0.11, as
   * with dockerd, carried to aardvark on a network's gateway by rules in the
   * container's namespace (./embedded-dns.ts). Undefined when the container
   * is on no user network (or aardvark is missing): it then asks the host's
   * resolvers (or its --dns servers) directly, as on dockerd's default bridge.
   */
  dnsServerFor(c: NetworkedContainer): string | undefined {
    return this.dnsNetworkOf(c) && this.user?.dnsAvailable ? EMBEDDED_DNS : undefined;
  }

  /**
   * The user network whose gateway a new namespace's 127.0.0.11 rules point
   * at, when /etc/resolv.conf will say 127.0.0.11 (dnsServerFor()); they
   * need no address of the container's.
   */
  private embeddedDnsVia(c: NetworkedContainer): NetworkRecord | undefined {
    return this.dnsServerFor(c) === EMBEDDED_DNS ? this.dnsNetworkOf(c) : undefined;
  }

  /** The user network whose aardvark a container's 127.0.0.11 goes to: its first. */
  private dnsNetworkOf(c: NetworkedContainer): NetworkRecord | undefined {
    const mode = c.HostConfig.NetworkMode || this.catalogue.defaultMode();
    return mode === 'bridge' ? this.configuredNetworks(c)[0] : this.catalogue.userNetwork(mode);
  }

  /** Rewrites the DNS entries of every user network the container is on. */
  async refreshDns(c: NetworkedContainer): Promise<void> {
    for (const id of Object.keys(c.NetworkAttachment?.endpoints ?? {})) await this.user?.refreshDns(id).catch(() => undefined);
  }

  /** `network connect` of a running container: a new interface on `n` in its namespace. */
  async connectLive(c: NetworkedContainer, n: NetworkRecord): Promise<void> {
    const a = c.NetworkAttachment;
    if (a?.mode !== 'bridge' || !a.netns) throw conflict('container sharing network namespace with another container or host cannot be connected to any other network');
    a.endpoints ??= {};
    if (a.endpoints[n.Id]) return;
    const used = new Set(Object.values(a.endpoints).map((e) => e.ifName));
    if (a.endpoint) used.add('eth0');
    let i = 0;
    while (used.has(`eth${i}`)) i++;
    a.endpoints[n.Id] = await this.addEndpoint(c, n, a.netns, `eth${i}`, !a.endpoint && used.size === 0, []);
    // 127.0.0.11 had nowhere to go (the container had left its user networks): it goes here now.
    if (a.dnsNetwork === null) {
      await pointEmbeddedDns(a.netns, a.endpoints[n.Id]!.gateway);
      a.dnsNetwork = n.Id;
      this.listenDnsTcp(c);
    }
    await this.user!.refreshDns(n.Id);
  }

  /**
   * `network connect bridge` of a running container on user networks: an
   * interface on the default bridge, without the default route (its first
   * network keeps it), as dockerd adds one.
   */
  async connectBridgeLive(c: NetworkedContainer): Promise<void> {
    const a = c.NetworkAttachment;
    if (a?.mode !== 'bridge' || !a.netns || !this.bridge) throw conflict('container sharing network namespace with another container or host cannot be connected to any other network');
    if (a.endpoint) return;
    const used = new Set(Object.values(a.endpoints ?? {}).map((e) => e.ifName));
    let i = 0;
    while (used.has(`eth${i}`)) i++;
    const cfg = c.EndpointsConfig?.bridge;
    const ifName = `eth${i}`;
    a.endpoint = await this.bridge.connect(c.Id, a.netns, [], cfg?.MacAddress || undefined, { ifName });
    try {
      await endpointExtras(a.netns, ifName, cfg);
    } catch (err) {
      await this.bridge.disconnect(c.Id, a.netns, a.endpoint, true).catch(() => undefined);
      a.endpoint = undefined;
      throw err;
    }
  }

  /** `network disconnect bridge` of a running container: its default-bridge interface removed (ports it published there too). */
  async disconnectBridgeLive(c: NetworkedContainer): Promise<void> {
    const a = c.NetworkAttachment;
    if (!a?.endpoint || !this.bridge) return;
    if (!a.netns) throw conflict('container sharing network namespace with another container or host cannot be connected to any other network');
    await this.bridge.disconnect(c.Id, a.netns, a.endpoint, true).catch(() => undefined);
    for (const p of a.endpoint.ports) this.published.delete(`${p.hostIP}:${p.hostPort}/${p.protocol}`);
    a.endpoint = undefined;
  }

  /** `network disconnect` of a running container: its interface on `n` removed. */
  async disconnectLive(c: NetworkedContainer, n: NetworkRecord): Promise<void> {
    const a = c.NetworkAttachment;
    const ep = a?.endpoints?.[n.Id];
    if (!a || !ep) return;
    await endpointDel(n, this.ipamDir, c.Id, a.netns ?? '', ep, true).catch(() => undefined);
    delete a.endpoints![n.Id];
    // 127.0.0.11 went through this network's gateway: through another's now, if any is left.
    if (a.dnsNetwork === n.Id && a.netns) {
      const next = Object.values(a.endpoints!)[0];
      await pointEmbeddedDns(a.netns, next?.gateway).catch(() => undefined);
      a.dnsNetwork = next?.networkId ?? null;
    }
    await this.user!.refreshDns(n.Id);
  }
}
