/**
 * `create` and `run` (also under `berth container`). run follows docker's
 * sequence: create (pulling on "No such image"), attach, wait, start, stream
 * the output, and exit with the container's status; its own failures exit
 * 125, or 127/126 when the command cannot be found or executed.
 */
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { createContainer, startContainer } from '../../client/containers.js';
import { ApiError, isNotFound } from '../../client/errors.js';
import { pullImage } from '../../client/images.js';
import { familiarString, parseNormalizedNamed, repositoryName, type Reference } from '../../common/reference/reference.js';
import { attach, forwardSignals, monitorContainerTtySize, type Attachment } from '../attach.js';
import type { Cli } from '../cli.js';
import { BIN, defineCommand, defineGroup } from '../command.js';
import { describeError, runFailureStatus, StatusError } from '../errors.js';
import { displayJsonMessages } from '../jsonmessage.js';
import { authHeaderFor } from '../credentials.js';
import { waitExitOrRemoved } from '../lifecycle.js';
import { addCreateFlags, buildContainerConfig, type CreateFlags, type RunConfig } from '../runconfig.js';

interface RunFlags extends CreateFlags {
  detach?: boolean;
  sigProxy?: boolean;
  detachKeys?: string;
}

/** reportError: "berth: <msg>" and a pointer to the help, for run/create failures. */
function reported(name: string, err: unknown, status: number): StatusError {
  return new StatusError(status, `${BIN}: ${describeError(err)}\n\nRun '${BIN} ${name} --help' for more information`);
}

/**
 * reference.ParseAnyReference + TagNameOnly: the name to pull when the image
 * is missing; undefined for an image ID. Throws on an invalid reference.
 */
function namedReference(image: string): Reference | undefined {
  if (/^(sha256:)?[a-f0-9]{64}$/.test(image)) return undefined;
  const ref = parseNormalizedNamed(image);
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref;
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, cb) => cb() });
}

async function pull(cli: Cli, ref: Reference, o: CreateFlags): Promise<void> {
  const res = await pullImage(cli.client, { fromImage: repositoryName(ref), tag: ref.digest ?? ref.tag, platform: o.platform, auth: await authHeaderFor(repositoryName(ref)) });
  // Pull progress goes to stderr: stdout carries only the container ID.
  await displayJsonMessages(res, o.quiet ? discard() : cli.err);
}

/** docker's createContainer: create, and on a missing image pull it and try once more. */
async function createWithPull(cli: Cli, cfg: RunConfig, o: CreateFlags): Promise<string> {
  const ref = namedReference(cfg.body.Image);
  if (ref && o.pull === 'always') await pull(cli, ref, o);
  const create = () => createContainer(cli.client, cfg.body, { name: o.name, platform: o.platform });
  let res;
  try {
    res = await create();
  } catch (err) {
    const missing = isNotFound(err) && /no such image/i.test((err as ApiError).message);
    if (!missing || !ref || o.pull !== 'missing') throw err;
    if (!o.quiet) cli.err.write(`Unable to find image '${familiarString(ref)}' locally\n`);
    await pull(cli, ref, o);
    res = await create();
  }
  for (const w of res.Warnings ?? []) cli.err.write(`WARNING: ${w}\n`);
  return res.Id;
}

function consoleSize(cli: Cli): [number, number] | undefined {
  if (!cli.out.isTTY) return undefined;
  const [cols, rows] = cli.out.getWindowSize();
  return [rows, cols];
}

/** Flag-level checks docker makes before talking to the daemon (status 125). */
function parseConfig(cli: Cli, name: string, args: string[], o: CreateFlags): RunConfig {
  try {
    if (!['always', 'missing', 'never'].includes(o.pull)) {
      throw new Error(`invalid pull option: '${o.pull}': must be one of "always", "missing" or "never"`);
    }
    const [image, ...command] = args;
    const cfg = buildContainerConfig(o, image!, command, consoleSize(cli));
    namedReference(image!);
    return cfg;
  } catch (err) {
    throw reported(name, err, 125);
  }
}

async function runCreate(cli: Cli, args: string[], o: CreateFlags): Promise<void> {
  const cfg = parseConfig(cli, 'create', args, o);
  cli.out.write(`${await createWithPull(cli, cfg, o)}\n`);
}

async function runRun(cli: Cli, args: string[], o: RunFlags): Promise<void> {
  const cfg = parseConfig(cli, 'run', args, o);
  const body = cfg.body;
  if (o.detach) {
    if (o.attach?.length) throw new StatusError(1, 'conflicting options: cannot specify both --attach and --detach');
    Object.assign(body, { AttachStdin: false, AttachStdout: false, AttachStderr: false, StdinOnce: false });
  }
  const attachStdin = body.AttachStdin === true;
  const attachStdout = body.AttachStdout === true;
  const attachStderr = body.AttachStderr === true;

  let id: string;
  try {
    id = await createWithPull(cli, cfg, o);
  } catch (err) {
    throw reported('run', err, runFailureStatus(err));
  }
  // Detached: the ID is all there is to print, and it comes before any start error.
  if (!attachStdout && !attachStderr) cli.out.write(`${id}\n`);
  const stopSignals = o.sigProxy === false ? () => undefined : forwardSignals(cli, id);
  try {
    let session: Attachment | undefined;
    if (attachStdin || attachStdout || attachStderr) {
      session = await attach(cli, id, { stdin: attachStdin, stdout: attachStdout, stderr: attachStderr, tty: cfg.tty, detachKeys: o.detachKeys });
    }
    const exit = await waitExitOrRemoved(cli, id, cfg.autoRemove);
    try {
      await startContainer(cli.client, id);
    } catch (err) {
      session?.close();
      // An --rm container is removed by the daemon; wait for that before exiting.
      if (cfg.autoRemove) await exit.status;
      else exit.cancel();
      throw reported('run', err, runFailureStatus(err));
    }
    if (!session) {
      exit.cancel();
      return;
    }
    const stopResize = cfg.tty ? monitorContainerTtySize(cli, id) : () => undefined;
    const { detached } = await session.done;
    stopResize();
    // Detached with ^P^Q, or only stdin attached: the container goes on without us.
    if (detached || (!attachStdout && !attachStderr)) {
      exit.cancel();
      return;
    }
    const status = await exit.status;
    if (status !== 0) throw new StatusError(status);
  } finally {
    stopSignals();
  }
}

export function registerRunCommands(program: Command, cli: Cli): void {
  const group = defineGroup(program, 'container', 'Manage containers');
  for (const parent of [program, group]) {
    addCreateFlags(
      defineCommand<CreateFlags>(
        parent,
        { name: 'create', use: 'create [OPTIONS] IMAGE [COMMAND] [ARG...]', description: 'Create a new container', args: { min: 1 }, passThrough: true, noShortHelp: true },
        (args, o) => runCreate(cli, args, o),
      ),
    );
    addCreateFlags(
      defineCommand<RunFlags>(
        parent,
        {
          name: 'run',
          use: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]',
          description: 'Create and run a new container from an image',
          args: { min: 1 },
          passThrough: true,
          noShortHelp: true,
        },
        (args, o) => runRun(cli, args, o),
      )
        .option('-d, --detach', 'Run container in background and print container ID')
        .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
        .option('--sig-proxy', 'Proxy received signals to the process (default true)')
        .option('--no-sig-proxy', 'Do not proxy received signals to the process'),
    );
  }
}
