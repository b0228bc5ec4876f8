/**
 * @module engine/snapshot/snapshotter
 * The snapshotter contract: what the image service, containers, the builder
 * and the registry client need from a store of file system layers, apart
 * from how one implementation (./overlay.ts) keeps them. The model is
 * containerd's snapshotter; the vocabulary is fixed here.
 *
 * - A *snapshot* is a directory tree with an optional *parent* snapshot
 *   below it. It is one of three kinds:
 *   - *committed*: read-only, addressed by its *name*; image layers are
 *     committed snapshots named by their chain ID (`sha256:…`);
 *   - *active*: writable, addressed by its *key*; a container's root
 *     filesystem, a build step, or a layer being unpacked;
 *   - *view*: a read-only look at a committed snapshot, addressed by its key.
 * - Keys and names share one namespace: a key may not be used twice.
 *
 * Importing a layer:
 *   mounts = prepare('extract-<random>', parentChainId)
 *   apply the layer tar to upperDirOf(mounts) (or mount and apply)
 *   commit(chainId, 'extract-<random>')
 * A crash before commit leaves an active snapshot that nothing references;
 * the garbage collector removes it.
 *
 * Running a container:
 *   prepare('<id>-init', imageChainId); write the init files; commit
 *   prepare('<id>', '<id>-init')   → mounts, mounted at target('<id>') by whoever runs it
 *   … the container runs …
 *   docker commit (the container lives on): if it is stopped, commit(newChainId, '<id>',
 *     { parent: imageChainId, keep: true }); if it runs, prepare('commit-<random>', imageChainId),
 *     copy the container's upper into it while its diff is hashed, commit(newChainId, 'commit-<random>')
 *   a build step (the container is done): commit(newChainId, '<id>', { parent: imageChainId })
 *   docker rm: the container record goes; the collector removes '<id>' and '<id>-init'
 *
 * `prepare`/`view`/`mounts` return mounts as data: nothing here mounts
 * anything, so a snapshotter can be tested without a running container, and
 * `mount.ts` is the one place that calls mount(8).
 *
 * Removal is the garbage collector's (../gc.ts): everything else only stops
 * referring to snapshots; the collector walks them and removes what no root
 * reaches. `remove` refuses a snapshot that is another's parent.
 */
import type { Digest } from '../../common/reference/digest.js';

export type SnapshotKind = 'committed' | 'active' | 'view';

export interface SnapshotInfo {
  kind: SnapshotKind;
  /** The name (committed) or key (active, view). */
  name: string;
  /** The committed snapshot below this one, if any. */
  parent?: string;
  labels: Record<string, string>;
  /** RFC 3339. */
  created: string;
}

export interface SnapshotUsage {
  /** Bytes of this snapshot's own contents (not its parents'). */
  size: number;
  inodes: number;
}

/**
 * A mount as data, in mount(8)'s terms. `cwd`, when set, is the directory
 * that relative paths in `options` start from (overlay's lowerdir list must
 * fit in one page, so it names short relative links).
 */
export interface Mount {
  type: string;
  source: string;
  options: string[];
  cwd?: string;
}

export interface PrepareOptions {
  labels?: Record<string, string>;
}

export interface CommitOptions {
  labels?: Record<string, string>;
  /**
   * The committed snapshot's parent when it is not the active snapshot's own:
   * a container's init layer sits between its image and its writable layer
   * and is not part of what `docker commit` records. Must be an ancestor of
   * the active snapshot. An active snapshot prepared without a parent may be
   * committed onto any committed snapshot: an applier wrote a layer's own
   * diff into it (whiteouts and all), which does not depend on what lies
   * below, so a pull unpacks each layer while it downloads, before the
   * layer beneath it is there.
   */
  parent?: string;
  /**
   * Keep the active snapshot with its contents (docker commit of a stopped
   * container that lives on). The snapshotter may move the contents into the
   * committed snapshot and restore the active one's behind the call's back;
   * until then every use of the active snapshot waits. The active snapshot
   * must not be mounted: a caller whose snapshot is in use copies it into a
   * new one instead.
   */
  keep?: boolean;
  /**
   * The bytes of the snapshot's own contents, when the caller has just read
   * them all (commit hashes the diff), so the snapshotter need not walk
   * them again to record its usage.
   */
  size?: number;
}

export interface Snapshotter {
  /** Info of a snapshot by key or name; undefined when there is none. */
  stat(key: string): Promise<SnapshotInfo | undefined>;
  /** Replaces a snapshot's labels. */
  update(key: string, labels: Record<string, string>): Promise<SnapshotInfo>;
  /** Disk use of one snapshot's own contents. Cheap for committed snapshots (recorded at commit). */
  usage(key: string): Promise<SnapshotUsage>;
  /** The mounts of an active snapshot or a view. */
  mounts(key: string): Promise<Mount[]>;
  /**
   * A directory kept with active snapshot `key` where its mounts go when it
   * runs (a container's merged root filesystem); removed with the snapshot.
   */
  target(key: string): string;
  /** A new active snapshot on `parent` (a committed name), empty when there is none. Conflict if `key` exists. */
  prepare(key: string, parent?: string, opts?: PrepareOptions): Promise<Mount[]>;
  /** A read-only view of `parent`. */
  view(key: string, parent?: string, opts?: PrepareOptions): Promise<Mount[]>;
  /**
   * Turns active snapshot `key` into committed snapshot `name`: the active
   * snapshot's directory becomes the committed one (a rename, no copy) and
   * the key is gone, unless `keep`. If `name` exists already (another unpack of the same
   * layer won), the active one is discarded and the existing one stands:
   * commit is idempotent by name, as chain IDs are content addresses.
   */
  commit(name: string, key: string, opts?: CommitOptions): Promise<SnapshotInfo>;
  /** Removes a snapshot no other snapshot has as parent (the garbage collector's). */
  remove(key: string): Promise<void>;
  /** Every snapshot, parents in no particular order. */
  walk(fn: (info: SnapshotInfo) => void | Promise<void>): Promise<void>;
}

/**
 * Where an applier writes a layer into an active snapshot without mounting it:
 * the upper directory of an overlay mount, or the source of a bind mount.
 */
export function upperDirOf(mounts: Mount[]): string {
  const m = mounts[0];
  if (!m || mounts.length !== 1) throw new Error('snapshot: expected exactly one mount');
  const abs = (p: string) => (p.startsWith('/') || !m.cwd ? p : `${m.cwd.replace(/\/$/, '')}/${p}`);
  if (m.type === 'bind') return m.source;
  if (m.type === 'overlay') {
    const upper = m.options.find((o) => o.startsWith('upperdir='));
    if (!upper) throw new Error('snapshot: an overlay mount without upperdir is read-only');
    return abs(upper.slice('upperdir='.length));
  }
  throw new Error(`snapshot: no upper directory in a ${m.type} mount`);
}

/**
 * The read-only directories under an active snapshot's upper, top first (for
 * `docker diff`, which compares the upper with what lies below it).
 */
export function lowerDirsOf(mounts: Mount[]): string[] {
  const m = mounts[0];
  if (!m) return [];
  const abs = (p: string) => (p.startsWith('/') || !m.cwd ? p : `${m.cwd.replace(/\/$/, '')}/${p}`);
  if (m.type === 'bind') return m.options.includes('ro') ? [m.source] : [];
  const lower = m.options.find((o) => o.startsWith('lowerdir='));
  return lower ? lower.slice('lowerdir='.length).split(':').map(abs) : [];
}

/** Names committed layer snapshots by chain ID (the image spec's). */
export type ChainId = Digest;
