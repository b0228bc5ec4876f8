/** `berth volume create|ls|inspect|rm|prune`, as docker's volume commands. */
import type { Command } from 'commander';
import { encodeFilters, pathSegment } from '../../client/client.js';
import type { Filters, Volume, VolumeCreateRequest, VolumeListResponse, VolumePruneResponse } from '../../common/api/index.js';
import { humanSize } from '../../common/units.js';
import { formatWithTemplate } from '../format/template.js';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { describeError, StatusError } from '../errors.js';
import { collect, labelsToMap, parseFilter } from '../opts.js';
import { renderListFormat } from './containers.js';
import { confirm } from './imagework.js';

const headers = { Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS' };

async function runVolumeLs(cli: Cli, o: { filter?: Filters; format?: string; quiet?: boolean }): Promise<void> {
  const { Volumes } = await cli.client.json<VolumeListResponse>('GET', '/volumes', { query: { filters: encodeFilters(o.filter) } });
  const vols = (Volumes ?? []).sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  if (o.quiet && !o.format) {
    cli.out.write(vols.map((v) => `${v.Name}\n`).join(''));
    return;
  }
  const table = 'table {{.Driver}}\t{{.Name}}';
  const format = !o.format || o.format === 'table' ? table : o.format;
  const rows = vols.map((v) => ({
    Name: v.Name,
    Driver: v.Driver,
    Scope: v.Scope,
    Mountpoint: v.Mountpoint,
    Labels: Object.entries(v.Labels ?? {}).map(([k, val]) => `${k}=${val}`).join(','),
  }));
  cli.out.write(renderListFormat(() => formatWithTemplate(format, rows, headers)));
}

export function registerVolumeCommands(program: Command, cli: Cli): void {
  const volume = defineGroup(program, 'volume', 'Manage volumes');

  defineCommand<{ driver: string; label?: string[]; opt?: string[]; name?: string }>(
    volume,
    { name: 'create', use: 'create [OPTIONS] [VOLUME]', description: 'Create a volume', args: { max: 1 } },
    async (args, o) => {
      const opts = Object.fromEntries((o.opt ?? []).map((kv) => [kv.split('=')[0]!, kv.slice(kv.indexOf('=') + 1)]));
      const body: VolumeCreateRequest = { Name: args[0] ?? o.name ?? '', Driver: o.driver, DriverOpts: opts, Labels: labelsToMap(o.label ?? []) };
      const v = await cli.client.json<Volume>('POST', '/volumes/create', { body: Buffer.from(JSON.stringify(body)), headers: { 'Content-Type': 'application/json' } });
      cli.out.write(`${v.Name}\n`);
    },
  )
    .option('-d, --driver <string>', 'Specify volume driver name', 'local')
    .option('--label <list>', 'Set metadata for a volume', collect())
    .option('-o, --opt <map>', 'Set driver specific options', collect())
    .option('--name <string>', 'Specify volume name');

  defineCommand<{ filter?: Filters; format?: string; quiet?: boolean }>(
    volume,
    { name: 'ls', aliases: ['list'], use: 'ls [OPTIONS]', description: 'List volumes', args: { max: 0 } },
    (_args, o) => runVolumeLs(cli, o),
  )
    .option('-f, --filter <filter>', "Provide filter values (e.g. 'dangling=true')", parseFilter)
    .option('--format <string>', 'Format output using a custom template')
    .option('-q, --quiet', 'Only display volume names');

  defineCommand<{ force?: boolean }>(
    volume,
    { name: 'rm', aliases: ['remove'], use: 'rm [OPTIONS] VOLUME [VOLUME...]', description: 'Remove one or more volumes', args: { min: 1 } },
    async (names, o) => {
      const errors: string[] = [];
      for (const name of names) {
        try {
          await cli.client.call('DELETE', `/volumes/${pathSegment(name)}`, { query: { force: o.force } });
          cli.out.write(`${name}\n`);
        } catch (err) {
          errors.push(describeError(err));
        }
      }
      if (errors.length) throw new StatusError(1, errors.join('\n'));
    },
  ).option('-f, --force', 'Force the removal of one or more volumes');

  defineCommand<{ all?: boolean; force?: boolean; filter?: Filters }>(
    volume,
    { name: 'prune', use: 'prune [OPTIONS]', description: 'Remove unused local volumes', args: { max: 0 } },
    async (_args, o) => {
      const warning = o.all
        ? 'WARNING! This will remove all local volumes not used by at least one container.'
        : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
      if (!o.force && !(await confirm(cli, warning))) return;
      const filters = { ...(o.filter ?? {}), ...(o.all ? { all: ['true'] } : {}) };
      const r = await cli.client.json<VolumePruneResponse>('POST', '/volumes/prune', { query: { filters: JSON.stringify(filters) } });
      if (r.VolumesDeleted?.length) cli.out.write(`Deleted Volumes:\n${r.VolumesDeleted.join('\n')}\n\n`);
      cli.out.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
    },
  )
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('--filter <filter>', "Provide filter values (e.g. 'label=<label>')", parseFilter)
    .option('-f, --force', 'Do not prompt for confirmation');
}
