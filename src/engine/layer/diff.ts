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
export function diffTar(upper: string, opts: { idMap?: IdentityMapping } = {}): Readable {
  return Readable.from(diffChunks(upper, opts.idMap), { objectMode: false });
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

async function* diffChunks(upper: string, idMap: IdentityMapping | undefined): AsyncGenerator<Buffer> {
  // getfattr walks the tree in its own process while this one does.
  const opaqueP = opaqueDirs(upper);
  const entries = await walk(upper);
  const opaque = await opaqueP;
  const inodes = new Map<string, string>();
  let batch: Buffer[] = [];
  let bytes = 0;
  const add = (...bufs: Buffer[]) => {
    for (const b of bufs) {
      batch.push(b);
      bytes += b.length;
    }
  };
  const take = (): Buffer => {
    const out = batch.length === 1 ? batch[0]! : Buffer.concat(batch, bytes);
    batch = [];
    bytes = 0;
    return out;
  };
  const header = (h: TarHeader) => add(...encodeHeader({ ...h, name: latin1(h.name), ...(h.linkname !== undefined ? { linkname: latin1(h.linkname) } : {}) }));
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
      header({ ...base, name: wh, type: '0', mode: S_IFREG | 0o600 });
    } else if (e.st.isDirectory()) {
      // moby's tar appender names directories with a trailing slash.
      header({ ...base, name: `${name}/`, type: '5' });
      // The opaque marker carries the directory's permission bits, as Docker writes it.
      if (opaque.has(e.rel)) header({ ...base, name: `${name}/.wh..wh..opq`, type: '0', mode: S_IFREG | (e.st.mode & 0o777) });
    } else if (e.st.isSymbolicLink()) {
      header({ ...base, type: '2', linkname: fs.readlinkSync(e.abs) });
    } else if (e.st.isFile()) {
      const key = `${e.st.dev}:${e.st.ino}`;
      const first = e.st.nlink > 1 ? inodes.get(key) : undefined;
      if (first) {
        header({ ...base, type: '1', linkname: first });
        continue;
      }
      if (e.st.nlink > 1) inodes.set(key, name);
      if (e.st.size <= SMALL_FILE) {
        // Read first: the file may have changed since lstat (a running container), and the header must match the bytes.
        const data = fs.readFileSync(e.abs);
        header({ ...base, type: '0', size: data.length });
        add(data, padding(data.length));
      } else {
        header({ ...base, type: '0', size: e.st.size });
        yield take();
        yield* fileBody(e.abs, e.st.size);
      }
    } else if (e.st.isCharacterDevice() || e.st.isBlockDevice()) {
      header({ ...base, type: e.st.isCharacterDevice() ? '3' : '4', devmajor: major(e.st.rdev), devminor: minor(e.st.rdev) });
    } else if (e.st.isFIFO()) {
      header({ ...base, type: '6' });
    }
    // Sockets are not archived (as Docker).
    if (bytes >= BATCH_BYTES) yield take();
    await breathe();
  }
  add(ZEROS);
  yield take();
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
