/**
 * @module engine/layer/apply
 * Applies (unpacks) an uncompressed image-layer tar onto a directory the way
 * Docker's overlay2 graphdriver does: moby pkg/archive's unpacker with the
 * overlay whiteout converter. `.wh.name` entries become 0:0 character devices,
 * `.wh..wh..opq` sets `trusted.overlay.opaque=y`, and the result can be used
 * directly as an overlayfs lower or upper directory.
 *
 * Docker does the extraction inside a chroot, so nothing can land outside the
 * layer. Node has no chroot and no openat, so we keep an in-memory tree of
 * everything under the root. The tree is seeded lazily from disk and is
 * complete when the root starts empty (the normal case). Every path is
 * resolved through this tree component by component, following symlinks as if
 * the root were `/`. A `..` that would climb above the root is refused with
 * LayerEscapeError instead of being clamped as the chroot would. Each
 * filesystem call therefore gets a path whose parent chain is made only of real
 * directories inside the root, and final components are never followed. We are
 * the only writer to the root, so the tree stays in sync with the disk.
 *
 * For speed, small files, symlinks, hardlinks and metadata updates are
 * queued into batches. A small pool of worker threads runs them with
 * synchronous fs calls (fs-pool.ts) while this thread parses on. Directories
 * are created inline, so a batch never depends on one in flight. mknod and
 * setxattr need external tools, so each is batched into one run at the end
 * (special.ts). Before anything is removed from disk we wait for all batches,
 * so no worker ever writes below a path that is being replaced.
 *
 * Why this file stays long (~650 lines): it is one concept, the Applier's
 * invariant that the in-memory tree, the batches in flight and the disk agree.
 * Path resolution, whiteouts, hardlinks and batching all read and update that
 * tree and the batch queue in the same step; split apart they would have to
 * share the class's private state, and the escape checks would no longer sit
 * beside the writes they guard. The parts that stand alone already live
 * elsewhere: tar parsing (tar-reader.ts), the worker pool (fs-pool.ts), mknod
 * and xattrs (special.ts), decompression (compression.ts).
 */

import { promises as fsp } from 'node:fs';
import { writevAll } from '../../util/fs.js';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidLayerError, LayerEscapeError } from './errors.js';
import { fsPool, type FsOp } from './fs-pool.js';
import { mknodBatch, setXattrs, type XattrSpec } from './special.js';
import { TarReader, type TarEntry } from './tar-reader.js';
import type { Identity, IdentityMapping } from '../idmap.js';

export { InvalidLayerError, LayerEscapeError };

export interface ApplyResult {
  /** Bytes of regular-file content written (hardlinks not counted again), like Docker's layer size. */
  size: number;
}

const WH_PREFIX = '.wh.';
const WH_META_PREFIX = '.wh..wh.';
const WH_OPAQUE = '.wh..wh..opq';
const OPAQUE_XATTR = 'trusted.overlay.opaque';
/** Linux's MAXSYMLINKS: more link hops than this during one resolution is ELOOP. */
const MAX_SYMLINK_HOPS = 40;
/** Files up to this size go through the worker batches; larger ones are streamed to disk inline. */
const SMALL_FILE = 256 * 1024;
/** A large file's data is written in writev calls of about this many bytes. */
const BIG_WRITE = 1024 * 1024;
/** A batch is sent when it reaches this many operations or bytes of file data. */
const BATCH_OPS = 256;
const BATCH_BYTES = 1024 * 1024;
/** Batches in flight at once; bounds memory to about this many times BATCH_BYTES. */
const MAX_INFLIGHT = 8;
/** Go's time.Time cannot go past this (int64 nanoseconds); Docker's boundTime maps such times to the epoch. */
const MAX_TIME_SECONDS = 9223372036;

type Kind = 'dir' | 'symlink' | 'other';

interface SpecialNode {
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  /** Overlay whiteout: only chowned afterwards, no chmod or times (as Docker). */
  whiteout: boolean;
  mode: number;
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
}

/** A group of operations run in order by one worker. */
interface Batch {
  ops: FsOp[];
  chunks: Buffer[];
  bytes: number;
  settled: boolean;
  /** Resolves when the batch has run, successfully or not (failures are recorded on the applier). */
  done: Promise<void>;
  resolve: () => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return { ops: [], chunks: [], bytes: 0, settled: false, done, resolve };
}

/** One entry under the root, as we know it. */
interface FsNode {
  name: string;
  /** Path relative to the root (byte string), '' for the root itself. */
  rel: string;
  parent: FsNode | null;
  kind: Kind;
  /** Directories: known children. */
  children: Map<string, FsNode> | null;
  /** Directories: true when `children` mirrors the disk exactly, so a miss means "absent" and needs no lstat. */
  complete: boolean;
  /** Symlinks: target (byte string). */
  target: string;
  /** Last batch with an operation on this entry; the entry is on disk as described once it has settled. */
  pending: Batch | null;
  /** Device/FIFO/whiteout waiting for the batched mknod; not on disk yet. */
  special: SpecialNode | null;
  /** Set when removed (or replaced); descendants are detached implicitly. */
  detached: boolean;
}

/** Byte string to Buffer for fs calls (keeps non-UTF-8 names intact). */
function B(p: string): Buffer {
  return Buffer.from(p, 'latin1');
}

/** Byte string to readable text, for error messages. */
function show(p: string): string {
  return Buffer.from(p, 'latin1').toString('utf8');
}

/**
 * Splits and cleans a tar path. For entry names this is Go's filepath.Clean
 * followed by Docker's breakout check. A leading `/` makes the path absolute,
 * so `..` stops at the root. A relative path that climbs out is an escape.
 * Hardlink targets are joined onto the root (`filepath.Join(dest, linkname)`),
 * so for them a leading `/` gives no clamping.
 */
function cleanPath(name: string, isEntryName: boolean): string[] {
  const clampAtRoot = isEntryName && name.startsWith('/');
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length > 0) out.pop();
      else if (!clampAtRoot) {
        throw new LayerEscapeError(
          isEntryName
            ? `layer entry "${show(name)}" is outside of the layer root`
            : `hardlink target "${show(name)}" is outside of the layer root`,
        );
      }
      continue;
    }
    out.push(c);
  }
  return out;
}

/** Docker: atime = max(atime, mtime); both bounded to what Go's time can express, else the epoch. */
function boundTime(t: number): number {
  return t < 0 || t > MAX_TIME_SECONDS ? 0 : t;
}

function entryTimes(e: TarEntry): { atime: number; mtime: number } {
  const atime = e.atime !== undefined && e.atime > e.mtime ? e.atime : e.mtime;
  return { atime: boundTime(atime), mtime: boundTime(e.mtime) };
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

class Applier {
  size = 0;
  private readonly rootAbs: string;
  private readonly root: FsNode;
  private batch: Batch | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private failure: { err: unknown } | null = null;
  private specials: FsNode[] = [];
  private readonly xattrs: { node: FsNode; name: string; value: Buffer }[] = [];
  /** Deferred directory times: set last, because creating entries inside a directory changes its mtime. */
  private readonly dirTimes = new Map<FsNode, { atime: number; mtime: number }>();
  /** Owner of implied directories: the (possibly remapped) root, like Docker's. */
  private readonly impliedOwner: Identity;
  /** Skip the chown when the process creating them is that owner already. */
  private readonly needImpliedChown: boolean;

  constructor(root: string, impliedOwner: Identity) {
    this.impliedOwner = impliedOwner;
    this.needImpliedChown = process.geteuid?.() !== impliedOwner.uid || process.getegid?.() !== impliedOwner.gid;
    this.rootAbs = Buffer.from(path.resolve(root), 'utf8').toString('latin1');
    this.root = this.makeNode(null, '', 'dir');
  }

  async init(): Promise<void> {
    const st = await fsp.stat(B(this.rootAbs));
    if (!st.isDirectory()) throw new Error(`layer root ${show(this.rootAbs)} is not a directory`);
    // An empty root (the normal case) lets every lookup be answered from memory.
    const dir = await fsp.opendir(B(this.rootAbs));
    try {
      this.root.complete = (await dir.read()) === null;
    } finally {
      await dir.close();
    }
  }

  private makeNode(parent: FsNode | null, name: string, kind: Kind): FsNode {
    const node: FsNode = {
      name,
      rel: parent === null ? '' : parent.rel === '' ? name : `${parent.rel}/${name}`,
      parent,
      kind,
      children: kind === 'dir' ? new Map() : null,
      complete: false,
      target: '',
      pending: null,
      special: null,
      detached: false,
    };
    parent?.children!.set(name, node);
    return node;
  }

  private abs(node: FsNode): string {
    return node.rel === '' ? this.rootAbs : `${this.rootAbs}/${node.rel}`;
  }

  private static attached(node: FsNode): boolean {
    for (let n: FsNode | null = node; n !== null; n = n.parent) if (n.detached) return false;
    return true;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.err;
  }

  // ---- worker batches ---------------------------------------------------

  /**
   * Queues an operation on `node`. Batches run in parallel on different
   * workers, so if an earlier operation on the same node sits in another batch
   * that hasn't settled, we wait for it. Operations in the same batch run in
   * order anyway.
   */
  private async enqueue(node: FsNode, op: FsOp, data?: Buffer[]): Promise<void> {
    if (node.pending !== null && !node.pending.settled && node.pending !== this.batch) await this.settle(node);
    const b = (this.batch ??= newBatch());
    if (data !== undefined && op.t === 'file') {
      op.off = b.bytes;
      for (const c of data) {
        b.chunks.push(c);
        b.bytes += c.length;
      }
      op.len = b.bytes - op.off;
    }
    b.ops.push(op);
    node.pending = b;
    if (b.ops.length >= BATCH_OPS || b.bytes >= BATCH_BYTES) await this.send();
  }

  /** Hands the current batch to the pool, once fewer than MAX_INFLIGHT batches are running. */
  private async send(): Promise<void> {
    const b = this.batch;
    if (b === null) return;
    this.batch = null;
    while (this.inflight.size >= MAX_INFLIGHT) await Promise.race(this.inflight);
    // One contiguous buffer, transferred to the worker without copying. The
    // chunks are views into (larger) input buffers, which must not be cloned
    // whole.
    const data = new ArrayBuffer(b.bytes);
    const view = new Uint8Array(data);
    let off = 0;
    for (const c of b.chunks) {
      view.set(c, off);
      off += c.length;
    }
    b.chunks = [];
    const p: Promise<void> = fsPool
      .run(b.ops, data)
      .catch((err: unknown) => {
        this.failure ??= { err };
      })
      .finally(() => {
        b.settled = true;
        b.resolve();
        this.inflight.delete(p);
      });
    this.inflight.add(p);
  }

  /** Waits until everything queued for `node` is on disk. */
  private async settle(node: FsNode): Promise<void> {
    const b = node.pending;
    if (b === null || b.settled) return;
    if (b === this.batch) await this.send();
    await b.done;
    this.throwIfFailed();
  }

  /** Sends the current batch and waits for all batches; rethrows the first failure. */
  private async drain(): Promise<void> {
    await this.send();
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
    this.throwIfFailed();
  }

  /** On failure: drop queued work and let in-flight batches settle, so nothing is written after we reject. */
  async abort(): Promise<void> {
    this.batch = null;
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  // ---- tree lookups -----------------------------------------------------

  private async lookup(dir: FsNode, name: string): Promise<FsNode | undefined> {
    const known = dir.children!.get(name);
    if (known !== undefined || dir.complete) return known;
    // The directory existed before we started; ask the disk once and remember.
    const p = `${this.abs(dir)}/${name}`;
    let st;
    try {
      st = await fsp.lstat(B(p));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    if (st.isDirectory()) return this.makeNode(dir, name, 'dir');
    if (st.isSymbolicLink()) {
      const node = this.makeNode(dir, name, 'symlink');
      node.target = (await fsp.readlink(B(p), { encoding: 'buffer' })).toString('latin1');
      return node;
    }
    return this.makeNode(dir, name, 'other');
  }

  /**
   * Resolves the first `count` components of `parts` to a real directory,
   * following symlinks with the root as `/`. Missing directories are created
   * (mode 0755, root-owned, like Docker's implied directories) if `create`;
   * otherwise they are an error.
   */
  private async resolveDir(parts: string[], count: number, create: boolean, what: () => string): Promise<FsNode> {
    let cur = this.root;
    const todo: string[] = [];
    for (let i = count - 1; i >= 0; i--) todo.push(parts[i]!);
    let hops = 0;
    let via: FsNode | null = null;
    while (todo.length > 0) {
      const name = todo.pop()!;
      if (name === '' || name === '.') continue;
      if (name === '..') {
        if (cur.parent === null) {
          throw new LayerEscapeError(
            `${what()} resolves outside of the layer root through symlink "${show(via!.rel)}" -> "${show(via!.target)}"`,
          );
        }
        cur = cur.parent;
        continue;
      }
      let child = await this.lookup(cur, name);
      if (child === undefined) {
        if (!create) throw new InvalidLayerError(`${what()}: "${show(cur.rel ? `${cur.rel}/${name}` : name)}" does not exist`);
        child = await this.mkdirImplied(cur, name);
      } else if (child.kind === 'symlink') {
        if (++hops > MAX_SYMLINK_HOPS) throw new InvalidLayerError(`${what()}: too many levels of symbolic links`);
        via = child;
        if (child.target.startsWith('/')) cur = this.root;
        const t = child.target.split('/');
        for (let i = t.length - 1; i >= 0; i--) todo.push(t[i]!);
        continue;
      } else if (child.kind !== 'dir') {
        throw new InvalidLayerError(`${what()}: "${show(child.rel)}" is not a directory`);
      }
      cur = child;
    }
    return cur;
  }

  private async mkdirImplied(dir: FsNode, name: string): Promise<FsNode> {
    const node = this.makeNode(dir, name, 'dir');
    node.complete = true;
    const p = B(this.abs(node));
    await fsp.mkdir(p, 0o755);
    // Explicit chmod: the mkdir mode is filtered by the process umask.
    await fsp.chmod(p, 0o755);
    if (this.needImpliedChown) await fsp.lchown(p, this.impliedOwner.uid, this.impliedOwner.gid);
    return node;
  }

  /** Removes an existing entry (and everything below it) so a new one can take its place. */
  private async remove(node: FsNode): Promise<void> {
    // Batches may be writing at or below this path: let them finish first.
    await this.drain();
    if (node.special === null) {
      const p = B(this.abs(node));
      if (node.kind === 'dir') await fsp.rm(p, { recursive: true, force: true });
      else await fsp.unlink(p);
    }
    node.detached = true;
    node.parent!.children!.delete(node.name);
  }

  // ---- entries ----------------------------------------------------------

  async apply(e: TarEntry, r: TarReader): Promise<void> {
    this.throwIfFailed();
    if (e.type === 'unsupported') {
      throw new InvalidLayerError(
        e.sparse
          ? `sparse file "${show(e.name)}" is not supported`
          : `unsupported tar entry type ${JSON.stringify(e.typeflag)} for "${show(e.name)}"`,
      );
    }
    const parts = cleanPath(e.name, true);
    if (parts.length === 0) {
      // Docker's Unpack skips the root entry "." when the root is a directory, so the layer can't change root's metadata.
      if (e.type === 'dir') return;
      throw new InvalidLayerError(`layer entry "${show(e.name)}" would replace the layer root`);
    }
    // Contents of AUFS metadata directories (.wh..wh.plnk/…) are never materialised.
    for (let i = 0; i < parts.length - 1; i++) if (parts[i]!.startsWith(WH_META_PREFIX)) return;

    const base = parts[parts.length - 1]!;
    // Only formatted when an error message needs it.
    const what = (): string => `layer entry "${show(e.name)}"`;
    if (base.startsWith(WH_PREFIX)) return this.whiteout(parts, base, e, what);

    const dir = await this.resolveDir(parts, parts.length - 1, true, what);
    const existing = await this.lookup(dir, base);
    if (existing !== undefined) {
      // Docker: replace whatever is there, except that a directory onto a directory merges (only metadata is applied).
      if (existing.kind === 'dir' && e.type === 'dir') return this.updateDir(existing, e);
      await this.remove(existing);
    }

    switch (e.type) {
      case 'file':
        return this.createFile(dir, base, e, r);
      case 'dir':
        return this.createDir(dir, base, e);
      case 'symlink':
        return this.createSymlink(dir, base, e);
      case 'hardlink':
        return this.createHardlink(dir, base, e, what);
      case 'char':
      case 'block':
      case 'fifo':
        return this.createSpecial(dir, base, e);
    }
  }

  private async whiteout(parts: string[], base: string, e: TarEntry, what: () => string): Promise<void> {
    if (base === WH_OPAQUE) {
      const dir = await this.resolveDir(parts, parts.length - 1, true, what);
      this.xattrs.push({ node: dir, name: OPAQUE_XATTR, value: Buffer.from('y') });
      return;
    }
    // Other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs, …) has no meaning for overlay.
    if (base.startsWith(WH_META_PREFIX)) return;
    const name = base.slice(WH_PREFIX.length);
    if (name === '' || name === '.' || name === '..') throw new InvalidLayerError(`invalid whiteout ${what()}`);
    const dir = await this.resolveDir(parts, parts.length - 1, true, what);
    // OCI image-spec: a whiteout only hides lower layers. If this layer itself has
    // the entry, that entry wins and the whiteout has nothing to do. (Docker would
    // fail with EEXIST from mknod here.)
    if ((await this.lookup(dir, name)) !== undefined) return;
    const node = this.makeNode(dir, name, 'other');
    // As Docker's overlay converter: mknod with mode 0, chown to the .wh. entry's owner, nothing else.
    node.special = { type: 'c', major: 0, minor: 0, whiteout: true, mode: 0, uid: e.uid, gid: e.gid, atime: 0, mtime: 0 };
    this.specials.push(node);
  }

  private queueXattrs(node: FsNode, e: TarEntry): void {
    if (e.xattrs === null) return;
    for (const [name, value] of e.xattrs) this.xattrs.push({ node, name, value });
  }

  private async createFile(dir: FsNode, name: string, e: TarEntry, r: TarReader): Promise<void> {
    const node = this.makeNode(dir, name, 'other');
    const mode = e.mode & 0o7777;
    const { atime, mtime } = entryTimes(e);
    this.size += e.size;
    this.queueXattrs(node, e);

    if (e.size <= SMALL_FILE) {
      // Views into the input chunks; copied once into the batch buffer.
      const chunks: Buffer[] = [];
      for (let c = await r.read(); c !== null; c = await r.read()) chunks.push(c);
      const op: FsOp = { t: 'file', p: this.abs(node), off: 0, len: 0, uid: e.uid, gid: e.gid, mode, at: atime, mt: mtime };
      await this.enqueue(node, op, chunks);
      return;
    }

    // Large file: stream it to disk here, so the input is only read as fast as the disk writes.
    const p = B(this.abs(node));
    // 'wx' = O_CREAT|O_EXCL: never follows or reuses whatever might be at the path.
    const fh = await fsp.open(p, 'wx', 0o600);
    try {
      // Pieces gathered into ~1 MiB writev calls: each write is a thread-pool round trip, and the
      // pieces (views into the decompressor's chunks) may be small.
      let pending: Buffer[] = [];
      let bytes = 0;
      for (let c = await r.read(); c !== null; c = await r.read()) {
        pending.push(c);
        bytes += c.length;
        if (bytes >= BIG_WRITE) {
          await writevAll(fh, pending);
          pending = [];
          bytes = 0;
        }
      }
      if (pending.length) await writevAll(fh, pending);
      // chown before chmod: chown clears setuid/setgid.
      await fh.chown(e.uid, e.gid);
      await fh.chmod(mode);
      await fh.utimes(atime, mtime);
    } finally {
      await fh.close();
    }
  }

  private async createDir(dir: FsNode, name: string, e: TarEntry): Promise<void> {
    const node = this.makeNode(dir, name, 'dir');
    node.complete = true;
    // Inline, so entries inside it can be created right away.
    await fsp.mkdir(B(this.abs(node)), 0o700);
    await this.updateDir(node, e);
  }

  private async updateDir(node: FsNode, e: TarEntry): Promise<void> {
    this.queueXattrs(node, e);
    this.dirTimes.set(node, entryTimes(e));
    await this.enqueue(node, { t: 'chown-chmod', p: this.abs(node), uid: e.uid, gid: e.gid, mode: e.mode & 0o7777 });
  }

  private async createSymlink(dir: FsNode, name: string, e: TarEntry): Promise<void> {
    const node = this.makeNode(dir, name, 'symlink');
    // Stored as is; it may point anywhere. Only later writes *through* it are checked.
    node.target = e.linkname;
    const { atime, mtime } = entryTimes(e);
    this.queueXattrs(node, e);
    const op: FsOp = { t: 'symlink', p: this.abs(node), target: e.linkname, uid: e.uid, gid: e.gid, at: atime, mt: mtime };
    await this.enqueue(node, op);
  }

  private async createHardlink(dir: FsNode, name: string, e: TarEntry, what: () => string): Promise<void> {
    const tparts = cleanPath(e.linkname, false);
    if (tparts.length === 0) throw new InvalidLayerError(`${what()}: invalid hardlink target "${show(e.linkname)}"`);
    const tlast = tparts[tparts.length - 1]!;
    const linkWhat = (): string => `hardlink target "${show(e.linkname)}" of ${what()}`;
    const tdir = await this.resolveDir(tparts, tparts.length - 1, false, linkWhat);
    const target = await this.lookup(tdir, tlast);
    if (target === undefined) throw new InvalidLayerError(`${linkWhat()} does not exist`);
    if (target.kind === 'dir') throw new InvalidLayerError(`${linkWhat()} is a directory`);
    // The target must be on disk before link(2). If it is still queued in the
    // current batch, the link is queued after it in the same batch, which is
    // enough.
    if (target.special !== null) await this.flushSpecials();
    if (target.pending !== this.batch) await this.settle(target);

    const node = this.makeNode(dir, name, target.kind);
    node.target = target.target;
    const { atime, mtime } = entryTimes(e);
    this.queueXattrs(node, e);
    const op: FsOp = {
      t: 'link',
      p: this.abs(node),
      target: this.abs(target),
      uid: e.uid,
      gid: e.gid,
      mode: e.mode & 0o7777,
      at: atime,
      mt: mtime,
      meta: target.kind !== 'symlink',
    };
    // Same batch as the target when possible (ordered); `enqueue` handles the rest.
    node.pending = target.pending;
    await this.enqueue(node, op);
  }

  private createSpecial(dir: FsNode, name: string, e: TarEntry): void {
    const node = this.makeNode(dir, name, 'other');
    const { atime, mtime } = entryTimes(e);
    node.special = {
      type: e.type === 'fifo' ? 'p' : e.type === 'char' ? 'c' : 'b',
      major: e.devmajor,
      minor: e.devminor,
      whiteout: false,
      mode: e.mode & 0o7777,
      uid: e.uid,
      gid: e.gid,
      atime,
      mtime,
    };
    this.specials.push(node);
    this.queueXattrs(node, e);
  }

  /** Creates all queued device nodes / FIFOs / whiteouts with one batched mknod run, then their metadata. */
  private async flushSpecials(): Promise<void> {
    const nodes = this.specials.filter((n) => n.special !== null && Applier.attached(n));
    this.specials = [];
    if (nodes.length === 0) return;
    await mknodBatch(
      nodes.map((n) => ({ path: this.abs(n), type: n.special!.type, major: n.special!.major, minor: n.special!.minor })),
    );
    for (const n of nodes) {
      const s = n.special!;
      n.special = null;
      const p = this.abs(n);
      // Docker chowns whiteouts but leaves their mode (0) and times (now) alone.
      await this.enqueue(n, { t: 'chown-chmod', p, uid: s.uid, gid: s.gid, mode: s.whiteout ? null : s.mode });
      if (!s.whiteout) await this.enqueue(n, { t: 'times', p, at: s.atime, mt: s.mtime });
    }
    await this.drain();
  }

  async finish(): Promise<void> {
    await this.drain();
    // Devices first, because creating them changes their directories' mtimes.
    await this.flushSpecials();
    // xattrs after every chown (chown drops security.capability) and after all
    // file data is written. Docker sets them before chmod. The only xattr that
    // interacts with the mode is a POSIX ACL, and its mask equals the group bits
    // in any tar taken from a real file, so the order doesn't change the result.
    const xattrs: XattrSpec[] = [];
    for (const x of this.xattrs) {
      if (Applier.attached(x.node)) xattrs.push({ path: this.abs(x.node), name: x.name, value: x.value });
    }
    await setXattrs(xattrs);
    // Directory times last, so nothing changes them afterwards.
    for (const [node, t] of this.dirTimes) {
      if (Applier.attached(node)) await this.enqueue(node, { t: 'times', p: this.abs(node), at: t.atime, mt: t.mtime });
    }
    await this.drain();
  }
}

export interface ApplyOptions {
  /** `--userns-remap`: entries' uid/gid are container IDs, written as their host IDs. */
  idMap?: IdentityMapping;
}

/**
 * Applies an UNCOMPRESSED layer tar stream onto `root`. `root` is an existing
 * directory, normally empty, that will become an overlayfs lower/upper dir.
 * On failure the promise rejects once all in-flight writes have settled and
 * the input has been destroyed. The caller is expected to delete `root`.
 */
export async function applyLayer(root: string, tar: Readable, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const { idMap } = opts;
  const reader = new TarReader(tar);
  const applier = new Applier(root, idMap ? idMap.rootPair() : { uid: 0, gid: 0 });
  try {
    await applier.init();
    for (let e = await reader.next(); e !== null; e = await reader.next()) {
      if (idMap) Object.assign(e, idMap.toHost(e));
      await applier.apply(e, reader);
    }
    await reader.drain();
    await applier.finish();
    return { size: applier.size };
  } catch (err) {
    reader.destroy();
    await applier.abort();
    throw err;
  }
}
