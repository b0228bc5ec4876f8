/**
 * @module engine/container/networking
 * `docker network connect` and `disconnect`: a container's list of networks
 * (its record's EndpointsConfig) changed under its lock, and, while it runs,
 * the interface added to or removed from its namespace at once, as dockerd
 * does. A stopped container is wired to its networks at its next start. The
 * default bridge takes a container after create too (as a further interface
 * when it is on a user network first); host and none never do.
 */
import { conflict, EngineError, invalid, notFound } from '../errors.js';
import type { EndpointConfig } from '../network/networks.js';
import type { ContainerContext } from './context.js';

export class ContainerNetworking {
  constructor(private readonly ctx: ContainerContext) {}

  async connect(network: string, container: string, cfg: EndpointConfig = {}): Promise<void> {
    const target = this.ctx.networks.catalogue.resolveForEndpoint(network);
    const c = this.resolve(container);
    if (typeof target === 'string') {
      // The predefined networks: only the default bridge takes endpoints.
      if (target === 'host' || target === 'none') throw invalid('container cannot be disconnected from host network or connected to host network');
      await this.connectBridge(c, cfg);
      return;
    }
    const n = target;
    await this.ctx.lock(c.Id).run(async () => {
      const mode = c.HostConfig.NetworkMode ?? '';
      if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) {
        throw invalid('container sharing network namespace with another container or host cannot be connected to any other network');
      }
      if (c.State.Status === 'removing' || c.State.Dead) throw conflict(`Marked for removal - container ${c.Id} is already in progress`);
      if (c.EndpointsConfig?.[n.Name] && (!c.State.Running || c.NetworkAttachment?.endpoints?.[n.Id])) {
        throw new EngineError('forbidden', `endpoint with name ${c.Name.slice(1)} already exists in network ${n.Name}`);
      }
      this.ctx.networks.user!.validateEndpoint(n, cfg);
      const settings: EndpointConfig = { ...normalize(cfg), NetworkID: n.Id };
      const before = c.EndpointsConfig;
      c.EndpointsConfig = { ...(c.EndpointsConfig ?? {}), [n.Name]: settings };
      try {
        if (c.State.Running) await this.ctx.networks.connectLive(c, n);
        await this.ctx.store.save(c);
      } catch (err) {
        c.EndpointsConfig = before;
        throw err;
      }
    });
    this.ctx.eventLog.publish('network', 'connect', n.Id, { container: c.Id, name: n.Name, type: 'bridge' });
  }

  /** `network connect bridge`: dockerd's checks (no alias, no fixed address there), then as for a user network. */
  private async connectBridge(c: ReturnType<ContainerNetworking['resolve']>, cfg: EndpointConfig): Promise<void> {
    const id = this.ctx.networks.bridge!.id;
    await this.ctx.lock(c.Id).run(async () => {
      const mode = c.HostConfig.NetworkMode ?? '';
      if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) {
        throw invalid('container sharing network namespace with another container or host cannot be connected to any other network');
      }
      if (c.State.Status === 'removing' || c.State.Dead) throw conflict(`Marked for removal - container ${c.Id} is already in progress`);
      // dockerd checks the settings before it looks for an endpoint.
      if (cfg.Aliases?.length) throw invalid('network-scoped alias is supported only for containers in user defined networks');
      if (cfg.IPAMConfig?.IPv4Address || cfg.IPAMConfig?.IPv6Address) throw invalid('user specified IP address is supported on user defined networks only');
      if (c.EndpointsConfig?.bridge) throw new EngineError('forbidden', `endpoint with name ${c.Name.slice(1)} already exists in network bridge`);
      const before = c.EndpointsConfig;
      c.EndpointsConfig = { ...(c.EndpointsConfig ?? {}), bridge: { ...normalize(cfg), NetworkID: id } };
      try {
        if (c.State.Running) await this.ctx.networks.connectBridgeLive(c);
        await this.ctx.store.save(c);
      } catch (err) {
        c.EndpointsConfig = before;
        throw err;
      }
    });
    this.ctx.eventLog.publish('network', 'connect', id, { container: c.Id, name: 'bridge', type: 'bridge' });
  }

  async disconnect(network: string, container: string, force = false): Promise<void> {
    const c = this.resolve(container);
    let n: ReturnType<ContainerContext['networks']['catalogue']['resolveForEndpoint']> | undefined;
    try {
      n = this.ctx.networks.catalogue.resolveForEndpoint(network);
    } catch (err) {
      // dockerd: a forced disconnect from a network that is gone just forgets it.
      if (!force || !c.EndpointsConfig?.[network]) throw err;
    }
    if (n === 'bridge') {
      await this.ctx.lock(c.Id).run(async () => {
        if (!c.EndpointsConfig?.bridge) throw new EngineError('system', `container ${c.Id} is not connected to the network bridge`);
        if (c.State.Running) await this.ctx.networks.disconnectBridgeLive(c);
        const rest = { ...c.EndpointsConfig };
        delete rest.bridge;
        c.EndpointsConfig = rest;
        await this.ctx.store.save(c);
      });
      this.ctx.eventLog.publish('network', 'disconnect', this.ctx.networks.bridge!.id, { container: c.Id, name: 'bridge', type: 'bridge' });
      return;
    }
    if (typeof n === 'string') throw invalid(`container cannot be disconnected from ${n} network`);
    const name = n?.Name ?? network;
    await this.ctx.lock(c.Id).run(async () => {
      if (!c.EndpointsConfig?.[name]) throw new EngineError('system', `container ${c.Id} is not connected to the network ${name}`);
      if (c.State.Running && n) await this.ctx.networks.disconnectLive(c, n);
      const rest = { ...c.EndpointsConfig };
      delete rest[name];
      c.EndpointsConfig = rest;
      await this.ctx.store.save(c);
    });
    if (n) this.ctx.eventLog.publish('network', 'disconnect', n.Id, { container: c.Id, name: n.Name, type: 'bridge' });
  }

  private resolve(container: string) {
    try {
      return this.ctx.store.resolve(container);
    } catch {
      throw notFound(`No such container: ${container}`);
    }
  }
}

/** Settings as dockerd keeps them: absent lists are null. */
export function normalize(cfg: EndpointConfig): EndpointConfig {
  return {
    IPAMConfig: cfg.IPAMConfig && Object.keys(cfg.IPAMConfig).length ? cfg.IPAMConfig : null,
    Links: cfg.Links?.length ? cfg.Links : null,
    Aliases: cfg.Aliases?.length ? cfg.Aliases : null,
    MacAddress: cfg.MacAddress ?? '',
    DriverOpts: cfg.DriverOpts && Object.keys(cfg.DriverOpts).length ? cfg.DriverOpts : null,
    GwPriority: cfg.GwPriority ?? 0,
  };
}

/**
 * The networks a new container is configured for: its NetworkMode's network
 * and any other network NetworkingConfig names (API 1.44+ allows several),
 * with its settings on each, checked as dockerd checks them at create.
 */
export function endpointsAtCreate(
  networks: ContainerContext['networks'],
  mode: string,
  requested: Record<string, Partial<EndpointConfig>> | null | undefined,
  containerMac: string | undefined,
): Record<string, EndpointConfig> | undefined {
  if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) return undefined;
  const out: Record<string, EndpointConfig> = {};
  const given = { ...(requested ?? {}) };
  if (mode === 'bridge') {
    const cfg = given.bridge ?? given.default ?? {};
    delete given.bridge;
    delete given.default;
    if (cfg.Aliases?.length) throw invalid('network-scoped alias is supported only for containers in user defined networks');
    if (cfg.IPAMConfig?.IPv4Address || cfg.IPAMConfig?.IPv6Address) throw invalid('user specified IP address is supported on user defined networks only');
    out.bridge = { ...normalize({ ...cfg, MacAddress: cfg.MacAddress || containerMac }), NetworkID: networks.bridge?.id ?? '' };
  } else {
    // A missing network fails the start, not the create, as with dockerd (the docker CLI would take a 404 here for a missing image).
    const n = networks.catalogue.userNetwork(mode);
    if (!n) return undefined;
    const cfg = given[mode] ?? given[n.Name] ?? given[n.Id] ?? {};
    for (const k of [mode, n.Name, n.Id]) delete given[k];
    networks.user!.validateEndpoint(n, cfg);
    out[n.Name] = { ...normalize({ ...cfg, MacAddress: cfg.MacAddress || containerMac }), NetworkID: n.Id };
  }
  for (const [name, cfg] of Object.entries(given)) {
    // The default bridge beside a user network (API 1.44+ lets several networks be given at create).
    if ((name === 'bridge' || name === networks.bridge?.id) && networks.bridge) {
      if (cfg.Aliases?.length) throw invalid('network-scoped alias is supported only for containers in user defined networks');
      out.bridge = { ...normalize(cfg), NetworkID: networks.bridge.id };
      continue;
    }
    const n = networks.catalogue.userNetwork(name);
    if (!n) throw invalid(`network ${name} not found`);
    networks.user!.validateEndpoint(n, cfg);
    out[n.Name] = { ...normalize(cfg), NetworkID: n.Id };
  }
  return out;
}
