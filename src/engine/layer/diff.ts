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
 */
import fs, { type Stats } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { run } from '../../util/exec.js';
import { toContainer, type IdentityMapping } from '../idmap.js';
import { BLOCK, encodeHeader, type TarHeader } from './tar-writer.js';

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

/** Lets other requests run every BATCH synchronous fs calls. */
async function breathe(): Promise<void> {
  if (++sinceYield < BATCH) return;
  sinceYield = 0;
  await new Promise((r) => setImmediate(r));
}

/** Walks `upper` in sorted order (parents before children), not descending into whiteouts. */
async function walk(upper: string): Promise<UpperEntry[]> {
  const out: UpperEntry[] = [];
  const visit = async (relDir: string): Promise<void> => {
    const absDir = path.join(upper, relDir);
    const names = fs.readdirSync(absDir).sort();
    for (const name of names) {
      const rel = path.posix.join(relDir, name);
      const abs = path.join(upper, rel);
      const st = fs.lstatSync(abs);
      await breathe();
      out.push({ rel, abs, st });
      if (st.isDirectory()) await visit(rel);
    }
  };
  await visit('/');
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
 * round trip cost more than reading the files (commit hashes this tar).
 */
export function diffTar(upper: string, opts: { idMap?: IdentityMapping; usage?: { size: number } } = {}): Readable {
  return Readable.from(diffChunks(upper, opts.idMap, opts.usage), { objectMode: false });
}

/** Bytes gathered before they are handed on. */
const BATCH_BYTES = 1 << 20;
const ZEROS = Buffer.alloc(BLOCK * 2);

function latin1(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

function padding(size: number): Buffer {
  return ZEROS.subarray(0, (BLOCK - (size % BLOCK)) % BLOCK);
}

/**
 * A batch of tar bytes: headers are copied in and small files are read
 * straight into it (one read, no per-file buffer), so 10 000 small files
 * cost their system calls and little else.
 */
class Slab {
  buf = Buffer.allocUnsafe(BATCH_BYTES);
  off = 0;

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

  /** The bytes so far; the slab starts afresh (the taken bytes are the reader's). */
  take(): Buffer {
    const out = this.buf.subarray(0, this.off);
    this.buf = Buffer.allocUnsafe(BATCH_BYTES);
    this.off = 0;
    return out;
  }
}

/**
 * `usage`, when given, is set once the tar is complete to the bytes of
 * regular files (hard links once) and symlinks, as util/fs directorySize
 * counts them: the walk already has every lstat.
 */
async function* diffChunks(upper: string, idMap: IdentityMapping | undefined, usage?: { size: number }): AsyncGenerator<Buffer> {
  // getfattr walks the tree in its own process while this one does.
  const opaqueP = opaqueDirs(upper);
  const entries = await walk(upper);
  const opaque = await opaqueP;
  const inodes = new Map<string, string>();
  const slab = new Slab();
  let bytes = 0;
  // Headers are at most a few blocks (a PAX header for long names), files up to SMALL_FILE.
  const header = function* (h: TarHeader): Generator<Buffer> {
    for (const b of encodeHeader({ ...h, name: latin1(h.name), ...(h.linkname !== undefined ? { linkname: latin1(h.linkname) } : {}) })) {
      if (!slab.room(b.length)) yield slab.take();
      slab.add(b);
    }
  };
  for (const e of entries) {
    const name = e.rel.slice(1);
    // With --userns-remap the files belong to host IDs; the layer records
    // container IDs. Whiteouts are made by the kernel as the mounter (host
    // root) and keep their owner, as moby's tar appender does.
    const hostOwner = { uid: e.st.uid, gid: e.st.gid };
    const owner = isWhiteout(e.st) ? hostOwner : toContainer(idMap, hostOwner);
    const base = { name, mode: e.st.mode, uid: owner.uid, gid: owner.gid, size: 0, mtime: Math.floor(e.st.mtimeMs / 1000) };
    if (isWhiteout(e.st)) {
      const wh = path.posix.join(path.posix.dirname(name), `.wh.${path.posix.basename(name)}`);
      // Docker's overlay converter: a regular empty file, mode 0600, owner and times kept.
      yield* header({ ...base, name: wh, type: '0', mode: S_IFREG | 0o600 });
    } else if (e.st.isDirectory()) {
      // moby's tar appender names directories with a trailing slash.
      yield* header({ ...base, name: `${name}/`, type: '5' });
      // The opaque marker carries the directory's permission bits, as Docker writes it.
      if (opaque.has(e.rel)) yield* header({ ...base, name: `${name}/.wh..wh..opq`, type: '0', mode: S_IFREG | (e.st.mode & 0o777) });
    } else if (e.st.isSymbolicLink()) {
      bytes += e.st.size;
      yield* header({ ...base, type: '2', linkname: fs.readlinkSync(e.abs) });
    } else if (e.st.isFile()) {
      const key = `${e.st.dev}:${e.st.ino}`;
      const first = e.st.nlink > 1 ? inodes.get(key) : undefined;
      if (first) {
        yield* header({ ...base, type: '1', linkname: first });
        continue;
      }
      if (e.st.nlink > 1) inodes.set(key, name);
      bytes += e.st.size;
      if (e.st.size <= SMALL_FILE) {
        yield* smallFile(slab, { ...base, type: '0', size: e.st.size }, e.abs);
      } else {
        yield* header({ ...base, type: '0', size: e.st.size });
        yield slab.take();
        yield* fileBody(e.abs, e.st.size);
      }
    } else if (e.st.isCharacterDevice() || e.st.isBlockDevice()) {
      yield* header({ ...base, type: e.st.isCharacterDevice() ? '3' : '4', devmajor: major(e.st.rdev), devminor: minor(e.st.rdev) });
    } else if (e.st.isFIFO()) {
      yield* header({ ...base, type: '6' });
    }
    // Sockets are not archived (as Docker).
    await breathe();
  }
  if (!slab.room(2 * BLOCK)) yield slab.take();
  slab.add(ZEROS);
  if (usage) usage.size = bytes;
  yield slab.take();
}

/**
 * A small file's entry: the header, then the file read straight into the
 * slab behind it. The header says the size lstat saw; if the file changed
 * since (a running container), the header is written again for the bytes
 * actually read, so header and bytes always agree.
 */
function* smallFile(slab: Slab, h: TarHeader, file: string): Generator<Buffer> {
  const encode = (size: number) => encodeHeader({ ...h, size, name: latin1(h.name) });
  let hdr = encode(h.size);
  const hlen = hdr.reduce((n, b) => n + b.length, 0);
  if (!slab.room(hlen + h.size + 1 + BLOCK)) yield slab.take();
  const start = slab.off;
  for (const b of hdr) slab.add(b);
  const fd = fs.openSync(file, 'r');
  let n = 0;
  try {
    // One byte more than expected tells a file that grew.
    for (let r = -1; r !== 0 && n <= h.size; n += r) r = fs.readSync(fd, slab.buf, slab.off + n, h.size + 1 - n, null);
  } finally {
    fs.closeSync(fd);
  }
  if (n === h.size) {
    slab.off += n;
    slab.pad(n);
    return;
  }
  slab.off = start;
  if (n < h.size) {
    // It shrank: the bytes read stay where they are, behind a header of the same length.
    hdr = encode(n);
    for (const b of hdr) slab.add(b);
    slab.off += n;
    slab.pad(n);
    return;
  }
  // It grew: read it whole and write the entry for what is there now.
  const data = fs.readFileSync(file);
  hdr = encode(data.length);
  yield slab.take();
  for (const b of hdr) yield b;
  yield data;
  const pad = padding(data.length);
  if (pad.length) yield pad;
}

const S_IFREG = 0o100000;

/** Files up to this size are read whole: a read per chunk costs far more than the read for small ones. */
const SMALL_FILE = 1 << 20;

/** Exactly `size` bytes of a big file, in 1 MiB reads: cut if it grew, padded with zeros if it shrank, then the block padding. */
async function* fileBody(file: string, size: number): AsyncGenerator<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(left, BATCH_BYTES));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      yield buf.subarray(0, bytesRead);
      left -= bytesRead;
    }
    if (left > 0) yield Buffer.alloc(left);
  } finally {
    await fh.close();
  }
  const pad = padding(size);
  if (pad.length) yield pad;
}
