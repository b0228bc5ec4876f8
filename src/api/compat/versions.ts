/**
 * What changes with the API version a request names (`/v1.41/...`): dockerd
 * 28 serves every version from 1.24 to 1.51 and, for an older client,
 * behaves as that version did. Each gate sits here, one function per
 * resource, with the line of the Engine API changelog
 * (../shared/reference/docker-engine-api-CHANGELOG.md) it follows; the
 * handlers in this folder call them and stay free of version arithmetic.
 * Changes the changelog calls "not versioned" apply to every version and
 * have no gate.
 */
import type { ContainerCreateBody, ContainerUpdateBody, HealthConfig, Mount } from '../../common/api/container.js';
import { invalid } from '../../engine/errors.js';
import type { ImageSummary } from '../../common/api/image.js';
import type { Filters } from '../../common/api/filters.js';
import { versionAtLeast } from '../server.js';

const below = (version: string, v: string): boolean => !versionAtLeast(version, v);

// ---------------------------------------------------------------- containers

/** POST /containers/create: fields an older client cannot have meant, reset as moby's postContainersCreate does. */
export function containerCreateCompat(version: string, body: ContainerCreateBody): void {
  const host = body.HostConfig;
  // v1.25: "POST /containers/create now takes AutoRemove in HostConfig" (before, the client removed the container).
  if (host && below(version, '1.25')) host.AutoRemove = false;
  // v1.42: "POST /containers/create on Linux now respects the HostConfig.ConsoleSize property".
  if (host && below(version, '1.42')) host.ConsoleSize = [0, 0];
  // v1.42: "Removed the KernelMemory field … any value it is set to will be ignored on API version v1.42 and up".
  if (host && versionAtLeast(version, '1.42')) delete (host as { KernelMemory?: number }).KernelMemory;
  // v1.43: "POST /containers/create now accepts Annotations as part of HostConfig".
  if (host && below(version, '1.43')) host.Annotations = null;
  // v1.44: "POST /containers/create now accepts a HealthConfig.StartInterval".
  const health = body.Healthcheck as HealthConfig | null | undefined;
  if (health && below(version, '1.44')) health.StartInterval = 0;
  mountsCompat(version, host?.Mounts ?? []);
  const endpoints = body.NetworkingConfig?.EndpointsConfig ?? {};
  // v1.44: "POST /containers/create now accepts multiple EndpointSettings in NetworkingConfig.EndpointSettings".
  if (below(version, '1.44') && Object.keys(endpoints).length > 1) {
    throw invalid(`Container cannot be created with multiple network endpoints: ${Object.keys(endpoints).join(', ')}`);
  }
  // v1.48: "now accept a GwPriority field in EndpointsConfig" (before, every endpoint had the same priority).
  if (below(version, '1.48')) for (const ep of Object.values(endpoints)) if (ep) ep.GwPriority = 0;
}

/** HostConfig.Mounts options by version, with moby's messages (postContainersCreate). */
function mountsCompat(version: string, mounts: Mount[]): void {
  for (const m of mounts) {
    if (below(version, '1.42')) {
      // v1.42: "allow to set CreateMountpoint", and "rejects request if BindOptions|VolumeOptions|TmpfsOptions is set with a non-matching mount Type" (older ones were dropped).
      if (m.BindOptions) m.BindOptions.CreateMountpoint = false;
      if (m.VolumeOptions && m.Type !== 'volume') delete m.VolumeOptions;
      if (m.TmpfsOptions && m.Type !== 'tmpfs') delete m.TmpfsOptions;
    } else {
      if (m.VolumeOptions && m.Type !== 'volume') throw invalid(`VolumeOptions must not be specified on mount type "${m.Type}"`);
      if (m.BindOptions && m.Type !== 'bind') throw invalid(`BindOptions must not be specified on mount type "${m.Type}"`);
      if (m.TmpfsOptions && m.Type !== 'tmpfs') throw invalid(`TmpfsOptions must not be specified on mount type "${m.Type}"`);
    }
    // v1.44: BindOptions.ReadOnlyForceRecursive added; moby refuses it from older clients rather than ignore a safety setting.
    if (below(version, '1.44') && m.Type === 'bind' && m.BindOptions?.ReadOnlyForceRecursive) {
      throw invalid('BindOptions.ReadOnlyForceRecursive needs API v1.44 or newer');
    }
    // v1.45: "POST /containers/create now supports VolumeOptions.Subpath".
    if (below(version, '1.45') && m.VolumeOptions?.Subpath) throw invalid('VolumeOptions.Subpath needs API v1.45 or newer');
    // v1.48: "POST /containers/create now supports Mount of type image".
    if (below(version, '1.48') && m.Type === 'image') throw invalid('Mount type "Image" needs API v1.48 or newer');
  }
}

/** POST /containers/{id}/update. */
export function containerUpdateCompat(version: string, body: ContainerUpdateBody): void {
  // v1.40: "POST /containers/{id}/update now accepts a PidsLimit field"; older clients' values are not read.
  if (below(version, '1.40')) delete body.PidsLimit;
  // v1.42: KernelMemory is ignored from 1.42 on.
  if (versionAtLeast(version, '1.42')) delete (body as { KernelMemory?: number }).KernelMemory;
}

/** The `signal` query parameter of stop and restart (v1.42: "now accept a signal query parameter"). */
export function stopSignalParam(version: string, query: URLSearchParams): string | undefined {
  return versionAtLeast(version, '1.42') ? query.get('signal') || undefined : undefined;
}

/** The `condition` of POST /containers/{id}/wait; before v1.30 ("now accepts a condition query parameter") it is not read. */
export function waitConditionParam(version: string, query: URLSearchParams): string {
  return (versionAtLeast(version, '1.30') ? query.get('condition') : null) || 'not-running';
}

/** GET /containers/json entries. */
export function containerListCompat(version: string, list: { HostConfig?: { Annotations?: unknown } }[]): void {
  // v1.46: "GET /containers/json now returns the annotations of containers".
  if (below(version, '1.46')) for (const c of list) if (c.HostConfig) delete c.HostConfig.Annotations;
}

// ---------------------------------------------------------------- images

/** GET /images/json's query, as the image service takes it. */
export function imageListFilters(version: string, query: URLSearchParams, filters: Filters): Filters {
  // v1.41: "The filter (singular) query parameter … has now been removed … remains available when using API version 1.40 or below".
  const legacy = query.get('filter');
  if (legacy && below(version, '1.41')) return { ...filters, reference: [...(filters.reference ?? []), legacy] };
  return filters;
}

/** Whether GET /images/json counts each image's containers (v1.51: "now sets the value of Containers … previously always -1"). */
export function imageListCountsContainers(version: string): boolean {
  return versionAtLeast(version, '1.51');
}

/** GET /images/json entries. */
export function imageListCompat(version: string, list: ImageSummary[]): void {
  for (const i of list) {
    // v1.43: "no longer includes hardcoded <none>:<none> and <none>@<none> … for untagged images".
    if (below(version, '1.43') && !i.RepoTags?.length && !i.RepoDigests?.length) {
      i.RepoTags = ['<none>:<none>'];
      i.RepoDigests = ['<none>@<none>'];
    }
    // v1.44: "The VirtualSize field … is now omitted".
    if (below(version, '1.44')) i.VirtualSize = i.Size;
  }
}

/** Image config fields that are container settings; shown (always empty) before v1.50 only. */
const LEGACY_IMAGE_CONFIG_FIELDS = ['Hostname', 'Domainname', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce', 'Image'];

/** GET /images/{name}/json. */
export function imageInspectCompat(version: string, out: Record<string, unknown>): void {
  if (below(version, '1.44')) {
    // v1.44: VirtualSize omitted from 1.44; before, a missing Created read as Go's zero time.
    out.VirtualSize = out.Size;
    if (!out.Created) out.Created = '0001-01-01T00:00:00Z';
  }
  // v1.45: "GET /images/{name}/json no longer includes the Container and ContainerConfig fields".
  if (below(version, '1.45')) {
    out.Container = '';
    out.ContainerConfig = out.Config;
  }
  // v1.50: "GET /images/{name}/json no longer returns the following Config fields; Hostname, Domainname, …".
  const config = out.Config as Record<string, unknown> | undefined;
  if (config && versionAtLeast(version, '1.50')) for (const k of LEGACY_IMAGE_CONFIG_FIELDS) delete config[k];
}

// ---------------------------------------------------------------- volumes

/** POST /volumes/prune's filters. */
export function volumePruneFilters(version: string, filters: Filters): Filters {
  // v1.42: "POST /volumes/prune will now only prune anonymous volumes … A new filter parameter all … to get the old behavior".
  return below(version, '1.42') ? { ...filters, all: ['true'] } : filters;
}

// ---------------------------------------------------------------- system

/** GET /info, as moby's getInfo adjusts it for older clients. */
export function infoCompat(version: string, info: Record<string, unknown>): void {
  // v1.25: "GET /info now returns more structured information about security options" (before: names only).
  if (below(version, '1.25') && Array.isArray(info.SecurityOptions)) {
    info.SecurityOptions = (info.SecurityOptions as string[]).map((o) => /(?:^|,)name=([^,]*)/.exec(o)?.[1] ?? o);
  }
  // v1.49: "The ContainerdCommit.Expected, RuncCommit.Expected, and InitCommit.Expected fields … are now omitted".
  if (below(version, '1.49')) {
    for (const k of ['ContainerdCommit', 'RuncCommit', 'InitCommit']) {
      const commit = info[k] as { ID?: string; Expected?: string } | undefined;
      if (commit) commit.Expected = commit.ID ?? '';
    }
  }
  // v1.50: "The BridgeNfIptables and BridgeNfIp6tables fields … are now omitted" (always false before).
  if (below(version, '1.50')) {
    info.BridgeNfIptables = false;
    info.BridgeNfIp6tables = false;
  }
}

/** GET /system/df: the images part follows GET /images/json (v1.44: VirtualSize omitted). */
export function diskUsageCompat(version: string, df: { Images?: ImageSummary[] | null }): void {
  if (below(version, '1.44')) for (const i of df.Images ?? []) i.VirtualSize = i.Size;
}
