/**
 * @module engine/container/state
 * A container's state: the transitions it may make, in one table, the one
 * function that performs them, and the Status text of the list API (moby
 * container/state.go State.String).
 *
 *   created ──start──> running ──exit──> exited ──start──> running …
 *                       │   ^               │
 *                 pause │   │ unpause       │ restart-pending (the policy says so)
 *                       v   │               v
 *                      paused ──exit──> exited      restarting ──start──> running
 *                                                      └─restart-abandoned─> exited
 *
 *   start-failed:  created | exited | restarting, the status unchanged
 *   remove:        created | exited | restarting | dead (| removing, again) ──> removing
 *   removal-failed: removing ──> dead
 *   (removal that succeeds deletes the record: there is no "removed" state)
 *
 * Which Docker operation performs each transition, and under which lock, is
 * written on the method that calls transition() (./lifecycle.ts); the table
 * below is where the allowed sources are enforced. Docker's own checks with
 * their messages ("container already started", "cannot start a paused
 * container, try unpause instead", …) come first, in the service: a
 * transition() that throws is a bug in berth, not a user's error.
 */
import { humanDuration } from '../../common/units.js';
import { EngineError } from '../errors.js';
import { ZERO_TIME, type ContainerState, type ContainerStatus } from './types.js';

export type { ContainerStatus } from './types.js';

/**
 * Every state change: where it may start, where it ends (null: the status
 * stays, only the record of the attempt changes).
 */
export const TRANSITIONS = {
  /** The process runs (runc start returned). */
  start: { from: ['created', 'exited', 'restarting'], to: 'running' },
  /** The process could not be started: the exit code and error say why; the status stays. */
  'start-failed': { from: ['created', 'exited', 'restarting'], to: null },
  /** Every process frozen (cgroup freezer). */
  pause: { from: ['running'], to: 'paused' },
  /** Thawed. */
  unpause: { from: ['paused'], to: 'running' },
  /** The process ended (its exit code recorded by conmon, or its monitor found gone). */
  exit: { from: ['running', 'paused'], to: 'exited' },
  /** The restart policy will start it again after a back-off. */
  'restart-pending': { from: ['exited'], to: 'restarting' },
  /** A pending policy restart given up: stopped meanwhile, or the restart failed. */
  'restart-abandoned': { from: ['restarting'], to: 'exited' },
  /** Removal begins: the runtime state, rootfs and record go next (again, after a removal that was interrupted). */
  remove: { from: ['created', 'exited', 'restarting', 'dead', 'removing'], to: 'removing' },
  /** Removal failed half way: the container is of no further use. */
  'removal-failed': { from: ['removing'], to: 'dead' },
} as const satisfies Record<string, { from: readonly ContainerStatus[]; to: ContainerStatus | null }>;

export type Transition = keyof typeof TRANSITIONS;

/** What a transition records besides the status. */
export interface TransitionDetail {
  /** start: the process's PID. */
  pid?: number;
  /** exit, start-failed: the exit code. */
  exitCode?: number;
  /** exit, start-failed, restart-abandoned: the error text ('' clears it). */
  error?: string;
  /** exit: the kernel's OOM killer ended it. */
  oomKilled?: boolean;
  /** The time recorded as StartedAt (start) or FinishedAt (exit); default now. */
  at?: Date;
}

/** The state of a container just created. */
export function initialState(): ContainerState {
  return {
    Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
    Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME,
  };
}

/** Whether `t` may start from `status`. */
export function canTransition(status: ContainerStatus, t: Transition): boolean {
  return (TRANSITIONS[t].from as readonly ContainerStatus[]).includes(status);
}

/**
 * Performs transition `t` on `s` and returns the new state, every field set
 * consistently with the status (moby keeps Running set while paused; Pid
 * only while running). Throws when the table does not allow `t` from the
 * current status.
 */
export function transition(s: ContainerState, t: Transition, d: TransitionDetail = {}): ContainerState {
  if (!canTransition(s.Status, t)) {
    throw new EngineError('conflict', `container state: cannot ${t} a container that is ${s.Status}`);
  }
  const at = (d.at ?? new Date()).toISOString();
  switch (t) {
    case 'start':
      return {
        ...s,
        Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
        Pid: d.pid ?? 0, ExitCode: 0, Error: '', StartedAt: at,
      };
    case 'start-failed':
      return { ...s, ExitCode: d.exitCode ?? 128, Error: d.error ?? '' };
    case 'pause':
      return { ...s, Status: 'paused', Paused: true };
    case 'unpause':
      return { ...s, Status: 'running', Paused: false };
    case 'exit':
      return {
        ...s,
        Status: 'exited', Running: false, Paused: false, Restarting: false, Pid: 0,
        ExitCode: d.exitCode ?? 0, Error: d.error ?? '', FinishedAt: at, OOMKilled: d.oomKilled ?? false,
      };
    case 'restart-pending':
      return { ...s, Status: 'restarting', Restarting: true };
    case 'restart-abandoned':
      return { ...s, Status: 'exited', Restarting: false, ...(d.error !== undefined ? { Error: d.error } : {}) };
    case 'remove':
      return { ...s, Status: 'removing' };
    case 'removal-failed':
      return { ...s, Status: 'dead', Dead: true, Running: false, Paused: false, Restarting: false, Pid: 0 };
  }
}

export interface ContainerStateLike {
  /** Inspect-style state: created, running, paused, restarting, removing, exited, dead. */
  Status: string;
  ExitCode: number;
  /** RFC 3339 timestamps; "" or Go's zero time "0001-01-01T00:00:00Z" mean unset. */
  StartedAt: string;
  FinishedAt: string;
  /** Health status (starting, healthy, unhealthy); undefined when there is no healthcheck. */
  Health?: string;
  Restarting?: boolean;
  Paused?: boolean;
}

// time.Time{} as a Unix time: Go's IsZero() is true only for this instant.
const GO_ZERO_TIME_MS = -62135596800000;

function parseTime(s: string): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  if (Number.isNaN(t) || t === GO_ZERO_TIME_MS) return undefined;
  return t;
}

/**
 * What the engine reports as a container's Status in the list API:
 * "Up 3 seconds", "Up 2 minutes (Paused)", "Up 1 hour (healthy)",
 * "Restarting (1) 5 seconds ago", "Exited (0) 2 minutes ago", "Created",
 * "Removal In Progress", "Dead".
 */
export function statusString(state: ContainerStateLike, now: Date = new Date()): string {
  const status = state.Status;
  const paused = state.Paused === true || status === 'paused';
  const restarting = state.Restarting === true || status === 'restarting';
  // moby keeps Running set while paused or restarting
  const running = status === 'running' || paused || restarting;
  const started = parseTime(state.StartedAt);
  const finished = parseTime(state.FinishedAt);
  // time.Now().UTC().Sub(t) with a zero t is a huge duration; mirror that
  const since = (t: number | undefined): string => humanDuration(now.getTime() - (t ?? GO_ZERO_TIME_MS));

  if (running) {
    if (paused) return `Up ${since(started)} (Paused)`;
    if (restarting) return `Restarting (${state.ExitCode}) ${since(finished)} ago`;
    if (state.Health !== undefined) return `Up ${since(started)} (${healthString(state.Health)})`;
    return `Up ${since(started)}`;
  }
  if (status === 'removing') return 'Removal In Progress';
  if (status === 'dead') return 'Dead';
  if (started === undefined) return 'Created';
  if (finished === undefined) return '';
  return `Exited (${state.ExitCode}) ${since(finished)} ago`;
}

/** moby container.Health.String(): "health: starting", otherwise the raw status. */
function healthString(status: string): string {
  // Status() reports "" as unhealthy, but String() then prints the raw ""
  return status === 'starting' ? 'health: starting' : status;
}

