/**
 * @module engine/layer/diff
 * The other direction of apply.ts: turning an overlay upper directory (a
 * container's writable layer) back into what Docker calls changes — the A/C/D
 * list of `docker diff` — and into a layer tar for `docker commit`, with
 * overlay whiteouts (char device 0:0) written as `.wh.<name>` entries and
 * opaque directories as `.wh..wh..opq`.
 *
 * Paths are handled as UTF-8 strings; names that are not valid UTF-8 are not
 * supported here yet.
 *
 * File system calls are synchronous, in batches that yield to the event loop:
 * each async fs call costs a thread-pool round trip (measured ~0.2 ms here),
 * which made a 10 000-file commit take 12 s instead of well under one.
 *
 * Commit hashes this tar on the daemon's one thread, and on a busy machine
 * that thread waits for a CPU about as long as it runs (berthd's schedstat
 * in bench/images.ts), so what the tar costs per entry is kept to the system
 * calls: headers are written into the batch in place, a small file is one
 * read, and `diffDigest` hashes the batches where they are made instead of
 * passing fresh ones through a stream.
 */
import fs, { type Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Digest } from '../../common/reference/digest.js';
import { run } from '../../util/exec.js';
import { toContainer, type IdentityMapping } from '../idmap.js';
import { BLOCK, encodeHeader, writeUstarHeader, type TarHeader } from './tar-writer.js';

export type ChangeKind = 0 | 1 | 2; // Modified, Added, Deleted (Docker's numbering)

export interface Change {
  Path: string;
  Kind: ChangeKind;
}

interface UpperEntry {
  /** Path inside the layer, "/"-rooted. */
  rel: string;
  abs: string;
  st: Stats;
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** Directories marked opaque (trusted.overlay.opaque=y) under `upper`, as "/"-rooted paths. */
async function opaqueDirs(upper: string): Promise<Set<string>> {
  const r = await run('getfattr', ['-R', '-P', '--absolute-names', '-d', '-m', '^trusted\\.overlay\\.opaque$', upper], { allowFailure: true });
  const out = new Set<string>();
  let current: string | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) current = line.slice(8);
    else if (current && /^trusted\.overlay\.opaque="y"$/.test(line)) {
      const rel = path.relative(upper, current);
      out.add(`/${rel}`);
    }
  }
  return out;
}

const BATCH = 256;
let sinceYield = 0;

/** True every BATCH calls: time to let other requests run. */
function due(): boolean {
  if (++sinceYield < BATCH) return false;
  sinceYield = 0;
  return true;
}

function pause(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Lets other requests run every BATCH synchronous fs calls. */
async function breathe(): Promise<void> {
  if (due()) await pause();
}

/**
 * The entries under `root` (absolute, no trailing slash) in sorted order,
 * parents before children, each as it is read: a caller that handles them
 * one by one keeps none alive (for 10 000 files the stats kept until a tar
 * was written cost more in garbage collection than the tar).
 */
function* entries(root: string, relDir = '/'): Generator<UpperEntry> {
  const names = fs.readdirSync(root + relDir).sort();
  const prefix = relDir === '/' ? '/' : `${relDir}/`;
  for (const name of names) {
    const rel = prefix + name;
    const abs = root + rel;
    const st = fs.lstatSync(abs);
    yield { rel, abs, st };
    // A whiteout is a device, not a directory: not descended into.
    if (st.isDirectory()) yield* entries(root, rel);
  }
}

/** Walks `upper` in sorted order (parents before children), not descending into whiteouts. */
async function walk(upper: string): Promise<UpperEntry[]> {
  const out: UpperEntry[] = [];
  for (const e of entries(path.resolve(upper))) {
    out.push(e);
    if (due()) await pause();
  }
  return out;
}

/** Does `rel` exist in the image below (lowers top first), honouring whiteouts and opaque dirs there? */
async function existsBelow(lowers: string[], rel: string): Promise<boolean> {
  await breathe();
  for (const lower of lowers) {
    const st = fs.lstatSync(path.join(lower, rel), { throwIfNoEntry: false });
    if (st) return !isWhiteout(st);
  }
  return false;
}

/** `docker diff`: what a container changed relative to its image. */
export async function changes(upper: string, lowers: string[]): Promise<Change[]> {
  const out: Change[] = [];
  for (const e of await walk(upper)) {
    if (isWhiteout(e.st)) out.push({ Path: e.rel, Kind: 2 });
    else out.push({ Path: e.rel, Kind: (await existsBelow(lowers, e.rel)) ? 0 : 1 });
  }
  return out;
}

function major(rdev: number): number {
  return ((rdev >> 8) & 0xfff) | ((rdev >> 32) & ~0xfff);
}

function minor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
}

/**
 * A layer tar of `upper` (uncompressed), as Docker's overlay2 diff writes it:
 * whiteouts become `.wh.` files, opaque directories get a `.wh..wh..opq`
 * entry, hardlinks within the layer are kept as links. Headers are Go's
 * archive/tar format (tar-writer.ts's encodeHeader), as moby's layer tars
 * are, with the file-type bits in the mode.
 *
 * The tar is built in memory a batch at a time rather than an entry at a
 * time through a pack stream: for 10 000 small files a per-entry stream
 * round trip cost more than reading the files.
 */
export function diffTar(upper: string, opts: { idMap?: IdentityMapping; usage?: { size: number } } = {}): Readable {
  return Readable.from(diffChunks(upper, opts.idMap, opts.usage, false), { objectMode: false });
}

/**
 * The digest and length of diffTar(upper)'s bytes (a layer's diff ID), the
 * tar made only to be hashed: each batch is hashed as soon as it is full
 * and then filled again, so nothing is allocated per batch or kept.
 */
export async function diffDigest(upper: string, opts: { idMap?: IdentityMapping; usage?: { size: number } } = {}): Promise<{ digest: Digest; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of diffChunks(upper, opts.idMap, opts.usage, true)) {
    h.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

/** Bytes gathered before they are handed on. */
const BATCH_BYTES = 1 << 20;
const ZEROS = Buffer.alloc(BLOCK * 2);

/** A name as the header's byte string: its UTF-8 bytes, one char each (ASCII names as they are). */
function tarName(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  return s;
}

function padding(size: number): Buffer {
  return ZEROS.subarray(0, (BLOCK - (size % BLOCK)) % BLOCK);
}

/**
 * A batch of tar bytes: headers are written in place and small files are
 * read straight into it (one read, no per-file buffer), so 10 000 small
 * files cost their system calls and little else. With `reuse`, a batch
 * taken is only lent: the next one is written over it (diffDigest hashes
 * each before asking for the next), and so is a big file's read buffer.
 */
class Slab {
  buf = Buffer.allocUnsafe(BATCH_BYTES);
  off = 0;
  private body: Buffer | undefined;

  constructor(private readonly reuse: boolean) {}

  room(n: number): boolean {
    return this.off + n <= this.buf.length;
  }

  add(b: Buffer): void {
    b.copy(this.buf, this.off);
    this.off += b.length;
  }

  pad(size: number): void {
    const n = (BLOCK - (size % BLOCK)) % BLOCK;
    this.buf.fill(0, this.off, this.off + n);
    this.off += n;
  }

  /** A header written in place: false when it needs the slow path (no room, or a PAX entry). */
  header(h: TarHeader): boolean {
    if (!this.room(BLOCK) || !writeUstarHeader(this.buf, this.off, h)) return false;
    this.off += BLOCK;
    return true;
  }

  /** The bytes so far; the slab starts afresh (the taken bytes are the reader's, or lent with `reuse`). */
  take(): Buffer {
    const out = this.buf.subarray(0, this.off);
    if (!this.reuse) this.buf = Buffer.allocUnsafe(BATCH_BYTES);
    this.off = 0;
    return out;
  }

  /** A buffer for a big file's next piece. */
  bodyBuffer(n: number): Buffer {
    if (!this.reuse) return Buffer.allocUnsafe(n);
    this.body ??= Buffer.allocUnsafe(BATCH_BYTES);
    return this.body.subarray(0, n);
  }
}

/** A header that did not fit in place: the batch handed on first if full, then the PAX entry and header. */
function* slowHeader(slab: Slab, h: TarHeader): Generator<Buffer> {
  if (slab.header(h)) return;
  for (const b of encodeHeader(h)) {
    if (!slab.room(b.length)) yield slab.take();
    slab.add(b);
  }
}

/**
 * `usage`, when given, is set once the tar is complete to the bytes of
 * regular files (hard links once) and symlinks, as util/fs directorySize
 * counts them: the walk already has every lstat.
 */
async function* diffChunks(upper: string, idMap: IdentityMapping | undefined, usage: { size: number } | undefined, reuse: boolean): AsyncGenerator<Buffer> {
  // getfattr walks the tree in its own process while this one does; a directory's entry waits for it.
  const opaqueP = opaqueDirs(upper);
  // Awaited below; a tar abandoned or failed before that must not leave it unhandled.
  opaqueP.catch(() => undefined);
  let opaque: Set<string> | undefined;
  const inodes = new Map<string, string>();
  const slab = new Slab(reuse);
  let bytes = 0;
  for (const e of entries(path.resolve(upper))) {
    const st = e.st;
    const name = tarName(e.rel.slice(1));
    // With --userns-remap the files belong to host IDs; the layer records
    // container IDs. Whiteouts are made by the kernel as the mounter (host
    // root) and keep their owner, as moby's tar appender does.
    const whiteout = isWhiteout(st);
    const owner = whiteout || !idMap ? st : toContainer(idMap, { uid: st.uid, gid: st.gid });
    const h: TarHeader = { name, type: '0', mode: st.mode, uid: owner.uid, gid: owner.gid, size: 0, mtime: Math.floor(st.mtimeMs / 1000) };
    if (whiteout) {
      const slash = name.lastIndexOf('/');
      // Docker's overlay converter: a regular empty file, mode 0600, owner and times kept.
      h.name = `${name.slice(0, slash + 1)}.wh.${name.slice(slash + 1)}`;
      h.mode = S_IFREG | 0o600;
      if (!slab.header(h)) yield* slowHeader(slab, h);
    } else if (st.isDirectory()) {
      // moby's tar appender names directories with a trailing slash.
      h.name = `${name}/`;
      h.type = '5';
      if (!slab.header(h)) yield* slowHeader(slab, h);
      opaque ??= await opaqueP;
      if (opaque.has(e.rel)) {
        // The opaque marker carries the directory's permission bits, as Docker writes it.
        const m: TarHeader = { ...h, name: `${name}/.wh..wh..opq`, type: '0', mode: S_IFREG | (st.mode & 0o777) };
        if (!slab.header(m)) yield* slowHeader(slab, m);
      }
    } else if (st.isSymbolicLink()) {
      bytes += st.size;
      h.type = '2';
      h.linkname = tarName(fs.readlinkSync(e.abs));
      if (!slab.header(h)) yield* slowHeader(slab, h);
    } else if (st.isFile()) {
      const key = st.nlink > 1 ? `${st.dev}:${st.ino}` : '';
      const first = key ? inodes.get(key) : undefined;
      if (first !== undefined) {
        h.type = '1';
        h.linkname = first;
        if (!slab.header(h)) yield* slowHeader(slab, h);
        continue;
      }
      if (key) inodes.set(key, name);
      bytes += st.size;
      h.size = st.size;
      if (st.size <= SMALL_FILE) {
        if (!smallFile(slab, h, e.abs)) yield* smallFileSlow(slab, h, e.abs);
      } else {
        if (!slab.header(h)) yield* slowHeader(slab, h);
        yield slab.take();
        yield* fileBody(slab, e.abs, st.size);
      }
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      h.type = st.isCharacterDevice() ? '3' : '4';
      h.devmajor = major(st.rdev);
      h.devminor = minor(st.rdev);
      if (!slab.header(h)) yield* slowHeader(slab, h);
    } else if (st.isFIFO()) {
      h.type = '6';
      if (!slab.header(h)) yield* slowHeader(slab, h);
    }
    // Sockets are not archived (as Docker).
    if (due()) await pause();
  }
  await opaqueP;
  if (!slab.room(2 * BLOCK)) yield slab.take();
  slab.add(ZEROS);
  if (usage) usage.size = bytes;
  yield slab.take();
}

/**
 * A small file's entry, in place: the header, then the file read straight
 * into the slab behind it; false, with nothing written, when there is no
 * room or the header needs PAX (smallFileSlow). The header says the size
 * lstat saw; if the file changed since (a running container), the header is
 * written again for the bytes actually read, so header and bytes always
 * agree. An empty file is not opened.
 */
function smallFile(slab: Slab, h: TarHeader, file: string): boolean {
  if (!slab.room(BLOCK + h.size + 1 + BLOCK)) return false;
  const start = slab.off;
  if (!slab.header(h)) return false;
  if (h.size === 0) return true;
  const at = slab.off;
  const n = readInto(slab.buf, at, h.size, file);
  if (n === h.size) {
    slab.off += n;
    slab.pad(n);
    return true;
  }
  slab.off = start;
  if (n > h.size) return false;
  // It shrank: the bytes read stay where they are, behind a header of the same length.
  if (!slab.header({ ...h, size: n })) throw new Error(`tar header of ${file} no longer fits`);
  slab.off += n;
  slab.pad(n);
  return true;
}

/**
 * Up to `size` + 1 bytes of `file` at `buf[at…]` (one more than expected
 * tells a file that grew), in one read: a short read of a regular file is
 * its end.
 */
function readInto(buf: Buffer, at: number, size: number, file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    return fs.readSync(fd, buf, at, size + 1, null);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A small file's entry that did not fit in place: in a fresh batch if this
 * one was full, else (its header needs PAX, or it grew) read whole and
 * written for what is there.
 */
function* smallFileSlow(slab: Slab, h: TarHeader, file: string): Generator<Buffer> {
  if (!slab.room(BLOCK + h.size + 1 + BLOCK)) {
    yield slab.take();
    if (smallFile(slab, h, file)) return;
  }
  const data = h.size === 0 ? Buffer.alloc(0) : fs.readFileSync(file);
  const hh: TarHeader = { ...h, size: data.length };
  yield* slowHeader(slab, hh);
  if (slab.room(data.length + BLOCK)) {
    slab.add(data);
    slab.pad(data.length);
    return;
  }
  yield slab.take();
  yield data;
  const pad = padding(data.length);
  if (pad.length) yield pad;
}

const S_IFREG = 0o100000;

/** Files up to this size are read in one piece with their header (the slab holds the largest with a PAX header). */
const SMALL_FILE = 256 << 10;

/** Exactly `size` bytes of a big file, in 1 MiB reads: cut if it grew, padded with zeros if it shrank, then the block padding. */
async function* fileBody(slab: Slab, file: string, size: number): AsyncGenerator<Buffer> {
  const fd = fs.openSync(file, 'r');
  try {
    let left = size;
    while (left > 0) {
      const buf = slab.bodyBuffer(Math.min(left, BATCH_BYTES));
      // Synchronous: a page-cache read of 1 MiB is shorter than a thread-pool round trip, and hashing waits for it anyway.
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      yield buf.subarray(0, n);
      left -= n;
      await pause();
    }
    if (left > 0) yield Buffer.alloc(left);
  } finally {
    fs.closeSync(fd);
  }
  const pad = padding(size);
  if (pad.length) yield pad;
}
