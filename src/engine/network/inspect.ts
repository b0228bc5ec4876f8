/**
 * @module engine/network/inspect
 * Docker's shapes for a container's networking: inspect's NetworkSettings
 * (with the legacy top-level fields for the default bridge) and the `Ports`
 * list of `GET /containers/json`.
 */
import { createHash } from 'node:crypto';
import type { EndpointResource, EndpointSettings, Network, PortMap, PortSummary } from '../../common/api/index.js';
import type { NetworkAttachment } from './service.js';
import type { EndpointConfig } from './networks.js';

interface Networked {
  Id: string;
  State: { Running: boolean };
  HostConfig: { NetworkMode?: string };
  Config: { ExposedPorts?: Record<string, unknown> | null; Hostname?: string };
  Name: string;
  NetworkAttachment?: NetworkAttachment;
  EndpointsConfig?: Record<string, EndpointConfig>;
}

const fixedIds = new Map<string, string>();

/** Network IDs: the bridge's is kept on disk; host and none get a fixed one per name (computed once: ps asks per container). */
export function networkId(name: string, bridgeId: string | undefined): string {
  if (name === 'bridge' && bridgeId) return bridgeId;
  let id = fixedIds.get(name);
  if (!id) fixedIds.set(name, (id = createHash('sha256').update(`berth-network:${name}`).digest('hex')));
  return id;
}

function networkName(c: Networked): string | null {
  const mode = c.HostConfig.NetworkMode ?? 'none';
  return mode.startsWith('container:') ? null : mode;
}

/** One entry of NetworkSettings.Networks (EndpointSettings): what was asked (EndpointsConfig), with what the endpoint got while running. */
function endpointSettings(c: Networked, name: string, bridgeId: string | undefined): EndpointSettings {
  const cfg = c.EndpointsConfig?.[name];
  const user = cfg?.NetworkID && name !== 'bridge' ? cfg.NetworkID : undefined;
  const ep = !c.State.Running ? undefined : user ? c.NetworkAttachment?.endpoints?.[user] : c.NetworkAttachment?.endpoint;
  // Only user networks' endpoints have IPv6 (`--ipv6`).
  const v6 = user && ep ? c.NetworkAttachment?.endpoints?.[user] : undefined;
  const dnsNames = user && ep ? [...new Set([c.Name.replace(/^\//, ''), ...(cfg?.Aliases ?? []), c.Id.slice(0, 12), ...(c.Config.Hostname ? [c.Config.Hostname] : [])])] : null;
  return {
    IPAMConfig: cfg?.IPAMConfig ?? null,
    Links: cfg?.Links ?? null,
    Aliases: cfg?.Aliases ?? null,
    MacAddress: ep?.mac || cfg?.MacAddress || '',
    DriverOpts: cfg?.DriverOpts ?? null,
    GwPriority: cfg?.GwPriority ?? 0,
    NetworkID: user ?? networkId(name, bridgeId),
    EndpointID: ep?.endpointId ?? '',
    Gateway: ep?.gateway ?? '',
    IPAddress: ep?.ip ?? '',
    IPPrefixLen: ep?.prefixLen ?? 0,
    IPv6Gateway: v6?.gateway6 ?? '',
    GlobalIPv6Address: v6?.ipv6 ?? '',
    GlobalIPv6PrefixLen: v6?.prefixLen6 ?? 0,
    DNSNames: dnsNames,
  };
}

/** NetworkSettings.Networks: every network the container is configured for. */
function networks(c: Networked, bridgeId: string | undefined): Record<string, EndpointSettings> {
  const name = networkName(c);
  if (!name) return {};
  const names = c.EndpointsConfig && name !== 'host' && name !== 'none' ? Object.keys(c.EndpointsConfig) : [name];
  return Object.fromEntries(names.map((n) => [n, endpointSettings(c, n, bridgeId)]));
}

/** NetworkSettings.Ports: published ports with their host side; exposed ones without a binding are null. */
function portMap(c: Networked): PortMap {
  const out: PortMap = {};
  if (!c.State.Running || c.NetworkAttachment?.mode !== 'bridge') return out;
  for (const key of Object.keys(c.Config.ExposedPorts ?? {})) out[key] = null;
  const eps = [c.NetworkAttachment.endpoint, ...Object.values(c.NetworkAttachment.endpoints ?? {})];
  for (const p of eps.flatMap((e) => e?.ports ?? [])) {
    const key = `${p.containerPort}/${p.protocol}`;
    (out[key] ??= []).push({ HostIp: p.hostIP, HostPort: String(p.hostPort) });
  }
  return out;
}

export function inspectNetworkSettings(c: Networked, bridgeId: string | undefined): Record<string, unknown> {
  const a = c.State.Running ? c.NetworkAttachment : undefined;
  const ep = a?.endpoint;
  return {
    Bridge: '',
    SandboxID: a?.netns ? createHash('sha256').update(a.netns + c.Id).digest('hex') : '',
    SandboxKey: a?.netns ?? '',
    Ports: portMap(c),
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: ep?.endpointId ?? '',
    Gateway: ep?.gateway ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: ep?.ip ?? '',
    IPPrefixLen: ep?.prefixLen ?? 0,
    IPv6Gateway: '',
    MacAddress: ep?.mac ?? '',
    Networks: networks(c, bridgeId),
  };
}

/** `GET /containers/json`: Ports and NetworkSettings. */
export function listNetworking(c: Networked, bridgeId: string | undefined): { Ports: PortSummary[]; NetworkSettings: { Networks: Record<string, EndpointSettings> } } {
  const ports: PortSummary[] = [];
  for (const [key, bindings] of Object.entries(portMap(c))) {
    const [port, type] = key.split('/');
    if (!bindings) ports.push({ PrivatePort: Number(port), Type: type! });
    else for (const b of bindings) ports.push({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type! });
  }
  return { Ports: ports, NetworkSettings: { Networks: networks(c, bridgeId) } };
}

/** A container as a network's inspect lists it. */
export interface NetworkMember {
  Id: string;
  Name: string;
  NetworkAttachment?: NetworkAttachment;
  HostConfig: { NetworkMode?: string };
  State: { Running: boolean };
}

export interface PredefinedNetworks {
  bridge?: { id: string; name: string; subnet: string; gateway: string; created: string; ipMasq: boolean };
  created: string;
}

/** GET /networks/{id}: Docker's NetworkResource for the predefined networks. */
export function networkResource(name: 'bridge' | 'host' | 'none', nets: PredefinedNetworks, members: NetworkMember[] | null): Network {
  const b = name === 'bridge' ? nets.bridge : undefined;
  const containers: Record<string, EndpointResource> = {};
  for (const c of members ?? []) {
    // On the bridge: whoever has an endpoint there (made there, or connected to it after create).
    if (!c.State.Running) continue;
    if (name === 'bridge' ? !c.NetworkAttachment?.endpoint : (c.HostConfig.NetworkMode ?? 'none') !== name) continue;
    const ep = c.NetworkAttachment?.endpoint;
    containers[c.Id] = {
      Name: c.Name.replace(/^\//, ''),
      EndpointID: ep?.endpointId ?? '',
      MacAddress: ep?.mac ?? '',
      IPv4Address: ep ? `${ep.ip}/${ep.prefixLen}` : '',
      IPv6Address: '',
    };
  }
  return {
    Name: name,
    Id: networkId(name, b?.id),
    Created: b?.created ?? nets.created,
    Scope: 'local',
    Driver: name === 'none' ? 'null' : name,
    EnableIPv4: name === 'bridge',
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: b ? [{ Subnet: b.subnet, Gateway: b.gateway }] : [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: b
      ? {
          'com.docker.network.bridge.default_bridge': 'true',
          'com.docker.network.bridge.enable_icc': 'true',
          'com.docker.network.bridge.enable_ip_masquerade': String(b.ipMasq),
          'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
          'com.docker.network.bridge.name': b.name,
          'com.docker.network.driver.mtu': '1500',
        }
      : {},
    Labels: {},
  };
}
