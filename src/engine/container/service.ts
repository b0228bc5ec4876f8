/**
 * The container service: every container lifecycle operation, for both front
 * ends. State transitions (Docker's):
 *
 *   created --start--> running --exit--> exited --start--> running ...
 *   running --pause--> paused --unpause--> running
 *   any --remove--> (gone)
 *
 * start: mount the rootfs, write the OCI bundle, conmon+runc create, connect
 * waiting attach clients, runc start. The exit file conmon writes ends a run:
 * handleExit() records the code, deletes runc state, unmounts, wakes waiters
 * and honours AutoRemove.
 */
import { EventEmitter } from 'node:events';
import type { EventLog } from '../events.js';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { SeqpacketSocket } from 'node-unix-socket';
import type { ImageService } from '../image/service.js';
import { fullRunConfig, labelMatches } from '../image/service.js';
import { ContainerRootfs, containerSnapshots } from './rootfs.js';
import { ConmonRuntime, RuntimeError } from '../runtime/conmon.js';
import { bridgeAttach } from '../runtime/attach.js';
import { buildSpec, checkResources, specToJSON, SpecError, type SpecInput } from '../runtime/spec/build.js';
import { conflict, EngineError, errorMessage, invalid, notFound } from '../errors.js';
import { frame, STDERR, STDOUT } from '../../common/stdcopy.js';
import { readLog, type LogReadOptions } from '../logs/k8sfile.js';
import type { Change } from '../layer/diff.js';
import { applyChanges } from '../image/changes.js';
import { Mutex } from '../../util/mutex.js';
import { ContainerStore } from './store.js';
import { randomName, validateName } from './names.js';
import { initialState, statusString, transition } from './state.js';
import type { IdentityMapping, IdRange } from '../idmap.js';
import { inspectMounts, ociMounts, resolveMounts } from './mounts.js';
import type { NetworkService } from '../network/service.js';
import type { VolumeService } from '../volume/service.js';
import { rootPair } from '../idmap.js';
import { resolveInRootfs } from './scoped-root.js';
import { inspectNetworkSettings, listNetworking } from '../network/inspect.js';
import { detailsPrefix, extraAttributes, validateLogOpts } from '../logs/attributes.js';
import { nextDelay, shouldRestart, startOnDaemonStart, validatePolicy } from './restart.js';
import {
  type ContainerConfig,
  type ContainerRecord,
  type CreateBody,
  type HostConfig,
} from './types.js';

/** Where --init's binary appears inside the container (dockerd's path). */
const INIT_PATH = '/sbin/docker-init';

export interface ContainerServiceOptions {
  execRoot: string;
  /** Host binary bind-mounted for --init. */
  initBinary?: string;
  seccompProfile?: string;
}

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Replay the log before streaming. */
  logs: boolean;
  stream: boolean;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/**
 * What the exec service (src/engine/exec) lends the container service: the
 * IDs shown as a container's ExecIDs, and word of stops and removals so it
 * can drop sessions. A hook rather than an import: exec depends on
 * containers, not the other way round.
 */
export interface ExecHooks {
  /** Exec sessions of the container that have not finished, oldest first. */
  idsFor(containerId: string): string[];
  containerStopped(containerId: string): void;
  containerRemoved(containerId: string): void;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19,
  SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28,
  SIGIO: 29, SIGPWR: 30, SIGSYS: 31,
};

/** Parses "TERM", "SIGTERM", "15" into a signal number, as Docker's signal.ParseSignal. */
export function parseSignal(s: string): number {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) throw invalid(`Invalid signal: ${s}`);
    return n;
  }
  const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  const n = SIGNALS[name];
  if (!n) throw invalid(`Invalid signal: ${s}`);
  return n;
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

/** Which exit code Docker assigns a failed start, from the runtime's message. */
function startFailureCode(msg: string): number {
  if (/executable file not found|no such file or directory/.test(msg)) return 127;
  if (/permission denied|is a directory/i.test(msg)) return 126;
  return 128;
}

export class ContainerService {
  /** Where `docker events` hears of container lifecycle (set by the engine). */
  eventLog?: EventLog;
  /** Per-container events: 'started', 'exited', 'removed'. */
  private readonly events = new EventEmitter();
  /** Clients waiting for a container's next start to attach. */
  private readonly pendingAttach = new Map<string, ((sock: SeqpacketSocket | undefined) => void)[]>();
  private readonly locks = new Map<string, Mutex>();
  private readonly bundleRoot: string;
  private sweeper?: NodeJS.Timeout;
  /** Set by the exec service when there is one. */
  execHooks?: ExecHooks;

  constructor(
    readonly store: ContainerStore,
    private readonly images: ImageService,
    private readonly rootfs: ContainerRootfs,
    readonly runtime: ConmonRuntime,
    private readonly opts: ContainerServiceOptions,
    readonly networks: NetworkService,
    readonly volumes: VolumeService,
  ) {
    volumes.users = () => {
      const m = new Map<string, string[]>();
      for (const c of this.store.list()) {
        for (const u of c.UserMounts ?? []) if (u.Type === 'volume' && u.Name) m.set(u.Name, [...(m.get(u.Name) ?? []), c.Id]);
      }
      return m;
    };
    this.events.setMaxListeners(0);
    this.bundleRoot = path.join(opts.execRoot, 'containers');
    images.users = {
      containersUsing: (id) =>
        this.store.list().filter((c) => c.Image === id).map((c) => ({ id: c.Id, running: c.State.Running })),
      snapshotsInUse: () => new Set(this.store.list().flatMap((c) => [...c.LayerChain, ...containerSnapshots(c.Id)])),
    };
  }

  /** Publishes a container event with dockerd's attributes (image, name, labels). */
  publish(c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.eventLog?.publish('container', action, c.Id, { ...(c.Config.Labels ?? {}), image: c.Config.Image, name: c.Name.slice(1), ...extra });
  }

  private lock(id: string): Mutex {
    let m = this.locks.get(id);
    if (!m) this.locks.set(id, (m = new Mutex()));
    return m;
  }

  bundleDir(id: string): string {
    return path.join(this.bundleRoot, id);
  }

  /** Reconciles records with reality after a daemon (re)start: containers keep running under conmon. */
  async restore(): Promise<void> {
    await fsp.mkdir(this.bundleRoot, { recursive: true, mode: 0o700 });
    this.runtime.watchExits((id) => void this.handleExit(id));
    // inotify can drop events under load (queue overflow): a slow sweep catches any exit the watcher missed.
    this.sweeper = setInterval(() => {
      for (const c of this.store.list()) {
        if (c.State.Running && existsSync(path.join(this.runtime.exitDir, c.Id))) void this.handleExit(c.Id);
      }
    }, 5000);
    this.sweeper.unref();
    for (const c of this.store.list()) {
      if (!c.State.Running) continue;
      this.networks.adopt(c);
      const code = await this.runtime.exitCode(c.Id);
      if (code !== undefined) {
        await this.handleExit(c.Id);
      } else if (!(await this.runtime.conmonAlive(this.bundleDir(c.Id)))) {
        // conmon is gone without recording an exit (host reboot, or killed): the process is gone too.
        await this.finishRun(c, 255, 'container monitor exited unexpectedly');
      }
    }
    // Network state only running containers may hold (a daemon killed mid-start or mid-release leaves some).
    await this.networks.sweep(new Set(this.store.list().filter((c) => c.State.Running).map((c) => c.Id)));
    // Restart policies at daemon start: always (even after a manual stop), unless-stopped, and any restart that was pending.
    for (const c of this.store.list()) {
      if (c.State.Running || c.State.Paused) continue;
      const pending = c.State.Status === 'restarting';
      if (pending || startOnDaemonStart(c.HostConfig.RestartPolicy, !!c.HasBeenManuallyStopped)) {
        this.start(c.Id, { byPolicy: pending ? 'restart' : 'boot' }).catch(() => undefined);
      }
    }
    // AutoRemove containers whose removal was interrupted.
    for (const c of this.store.list()) {
      if (c.HostConfig.AutoRemove && !c.State.Running && c.State.Status === 'exited') await this.remove(c.Id, { force: true }).catch(() => undefined);
    }
  }

  // ---- create ----------------------------------------------------------------

  async create(body: CreateBody, name?: string): Promise<{ Id: string; Warnings: string[] }> {
    if (!body || typeof body !== 'object') throw invalid('config cannot be empty in order to create a container');
    if (!body.Image) throw invalid('No command specified');
    const hostConfig: HostConfig = { ...(body.HostConfig ?? {}) };
    if (hostConfig.AutoRemove && hostConfig.RestartPolicy?.Name && !['', 'no'].includes(hostConfig.RestartPolicy.Name)) {
      throw invalid('can\'t create \'AutoRemove\' container with restart policy');
    }
    validatePolicy(hostConfig.RestartPolicy);
    if (this.idMap) validateUserns(hostConfig);
    validateLogOpts(hostConfig.LogConfig?.Type || 'json-file', hostConfig.LogConfig?.Config ?? {});
    await checkContainerSettings(hostConfig, body.StopSignal);
    this.networks.validatePorts({ HostConfig: hostConfig, Config: { ExposedPorts: body.ExposedPorts } });
    return this.images.lock.run(async () => {
      const img = this.images.resolve(body.Image!);
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
        this.store.reserveName(fullName, id);
      } else {
        for (let retry = 0; ; retry++) {
          fullName = `/${randomName(retry)}`;
          if (!this.store.nameOwner(fullName)) break;
        }
        this.store.reserveName(fullName, id);
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
          ...(body.ExposedPorts || imgCfg.ExposedPorts ? { ExposedPorts: { ...(imgCfg.ExposedPorts ?? {}), ...(body.ExposedPorts ?? {}) } } : {}),
          ...(body.StopSignal || imgCfg.StopSignal ? { StopSignal: body.StopSignal || imgCfg.StopSignal } : {}),
          ...(body.StopTimeout !== undefined ? { StopTimeout: body.StopTimeout } : {}),
        };
        const dir = this.store.dir(id);
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
          HostConfig: normalizeHostConfig(hostConfig, this.networks.defaultMode()),
          UserMounts: await resolveMounts(
            hostConfig,
            { volume: async (name, o) => { const v = await this.volumes.create(name, o); return { name: v.Name, mountpoint: this.volumes.store.mountpoint(v.Name) }; } },
            Object.keys({ ...(imgCfg.Volumes ?? {}), ...(body.Volumes ?? {}) }),
          ),
          LayerChain: this.images.chainOf(img),
          LogPath: path.join(dir, `${id}-json.log`),
          HostnamePath: path.join(dir, 'hostname'),
          HostsPath: path.join(dir, 'hosts'),
          ResolvConfPath: path.join(dir, 'resolv.conf'),
        };
        await this.rootfs.create(id, rec.LayerChain);
        await this.store.save(rec);
        this.publish(rec, 'create');
        return { Id: id, Warnings: [] };
      } catch (err) {
        this.store.releaseName(fullName!, id);
        await this.rootfs.remove(id).catch(() => undefined);
        await fsp.rm(this.store.dir(id), { recursive: true, force: true });
        throw err;
      }
    });
  }

  // ---- start -----------------------------------------------------------------

  /**
   * `byPolicy`: 'restart' for a restart-policy restart (abandoned if the
   * container was stopped meanwhile), 'boot' for policies applied at daemon start.
   */
  async start(idOrName: string, o: { byPolicy?: 'restart' | 'boot' } = {}): Promise<void> {
    const c = this.store.resolve(idOrName);
    if (!o.byPolicy) this.cancelRestart(c.Id);
    await this.lock(c.Id).run(async () => {
      if (o.byPolicy === 'restart' && (c.HasBeenManuallyStopped || c.State.Status !== 'restarting')) return;
      if (c.State.Paused) throw conflict('cannot start a paused container, try unpause instead');
      if (c.State.Running) throw new EngineError('notmodified', 'container already started');
      if (c.State.Status === 'removing') throw conflict('container is marked for removal and cannot be started');
      const bundle = this.bundleDir(c.Id);
      try {
        // Leftovers of an earlier run (only after a crash): checking is cheaper than a runc spawn on every start.
        if (await this.runtime.known(c.Id)) await this.runtime.delete(c.Id, true);
        await this.runtime.clearExit(c.Id);
        const rootfs = await this.mountRootfs(c);
        // Fresh volumes get the image's files at their mount paths first (dockerd's copy-up).
        for (const m of c.UserMounts ?? []) {
          if (m.Type !== 'volume' || !m.CopyData || !m.Name) continue;
          await this.volumes.fillIfEmpty(m.Name, await resolveInRootfs(rootfs, m.Destination, rootPair(this.idMap)));
        }
        const userns = this.usernsMappings(c);
        const specNetwork = await this.networks.attach(
          c,
          (x) => {
            const o = this.store.resolve(x);
            return { Id: o.Id, Pid: o.State.Pid, Running: o.State.Running };
          },
          userns !== undefined,
        );
        await this.writeEtcFiles(c);
        const spec = await buildSpec(
          {
            rootfs,
            // --init: tini (Debian's static build) as PID 1 reaps zombies and forwards signals, at dockerd's path.
            args: c.HostConfig.Init ? [INIT_PATH, '--', c.Path, ...c.Args] : [c.Path, ...c.Args],
            env: c.Config.Env ?? [],
            cwd: c.Config.WorkingDir || '/',
            user: c.Config.User ?? '',
            hostname: c.Config.Hostname ?? '',
            domainname: c.Config.Domainname || undefined,
            tty: !!c.Config.Tty,
            openStdin: !!c.Config.OpenStdin,
            readonlyRootfs: !!c.HostConfig.ReadonlyRootfs,
            privileged: !!c.HostConfig.Privileged,
            capAdd: c.HostConfig.CapAdd ?? undefined,
            capDrop: c.HostConfig.CapDrop ?? undefined,
            securityOpt: c.HostConfig.SecurityOpt ?? undefined,
            shmSize: c.HostConfig.ShmSize || undefined,
            tmpfs: c.HostConfig.Tmpfs ?? undefined,
            ulimits: c.HostConfig.Ulimits ?? undefined,
            mounts: [
              { source: c.ResolvConfPath, destination: '/etc/resolv.conf', type: 'bind', options: ['rbind', 'rprivate'] },
              { source: c.HostnamePath, destination: '/etc/hostname', type: 'bind', options: ['rbind', 'rprivate'] },
              { source: c.HostsPath, destination: '/etc/hosts', type: 'bind', options: ['rbind', 'rprivate'] },
              ...ociMounts(c.UserMounts ?? [], c.HostConfig),
              ...(c.HostConfig.Init ? [{ source: this.opts.initBinary ?? '/usr/bin/tini-static', destination: INIT_PATH, type: 'bind', options: ['bind', 'ro'] }] : []),
            ],
            cgroupsPath: `/berth/${c.Id}`,
            resources: specResources(c.HostConfig),
            stopSignal: c.Config.StopSignal,
            userns,
            namespaces: { network: specNetwork },
          },
          { seccompProfilePath: this.opts.seccompProfile },
        );
        // HostConfig.ConsoleSize ([h, w]): runc sizes the terminal before the process runs.
        const [rows, cols] = c.HostConfig.ConsoleSize ?? [0, 0];
        if (c.Config.Tty && rows > 0 && cols > 0) spec.process.consoleSize = { height: rows, width: cols };
        await fsp.rm(bundle, { recursive: true, force: true });
        await fsp.mkdir(bundle, { recursive: true, mode: 0o700 });
        await fsp.writeFile(path.join(bundle, 'config.json'), specToJSON(spec));
        const pid = await this.runtime.create({
          id: c.Id,
          bundle,
          logPath: c.LogPath,
          tty: !!c.Config.Tty,
          stdin: !!c.Config.OpenStdin,
          // dockerd closes a container's stdin when an attached client's input ends only
          // with StdinOnce and no TTY: a terminal's stdin stays open for the next attach
          // (after a ctrl-p ctrl-q detach, say).
          leaveStdinOpen: c.Config.OpenStdin && (!c.Config.StdinOnce || !!c.Config.Tty),
        });
        // The network is wired by now (or now, in a namespace runc made); /etc/hosts then learns the address.
        if (await this.networks.ready(c, pid)) await this.writeHosts(c);
        await this.connectPendingAttach(c.Id);
        await this.runtime.start(c.Id);
        c.State = transition(c.State, 'start', { pid });
        if (!o.byPolicy) {
          c.HasBeenManuallyStopped = false;
          c.RestartsSinceStart = 0;
        }
        await this.store.save(c);
        this.events.emit(`started:${c.Id}`);
        this.publish(c, 'start');
        // A process that exits at once may have written its exit file before the watcher could act on it.
        setImmediate(() => void this.handleExit(c.Id));
      } catch (err) {
        this.failPendingAttach(c.Id);
        await this.runtime.delete(c.Id, true);
        await this.unmountRootfs(c);
        await this.networks.release(c);
        let e = err;
        if (err instanceof SpecError) {
          e = new EngineError(err.kind === 'notfound' ? 'system' : 'invalid', err.message);
        }
        const msg = errorMessage(e);
        if (e instanceof RuntimeError) {
          const code = startFailureCode(msg);
          c.State = transition(c.State, 'start-failed', { exitCode: code, error: msg });
          // Docker reports a command that cannot be run as the caller's mistake.
          if (code !== 128) e = new EngineError('invalid', `failed to create task for container: failed to create shim task: ${msg}`);
          else e = new EngineError('system', `failed to create task for container: failed to create shim task: ${msg}`);
        } else {
          c.State = transition(c.State, 'start-failed', { exitCode: 128, error: msg });
        }
        await this.store.save(c);
        if (c.HostConfig.AutoRemove) await this.removeNow(c);
        throw e;
      }
    });
  }

  private async mountRootfs(c: ContainerRecord): Promise<string> {
    return this.rootfs.mount(c.Id);
  }

  private async unmountRootfs(c: ContainerRecord): Promise<void> {
    await this.rootfs.unmount(c.Id).catch(() => undefined);
  }

  /**
   * Runs `fn` on the container's root filesystem (the overlay's merged
   * directory), for `docker cp` and `docker export` (./archive.ts). Under the
   * container's lock, as dockerd holds the container lock until an archive
   * has been read: no start, exit or removal can mount or unmount the rootfs
   * meanwhile. A running container's rootfs is mounted already; any other is
   * mounted for the call and unmounted after it.
   */
  /** `--userns-remap`: how container IDs map to host IDs (undefined: identity). */
  get idMap(): IdentityMapping | undefined {
    return this.rootfs.idMap;
  }

  /** The user namespace a container gets: the daemon's mappings, unless it asked for the host's (`--userns=host`). */
  private usernsMappings(c: ContainerRecord): { uidMappings: IdRange[]; gidMappings: IdRange[] } | undefined {
    const m = this.idMap;
    if (!m || c.HostConfig.UsernsMode === 'host') return undefined;
    return { uidMappings: [...m.uids], gidMappings: [...m.gids] };
  }

  async withRootfs<T>(idOrName: string, fn: (rootfs: string, c: ContainerRecord) => Promise<T>): Promise<T> {
    const c = this.store.resolve(idOrName);
    return this.lock(c.Id).run(async () => {
      if (!this.store.get(c.Id)) throw notFound(`No such container: ${idOrName}`);
      if (c.State.Running) return fn(this.rootfs.target(c.Id), c);
      const rootfs = await this.mountRootfs(c);
      try {
        return await fn(rootfs, c);
      } finally {
        await this.unmountRootfs(c);
      }
    });
  }

  /** /etc/hostname, /etc/hosts, /etc/resolv.conf, bind-mounted into the container like dockerd's. */
  private async writeEtcFiles(c: ContainerRecord): Promise<void> {
    await fsp.writeFile(c.HostnamePath, `${c.Config.Hostname ?? ''}\n`);
    await this.writeHosts(c);
    let resolv: string;
    try {
      // The host's resolver config minus loopback servers, which mean nothing inside the container.
      resolv = (await fsp.readFile('/etc/resolv.conf', 'utf8'))
        .split('\n')
        .filter((l) => !/^\s*nameserver\s+(127\.|::1)/.test(l))
        .join('\n');
    } catch {
      resolv = '';
    }
    await fsp.writeFile(c.ResolvConfPath, resolv);
  }

  /**
   * /etc/hosts: dockerd's defaults, --add-host entries and the container's
   * own address (rewritten in place once the bridge has given it one); a
   * host-network container gets the host's file plus its --add-host entries.
   */
  private async writeHosts(c: ContainerRecord): Promise<void> {
    const extra = (c.HostConfig.ExtraHosts ?? []).map((h) => {
      const i = h.indexOf(':');
      return `${h.slice(i + 1)}\t${h.slice(0, i)}`;
    });
    if (c.NetworkAttachment?.mode === 'host') {
      const own = await fsp.readFile('/etc/hosts', 'utf8').catch(() => '127.0.0.1\tlocalhost\n');
      await fsp.writeFile(c.HostsPath, `${own.trimEnd()}\n${extra.map((l) => `${l}\n`).join('')}`);
      return;
    }
    const ep = c.NetworkAttachment?.endpoint;
    const hosts = [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::\tip6-localnet',
      'ff00::\tip6-mcastprefix',
      'ff02::1\tip6-allnodes',
      'ff02::2\tip6-allrouters',
      ...extra,
      // The container's own address last, as dockerd writes it.
      ...(ep ? [`${ep.ip}\t${c.Config.Hostname ?? ''}`] : []),
    ];
    await fsp.writeFile(c.HostsPath, `${hosts.join('\n')}\n`);
  }

  // ---- exit ------------------------------------------------------------------

  /**
   * Called when conmon has written the exit file. Runs under the container's
   * lock, so an exit that lands while start() is still recording the start
   * is handled right after it, not lost.
   */
  async handleExit(id: string, attempt = 0): Promise<void> {
    const c = this.store.get(id);
    if (!c) return;
    let retry = false;
    await this.lock(id).run(async () => {
      if (!c.State.Running || !this.store.get(id)) return;
      const code = await this.runtime.exitCode(id);
      if (code === undefined) {
        // The file can be seen created before conmon has written the code into it: look again shortly.
        retry = await this.runtime.exitFileExists(id);
        return;
      }
      await this.finishRun(c, code, '');
    });
    if (retry && attempt < 50) setTimeout(() => void this.handleExit(id, attempt + 1), 20).unref();
  }

  private async finishRun(c: ContainerRecord, code: number, error: string): Promise<void> {
    // Independent cleanups: run them together, this is on the path of every `run --rm`.
    const [oomKilled] = await Promise.all([
      this.runtime.oomKilled(this.bundleDir(c.Id)),
      this.runtime.deleteStopped(c.Id),
      this.unmountRootfs(c),
      this.runtime.clearExit(c.Id),
      this.networks.release(c),
    ]);
    await fsp.rm(this.bundleDir(c.Id), { recursive: true, force: true });
    c.State = transition(c.State, 'exit', { exitCode: code, error, oomKilled });
    await this.store.save(c);
    this.execHooks?.containerStopped(c.Id);
    this.events.emit(`exited:${c.Id}`, code);
    if (oomKilled) this.publish(c, 'oom');
    this.publish(c, 'die', { exitCode: String(code) });
    if (shouldRestart(c.HostConfig.RestartPolicy, code, !!c.HasBeenManuallyStopped, c.RestartsSinceStart ?? 0)) {
      await this.scheduleRestart(c);
      return;
    }
    if (c.HostConfig.AutoRemove) await this.removeNow(c);
  }

  private readonly restartTimers = new Map<string, NodeJS.Timeout>();

  /** Waits out the back-off, then starts the container again (Status "restarting" meanwhile). */
  private async scheduleRestart(c: ContainerRecord): Promise<void> {
    const ranFor = Date.now() - Date.parse(c.State.StartedAt);
    const delay = nextDelay(c.RestartDelayMs ?? 0, ranFor);
    c.RestartDelayMs = delay;
    c.RestartCount += 1;
    c.RestartsSinceStart = (c.RestartsSinceStart ?? 0) + 1;
    c.State = transition(c.State, 'restart-pending');
    await this.store.save(c);
    const timer = setTimeout(() => {
      this.restartTimers.delete(c.Id);
      if (!this.store.get(c.Id) || c.State.Status !== 'restarting') return;
      this.start(c.Id, { byPolicy: 'restart' }).catch(async (err: unknown) => {
        // A restart that cannot start ends the policy's attempts, as in dockerd.
        if (c.State.Status === 'restarting') c.State = transition(c.State, 'restart-abandoned', { error: errorMessage(err) });
        await this.store.save(c).catch(() => undefined);
      });
    }, delay);
    timer.unref();
    this.restartTimers.set(c.Id, timer);
  }

  /** Drops a pending policy restart (docker stop/rm/start of a restarting container). */
  private cancelRestart(id: string): boolean {
    const t = this.restartTimers.get(id);
    if (!t) return false;
    clearTimeout(t);
    this.restartTimers.delete(id);
    return true;
  }

  // ---- wait / stop / kill ----------------------------------------------------

  /**
   * Resolves with the exit code once the condition holds. `registered`
   * resolves as soon as the waiter is in place (the API flushes headers then).
   */
  wait(idOrName: string, condition: WaitCondition, signal?: AbortSignal): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const c = this.store.resolve(idOrName);
    return new Promise((resolve, reject) => {
      const done = (code: number) => {
        cleanup();
        resolve({ StatusCode: code, Error: null });
      };
      const onExit = (code: number) => {
        if (condition !== 'removed') done(code);
      };
      const onRemoved = () => done(c.State.ExitCode);
      const onAbort = () => {
        cleanup();
        reject(new EngineError('system', 'context canceled'));
      };
      const cleanup = () => {
        this.events.off(`exited:${c.Id}`, onExit);
        this.events.off(`removed:${c.Id}`, onRemoved);
        signal?.removeEventListener('abort', onAbort);
      };
      if (condition === 'not-running' && !c.State.Running) {
        resolve({ StatusCode: c.State.ExitCode, Error: null });
        return;
      }
      if (condition === 'removed' && !this.store.get(c.Id)) {
        resolve({ StatusCode: c.State.ExitCode, Error: null });
        return;
      }
      this.events.on(`exited:${c.Id}`, onExit);
      this.events.on(`removed:${c.Id}`, onRemoved);
      signal?.addEventListener('abort', onAbort);
    });
  }

  async kill(idOrName: string, signal = 'SIGKILL'): Promise<void> {
    const c = this.store.resolve(idOrName);
    const sig = parseSignal(signal);
    if (!c.State.Running) throw conflict(`Cannot kill container: ${idOrName}: container ${c.Id} is not running`);
    c.HasBeenManuallyStopped = true;
    await this.runtime.kill(c.Id, String(sig), true).catch(async (err) => {
      // Already gone: the exit is on its way.
      if (!(await this.runtime.state(c.Id))) return;
      throw err;
    });
    // A frozen process only acts on a fatal signal once thawed (as dockerd does for kill on a paused container).
    if (c.State.Paused && (sig === 9 || sig === 15)) await this.runtime.resume(c.Id).catch(() => undefined);
    this.publish(c, 'kill', { signal: String(sig) });
  }

  /** Sends the stop signal, then SIGKILL after `timeout` seconds; resolves once exited. */
  async stop(idOrName: string, timeout?: number, signal?: string): Promise<void> {
    const c = this.store.resolve(idOrName);
    c.HasBeenManuallyStopped = true;
    if (!this.cancelRestart(c.Id) && c.State.Status === 'restarting') {
      // A policy restart is under way: let it finish, then stop what it started.
      await this.lock(c.Id).run(async () => undefined);
    }
    if (!c.State.Running && c.State.Status === 'restarting') {
      c.State = transition(c.State, 'restart-abandoned');
      await this.store.save(c);
      this.publish(c, 'stop');
      return;
    }
    if (!c.State.Running) throw new EngineError('notmodified', 'container already stopped');
    const exited = this.wait(c.Id, 'not-running');
    const secs = timeout ?? c.Config.StopTimeout ?? 10;
    const sig = signal || c.Config.StopSignal || 'SIGTERM';
    if (c.State.Paused) await this.runtime.resume(c.Id).catch(() => undefined);
    await this.runtime.kill(c.Id, String(parseSignal(sig))).catch(() => undefined);
    this.publish(c, 'kill', { signal: String(parseSignal(sig)) });
    const timer = secs >= 0 ? new Promise((r) => setTimeout(r, secs * 1000, 'timeout')) : new Promise(() => undefined);
    if ((await Promise.race([exited, timer])) === 'timeout') {
      await this.runtime.kill(c.Id, '9', true).catch(() => undefined);
      this.publish(c, 'kill', { signal: '9' });
      await exited;
    }
    this.publish(c, 'stop');
  }

  /** Stops (if running) and starts again, as `docker restart`. */
  async restart(idOrName: string, timeout?: number, signal?: string): Promise<void> {
    const c = this.store.resolve(idOrName);
    if (c.State.Running) await this.stop(c.Id, timeout, signal);
    await this.start(c.Id);
    this.publish(c, 'restart');
  }

  /** Freezes every process of the container (cgroup freezer, through runc). */
  async pause(idOrName: string): Promise<void> {
    const c = this.store.resolve(idOrName);
    await this.lock(c.Id).run(async () => {
      if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
      if (c.State.Paused) throw conflict(`Container ${c.Id} is already paused`);
      await this.runtime.pause(c.Id);
      c.State = transition(c.State, 'pause');
      await this.store.save(c);
      this.publish(c, 'pause');
    });
  }

  async unpause(idOrName: string): Promise<void> {
    const c = this.store.resolve(idOrName);
    await this.lock(c.Id).run(async () => {
      if (!c.State.Paused) throw conflict(`Container ${c.Id} is not paused`);
      await this.runtime.resume(c.Id);
      c.State = transition(c.State, 'unpause');
      await this.store.save(c);
      this.publish(c, 'unpause');
    });
  }

  async rename(idOrName: string, newName: string): Promise<void> {
    const c = this.store.resolve(idOrName);
    if (!newName) throw invalid('Neither old nor new names may be empty');
    const full = validateName(newName);
    if (full === c.Name) throw invalid('Renaming a container with the same name as its current name');
    await this.lock(c.Id).run(async () => {
      const old = c.Name;
      this.store.reserveName(full, c.Id);
      c.Name = full;
      try {
        await this.store.save(c);
      } catch (err) {
        c.Name = old;
        this.store.releaseName(full, c.Id);
        throw err;
      }
      this.store.releaseName(old, c.Id);
      this.publish(c, 'rename', { oldName: old });
    });
  }

  /**
   * `docker update`: new resource limits (and restart policy), applied to a
   * running container's cgroups through `runc update` and kept for later runs.
   */
  async update(idOrName: string, u: Partial<HostConfig>): Promise<{ Warnings: string[] }> {
    const c = this.store.resolve(idOrName);
    if (u.RestartPolicy) validatePolicy(u.RestartPolicy);
    if (u.RestartPolicy?.Name && !['', 'no'].includes(u.RestartPolicy.Name) && c.HostConfig.AutoRemove) {
      throw invalid('Restart policy cannot be updated because AutoRemove is enabled for the container');
    }
    const keys = ['Memory', 'MemorySwap', 'MemoryReservation', 'CpuShares', 'NanoCpus', 'CpuQuota', 'CpuPeriod', 'CpusetCpus', 'CpusetMems', 'PidsLimit', 'BlkioWeight'] as const;
    await this.lock(c.Id).run(async () => {
      if (u.NanoCpus && (u.CpuQuota || u.CpuPeriod)) throw invalid('Conflicting options: Nano CPUs and CPU Period cannot both be set');
      const next: HostConfig = { ...c.HostConfig };
      for (const k of keys) if (u[k] !== undefined && u[k] !== null && u[k] !== 0 && u[k] !== '') (next as Record<string, unknown>)[k] = u[k];
      await checkContainerSettings(next, undefined);
      if (u.RestartPolicy?.Name) next.RestartPolicy = u.RestartPolicy;
      if (c.State.Running) {
        await this.runtime.update(c.Id, {
          memory: u.Memory, memorySwap: u.MemorySwap, memoryReservation: u.MemoryReservation, cpuShares: u.CpuShares,
          nanoCpus: u.NanoCpus, cpuQuota: u.CpuQuota, cpuPeriod: u.CpuPeriod, cpusetCpus: u.CpusetCpus,
          cpusetMems: u.CpusetMems, pidsLimit: u.PidsLimit ?? undefined,
        });
      }
      c.HostConfig = next;
      await this.store.save(c);
    });
    this.publish(c, 'update');
    return { Warnings: [] };
  }

  /** Removes stopped containers matching the filters (`until`, `label`); returns what it removed. */
  async prune(filters: Record<string, string[]>): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    let space = 0;
    const until = filters.until?.[0];
    const untilMs = until ? (/^\d+(\.\d+)?$/.test(until) ? Number(until) * 1000 : Date.parse(until)) : undefined;
    for (const c of this.store.list()) {
      if (c.State.Running || c.State.Paused) continue;
      if (filters.label?.length && !filters.label.every((l) => labelMatches(c.Config.Labels ?? {}, l))) continue;
      if (filters['label!']?.length && filters['label!'].some((l) => labelMatches(c.Config.Labels ?? {}, l))) continue;
      if (untilMs !== undefined && Date.parse(c.Created) >= untilMs) continue;
      space += await this.rootfs.sizeRw(c.Id);
      await this.remove(c.Id, {});
      deleted.push(c.Id);
    }
    return { ContainersDeleted: deleted, SpaceReclaimed: space };
  }

  /** `docker diff`: the container's changes relative to its image (A/C/D). */
  async changes(idOrName: string): Promise<Change[]> {
    const c = this.store.resolve(idOrName);
    return this.rootfs.changes(c.Id);
  }

  /**
   * `docker commit`: the container's upper layer becomes one new layer on its
   * image. The image's own layers are shared, not copied. A running container
   * is paused meanwhile unless `pause` is false.
   */
  async commit(
    idOrName: string,
    o: { ref?: string; author?: string; comment?: string; changes?: string[]; config?: Partial<ContainerConfig>; pause?: boolean },
  ): Promise<string> {
    const c = this.store.resolve(idOrName);
    const pause = (o.pause ?? true) && c.State.Running && !c.State.Paused;
    if (pause) await this.pause(c.Id);
    try {
      let config: ContainerConfig = { ...c.Config, ...(o.config ?? {}) } as ContainerConfig;
      if (o.changes?.length) config = applyChanges(config, o.changes) as ContainerConfig;
      const parent = this.images.store.get(c.Image);
      const img = await this.images.createChild(parent, (top) => this.rootfs.commit(c.Id, top, c.State.Running), {
        config,
        history: {
          created: new Date().toISOString(),
          ...(o.author ? { author: o.author } : {}),
          created_by: (c.Config.Cmd ?? []).join(' '),
          ...(o.comment ? { comment: o.comment } : {}),
        },
        author: o.author,
        comment: o.comment,
        container: c.Id,
        containerConfig: c.Config,
        ref: o.ref,
      });
      return img.id;
    } finally {
      if (pause) await this.unpause(c.Id).catch(() => undefined);
    }
  }

  // ---- remove ----------------------------------------------------------------

  /** `rm [-f] [-v]`: `volumes` also removes the container's anonymous volumes (named ones stay). */
  async remove(idOrName: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = this.store.resolve(idOrName);
    this.cancelRestart(c.Id);
    if (c.State.Running) {
      if (!opts.force) {
        throw conflict(`cannot remove container "${c.Name}": container is running: stop the container before removing or force remove`);
      }
      const exited = this.wait(c.Id, 'not-running');
      await this.runtime.kill(c.Id, '9', true).catch(() => undefined);
      if (c.State.Paused) await this.runtime.resume(c.Id).catch(() => undefined);
      await exited;
    }
    await this.lock(c.Id).run(() => this.removeNow(c, opts.volumes));
  }

  /** `anonymousVolumes`: also the container's anonymous volumes no other container uses (rm -v, and --rm). */
  private async removeNow(c: ContainerRecord, anonymousVolumes = !!c.HostConfig.AutoRemove): Promise<void> {
    if (!this.store.get(c.Id)) return;
    c.State = transition(c.State, 'remove');
    if (await this.runtime.known(c.Id)) await this.runtime.delete(c.Id, true);
    await this.rootfs.remove(c.Id);
    await fsp.rm(this.bundleDir(c.Id), { recursive: true, force: true });
    await this.store.delete(c.Id);
    this.locks.delete(c.Id);
    this.execHooks?.containerRemoved(c.Id);
    this.events.emit(`removed:${c.Id}`);
    this.publish(c, 'destroy');
    if (anonymousVolumes) {
      for (const m of c.UserMounts ?? []) {
        if (m.Type !== 'volume' || !m.Name || !this.volumes.store.has(m.Name) || !this.volumes.store.get(m.Name).Anonymous) continue;
        await this.volumes.remove(m.Name).catch(() => undefined);
      }
    }
    // The image may have been deleted while this container kept its layers.
    if (!this.images.store.get(c.Image)) await this.images.lock.run(() => this.images.collectGarbage());
  }

  // ---- attach ----------------------------------------------------------------

  private async connectPendingAttach(id: string): Promise<void> {
    const waiters = this.pendingAttach.get(id) ?? [];
    this.pendingAttach.delete(id);
    for (const w of waiters) {
      const sock = await this.runtime.connectAttach(id).catch(() => undefined);
      w(sock);
    }
  }

  private failPendingAttach(id: string): void {
    const waiters = this.pendingAttach.get(id) ?? [];
    this.pendingAttach.delete(id);
    for (const w of waiters) w(undefined);
  }

  /**
   * Streams a container's stdio over `client` (a hijacked connection): output
   * as stdcopy frames (raw with a TTY), client bytes to the container's stdin.
   * Before start, waits for the start; ends when the container's output ends.
   */
  async attach(idOrName: string, o: AttachOptions, client: Duplex): Promise<void> {
    const c = this.store.resolve(idOrName);
    const tty = !!c.Config.Tty;
    const send = (stream: number, payload: Buffer) => {
      if (client.destroyed || client.writableEnded) return;
      if (stream === STDOUT && !o.stdout) return;
      if (stream === STDERR && !o.stderr) return;
      client.write(tty ? payload : frame(stream, payload));
    };
    if (o.logs) {
      await readLog(
        c.LogPath,
        { stdout: o.stdout, stderr: o.stderr, follow: false },
        (e) => send(e.stream === 'stderr' ? STDERR : STDOUT, e.text),
        Promise.resolve(),
        new AbortController().signal,
      );
    }
    if (!o.stream) {
      client.end();
      return;
    }
    let sock: SeqpacketSocket | undefined;
    if (c.State.Running) {
      sock = await this.runtime.connectAttach(c.Id).catch(() => undefined);
    } else {
      sock = await new Promise<SeqpacketSocket | undefined>((resolve) => {
        const list = this.pendingAttach.get(c.Id) ?? [];
        list.push(resolve);
        this.pendingAttach.set(c.Id, list);
        client.once('close', () => {
          const l = this.pendingAttach.get(c.Id);
          if (l) this.pendingAttach.set(c.Id, l.filter((x) => x !== resolve));
          resolve(undefined);
        });
      });
    }
    if (!sock) {
      client.end();
      return;
    }
    await bridgeAttach(sock, client, { tty, stdin: o.stdin && !!c.Config.OpenStdin, stdout: o.stdout, stderr: o.stderr });
    if (!client.destroyed) client.end();
  }

  async resize(idOrName: string, h: number, w: number): Promise<void> {
    const c = this.store.resolve(idOrName);
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    if (!c.Config.Tty) return;
    await this.runtime.resize(this.bundleDir(c.Id), h, w).catch(() => undefined);
  }

  // ---- logs ------------------------------------------------------------------

  /** Streams log entries to `write` (framed unless TTY); with follow, until exit or abort. */
  async logs(idOrName: string, o: LogReadOptions & { timestamps: boolean; details?: boolean }, write: (b: Buffer) => void, signal: AbortSignal): Promise<{ tty: boolean }> {
    const c = this.store.resolve(idOrName);
    const tty = !!c.Config.Tty;
    const stopped = c.State.Running ? this.wait(c.Id, 'not-running', signal).catch(() => undefined) : Promise.resolve();
    // --details puts the attributes the log options select (labels, env) and a space before each line, as dockerd.
    const details = o.details ? detailsPrefix(extraAttributes(c.HostConfig.LogConfig?.Config ?? {}, c.Config.Labels ?? {}, c.Config.Env ?? [])) : null;
    await readLog(
      c.LogPath,
      { ...o, follow: o.follow && c.State.Running },
      (e) => {
        const line = details ? Buffer.concat([details, e.text]) : e.text;
        const payload = o.timestamps ? Buffer.concat([Buffer.from(`${e.time} `), line]) : line;
        write(tty ? payload : frame(e.stream === 'stderr' ? STDERR : STDOUT, payload));
      },
      stopped,
      signal,
    );
    return { tty };
  }

  // ---- list / inspect --------------------------------------------------------

  async list(o: { all?: boolean; limit?: number; size?: boolean; filters?: Record<string, string[]> } = {}): Promise<object[]> {
    let cs = this.store.list().sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
    const f = o.filters ?? {};
    const limit = o.limit && o.limit > 0 ? o.limit : 0;
    if (!o.all && !limit && !f.status && !f.before && !f.since) cs = cs.filter((c) => c.State.Running || c.State.Paused);
    for (const v of f.status ?? []) {
      if (!['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'].includes(v)) throw invalid(`invalid filter 'status=${v}'`);
    }
    // before/since: containers created before/after the given one (moby's rule), by creation time.
    for (const [key, cmp] of [['before', (a: number, b: number) => a < b], ['since', (a: number, b: number) => a > b]] as const) {
      for (const ref of f[key] ?? []) {
        const other = this.store.resolve(ref);
        const t = Date.parse(other.Created);
        cs = cs.filter((c) => c.Id !== other.Id && cmp(Date.parse(c.Created), t));
      }
    }
    cs = cs.filter((c) => matchesFilters(c, f));
    if (limit) cs = cs.slice(0, limit);
    const out: object[] = [];
    for (const c of cs) {
      const img = this.images.store.get(c.Image);
      // Keep the name the user gave while it still points at the container's image (moby's rule).
      let sameImage: boolean;
      try {
        sameImage = this.images.store.find(c.Config.Image)?.id === c.Image;
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
        ...(o.size ? { SizeRw: await this.rootfs.sizeRw(c.Id), SizeRootFs: (img ? await this.images.size(img) : 0) + (await this.rootfs.sizeRw(c.Id)) } : {}),
        Labels: c.Config.Labels ?? {},
        State: c.State.Status,
        Status: statusString(c.State),
        HostConfig: { NetworkMode: c.HostConfig.NetworkMode ?? 'none' },
        ...listNetworking(c, this.networks.bridge?.id),
        Mounts: inspectMounts(c.UserMounts ?? []),
      });
    }
    return out;
  }

  async inspect(idOrName: string, size = false): Promise<Record<string, unknown>> {
    const c = this.store.resolve(idOrName);
    const execIds = this.execHooks?.idsFor(c.Id);
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
        Data: await this.rootfs.graphDriverData(c.Id),
        Name: 'overlay2',
      },
      ...(size ? { SizeRw: await this.rootfs.sizeRw(c.Id), SizeRootFs: 0 } : {}),
      Mounts: inspectMounts(c.UserMounts ?? []),
      Config: c.Config,
      NetworkSettings: inspectNetworkSettings(c, this.networks.bridge?.id),
    };
  }

  /** Stops background work (the exit sweep); containers keep running. */
  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  /** Containers still running: the daemon's shutdown leaves them be. */
  running(): ContainerRecord[] {
    return this.store.list().filter((c) => c.State.Running);
  }
}

/**
 * Networks are joined at start, as in dockerd (so an unknown network fails the
 * start, not the create). berth has no networks yet beyond loopback.
 */
/** A container's resource limits as the spec builder takes them. */
function specResources(h: HostConfig): NonNullable<SpecInput['resources']> {
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
async function checkContainerSettings(h: HostConfig, stopSignal: string | undefined): Promise<void> {
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
  };
}

function matchesFilters(c: ContainerRecord, f: Record<string, string[]>): boolean {
  for (const [key, values] of Object.entries(f)) {
    if (!values.length) continue;
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
        case 'before':
        case 'since':
          // Handled by the caller (they compare creation order with another container).
          return true;
        case 'network':
          return (c.HostConfig.NetworkMode ?? 'none') === v;
        case 'label':
          return labelMatches(c.Config.Labels ?? {}, v);
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
