/**
 * @module engine/network/service
 * Network modes of containers, as dockerd's: `bridge` (the default network:
 * a namespace of its own wired to the bridge, ports published), `none`
 * (loopback only), `host` (the host's namespace) and `container:<name|id>`
 * (another running container's namespace). attach() runs before the
 * container's process starts and returns what the OCI spec should join;
 * release() undoes it when the process has ended, also after a daemon
 * restart, from what attach() recorded. It also answers /networks for the
 * predefined networks: list (with dockerd's filters), inspect, and the
 * refusals for what is not built yet.
 */
import net from 'node:net';
import { conflict, EngineError, invalid, notFound } from '../errors.js';
import type { BridgeEndpoint, BridgeNetwork, PortBinding } from './bridge.js';
import type { NetnsStore } from './netns.js';
import { networkId, networkResource, type NetworkMember } from './inspect.js';
import { NETWORK_LIST_FILTERS, type Filters, type Network, type NetworkPruneResponse } from '../../common/api/index.js';
import { labelsMatch } from '../filters.js';

/** The predefined networks: the only ones berth has until user-defined networks are built. */
type PredefinedName = 'bridge' | 'host' | 'none';

const LIST_FILTERS = new Set<string>(NETWORK_LIST_FILTERS);

/** The containers a network's inspect lists; provided by whoever holds the container records. */
export type NetworkMembers = () => NetworkMember[];

/** What a container is attached to; stored in its record. */
export interface NetworkAttachment {
  mode: 'bridge' | 'none' | 'host' | 'container';
  /** bridge: the pinned namespace (SandboxKey); unset when the container's own process holds it (user namespaces). */
  netns?: string;
  endpoint?: BridgeEndpoint;
  /** bridge, wired once the process exists (ready()): the ports it will publish. */
  pendingPorts?: PortBinding[];
  /** container: the container whose namespace is shared. */
  container?: string;
}

/** The slice of a container record networking reads. */
export interface NetworkedContainer {
  Id: string;
  Name: string;
  HostConfig: { NetworkMode?: string; PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null; PublishAllPorts?: boolean };
  Config: { ExposedPorts?: Record<string, unknown> | null };
  NetworkAttachment?: NetworkAttachment;
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

const notBuilt = (what: string) => new EngineError('notimplemented', `${what}: user-defined networks are not supported by berth yet`);

export class NetworkService {
  /** Host ports published by running containers: `<ip>:<port>/<proto>` → container ID. */
  private readonly published = new Map<string, string>();
  /** Bridge wiring in flight for containers being started, settled by ready(). */
  private readonly wiring = new Map<string, Promise<BridgeEndpoint>>();

  constructor(
    readonly bridge: BridgeNetwork | undefined,
    private readonly netns: NetnsStore,
    /** The containers to list in a network's inspect. */
    private readonly members: NetworkMembers = () => [],
    /** When the predefined networks came to be, for their `Created`. */
    private readonly created = new Date().toISOString(),
  ) {}

  /** The predefined networks (`bridge` only when the daemon has one), by name. */
  names(): PredefinedName[] {
    return this.bridge ? ['bridge', 'host', 'none'] : ['host', 'none'];
  }

  /**
   * GET /networks: the predefined networks matching `filters`, as dockerd
   * filters them (name: substring, id: prefix); an unknown filter is invalid.
   */
  list(f: Filters = {}): Network[] {
    for (const k of Object.keys(f)) if (!LIST_FILTERS.has(k)) throw invalid(`invalid filter '${k}'`);
    return this.names()
      .map((n) => this.resource(n, null))
      .filter((r) => {
        if (f.name?.length && !f.name.some((v) => r.Name.includes(v))) return false;
        if (f.id?.length && !f.id.some((v) => r.Id.startsWith(v))) return false;
        if (f.driver?.length && !f.driver.includes(r.Driver)) return false;
        if (f.scope?.length && !f.scope.includes('local')) return false;
        if (f.type?.length && !f.type.includes('builtin')) return false;
        // Predefined networks carry no labels.
        if (!labelsMatch({}, f.label)) return false;
        // Predefined networks are never dangling.
        if (f.dangling?.length && f.dangling.some((v) => v === 'true' || v === '1')) return false;
        return true;
      });
  }

  /** GET /networks/{id}: a network with the running containers on it. */
  inspect(idOrName: string): Network {
    return this.resource(this.find(idOrName), this.members());
  }

  /** DELETE /networks/{id}: the predefined networks cannot be removed (dockerd's 403). */
  remove(idOrName: string): never {
    const name = this.find(idOrName);
    throw new EngineError('forbidden', `${name} is a pre-defined network and cannot be removed`);
  }

  /** POST /networks/prune: only user-defined networks are pruned, and there are none yet. */
  prune(): NetworkPruneResponse {
    return { NetworksDeleted: null };
  }

  /** POST /networks/create. */
  create(): never {
    throw notBuilt('network create');
  }

  /** POST /networks/{id}/connect: the network must exist; then it is not built. */
  connect(idOrName: string): never {
    this.find(idOrName);
    throw notBuilt('network connect');
  }

  /** POST /networks/{id}/disconnect: as connect. */
  disconnect(idOrName: string): never {
    this.find(idOrName);
    throw notBuilt('network disconnect');
  }

  /** Docker's NetworkResource for a predefined network; `members` fills `Containers` (inspect), null leaves it empty (list). */
  resource(name: PredefinedName, members: NetworkMember[] | null): Network {
    const b = this.bridge;
    return networkResource(
      name,
      {
        created: this.created,
        bridge: b ? { id: b.id, name: b.opts.bridge, subnet: b.subnet, gateway: b.gateway, created: b.created, ipMasq: b.opts.ipMasq } : undefined,
      },
      members,
    );
  }

  /** A predefined network by name, full ID or unique ID prefix, as dockerd resolves them. */
  find(idOrName: string): PredefinedName {
    const names = this.names();
    const byName = names.find((n) => n === idOrName);
    if (byName) return byName;
    const ids = names.map((n) => ({ n, id: networkId(n, this.bridge?.id) }));
    const full = ids.find((x) => x.id === idOrName);
    if (full) return full.n;
    const prefixed = idOrName.length > 0 ? ids.filter((x) => x.id.startsWith(idOrName)) : [];
    if (prefixed.length === 1) return prefixed[0]!.n;
    throw notFound(`network ${idOrName} not found`);
  }

  /** What "default" (or no mode) means: the bridge, unless the daemon runs with --bridge none. */
  defaultMode(): string {
    return this.bridge ? 'bridge' : 'none';
  }

  /** Create-time check of HostConfig.NetworkMode, with dockerd's not-found message. */
  validateMode(mode: string): void {
    if (mode === 'none' || mode === 'host' || mode.startsWith('container:')) {
      if (mode === 'container:') throw invalid('invalid container format container:<name|id>');
      return;
    }
    if (mode === 'bridge' && this.bridge) return;
    throw notFound(`network ${mode} not found`);
  }

  /** Create-time check of PortBindings (dockerd refuses malformed ones then, not at start). */
  validatePorts(c: Pick<NetworkedContainer, 'HostConfig' | 'Config'>): void {
    parsePortBindings(c as NetworkedContainer);
  }

  /** Learns which host ports running containers hold (after a daemon restart). */
  adopt(c: NetworkedContainer): void {
    for (const p of c.NetworkAttachment?.endpoint?.ports ?? []) this.published.set(`${p.hostIP}:${p.hostPort}/${p.protocol}`, c.Id);
  }

  /**
   * `ownNetns`: the container runs in a user namespace of its own. A network
   * namespace made beforehand would belong to the host's user namespace, and
   * runc could neither mount sysfs for it nor `exec` into it; so runc makes
   * the namespace and ready() wires it before the process starts
   * (dockerd does this wiring in a prestart hook for the same reason).
   */
  async attach(c: NetworkedContainer, lookup: ContainerLookup, ownNetns = false): Promise<SpecNetwork> {
    const mode = c.HostConfig.NetworkMode || this.defaultMode();
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
    if (mode !== 'bridge' || !this.bridge) throw notFound(`network ${mode} not found`);
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
    const netnsPath = await this.netns.create(c.Id);
    c.NetworkAttachment = { mode: 'bridge', netns: netnsPath };
    // CNI runs while the caller mounts, writes the bundle and has runc create
    // the container (which joins the namespace by path): ready() waits for it
    // before the process is started.
    const wiring = this.bridge.connect(c.Id, netnsPath, ports);
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
    const short = new Set([...running].map((id) => id.slice(0, 12)));
    for (const f of await this.netns.list()) if (!short.has(f)) await this.netns.removeFile(f);
    await this.bridge?.sweep(running);
  }

  /**
   * Finishes attach() once runc has created the container (`pid`, not yet
   * started): waits for the wiring in flight, or wires the namespace runc made
   * (attach's `ownNetns`). True when the container got an address (its
   * /etc/hosts should list it).
   */
  async ready(c: NetworkedContainer, pid: number): Promise<boolean> {
    const a = c.NetworkAttachment;
    if (a?.mode !== 'bridge' || !this.bridge) return false;
    try {
      const inFlight = this.wiring.get(c.Id);
      if (inFlight) {
        this.wiring.delete(c.Id);
        a.endpoint = await inFlight;
      } else if (a.pendingPorts) {
        a.endpoint = await this.bridge.connect(c.Id, `/proc/${pid}/ns/net`, a.pendingPorts);
        delete a.pendingPorts;
      }
    } catch (err) {
      throw new EngineError('system', `failed to set up container networking: ${(err as Error).message}`, { cause: err });
    }
    this.adopt(c);
    return a.endpoint !== undefined;
  }

  /** Releases what attach() set up. Safe to call again, and for containers that never attached. */
  async release(c: NetworkedContainer): Promise<void> {
    const a = c.NetworkAttachment;
    // A start that failed before ready(): let its wiring settle, then undo it.
    const inFlight = this.wiring.get(c.Id);
    if (inFlight && a) {
      this.wiring.delete(c.Id);
      a.endpoint = await inFlight.catch(() => undefined);
    }
    await Promise.all([
      a?.mode === 'bridge' && a.endpoint && this.bridge ? this.bridge.disconnect(c.Id, a.netns ?? '', a.endpoint).catch(() => undefined) : undefined,
      // Unpinning destroys the namespace, and the container's veth pair with it.
      a?.mode === 'bridge' && a.netns ? this.netns.remove(c.Id) : undefined,
    ]);
    for (const [key, owner] of this.published) if (owner === c.Id) this.published.delete(key);
    c.NetworkAttachment = undefined;
  }
}
