/**
 * @module engine/network/link-aliases
 * `--link child:alias` on a user-defined network, as dockerd has it: not a
 * legacy link (no /etc/hosts line, no variables) but a name that only the
 * linking container resolves, to the child's address on that network. The
 * links come per network from EndpointsConfig.Links (`network connect
 * --link`) and, for the network the container was created on, from
 * HostConfig.Links (`run --network N --link`). ./dns.ts serves them.
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
