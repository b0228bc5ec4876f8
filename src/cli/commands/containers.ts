/**
 * Container commands other than create/run: `start`, `ps` (`container ls`),
 * `logs`, `rm`, `wait`, `stop`, `kill`, each also under `berth container`.
 */
import { Option, type Command } from 'commander';
import { isNotFound } from '../../client/errors.js';
import {
  containerLogs,
  inspectContainer,
  killContainer,
  listContainers,
  removeContainer,
  startContainer,
  stopContainer,
  waitContainer,
} from '../../client/containers.js';
import { copyRaw, demuxStream } from '../../client/streams.js';
import type { Filters } from '../../common/api/index.js';
import { formatWithTemplate, TemplateError } from '../format/template.js';
import { attach, monitorContainerTtySize } from '../attach.js';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { describeError, joinErrors, StatusError } from '../errors.js';
import { waitExitOrRemoved } from '../lifecycle.js';
import { parseFilter, parseIntFlag } from '../opts.js';
import { containerFormat, containerHeaders, containerRow, rowTemplateFuncs } from '../rows.js';
import { getTimestamp } from '../../common/timestamp.js';

/** Renders a --format table, turning template errors into docker's messages (exit 1). */
export function renderListFormat(render: () => string): string {
  try {
    return render();
  } catch (err) {
    if (err instanceof TemplateError) throw new StatusError(1, err.message);
    throw err;
  }
}

/**
 * Runs `op` on every container at once and reports in argument order, as
 * docker's parallelOperation: the name on success, the errors joined at the end.
 */
export async function forEachContainer(cli: Cli, names: string[], op: (name: string) => Promise<void>): Promise<void> {
  const results = names.map((n) => op(n).then(
    () => undefined,
    (err: unknown) => err ?? new Error('failed'),
  ));
  const errors: unknown[] = [];
  for (let i = 0; i < names.length; i++) {
    const err = await results[i];
    if (err) errors.push(err);
    else cli.out.write(`${names[i]}\n`);
  }
  const joined = joinErrors(errors);
  if (joined) throw joined;
}

interface StartOptions {
  attach?: boolean;
  interactive?: boolean;
  detachKeys?: string;
}

async function runStart(cli: Cli, names: string[], o: StartOptions): Promise<void> {
  if (!o.attach && !o.interactive) {
    const failed: string[] = [];
    for (const name of names) {
      try {
        await startContainer(cli.client, name);
        cli.out.write(`${name}\n`);
      } catch (err) {
        cli.err.write(`${describeError(err)}\n`);
        failed.push(name);
      }
    }
    if (failed.length) throw new StatusError(1, `Error: failed to start containers: ${failed.join(', ')}`);
    return;
  }
  if (names.length > 1) throw new StatusError(1, 'you cannot start and attach multiple containers at once');
  const c = await inspectContainer(cli.client, names[0]!);
  const tty = !!c.Config?.Tty;
  const session = await attach(cli, c.Id, { stdin: !!o.interactive && !!c.Config?.OpenStdin, stdout: true, stderr: true, tty, detachKeys: o.detachKeys });
  const exit = await waitExitOrRemoved(cli, c.Id, !!c.HostConfig?.AutoRemove);
  try {
    await startContainer(cli.client, c.Id);
  } catch (err) {
    session.close();
    exit.cancel();
    throw err;
  }
  const stopResize = tty ? monitorContainerTtySize(cli, c.Id) : () => undefined;
  const { detached } = await session.done;
  stopResize();
  if (detached) return;
  const status = await exit.status;
  if (status !== 0) throw new StatusError(status);
}

interface PsOptions {
  all?: boolean;
  quiet?: boolean;
  size?: boolean;
  trunc: boolean;
  latest?: boolean;
  last: number;
  format?: string;
  filter?: Filters;
}

async function runPs(cli: Cli, o: PsOptions, sizeFlagGiven: boolean): Promise<void> {
  const format = o.format ?? '';
  if (format && o.quiet) cli.err.write('WARNING: Ignoring custom format, because both --format and --quiet are set.\n');
  let size = !!o.size;
  if (format) {
    // docker checks the template against an empty row before listing anything.
    try {
      formatWithTemplate(format, [containerRow({ Id: '', Created: 0 }, true)], containerHeaders, {
        funcs: rowTemplateFuncs,
        typeName: '*formatter.ContainerContext',
      });
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      const inner = err.message.replace(/^template parsing error: /, '');
      throw new StatusError(1, `${inner.includes('executing') ? 'failed to execute template' : 'failed to parse template'}: ${inner}`);
    }
    // Sizes are costly, so they are only asked for when the template shows them
    // (docker notices .Size being called, which {{json .}} does too).
    if (!o.quiet && !size && !sizeFlagGiven && /\.Size\b|\bjson\s+\.\s*(\}\}|\))/.test(format)) size = true;
  }
  const list = await listContainers(cli.client, {
    all: o.all,
    limit: o.latest && o.last === -1 ? 1 : o.last,
    size,
    filters: o.filter,
  });
  const now = new Date();
  const rows = list.map((c) => containerRow(c, o.trunc, now));
  const tmpl = containerFormat(format, !!o.quiet, size);
  cli.out.write(renderListFormat(() => formatWithTemplate(tmpl, rows, containerHeaders, { funcs: rowTemplateFuncs, typeName: '*formatter.ContainerContext' })));
}

interface LogsOptions {
  details?: boolean;
  follow?: boolean;
  since?: string;
  until?: string;
  timestamps?: boolean;
  tail: string;
}

async function runLogs(cli: Cli, name: string, o: LogsOptions): Promise<void> {
  const c = await inspectContainer(cli.client, name);
  const time = (flag: string, v: string | undefined) => {
    if (!v) return undefined;
    try {
      return getTimestamp(v);
    } catch (err) {
      throw new StatusError(1, `invalid value for "${flag}": ${(err as Error).message}`);
    }
  };
  const res = await containerLogs(cli.client, c.Id, {
    stdout: true,
    stderr: true,
    since: time('since', o.since),
    until: time('until', o.until),
    timestamps: o.timestamps,
    follow: o.follow,
    tail: o.tail,
    details: o.details,
  });
  if (c.Config?.Tty) await copyRaw(res, cli.out);
  else await demuxStream(res, cli.out, cli.err);
}

async function runRm(cli: Cli, names: string[], o: { force?: boolean; link?: boolean; volumes?: boolean }): Promise<void> {
  const results = names.map((name) => {
    const id = name.replace(/^\/+|\/+$/g, '');
    if (!id) return Promise.resolve<unknown>(new Error('container name cannot be empty'));
    return removeContainer(cli.client, id, o).then(() => undefined, (err: unknown) => err);
  });
  const errors: unknown[] = [];
  for (let i = 0; i < names.length; i++) {
    const err = await results[i];
    if (!err) {
      cli.out.write(`${names[i]}\n`);
    } else if (o.force && isNotFound(err)) {
      // -f on a container that is already gone: reported, but not a failure.
      cli.err.write(`${describeError(err)}\n`);
    } else {
      errors.push(err);
    }
  }
  const joined = joinErrors(errors);
  if (joined) throw joined;
}

async function runWait(cli: Cli, names: string[]): Promise<void> {
  const errors: unknown[] = [];
  for (const name of names) {
    try {
      const pending = await waitContainer(cli.client, name);
      cli.out.write(`${(await pending.result).StatusCode}\n`);
    } catch (err) {
      errors.push(err);
    }
  }
  const joined = joinErrors(errors);
  if (joined) throw joined;
}

export function registerContainerCommands(program: Command, cli: Cli): void {
  const group = defineGroup(program, 'container', 'Manage containers');

  for (const parent of [program, group]) {
    defineCommand<StartOptions>(
      parent,
      { name: 'start', use: 'start [OPTIONS] CONTAINER [CONTAINER...]', description: 'Start one or more stopped containers', args: { min: 1 } },
      (args, o) => runStart(cli, args, o),
    )
      .option('-a, --attach', 'Attach STDOUT/STDERR and forward signals')
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .option('-i, --interactive', "Attach container's STDIN");

    defineCommand<LogsOptions>(
      parent,
      { name: 'logs', use: 'logs [OPTIONS] CONTAINER', description: 'Fetch the logs of a container', args: { exact: 1 } },
      (args, o) => runLogs(cli, args[0]!, o),
    )
      .option('--details', 'Show extra details provided to logs')
      .option('-f, --follow', 'Follow log output')
      .option('--since <string>', 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
      .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', 'all')
      .option('-t, --timestamps', 'Show timestamps')
      .option('--until <string>', 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)');

    defineCommand<{ force?: boolean; link?: boolean; volumes?: boolean }>(
      parent,
      {
        name: 'rm',
        aliases: parent === group ? ['remove'] : [],
        use: 'rm [OPTIONS] CONTAINER [CONTAINER...]',
        description: 'Remove one or more containers',
        args: { min: 1 },
      },
      (args, o) => runRm(cli, args, o),
    )
      .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
      .option('-l, --link', 'Remove the specified link')
      .option('-v, --volumes', 'Remove anonymous volumes associated with the container');

    defineCommand(
      parent,
      { name: 'wait', use: 'wait CONTAINER [CONTAINER...]', description: 'Block until one or more containers stop, then print their exit codes', args: { min: 1 } },
      (args) => runWait(cli, args),
    );

    defineCommand<{ signal?: string; timeout?: number; time?: number }>(
      parent,
      { name: 'stop', use: 'stop [OPTIONS] CONTAINER [CONTAINER...]', description: 'Stop one or more running containers', args: { min: 1 } },
      (args, o) => forEachContainer(cli, args, (name) => stopContainer(cli.client, name, { signal: o.signal, timeout: o.timeout ?? o.time })),
    )
      .option('-s, --signal <string>', 'Signal to send to the container')
      .option('-t, --timeout <int>', 'Seconds to wait before killing the container', parseIntFlag)
      .addOption(new Option('--time <int>', 'Seconds to wait before killing the container (deprecated)').argParser(parseIntFlag).hideHelp());

    defineCommand<{ signal?: string }>(
      parent,
      { name: 'kill', use: 'kill [OPTIONS] CONTAINER [CONTAINER...]', description: 'Kill one or more running containers', args: { min: 1 } },
      (args, o) => forEachContainer(cli, args, (name) => killContainer(cli.client, name, o.signal)),
    ).option('-s, --signal <string>', 'Signal to send to the container');
  }

  const ps = (parent: Command, name: string, aliases: string[]) => {
    const cmd: Command = defineCommand<PsOptions>(
      parent,
      { name, aliases, use: `${name} [OPTIONS]`, description: 'List containers', args: 'none' },
      (_args, o) => runPs(cli, o, cmd.getOptionValueSource('size') === 'cli'),
    )
      .option('-a, --all', 'Show all containers (default shows just running)')
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', parseFilter)
      .option('--format <string>', 'Format output using a custom template')
      .option('-n, --last <int>', 'Show n last created containers (includes all states)', parseIntFlag, -1)
      .option('-l, --latest', 'Show the latest created container (includes all states)')
      .option('--no-trunc', "Don't truncate output")
      .option('-q, --quiet', 'Only display container IDs')
      .option('-s, --size', 'Display total file sizes');
    return cmd;
  };
  ps(program, 'ps', []);
  ps(group, 'ls', ['ps', 'list']);
}
