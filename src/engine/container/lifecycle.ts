/**
 * @module engine/container/lifecycle
 * A container's runs: start, exit, stop, kill, pause, restart (by hand and
 * by policy), removal, and the reconciliation after a daemon restart. Each
 * method that changes a container's state does so through ./state.ts
 * transition(), under the container's lock, and says which transition on
 * its doc comment.
 *
 * start: mount the rootfs, write the OCI bundle, conmon+runc create, connect
 * waiting attach clients, runc start. The exit file conmon writes ends a run:
 * handleExit() records the code, deletes runc state, unmounts, wakes waiters
 * and honours the restart policy and AutoRemove.
 *
 * Why one file of ~660 lines: these are the transitions of one state
 * machine, and they share its lock, the start's undo and the exit's
 * cleanup. What each step needs lives in its own module: restart.ts (the
 * policy), etc-files.ts, links.ts, mounts.ts, signals.ts, and the runtime.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { conflict, EngineError, errorMessage } from '../errors.js';
import type { IdRange } from '../idmap.js';
import { labelsExclude, labelsMatch, untilMs } from '../filters.js';
import { RuntimeError } from '../runtime/runtime.js';
import { buildSpec, specToJSON, SpecError } from '../runtime/spec/build.js';
import type { DeviceMapping } from '../runtime/spec/devices.js';
import type { ContainerContext } from './context.js';
import { specResources } from './create.js';
import { writeEtcFiles, writeHosts } from './etc-files.js';
import { linkSetup } from './links.js';
import { ociMounts } from './mounts.js';
import { nextDelay, shouldRestart, startOnDaemonStart } from './restart.js';
import { RootfsReaders } from './rootfs-readers.js';
import { parseSignal } from './signals.js';
import { transition } from './state.js';
import type { ContainerStreams } from './streams.js';
import type { ContainerRecord } from './types.js';
import { span, traced, tracingEnabled } from '../trace.js';
import { crashPoint } from '../../util/crash.js';

/** Where --init's binary appears inside the container (dockerd's path). */
const INIT_PATH = '/sbin/docker-init';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** Which exit code Docker assigns a failed start, from the runtime's message. */
function startFailureCode(msg: string): number {
  if (/executable file not found|no such file or directory/.test(msg)) return 127;
  if (/permission denied|is a directory/i.test(msg)) return 126;
  return 128;
}

export class ContainerLifecycle {
  private sweeper?: NodeJS.Timeout;
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly readers: RootfsReaders;

  constructor(
    private readonly ctx: ContainerContext,
    /** Attach clients waiting for a start are connected by it. */
    private readonly streams: ContainerStreams,
  ) {
    this.readers = new RootfsReaders(ctx);
  }

  /** Reconciles records with reality after a daemon (re)start: containers keep running under conmon. */
  async restore(): Promise<void> {
    await fsp.mkdir(this.ctx.bundleRoot, { recursive: true, mode: 0o700 });
    this.ctx.runtime.watchExits((id) => void this.handleExit(id));
    // inotify can drop events under load (queue overflow): a slow sweep catches any exit the watcher missed.
    this.sweeper = setInterval(() => {
      for (const c of this.ctx.store.list()) {
        if (c.State.Running) void this.ctx.runtime.exitFileExists(c.Id).then((exited) => (exited ? this.handleExit(c.Id) : undefined));
      }
    }, 5000);
    this.sweeper.unref();
    for (const c of this.ctx.store.list()) {
      if (!c.State.Running) continue;
      const code = await this.ctx.runtime.exitCode(c.Id);
      if (code !== undefined) {
        await this.handleExit(c.Id);
      } else if (!(await this.ctx.runtime.conmonAlive(this.ctx.bundleDir(c.Id)))) {
        // conmon is gone without recording an exit (host reboot, or killed): the process is gone too.
        await this.finishRun(c, 255, 'container monitor exited unexpectedly');
      } else {
        // Still running: its published ports are taken and its DNS listener is made again
        // (not for the exited: the listener's sockets would hold the namespace its exit unpins).
        this.ctx.networks.adopt(c);
        // Healthchecks resume (from `starting`, as dockerd's restore does).
        this.ctx.signals.emit('run-started', c);
        this.ctx.logRotation.start(this.ctx.logStorage(c), c.Id, this.ctx.bundleDir(c.Id));
      }
    }
    // Network state only running containers may hold (a daemon killed mid-start or mid-release leaves some).
    await this.ctx.networks.sweep(new Set(this.ctx.store.list().filter((c) => c.State.Running).map((c) => c.Id)));
    // Restart policies at daemon start: always (even after a manual stop), unless-stopped, and any restart that was pending.
    for (const c of this.ctx.store.list()) {
      if (c.State.Running || c.State.Paused) continue;
      const pending = c.State.Status === 'restarting';
      if (pending || startOnDaemonStart(c.HostConfig.RestartPolicy, !!c.HasBeenManuallyStopped)) {
        this.start(c.Id, { byPolicy: pending ? 'restart' : 'boot' }).catch(() => undefined);
      }
    }
    // AutoRemove containers whose removal was interrupted.
    for (const c of this.ctx.store.list()) {
      if (c.HostConfig.AutoRemove && !c.State.Running && c.State.Status === 'exited') await this.remove(c.Id, { force: true }).catch(() => undefined);
    }
  }

  /** The store check's repair of a container whose conmon is gone: finishRun, if it still runs. */
  async markExited(id: string, code: number, error: string): Promise<void> {
    const c = this.ctx.store.get(id);
    if (!c) return;
    await this.ctx.lock(id).run(async () => {
      if (c.State.Running) await this.finishRun(c, code, error);
    });
  }

  /**
   * `docker start`. Transition **start** (created | exited | restarting →
   * running) once `runc start` returned; on failure **start-failed** (the
   * status stays; ExitCode 127/126/128 and Error say why, as dockerd
   * records them). Refused before any work: paused, running, removing.
   *
   * `byPolicy`: 'restart' for a restart-policy restart (abandoned if the
   * container was stopped meanwhile), 'boot' for policies applied at daemon start.
   */
  async start(idOrName: string, o: { byPolicy?: 'restart' | 'boot' } = {}): Promise<void> {
    const c = this.ctx.store.resolve(idOrName);
    if (!o.byPolicy) this.cancelRestart(c.Id);
    await this.ctx.lock(c.Id).run(async () => {
      if (o.byPolicy === 'restart' && (c.HasBeenManuallyStopped || c.State.Status !== 'restarting')) return;
      if (c.State.Paused) throw conflict('cannot start a paused container, try unpause instead');
      if (c.State.Running) throw new EngineError('notmodified', 'container already started');
      if (c.State.Status === 'removing') throw conflict('container is marked for removal and cannot be started');
      const bundle = this.ctx.bundleDir(c.Id);
      let attaching: Promise<unknown> | undefined;
      try {
        // Leftovers of an earlier run (only after a crash): checking is cheaper than a runc spawn on every start.
        await span('runtime-leftovers', async () => {
          if (await this.ctx.runtime.known(c.Id)) await this.ctx.runtime.delete(c.Id, true);
          await this.ctx.runtime.clearExit(c.Id);
        });
        const userns = this.usernsMappings(c);
        // The network namespace is made (and CNI set going) while the rootfs is mounted: both are on the path of every start.
        const network = span('cni', () => this.ctx.networks.attach(
          c,
          (x) => {
            const o = this.ctx.store.resolve(x);
            return { Id: o.Id, Pid: o.State.Pid, Running: o.State.Running };
          },
          userns !== undefined,
        ));
        attaching = network.catch(() => undefined);
        // Volumes got the image's files at create (./create.ts populateVolumes), as in dockerd.
        const rootfs = await span('snapshot-mount', () => this.mountRootfs(c));
        crashPoint('container.mounted');
        // Volumes with driver options are mounts of their device, made at first use.
        for (const m of c.UserMounts ?? []) if (m.Type === 'volume' && m.Name) await this.ctx.volumes.mountIfNeeded(m.Name);
        // Legacy links: the children must be running; their addresses go into env and /etc/hosts.
        const links = linkSetup(c, this.ctx.store);
        const specNetwork = await network;
        await span('etc-files', () => writeEtcFiles(c, this.ctx.networks.dnsServerFor(c), links.hosts));
        const spec = await span('spec', () => buildSpec(
          {
            rootfs,
            // --init: tini (Debian's static build) as PID 1 reaps zombies and forwards signals, at dockerd's path.
            args: c.HostConfig.Init ? [INIT_PATH, '--', c.Path, ...c.Args] : [c.Path, ...c.Args],
            // dockerd puts the link variables before the container's own, which win.
            env: [...links.env, ...(c.Config.Env ?? [])],
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
              ...(c.HostConfig.Init ? [{ source: this.ctx.opts.initBinary ?? '/usr/bin/tini-static', destination: INIT_PATH, type: 'bind', options: ['bind', 'ro'] }] : []),
            ],
            cgroupsPath: `/berth/${c.Id}`,
            devices: (c.HostConfig.Devices as DeviceMapping[] | null | undefined) ?? undefined,
            deviceCgroupRules: c.HostConfig.DeviceCgroupRules ?? undefined,
            groupAdd: c.HostConfig.GroupAdd ?? undefined,
            resources: specResources(c.HostConfig),
            stopSignal: c.Config.StopSignal,
            userns,
            // --pid/--ipc/--uts host: the host's namespace instead of a new one (container:<id> modes are not built).
            namespaces: {
              network: specNetwork,
              pid: c.HostConfig.PidMode === 'host' ? 'host' : 'private',
              ipc: c.HostConfig.IpcMode === 'host' ? 'host' : 'private',
              uts: c.HostConfig.UTSMode === 'host' ? 'host' : 'private',
            },
          },
          { seccompProfilePath: this.ctx.opts.seccompProfile },
        ));
        // HostConfig.ConsoleSize ([h, w]): runc sizes the terminal before the process runs.
        const [rows, cols] = c.HostConfig.ConsoleSize ?? [0, 0];
        if (c.Config.Tty && rows > 0 && cols > 0) spec.process.consoleSize = { height: rows, width: cols };
        await span('spec', async () => {
          await fsp.rm(bundle, { recursive: true, force: true });
          await fsp.mkdir(bundle, { recursive: true, mode: 0o700 });
          await fsp.writeFile(path.join(bundle, 'config.json'), specToJSON(spec));
        });
        const logs = this.ctx.logStorage(c);
        if (logs.file) await fsp.mkdir(path.dirname(logs.file), { recursive: true });
        const pid = await span('runtime-create', () => this.ctx.runtime.create({
          id: c.Id,
          bundle,
          logPath: logs.file,
          logSizeMax: logs.maxSize,
          tty: !!c.Config.Tty,
          stdin: !!c.Config.OpenStdin,
          // dockerd closes a container's stdin when an attached client's input ends only
          // with StdinOnce and no TTY: a terminal's stdin stays open for the next attach
          // (after a ctrl-p ctrl-q detach, say).
          leaveStdinOpen: c.Config.OpenStdin && (!c.Config.StdinOnce || !!c.Config.Tty),
        }));
        this.ctx.logRotation.start(logs, c.Id, bundle);
        crashPoint('container.runtime-created');
        // The network is wired by now (or now, in a namespace runc made); /etc/hosts then learns the address.
        if (await span('cni', () => this.ctx.networks.ready(c, pid))) await span('etc-files', () => writeHosts(c, links.hosts));
        await span('attach-connect', () => this.streams.connectPendingAttach(c.Id));
        await span('runtime-start', () => this.ctx.runtime.start(c.Id));
        crashPoint('container.runtime-started');
        c.State = transition(c.State, 'start', { pid });
        if (!o.byPolicy) {
          c.HasBeenManuallyStopped = false;
          c.RestartsSinceStart = 0;
        }
        await span('record', () => this.ctx.store.save(c));
        this.ctx.signals.emit(`started:${c.Id}`);
        this.ctx.signals.emit('run-started', c);
        this.ctx.networks.started(c);
        this.ctx.publish(c, 'start');
        // A process that exits at once may have written its exit file before the watcher could act on it.
        setImmediate(() => void this.handleExit(c.Id));
      } catch (err) {
        this.streams.failPendingAttach(c.Id);
        await this.ctx.runtime.delete(c.Id, true);
        await this.unmountRootfs(c);
        // What an attach still under way sets up is released with the rest.
        await attaching;
        await this.ctx.networks.release(c);
        await this.releaseVolumes(c);
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
        await this.ctx.store.save(c);
        if (c.HostConfig.AutoRemove) await this.removeNow(c);
        throw e;
      }
    });
  }

  /** Unmounts the volumes with driver options that no other running container uses (the last user went). */
  private async releaseVolumes(c: ContainerRecord): Promise<void> {
    for (const m of c.UserMounts ?? []) {
      if (m.Type !== 'volume' || !m.Name) continue;
      const stillUsed = this.ctx.store.list().some((o) => o.Id !== c.Id && o.State.Running && (o.UserMounts ?? []).some((u) => u.Name === m.Name));
      await this.ctx.volumes.unmountIfUnused(m.Name, stillUsed).catch(() => undefined);
    }
  }

  private async mountRootfs(c: ContainerRecord): Promise<string> {
    return this.ctx.rootfs.mount(c.Id);
  }

  /** Unmounts the rootfs, unless a reader (cp, export) still uses it: the last reader unmounts then. */
  private async unmountRootfs(c: ContainerRecord): Promise<void> {
    await this.readers.unmount(c);
  }

  /** The user namespace a container gets: the daemon's mappings, unless it asked for the host's (`--userns=host`). */
  private usernsMappings(c: ContainerRecord): { uidMappings: IdRange[]; gidMappings: IdRange[] } | undefined {
    const m = this.ctx.idMap;
    if (!m || c.HostConfig.UsernsMode === 'host') return undefined;
    return { uidMappings: [...m.uids], gidMappings: [...m.gids] };
  }

  /** Runs `fn` on the container's root filesystem, for `docker cp` and `docker export` (./rootfs-readers.ts). */
  withRootfs<T>(idOrName: string, fn: (rootfs: string, c: ContainerRecord) => Promise<T>): Promise<T> {
    return this.readers.use(idOrName, fn);
  }

  /**
   * Called when conmon has written the exit file. Runs under the container's
   * lock, so an exit that lands while start() is still recording the start
   * is handled right after it, not lost.
   */
  async handleExit(id: string, attempt = 0): Promise<void> {
    const c = this.ctx.store.get(id);
    if (!c) return;
    let retry = false;
    // With tracing on, how long after conmon wrote the exit file this began is the trace's exit-detect phase.
    const written = tracingEnabled() ? await this.ctx.runtime.exitFileTime(id) : undefined;
    const detectMs = written === undefined ? 0 : Math.max(0, Date.now() - written);
    await this.ctx.lock(id).run(async () => {
      if (!c.State.Running || !this.ctx.store.get(id)) return;
      const code = await this.ctx.runtime.exitCode(id);
      if (code === undefined) {
        // The file can be seen created before conmon has written the code into it: look again shortly.
        retry = await this.ctx.runtime.exitFileExists(id);
        return;
      }
      await traced('exit', () => this.finishRun(c, code, ''), { 'exit-detect': detectMs });
    });
    if (retry && attempt < 50) setTimeout(() => void this.handleExit(id, attempt + 1), 20).unref();
  }

  /**
   * The end of a run. Transition **exit** (running | paused → exited):
   * ExitCode, Error, OOMKilled and FinishedAt recorded, Pid cleared, after
   * runc state, rootfs mount, exit file and network are released. Then the
   * restart policy (→ scheduleRestart) or AutoRemove (→ removeNow).
   */
  private async finishRun(c: ContainerRecord, code: number, error: string): Promise<void> {
    // --rm: the client waits for the removal; the network's second half (unpinning the namespace,
    // then freeing the addresses) follows it, rather than vying with the rest for the CPU.
    let finishNetwork: (() => void) | undefined;
    try {
      await this.finishRunNow(c, code, error, (f) => (finishNetwork = f));
    } finally {
      // After this turn's I/O, the answer to the client among it (spawning blocks the event loop).
      if (finishNetwork) setImmediate(finishNetwork);
    }
  }

  /** finishRun() but for the network's second half, which it hands to `deferNetwork` when there is one. */
  private async finishRunNow(c: ContainerRecord, code: number, error: string, deferNetwork: (finish: () => void) => void): Promise<void> {
    // Independent cleanups: run them together, this is on the path of every `run --rm`.
    const [oomKilled] = await span('cleanup', () => Promise.all([
      this.ctx.runtime.oomKilled(this.ctx.bundleDir(c.Id)),
      span('runc-delete', () => this.ctx.runtime.deleteStopped(c.Id)),
      span('snapshot-unmount', () => this.unmountRootfs(c)),
      this.ctx.runtime.clearExit(c.Id),
      span('cni-release', async () => {
        if (c.HostConfig.AutoRemove) deferNetwork(await this.ctx.networks.releaseDeferred(c));
        else await this.ctx.networks.release(c);
      }),
      this.ctx.logRotation.stop(c.Id),
    ]));
    await span('cleanup', () => fsp.rm(this.ctx.bundleDir(c.Id), { recursive: true, force: true }));
    c.State = transition(c.State, 'exit', { exitCode: code, error, oomKilled });
    await this.releaseVolumes(c);
    await span('record', () => this.ctx.store.save(c));
    this.ctx.exec.containerStopped(c.Id);
    this.ctx.signals.emit('run-ended', c.Id);
    this.ctx.signals.emit(`exited:${c.Id}`, code);
    if (oomKilled) this.ctx.publish(c, 'oom');
    this.ctx.publish(c, 'die', { exitCode: String(code) });
    if (shouldRestart(c.HostConfig.RestartPolicy, code, !!c.HasBeenManuallyStopped, c.RestartsSinceStart ?? 0)) {
      await this.scheduleRestart(c);
      return;
    }
    if (c.HostConfig.AutoRemove) await span('remove', () => this.removeNow(c));
  }

  /**
   * Transition **restart-pending** (exited → restarting), then, after the
   * back-off, start() by policy; a restart that cannot start is
   * **restart-abandoned** (restarting → exited, with the error).
   */
  private async scheduleRestart(c: ContainerRecord): Promise<void> {
    const ranFor = Date.now() - Date.parse(c.State.StartedAt);
    const delay = nextDelay(c.RestartDelayMs ?? 0, ranFor);
    c.RestartDelayMs = delay;
    c.RestartCount += 1;
    c.RestartsSinceStart = (c.RestartsSinceStart ?? 0) + 1;
    c.State = transition(c.State, 'restart-pending');
    await this.ctx.store.save(c);
    const timer = setTimeout(() => {
      this.restartTimers.delete(c.Id);
      if (!this.ctx.store.get(c.Id) || c.State.Status !== 'restarting') return;
      this.start(c.Id, { byPolicy: 'restart' }).catch(async (err: unknown) => {
        // A restart that cannot start ends the policy's attempts, as in dockerd.
        if (c.State.Status === 'restarting') c.State = transition(c.State, 'restart-abandoned', { error: errorMessage(err) });
        await this.ctx.store.save(c).catch(() => undefined);
      });
    }, delay);
    timer.unref();
    this.restartTimers.set(c.Id, timer);
  }

  /** Drops a pending policy restart (docker stop/rm/start of a restarting container). */
  cancelRestart(id: string): boolean {
    const t = this.restartTimers.get(id);
    if (!t) return false;
    clearTimeout(t);
    this.restartTimers.delete(id);
    return true;
  }

  /**
   * Resolves with the exit code once the condition holds. `registered`
   * resolves as soon as the waiter is in place (the API flushes headers then).
   */
  wait(idOrName: string, condition: WaitCondition, signal?: AbortSignal): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const c = this.ctx.store.resolve(idOrName);
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
        this.ctx.signals.off(`exited:${c.Id}`, onExit);
        this.ctx.signals.off(`removed:${c.Id}`, onRemoved);
        signal?.removeEventListener('abort', onAbort);
      };
      if (condition === 'not-running' && !c.State.Running) {
        resolve({ StatusCode: c.State.ExitCode, Error: null });
        return;
      }
      if (condition === 'removed' && !this.ctx.store.get(c.Id)) {
        resolve({ StatusCode: c.State.ExitCode, Error: null });
        return;
      }
      this.ctx.signals.on(`exited:${c.Id}`, onExit);
      this.ctx.signals.on(`removed:${c.Id}`, onRemoved);
      signal?.addEventListener('abort', onAbort);
    });
  }

  /**
   * `docker kill`. As dockerd: SIGKILL returns once the container has
   * stopped (the **exit** transition is recorded, so an inspect or rm right
   * after sees it); any other signal returns once delivered.
   */
  async kill(idOrName: string, signal = 'SIGKILL'): Promise<void> {
    const c = this.ctx.store.resolve(idOrName);
    const sig = parseSignal(signal);
    if (!c.State.Running) throw conflict(`Cannot kill container: ${idOrName}: container ${c.Id} is not running`);
    c.HasBeenManuallyStopped = true;
    // In place before the signal, so the exit cannot slip past it.
    const exited = sig === 9 ? this.waitExit(c.Id) : undefined;
    await this.ctx.runtime.kill(c.Id, String(sig), true).catch(async (err) => {
      // Already gone: the exit is on its way.
      if (!(await this.ctx.runtime.state(c.Id))) return;
      throw err;
    });
    // A frozen process only acts on a fatal signal once thawed (as dockerd does for kill on a paused container).
    if (c.State.Paused && (sig === 9 || sig === 15)) await this.ctx.runtime.resume(c.Id).catch(() => undefined);
    this.ctx.publish(c, 'kill', { signal: String(sig) });
    if (exited) await exited;
  }

  /**
   * Resolves once the container's exit is recorded. The exit file's watcher
   * normally gets there first; should its event be lost, the exit file is
   * looked at directly rather than left to the slow sweep (dockerd waits 10 s
   * for the exit event, then tries once more before giving up).
   */
  private async waitExit(id: string): Promise<void> {
    const abort = new AbortController();
    const exited = this.wait(id, 'not-running', abort.signal).then(() => true, () => true);
    for (const ms of [1000, 2000, 7000, 2000]) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
      const done = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (done) return;
      await this.handleExit(id);
    }
    abort.abort();
    throw new EngineError('system', 'tried to kill container, but did not receive an exit event');
  }

  /**
   * `docker stop`: the stop signal, then SIGKILL after `timeout` seconds;
   * resolves once exited (the **exit** transition is the exit handler's). A
   * container waiting for a policy restart is **restart-abandoned**
   * (restarting → exited) instead.
   */
  async stop(idOrName: string, timeout?: number, signal?: string): Promise<void> {
    const c = this.ctx.store.resolve(idOrName);
    c.HasBeenManuallyStopped = true;
    if (!this.cancelRestart(c.Id) && c.State.Status === 'restarting') {
      // A policy restart is under way: let it finish, then stop what it started.
      await this.ctx.lock(c.Id).run(async () => undefined);
    }
    if (!c.State.Running && c.State.Status === 'restarting') {
      c.State = transition(c.State, 'restart-abandoned');
      await this.ctx.store.save(c);
      this.ctx.publish(c, 'stop');
      return;
    }
    if (!c.State.Running) throw new EngineError('notmodified', 'container already stopped');
    const exited = this.wait(c.Id, 'not-running');
    const secs = timeout ?? c.Config.StopTimeout ?? 10;
    const sig = signal || c.Config.StopSignal || 'SIGTERM';
    if (c.State.Paused) await this.ctx.runtime.resume(c.Id).catch(() => undefined);
    await this.ctx.runtime.kill(c.Id, String(parseSignal(sig))).catch(() => undefined);
    this.ctx.publish(c, 'kill', { signal: String(parseSignal(sig)) });
    const timer = secs >= 0 ? new Promise((r) => setTimeout(r, secs * 1000, 'timeout')) : new Promise(() => undefined);
    if ((await Promise.race([exited, timer])) === 'timeout') {
      await this.ctx.runtime.kill(c.Id, '9', true).catch(() => undefined);
      this.ctx.publish(c, 'kill', { signal: '9' });
      await exited;
    }
    this.ctx.publish(c, 'stop');
  }

  /** Stops (if running) and starts again, as `docker restart`. */
  async restart(idOrName: string, timeout?: number, signal?: string): Promise<void> {
    const c = this.ctx.store.resolve(idOrName);
    if (c.State.Running) await this.stop(c.Id, timeout, signal);
    await this.start(c.Id);
    this.ctx.publish(c, 'restart');
  }

  /** `docker pause`: every process frozen (cgroup freezer, through runc). Transition **pause** (running → paused). */
  async pause(idOrName: string): Promise<void> {
    const c = this.ctx.store.resolve(idOrName);
    await this.ctx.lock(c.Id).run(() => this.pauseLocked(c));
  }

  /** pause() for a caller that holds the container's lock (commit). */
  async pauseLocked(c: ContainerRecord): Promise<void> {
    if (!c.State.Running) throw conflict(`Container ${c.Id} is not running`);
    if (c.State.Paused) throw conflict(`Container ${c.Id} is already paused`);
    await this.ctx.runtime.pause(c.Id);
    c.State = transition(c.State, 'pause');
    await this.ctx.store.save(c);
    this.ctx.publish(c, 'pause');
  }

  /** `docker unpause`. Transition **unpause** (paused → running). */
  async unpause(idOrName: string): Promise<void> {
    const c = this.ctx.store.resolve(idOrName);
    await this.ctx.lock(c.Id).run(() => this.unpauseLocked(c));
  }

  /** unpause() for a caller that holds the container's lock (commit). */
  async unpauseLocked(c: ContainerRecord): Promise<void> {
    if (!c.State.Paused) throw conflict(`Container ${c.Id} is not paused`);
    await this.ctx.runtime.resume(c.Id);
    c.State = transition(c.State, 'unpause');
    await this.ctx.store.save(c);
    this.ctx.publish(c, 'unpause');
  }

  /** `rm [-f] [-v]`: `volumes` also removes the container's anonymous volumes (named ones stay). */
  async remove(idOrName: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = this.ctx.store.resolve(idOrName);
    // dockerd counts a container waiting for a policy restart as running: only force removes it.
    const restarting = c.State.Status === 'restarting';
    if ((c.State.Running || restarting) && !opts.force) {
      // As dockerd: the name as the client gave it, the state as inspect shows it.
      if (c.State.Paused) throw conflict(`cannot remove container "${idOrName}": container is paused and must be unpaused first`);
      throw conflict(`cannot remove container "${idOrName}": container is ${c.State.Status}: stop the container before removing or force remove`);
    }
    this.cancelRestart(c.Id);
    // A policy restart already under way must not start it again (start() checks this under the lock).
    c.HasBeenManuallyStopped = true;
    for (;;) {
      if (c.State.Running) {
        const exited = this.wait(c.Id, 'not-running');
        await this.ctx.runtime.kill(c.Id, '9', true).catch(() => undefined);
        if (c.State.Paused) await this.ctx.runtime.resume(c.Id).catch(() => undefined);
        await exited;
      }
      // A restart that held the lock may have started it meanwhile: then kill again.
      const removed = await this.ctx.lock(c.Id).run(async () => {
        if (c.State.Running) return false;
        await this.removeNow(c, opts.volumes);
        return true;
      });
      if (removed) return;
    }
  }

  /**
   * Transition **remove** (created | exited | restarting | dead → removing),
   * then runtime state, snapshots, bundle and record go; the record's
   * deletion is the end (there is no "removed" state). `anonymousVolumes`:
   * also the container's anonymous volumes no other container uses (rm -v,
   * and --rm).
   */
  private async removeNow(c: ContainerRecord, anonymousVolumes = !!c.HostConfig.AutoRemove): Promise<void> {
    if (!this.ctx.store.get(c.Id)) return;
    c.State = transition(c.State, 'remove');
    if (await this.ctx.runtime.known(c.Id)) await this.ctx.runtime.delete(c.Id, true);
    // A cp or export still reading finishes first (with the lock held, no new one can begin).
    await this.readers.free(c.Id);
    await this.unmountRootfs(c);
    // The record before the snapshots: a crash in between leaves layers no
    // record names, which the start-up check collects, never a container
    // without its writable layer (crash test, seed 17).
    await this.ctx.store.delete(c.Id);
    await this.ctx.rootfs.remove(c.Id);
    await fsp.rm(this.ctx.bundleDir(c.Id), { recursive: true, force: true });
    this.ctx.locks.delete(c.Id);
    this.ctx.exec.containerRemoved(c.Id);
    this.ctx.signals.emit(`removed:${c.Id}`);
    this.ctx.publish(c, 'destroy');
    if (anonymousVolumes) {
      for (const m of c.UserMounts ?? []) {
        if (m.Type !== 'volume' || !m.Name || !this.ctx.volumes.store.has(m.Name) || !this.ctx.volumes.store.get(m.Name).Anonymous) continue;
        await this.ctx.volumes.remove(m.Name).catch(() => undefined);
      }
    }
    // The image may have been deleted while this container kept its layers.
    if (!this.ctx.images.store.get(c.Image)) await this.ctx.images.lock.run(() => this.ctx.images.collectGarbage());
  }

  /** Removes stopped containers matching the filters (`until`, `label`); returns what it removed. */
  async prune(filters: Record<string, string[]>): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    let space = 0;
    const until = untilMs(filters);
    for (const c of this.ctx.store.list()) {
      if (c.State.Running || c.State.Paused) continue;
      if (!labelsMatch(c.Config.Labels, filters.label)) continue;
      if (!labelsExclude(c.Config.Labels, filters['label!'])) continue;
      if (until !== undefined && Date.parse(c.Created) >= until) continue;
      // SizeRw, as dockerd reports it (docker's own report of a never-started container says 0B). The
      // init layer goes too, unreported as by dockerd: its only bytes are /etc/mtab's 12-byte link target.
      space += await this.ctx.rootfs.sizeRw(c.Id);
      // The layers of an image deleted meanwhile (rmi -f) go with its last container: counted too.
      space += await this.ctx.images.measureFreed(() => this.remove(c.Id, {}));
      deleted.push(c.Id);
    }
    return { ContainersDeleted: deleted, SpaceReclaimed: space };
  }

  /** Stops background work (the exit sweep); containers keep running. */
  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.ctx.logRotation.close();
  }

  /** Containers still running: the daemon's shutdown leaves them be. */
  running(): ContainerRecord[] {
    return this.ctx.store.list().filter((c) => c.State.Running);
  }
}
