// Docker's default container mounts (moby daemon/pkg/oci/defaults.go) and
// the way WithMounts combines them with the caller's bind and tmpfs mounts.
import path from 'node:path';
import { SpecError } from './errors.js';
import type { Mount } from './types.js';

export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** Fresh copies of moby's DefaultLinuxSpec mounts, in moby's order. */
export function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777'] },
  ];
}

// moby/sys/mount flags.go: option → [clears?, flag]. Options sharing a flag
// collide ("rw" vs "ro"); all propagation options collide with each other.
const MS_RDONLY = 0x1;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_SYNCHRONOUS = 0x10;
const MS_REMOUNT = 0x20;
const MS_MANDLOCK = 0x40;
const MS_DIRSYNC = 0x80;
const MS_NOATIME = 0x400;
const MS_NODIRATIME = 0x800;
const MS_BIND = 0x1000;
const MS_REC_BIND = 0x1000 | 0x4000;
const MS_UNBINDABLE = 1 << 17;
const MS_PRIVATE = 1 << 18;
const MS_SLAVE = 1 << 19;
const MS_SHARED = 1 << 20;
const MS_RELATIME = 1 << 21;
const MS_STRICTATIME = 1 << 24;
const MS_REC = 0x4000;

const MOUNT_FLAGS: Record<string, number> = {
  ro: MS_RDONLY,
  rw: MS_RDONLY,
  suid: MS_NOSUID,
  nosuid: MS_NOSUID,
  dev: MS_NODEV,
  nodev: MS_NODEV,
  exec: MS_NOEXEC,
  noexec: MS_NOEXEC,
  sync: MS_SYNCHRONOUS,
  async: MS_SYNCHRONOUS,
  dirsync: MS_DIRSYNC,
  remount: MS_REMOUNT,
  mand: MS_MANDLOCK,
  nomand: MS_MANDLOCK,
  atime: MS_NOATIME,
  noatime: MS_NOATIME,
  diratime: MS_NODIRATIME,
  nodiratime: MS_NODIRATIME,
  bind: MS_BIND,
  rbind: MS_REC_BIND,
  unbindable: MS_UNBINDABLE,
  runbindable: MS_UNBINDABLE | MS_REC,
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  shared: MS_SHARED,
  rshared: MS_SHARED | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
  relatime: MS_RELATIME,
  norelatime: MS_RELATIME,
  strictatime: MS_STRICTATIME,
  nostrictatime: MS_STRICTATIME,
};
const PROPAGATION = new Set(['unbindable', 'runbindable', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const TMPFS_DATA = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);

/**
 * moby/sys/mount MergeTmpfsOptions: later options win over earlier ones of
 * the same kind, so the user's "exec" beats the default "noexec" and "rw"
 * beats "ro"; data options must be ones tmpfs knows.
 */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const seenFlags = new Set<number | 'propagation'>();
  const seenData = new Set<string>();
  const out: string[] = [];
  for (let i = options.length - 1; i >= 0; i--) {
    const opt = options[i];
    if (opt === 'defaults') continue;
    const flag = MOUNT_FLAGS[opt];
    if (flag !== undefined) {
      const key = PROPAGATION.has(opt) ? 'propagation' : flag;
      if (!seenFlags.has(key)) {
        out.unshift(opt);
        seenFlags.add(key);
      }
      continue;
    }
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    if (eq < 0 || !TMPFS_DATA.has(key)) {
      throw new SpecError('invalid', `invalid tmpfs option "${opt}"`);
    }
    if (!seenData.has(key)) {
      out.unshift(opt);
      seenData.add(key);
    }
  }
  return out;
}

/** A --tmpfs mount as moby WithMounts writes it. */
export function tmpfsMount(destination: string, data: string): Mount {
  if (!path.posix.isAbsolute(destination)) {
    throw new SpecError('invalid', `invalid mount config for type "tmpfs": invalid mount path: '${destination}' mount path must be absolute`);
  }
  const opts = ['noexec', 'nosuid', 'nodev', 'rprivate'];
  if (data !== '') opts.push(...data.split(','));
  return { destination, type: 'tmpfs', source: 'tmpfs', options: mergeTmpfsOptions(opts) };
}

/** Depth of a destination: moby sorts user mounts by it so parents mount before children. */
export function mountDepth(destination: string): number {
  let p = path.posix.normalize(destination);
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1); // filepath.Clean drops it too
  return (p.match(/\//g) ?? []).length;
}

/** moby clearReadOnly. */
export function clearReadOnly(m: Mount): void {
  m.options = (m.options ?? []).filter((o) => o !== 'ro');
}
