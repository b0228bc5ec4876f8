/**
 * @module engine/build/rootfs
 * A build step's file systems, on the snapshotter contract:
 * - `withStepRootfs`: an active snapshot on the state's top layer, mounted
 *   for the step (RUN, COPY, ADD, WORKDIR), unmounted after, and committed
 *   as a layer by moving its upper (commitLayer 'move'); a step that changed
 *   nothing makes no layer (Docker's empty_layer);
 * - `withStateView`: a read-only view of a state (a stage or an image), for
 *   COPY --from and RUN --mount from=.
 * Every key is held by the build's lease from the moment it exists; the
 * layers committed are added to the lease under the collector's lock, so no
 * collection can take them before the cache or an image records them. What
 * a step leaves (work keys, views) is collected when the build ends.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Digest } from '../../common/reference/digest.js';
import type { Lease } from '../gc.js';
import type { ImageService } from '../image/service.js';
import { chainIds, commitLayer, workKey, type LayerInfo } from '../snapshot/layers.js';
import { mountAll, unmount } from '../snapshot/mount.js';
import { upperDirOf } from '../snapshot/snapshotter.js';
import { span } from '../trace.js';

export interface StepFs {
  images: ImageService;
  lease: Lease;
  /** Keys to collect when the build ends. */
  workKeys: string[];
  /** Where views are mounted (a directory per view). */
  tmp: string;
}

function topOf(diffIds: Digest[]): Digest | undefined {
  const chain = chainIds(diffIds);
  return chain[chain.length - 1];
}

/** Work on the step's upper directory once its root is unmounted, before the layer is taken from it. */
export type UpperTidy = (upper: string) => Promise<void>;

/**
 * Runs `fn` on a mounted writable root filesystem over `diffIds`; returns
 * the layer it made, or null. `fn` may register tidies: they run on the
 * upper directory after the unmount (what the step's mount points left
 * there, which is not the step's work).
 */
export async function withStepRootfs<T>(fs: StepFs, diffIds: Digest[], fn: (rootfs: string, tidy: (t: UpperTidy) => void) => Promise<T>): Promise<{ value: T; layer: LayerInfo | null }> {
  const sn = fs.images.snapshots;
  const key = workKey('build');
  fs.lease.addSnapshot(key);
  fs.workKeys.push(key);
  const parent = topOf(diffIds);
  const target = await span('build-rootfs-mount', async () => {
    const mounts = await sn.prepare(key, parent);
    const t = sn.target(key);
    await fsp.mkdir(t, { recursive: true });
    await mountAll(mounts, t);
    return t;
  });
  let value: T;
  const tidies: UpperTidy[] = [];
  try {
    value = await fn(target, (t) => tidies.push(t));
  } finally {
    await span('build-rootfs-unmount', () => unmount(target));
  }
  const upper = upperDirOf(await sn.mounts(key));
  for (const t of tidies) await t(upper);
  if ((await fsp.readdir(upper)).length === 0) return { value, layer: null };
  const layer = await fs.images.lock.run(async () => {
    const l = await commitLayer(sn, key, parent ?? null, { mode: 'move', idMap: fs.images.idMap });
    fs.lease.addSnapshot(l.chainId);
    return l;
  });
  return { value, layer };
}

/**
 * A read-only view of `diffIds` (an empty directory for none), mounted
 * until close() (COPY --from, RUN --mount from=).
 */
export async function openStateView(fs: StepFs, diffIds: Digest[]): Promise<{ dir: string; close: () => Promise<void> }> {
  const dir = path.join(fs.tmp, `view-${randomBytes(6).toString('hex')}`);
  await fsp.mkdir(dir, { recursive: true });
  const top = topOf(diffIds);
  if (top) {
    const key = workKey('buildview');
    fs.lease.addSnapshot(key);
    fs.workKeys.push(key);
    try {
      await mountAll(await fs.images.snapshots.view(key, top), dir);
    } catch (err) {
      await fsp.rmdir(dir).catch(() => undefined);
      throw err;
    }
  }
  let closed = false;
  return {
    dir,
    close: async () => {
      if (closed) return;
      closed = true;
      await unmount(dir);
      // rmdir, not rm -r: should the unmount have failed, nothing under a view is ever deleted.
      await fsp.rmdir(dir).catch(() => undefined);
    },
  };
}
