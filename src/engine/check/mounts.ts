/**
 * @module engine/check/mounts
 * Mounts under the data and exec roots that nothing uses any more: a
 * container's root filesystem left mounted by a daemon killed during a start
 * or an exit, a namespace pin, a task's root, a volume's device. What is
 * expected is said by the caller (running containers, work in progress);
 * everything else below the roots is a leftover, unmounted lazily,
 * deepest first.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { run } from '../../util/exec.js';
import type { Finding } from './finding.js';

/** Mount points from /proc/self/mountinfo (octal escapes undone). */
export async function mountPoints(): Promise<string[]> {
  const info = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  const out: string[] = [];
  for (const line of info.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp) out.push(mp.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/**
 * Leftover mounts strictly below any of `roots`. `expected(mp)`: whether a
 * mount point is in use; anything mounted below an expected one is part of
 * it (a container's own submounts).
 */
export async function mountLeftovers(roots: string[], expected: (mp: string) => boolean): Promise<Finding[]> {
  const under = (p: string, root: string) => p.startsWith(root.endsWith('/') ? root : `${root}/`);
  const all = [...new Set(await mountPoints())].filter((mp) => roots.some((r) => under(mp, path.resolve(r))));
  const kept = all.filter(expected);
  const stray = all.filter((mp) => !kept.some((k) => mp === k || under(mp, k)));
  // Deepest first: a mount below another goes before it.
  stray.sort((a, b) => b.split('/').length - a.split('/').length);
  return stray.map((mp) => ({
    kind: 'mount-leftover',
    subject: mp,
    message: 'mounted, but nothing uses it',
    action: 'unmount it',
    fix: async () => {
      const r = await run('umount', [mp], { allowFailure: true });
      if (r.code !== 0) await run('umount', ['-l', mp]);
    },
  }));
}
