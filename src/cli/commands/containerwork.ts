/**
 * Container commands beyond create/run/start/stop: `pause`, `unpause`,
 * `restart`, `rename`, `top`, `port`, `update`, `container prune` — thin over
 * the API, with docker v28's flags and output.
 */
import type { Command } from 'commander';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { StatusError } from '../errors.js';
import { parseCpus, parseFilter, parseIntFlag, parseMemBytes, parseRestartPolicy } from '../opts.js';
import type { ContainerInspectResponse, ContainerPruneResponse, ContainerTopResponse, ContainerUpdateBody, Filters } from '../../common/api/index.js';
import { tabwrite, dockerTabwriter } from '../format/table.js';
import { humanSize } from '../../common/units.js';
import { forEachContainer } from './containers.js';
import { confirm } from './imagework.js';

const enc = encodeURIComponent;

async function runTop(cli: Cli, container: string, psArgs: string[]): Promise<void> {
  const r = await cli.client.json<ContainerTopResponse>('GET', `/containers/${enc(container)}/top`, {
    query: psArgs.length ? { ps_args: psArgs.join(' ') } : {},
  });
  // docker top's own tabwriter: minimum cell width 20.
  const text = [r.Titles, ...r.Processes].map((row) => `${row.join('\t')}\n`).join('');
  cli.out.write(tabwrite(text, { ...dockerTabwriter, minwidth: 20 }));
}

async function runPort(cli: Cli, container: string, privatePort?: string): Promise<void> {
  const c = await cli.client.json<ContainerInspectResponse>('GET', `/containers/${enc(container)}/json`);
  const ports = c.NetworkSettings?.Ports ?? {};
  const lines: string[] = [];
  for (const [key, bindings] of Object.entries(ports).sort()) {
    if (privatePort && key !== privatePort && key !== `${privatePort}/tcp`) continue;
    for (const b of bindings ?? []) {
      const host = b.HostIp.includes(':') ? `[${b.HostIp}]` : b.HostIp || '0.0.0.0';
      lines.push(privatePort ? `${host}:${b.HostPort}` : `${key} -> ${host}:${b.HostPort}`);
    }
  }
  if (privatePort && lines.length === 0) throw new StatusError(1, `Error: No public port '${privatePort.includes('/') ? privatePort : `${privatePort}/tcp`}' published for ${container}`);
  for (const l of lines) cli.out.write(`${l}\n`);
}

interface UpdateOptions {
  memory?: number;
  memorySwap?: number;
  cpus?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  pidsLimit?: number;
  restart?: string;
}

async function runUpdate(cli: Cli, names: string[], o: UpdateOptions): Promise<void> {
  const body: ContainerUpdateBody = {
    ...(o.memory ? { Memory: o.memory } : {}),
    ...(o.memorySwap ? { MemorySwap: o.memorySwap } : {}),
    ...(o.cpus ? { NanoCpus: o.cpus } : {}),
    ...(o.cpuShares ? { CpuShares: o.cpuShares } : {}),
    ...(o.cpusetCpus ? { CpusetCpus: o.cpusetCpus } : {}),
    ...(o.pidsLimit ? { PidsLimit: o.pidsLimit } : {}),
    ...(o.restart ? { RestartPolicy: parseRestartPolicy(o.restart) } : {}),
  };
  await forEachContainer(cli, names, async (name) => {
    await cli.client.json('POST', `/containers/${enc(name)}/update`, {
      body: Buffer.from(JSON.stringify(body)),
      headers: { 'Content-Type': 'application/json' },
    });
  });
}

async function runContainerPrune(cli: Cli, o: { force?: boolean; filter?: Filters }): Promise<void> {
  if (!o.force && !(await confirm(cli, 'WARNING! This will remove all stopped containers.'))) return;
  const r = await cli.client.json<ContainerPruneResponse>('POST', '/containers/prune', {
    query: { filters: JSON.stringify(o.filter ?? {}) },
  });
  if (r.ContainersDeleted?.length) cli.out.write(`Deleted Containers:\n${r.ContainersDeleted.join('\n')}\n\n`);
  cli.out.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
}

export function registerContainerWorkCommands(program: Command, cli: Cli): void {
  const container = defineGroup(program, 'container', 'Manage containers');
  const post = (path: string) => (name: string) => cli.client.request('POST', path.replace('{}', enc(name))).then((res) => void res.resume());
  for (const parent of [program, container]) {
    defineCommand(parent, { name: 'pause', use: 'pause CONTAINER [CONTAINER...]', description: 'Pause all processes within one or more containers', args: { min: 1 } }, (args) =>
      forEachContainer(cli, args, post('/containers/{}/pause')),
    );
    defineCommand(parent, { name: 'unpause', use: 'unpause CONTAINER [CONTAINER...]', description: 'Unpause all processes within one or more containers', args: { min: 1 } }, (args) =>
      forEachContainer(cli, args, post('/containers/{}/unpause')),
    );
    defineCommand<{ time?: number; signal?: string }>(parent, { name: 'restart', use: 'restart [OPTIONS] CONTAINER [CONTAINER...]', description: 'Restart one or more containers', args: { min: 1 } }, (args, o) =>
      forEachContainer(cli, args, (name) =>
        cli.client.request('POST', `/containers/${enc(name)}/restart`, { query: { t: o.time === undefined ? undefined : String(o.time), signal: o.signal } }).then((res) => void res.resume()),
      ),
    )
      .option('-s, --signal <string>', 'Signal to send to the container')
      .option('-t, --time <int>', 'Seconds to wait before killing the container', parseIntFlag);
    defineCommand(parent, { name: 'rename', use: 'rename CONTAINER NEW_NAME', description: 'Rename a container', args: { exact: 2 } }, async (args) => {
      const res = await cli.client.request('POST', `/containers/${enc(args[0]!)}/rename`, { query: { name: args[1]! } });
      res.resume();
    });
    defineCommand(parent, { name: 'top', use: 'top CONTAINER [ps OPTIONS]', description: 'Display the running processes of a container', args: { min: 1 }, passThrough: true }, (args) =>
      runTop(cli, args[0]!, args.slice(1)),
    );
    defineCommand(parent, { name: 'port', use: 'port CONTAINER [PRIVATE_PORT[/PROTO]]', description: 'List port mappings or a specific mapping for the container', args: { min: 1, max: 2 } }, (args) =>
      runPort(cli, args[0]!, args[1]),
    );
    defineCommand<UpdateOptions>(parent, { name: 'update', use: 'update [OPTIONS] CONTAINER [CONTAINER...]', description: 'Update configuration of one or more containers', args: { min: 1 } }, (args, o) => runUpdate(cli, args, o))
      .option('-m, --memory <bytes>', 'Memory limit', parseMemBytes)
      .option('--memory-swap <bytes>', "Swap limit equal to memory plus swap: -1 to enable unlimited swap", parseMemBytes)
      .option('--cpus <decimal>', 'Number of CPUs', parseCpus)
      .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)', parseIntFlag)
      .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
      .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)', parseIntFlag)
      .option('--restart <string>', 'Restart policy to apply when a container exits');
  }
  defineCommand<{ force?: boolean; filter?: Filters }>(container, { name: 'prune', use: 'prune [OPTIONS]', description: 'Remove all stopped containers', args: { max: 0 } }, (_args, o) => runContainerPrune(cli, o))
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', parseFilter);
}
