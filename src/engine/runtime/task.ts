/**
 * @module engine/runtime/task
 * Tasks: one process run on a root filesystem with an OCI spec, waited for,
 * with no container record — what a Dockerfile `RUN` step needs (containerd
 * calls the same thing a task). The caller brings the root filesystem (as
 * mounts, the snapshotter's `prepare()` result, or a directory already
 * mounted) and the spec; the task runner brings the rest:
 *
 *   run():  bundle <taskRoot>/<id>/ (config.json, rootfs/ when mounting,
 *           exits/) → conmon (--sync, no log) + `runc create` → attach socket
 *           connected → `runc start`
 *   wait(): conmon, kept as the daemon's child, exits after the process
 *           exited, its exit status was written and its output drained → the
 *           exit code is read → runc state and cgroups deleted, rootfs
 *           unmounted, socket directory and bundle removed
 *
 * No timers and no polling: the run's end is conmon's own exit. Output goes
 * to the caller's sinks as it comes (stdout and stderr apart, or one stream
 * when the spec asks for a terminal); stdin, when given, is copied in and
 * closed at its end.
 *
 * Tasks do not survive the daemon: one that outlives it (berthd killed)
 * leaves a bundle the next runner's init() removes with its runc state.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { SeqpacketSocket } from 'node-unix-socket';
import { conflict, invalid } from '../errors.js';
import { mountAll, unmount } from '../snapshot/mount.js';
import type { Mount } from '../snapshot/snapshotter.js';
import { ATTACH_MAX_PACKET, type OCIRuntime } from './runtime.js';
import { specToJSON } from './spec/build.js';
import type { Spec } from './spec/types.js';

export interface TaskOptions {
  /**
   * Names the task's runtime state and bundle: [A-Za-z0-9_.-], unique among
   * running tasks, and never a container's ID (they share runc's root).
   */
  id: string;
  /** The root filesystem: mounts as data (mounted under the bundle for the run), or a mounted directory. */
  rootfs: Mount[] | string;
  /** The OCI spec; its root.path is replaced by the task's root filesystem. */
  spec: Spec;
  stdout?: Writable;
  /** Without a terminal, stderr comes apart from stdout (to stdout when this is unset). */
  stderr?: Writable;
  /** Copied to the process's stdin, which is closed at its end; without it stdin is /dev/null. */
  stdin?: Readable;
}

/** A running task. */
export interface Task {
  readonly id: string;
  /** The process's PID (in the host's PID namespace). */
  readonly pid: number;
  /** conmon's PID: it exits once the process has ended and its output is drained. */
  readonly monitorPid: number;
  /** Resolves once the process has exited, its output is written and nothing of the run is left. */
  wait(): Promise<{ exitCode: number }>;
  /** Signals every process of the task (default SIGKILL); a no-op once it has ended. */
  kill(signal?: string): Promise<void>;
}

const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class TaskRunner {
  /** `taskRoot`: the tasks' bundles, under the daemon's exec root (<exec-root>/tasks). */
  constructor(
    private readonly runtime: OCIRuntime,
    readonly taskRoot: string,
  ) {}

  /** Removes bundles (and runc state) of tasks a previous daemon left running when it died. */
  async init(): Promise<void> {
    await fsp.mkdir(this.taskRoot, { recursive: true, mode: 0o700 });
    for (const id of await fsp.readdir(this.taskRoot)) {
      await this.runtime.delete(id, true);
      await unmount(path.join(this.taskRoot, id, 'rootfs'));
      await this.runtime.clearExit(id, { exitDir: path.join(this.taskRoot, id, 'exits'), socketName: socketNameOf(id) });
      await fsp.rm(path.join(this.taskRoot, id), { recursive: true, force: true });
    }
  }

  /** Creates and starts the task; resolves once its process runs. */
  async run(o: TaskOptions): Promise<Task> {
    if (!TASK_ID.test(o.id)) throw invalid(`invalid task ID ${JSON.stringify(o.id)}`);
    const bundle = path.join(this.taskRoot, o.id);
    try {
      await fsp.mkdir(bundle, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw conflict(`task ${o.id} exists already`);
      throw err;
    }
    // Not "exit": conmon writes a file of that name into the bundle (its persist dir).
    const exitDir = path.join(bundle, 'exits');
    const socketName = socketNameOf(o.id);
    const tty = !!o.spec.process?.terminal;
    let mounted: string | undefined;
    let sock: SeqpacketSocket | undefined;
    let created = false;
    let monitorExited!: (code: number | undefined) => void;
    const monitorGone = new Promise<number | undefined>((r) => (monitorExited = r));

    /** Undoes the run: runc state and cgroups, the rootfs mount, the socket directory and the bundle. */
    const cleanup = async (): Promise<void> => {
      sock?.destroy();
      if (created) await this.runtime.deleteStopped(o.id);
      if (mounted) await unmount(mounted);
      await this.runtime.clearExit(o.id, { exitDir, socketName });
      await fsp.rm(bundle, { recursive: true, force: true });
    };

    let pid: number;
    try {
      await fsp.mkdir(exitDir, { mode: 0o700 });
      let rootfs: string;
      if (typeof o.rootfs === 'string') {
        rootfs = o.rootfs;
      } else {
        rootfs = path.join(bundle, 'rootfs');
        await fsp.mkdir(rootfs);
        if (o.rootfs.length === 0) throw invalid('a task needs a root filesystem: no mounts given');
        mounted = rootfs;
        await mountAll(o.rootfs, rootfs);
      }
      const spec: Spec = { ...o.spec, root: { ...o.spec.root, path: rootfs } };
      await fsp.writeFile(path.join(bundle, 'config.json'), specToJSON(spec));
      created = true;
      pid = await this.runtime.create({
        id: o.id,
        bundle,
        tty,
        stdin: !!o.stdin,
        exitDir,
        socketName,
        onMonitorExit: (code) => monitorExited(code),
      });
      // Connected before the process runs, so no output is missed.
      sock = await this.runtime.connectAttachPath(this.runtime.attachSocketPath(o.id, socketName));
    } catch (err) {
      if (created) await this.runtime.delete(o.id, true);
      await cleanup().catch(() => undefined);
      throw err;
    }
    const monitorPid = Number.parseInt(await fsp.readFile(path.join(bundle, 'conmon.pid'), 'utf8').catch(() => '0'), 10);
    const drained = pipeOutput(sock, o.stdout, tty ? o.stdout : (o.stderr ?? o.stdout));
    if (o.stdin) pipeInput(o.stdin, sock);
    try {
      await this.runtime.start(o.id);
    } catch (err) {
      await this.runtime.delete(o.id, true);
      await cleanup().catch(() => undefined);
      throw err;
    }

    let ended = false;
    const result = (async () => {
      const reported = await monitorGone;
      await drained;
      ended = true;
      // 255: conmon ended without reporting a status (it was killed): unknown, as a shell reports it.
      const exitCode = reported ?? (await this.runtime.exitCode(o.id, exitDir)) ?? 255;
      await cleanup();
      return { exitCode };
    })();
    // A caller that never waits must not crash the daemon with an unhandled rejection; wait() still sees it.
    result.catch(() => undefined);
    return {
      id: o.id,
      pid,
      monitorPid,
      wait: () => result,
      kill: async (signal = 'KILL') => {
        if (ended) return;
        await this.runtime.kill(o.id, signal, true).catch(async (err: unknown) => {
          // Gone meanwhile: the exit is on its way.
          if (ended || !(await this.runtime.state(o.id))) return;
          throw err;
        });
      },
    };
  }
}

/** conmon's socket directory name (socket paths are limited to 108 bytes); "t…" is never a container's. */
function socketNameOf(id: string): string {
  return `t${createHash('sha256').update(id).digest('hex').slice(0, 15)}`;
}

/** Resolves once conmon closes the socket (the process ended and its output is drained). */
function pipeOutput(sock: SeqpacketSocket, stdout: Writable | undefined, stderr: Writable | undefined): Promise<void> {
  return new Promise((resolve) => {
    sock.on('data', (buf: Buffer) => {
      if (buf.length < 1) return;
      const sink = buf[0] === 3 ? stderr : stdout;
      if (sink && !sink.destroyed && !sink.writableEnded) sink.write(buf.subarray(1));
    });
    sock.once('end', () => resolve());
    sock.once('close', () => resolve());
    sock.once('error', () => resolve());
  });
}

/** stdin in packets conmon can take whole; its end half-closes the socket, which closes the process's stdin. */
function pipeInput(stdin: Readable, sock: SeqpacketSocket): void {
  stdin.on('data', (d: Buffer | string) => {
    const b = typeof d === 'string' ? Buffer.from(d) : d;
    for (let off = 0; off < b.length; off += ATTACH_MAX_PACKET) sock.write(b.subarray(off, off + ATTACH_MAX_PACKET));
  });
  stdin.once('end', () => sock.end());
  stdin.once('error', () => sock.end());
}
