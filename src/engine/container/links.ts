/**
 * @module engine/container/links
 * Legacy links (`--link name[:alias]`) on the default bridge, as dockerd
 * keeps them: stored as `/child:/parent/alias` in HostConfig.Links; at start
 * the child must be running, and the parent gets an /etc/hosts line for it
 * (`ip alias hostname [name]`) and the environment variables dockerd
 * injects (ALIAS_PORT…, ALIAS_NAME, ALIAS_ENV_…). `rm --link
 * /parent/alias` removes one.
 *
 * On a user-defined network dockerd keeps none of that: a link there is a
 * name the linking container alone resolves (the child's address on the
 * network, under the alias), given per network in EndpointsConfig.Links or,
 * for the network the container is created on, by `--link`; HostConfig.Links
 * is then stored as given; ../network/link-aliases.ts says how they resolve.
 */
import { conflict, invalid, notFound } from '../errors.js';
import { isUserDefinedMode, networkLinks } from '../network/link-aliases.js';
import { writeHosts } from './etc-files.js';
import type { ContainerStore } from './store.js';
import type { ContainerRecord } from './types.js';

/** `name[:alias]` → dockerd's stored form `/name:/parent/alias`; the child must exist. */
export function normalizeLinks(links: string[] | null | undefined, parentName: string, store: ContainerStore, mode: string): string[] | null {
  if (!links?.length) return links ?? null;
  if (mode === 'host') throw invalid("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
  // dockerd registers no legacy link on a user-defined network (its DNS serves them): kept as given.
  if (isUserDefinedMode(mode)) return links;
  return links.map((l) => {
    const [name, alias] = parseLink(l);
    const child = store.find(name);
    if (!child) throw notFound(`could not get container for ${name}`);
    return `${child.Name}:${parentName}/${alias}`;
  });
}

function parseLink(l: string): [string, string] {
  const parts = l.split(':');
  if (parts.length > 2 || !parts[0]) throw invalid(`invalid link format: ${l}`);
  const name = parts[0].replace(/^\//, '');
  const alias = (parts[1] ?? name).replace(/^.*\//, '');
  return [name, alias];
}

/** Exposed ports in dockerd's order: TCP first, then by number. */
function sortedPorts(exposed: Record<string, unknown> | null | undefined): { num: number; proto: string }[] {
  const ports = Object.keys(exposed ?? {}).map((k) => {
    const [n, p] = k.split('/');
    return { num: Number(n), proto: p || 'tcp' };
  });
  return ports.sort((a, b) => (a.proto === b.proto ? a.num - b.num : a.proto === 'tcp' ? -1 : b.proto === 'tcp' ? 1 : a.proto.localeCompare(b.proto)));
}

/** dockerd's link environment for one child (daemon/links). */
export function linkEnv(linkName: string, childIp: string, childEnv: string[], exposed: Record<string, unknown> | null | undefined): string[] {
  const alias = linkName.split('/').pop()!.toUpperCase().replace(/-/g, '_');
  const env: string[] = [];
  const ports = sortedPorts(exposed);
  let start = ports[0];
  let end = ports[0];
  ports.forEach((p, i) => {
    if (i === 0) env.push(`${alias}_PORT=${p.proto}://${childIp}:${p.num}`);
    const prefix = `${alias}_PORT_${p.num}_${p.proto.toUpperCase()}`;
    env.push(`${prefix}=${p.proto}://${childIp}:${p.num}`, `${prefix}_ADDR=${childIp}`, `${prefix}_PORT=${p.num}`, `${prefix}_PROTO=${p.proto}`);
    if (i > 0 && p.num === end!.num + 1 && p.proto === end!.proto) {
      end = p;
      if (i < ports.length - 1) return;
    }
    if (end !== start) {
      const rp = `${alias}_PORT_${start!.num}_${start!.proto.toUpperCase()}`;
      env.push(`${rp}_START=${start!.proto}://${childIp}:${start!.num}`, `${rp}_PORT_START=${start!.num}`);
      env.push(`${rp}_END=${end!.proto}://${childIp}:${end!.num}`, `${rp}_PORT_END=${end!.num}`);
    }
    start = p;
    end = p;
  });
  env.push(`${alias}_NAME=${linkName}`);
  for (const v of childEnv) {
    const i = v.indexOf('=');
    if (i < 0) continue;
    const k = v.slice(0, i);
    if (k === 'HOME' || k === 'PATH') continue;
    env.push(`${alias}_ENV_${k}=${v.slice(i + 1)}`);
  }
  return env;
}

/**
 * What a starting container's links give it: environment and /etc/hosts
 * lines. A child that is not running refuses the start, as dockerd does.
 */
export function linkSetup(c: ContainerRecord, store: ContainerStore): { env: string[]; hosts: string[] } {
  const env: string[] = [];
  const hosts: string[] = [];
  // Only the default bridge has legacy links (dockerd's setupLinkedContainers); on user networks a
  // link is a name for the child's address there, for this container only (../network/link-aliases.ts).
  if (isUserDefinedMode(c.HostConfig.NetworkMode ?? '')) return { env, hosts: networkLinkHosts(c, store) };
  for (const l of c.HostConfig.Links ?? []) {
    const i = l.indexOf(':');
    const childName = l.slice(0, i);
    const linkName = l.slice(i + 1);
    const child = store.find(childName);
    if (!child || !child.State.Running) throw conflict(`Cannot link to a non running container: ${childName} AS ${linkName}`);
    const ip = child.NetworkAttachment?.endpoint?.ip ?? Object.values(child.NetworkAttachment?.endpoints ?? {})[0]?.ip ?? '';
    const alias = linkName.split('/').pop()!;
    const names = [alias, child.Config.Hostname ?? '', ...(alias !== child.Name.slice(1) ? [child.Name.slice(1)] : [])].filter(Boolean);
    if (ip) hosts.push(`${ip}\t${names.join(' ')}`);
    env.push(...linkEnv(linkName, ip, child.Config.Env ?? [], child.Config.ExposedPorts));
  }
  return { env, hosts };
}

/**
 * The /etc/hosts lines of a container's links on its user-defined networks:
 * the alias for the child's address there, while the child (by the name
 * linked) is on that network; none for a child that is stopped, removed,
 * renamed away or disconnected, as dockerd's resolver then has no answer.
 */
export function networkLinkHosts(c: ContainerRecord, store: ContainerStore): string[] {
  const hosts: string[] = [];
  for (const [name, cfg] of Object.entries(c.EndpointsConfig ?? {})) {
    if (!cfg.NetworkID || name === 'bridge') continue;
    for (const { child, alias } of networkLinks(c, { Name: name, Id: cfg.NetworkID })) {
      const ip = store.find(child)?.NetworkAttachment?.endpoints?.[cfg.NetworkID]?.ip;
      if (ip) hosts.push(`${ip}\t${alias}`);
    }
  }
  return hosts;
}

/**
 * After the members of user network `networkId` changed: every running
 * container with links on it gets its /etc/hosts rewritten, so that a link
 * alias follows its child (a restart at another address, a rename, a
 * disconnect) as dockerd's DNS answer does, without the linking container
 * restarting.
 */
export async function followNetworkLinks(networkId: string, store: ContainerStore): Promise<void> {
  for (const c of store.list()) {
    if (!c.State.Running || !c.HostsPath || !isUserDefinedMode(c.HostConfig.NetworkMode ?? '')) continue;
    const linked = Object.entries(c.EndpointsConfig ?? {}).some(([name, cfg]) => cfg.NetworkID === networkId && networkLinks(c, { Name: name, Id: networkId }).length > 0);
    if (linked) await writeHosts(c, networkLinkHosts(c, store)).catch(() => undefined);
  }
}

/** `DELETE /containers/{parent/alias}?link=1`: removes the link `/parent/alias` from its parent. */
export function removeLink(name: string, store: ContainerStore): ContainerRecord {
  const full = `/${name.replace(/^\/+/, '')}`;
  const i = full.lastIndexOf('/');
  if (i === 0) throw invalid('Conflict, cannot remove the default link name of the container');
  const parentName = full.slice(0, i);
  const parent = store.find(parentName);
  if (!parent) throw invalid(`Cannot get parent ${parentName} for link name ${full}`);
  const links = (parent.HostConfig.Links ?? []).filter((l) => l.slice(l.indexOf(':') + 1) !== full);
  if (links.length === (parent.HostConfig.Links ?? []).length) throw notFound(`No such link: ${full}`);
  parent.HostConfig = { ...parent.HostConfig, Links: links.length ? links : null };
  return parent;
}

