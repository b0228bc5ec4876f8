/**
 * @module engine/container/create
 * `docker create`: the request checked as dockerd checks it (restart policy,
 * user namespace, log options, limits, ports), merged with the image's
 * config by moby's rules (entrypoint and command, env, volumes, labels,
 * exposed ports), HostConfig filled with the defaults dockerd stores, mounts
 * resolved (volumes created), the name reserved and the rootfs prepared. The
 * new container is `created` (./state.ts initialState()).
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { invalid, notFound } from '../errors.js';
import { fullRunConfig } from '../image/service.js';
import { JSON_FILE_DEFAULTS, logFile, logRotation, mergeLogConfig, validateLogOptNames } from '../logs/driver.js';
import { checkResources, SpecError, type SpecInput } from '../runtime/spec/build.js';
import type { ContainerContext } from './context.js';
import { mountsFrom, resolveMounts } from './mounts.js';
import { normalizeLinks } from './links.js';
import { endpointsAtCreate } from './networking.js';
import { mergeHealthcheck } from './health.js';
import type { HealthConfig } from '../../common/api/container.js';
import { resolveInRootfs } from './scoped-root.js';
import { rootPair } from '../idmap.js';
import { randomName, validateName } from './names.js';
import { validatePolicy } from './restart.js';
import { parseSignal } from './signals.js';
import { initialState } from './state.js';
import type { ContainerConfig, ContainerRecord, CreateBody, HostConfig } from './types.js';
import { span, spanSync } from '../trace.js';

export class ContainerCreator {
  constructor(private readonly ctx: ContainerContext) {}

  async create(body: CreateBody, name?: string): Promise<{ Id: string; Warnings: string[] }> {
    if (!body || typeof body !== 'object') throw invalid('config cannot be empty in order to create a container');
    if (!body.Image) throw invalid('No command specified');
    const hostConfig: HostConfig = { ...(body.HostConfig ?? {}) };
    if (hostConfig.AutoRemove && hostConfig.RestartPolicy?.Name && !['', 'no'].includes(hostConfig.RestartPolicy.Name)) {
      throw invalid('can\'t create \'AutoRemove\' container with restart policy');
    }
    validatePolicy(hostConfig.RestartPolicy);
    if (this.ctx.idMap) validateUserns(hostConfig);
    // dockerd's PidMode: "", "host" or "container:<id>"; berth has the first two.
    if (hostConfig.PidMode && hostConfig.PidMode !== 'host') {
      throw invalid(hostConfig.PidMode.startsWith('container:') ? `--pid ${hostConfig.PidMode}: sharing another container's PID namespace is not supported by berth` : `invalid PID mode: ${hostConfig.PidMode}`);
    }
    hostConfig.LogConfig = mergeLogConfig(hostConfig.LogConfig, this.ctx.opts.logDefaults ?? JSON_FILE_DEFAULTS);
    validateLogOptNames(hostConfig.LogConfig.Type, hostConfig.LogConfig.Config);
    const logDriver = logRotation(hostConfig.LogConfig.Type, hostConfig.LogConfig.Config).driver;
    await span('validate', () => checkContainerSettings(hostConfig, body.StopSignal));
    this.ctx.networks.validatePorts({ HostConfig: hostConfig, Config: { ExposedPorts: body.ExposedPorts } });
    const normalizedMode = !hostConfig.NetworkMode || hostConfig.NetworkMode === 'default' ? this.ctx.networks.catalogue.defaultMode() : hostConfig.NetworkMode;
    const endpointsConfig = endpointsAtCreate(this.ctx.networks, normalizedMode, body.NetworkingConfig?.EndpointsConfig, body.MacAddress);
    // --volumes-from: a missing container is dockerd's 404, before anything is made.
    const inherited = mountsFrom(hostConfig.VolumesFrom ?? [], (x) => {
      const c = this.ctx.store.find(x);
      if (!c) throw notFound(`No such container: ${x}`);
      return c;
    });
    return this.ctx.images.lock.run(async () => {
      const img = spanSync('image', () => this.ctx.images.resolve(body.Image!));
      const imgCfg = img.config.config ?? {};
      // moby's merge: a non-empty user entrypoint discards the image's Cmd; [] clears the entrypoint but keeps the
      // image's Cmd; [""] (`--entrypoint ""`) clears the entrypoint after the merge, so it discards the image's Cmd too.
      const resetEntrypoint = body.Entrypoint?.length === 1 && body.Entrypoint[0] === '';
      const entrypoint = resetEntrypoint ? null : body.Entrypoint && body.Entrypoint.length ? body.Entrypoint : body.Entrypoint ? null : imgCfg.Entrypoint ?? null;
      const cmd = body.Cmd && body.Cmd.length ? body.Cmd : body.Entrypoint?.length ? null : imgCfg.Cmd ?? null;
      const args = [...(entrypoint ?? []), ...(cmd ?? [])];
      if (args.length === 0) throw invalid('No command specified');
      const workingDir = body.WorkingDir || imgCfg.WorkingDir || '';
      if (workingDir && !workingDir.startsWith('/')) {
        throw invalid(`the working directory '${workingDir}' is invalid, it needs to be an absolute path`);
      }
      const id = randomBytes(32).toString('hex');
      let fullName: string;
      if (name) {
        fullName = validateName(name);
        this.ctx.store.reserveName(fullName, id);
      } else {
        for (let retry = 0; ; retry++) {
          fullName = `/${randomName(retry)}`;
          if (!this.ctx.store.nameOwner(fullName)) break;
        }
        this.ctx.store.reserveName(fullName, id);
      }
      try {
        const config: ContainerConfig = {
          ...fullRunConfig({ ...body, Env: null, Cmd: null }),
          // dockerd: a host-network container is named like the host unless told otherwise.
          Hostname: body.Hostname || (hostConfig.NetworkMode === 'host' ? os.hostname() : id.slice(0, 12)),
          Domainname: body.Domainname ?? '',
          User: body.User || imgCfg.User || '',
          Env: mergeEnv(imgCfg.Env ?? [], body.Env ?? []),
          Cmd: cmd,
          Entrypoint: entrypoint,
          Image: body.Image!,
          // dockerd merges the image's VOLUMEs with the container's (`-v /path` arrives here).
          Volumes: body.Volumes || imgCfg.Volumes ? { ...(imgCfg.Volumes ?? {}), ...(body.Volumes ?? {}) } : null,
          WorkingDir: workingDir,
          Labels: { ...(imgCfg.Labels ?? {}), ...(body.Labels ?? {}) },
          OnBuild: null,
          // moby's merge: the request's healthcheck over the image's (NONE, from --no-healthcheck, disables it).
          ...(mergeHealthcheck(body.Healthcheck as HealthConfig | undefined, imgCfg.Healthcheck as HealthConfig | undefined) ? { Healthcheck: mergeHealthcheck(body.Healthcheck as HealthConfig | undefined, imgCfg.Healthcheck as HealthConfig | undefined) } : {}),
          ...(body.ExposedPorts || imgCfg.ExposedPorts ? { ExposedPorts: { ...(imgCfg.ExposedPorts ?? {}), ...(body.ExposedPorts ?? {}) } } : {}),
          ...(body.StopSignal || imgCfg.StopSignal ? { StopSignal: body.StopSignal || imgCfg.StopSignal } : {}),
          ...(body.StopTimeout !== undefined ? { StopTimeout: body.StopTimeout } : {}),
        };
        const dir = this.ctx.store.dir(id);
        const rec: ContainerRecord = {
          Id: id,
          Created: new Date().toISOString(),
          Path: args[0]!,
          Args: args.slice(1),
          State: initialState(),
          Image: img.id,
          Name: fullName,
          RestartCount: 0,
          Config: config,
          HostConfig: { ...normalizeHostConfig(hostConfig, this.ctx.networks.catalogue.defaultMode()), Links: normalizeLinks(hostConfig.Links, fullName, this.ctx.store, normalizedMode) },
          ...(endpointsConfig ? { EndpointsConfig: endpointsConfig } : {}),
          UserMounts: await resolveMounts(
            hostConfig,
            { volume: async (name, o) => { const v = await this.ctx.volumes.create(name, o); return { name: v.Name, mountpoint: this.ctx.volumes.store.mountpoint(v.Name) }; } },
            Object.keys({ ...(imgCfg.Volumes ?? {}), ...(body.Volumes ?? {}) }),
            inherited,
          ),
          LayerChain: this.ctx.images.chainOf(img),
          // dockerd shows json-file's path only (local's files are no API).
          LogPath: logDriver === 'json-file' ? logFile(logDriver, dir, id)! : '',
          HostnamePath: path.join(dir, 'hostname'),
          HostsPath: path.join(dir, 'hosts'),
          ResolvConfPath: path.join(dir, 'resolv.conf'),
        };
        await span('snapshot-prepare', () => this.ctx.rootfs.create(id, rec.LayerChain));
        await span('volumes', () => this.populateVolumes(rec));
        await span('record', () => this.ctx.store.save(rec));
        this.ctx.publish(rec, 'create');
        return { Id: id, Warnings: [] };
      } catch (err) {
        this.ctx.store.releaseName(fullName!, id);
        await this.ctx.rootfs.remove(id).catch(() => undefined);
        await fsp.rm(this.ctx.store.dir(id), { recursive: true, force: true });
        throw err;
      }
    });
  }

  /**
   * dockerd's populateVolumes: at create, each volume mounted with CopyData
   * that is still empty gets the image's files at its mount path, so that
   * what `docker cp` puts into it before the first start joins them (and
   * the start does not copy again).
   */
  private async populateVolumes(rec: ContainerRecord): Promise<void> {
    const volumes = (rec.UserMounts ?? []).filter((m) => m.Type === 'volume' && m.CopyData && m.Name);
    if (volumes.length === 0) return;
    const rootfs = await this.ctx.rootfs.mount(rec.Id);
    try {
      for (const m of volumes) {
        await this.ctx.volumes.fillIfEmpty(m.Name!, await resolveInRootfs(rootfs, m.Destination, rootPair(this.ctx.idMap)));
      }
    } finally {
      await this.ctx.rootfs.unmount(rec.Id).catch(() => undefined);
    }
  }
}

function mergeEnv(base: string[], over: string[]): string[] {
  const out = [...base];
  for (const e of over) {
    const key = e.split('=')[0]!;
    const i = out.findIndex((x) => x.split('=')[0] === key);
    if (i >= 0) out[i] = e;
    else out.push(e);
  }
  return out;
}

/** A container's resource limits as the spec builder takes them. */
export function specResources(h: HostConfig): NonNullable<SpecInput['resources']> {
  return {
    memory: h.Memory || undefined,
    memorySwap: h.MemorySwap || undefined,
    cpuShares: h.CpuShares || undefined,
    nanoCpus: h.NanoCpus || undefined,
    cpuQuota: h.CpuQuota || undefined,
    cpuPeriod: h.CpuPeriod || undefined,
    cpusetCpus: h.CpusetCpus || undefined,
    cpusetMems: h.CpusetMems || undefined,
    pidsLimit: h.PidsLimit || undefined,
  };
}

/** dockerd's create/update-time checks of limits and the stop signal, as engine errors. */
export async function checkContainerSettings(h: HostConfig, stopSignal: string | undefined): Promise<void> {
  if (stopSignal) parseSignal(stopSignal);
  try {
    await checkResources(specResources(h));
  } catch (err) {
    if (err instanceof SpecError) throw invalid(err.message);
    throw err;
  }
}

/** dockerd's checks of what cannot run in a private user namespace (verifyPlatformContainerSettings). */
function validateUserns(h: HostConfig): void {
  if (h.UsernsMode === 'host') return;
  if (h.Privileged) {
    throw invalid('privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode');
  }
  if (h.NetworkMode === 'host') throw invalid("cannot share the host's network namespace when user namespaces are enabled");
  if (h.PidMode === 'host') throw invalid('cannot share the host PID namespace when user namespaces are enabled');
}

/** Fills the defaults dockerd stores in HostConfig. */
function normalizeHostConfig(h: HostConfig, defaultNetwork: string): HostConfig {
  // dockerd stores "default" as the network it stands for.
  const networkMode = !h.NetworkMode || h.NetworkMode === 'default' ? defaultNetwork : h.NetworkMode;
  return {
    ...h,
    Binds: h.Binds ?? null,
    // dockerd: an empty type is the daemon's default driver; the options stay.
    LogConfig: { Type: h.LogConfig?.Type || 'json-file', Config: h.LogConfig?.Config ?? {} },
    NetworkMode: networkMode,
    PortBindings: h.PortBindings ?? {},
    RestartPolicy: h.RestartPolicy ?? { Name: 'no', MaximumRetryCount: 0 },
    AutoRemove: h.AutoRemove ?? false,
    CapAdd: h.CapAdd ?? null,
    CapDrop: h.CapDrop ?? null,
    CgroupnsMode: h.CgroupnsMode || 'host',
    IpcMode: h.IpcMode || 'private',
    Privileged: h.Privileged ?? false,
    ReadonlyRootfs: h.ReadonlyRootfs ?? false,
    ShmSize: h.ShmSize || 67108864,
    Runtime: h.Runtime || 'runc',
    MaskedPaths: h.MaskedPaths,
    ReadonlyPaths: h.ReadonlyPaths,
    // dockerd's adaptContainerSettings: swap defaults to twice the memory limit, and is stored so (update checks against it).
    ...(h.Memory && h.Memory > 0 && !h.MemorySwap ? { MemorySwap: h.Memory * 2 } : {}),
  };
}
