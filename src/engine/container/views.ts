/**
 * @module engine/container/views
 * Containers in Docker's shapes: `GET /containers/json` (ps: filters,
 * before/since, sizes, the Status text) and `GET /containers/{id}/json`
 * (inspect).
 */
import { invalid } from '../errors.js';
import { labelsMatch } from '../filters.js';
import { inspectNetworkSettings, listNetworking } from '../network/inspect.js';
import type { ContainerContext } from './context.js';
import { inspectMounts } from './mounts.js';
import { statusString } from './state.js';
import type { ContainerRecord } from './types.js';

export class ContainerViews {
  constructor(private readonly ctx: ContainerContext) {}

  async list(o: { all?: boolean; limit?: number; size?: boolean; filters?: Record<string, string[]> } = {}): Promise<object[]> {
    let cs = this.ctx.store.list().sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
    const f = o.filters ?? {};
    const limit = o.limit && o.limit > 0 ? o.limit : 0;
    if (!o.all && !limit && !f.status && !f.before && !f.since) cs = cs.filter((c) => c.State.Running || c.State.Paused);
    for (const v of f.status ?? []) {
      if (!['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'].includes(v)) throw invalid(`invalid filter 'status=${v}'`);
    }
    // before/since: containers created before/after the given one (moby's rule), by creation time.
    for (const [key, cmp] of [['before', (a: number, b: number) => a < b], ['since', (a: number, b: number) => a > b]] as const) {
      for (const ref of f[key] ?? []) {
        const other = this.ctx.store.resolve(ref);
        const t = Date.parse(other.Created);
        cs = cs.filter((c) => c.Id !== other.Id && cmp(Date.parse(c.Created), t));
      }
    }
    cs = cs.filter((c) => matchesFilters(c, f));
    if (limit) cs = cs.slice(0, limit);
    const out: object[] = [];
    for (const c of cs) {
      const img = this.ctx.images.store.get(c.Image);
      // Keep the name the user gave while it still points at the container's image (moby's rule).
      let sameImage: boolean;
      try {
        sameImage = this.ctx.images.store.find(c.Config.Image)?.id === c.Image;
      } catch {
        sameImage = false;
      }
      out.push({
        Id: c.Id,
        Names: [c.Name],
        Image: sameImage ? c.Config.Image : c.Image,
        ImageID: c.Image,
        Command: [c.Path, ...c.Args.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' '),
        Created: Math.floor(Date.parse(c.Created) / 1000),
        ...(o.size ? { SizeRw: await this.ctx.rootfs.sizeRw(c.Id), SizeRootFs: (img ? await this.ctx.images.size(img) : 0) + (await this.ctx.rootfs.sizeRw(c.Id)) } : {}),
        Labels: c.Config.Labels ?? {},
        State: c.State.Status,
        Status: statusString({ ...c.State, Health: c.State.Health?.Status }),
        HostConfig: { NetworkMode: c.HostConfig.NetworkMode ?? 'none' },
        ...listNetworking(c, this.ctx.networks.bridge?.id),
        Mounts: inspectMounts(c.UserMounts ?? []),
      });
    }
    return out;
  }

  async inspect(idOrName: string, size = false): Promise<Record<string, unknown>> {
    const c = this.ctx.store.resolve(idOrName);
    const execIds = this.ctx.exec.idsFor(c.Id);
    return {
      Id: c.Id,
      Created: c.Created,
      Path: c.Path,
      Args: c.Args,
      State: { ...c.State },
      Image: c.Image,
      ResolvConfPath: c.ResolvConfPath,
      HostnamePath: c.HostnamePath,
      HostsPath: c.HostsPath,
      LogPath: c.LogPath,
      Name: c.Name,
      RestartCount: c.RestartCount,
      Driver: 'overlay2',
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      // Docker's list is nil (null) when empty.
      ExecIDs: execIds?.length ? execIds : null,
      HostConfig: c.HostConfig,
      GraphDriver: {
        Data: await this.ctx.rootfs.graphDriverData(c.Id),
        Name: 'overlay2',
      },
      ...(size ? { SizeRw: await this.ctx.rootfs.sizeRw(c.Id), SizeRootFs: 0 } : {}),
      Mounts: inspectMounts(c.UserMounts ?? []),
      Config: c.Config,
      NetworkSettings: inspectNetworkSettings(c, this.ctx.networks.bridge?.id),
    };
  }
}

function matchesFilters(c: ContainerRecord, f: Record<string, string[]>): boolean {
  for (const [key, values] of Object.entries(f)) {
    if (!values.length) continue;
    // Labels are AND (an object must have all of them); every other filter is OR over its values.
    if (key === 'label') {
      if (!labelsMatch(c.Config.Labels, values)) return false;
      continue;
    }
    const ok = values.some((v) => {
      switch (key) {
        case 'id':
          return c.Id.startsWith(v);
        case 'name': {
          // moby matches names as regular expressions; one that does not compile matches nothing.
          let re: RegExp;
          try {
            re = new RegExp(v);
          } catch {
            return false;
          }
          return re.test(c.Name.slice(1)) || re.test(c.Name);
        }
        case 'status':
          return c.State.Status === v;
        case 'health':
          // moby: a container without a healthcheck is "none".
          if (!['starting', 'healthy', 'unhealthy', 'none'].includes(v)) throw invalid(`Unrecognised filter value for health: ${v}`);
          return (c.State.Health?.Status ?? 'none') === v;
        case 'before':
        case 'since':
          // Handled by the caller (they compare creation order with another container).
          return true;
        case 'network':
          return (c.HostConfig.NetworkMode ?? 'none') === v;
        case 'exited':
          return c.State.Status === 'exited' && String(c.State.ExitCode) === v;
        case 'ancestor':
          return c.Config.Image === v || c.Image === v || c.Image.slice(7).startsWith(v);
        default:
          throw invalid(`invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}
