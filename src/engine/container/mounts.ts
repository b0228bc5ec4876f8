/**
 * User mounts of a container: `-v /host:/ctr[:ro]` (HostConfig.Binds) and
 * `--mount type=bind|tmpfs` (HostConfig.Mounts), checked at create as
 * dockerd checks them, turned into OCI mounts at start, and reported in
 * inspect's `Mounts`. Named volumes need a volume store, which berth does
 * not have yet: they are refused with a clear error rather than ignored.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { EngineError, invalid } from '../errors.js';
import type { HostConfig } from './types.js';

export interface UserMount {
  Type: 'bind' | 'tmpfs';
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
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

/** Parses and checks the container's mounts; creates missing `-v` host directories as dockerd does. */
export async function resolveMounts(h: HostConfig): Promise<UserMount[]> {
  const out: UserMount[] = [];
  for (const spec of h.Binds ?? []) {
    const parts = spec.split(':');
    if (parts.length < 2 || parts.length > 3) throw invalid(`invalid volume specification: '${spec}'`);
    const [src, dst, mode = ''] = parts as [string, string, string?];
    if (!dst.startsWith('/')) throw invalid(`invalid volume specification: '${spec}': invalid mount config for type "bind": invalid mount path: '${dst}' mount path must be absolute`);
    if (!src.startsWith('/')) {
      throw new EngineError('notimplemented', `named volumes are not supported yet ('${src}'): use a host path (-v /host/dir:${dst})`);
    }
    const opts = mode.split(',').filter(Boolean);
    for (const o of opts) if (!['ro', 'rw', 'z', 'Z', ...PROPAGATIONS].includes(o)) throw invalid(`invalid mode: ${mode}`);
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
      throw new EngineError('notimplemented', `named volumes are not supported yet (--mount type=volume, target ${target})`);
    } else {
      throw invalid(`invalid mount config: mount type unknown: "${m.Type}"`);
    }
  }
  const seen = new Set<string>();
  for (const m of out) {
    if (seen.has(m.Destination)) throw invalid(`Duplicate mount point: ${m.Destination}`);
    seen.add(m.Destination);
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

/** inspect's `Mounts`. */
export function inspectMounts(mounts: UserMount[]): object[] {
  return mounts.map((m) => ({ Type: m.Type, Source: m.Source, Destination: m.Destination, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation }));
}
