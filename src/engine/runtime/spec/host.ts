// Facts about the host that change what spec dockerd would write: cgroup
// version, swap accounting, per-CPU paths to mask, and the device nodes a
// --privileged container gets. Cached where they cannot change while the
// daemon runs.
import { access, lstat, readdir, readFile, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { LinuxDevice } from './types.js';

const CGROUP2_SUPER_MAGIC = 0x63677270;

let cgroup2: Promise<boolean> | undefined;

/**
 * True on a pure cgroup v2 host. A hybrid host (v1 controllers, a v2 mount at
 * /sys/fs/cgroup/unified with nothing in it) is v1 for our purposes, as for runc.
 */
export function isCgroup2(): Promise<boolean> {
  cgroup2 ??= statfs('/sys/fs/cgroup').then(
    (s) => s.type === CGROUP2_SUPER_MAGIC,
    () => false,
  );
  return cgroup2;
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

let swapLimit: Promise<boolean> | undefined;

/**
 * Whether a memory+swap limit can be set. On v1 it needs swap accounting
 * (memory.memsw.*); without it runc fails writing the file, and dockerd
 * drops the swap limit with a warning instead (verifyPlatformContainerResources).
 */
export function swapLimitSupported(): Promise<boolean> {
  swapLimit ??= isCgroup2().then((v2) =>
    v2 ? true : exists('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'),
  );
  return swapLimit;
}

/**
 * The CPUs or memory nodes containers may use, as moby's sysinfo reads them:
 * the cpuset cgroup root's list (v1), or the root's effective list (v2).
 */
export async function hostCpuset(what: 'cpus' | 'mems'): Promise<string> {
  const file = (await isCgroup2()) ? `/sys/fs/cgroup/cpuset.${what}.effective` : `/sys/fs/cgroup/cpuset/cpuset.${what}`;
  return (await readFile(file, 'utf8').catch(() => '')).trim();
}

/** "0-3,8,10-11" → [0,1,2,3,8,10,11] (the /sys/devices/system/cpu/possible format). */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

let thermal: Promise<string[]> | undefined;

/**
 * The per-CPU thermal_throttle directories moby masks (GHSA-6fw5-f8r9-fgfm),
 * only those that exist: runc would otherwise bind /dev/null onto a missing path.
 */
export function thermalThrottlePaths(): Promise<string[]> {
  thermal ??= (async () => {
    let cpus: number[];
    try {
      cpus = parseCpuList(await readFile('/sys/devices/system/cpu/possible', 'utf8'));
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const cpu of cpus) {
      const p = `/sys/devices/system/cpu/cpu${cpu}/thermal_throttle`;
      if (await exists(p)) out.push(p);
    }
    return out;
  })();
  return thermal;
}

/** glibc gnu_dev_major / gnu_dev_minor on a 64-bit dev_t. */
export function devMajor(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}
export function devMinor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
}

// containerd oci.HostDevices skips these: pseudo-filesystems the spec mounts
// itself, and LXC/LXD/udev private directories.
const SKIP_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/**
 * Every device node under `dir`, as containerd's oci.HostDevices lists them
 * for a privileged container (char, block and FIFO nodes; symlinks and
 * /dev/console skipped; runc sets up the console itself).
 */
export async function hostDevices(dir = '/dev'): Promise<LinuxDevice[]> {
  const out: LinuxDevice[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) out.push(...(await hostDevices(full)));
      continue;
    }
    if (e.name === 'console') continue;
    let st;
    try {
      st = await lstat(full, { bigint: true });
    } catch {
      continue; // vanished (hotplug) or unreadable
    }
    const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : st.isFIFO() ? 'p' : undefined;
    if (!type) continue;
    out.push({
      path: full,
      type,
      major: devMajor(st.rdev),
      minor: devMinor(st.rdev),
      fileMode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
    });
  }
  return out;
}
