/**
 * Restart policies, as dockerd's restartmanager applies them: whether an exit
 * restarts the container, and the back-off before it does (100 ms, doubling
 * to a minute; back to 100 ms once a run lasted 10 s).
 */
import { invalid } from '../errors.js';

export interface RestartPolicy {
  Name: string;
  MaximumRetryCount: number;
}

const INITIAL_MS = 100;
const MAX_MS = 60_000;
const RESET_AFTER_MS = 10_000;

export function validatePolicy(p: RestartPolicy | undefined): void {
  if (!p || !p.Name) return;
  if (!['no', 'always', 'unless-stopped', 'on-failure'].includes(p.Name)) throw invalid(`invalid restart policy: unknown policy '${p.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  if (p.MaximumRetryCount < 0) throw invalid('invalid restart policy: maximum retry count cannot be negative');
  if (p.MaximumRetryCount > 0 && p.Name !== 'on-failure') throw invalid(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
}

/** Should an exit with `code` restart the container? `restarts` counts restarts since the last manual start. */
export function shouldRestart(p: RestartPolicy | undefined, code: number, manuallyStopped: boolean, restarts: number): boolean {
  if (!p || manuallyStopped) return false;
  switch (p.Name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return code !== 0 && (p.MaximumRetryCount === 0 || restarts < p.MaximumRetryCount);
    default:
      return false;
  }
}

/** Should the daemon start this stopped container when it starts? (always, and unless-stopped unless stopped by hand) */
export function startOnDaemonStart(p: RestartPolicy | undefined, manuallyStopped: boolean): boolean {
  if (!p) return false;
  return p.Name === 'always' || (p.Name === 'unless-stopped' && !manuallyStopped);
}

/** The next back-off delay given the previous one and how long the last run lasted. */
export function nextDelay(previousMs: number, ranForMs: number): number {
  if (ranForMs >= RESET_AFTER_MS || previousMs === 0) return INITIAL_MS;
  return Math.min(previousMs * 2, MAX_MS);
}
