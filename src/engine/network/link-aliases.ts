/**
 * @module engine/network/link-aliases
 * `--link child:alias` on a user-defined network, as dockerd has it: not a
 * legacy link (no variables, no refusal when the child is not running) but a
 * name that only the linking container resolves, to the child's address on
 * that network. The links come per network from EndpointsConfig.Links
 * (`network connect --link`; the docker CLI also puts `run --link` there) and,
 * for the network the container was created on, from HostConfig.Links.
 *
 * dockerd's resolver answers them for the linking container alone. aardvark
 * 1.4 scopes names by network only; a network of its own per linking
 * container works until aardvark reloads while a query is in flight, after
 * which it answers nothing at all (its extra listener's thread does not
 * stop). So berth writes the names into the linking container's /etc/hosts
 * at its start (../container/links.ts), which only it reads: they resolve
 * through the C library as dockerd's do (not through nslookup). They follow
 * the child as dockerd's answer does: whenever a network's members change
 * (a start, stop, connect, disconnect, rename), the running containers with
 * links on it get their /etc/hosts rewritten (../container/links.ts
 * followNetworkLinks), the alias at the child's address now or absent.
 */
/** A NetworkMode naming a user-defined network (not bridge/default/host/none/container:). */
export function isUserDefinedMode(mode: string): boolean {
  return !['', 'bridge', 'default', 'host', 'none'].includes(mode) && !mode.startsWith('container:');
}

/** What networkLinks() reads of a container. */
export interface LinkingContainer {
  HostConfig?: { NetworkMode?: string; Links?: string[] | null };
  EndpointsConfig?: Record<string, { NetworkID?: string; Links?: string[] | null }>;
}

/**
 * The links a container has on the user-defined network `network` (name and
 * ID): `child` (a container name) under `alias`, from the network's
 * EndpointsConfig.Links and, on the network it was created on, --link.
 */
export function networkLinks(c: LinkingContainer, network: { Name: string; Id: string }): { child: string; alias: string }[] {
  const given = [...(c.EndpointsConfig?.[network.Name]?.Links ?? [])];
  const mode = c.HostConfig?.NetworkMode ?? '';
  if (mode === network.Name || mode === network.Id) given.push(...(c.HostConfig?.Links ?? []));
  const out = new Map<string, string>();
  for (const l of given) {
    const i = l.indexOf(':');
    const child = (i < 0 ? l : l.slice(0, i)).replace(/^\//, '');
    const alias = (i < 0 ? child : l.slice(i + 1)).replace(/^.*\//, '');
    if (child && alias) out.set(alias, child);
  }
  return [...out].map(([alias, child]) => ({ child, alias }));
}
