/**
 * @module engine/snapshot/mount
 * The one place that calls mount(8) and umount(8) for snapshots: a
 * snapshotter returns mounts as data (./snapshotter.ts), and whoever runs a
 * container or a build step mounts them here.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { run } from '../../util/exec.js';
import type { Mount } from './snapshotter.js';

/** Mounts `mounts` (one overlay or bind mount) at `target`; a no-op when something is mounted there already. */
export async function mountAll(mounts: Mount[], target: string): Promise<void> {
  if (await isMountPoint(target)) return;
  for (const m of mounts) {
    const args = m.type === 'bind' ? ['--bind', ...(m.options.length ? ['-o', m.options.join(',')] : []), m.source, target] : ['-t', m.type, m.source, '-o', m.options.join(','), target];
    await run('mount', args, m.cwd ? { cwd: m.cwd } : {});
  }
}

/** Unmounts `target` if mounted; lazily when something still holds it busy. */
export async function unmount(target: string): Promise<void> {
  if (!(await isMountPoint(target))) return;
  await run('umount', [target], { allowFailure: true });
  if (await isMountPoint(target)) await run('umount', ['-l', target]);
}

/** True when `p` is listed in /proc/self/mountinfo as a mount point. */
export async function isMountPoint(p: string): Promise<boolean> {
  const info = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  const want = path.resolve(p);
  for (const line of info.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp && unescapeMountPath(mp) === want) return true;
  }
  return false;
}

function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}
