/**
 * @module engine/network/catalogue
 * The networks as Docker's `/networks` shows them: the predefined ones
 * (`bridge` when the daemon has a default bridge, `host`, `none`) and the
 * user-defined ones (./networks.ts): list with dockerd's filters, inspect,
 * create, remove, prune, and resolving a name, ID or ID prefix. What a
 * container is attached to, and the wiring, is ./service.ts's.
 */
import type { BridgeNetwork } from './bridge.js';
import { networkId, networkResource, type NetworkMember } from './inspect.js';
import { NETWORK_LIST_FILTERS, type Filters, type Network, type NetworkCreateRequest, type NetworkPruneResponse } from '../../common/api/index.js';
import { EngineError, invalid, notFound } from '../errors.js';
import { labelsExclude, labelsMatch } from '../filters.js';
import type { UserNetworks } from './networks.js';
import type { NetworkRecord } from './store.js';

/** The predefined networks. */
export type PredefinedName = 'bridge' | 'host' | 'none';

/** `until`: a Unix time, an RFC 3339 time, or a duration before now (10m, 1h30m). */
function untilTime(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const d = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(v);
  if (d && v) return Date.now() - ((Number(d[1] ?? 0) * 60 + Number(d[2] ?? 0)) * 60 + Number(d[3] ?? 0)) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalid(`invalid filter 'until=${v}'`);
  return t;
}

const LIST_FILTERS = new Set<string>(NETWORK_LIST_FILTERS);

/** The containers a network's inspect lists; provided by whoever holds the container records. */
export type NetworkMembers = () => NetworkMember[];

export class NetworkCatalogue {
  /** User-defined networks; set once opened (engine.ts). */
  user?: UserNetworks;

  constructor(
    readonly bridge: BridgeNetwork | undefined,
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
   * GET /networks: the networks matching `filters`, as dockerd filters them
   * (name: substring, id: prefix, label: all given); an unknown filter is invalid.
   */
  list(f: Filters = {}): Network[] {
    for (const k of Object.keys(f)) if (!LIST_FILTERS.has(k)) throw invalid(`invalid filter '${k}'`);
    const all: { r: Network; builtin: boolean; dangling: boolean }[] = this.names().map((n) => ({ r: this.resource(n, null), builtin: true, dangling: false }));
    for (const n of this.user?.list() ?? []) all.push({ r: this.user!.resource(n, false), builtin: false, dangling: this.user!.members(n).length === 0 });
    return all
      .filter(({ r, builtin, dangling }) => {
        if (f.name?.length && !f.name.some((v) => r.Name.includes(v))) return false;
        if (f.id?.length && !f.id.some((v) => r.Id.startsWith(v))) return false;
        if (f.driver?.length && !f.driver.includes(r.Driver)) return false;
        if (f.scope?.length && !f.scope.includes('local')) return false;
        if (f.type?.length && !f.type.includes(builtin ? 'builtin' : 'custom')) return false;
        if (!labelsMatch(r.Labels ?? {}, f.label)) return false;
        if (f.dangling?.length) {
          const want = f.dangling.some((v) => v === 'true' || v === '1');
          if (builtin || dangling !== want) return false;
        }
        return true;
      })
      .map(({ r }) => r);
  }

  /** GET /networks/{id}: a network with the running containers on it. */
  inspect(idOrName: string): Network {
    const u = this.userNetwork(idOrName);
    if (u) return this.user!.resource(u, true);
    return this.resource(this.find(idOrName), this.members());
  }

  /** DELETE /networks/{id}: the predefined networks cannot be removed (dockerd's 403). */
  async remove(idOrName: string): Promise<void> {
    if (!this.isPredefinedRef(idOrName) && this.userNetwork(idOrName)) {
      await this.user!.remove(idOrName);
      return;
    }
    const name = this.find(idOrName);
    throw new EngineError('forbidden', `${name} is a pre-defined network and cannot be removed`);
  }

  /** POST /networks/prune: user-defined networks no running container uses (with dockerd's label/until filters). */
  async prune(f: Filters = {}): Promise<NetworkPruneResponse> {
    for (const k of Object.keys(f)) if (!['label', 'label!', 'until'].includes(k)) throw invalid(`invalid filter '${k}'`);
    const deleted: string[] = [];
    for (const n of this.user?.list() ?? []) {
      if (this.user!.members(n).length) continue;
      if (!labelsMatch(n.Labels, f.label)) continue;
      if (!labelsExclude(n.Labels, f['label!'])) continue;
      if (f.until?.length && !f.until.every((u) => Date.parse(n.Created) < untilTime(u))) continue;
      await this.user!.remove(n.Id).then(() => deleted.push(n.Name), () => undefined);
    }
    return { NetworksDeleted: deleted.length ? deleted : null };
  }

  /** POST /networks/create. */
  async create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    if (!this.user) throw new EngineError('notimplemented', 'user-defined networks are not available');
    return this.user.create(req, ['bridge', 'host', 'none', 'default']);
  }

  /** A user-defined network by name/ID/prefix, unless the name is a predefined one's. */
  userNetwork(idOrName: string): NetworkRecord | undefined {
    if ((this.names() as string[]).includes(idOrName)) return undefined;
    return this.user?.lookup(idOrName);
  }

  /** A network for connect/disconnect: user-defined, or a predefined one (which dockerd refuses for most). */
  resolveForEndpoint(idOrName: string): NetworkRecord | PredefinedName {
    return this.userNetwork(idOrName) ?? this.find(idOrName);
  }

  private isPredefinedRef(idOrName: string): boolean {
    try {
      this.find(idOrName);
      return true;
    } catch {
      return false;
    }
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
    if (this.userNetwork(mode)) return;
    throw notFound(`network ${mode} not found`);
  }
}
