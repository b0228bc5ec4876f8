/**
 * Overlay snapshots: the unpacked image layers and the writable layers of
 * containers, laid out like dockerd's overlay2 driver.
 *
 * Vocabulary:
 * - a *layer* is one unpacked image layer, keyed by its chain ID (the digest of
 *   itself plus every layer below it, as the image spec defines), stored once
 *   and shared by every image and container that has it;
 * - an *rw layer* is a container's upper + work directory on top of its
 *   image's layers;
 * - `mounts()` returns the overlay mount as data; `mount()`/`unmount()` are the
 *   one place that calls mount(8).
 *
 * Layout under `<root>`:
 *   layers/<chain-hex>/diff         unpacked contents (overlay lowerdir)
 *   layers/<chain-hex>/layer.json   {chainId, diffId, parent, size}
 *   layers/<chain-hex>/link         short name in l/
 *   l/<short> -> ../layers/<chain-hex>/diff   short lowerdir paths: the mount
 *                                   option string is limited to one page
 *   rw/<id>/{diff,work,merged}      container layers
 * A layer directory appears under its final name only by rename once fully
 * unpacked, so a crash leaves nothing half-made under `layers/`.
 */
import { promises as fsp, renameSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { applyLayer } from '../layer/index.js';
import { diffTar } from '../layer/diff.js';
import type { Identity, IdentityMapping } from '../idmap.js';
import { digestHex, type Digest } from '../../common/reference/digest.js';
import { readJsonIfExists, atomicWriteJson, directorySize } from '../../util/fs.js';
import { run } from '../../util/exec.js';

export interface LayerRecord {
  chainId: Digest;
  diffId: Digest;
  parent: Digest | null;
  /** Bytes of this layer's own contents. */
  size: number;
}

export interface OverlayMount {
  type: 'overlay';
  source: 'overlay';
  target: string;
  options: string[];
  /** Directory the option paths are relative to (mount(8) runs there). */
  cwd: string;
}

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

export class OverlaySnapshotter {
  private constructor(
    readonly root: string,
    /** `--userns-remap`: layers hold host IDs; container root is `rootPair(idMap)`. */
    readonly idMap: IdentityMapping | undefined,
  ) {}

  static async open(root: string, idMap?: IdentityMapping): Promise<OverlaySnapshotter> {
    for (const d of ['layers', 'l', 'rw', 'tmp', 'empty']) await fsp.mkdir(path.join(root, d), { recursive: true });
    // Unpacks cut short by a crash.
    await fsp.rm(path.join(root, 'tmp'), { recursive: true, force: true });
    await fsp.mkdir(path.join(root, 'tmp'));
    if (idMap) {
      // runc's init runs as the remapped root and must reach each container's
      // merged dir: group search permission for it on the way, as dockerd's
      // overlay2 gives (0710 root:<remapped gid>); nothing more.
      const gid = idMap.rootPair().gid;
      for (const d of [root, path.join(root, 'rw')]) {
        await fsp.chown(d, 0, gid);
        await fsp.chmod(d, 0o710);
      }
    }
    return new OverlaySnapshotter(root, idMap);
  }

  /** A layer tar of a container's upper dir (commit), in container IDs. */
  diffTar(upper: string): Readable {
    return diffTar(upper, { idMap: this.idMap });
  }

  private layerDir(chainId: Digest): string {
    return path.join(this.root, 'layers', digestHex(chainId));
  }

  async getLayer(chainId: Digest): Promise<LayerRecord | undefined> {
    return readJsonIfExists<LayerRecord>(path.join(this.layerDir(chainId), 'layer.json'));
  }

  async listLayers(): Promise<LayerRecord[]> {
    const out: LayerRecord[] = [];
    for (const name of await fsp.readdir(path.join(this.root, 'layers'))) {
      const rec = await readJsonIfExists<LayerRecord>(path.join(this.root, 'layers', name, 'layer.json'));
      if (rec) out.push(rec);
    }
    return out;
  }

  /**
   * Unpacks an uncompressed layer tar on top of `parent`, unless a layer with
   * that chain ID exists already. The tar is read only when needed: `open`
   * is called at most once.
   */
  async addLayer(parent: Digest | null, diffId: Digest, open: () => Readable): Promise<LayerRecord> {
    const chainId = chainIdOf(parent, diffId);
    const existing = await this.getLayer(chainId);
    if (existing) return existing;
    const tmp = path.join(this.root, 'tmp', randomBytes(8).toString('hex'));
    const diff = path.join(tmp, 'diff');
    await fsp.mkdir(diff, { recursive: true, mode: 0o755 });
    try {
      if (this.idMap) await chownTo(diff, this.idMap.rootPair());
      const { size } = await applyLayer(diff, open(), { idMap: this.idMap });
      const short = randomBytes(13).toString('base64url').replace(/[-_]/g, 'x').slice(0, 26).toUpperCase();
      const rec: LayerRecord = { chainId, diffId, parent, size };
      await fsp.writeFile(path.join(tmp, 'link'), short);
      await atomicWriteJson(path.join(tmp, 'layer.json'), rec);
      const final = this.layerDir(chainId);
      try {
        await fsp.rename(tmp, final);
      } catch (err) {
        // Another unpack of the same layer won the race: keep theirs.
        if (['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) {
          await fsp.rm(tmp, { recursive: true, force: true });
          return (await this.getLayer(chainId))!;
        }
        throw err;
      }
      await fsp.symlink(path.join('..', 'layers', digestHex(chainId), 'diff'), path.join(this.root, 'l', short));
      return rec;
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Removes one layer (the caller has checked that nothing references it). */
  async removeLayer(chainId: Digest): Promise<void> {
    const dir = this.layerDir(chainId);
    const short = await fsp.readFile(path.join(dir, 'link'), 'utf8').catch(() => '');
    if (short) await fsp.rm(path.join(this.root, 'l', short), { force: true });
    // Rename first so a crash mid-delete never leaves a half-deleted layer under its name.
    const doomed = path.join(this.root, 'tmp', `rm-${digestHex(chainId)}`);
    await fsp.rename(dir, doomed).catch(() => undefined);
    await fsp.rm(doomed, { recursive: true, force: true });
  }

  private rwDir(id: string): string {
    return path.join(this.root, 'rw', id);
  }

  /**
   * Creates a container's writable layer, and under it the container's init
   * layer (like dockerd's `<id>-init`): the mount points berth binds files
   * onto (/etc/hosts, /etc/hostname, /etc/resolv.conf, /dev/…) and
   * /.dockerenv, so that runc creating them never shows up as a change of
   * the container (docker diff, commit).
   */
  async createRw(id: string): Promise<void> {
    const dir = this.rwDir(id);
    await fsp.mkdir(path.join(dir, 'diff'), { recursive: true, mode: 0o755 });
    await fsp.mkdir(path.join(dir, 'work'), { recursive: true, mode: 0o700 });
    await fsp.mkdir(path.join(dir, 'merged'), { recursive: true, mode: 0o700 });
    const init = path.join(dir, 'init');
    const made: string[] = ['diff', 'work', 'merged', 'init'].map((d) => path.join(dir, d));
    for (const d of ['dev', 'dev/pts', 'dev/shm', 'dev/mqueue', 'proc', 'sys', 'etc']) {
      await fsp.mkdir(path.join(init, d), { recursive: true, mode: 0o755 });
      made.push(path.join(init, d));
    }
    for (const f of ['.dockerenv', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'dev/console']) {
      await fsp.writeFile(path.join(init, f), '', { mode: f === '.dockerenv' ? 0o755 : 0o644 });
      made.push(path.join(init, f));
    }
    await fsp.symlink('/proc/mounts', path.join(init, 'etc', 'mtab'));
    made.push(path.join(init, 'etc', 'mtab'));
    if (this.idMap) {
      // The container's root owns its layer (dockerd: diff, work, merged and the init layer belong to the remapped root).
      const owner = this.idMap.rootPair();
      await fsp.chown(dir, 0, owner.gid);
      await fsp.chmod(dir, 0o710);
      for (const p of made) await fsp.lchown(p, owner.uid, owner.gid);
    }
  }

  async removeRw(id: string): Promise<void> {
    await this.unmount(path.join(this.rwDir(id), 'merged'));
    // Out of the way at once (a rename), deleted in the background: the caller (rm, run --rm) need not wait for it.
    const doomed = path.join(this.root, 'tmp', `rm-rw-${id}-${randomBytes(4).toString('hex')}`);
    try {
      renameSync(this.rwDir(id), doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    void fsp.rm(doomed, { recursive: true, force: true }).catch(() => undefined);
  }

  rwPaths(id: string): { upper: string; work: string; merged: string } {
    const dir = this.rwDir(id);
    return { upper: path.join(dir, 'diff'), work: path.join(dir, 'work'), merged: path.join(dir, 'merged') };
  }

  async rwSize(id: string): Promise<number> {
    return directorySize(this.rwPaths(id).upper);
  }

  /** The overlay mount for a container: its rw layer over `chain` (bottom first). */
  async mounts(id: string, chain: Digest[]): Promise<OverlayMount> {
    const lowers: string[] = [];
    for (const c of [...chain].reverse()) {
      const short = (await fsp.readFile(path.join(this.layerDir(c), 'link'), 'utf8')).trim();
      lowers.push(path.join('l', short));
    }
    const rel = path.join('rw', id);
    lowers.unshift(path.join(rel, 'init'));
    return {
      type: 'overlay',
      source: 'overlay',
      target: path.join(this.root, rel, 'merged'),
      cwd: this.root,
      options: [`lowerdir=${lowers.join(':')}`, `upperdir=${rel}/diff`, `workdir=${rel}/work`],
    };
  }

  async mount(m: OverlayMount): Promise<void> {
    if (await isMountPoint(m.target)) return;
    await run('mount', ['-t', m.type, m.source, '-o', m.options.join(','), m.target], { cwd: m.cwd });
  }

  async unmount(target: string): Promise<void> {
    if (!(await isMountPoint(target))) return;
    await run('umount', [target], { allowFailure: true });
    if (await isMountPoint(target)) await run('umount', ['-l', target]);
  }

  async usage(): Promise<number> {
    return directorySize(path.join(this.root, 'layers'));
  }
}

async function chownTo(p: string, id: Identity): Promise<void> {
  await fsp.lchown(p, id.uid, id.gid);
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
