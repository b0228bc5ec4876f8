/**
 * @module engine/network/netns-kinds
 * The kinds of namespace a container on a bridge starts in (./netns.ts keeps
 * a spare of each kind lately used): plain (loopback up), with the embedded
 * DNS rules of a user network's gateway, and the default bridge's wired
 * ahead.
 *
 * The wired kind is what most containers take, and it takes the CNI plugins
 * (two Go binaries, ~30 ms of CPU that competed with the rest of the start
 * on this 2-core machine) off the start's path: the spare's veth is on the
 * bridge and has its address, leased by host-local to the spare's own ID.
 * A container taking it takes the lease over (the lease file names the
 * container instead), after which its endpoint is the same as one CNI
 * wired for it: released the same way, found the same way by a check. Only
 * a container that asks for nothing more of its endpoint takes one: no
 * published port, MAC address, link-local address or sysctl, and no
 * network besides the default bridge.
 */
import type { BridgeEndpoint, BridgeNetwork, PortBinding } from './bridge.js';
import { embeddedDnsSetup } from './embedded-dns.js';
import type { NetnsKind } from './netns.js';
import type { EndpointConfig } from './networks.js';
import { reassignLease } from './user-bridge.js';

/** A spare's endpoint on the default bridge, and the ID its address is leased to until taken. */
export interface PrewiredBridge {
  owner: string;
  endpoint: BridgeEndpoint;
}

export const PLAIN: NetnsKind = { key: 'plain' };

/** A namespace whose 127.0.0.11 goes to aardvark on `gateway` (a user network's). */
export function dnsKind(gateway: string): NetnsKind {
  return { key: `dns ${gateway}`, setup: embeddedDnsSetup(gateway) };
}

/** The ID a spare's address is leased to (host-local's CNI_CONTAINERID); kept by the daemon holding the spare. */
export function spareOwner(name: string): string {
  return `berth-spare-${name}`;
}

/** The default bridge's kind: wired once made; a dropped one gives its address back. */
export function wiredBridgeKind(bridge: BridgeNetwork): NetnsKind<PrewiredBridge> {
  return {
    key: 'bridge',
    prepare: async (netns, name) => ({ owner: spareOwner(name), endpoint: await bridge.connect(spareOwner(name), netns, []) }),
    discard: (name, p) => bridge.disconnect(spareOwner(name), '', p.endpoint),
  };
}

/** Whether a container on the default bridge (its only network) can take a wired spare: it asks nothing more of the endpoint. */
export function takesWired(eps: Record<string, EndpointConfig> | undefined, ports: PortBinding[]): boolean {
  const names = Object.keys(eps ?? {});
  const cfg = eps?.bridge;
  if (ports.length > 0 || names.length > (cfg ? 1 : 0)) return false;
  return !cfg?.MacAddress && !cfg?.IPAMConfig?.LinkLocalIPs?.length && !cfg?.DriverOpts?.['com.docker.network.endpoint.sysctls'];
}

/** Hands a wired spare's endpoint to container `id`: its address lease changes hands. */
export async function handOver(bridge: BridgeNetwork, p: PrewiredBridge, id: string): Promise<BridgeEndpoint> {
  await reassignLease(bridge.leaseDir(), p.endpoint.ip, p.owner, id, p.endpoint.ifName ?? 'eth0');
  return p.endpoint;
}

