/**
 * @module engine/build/etc-files
 * A RUN step's /etc/hostname, /etc/hosts and /etc/resolv.conf: written as a
 * container's are (container/etc-files.ts) and bind-mounted over the step's
 * root, as dockerd's step containers get them — without them a step that
 * resolves a name (`apt-get update`) finds no server.
 *
 * dockerd keeps the mount points out of the committed layer with its init
 * layer. Here, what runc made for the mounts is taken out of the step's upper
 * directory once its root is unmounted (`tidyUpper`): the placeholder files
 * (still empty: writes went to the mounted files), /etc if the image had
 * none, and /etc's copy-up when nothing else of the step is in it and its
 * owner and mode are the image's. The layer then holds only what the step
 * wrote. A path the image has as a symlink is not mounted over (the mount
 * would land wherever the link points).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeEtcFiles } from '../container/etc-files.js';
import type { NetworkAttachment } from '../network/service.js';

export interface StepEtcMount {
  source: string;
  destination: string;
  options: string[];
}

export interface StepEtcFiles {
  mounts: StepEtcMount[];
  /** After the step, root unmounted: takes the mounts' traces out of its upper directory. */
  tidyUpper(upper: string): Promise<void>;
  /** Removes the written files. */
  done(): Promise<void>;
}

const FILES = { hostname: '/etc/hostname', hosts: '/etc/hosts', 'resolv.conf': '/etc/resolv.conf' } as const;

async function lstatIn(rootfs: string, p: string) {
  return fsp.lstat(path.join(rootfs, p)).catch(() => undefined);
}

/** Writes the step's files under `dir` and says what to mount where. */
export async function stepEtcFiles(rootfs: string, dir: string, hostname: string, attachment: NetworkAttachment | undefined, embeddedDns: string | undefined): Promise<StepEtcFiles> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const owner = {
    HostnamePath: path.join(dir, 'hostname'),
    HostsPath: path.join(dir, 'hosts'),
    ResolvConfPath: path.join(dir, 'resolv.conf'),
    NetworkAttachment: attachment,
    Config: { Hostname: hostname },
    HostConfig: {},
  };
  await writeEtcFiles(owner, embeddedDns);
  const etc = await lstatIn(rootfs, '/etc');
  const placeholders: string[] = [];
  const mounts: StepEtcMount[] = [];
  // /etc as a symlink or a file: nothing is mounted (runc would follow or fail).
  if (!etc || etc.isDirectory()) {
    if (!etc) placeholders.push('/etc');
    for (const [name, dest] of Object.entries(FILES)) {
      const st = etc ? await lstatIn(rootfs, dest) : undefined;
      if (st && !st.isFile()) continue;
      if (!st) placeholders.push(dest);
      mounts.push({ source: path.join(dir, name), destination: dest, options: ['rbind', 'rw'] });
    }
  }
  return {
    mounts,
    async tidyUpper(upper: string) {
      if (mounts.length === 0) return;
      for (const p of placeholders.filter((f) => f !== '/etc')) {
        const st = await fsp.lstat(path.join(upper, p)).catch(() => undefined);
        if (st?.isFile() && st.size === 0) await fsp.unlink(path.join(upper, p));
      }
      const up = await fsp.lstat(path.join(upper, 'etc')).catch(() => undefined);
      if (!up?.isDirectory() || (await fsp.readdir(path.join(upper, 'etc'))).length > 0) return;
      // An image's /etc, copied up only to hold the mount points: the same directory as below.
      if (!etc || (up.mode === etc.mode && up.uid === etc.uid && up.gid === etc.gid)) await fsp.rmdir(path.join(upper, 'etc'));
    },
    async done() {
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
