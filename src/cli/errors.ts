/**
 * How berth commands fail: StatusError carries docker's exit status (125 for
 * run/create failures, 127/126 for a missing or forbidden executable, the
 * container's own code for run/start -a) and the text to print, and
 * describeError renders any error the way the docker CLI prints it.
 */
import { ApiError } from '../client/errors.js';

/** Ends the command with `status`, printing `message` (if any) to stderr as is. */
export class StatusError extends Error {
  constructor(
    readonly status: number,
    message = '',
  ) {
    super(message);
    this.name = 'StatusError';
  }
}

/** The text docker prints for an error: daemon errors get "Error response from daemon: ". */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.display();
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Several per-item failures, printed one per line (Go's errors.Join). */
export function joinErrors(errors: unknown[]): StatusError | undefined {
  return errors.length ? new StatusError(1, errors.map(describeError).join('\n')) : undefined;
}

/**
 * runStartContainerErr: 127 when the executable is missing, 126 when it
 * cannot be run, 125 for any other daemon or client failure.
 */
export function runFailureStatus(err: unknown): number {
  const msg = err instanceof Error ? err.message : String(err);
  if (msg.includes('executable file not found') || msg.includes('no such file or directory') || msg.includes('system cannot find the file specified')) return 127;
  if (msg.includes('permission denied') || msg.includes('is a directory')) return 126;
  return 125;
}
