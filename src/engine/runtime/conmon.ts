/**
 * The OCI runtime as berth drives it: runc, each container supervised by its
 * own conmon. conmon double-forks away from the daemon, holds the container's
 * stdio, writes its log (k8s-file format) and, when the container exits,
 * writes the exit code to `<execRoot>/exits/<id>`. So containers outlive
 * berthd, and a restarted berthd learns what happened from those files.
 *
 * Lifecycle: create() (conmon runs `runc create`; the process exists but has
 * not exec'd yet, so attach sockets can be connected without missing output)
 * → start() (`runc start`) → exit file appears → delete().
 *
 * Exec sessions get a conmon of their own in exec mode (exec(): conmon runs
 * `runc exec`), with its own directory, attach socket, ctl FIFO and exit dir.
 * Tasks (./task.ts) are runs with an exit dir and socket name of their own.
 *
 * The interface it implements, and the vocabulary, are in ./runtime.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp, readFileSync, rmdirSync, rmSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { SeqpacketSocket } from 'node-unix-socket';
import { run, CommandError } from '../../util/exec.js';
import { RuntimeError, type CreateOptions, type ExecProcess, type ExecSpawnOptions, type OCIRuntime, type ResourceUpdate } from './runtime.js';

export interface RuntimePaths {
  /** berthd's exec root (tmpfs in production: /run/berth). */
  execRoot: string;
  runc?: string;
  conmon?: string;
}

export type { CreateOptions, ExecProcess, ExecSpawnOptions, ResourceUpdate } from './runtime.js';
export { ATTACH_MAX_PACKET, RuntimeError } from './runtime.js';

export class ConmonRuntime implements OCIRuntime {
  readonly runc: string;
  readonly conmon: string;
  readonly runcRoot: string;
  readonly exitDir: string;
  readonly socketDir: string;
  /** Exec session directories (exec/<exec id>/). */
  readonly execDir: string;
  private watcher?: FSWatcher;

  constructor(readonly paths: RuntimePaths) {
    this.runc = paths.runc ?? '/usr/sbin/runc';
    this.conmon = paths.conmon ?? '/usr/bin/conmon';
    this.runcRoot = path.join(paths.execRoot, 'runc');
    this.exitDir = path.join(paths.execRoot, 'exits');
    this.socketDir = path.join(paths.execRoot, 's');
    this.execDir = path.join(paths.execRoot, 'exec');
  }

  async init(): Promise<void> {
    for (const d of [this.runcRoot, this.exitDir, this.socketDir]) await fsp.mkdir(d, { recursive: true, mode: 0o700 });
    // Exec sessions do not outlive the daemon's memory of them.
    await fsp.rm(this.execDir, { recursive: true, force: true });
    await fsp.mkdir(this.execDir, { recursive: true, mode: 0o700 });
  }

  /** Calls `onExit(id)` whenever conmon writes an exit file. */
  watchExits(onExit: (id: string) => void): void {
    this.watcher = watch(this.exitDir, (_event, name) => {
      if (name && /^[0-9a-f]{64}$/.test(name)) onExit(name);
    });
  }

  close(): void {
    this.watcher?.close();
  }

  /** Short, unique name for conmon's socket directory: socket paths are limited to 108 bytes. */
  private socketName(id: string): string {
    return id.slice(0, 16);
  }

  attachSocketPath(id: string, socketName?: string): string {
    return path.join(this.socketDir, socketName ?? this.socketName(id), 'attach');
  }

  /** Runs conmon, which runs `runc create`; resolves with the container's PID. */
  async create(o: CreateOptions): Promise<number> {
    const exitDir = o.exitDir ?? this.exitDir;
    await fsp.rm(path.join(exitDir, o.id), { force: true });
    const args = [
      '--api-version', '1',
      '-c', o.id,
      '-u', o.socketName ?? this.socketName(o.id),
      '-r', this.runc,
      '-b', o.bundle,
      '-p', path.join(o.bundle, 'pidfile'),
      '-n', o.id,
      '--exit-dir', exitDir,
      '--socket-dir-path', this.socketDir,
      '-l', o.logPath !== undefined ? `k8s-file:${o.logPath}` : 'none',
      '--log-level', 'error',
      '--conmon-pidfile', path.join(o.bundle, 'conmon.pid'),
      // conmon records OOM kills here (a file named "oom"), read back by oomKilled().
      '--persist-dir', o.bundle,
      '--runtime-arg', `--root=${this.runcRoot}`,
    ];
    if (o.logPath !== undefined && o.logSizeMax !== undefined) args.push('--log-size-max', String(o.logSizeMax));
    if (o.tty) args.push('-t');
    if (o.stdin) args.push('-i');
    if (o.stdin && o.leaveStdinOpen) args.push('--leave-stdin-open');
    // conmon forks once instead of twice and stays our child: its end is the run's end, no file to watch.
    if (o.onMonitorExit) args.push('--sync');
    const child = spawn(this.conmon, args, {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      env: { _OCI_SYNCPIPE: '3', PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      detached: true,
      // conmon drops an "oom" file into its working directory on an OOM kill: keep it in the bundle.
      cwd: o.bundle,
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stderr!.on('error', () => undefined);
    const sync = new LineReader(child.stdio[3] as NodeJS.ReadableStream);
    const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
    const msg = (await Promise.race([sync.next(), spawnError])) ?? '';
    child.stderr!.destroy();
    if (o.onMonitorExit) {
      // conmon --sync reports the exit status on the sync pipe (closing it early would kill conmon with SIGPIPE).
      const onExit = o.onMonitorExit;
      const exited = new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
      void Promise.all([sync.next(), exited]).then(([line]) => {
        sync.destroy();
        const code = line !== undefined ? parseSyncMessage(line).data : undefined;
        onExit(code !== undefined && code >= 0 ? code : undefined);
      });
      // Not unref'd: the daemon waits for this child (and the event loop with it).
      // conmon --sync writes no pidfile of its own: ours, for the same place as a detached conmon's.
      if (child.pid) await fsp.writeFile(path.join(o.bundle, 'conmon.pid'), String(child.pid));
    } else {
      sync.destroy();
      child.unref();
    }
    let parsed: { data?: number; message?: string };
    try {
      parsed = JSON.parse(msg.trim().split('\n')[0]!) as { data?: number; message?: string };
    } catch {
      throw new RuntimeError(`conmon failed: ${stderr.trim() || msg.trim() || 'no response on sync pipe'}`);
    }
    if (typeof parsed.data !== 'number' || parsed.data < 0) {
      throw new RuntimeError(`OCI runtime create failed: ${cleanRuncMessage(parsed.message ?? stderr)}: unknown`);
    }
    return parsed.data;
  }

  async start(id: string): Promise<void> {
    await this.runcCmd(['start', id], 'OCI runtime start failed');
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    await this.runcCmd(['kill', ...(all ? ['--all'] : []), id, signal], 'OCI runtime kill failed');
  }

  /**
   * Changes a running container's cgroup limits: the resources JSON runc
   * reads with `update -r -` (the OCI LinuxResources subset it accepts),
   * rather than its flags, whose names differ from Docker's (--cpu-share).
   */
  async update(id: string, r: ResourceUpdate): Promise<void> {
    const resources = runcUpdateResources(r);
    if (Object.keys(resources).length === 0) return;
    try {
      await run(this.runc, [`--root=${this.runcRoot}`, 'update', '-r', '-', id], { input: JSON.stringify(resources) });
    } catch (err) {
      if (err instanceof CommandError) throw new RuntimeError(cleanRuncMessage(err.result.stderr));
      throw err;
    }
  }

  async pause(id: string): Promise<void> {
    await this.runcCmd(['pause', id], 'OCI runtime pause failed');
  }

  async resume(id: string): Promise<void> {
    await this.runcCmd(['resume', id], 'OCI runtime resume failed');
  }

  /**
   * After an exit: what `runc delete` does for a stopped container (remove its
   * cgroup directories and its state directory), without spawning runc — this
   * is on the path of every `run --rm`. Anything unexpected (the init process
   * still alive, a busy cgroup, hooks) falls back to runc itself.
   */
  async deleteStopped(id: string): Promise<void> {
    const dir = path.join(this.runcRoot, id);
    let state: RuncState;
    try {
      state = JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')) as RuncState;
    } catch {
      if (existsSync(dir)) await this.delete(id, true);
      return;
    }
    if (state.config?.hooks || initAlive(state)) {
      await this.delete(id, true);
      return;
    }
    try {
      for (const cg of Object.values(state.cgroup_paths ?? {})) {
        try {
          rmdirSync(cg);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    } catch {
      await this.delete(id, true);
    }
  }

  /** Removes runc's state (and cgroup) of a stopped container; a no-op when there is none. */
  async delete(id: string, force = false): Promise<void> {
    await run(this.runc, [`--root=${this.runcRoot}`, 'delete', ...(force ? ['--force'] : []), id], { allowFailure: true });
  }

  /** True when runc has state for the container (cheaper than asking runc). */
  async known(id: string): Promise<boolean> {
    return fsp.access(path.join(this.runcRoot, id)).then(
      () => true,
      () => false,
    );
  }

  /** runc's view of a container, or undefined when runc does not know it. */
  async state(id: string): Promise<{ status: string; pid: number } | undefined> {
    const r = await run(this.runc, [`--root=${this.runcRoot}`, 'state', id], { allowFailure: true });
    if (r.code !== 0) return undefined;
    const s = JSON.parse(r.stdout) as { status: string; pid: number };
    return { status: s.status, pid: s.pid };
  }

  /** The exit code conmon recorded, or undefined while the container runs. */
  async exitCode(id: string, exitDir = this.exitDir): Promise<number | undefined> {
    try {
      const s = (await fsp.readFile(path.join(exitDir, id), 'utf8')).trim();
      if (s === '') return undefined;
      return Number.parseInt(s, 10);
    } catch {
      return undefined;
    }
  }

  async exitFileTime(id: string): Promise<number | undefined> {
    return fsp.stat(path.join(this.exitDir, id)).then((s) => s.mtimeMs, () => undefined);
  }

  async exitFileExists(id: string): Promise<boolean> {
    return fsp.access(path.join(this.exitDir, id)).then(
      () => true,
      () => false,
    );
  }

  async clearExit(id: string, o: { exitDir?: string; socketName?: string } = {}): Promise<void> {
    await fsp.rm(path.join(o.exitDir ?? this.exitDir, id), { force: true });
    await fsp.rm(path.join(this.socketDir, o.socketName ?? this.socketName(id)), { recursive: true, force: true });
  }

  /** Whether the kernel's OOM killer hit the container during this run (conmon writes `oom` into its persist dir). */
  async oomKilled(bundle: string): Promise<boolean> {
    return fsp.access(path.join(bundle, 'oom')).then(
      () => true,
      () => false,
    );
  }

  /** True while the container's conmon is alive. */
  async conmonAlive(bundle: string): Promise<boolean> {
    try {
      const pid = Number.parseInt(await fsp.readFile(path.join(bundle, 'conmon.pid'), 'utf8'), 10);
      if (!pid) return false;
      process.kill(pid, 0);
      const cmdline = await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8');
      return cmdline.includes('conmon');
    } catch {
      return false;
    }
  }

  /**
   * Connects to conmon's attach socket. Frames from conmon carry a leading
   * byte (2 = stdout, 3 = stderr); bytes written go to the container's stdin.
   */
  connectAttach(id: string): Promise<SeqpacketSocket> {
    return this.connectAttachPath(this.attachSocketPath(id));
  }

  /** Connects to an attach socket by path (an exec session's). */
  connectAttachPath(socketPath: string): Promise<SeqpacketSocket> {
    return new Promise((resolve, reject) => {
      const sock = new SeqpacketSocket();
      sock.setInternalReadBufferSize(64 * 1024);
      sock.once('error', reject);
      try {
        sock.connect(socketPath, () => {
          sock.off('error', reject);
          resolve(sock);
        });
      } catch (err) {
        reject(err);
      }
    });
  }

  /** Resizes the container's terminal through conmon's control FIFO. */
  async resize(bundle: string, height: number, width: number): Promise<void> {
    const fh = await fsp.open(path.join(bundle, 'ctl'), fsConstantsWriteNonBlock());
    try {
      await fh.write(`1 ${height} ${width}\n`);
    } finally {
      await fh.close();
    }
  }

  /** conmon's REOPEN_LOGS_EVENT (2) on the control FIFO: it opens the log path anew. */
  async reopenLog(bundle: string): Promise<void> {
    const fh = await fsp.open(path.join(bundle, 'ctl'), fsConstantsWriteNonBlock());
    try {
      await fh.write('2 0 0\n');
    } finally {
      await fh.close();
    }
  }

  /**
   * Starts conmon in exec mode (podman's protocol, libpod/oci_conmon_exec_common.go):
   * three socketpairs, fd 3 sync (conmon → us: PID, then exit status), fd 4
   * start (us → conmon: once to let it fork, once to run `runc exec`), fd 5
   * attach (conmon → us: attach socket ready). Resolves when the attach
   * socket listens; nothing runs before start(), so no output is missed.
   */
  async exec(o: ExecSpawnOptions): Promise<ExecProcess> {
    const exitDir = path.join(o.dir, 'exit');
    await fsp.mkdir(exitDir, { recursive: true, mode: 0o700 });
    // Not hex, so never the name of a container's socket directory.
    const socketName = `x${o.sessionId.slice(0, 15)}`;
    const args = [
      '--api-version', '1',
      '-c', o.containerId,
      '-u', socketName,
      '-r', this.runc,
      '-b', o.dir,
      '-p', path.join(o.dir, 'pidfile'),
      '-n', o.containerId,
      '--exit-dir', exitDir,
      '--socket-dir-path', this.socketDir,
      // Docker keeps exec output out of the container's log.
      '-l', 'none',
      '--log-level', 'error',
      '--conmon-pidfile', path.join(o.dir, 'conmon.pid'),
      '--runtime-arg', `--root=${this.runcRoot}`,
      '-e', '--exec-attach', '--exec-process-spec', o.processSpec,
    ];
    if (o.tty) args.push('-t');
    if (o.stdin) args.push('-i');
    if (o.stdin && o.leaveStdinOpen) args.push('--leave-stdin-open');
    const child = spawn(this.conmon, args, {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      env: { _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4', _OCI_ATTACHPIPE: '5', PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      detached: true,
      // conmon writes files (e.g. "oom") into its working directory: keep them in the session's dir.
      cwd: o.dir,
    });
    // Node's stdio typing stops at fd 4; the array holds every fd asked for.
    const fds = child.stdio as unknown as (NodeJS.ReadableStream | null)[];
    const sync = new LineReader(fds[3]!);
    const startPipe = fds[4] as unknown as NodeJS.WritableStream & { destroy(): void };
    const attachPipe = new LineReader(fds[5]!);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // A conmon that died makes writes fail (EPIPE): the sync pipe tells what happened, not these.
    child.stderr!.on('error', () => undefined);
    (startPipe as unknown as NodeJS.EventEmitter).on('error', () => undefined);
    child.on('error', () => undefined);
    child.unref();
    const cleanupPipes = () => {
      startPipe.destroy();
      attachPipe.destroy();
      child.stderr!.destroy();
    };
    const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
    // First start message: conmon blocks on it before forking (podman moves it to a cgroup here).
    startPipe.write(Buffer.from([0]));
    const ready = await Promise.race([attachPipe.next(), spawnError]).catch((err: Error) => {
      cleanupPipes();
      sync.destroy();
      throw new RuntimeError(`conmon failed: ${err.message}`);
    });
    if (ready === undefined || parseSyncMessage(ready).data < 0) {
      cleanupPipes();
      sync.destroy();
      throw new RuntimeError(`conmon failed: ${stderr.trim() || ready?.trim() || 'no attach message'}`);
    }
    attachPipe.destroy();
    child.stderr!.destroy();

    let resolveExit!: (code: number) => void;
    const exited = new Promise<number>((r) => (resolveExit = r));
    const readExitFile = async (): Promise<number> => {
      const s = (await fsp.readFile(path.join(exitDir, o.containerId), 'utf8').catch(() => '')).trim();
      // 255: conmon died without recording the status (killed): unknown, as a shell would report it.
      return s === '' ? 255 : Number.parseInt(s, 10);
    };
    let started = false;
    return {
      attachPath: path.join(this.socketDir, socketName, 'attach'),
      start: async () => {
        if (started) throw new Error('exec process already started');
        started = true;
        // Second start message: the forked child now runs `runc exec`.
        startPipe.end(Buffer.from([0]));
        const first = await sync.next();
        startPipe.destroy();
        if (first === undefined) {
          sync.destroy();
          throw new RuntimeError('OCI runtime exec failed: conmon exited without reporting the process: unknown');
        }
        const msg = parseSyncMessage(first);
        if (msg.data <= 0) {
          sync.destroy();
          throw new RuntimeError(`OCI runtime exec failed: ${cleanRuncMessage(msg.message ?? '')}: unknown`);
        }
        // The second message is the exit status; the exit file is the fallback when the pipe breaks.
        void sync.next().then(async (line) => {
          sync.destroy();
          resolveExit(line !== undefined ? parseSyncMessage(line).data : await readExitFile());
        });
        return msg.data;
      },
      exited,
      abort: () => {
        // Kill before closing the start pipe: at EOF on it, conmon's child would run `runc exec`.
        // (Its child dies with it: conmon gives it PDEATHSIG SIGKILL.)
        void (async () => {
          const pidfile = path.join(o.dir, 'conmon.pid');
          // conmon's first process writes the pidfile as it forks; it may still be on its way.
          for (let i = 0; !started && i < 20; i++) {
            const pid = Number.parseInt(await fsp.readFile(pidfile, 'utf8').catch(() => ''), 10);
            if (pid > 0) {
              const cmdline = await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
              if (cmdline.includes('conmon') && cmdline.includes(o.dir)) process.kill(pid, 'SIGKILL');
              break;
            }
            await new Promise((r) => setTimeout(r, 50));
          }
          cleanupPipes();
          sync.destroy();
        })().catch(() => undefined);
      },
    };
  }

  private async runcCmd(args: string[], what: string): Promise<void> {
    try {
      await run(this.runc, [`--root=${this.runcRoot}`, ...args]);
    } catch (err) {
      if (err instanceof CommandError) throw new RuntimeError(`${what}: ${cleanRuncMessage(err.result.stderr)}: unknown`);
      throw err;
    }
  }
}

/** Reads newline-terminated messages from one of conmon's pipes. */
class LineReader {
  private buf = '';
  private ended = false;
  private waiter?: () => void;

  constructor(private readonly stream: NodeJS.ReadableStream) {
    stream.on('data', (d: Buffer) => {
      this.buf += d.toString();
      this.waiter?.();
    });
    const end = () => {
      this.ended = true;
      this.waiter?.();
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
  }

  /** The next line, or undefined once the pipe has closed. */
  async next(): Promise<string | undefined> {
    for (;;) {
      const i = this.buf.indexOf('\n');
      if (i >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        return line;
      }
      if (this.ended) return undefined;
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }

  destroy(): void {
    (this.stream as unknown as { destroy(): void }).destroy();
  }
}

/**
 * `{"data": N, "message": "…"}` from conmon. Older conmons do not escape
 * every control character in the message, so a parse failure falls back to
 * picking the fields out.
 */
export function parseSyncMessage(line: string): { data: number; message?: string } {
  try {
    const m = JSON.parse(line) as { data?: unknown; message?: unknown };
    if (typeof m.data === 'number') return { data: m.data, ...(typeof m.message === 'string' ? { message: m.message } : {}) };
  } catch {
    // fall through
  }
  const data = /"data"\s*:\s*(-?\d+)/.exec(line);
  const message = /"message"\s*:\s*"([\s\S]*)"\s*}\s*$/.exec(line);
  return {
    data: data ? Number(data[1]) : -1,
    ...(message ? { message: message[1]!.replace(/\\(["\\/])/g, '$1').replace(/\\n/g, '\n') } : {}),
  };
}

interface RuncState {
  init_process_pid?: number;
  init_process_start?: number;
  cgroup_paths?: Record<string, string>;
  config?: { hooks?: unknown };
}

/** Is the container's init process still there (same PID and start time, as runc checks)? */
function initAlive(state: RuncState): boolean {
  const pid = state.init_process_pid ?? 0;
  if (pid <= 0) return false;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // Fields after "(comm) ": state is field 3, starttime field 22.
  const startTime = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  return startTime === state.init_process_start;
}

/**
 * `docker update`'s limits as the resources JSON of `runc update -r`: only
 * what the request sets, as dockerd's toContainerdResources (NanoCpus as a
 * 100 ms period with the matching quota; a swap limit only when positive).
 */
export function runcUpdateResources(r: ResourceUpdate): RuncResources {
  const out: RuncResources = {};
  const memory: NonNullable<RuncResources['memory']> = {};
  if (r.memory) memory.limit = r.memory;
  if (r.memoryReservation) memory.reservation = r.memoryReservation;
  if (r.memorySwap && r.memorySwap > 0) memory.swap = r.memorySwap;
  if (Object.keys(memory).length) out.memory = memory;
  const cpu: NonNullable<RuncResources['cpu']> = {};
  if (r.cpuShares) cpu.shares = r.cpuShares;
  let period = 0;
  let quota = 0;
  if (r.nanoCpus) {
    period = 100000;
    quota = Math.trunc((r.nanoCpus * period) / 1e9);
  }
  if (!quota && r.cpuQuota) quota = r.cpuQuota;
  if (!period && r.cpuPeriod) period = r.cpuPeriod;
  if (period) cpu.period = period;
  if (quota) cpu.quota = quota;
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (r.blkioWeight) out.blockIO = { weight: r.blkioWeight };
  // The API lets 0 and negatives mean "unlimited"; runc wants -1 for that.
  if (r.pidsLimit !== undefined) out.pids = { limit: r.pidsLimit > 0 ? r.pidsLimit : -1 };
  return out;
}

/** What `runc update -r` reads (runc 1.1: memory, cpu, blockIO, pids of the OCI LinuxResources). */
export interface RuncResources {
  memory?: { limit?: number; reservation?: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  blockIO?: { weight?: number };
  pids?: { limit: number };
}

function fsConstantsWriteNonBlock(): number {
  // O_WRONLY | O_NONBLOCK: never block the daemon on a FIFO whose reader is gone.
  return 0o1 | 0o4000;
}

/** `time="…" level=error msg="runc create failed: …"` → `runc create failed: …`. */
export function cleanRuncMessage(raw: string): string {
  const lines = raw.trim().split('\n').filter(Boolean);
  const msgs = lines.map((l) => {
    const m = /msg="((?:[^"\\]|\\.)*)"/.exec(l);
    return m ? m[1]!.replace(/\\(.)/g, '$1') : l;
  });
  return msgs.join('; ') || 'unknown error';
}
