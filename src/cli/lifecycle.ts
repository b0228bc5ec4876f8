/**
 * Waiting for a container the way `run` and `start -a` do (docker's
 * waitExitOrRemoved): the wait is registered before the start, and a failed
 * wait counts as status 125.
 */
import { waitContainer } from '../client/containers.js';
import type { Cli } from './cli.js';
import { describeError } from './errors.js';

export interface ExitWatch {
  /** The container's exit status (125 when the wait itself failed). */
  status: Promise<number>;
  /** Drops the wait request. */
  cancel(): void;
}

/** Waits for the next exit, or for the removal of an --rm container. */
export async function waitExitOrRemoved(cli: Cli, id: string, autoRemove: boolean): Promise<ExitWatch> {
  const pending = await waitContainer(cli.client, id, autoRemove ? 'removed' : 'next-exit');
  let cancelled = false;
  const status = pending.result.then(
    (r) => {
      if (r.Error?.Message) {
        cli.err.write(`error waiting for container: ${r.Error.Message}\n`);
        return 125;
      }
      return r.StatusCode;
    },
    (err: unknown) => {
      if (cancelled) return 125;
      cli.err.write(`error waiting for container: ${describeError(err)}\n`);
      return 125;
    },
  );
  return {
    status,
    cancel: () => {
      cancelled = true;
      pending.cancel();
    },
  };
}
