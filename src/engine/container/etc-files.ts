/**
 * @module engine/container/etc-files
 * The files berth bind-mounts over a container's /etc/hostname, /etc/hosts
 * and /etc/resolv.conf, written as dockerd writes them.
 */
import { promises as fsp } from 'node:fs';
import type { ContainerRecord } from './types.js';

/**
 * What the files are written from: a container's record, or anything shaped
 * like its parts (a build's RUN step, which has no record but gets the same
 * files as dockerd's step containers do).
 */
export type EtcFilesOwner = Pick<ContainerRecord, 'HostnamePath' | 'HostsPath' | 'ResolvConfPath' | 'NetworkAttachment'> & {
  Config: Pick<ContainerRecord['Config'], 'Hostname'>;
  HostConfig: Pick<ContainerRecord['HostConfig'], 'Dns' | 'DnsSearch' | 'DnsOptions' | 'ExtraHosts'>;
};

/**
 * /etc/hostname, /etc/hosts, /etc/resolv.conf, bind-mounted into the container like dockerd's.
 * `embeddedDns`: on a user-defined network, 127.0.0.11 (dockerd's embedded
 * resolver's address, which berth carries to aardvark-dns: see
 * engine/network/embedded-dns.ts); the host's servers, or --dns, are then
 * where it forwards names that are not containers', and the file says so
 * in a comment as dockerd's does. `options ndots:0` unless --dns-option sets
 * ndots, as dockerd writes it for its resolver.
 */
export async function writeEtcFiles(c: EtcFilesOwner, embeddedDns?: string, linkHosts: string[] = []): Promise<void> {
  await fsp.writeFile(c.HostnamePath, `${c.Config.Hostname ?? ''}\n`);
  await writeHosts(c, linkHosts);
  let host: string[];
  try {
    host = (await fsp.readFile('/etc/resolv.conf', 'utf8')).split('\n');
  } catch {
    host = [];
  }
  const h = c.HostConfig;
  // The host's servers minus loopback ones, which mean nothing inside the container; --dns replaces them.
  const hostServers = host.filter((l) => /^\s*nameserver\s/.test(l)).map((l) => l.trim().split(/\s+/)[1]!).filter((s) => !/^(127\.|::1$)/.test(s));
  const servers = h.Dns?.length ? h.Dns : hostServers;
  const search = h.DnsSearch?.length ? h.DnsSearch : host.filter((l) => /^\s*(search|domain)\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  const options = h.DnsOptions?.length ? [...h.DnsOptions] : host.filter((l) => /^\s*options\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  const lines: string[] = [];
  if (embeddedDns) {
    lines.push(`nameserver ${embeddedDns}`);
    if (!options.some((o) => o.startsWith('ndots:'))) options.push('ndots:0');
  } else {
    for (const s of servers) lines.push(`nameserver ${s}`);
  }
  if (search.length && !(search.length === 1 && search[0] === '.')) lines.push(`search ${search.join(' ')}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  // As dockerd notes the servers its resolver forwards to.
  if (embeddedDns) lines.push('', `# ExtServers: [${servers.map((s) => (h.Dns?.length ? s : `host(${s})`)).join(' ')}]`);
  await fsp.writeFile(c.ResolvConfPath, lines.length ? `${lines.join('\n')}\n` : '');
}

/**
 * /etc/hosts: dockerd's defaults, --add-host entries and the container's
 * own address (rewritten in place once the bridge has given it one); a
 * host-network container gets the host's file plus its --add-host entries.
 */
export async function writeHosts(c: EtcFilesOwner, linkHosts: string[] = []): Promise<void> {
  const extra = (c.HostConfig.ExtraHosts ?? []).map((h) => {
    const i = h.indexOf(':');
    return `${h.slice(i + 1)}\t${h.slice(0, i)}`;
  });
  if (c.NetworkAttachment?.mode === 'host') {
    const own = await fsp.readFile('/etc/hosts', 'utf8').catch(() => '127.0.0.1\tlocalhost\n');
    await fsp.writeFile(c.HostsPath, `${own.trimEnd()}\n${extra.map((l) => `${l}\n`).join('')}`);
    return;
  }
  const ep = c.NetworkAttachment?.endpoint ?? Object.values(c.NetworkAttachment?.endpoints ?? {})[0];
  const hosts = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::\tip6-localnet',
    'ff00::\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    ...extra,
    // Legacy links: `ip alias hostname name`, as dockerd writes them.
    ...linkHosts,
    // The container's own address last, as dockerd writes it.
    ...(ep ? [`${ep.ip}\t${c.Config.Hostname ?? ''}`] : []),
  ];
  await fsp.writeFile(c.HostsPath, `${hosts.join('\n')}\n`);
}
