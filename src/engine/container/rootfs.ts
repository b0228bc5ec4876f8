/**
 * @module engine/container/rootfs
 * A container's root filesystem on the snapshotter contract, as dockerd lays
 * it out:
 *   '<id>-init'  committed on the image's top layer: the mount points berth
 *                binds files onto (/etc/hosts, /etc/hostname,
 *                /etc/resolv.conf, /dev/…) and /.dockerenv, so that runc
 *                creating them never shows up as a change of the container
 *                (docker diff, commit);
 *   '<id>'       active on '<id>-init': the container's writable layer,
 *                mounted at the snapshotter's target for it.
 * The snapshotter keeps the paths; this module only reads them from mounts.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Digest } from '../../common/reference/digest.js';
import { changes, type Change } from '../layer/diff.js';
import type { IdentityMapping } from '../idmap.js';
import { isMountPoint, mountAll, unmount } from '../snapshot/mount.js';
import { commitLayer, graphDriverData, type LayerInfo } from '../snapshot/layers.js';
import { lowerDirsOf, upperDirOf, type Snapshotter } from '../snapshot/snapshotter.js';

export function initKey(id: string): string {
  return `${id}-init`;
}

/** The snapshots a container holds: what the garbage collector must keep while it exists. */
export function containerSnapshots(id: string): string[] {
  return [id, initKey(id)];
}

export class ContainerRootfs {
  constructor(
    private readonly snapshots: Snapshotter,
    /** `--userns-remap`: the container's root owns its layers. */
    readonly idMap: IdentityMapping | undefined,
    /** The garbage collector's cheap path: removes those of these snapshots that no other root holds. */
    private readonly collect: (keys: string[]) => Promise<unknown>,
  ) {}

  /** Makes the init layer on `chain`'s top and the writable layer on it. */
  async create(id: string, chain: Digest[]): Promise<void> {
    const top = chain[chain.length - 1];
    const init = initKey(id);
    try {
      const mounts = await this.snapshots.prepare(init, top);
      await writeInitLayer(upperDirOf(mounts), this.idMap);
      await this.snapshots.commit(init, init);
      await this.snapshots.prepare(id, init);
    } catch (err) {
      await this.remove(id);
      throw err;
    }
  }

  /** Lets go of both snapshots (the container record is going or never was); the collector removes them. */
  async remove(id: string): Promise<void> {
    await this.collect(containerSnapshots(id));
  }

  /** Mounts the container's root filesystem; returns where. */
  async mount(id: string): Promise<string> {
    const target = this.snapshots.target(id);
    await mountAll(await this.snapshots.mounts(id), target);
    return target;
  }

  async unmount(id: string): Promise<void> {
    await unmount(this.snapshots.target(id));
  }

  /** Where the root filesystem is while it is mounted (a running container). */
  target(id: string): string {
    return this.snapshots.target(id);
  }

  /** Bytes the container wrote (SizeRw). */
  async sizeRw(id: string): Promise<number> {
    if (!(await this.snapshots.stat(id))) return 0;
    return (await this.snapshots.usage(id)).size;
  }

  /** `docker diff`: the writable layer against everything below it (init layer, then the image's). */
  async changes(id: string): Promise<Change[]> {
    const mounts = await this.snapshots.mounts(id);
    return changes(upperDirOf(mounts), lowerDirsOf(mounts));
  }

  /**
   * `docker commit`: the container's changes as a layer on `parent`; the
   * container keeps its own. A running (paused) container's upper is copied;
   * a stopped one's moves into the layer and is restored in the background.
   */
  async commit(id: string, parent: Digest | null, running: boolean): Promise<LayerInfo> {
    // A stopped container's rootfs is mounted while cp or export reads it: copy then too.
    const inUse = running || (await isMountPoint(this.snapshots.target(id)));
    return commitLayer(this.snapshots, id, parent, { mode: inUse ? 'copy' : 'keep', idMap: this.idMap });
  }

  /** inspect's GraphDriver.Data. */
  async graphDriverData(id: string): Promise<Record<string, string>> {
    if (!(await this.snapshots.stat(id))) return {};
    return graphDriverData(await this.snapshots.mounts(id), this.snapshots.target(id));
  }
}

/** The init layer's files (dockerd's `<id>-init`), owned by the container's root. */
async function writeInitLayer(dir: string, idMap: IdentityMapping | undefined): Promise<void> {
  const made: string[] = [];
  for (const d of ['dev', 'dev/pts', 'dev/shm', 'dev/mqueue', 'proc', 'sys', 'etc']) {
    await fsp.mkdir(path.join(dir, d), { recursive: true, mode: 0o755 });
    made.push(path.join(dir, d));
  }
  for (const f of ['.dockerenv', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'dev/console']) {
    await fsp.writeFile(path.join(dir, f), '', { mode: f === '.dockerenv' ? 0o755 : 0o644 });
    made.push(path.join(dir, f));
  }
  await fsp.symlink('/proc/mounts', path.join(dir, 'etc', 'mtab'));
  made.push(path.join(dir, 'etc', 'mtab'));
  if (idMap) {
    const owner = idMap.rootPair();
    for (const p of made) await fsp.lchown(p, owner.uid, owner.gid);
  }
}
