/**
 * @module engine/snapshot/layers
 * Image layers on the snapshotter contract: a layer is a committed snapshot
 * named by its chain ID and labelled with its diff ID. Here, over any
 * Snapshotter:
 * - `unpackLayer`: a layer tar becomes a committed snapshot (import, load,
 *   and later pull), unpacked once per chain ID;
 * - `commitLayer`: an active snapshot's changes become a layer (docker commit,
 *   a build step). The diff tar is made once, only to learn its digest;
 *   the layer's files are the active snapshot's upper directory itself,
 *   moved (a build step; a stopped container, whose upper the snapshotter
 *   then restores in the background) or, for a running container, copied
 *   while the digest is computed;
 * - `layerTar`: a committed layer packed as a tar again (save);
 * - `graphDriverData`: inspect's GraphDriver.Data, read from mounts.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline, Transform } from 'node:stream';
import type { Digest } from '../../common/reference/digest.js';
import { applyLayer } from '../layer/index.js';
import { diffDigest, diffTar } from '../layer/diff.js';
import { run } from '../../util/exec.js';
import type { IdentityMapping } from '../idmap.js';
import { LABEL_DIFF_ID } from './overlay.js';
import { lowerDirsOf, upperDirOf, type Mount, type Snapshotter } from './snapshotter.js';
import { span } from '../trace.js';

export { LABEL_DIFF_ID };

/** chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)). */
export function chainIdOf(parent: Digest | null, diffId: Digest): Digest {
  if (!parent) return diffId;
  return `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`;
}

export function chainIds(diffIds: Digest[]): Digest[] {
  const out: Digest[] = [];
  let parent: Digest | null = null;
  for (const d of diffIds) {
    parent = chainIdOf(parent, d);
    out.push(parent);
  }
  return out;
}

export interface LayerInfo {
  chainId: Digest;
  diffId: Digest;
  parent: Digest | null;
  /** Bytes of the layer's own files. */
  size: number;
}

/** A committed layer's info, or undefined when it is not unpacked here. */
export async function layerInfo(sn: Snapshotter, chainId: Digest): Promise<LayerInfo | undefined> {
  const info = await sn.stat(chainId);
  if (!info || info.kind !== 'committed') return undefined;
  const { size } = await sn.usage(chainId);
  return { chainId, diffId: (info.labels[LABEL_DIFF_ID] ?? chainId) as Digest, parent: (info.parent ?? null) as Digest | null, size };
}

/** A key for work in progress, unique and safe as a snapshot key. */
export function workKey(what: string): string {
  return `${what}-${randomBytes(8).toString('hex')}`;
}

/**
 * Unpacks an uncompressed layer tar on top of `parent`, unless a layer with
 * that chain ID exists already. `open` is called at most once, only when the
 * layer must be unpacked.
 */
export async function unpackLayer(
  sn: Snapshotter,
  parent: Digest | null,
  diffId: Digest,
  open: () => Readable,
  o: { idMap?: IdentityMapping; verify?: boolean } = {},
): Promise<LayerInfo> {
  const chainId = chainIdOf(parent, diffId);
  const existing = await layerInfo(sn, chainId);
  if (existing) return existing;
  // On failure the work snapshot stays for the collector, which the caller runs.
  const key = workKey('extract');
  const mounts = await sn.prepare(key, parent ?? undefined);
  if (!o.verify) await applyLayer(upperDirOf(mounts), open(), { idMap: o.idMap });
  else {
    // A layer from elsewhere (a registry) is hashed while it is applied and must be the diff ID its config names.
    const actual = await applyHashed(upperDirOf(mounts), open(), o.idMap);
    if (actual !== diffId) throw new Error(layerMismatch(actual, diffId));
  }
  await sn.commit(chainId, key, { labels: { [LABEL_DIFF_ID]: diffId } });
  return (await layerInfo(sn, chainId))!;
}

export function layerMismatch(actual: Digest, expected: Digest): string {
  return `layer digest mismatch: the layer unpacks to ${actual}, its image config says ${expected}`;
}

/** Applies a layer tar into `dir`, hashing it on the way; resolves to its diff ID. */
async function applyHashed(dir: string, src: Readable, idMap: IdentityMapping | undefined): Promise<Digest> {
  const h = createHash('sha256');
  const input = new Transform({
    transform(c: Buffer, _e, cb) {
      h.update(c);
      cb(null, c);
    },
  });
  // pipeline passes on an error, or a close without one (a download given up), even one that came before this call.
  await applyLayer(dir, pipeline(src, input, () => {}), { idMap });
  return `sha256:${h.digest('hex')}`;
}

/**
 * Unpacks a layer tar into a new active snapshot `key` with no parent, before
 * the layers below it are there (a pull unpacks while it downloads): a
 * layer's files are its own diff, whatever lies beneath. Resolves to the
 * tar's diff ID; `placeDetached` then puts the snapshot on its parent. On
 * failure the snapshot stays for the caller to remove (or the collector);
 * the caller leases `key` first.
 */
export async function unpackDetached(sn: Snapshotter, key: string, tar: Readable, o: { idMap?: IdentityMapping } = {}): Promise<Digest> {
  let mounts: Mount[];
  try {
    mounts = await sn.prepare(key);
  } catch (err) {
    tar.destroy();
    throw err;
  }
  return applyHashed(upperDirOf(mounts), tar, o.idMap);
}

/**
 * Commits a snapshot `unpackDetached` filled as layer `diffId` on `parent`;
 * if that chain exists already (another pull won), the work is dropped and
 * the existing layer stands.
 */
export async function placeDetached(sn: Snapshotter, key: string, parent: Digest | null, diffId: Digest): Promise<LayerInfo> {
  const chainId = chainIdOf(parent, diffId);
  await sn.commit(chainId, key, { ...(parent ? { parent } : {}), labels: { [LABEL_DIFF_ID]: diffId } });
  return (await layerInfo(sn, chainId))!;
}

/**
 * How commitLayer treats the active snapshot:
 * - 'move': it is done with (a build step): its upper becomes the layer;
 * - 'keep': it lives on but is not in use (docker commit of a stopped
 *   container): the snapshotter moves the upper into the layer and restores
 *   the active one behind the call (CommitOptions.keep);
 * - 'copy': it is in use (a running container): its upper is copied into a
 *   new snapshot while the diff is hashed, the two in parallel.
 */
export type CommitMode = 'move' | 'keep' | 'copy';

/**
 * Makes the changes in active snapshot `key` a layer on `parent` (the
 * image's top chain ID; null for none). The diff tar is made once, only for
 * its digest. Returns the committed layer.
 */
export async function commitLayer(
  sn: Snapshotter,
  key: string,
  parent: Digest | null,
  o: { mode: CommitMode; idMap?: IdentityMapping },
): Promise<LayerInfo> {
  const upper = upperDirOf(await sn.mounts(key));
  const usage = { size: 0 };
  if (o.mode !== 'copy') {
    const { digest: diffId } = await span('diff-digest', () => diffDigest(upper, { idMap: o.idMap, usage }));
    const chainId = chainIdOf(parent, diffId);
    await span('snapshot-commit', () => sn.commit(chainId, key, { ...(parent ? { parent } : {}), labels: { [LABEL_DIFF_ID]: diffId }, keep: o.mode === 'keep', size: usage.size }));
    return (await layerInfo(sn, chainId))!;
  }
  // On failure the copy stays for the collector, which the caller runs.
  const copyKey = workKey('commit');
  const copy = await sn.prepare(copyKey, parent ?? undefined);
  {
    const [{ digest: diffId }] = await Promise.all([
      diffDigest(upper, { idMap: o.idMap, usage }),
      // cp -a keeps what the tar records (modes, owners, times, hard links,
      // devices, overlay's opaque xattr), so the copy packs to the same diff
      // ID; reflinks make it free where the file system has them.
      run('cp', ['-a', '--reflink=auto', `${upper}/.`, upperDirOf(copy)]),
    ]);
    const chainId = chainIdOf(parent, diffId);
    await sn.commit(chainId, copyKey, { labels: { [LABEL_DIFF_ID]: diffId }, size: usage.size });
    return (await layerInfo(sn, chainId))!;
  }
}

/**
 * A committed layer packed as an uncompressed tar again, the way commit
 * packs one (whiteouts and opaque directories converted back), read through
 * a view under `viewKey`; the caller holds a lease on that key while it
 * reads and leaves the view to the collector afterwards.
 */
export async function layerTar(sn: Snapshotter, chainId: Digest, viewKey: string, o: { idMap?: IdentityMapping } = {}): Promise<Readable> {
  const mounts = await sn.view(viewKey, chainId);
  // The first lower of a view is the layer's own directory (top first).
  const own = lowerDirsOf(mounts)[0];
  if (!own) throw new Error(`layer ${chainId}: no directory in its view`);
  return diffTar(own, { idMap: o.idMap });
}

/** inspect's GraphDriver.Data for an active snapshot mounted at `target`: overlay2's names. */
export function graphDriverData(mounts: Mount[], target: string): Record<string, string> {
  const m = mounts[0];
  const work = m?.options.find((o) => o.startsWith('workdir='))?.slice('workdir='.length);
  const abs = (p: string) => (p.startsWith('/') || !m?.cwd ? p : `${m.cwd.replace(/\/$/, '')}/${p}`);
  return {
    LowerDir: lowerDirsOf(mounts).join(':'),
    MergedDir: target,
    UpperDir: upperDirOf(mounts),
    WorkDir: work ? abs(work) : '',
  };
}
