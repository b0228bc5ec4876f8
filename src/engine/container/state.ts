/**
 * The Status text the engine reports for a container in the list API
 * (moby container/state.go State.String).
 */
import { humanDuration } from '../../common/units.js';

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

