/**
 * @module engine/container/etc-files
 * The files berth bind-mounts over a container's /etc/hostname, /etc/hosts
 * and /etc/resolv.conf, written as dockerd writes them.
 */
import { promises as fsp } from 'node:fs';
import type { ContainerRecord } from './types.js';

/** /etc/hostname, /etc/hosts, /etc/resolv.conf, bind-mounted into the container like dockerd's. */
export async function writeEtcFiles(c: ContainerRecord): Promise<void> {
  await fsp.writeFile(c.HostnamePath, `${c.Config.Hostname ?? ''}\n`);
  await writeHosts(c);
  let resolv: string;
  try {
    // The host's resolver config minus loopback servers, which mean nothing inside the container.
    resolv = (await fsp.readFile('/etc/resolv.conf', 'utf8'))
      .split('\n')
      .filter((l) => !/^\s*nameserver\s+(127\.|::1)/.test(l))
      .join('\n');
  } catch {
    resolv = '';
  }
  await fsp.writeFile(c.ResolvConfPath, resolv);
}

/**
 * /etc/hosts: dockerd's defaults, --add-host entries and the container's
 * own address (rewritten in place once the bridge has given it one); a
 * host-network container gets the host's file plus its --add-host entries.
 */
export async function writeHosts(c: ContainerRecord): Promise<void> {
  const extra = (c.HostConfig.ExtraHosts ?? []).map((h) => {
    const i = h.indexOf(':');
    return `${h.slice(i + 1)}\t${h.slice(0, i)}`;
  });
  if (c.NetworkAttachment?.mode === 'host') {
    const own = await fsp.readFile('/etc/hosts', 'utf8').catch(() => '127.0.0.1\tlocalhost\n');
    await fsp.writeFile(c.HostsPath, `${own.trimEnd()}\n${extra.map((l) => `${l}\n`).join('')}`);
    return;
  }
  const ep = c.NetworkAttachment?.endpoint;
  const hosts = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::\tip6-localnet',
    'ff00::\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    ...extra,
    // The container's own address last, as dockerd writes it.
    ...(ep ? [`${ep.ip}\t${c.Config.Hostname ?? ''}`] : []),
  ];
  await fsp.writeFile(c.HostsPath, `${hosts.join('\n')}\n`);
}
