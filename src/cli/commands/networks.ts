/**
 * `berth network ls|rm|create|connect|disconnect|prune`, as docker's network
 * commands (inspect is in ./inspect.ts).
 */
import type { Command } from 'commander';
import { encodeFilters, pathSegment } from '../../client/client.js';
import type { Filters, Network, NetworkCreateRequest, NetworkCreateResponse, NetworkPruneResponse } from '../../common/api/index.js';
import { formatWithTemplate } from '../format/template.js';
import type { Cli } from '../cli.js';
import { defineCommand, defineGroup } from '../command.js';
import { describeError, StatusError } from '../errors.js';
import { collect, parseFilter } from '../opts.js';
import { renderListFormat } from './containers.js';
import { confirm } from './imagework.js';

const headers = { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT' };

/** docker's sortorder.NaturalLess, enough for network names: digit runs compare as numbers. */
function naturalLess(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

async function runNetworkLs(cli: Cli, o: { filter?: Filters; format?: string; trunc: boolean; quiet?: boolean }): Promise<void> {
  const nets = await cli.client.json<Network[]>('GET', '/networks', { query: { filters: encodeFilters(o.filter) } });
  nets.sort((a, b) => naturalLess(a.Name, b.Name));
  if (o.quiet && !o.format) {
    cli.out.write(nets.map((n) => `${o.trunc ? n.Id.slice(0, 12) : n.Id}\n`).join(''));
    return;
  }
  const format = o.format || 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
  const rows = nets.map((n) => ({
    ID: o.trunc ? n.Id.slice(0, 12) : n.Id,
    Name: n.Name,
    Driver: n.Driver,
    Scope: n.Scope,
    IPv6: String(n.EnableIPv6),
    Internal: String(n.Internal),
    Labels: Object.entries(n.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
    CreatedAt: n.Created,
  }));
  cli.out.write(renderListFormat(() => formatWithTemplate(format === 'table' ? 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}' : format, rows, headers)));
}

/** docker's network rm: each name on success; errors at the end, status 1. */
async function runNetworkRm(cli: Cli, names: string[], o: { force?: boolean }): Promise<void> {
  const errors: string[] = [];
  for (const name of names) {
    try {
      await cli.client.call('DELETE', `/networks/${pathSegment(name)}`);
      cli.out.write(`${name}\n`);
    } catch (err) {
      if (o.force && /not found/.test(describeError(err))) continue;
      errors.push(describeError(err));
    }
  }
  // docker 28 ends the list with its joined status error's own line.
  if (errors.length) throw new StatusError(1, [...errors, 'exit status 1'].join('\n'));
}

export function registerNetworkCommands(program: Command, cli: Cli): void {
  const network = defineGroup(program, 'network', 'Manage networks');

  defineCommand<{ filter?: Filters; format?: string; trunc: boolean; quiet?: boolean }>(
    network,
    { name: 'ls', aliases: ['list'], use: 'ls [OPTIONS]', description: 'List networks', args: { max: 0 } },
    (_args, o) => runNetworkLs(cli, o),
  )
    .option('-f, --filter <filter>', 'Provide filter values (e.g. "driver=bridge")', parseFilter)
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', 'Do not truncate the output')
    .option('-q, --quiet', 'Only display network IDs');

  defineCommand<{ force?: boolean }>(
    network,
    { name: 'rm', aliases: ['remove'], use: 'rm NETWORK [NETWORK...]', description: 'Remove one or more networks', args: { min: 1 } },
    (args, o) => runNetworkRm(cli, args, o),
  ).option('-f, --force', 'Do not error if the network does not exist');

  defineCommand<{
    driver?: string;
    label?: string[];
    subnet?: string[];
    gateway?: string[];
    ipRange?: string[];
    auxAddress?: string[];
    internal?: boolean;
    attachable?: boolean;
    ipv6?: boolean;
    opt?: string[];
    ipamDriver?: string;
  }>(
    network,
    { name: 'create', use: 'create [OPTIONS] NETWORK', description: 'Create a network', args: { exact: 1 } },
    async (args, o) => {
      const kv = (list: string[] | undefined) => Object.fromEntries((list ?? []).map((l) => [l.split('=')[0], l.slice(l.indexOf('=') + 1)]));
      const aux = kv(o.auxAddress);
      const body: NetworkCreateRequest = {
        Name: args[0]!,
        Driver: o.driver ?? 'bridge',
        Internal: !!o.internal,
        Attachable: !!o.attachable,
        ...(o.ipv6 ? { EnableIPv6: true } : {}),
        IPAM: {
          Driver: o.ipamDriver ?? 'default',
          Config: (o.subnet ?? []).map((s, i) => ({
            Subnet: s,
            ...(o.ipRange?.[i] ? { IPRange: o.ipRange[i] } : {}),
            ...(o.gateway?.[i] ? { Gateway: o.gateway[i] } : {}),
            ...(i === 0 && Object.keys(aux).length ? { AuxiliaryAddresses: aux } : {}),
          })),
          Options: {},
        },
        Options: kv(o.opt),
        Labels: kv(o.label),
      };
      const r = await cli.client.json<NetworkCreateResponse>('POST', '/networks/create', {
        body: Buffer.from(JSON.stringify(body)),
        headers: { 'Content-Type': 'application/json' },
      });
      cli.out.write(`${r.Id}\n`);
    },
  )
    .option('-d, --driver <string>', 'Driver to manage the Network', 'bridge')
    .option('--internal', 'Restrict external access to the network')
    .option('--attachable', 'Enable manual container attachment')
    .option('--ipv6', 'Enable or disable IPv6 networking')
    .option('--label <list>', 'Set metadata on a network', collect())
    .option('-o, --opt <map>', 'Set driver specific options', collect())
    .option('--ipam-driver <string>', 'IP Address Management Driver', 'default')
    .option('--subnet <strings>', 'Subnet in CIDR format that represents a network segment', collect())
    .option('--ip-range <strings>', 'Allocate container ip from a sub-range', collect())
    .option('--gateway <strings>', 'IPv4 or IPv6 Gateway for the master subnet', collect())
    .option('--aux-address <map>', 'Auxiliary IPv4 or IPv6 addresses used by Network driver', collect());

  defineCommand<{ ip?: string; ip6?: string; alias?: string[]; link?: string[]; linkLocalIp?: string[]; driverOpt?: string[]; gwPriority?: string }>(
    network,
    { name: 'connect', use: 'connect [OPTIONS] NETWORK CONTAINER', description: 'Connect a container to a network', args: { exact: 2 } },
    async (args, o) => {
      const ipam = {
        ...(o.ip ? { IPv4Address: o.ip } : {}),
        ...(o.ip6 ? { IPv6Address: o.ip6 } : {}),
        ...(o.linkLocalIp?.length ? { LinkLocalIPs: o.linkLocalIp } : {}),
      };
      const body = {
        Container: args[1]!,
        EndpointConfig: {
          ...(Object.keys(ipam).length ? { IPAMConfig: ipam } : {}),
          ...(o.alias?.length ? { Aliases: o.alias } : {}),
          ...(o.link?.length ? { Links: o.link } : {}),
          ...(o.driverOpt?.length ? { DriverOpts: Object.fromEntries(o.driverOpt.map((l) => [l.split('=')[0], l.slice(l.indexOf('=') + 1)])) } : {}),
          ...(o.gwPriority ? { GwPriority: Number(o.gwPriority) } : {}),
        },
      };
      await cli.client.call('POST', `/networks/${pathSegment(args[0]!)}/connect`, {
        body: Buffer.from(JSON.stringify(body)),
        headers: { 'Content-Type': 'application/json' },
      });
    },
  )
    .option('--ip <string>', 'IPv4 address (e.g., "172.30.100.104")')
    .option('--ip6 <string>', 'IPv6 address (e.g., "2001:db8::33")')
    .option('--alias <strings>', 'Add network-scoped alias for the container', collect())
    .option('--link <list>', 'Add link to another container', collect())
    .option('--link-local-ip <strings>', 'Add a link-local address for the container', collect())
    .option('--driver-opt <strings>', 'driver options for the network', collect())
    .option('--gw-priority <int>', 'Highest gw-priority provides the default gateway');

  defineCommand<{ force?: boolean }>(
    network,
    { name: 'disconnect', use: 'disconnect [OPTIONS] NETWORK CONTAINER', description: 'Disconnect a container from a network', args: { exact: 2 } },
    async (args, o) => {
      await cli.client.call('POST', `/networks/${pathSegment(args[0]!)}/disconnect`, {
        body: Buffer.from(JSON.stringify({ Container: args[1]!, Force: !!o.force })),
        headers: { 'Content-Type': 'application/json' },
      });
    },
  ).option('-f, --force', 'Force the container to disconnect from a network');

  defineCommand<{ force?: boolean; filter?: Filters }>(
    network,
    { name: 'prune', use: 'prune [OPTIONS]', description: 'Remove all unused networks', args: { max: 0 } },
    async (_args, o) => {
      if (!o.force && !(await confirm(cli, 'WARNING! This will remove all custom networks not used by at least one container.'))) return;
      const r = await cli.client.json<NetworkPruneResponse>('POST', '/networks/prune', { query: { filters: JSON.stringify(o.filter ?? {}) } });
      if (r.NetworksDeleted?.length) cli.out.write(`Deleted Networks:\n${r.NetworksDeleted.join('\n')}\n\n`);
    },
  )
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', parseFilter);
}
