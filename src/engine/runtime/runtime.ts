/**
 * @module engine/runtime/runtime
 * The OCI runtime as the engine sees it (podman's `OCIRuntime`,
 * libpod/oci.go, is the model): a thin layer over the runtime binary and its
 * monitor, with no state management of its own. Whether an operation makes
 * sense (unpausing a container that is not paused, say) is decided by the
 * caller — the container service's state table (../container/state.ts) —
 * never here. One implementation today: runc supervised by conmon
 * (./conmon.ts, `ConmonRuntime`).
 *
 * Vocabulary:
 * - a *bundle* is a directory holding `config.json` (the OCI spec); the
 *   monitor also keeps its pidfiles, control FIFO and OOM marker there;
 * - a *process* is one run of a bundle: create() starts the monitor, which
 *   has the runtime create the process (it exists, stopped before its
 *   program's first instruction); start() lets it run; when it ends the
 *   monitor records its exit status (an *exit file*) and closes its stdio;
 *   delete() removes what the runtime keeps of it (state, cgroups);
 * - an *exec* is a further process in a running container's namespaces,
 *   with a monitor of its own;
 * - the *attach socket* (SOCK_SEQPACKET) carries a process's stdio: packets
 *   from the monitor start with the stream byte (2 = stdout, 3 = stderr),
 *   packets to it are stdin.
 *
 * Lifecycle of one run:
 *
 *   create ──> start ──> [exit file] ──> deleteStopped / delete
 *      │          └─ kill / pause ⇄ resume / update / exec / resize
 *      └─ (failure) delete --force
 *
 * Above this interface: containers (../container/), exec sessions
 * (../exec/) and tasks (./task.ts — a process on a root filesystem with no
 * container record, what a build step runs).
 */
import type { SeqpacketSocket } from 'node-unix-socket';
import { EngineError } from '../errors.js';

export interface CreateOptions {
  id: string;
  bundle: string;
  /** conmon's k8s-file log; undefined: no log (a task's output goes to its attach socket only). */
  logPath?: string;
  /** conmon cuts the log (replaces it with an empty file) before it would pass this many bytes (../logs/rotate.ts keeps the old one). */
  logSizeMax?: number;
  tty: boolean;
  stdin: boolean;
  /** Keep the process's stdin open after an attached client detaches. */
  leaveStdinOpen?: boolean;
  /** Where the exit file goes; default the shared exit directory that watchExits() watches. */
  exitDir?: string;
  /**
   * The attach socket's directory name under the socket directory (socket
   * paths are limited to 108 bytes); default derived from `id`. See
   * attachSocketPath().
   */
  socketName?: string;
  /**
   * Keep the monitor as the daemon's child (conmon `--sync`) and call this
   * once it has exited — after it wrote the exit file and closed the attach
   * socket, with the exit status it reported (undefined when it died without
   * one). For runs that do not outlive the daemon (tasks): they are waited
   * for without watching the exit directory.
   */
  onMonitorExit?: (exitCode: number | undefined) => void;
}

export interface ExecSpawnOptions {
  containerId: string;
  sessionId: string;
  /**
   * The session's own directory, conmon's "bundle": process spec, pidfile,
   * ctl FIFO, attach socket and exit dir live here. Exits must not land in
   * the shared exit dir, where they would read as the container's exit.
   */
  dir: string;
  /** The OCI process JSON for `runc exec --process`. */
  processSpec: string;
  tty: boolean;
  stdin: boolean;
  /** Keep the process's stdin open when the attached client goes. */
  leaveStdinOpen?: boolean;
}

/** A monitor in exec mode, waiting for start() to run the process. */
export interface ExecProcess {
  /** The session's attach socket; it accepts connections once exec() resolved. */
  readonly attachPath: string;
  /** Lets the monitor run the process; resolves with the PID, rejects with the runtime's error. */
  start(): Promise<number>;
  /** After start() resolved: the exit status, once the monitor has drained the output. */
  readonly exited: Promise<number>;
  /** Gives up before start(): kills the waiting monitor. */
  abort(): void;
}

/**
 * New cgroup limits for a running process (`docker update`). Only the fields
 * set change; the runtime translates them into its own terms.
 */
export interface ResourceUpdate {
  memory?: number;
  memorySwap?: number;
  memoryReservation?: number;
  cpuShares?: number;
  /** CPUs in billionths (`--cpus 1.5` = 1.5e9): a 100 ms period with the matching quota. */
  nanoCpus?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
  /** Block I/O weight (10–1000). */
  blkioWeight?: number;
}

/** conmon receives attach packets into a 32 KiB buffer less one byte: longer packets are truncated. */
export const ATTACH_MAX_PACKET = 32 * 1024 - 1;

/** A failure reported by the runtime, with its message cleaned of logrus decoration. */
export class RuntimeError extends EngineError {
  constructor(message: string) {
    super('system', message);
    this.name = 'RuntimeError';
  }
}

export interface OCIRuntime {
  /** Directory of exec sessions' own directories (wiped by init()). */
  readonly execDir: string;

  /** Makes the runtime's directories; forgets exec sessions of an earlier daemon. */
  init(): Promise<void>;
  /** Stops watching exits; running processes are left to their monitors. */
  close(): void;

  // ---- one run of a bundle ----
  /** Starts the monitor, which has the runtime create the process; resolves with its PID. */
  create(o: CreateOptions): Promise<number>;
  /** Lets a created process run its program. */
  start(id: string): Promise<void>;
  /** Sends a signal (a number or name runc accepts) to the init process, or with `all` to every process. */
  kill(id: string, signal: string, all?: boolean): Promise<void>;
  /** Freezes every process (cgroup freezer). */
  pause(id: string): Promise<void>;
  /** Thaws what pause() froze. */
  resume(id: string): Promise<void>;
  /** Changes a running process's cgroup limits. */
  update(id: string, r: ResourceUpdate): Promise<void>;
  /** Removes the runtime's state of a process, killing it with `force`; a no-op when there is none. */
  delete(id: string, force?: boolean): Promise<void>;
  /** delete() for a process known to have exited, cheaper (on the path of every `run --rm`). */
  deleteStopped(id: string): Promise<void>;
  /** True when the runtime has state for `id` (cheaper than asking it). */
  known(id: string): Promise<boolean>;
  /** The runtime's view of a process, or undefined when it does not know it. */
  state(id: string): Promise<{ status: string; pid: number } | undefined>;

  // ---- exit handling (processes outlive the daemon: exits are files) ----
  /** Calls `onExit(id)` whenever a container's exit file appears in the shared exit directory. */
  watchExits(onExit: (id: string) => void): void;
  /** Whether a container's exit file exists (written or being written). */
  exitFileExists(id: string): Promise<boolean>;
  /** When the exit file was written (ms since the epoch), or undefined: how late an exit was noticed (tracing). */
  exitFileTime(id: string): Promise<number | undefined>;
  /** The exit code recorded for a run (in `exitDir`, default the shared one), or undefined while it runs. */
  exitCode(id: string, exitDir?: string): Promise<number | undefined>;
  /** Forgets a run's exit file and attach socket directory (before a container's next run, after a task). */
  clearExit(id: string, o?: { exitDir?: string; socketName?: string }): Promise<void>;
  /** Whether the kernel's OOM killer hit the process during this run. */
  oomKilled(bundle: string): Promise<boolean>;
  /** True while the bundle's monitor is alive. */
  conmonAlive(bundle: string): Promise<boolean>;

  // ---- stdio ----
  /** The attach socket of a process created with `socketName` (default: derived from its id). */
  attachSocketPath(id: string, socketName?: string): string;
  /** Connects to a container's attach socket. */
  connectAttach(id: string): Promise<SeqpacketSocket>;
  /** Connects to an attach socket by path (an exec session's, a task's). */
  connectAttachPath(socketPath: string): Promise<SeqpacketSocket>;
  /** Resizes a process's terminal through its monitor (the bundle's control FIFO). */
  resize(bundle: string, height: number, width: number): Promise<void>;
  /** Has the monitor reopen its log file (after berth renamed it away in a rotation). */
  reopenLog(bundle: string): Promise<void>;

  // ---- exec ----
  /** Starts a monitor in exec mode; nothing runs before the returned process's start(). */
  exec(o: ExecSpawnOptions): Promise<ExecProcess>;
}
