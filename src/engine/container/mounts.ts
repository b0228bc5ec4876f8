/**
 * User mounts of a container: `-v /host:/ctr[:ro]`, `-v name:/ctr` and
 * `-v /ctr` (HostConfig.Binds), `--mount type=bind|volume|tmpfs`
 * (HostConfig.Mounts) and the image's VOLUMEs, checked at create as dockerd
 * checks them (named volumes are created then, anonymous ones made), turned
 * into OCI mounts at start, and reported in inspect's `Mounts`.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { invalid, notFound } from '../errors.js';
import type { HostConfig } from './types.js';

export interface UserMount {
  Type: 'bind' | 'tmpfs' | 'volume';
  /** Volumes: the volume's name. */
  Name?: string;
  /** Volumes: fill an empty volume with the image's files at the mount path on start (not `nocopy`). */
  CopyData?: boolean;
  Source: string;
  Destination: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

interface ApiMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

/** What resolveMounts needs of the volume store: named volumes are created if missing, anonymous ones made. */
export interface VolumeProvider {
  volume(name: string | undefined, o?: { labels?: Record<string, string> }): Promise<{ name: string; mountpoint: string }>;
}

/**
 * Parses and checks the container's mounts; creates missing `-v` host
 * directories and volumes as dockerd does. `imageVolumes`: the image's
 * VOLUME paths, each an anonymous volume unless something else is mounted
 * there.
 */
export async function resolveMounts(h: HostConfig, volumes: VolumeProvider, imageVolumes: string[] = [], inherited: UserMount[] = []): Promise<UserMount[]> {
  const out: UserMount[] = [];
  for (const spec of h.Binds ?? []) {
    const parts = spec.split(':');
    if (parts.length > 3) throw invalid(`invalid volume specification: '${spec}'`);
    if (parts.length === 1) {
      // -v /path: an anonymous volume.
      if (!spec.startsWith('/')) throw invalid(`invalid volume specification: '${spec}': invalid mount config for type "volume": invalid mount path: '${spec}' mount path must be absolute`);
      const v = await volumes.volume(undefined);
      out.push({ Type: 'volume', Name: v.name, CopyData: true, Source: v.mountpoint, Destination: path.posix.normalize(spec), Mode: '', RW: true, Propagation: '' });
      continue;
    }
    const [src, dst, mode = ''] = parts as [string, string, string?];
    if (!dst.startsWith('/')) throw invalid(`invalid volume specification: '${spec}': invalid mount config for type "bind": invalid mount path: '${dst}' mount path must be absolute`);
    const opts = mode.split(',').filter(Boolean);
    for (const o of opts) if (!['ro', 'rw', 'z', 'Z', 'nocopy', ...PROPAGATIONS].includes(o)) throw invalid(`invalid mode: ${mode}`);
    if (!src.startsWith('/')) {
      // -v name:/path: a named volume, created if missing.
      const v = await volumes.volume(src);
      out.push({
        Type: 'volume', Name: v.name, CopyData: !opts.includes('nocopy'), Source: v.mountpoint, Destination: path.posix.normalize(dst),
        Mode: mode || 'z', RW: !opts.includes('ro'), Propagation: '',
      });
      continue;
    }
    // `-v` creates a missing host directory (unlike --mount).
    await fsp.mkdir(src, { recursive: true });
    out.push({
      Type: 'bind',
      Source: path.resolve(src),
      Destination: path.posix.normalize(dst),
      Mode: mode,
      RW: !opts.includes('ro'),
      Propagation: opts.find((o) => PROPAGATIONS.has(o)) ?? 'rprivate',
    });
  }
  for (const m of (h.Mounts as ApiMount[] | undefined) ?? []) {
    const target = m.Target ?? '';
    if (!target.startsWith('/')) throw invalid(`invalid mount config for type "${m.Type}": invalid mount path: '${target}' mount path must be absolute`);
    if (m.Type === 'bind') {
      const src = m.Source ?? '';
      if (!src.startsWith('/')) throw invalid(`invalid mount config for type "bind": invalid mount path: '${src}' mount path must be absolute`);
      const exists = await fsp.stat(src).then(() => true, () => false);
      if (!exists) {
        if (!m.BindOptions?.CreateMountpoint) throw invalid(`invalid mount config for type "bind": bind source path does not exist: ${src}`);
        await fsp.mkdir(src, { recursive: true });
      }
      out.push({ Type: 'bind', Source: src, Destination: path.posix.normalize(target), Mode: '', RW: !m.ReadOnly, Propagation: m.BindOptions?.Propagation || 'rprivate' });
    } else if (m.Type === 'tmpfs') {
      out.push({ Type: 'tmpfs', Source: '', Destination: path.posix.normalize(target), Mode: '', RW: !m.ReadOnly, Propagation: '' });
    } else if (m.Type === 'volume') {
      const driver = m.VolumeOptions?.DriverConfig?.Name;
      // A 404 as in dockerd 28 (the plugin lookup's not-found kept through the wrapping); the docker CLI then tries a pull first, as it does with dockerd.
      if (driver && driver !== 'local') throw notFound(`create ${m.Source ?? ''}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
      const v = await volumes.volume(m.Source || undefined, { labels: m.VolumeOptions?.Labels });
      out.push({
        Type: 'volume', Name: v.name, CopyData: !m.VolumeOptions?.NoCopy, Source: v.mountpoint, Destination: path.posix.normalize(target),
        Mode: 'z', RW: !m.ReadOnly, Propagation: '',
      });
    } else {
      throw invalid(`invalid mount config: mount type unknown: "${m.Type}"`);
    }
  }
  const seen = new Set<string>();
  for (const m of out) {
    if (seen.has(m.Destination)) throw invalid(`Duplicate mount point: ${m.Destination}`);
    seen.add(m.Destination);
  }
  // --volumes-from: the other containers' mounts, where the container's own do not cover them (dockerd's order).
  for (const m of inherited) {
    if (seen.has(m.Destination)) continue;
    out.push(m);
    seen.add(m.Destination);
  }
  // The image's VOLUMEs not covered by a mount of the user's: anonymous volumes.
  for (const p of imageVolumes) {
    const dst = path.posix.normalize(p);
    if (seen.has(dst)) continue;
    const v = await volumes.volume(undefined);
    out.push({ Type: 'volume', Name: v.name, CopyData: true, Source: v.mountpoint, Destination: dst, Mode: '', RW: true, Propagation: '' });
    seen.add(dst);
  }
  return out;
}

/**
 * `--volumes-from CONTAINER[:ro|rw]`: the mounts (volumes and binds, not
 * tmpfs) of each container, as dockerd copies them: with `ro`/`rw` their
 * mode is forced, otherwise each keeps its own. A container that got mounts
 * through --volumes-from passes them on, so chains work.
 */
export function mountsFrom(specs: string[], lookup: (idOrName: string) => { Id: string; UserMounts?: UserMount[] }, selfId?: string): UserMount[] {
  const out: UserMount[] = [];
  for (const spec of specs) {
    const i = spec.lastIndexOf(':');
    const [name, mode] = i > 0 ? [spec.slice(0, i), spec.slice(i + 1)] : [spec, ''];
    if (mode !== '' && mode !== 'ro' && mode !== 'rw') throw invalid(`invalid mode for volumes-from: ${mode}`);
    const src = lookup(name);
    if (src.Id === selfId) throw invalid('cannot mount volumes from own container');
    for (const m of src.UserMounts ?? []) {
      if (m.Type === 'tmpfs') continue;
      out.push({ ...m, RW: mode === '' ? m.RW : mode === 'rw', CopyData: false });
    }
  }
  return out;
}

/** The OCI mounts for the user mounts. */
export function ociMounts(mounts: UserMount[], h: HostConfig): { source: string; destination: string; type: string; options: string[] }[] {
  return mounts.map((m) => {
    if (m.Type === 'tmpfs') {
      const tm = ((h.Mounts as ApiMount[] | undefined) ?? []).find((x) => x.Type === 'tmpfs' && path.posix.normalize(x.Target ?? '') === m.Destination);
      const size = tm?.TmpfsOptions?.SizeBytes;
      const mode = tm?.TmpfsOptions?.Mode;
      return {
        source: 'tmpfs',
        destination: m.Destination,
        type: 'tmpfs',
        options: ['nosuid', 'nodev', 'noexec', m.RW ? 'rw' : 'ro', ...(size ? [`size=${size}`] : []), ...(mode ? [`mode=${mode.toString(8)}`] : [])],
      };
    }
    return { source: m.Source, destination: m.Destination, type: 'bind', options: ['rbind', m.Propagation, m.RW ? 'rw' : 'ro'] };
  });
}

/** inspect's `Mounts` (and ps's): volumes also carry their name and driver, in dockerd's field order. */
export function inspectMounts(mounts: UserMount[]): object[] {
  return mounts.map((m) =>
    m.Type === 'volume'
      ? { Type: m.Type, Name: m.Name, Source: m.Source, Destination: m.Destination, Driver: 'local', Mode: m.Mode, RW: m.RW, Propagation: m.Propagation }
      : { Type: m.Type, Source: m.Source, Destination: m.Destination, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation },
  );
}
