/**
 * `docker exec`: exec sessions, as moby's daemon/exec.go keeps them. A
 * session is created against a running container, started once (attached
 * over a hijacked connection, or detached), and stays inspectable after it
 * finishes so the CLI can read the exit code.
 *
 * Each started session runs under its own conmon in exec mode
 * (ConmonRuntime.exec): `runc exec --process <dir>/process.json` with a
 * process built like the container's own (its capabilities, rlimits,
 * no-new-privileges), the exec's args, env, cwd and user. Output comes
 * through that conmon's attach socket; the exit status through its sync
 * pipe or exit dir.
 *
 * Bookkeeping follows moby: a container's ExecIDs are its sessions that have
 * not finished; when the container stops, sessions never started are
 * dropped; finished ones are swept after two GC rounds (CanRemove, then
 * gone), or with their container.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Duplex } from 'node:stream';
import type { SeqpacketSocket } from 'node-unix-socket';
import type { ContainerService } from '../container/service.js';
import type { ExecSession, ExecSessions } from './sessions.js';
import type { ContainerRecord } from '../container/types.js';
import type { ExecProcess, OCIRuntime } from '../runtime/runtime.js';
import { bridgeAttach } from '../runtime/attach.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../runtime/detach-keys.js';
import { DEFAULT_PATH_ENV, replaceOrAppendEnv, specToJSON, SpecError } from '../runtime/spec/build.js';
import { hostCapabilities } from '../runtime/spec/caps.js';
import { buildRlimits, readHostRlimits } from '../runtime/spec/rlimits.js';
import { resolveInRoot, resolveUser } from '../runtime/spec/user.js';
import { additionalGroups } from '../runtime/spec/devices.js';
import type { Process, Spec } from '../runtime/spec/types.js';
import { conflict, EngineError, errorMessage, invalid, notFound, system } from '../errors.js';
import { frame, STDOUT } from '../../common/stdcopy.js';
import type { ExecConfig } from '../../common/api/exec.js';

/** The body of `POST /containers/{id}/exec` (moby's ExecConfig, from common/api). */
export type ExecCreateBody = ExecConfig;

/** The body of `POST /exec/{id}/start`. */
export interface ExecStartOptions {
  detach: boolean;
  /** Raw output instead of stdcopy frames (Docker frames by this flag, not by the session's Tty). */
  tty: boolean;
  consoleSize?: [number, number] | null;
}

/** Sweep period for finished sessions (moby's execCommandGC). */
const GC_INTERVAL_MS = 5 * 60 * 1000;
/** How long a resize waits for its session to start (moby: 10 s). */
const RESIZE_START_TIMEOUT_MS = 10_000;

/** moby term.ToBytes, with exec create's message for keys it does not know. */
export function detachKeyBytes(keys: string): Buffer {
  const bytes = parseDetachKeys(keys);
  if (!bytes) throw invalid(`Invalid escape keys (${keys}) provided`);
  return bytes;
}

/**
 * The exit code and error Docker gives a process that could not be started
 * (moby translateContainerdStartErr, with 126 as the default as in
 * ContainerExecStart): 127 for a missing command, 126 when it cannot run.
 */
export function execStartFailure(entrypoint: string, err: unknown): { code: number; error: EngineError } {
  const msg = errorMessage(err);
  const lower = msg.toLowerCase();
  let code = 126;
  let kind: EngineError['kind'] = err instanceof EngineError ? err.kind : 'system';
  if (lower.includes(entrypoint.toLowerCase()) && (lower.includes('executable file not found') || lower.includes('no such file or directory'))) {
    code = 127;
    kind = 'invalid';
  }
  if (lower.includes('permission denied')) {
    code = 126;
    kind = 'invalid';
  }
  if (lower.includes('not a directory')) {
    code = 127;
    kind = 'invalid';
  }
  return { code, error: new EngineError(kind, msg) };
}

export interface ExecProcessInput {
  /** The running container's process (from its config.json): capabilities, no-new-privileges, … */
  containerProcess: Process;
  /** The container's mounted rootfs, for user lookup. */
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  tty: boolean;
  consoleSize?: [number, number];
  privileged: boolean;
  ulimits?: { Name: string; Soft: number; Hard: number }[] | null;
  /** The container's --group-add: an exec's user gets those groups too (moby getUser). */
  groupAdd?: string[] | null;
}

/**
 * The OCI process for `runc exec`: the container's process with the exec's
 * args, env, cwd, terminal and user (moby ContainerExecStart +
 * execSetPlatformOpt). Privileged execs get every capability the host can
 * grant. As for containers (spec/build.ts), a root user gets the capability
 * set as bounding, effective and permitted; any other user only as bounding.
 */
export async function buildExecProcess(o: ExecProcessInput): Promise<Process> {
  const user = await resolveUser(o.rootfs, o.user);
  if (o.groupAdd?.length) {
    const groupFile = await fsp.readFile(await resolveInRoot(o.rootfs, '/etc/group'), 'utf8').catch(() => '');
    user.additionalGids = [...(user.additionalGids ?? []), ...additionalGroups(o.groupAdd, groupFile)];
  }
  const caps = o.privileged ? await hostCapabilities() : [...(o.containerProcess.capabilities?.bounding ?? [])];
  const p: Process = {
    ...o.containerProcess,
    terminal: o.tty,
    user,
    args: [...o.args],
    env: [...o.env],
    cwd: o.cwd || '/',
    capabilities: user.uid === 0 ? { bounding: caps, effective: [...caps], permitted: [...caps] } : { bounding: caps },
  };
  delete p.consoleSize;
  if (o.tty && o.consoleSize && o.consoleSize[0] > 0 && o.consoleSize[1] > 0) {
    p.consoleSize = { height: o.consoleSize[0], width: o.consoleSize[1] };
  }
  // Rebuilt rather than copied: config.json's RLIM_INFINITY does not survive JSON.parse.
  delete p.rlimits;
  if (o.ulimits && o.ulimits.length > 0) p.rlimits = buildRlimits(o.ulimits, await readHostRlimits());
  return p;
}

export class ExecService {
  private readonly gcTimer: NodeJS.Timeout;

  constructor(
    private readonly containers: ContainerService,
    private readonly runtime: OCIRuntime,
    /** The session table, shared with the container service (which shows ExecIDs and reports stops and removals). */
    private readonly sessions: ExecSessions,
  ) {
    this.gcTimer = setInterval(() => this.collectGarbage(), GC_INTERVAL_MS);
    this.gcTimer.unref();
  }

  close(): void {
    clearInterval(this.gcTimer);
  }

  /** Finished sessions are marked CanRemove on one sweep and dropped on the next. */
  private collectGarbage(): void {
    for (const s of this.sessions.values()) {
      if (s.running || s.exitCode === null) continue;
      if (s.canRemove) this.sessions.delete(s.id);
      else s.canRemove = true;
    }
  }

  /** moby getActiveContainer: exec needs a running, unpaused container. */
  private activeContainer(idOrName: string): ContainerRecord {
    const c = this.containers.store.resolve(idOrName);
    if (!c.State.Running) throw conflict(`container ${c.Id} is not running`);
    if (c.State.Paused) throw conflict(`container ${c.Id} is paused, unpause the container before exec`);
    if (c.State.Restarting) throw conflict(`container ${c.Id} is restarting, wait until the container is running`);
    return c;
  }

  get(id: string): ExecSession {
    const s = this.sessions.get(id);
    if (!s) throw notFound(`No such exec instance: ${id}`);
    return s;
  }

  /**
   * moby ExecExists: the session exists and its container can run it. The
   * API calls this before taking over the connection, so these errors are
   * plain HTTP errors rather than text in the stream.
   */
  checkStartable(id: string): void {
    this.activeContainer(this.get(id).containerId);
  }

  /** `POST /containers/{id}/exec` (moby ContainerExecCreate). */
  create(idOrName: string, body: ExecCreateBody): { Id: string } {
    if (!body.Cmd || body.Cmd.length === 0) throw invalid('No exec command specified');
    const c = this.activeContainer(idOrName);
    const detachKeys = body.DetachKeys ? detachKeyBytes(body.DetachKeys) : Buffer.alloc(0);
    const tty = !!body.Tty;
    // moby CreateDaemonEnvironment: defaults, overridden by the container's env, then by the exec's.
    const defaults = [`PATH=${DEFAULT_PATH_ENV}`, `HOSTNAME=${c.Config.Hostname ?? ''}`, ...(tty ? ['TERM=xterm'] : [])];
    const env = replaceOrAppendEnv(replaceOrAppendEnv(defaults, c.Config.Env ?? []), body.Env ?? []);
    const id = randomBytes(32).toString('hex');
    let markStarted!: () => void;
    const started = new Promise<void>((r) => (markStarted = r));
    const [rows, cols] = body.ConsoleSize ?? [0, 0];
    this.sessions.set(id, {
      id,
      containerId: c.Id,
      entrypoint: body.Cmd[0]!,
      args: body.Cmd.slice(1),
      tty,
      openStdin: !!body.AttachStdin,
      openStdout: !!body.AttachStdout,
      openStderr: !!body.AttachStderr,
      privileged: !!body.Privileged,
      user: body.User || c.Config.User || '',
      workingDir: body.WorkingDir || c.Config.WorkingDir || '',
      env,
      detachKeys,
      ...(rows > 0 && cols > 0 ? { consoleSize: [rows, cols] as [number, number] } : {}),
      running: false,
      startCalled: false,
      exitCode: null,
      pid: 0,
      canRemove: false,
      started,
      markStarted,
      dir: path.join(this.runtime.execDir, id),
    });
    this.containers.publish(c, `exec_create: ${body.Cmd.join(' ')}`, { execID: id });
    return { Id: id };
  }

  /** `GET /exec/{id}/json` (moby ExecInspect). */
  inspect(id: string): Record<string, unknown> {
    const s = this.get(id);
    return {
      ID: s.id,
      Running: s.running,
      ExitCode: s.exitCode,
      ProcessConfig: {
        tty: s.tty,
        entrypoint: s.entrypoint,
        arguments: s.args,
        privileged: s.privileged,
        ...(s.user ? { user: s.user } : {}),
      },
      OpenStdin: s.openStdin,
      OpenStderr: s.openStderr,
      OpenStdout: s.openStdout,
      CanRemove: s.canRemove,
      ContainerID: s.containerId,
      DetachKeys: s.detachKeys.toString('base64'),
      Pid: s.pid,
    };
  }

  /**
   * `POST /exec/{id}/start`. With `client` (a hijacked connection whose
   * response head has been sent), streams the process's stdio over it until
   * the process has exited and its exit code is recorded, then ends the
   * client; start errors are written into the stream as dockerd does.
   * Without a client (Detach), resolves once the process runs and throws
   * start errors.
   */
  async start(id: string, o: ExecStartOptions, client?: Duplex): Promise<void> {
    const s = this.get(id);
    if (!client) {
      await this.run(s, o);
      return;
    }
    try {
      await this.run(s, o, client);
    } catch (err) {
      // moby postContainerExecStart: the error goes to the (framed) stdout, CRLF-terminated.
      if (!client.destroyed && !client.writableEnded) {
        const line = Buffer.from(`${errorMessage(err)}\r\n`);
        client.write(o.tty ? line : frame(STDOUT, line));
      }
    }
    if (!client.destroyed) client.end(() => client.destroy());
  }

  private async run(s: ExecSession, o: ExecStartOptions, client?: Duplex): Promise<void> {
    if (s.exitCode !== null) throw conflict(`Error: Exec command ${s.id} has already run`);
    if (s.startCalled) throw conflict(`Error: Exec command ${s.id} is already running`);
    const c = this.activeContainer(s.containerId);
    s.startCalled = true;
    s.running = true;
    this.containers.publish(c, `exec_start: ${[s.entrypoint, ...s.args].join(' ')}`, { execID: s.id });
    let proc: ExecProcess | undefined;
    let sock: SeqpacketSocket | undefined;
    try {
      const bundle = this.containers.bundleDir(c.Id);
      const spec = JSON.parse(await fsp.readFile(path.join(bundle, 'config.json'), 'utf8')) as Spec;
      const consoleSize = o.consoleSize && o.consoleSize[0] > 0 && o.consoleSize[1] > 0 ? o.consoleSize : s.consoleSize;
      const processSpec = await buildExecProcess({
        containerProcess: spec.process,
        rootfs: spec.root.path,
        args: [s.entrypoint, ...s.args],
        env: s.env,
        cwd: s.workingDir,
        user: s.user,
        tty: s.tty,
        consoleSize: consoleSize ?? undefined,
        privileged: s.privileged,
        ulimits: c.HostConfig.Ulimits,
        groupAdd: c.HostConfig.GroupAdd,
      });
      await fsp.mkdir(s.dir, { recursive: true, mode: 0o700 });
      const processFile = path.join(s.dir, 'process.json');
      await fsp.writeFile(processFile, specToJSON(processSpec));
      proc = await this.runtime.exec({
        containerId: c.Id,
        sessionId: s.id,
        dir: s.dir,
        processSpec: processFile,
        tty: s.tty,
        // Without an attached stdin the process reads /dev/null, as under dockerd.
        stdin: !!client && s.openStdin,
        // A terminal outlives its client (a detach, or stdin's end), as under dockerd.
        leaveStdinOpen: s.tty,
      });
      // Connected before the process runs, so no output is missed.
      if (client) sock = await this.runtime.connectAttachPath(proc.attachPath);
      s.pid = await proc.start();
    } catch (err) {
      proc?.abort();
      sock?.destroy();
      const failure = execStartFailure(s.entrypoint, err instanceof SpecError ? new EngineError(err.kind === 'notfound' ? 'system' : 'invalid', err.message) : err);
      await this.finish(s, failure.code);
      throw failure.error;
    }
    s.markStarted();
    const exited = proc.exited;
    if (!client || !sock) {
      void exited.then((code) => this.finish(s, code));
      return;
    }
    // With a TTY the daemon watches stdin for the detach keys (moby: only then).
    const detachKeys = s.tty ? (s.detachKeys.length ? s.detachKeys : DEFAULT_DETACH_KEYS) : undefined;
    const ended = await bridgeAttach(sock, client, { tty: o.tty, stdin: s.openStdin, stdout: s.openStdout, stderr: s.openStderr, detachKeys });
    if (ended === 'detached') {
      // The client goes; the process runs on, and its exit is recorded when it comes.
      this.containers.publish(c, 'exec_detach', { execID: s.id });
      void exited.then((code) => this.finish(s, code));
      return;
    }
    await this.finish(s, await exited);
  }

  /** Records the exit before the stream ends: the CLI inspects the exec for its code right after. */
  private async finish(s: ExecSession, code: number): Promise<void> {
    s.exitCode = code;
    s.running = false;
    const c = this.containers.store.get(s.containerId);
    if (c) this.containers.publish(c, 'exec_die', { execID: s.id, exitCode: String(code) });
    s.markStarted();
    await fsp.rm(s.dir, { recursive: true, force: true }).catch(() => undefined);
    // The container went away while the process ran: nothing will ask for this session again.
    if (!this.containers.store.get(s.containerId)) this.sessions.delete(s.id);
  }

  /**
   * A healthcheck probe (../container/health.ts): an exec, as dockerd runs
   * one (its exec events included), whose stdout and stderr are kept (the
   * first 4096 bytes). Killed once it has run for `timeoutMs` (the time it
   * takes to start does not count, as in dockerd) or when `signal` aborts.
   */
  async probe(containerId: string, cmd: string[], timeoutMs: number, signal: AbortSignal): Promise<{ exitCode: number; output: string; timedOut: boolean }> {
    const { Id } = this.create(containerId, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const s = this.get(Id);
    let raw = Buffer.alloc(0);
    const sink = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        if (raw.length < 64 * 1024) raw = Buffer.concat([raw, chunk]);
        cb();
      },
    });
    const kill = () => {
      if (s.pid > 0) {
        try {
          process.kill(s.pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    };
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    signal.addEventListener('abort', kill);
    void s.started.then(() => {
      if (signal.aborted) kill();
      else if (s.running) {
        timer = setTimeout(() => {
          timedOut = true;
          kill();
        }, timeoutMs);
      }
    });
    try {
      await this.start(Id, { detach: false, tty: false }, sink);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', kill);
    }
    // stdcopy frames: an 8-byte header (stream, 0, 0, 0, size big-endian), then the payload.
    const parts: Buffer[] = [];
    for (let off = 0; off + 8 <= raw.length; ) {
      const size = raw.readUInt32BE(off + 4);
      parts.push(raw.subarray(off + 8, off + 8 + size));
      off += 8 + size;
    }
    return { exitCode: s.exitCode ?? -1, output: Buffer.concat(parts).subarray(0, 4096).toString(), timedOut };
  }

  /** `POST /exec/{id}/resize`: waits for the session to start (as moby does), then resizes its terminal. */
  async resize(id: string, h: number, w: number): Promise<void> {
    const s = this.get(id);
    this.activeContainer(s.containerId);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(system('timeout waiting for exec session ready')), RESIZE_START_TIMEOUT_MS);
    });
    try {
      await Promise.race([s.started, timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (!s.running || !s.tty) return;
    await this.runtime.resize(s.dir, h, w).catch(() => undefined);
  }
}

