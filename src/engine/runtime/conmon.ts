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
 */
import { spawn } from 'node:child_process';
import { promises as fsp, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { SeqpacketSocket } from 'node-unix-socket';
import { run, CommandError } from '../../util/exec.js';
import { EngineError } from '../errors.js';

export interface RuntimePaths {
  /** berthd's exec root (tmpfs in production: /run/berth). */
  execRoot: string;
  runc?: string;
  conmon?: string;
}

export interface CreateOptions {
  id: string;
  bundle: string;
  logPath: string;
  tty: boolean;
  stdin: boolean;
  /** Keep the container's stdin open after an attached client detaches. */
  leaveStdinOpen?: boolean;
}

/** A failure reported by runc, with its message cleaned of logrus decoration. */
export class RuntimeError extends EngineError {
  constructor(message: string) {
    super('system', message);
    this.name = 'RuntimeError';
  }
}

export class ConmonRuntime {
  readonly runc: string;
  readonly conmon: string;
  readonly runcRoot: string;
  readonly exitDir: string;
  readonly socketDir: string;
  private watcher?: FSWatcher;

  constructor(readonly paths: RuntimePaths) {
    this.runc = paths.runc ?? '/usr/sbin/runc';
    this.conmon = paths.conmon ?? '/usr/bin/conmon';
    this.runcRoot = path.join(paths.execRoot, 'runc');
    this.exitDir = path.join(paths.execRoot, 'exits');
    this.socketDir = path.join(paths.execRoot, 's');
  }

  async init(): Promise<void> {
    for (const d of [this.runcRoot, this.exitDir, this.socketDir]) await fsp.mkdir(d, { recursive: true, mode: 0o700 });
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

  attachSocketPath(id: string): string {
    return path.join(this.socketDir, this.socketName(id), 'attach');
  }

  /** Runs conmon, which runs `runc create`; resolves with the container's PID. */
  async create(o: CreateOptions): Promise<number> {
    await fsp.rm(path.join(this.exitDir, o.id), { force: true });
    const args = [
      '--api-version', '1',
      '-c', o.id,
      '-u', this.socketName(o.id),
      '-r', this.runc,
      '-b', o.bundle,
      '-p', path.join(o.bundle, 'pidfile'),
      '-n', o.id,
      '--exit-dir', this.exitDir,
      '--socket-dir-path', this.socketDir,
      '-l', `k8s-file:${o.logPath}`,
      '--log-level', 'error',
      '--conmon-pidfile', path.join(o.bundle, 'conmon.pid'),
      '--runtime-arg', `--root=${this.runcRoot}`,
    ];
    if (o.tty) args.push('-t');
    if (o.stdin) args.push('-i');
    if (o.stdin && o.leaveStdinOpen) args.push('--leave-stdin-open');
    const child = spawn(this.conmon, args, {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      env: { _OCI_SYNCPIPE: '3', PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      detached: true,
    });
    const sync = child.stdio[3] as NodeJS.ReadableStream;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const msg = await new Promise<string>((resolve, reject) => {
      let buf = '';
      sync.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(buf);
      });
      sync.on('end', () => resolve(buf));
      sync.on('error', reject);
      child.on('error', reject);
    });
    (sync as unknown as { destroy(): void }).destroy();
    child.stderr!.destroy();
    child.unref();
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

  async pause(id: string): Promise<void> {
    await this.runcCmd(['pause', id], 'OCI runtime pause failed');
  }

  async resume(id: string): Promise<void> {
    await this.runcCmd(['resume', id], 'OCI runtime resume failed');
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
  async exitCode(id: string): Promise<number | undefined> {
    try {
      const s = (await fsp.readFile(path.join(this.exitDir, id), 'utf8')).trim();
      if (s === '') return undefined;
      return Number.parseInt(s, 10);
    } catch {
      return undefined;
    }
  }

  async clearExit(id: string): Promise<void> {
    await fsp.rm(path.join(this.exitDir, id), { force: true });
    await fsp.rm(path.join(this.socketDir, this.socketName(id)), { recursive: true, force: true });
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
    return new Promise((resolve, reject) => {
      const sock = new SeqpacketSocket();
      sock.setInternalReadBufferSize(64 * 1024);
      sock.once('error', reject);
      try {
        sock.connect(this.attachSocketPath(id), () => {
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

  private async runcCmd(args: string[], what: string): Promise<void> {
    try {
      await run(this.runc, [`--root=${this.runcRoot}`, ...args]);
    } catch (err) {
      if (err instanceof CommandError) throw new RuntimeError(`${what}: ${cleanRuncMessage(err.result.stderr)}: unknown`);
      throw err;
    }
  }
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
