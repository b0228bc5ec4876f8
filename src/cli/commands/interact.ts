/**
 * `exec` and `attach` (also under `berth container`): running a command in
 * a running container, and joining a running container's own stdio. Both
 * follow docker v28's request sequence and end with the process's exit code.
 */
import { isatty } from 'node:tty';
import type { Command } from 'commander';
import { inspectContainer, waitContainer, resizeContainer, type PendingWait } from '../../client/containers.js';
import { createExec, inspectExec, resizeExec, startExecAttached, startExecDetached } from '../../client/exec.js';
import type { ContainerInspectResponse, ExecCreateBody } from '../../common/api/index.js';
import { DETACHED_MESSAGE, attach, forwardSignals, monitorContainerTtySize, monitorTtySize, streamHijacked } from '../attach.js';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { describeError, StatusError } from '../errors.js';
import { collect, parseEnv, parseEnvFile } from '../opts.js';

interface ExecFlags {
  detach?: boolean;
  detachKeys?: string;
  env?: (string | undefined)[];
  envFile?: string[];
  interactive?: boolean;
  privileged?: boolean;
  tty?: boolean;
  user?: string;
  workdir?: string;
}

/** streams.In.CheckTty: a TTY with stdin attached needs a terminal on our side. */
function checkTty(attachStdin: boolean, tty: boolean): void {
  if (tty && attachStdin && !isatty(0)) throw new StatusError(1, 'the input device is not a TTY');
}

/** Out().GetTtySize(): [height, width], zeros when stdout is not a terminal. */
function ttySize(cli: Cli): [number, number] {
  if (!cli.out.isTTY) return [0, 0];
  const [cols, rows] = cli.out.getWindowSize();
  return [rows, cols];
}

/** parseExec: everything attached unless -d; env files first, then -e. */
function execBody(o: ExecFlags, cmd: string[], cli: Cli): ExecCreateBody {
  const env = [...(o.envFile ?? []).flatMap(parseEnvFile), ...(o.env ?? []).filter((e): e is string => e !== undefined)];
  const tty = !!o.tty;
  return {
    User: o.user ?? '',
    Privileged: !!o.privileged,
    Tty: tty,
    ...(tty ? { ConsoleSize: ttySize(cli) } : {}),
    AttachStdin: !o.detach && !!o.interactive,
    AttachStderr: !o.detach,
    AttachStdout: !o.detach,
    Detach: false,
    DetachKeys: o.detachKeys ?? '',
    Env: env.length ? env : null,
    WorkingDir: o.workdir ?? '',
    Cmd: cmd,
  };
}

async function runExec(cli: Cli, container: string, cmd: string[], o: ExecFlags): Promise<void> {
  const body = execBody(o, cmd, cli);
  // docker inspects first so that "No such container" wins over any other error.
  await inspectContainer(cli.client, container);
  if (!o.detach) checkTty(body.AttachStdin, body.Tty);
  const id = await createExec(cli.client, container, body);
  const start = { tty: body.Tty, consoleSize: body.ConsoleSize };
  if (o.detach) {
    await startExecDetached(cli.client, id, start);
    return;
  }
  const { socket } = await startExecAttached(cli.client, id, start);
  const session = streamHijacked(cli, socket, {
    stdin: body.AttachStdin,
    stdout: true,
    stderr: true,
    tty: body.Tty,
    detachKeys: body.DetachKeys,
  });
  const stopResize = body.Tty && isatty(0) ? monitorTtySize(cli, (h, w) => resizeExec(cli.client, id, h, w)) : () => undefined;
  const { detached } = await session.done.finally(stopResize);
  if (detached) throw new StatusError(1, DETACHED_MESSAGE);
  const info = await inspectExec(cli.client, id);
  if (info.ExitCode) throw new StatusError(info.ExitCode);
}

interface AttachFlags {
  stdin: boolean;
  sigProxy?: boolean;
  detachKeys?: string;
}

/** inspectContainerAndCheckState, with docker v28's wording. */
async function attachableContainer(cli: Cli, name: string): Promise<ContainerInspectResponse> {
  const c = await inspectContainer(cli.client, name);
  if (!c.State?.Running) throw new StatusError(1, 'You cannot attach to a stopped container, start it first');
  if (c.State.Paused) throw new StatusError(1, 'You cannot attach to a paused container, unpause it first');
  if (c.State.Restarting) throw new StatusError(1, 'You cannot attach to a restarting container, wait until it is running');
  return c;
}

async function runAttach(cli: Cli, name: string, o: AttachFlags): Promise<void> {
  // The wait goes out first, as docker's does, so an exit right after attaching is not missed;
  // its own failure (no such container) only counts once the inspect has had its say.
  const wait = waitContainer(cli.client, name).then(
    (pending: PendingWait) => ({ pending }),
    (error: unknown) => ({ error }),
  );
  const stops: (() => void)[] = [];
  try {
    const c = await attachableContainer(cli, name);
    const w = await wait;
    if ('error' in w) throw w.error;
    const tty = !!c.Config?.Tty;
    checkTty(o.stdin, tty);
    if (o.sigProxy !== false && !tty) stops.push(forwardSignals(cli, name));
    const session = await attach(cli, name, {
      stdin: o.stdin && !!c.Config?.OpenStdin,
      stdout: true,
      stderr: true,
      tty,
      detachKeys: o.detachKeys,
    });
    stops.push(() => session.close());
    // It may have stopped between the inspect and the attach: then the stream would never end.
    await attachableContainer(cli, name);
    if (tty && cli.out.isTTY) {
      // One size off first: that makes a shell attached to before redraw its prompt.
      const [h, wd] = ttySize(cli);
      await resizeContainer(cli.client, name, h + 1, wd + 1).catch(() => undefined);
      stops.push(monitorContainerTtySize(cli, name));
    }
    const { detached } = await session.done;
    if (detached) throw new StatusError(1, DETACHED_MESSAGE);
    const result = await w.pending.result.catch((err: unknown) => {
      throw new StatusError(1, describeError(err));
    });
    if (result.Error?.Message) throw new StatusError(1, result.Error.Message);
    if (result.StatusCode !== 0) throw new StatusError(result.StatusCode);
  } finally {
    for (const stop of stops) stop();
    // Dropping a finished wait is harmless; an unfinished one must not keep us alive.
    void wait.then((w) => {
      if ('pending' in w) w.pending.cancel();
    });
  }
}

export function registerInteractCommands(program: Command, cli: Cli): void {
  const group = defineGroup(program, 'container', 'Manage containers');
  for (const parent of [program, group]) {
    defineCommand<ExecFlags>(
      parent,
      { name: 'exec', use: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]', description: 'Execute a command in a running container', args: { min: 2 }, passThrough: true },
      (args, o) => runExec(cli, args[0]!, args.slice(1), o),
    )
      .option('-d, --detach', 'Detached mode: run command in the background')
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .option('-e, --env <list>', 'Set environment variables', collect(parseEnv))
      .option('--env-file <list>', 'Read in a file of environment variables', collect())
      .option('-i, --interactive', 'Keep STDIN open even if not attached')
      .option('--privileged', 'Give extended privileges to the command')
      .option('-t, --tty', 'Allocate a pseudo-TTY')
      .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
      .option('-w, --workdir <string>', 'Working directory inside the container');

    defineCommand<AttachFlags>(
      parent,
      { name: 'attach', use: 'attach [OPTIONS] CONTAINER', description: 'Attach local standard input, output, and error streams to a running container', args: { exact: 1 } },
      (args, o) => runAttach(cli, args[0]!, o),
    )
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .option('--no-stdin', 'Do not attach STDIN')
      .option('--sig-proxy', 'Proxy all received signals to the process (default true)')
      .option('--no-sig-proxy', 'Do not proxy received signals to the process');
  }
}
