/**
 * @module engine/container/archive-out
 * Files out of a container: `HEAD /containers/{id}/archive` (what a path
 * is) and `GET /containers/{id}/archive` (a tar of it, `docker cp` from a
 * container), in moby's shapes — Go's os.FileMode and RFC 3339 times in the
 * stat header, TarResourceRebase names, hardlinks as moby's tarAppender
 * writes them, owners as on the host. Every read goes through the
 * descriptors of ./scoped-root.ts; the tar is written by
 * ../layer/tar-writer.ts (Go's format, byte for byte).
 *
 * Not supported: xattrs (security.capability) are not *read* into archives
 * (Node cannot read xattrs without a tool per file).
 */
import { constants as C, promises as fsp, type BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { PathStat } from '../../common/pathstat.js';
import { SinkClosedError, TarSink, type TarHeader } from '../layer/tar-writer.js';
import {
  at, cpath, DIR_FLAGS, inRoot, loadMounts, parseRequestPath, resolveTarget, show,
  type RequestPath, type RootfsAccess, type ScopedRoot, type Target,
} from './scoped-root.js';


// ---- Docker's wire types -----------------------------------------------------

export type { PathStat } from '../../common/pathstat.js';

const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;
const GO_MODE_DEVICE = 2 ** 26;
const GO_MODE_NAMED_PIPE = 2 ** 25;
const GO_MODE_SOCKET = 2 ** 24;
const GO_MODE_SETUID = 2 ** 23;
const GO_MODE_SETGID = 2 ** 22;
const GO_MODE_CHAR_DEVICE = 2 ** 21;
const GO_MODE_STICKY = 2 ** 20;

/** st_mode → Go's os.FileMode, as os.Lstat builds it (fillFileStatFromSys). */
export function goFileMode(stMode: number): number {
  let m = stMode & 0o777;
  switch (stMode & C.S_IFMT) {
    case C.S_IFBLK:
      m += GO_MODE_DEVICE;
      break;
    case C.S_IFCHR:
      m += GO_MODE_DEVICE + GO_MODE_CHAR_DEVICE;
      break;
    case C.S_IFDIR:
      m += GO_MODE_DIR;
      break;
    case C.S_IFIFO:
      m += GO_MODE_NAMED_PIPE;
      break;
    case C.S_IFLNK:
      m += GO_MODE_SYMLINK;
      break;
    case C.S_IFSOCK:
      m += GO_MODE_SOCKET;
      break;
  }
  if (stMode & 0o2000) m += GO_MODE_SETGID;
  if (stMode & 0o4000) m += GO_MODE_SETUID;
  if (stMode & 0o1000) m += GO_MODE_STICKY;
  return m;
}

/** A time in nanoseconds since the epoch as Go's RFC3339Nano (UTC, trailing zeros of the fraction dropped). */
export function goTimeNs(ns: bigint): string {
  const sec = ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n);
  const frac = ns - sec * 1_000_000_000n;
  const iso = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  const f = frac === 0n ? '' : `.${frac.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${iso}${f}Z`;
}


async function pathStat(root: ScopedRoot, req: RequestPath, t: Target): Promise<PathStat> {
  let linkTarget = '';
  // Fully evaluated within the root, as far as it goes for a broken link.
  if (t.st.isSymbolicLink() && t.hostSource === undefined) linkTarget = show(cpath(await root.canonical(req.parts)));
  return {
    name: show(req.base),
    size: Number(t.st.size),
    mode: goFileMode(Number(t.st.mode)),
    mtime: goTimeNs(t.st.mtimeNs),
    linkTarget,
  };
}


/** `HEAD /containers/{id}/archive`: what the path is. */
export function statPath(containers: RootfsAccess, idOrName: string, userPath: string): Promise<PathStat> {
  const req = parseRequestPath(userPath);
  return inRoot(containers, idOrName, userPath, async (root, c) => {
    await loadMounts(root, c);
    const t = await resolveTarget(root, req);
    return pathStat(root, req, t);
  });
}

// ---- tar writing -------------------------------------------------------------

function seconds(ns: bigint): number {
  // Go truncates header times to whole seconds.
  return Number(ns / 1_000_000_000n);
}

function statHeader(name: string, st: BigIntStats, type: TarHeader['type']): TarHeader {
  return {
    name,
    type,
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === '0' ? Number(st.size) : 0,
    mtime: seconds(st.mtimeNs),
  };
}

function major(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}

function minor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n));
}

export interface ArchiveContext {
  tar: TarSink;
  /** The view: mounts are read through (none for export). */
  root: ScopedRoot;
  /** First archive name of each multiply-linked inode, for hardlink entries. */
  links: Map<string, string>;
}

/** A host file bind-mounted into the container: its own metadata and contents. */
async function writeHostFile(src: string, entryName: string, ctx: ArchiveContext): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(src, C.O_RDONLY | C.O_NONBLOCK);
  } catch {
    return;
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isFile()) return;
    await ctx.tar.header(statHeader(entryName, st, '0'));
    await ctx.tar.body(fh, Number(st.size));
  } finally {
    await fh.close();
  }
}

/** Hardlink bookkeeping, as moby's tarAppender: later names of an inode become links to the first. */
function linkTo(ctx: ArchiveContext, st: BigIntStats, entryName: string): string | undefined {
  if (st.nlink <= 1n) return undefined;
  const key = `${st.dev}:${st.ino}`;
  const first = ctx.links.get(key);
  if (first === undefined) ctx.links.set(key, entryName);
  return first;
}

/**
 * Archives the entry `name` of directory `dirFd` as `entryName`. Entries that
 * vanish or change type under us are skipped, as Docker logs and skips files
 * it cannot add; only a failing reader stops the archive.
 */
async function writeEntry(dirFd: number, dirParts: readonly string[], name: string, entryName: string, ctx: ArchiveContext): Promise<void> {
  const parts = [...dirParts, name];
  const mount = ctx.root.mounts.get(parts.join('/'));
  if (mount?.kind === 'file') return writeHostFile(mount.source, entryName, ctx);
  if (mount?.kind === 'dir') {
    let fh: FileHandle;
    try {
      fh = await fsp.open(mount.source, C.O_RDONLY | C.O_DIRECTORY);
    } catch {
      return;
    }
    try {
      await ctx.tar.header(statHeader(`${entryName}/`, await fh.stat({ bigint: true }), '5'));
      await writeDirContents(fh.fd, parts, `${entryName}/`, ctx);
    } finally {
      await fh.close();
    }
    return;
  }
  let st: BigIntStats;
  try {
    st = await fsp.lstat(at(dirFd, name), { bigint: true });
  } catch {
    return;
  }
  if (st.isDirectory()) {
    let fh: FileHandle;
    try {
      fh = await fsp.open(at(dirFd, name), DIR_FLAGS);
    } catch {
      return;
    }
    try {
      const dst = await fh.stat({ bigint: true });
      await ctx.tar.header(statHeader(`${entryName}/`, dst, '5'));
      await writeDirContents(fh.fd, parts, `${entryName}/`, ctx);
    } finally {
      await fh.close();
    }
    return;
  }
  if (st.isFile()) {
    let fh: FileHandle;
    try {
      // O_NONBLOCK: should it have become a FIFO since the lstat, the open must not hang.
      fh = await fsp.open(at(dirFd, name), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    } catch {
      return;
    }
    try {
      const fst = await fh.stat({ bigint: true });
      if (!fst.isFile()) return;
      const first = linkTo(ctx, fst, entryName);
      if (first !== undefined) {
        await ctx.tar.header({ ...statHeader(entryName, fst, '1'), linkname: first });
        return;
      }
      await ctx.tar.header(statHeader(entryName, fst, '0'));
      await ctx.tar.body(fh, Number(fst.size));
    } finally {
      await fh.close();
    }
    return;
  }
  if (st.isSymbolicLink()) {
    let target: string;
    try {
      target = (await fsp.readlink(at(dirFd, name), { encoding: 'buffer' })).toString('latin1');
    } catch {
      return;
    }
    const first = linkTo(ctx, st, entryName);
    if (first !== undefined) await ctx.tar.header({ ...statHeader(entryName, st, '1'), linkname: first });
    else await ctx.tar.header({ ...statHeader(entryName, st, '2'), linkname: target });
    return;
  }
  const type = st.isCharacterDevice() ? '3' : st.isBlockDevice() ? '4' : st.isFIFO() ? '6' : null;
  // Sockets are not archived (Go's tar refuses them; Docker skips them).
  if (type === null) return;
  const first = linkTo(ctx, st, entryName);
  if (first !== undefined) {
    await ctx.tar.header({ ...statHeader(entryName, st, '1'), linkname: first });
    return;
  }
  const h = statHeader(entryName, st, type);
  if (type !== '6') {
    h.devmajor = major(st.rdev);
    h.devminor = minor(st.rdev);
  }
  await ctx.tar.header(h);
}

/** Archives a directory's entries, in name order like Go's filepath.Walk, each named `prefix + name`. */
export async function writeDirContents(dirFd: number, dirParts: readonly string[], prefix: string, ctx: ArchiveContext): Promise<void> {
  let names: string[];
  try {
    names = (await fsp.readdir(at(dirFd), { encoding: 'buffer' })).map((b) => b.toString('latin1'));
  } catch {
    return;
  }
  // Mount points the rootfs does not have yet (a container never started) are there all the same.
  for (const m of ctx.root.mountChildren(dirParts)) if (!names.includes(m)) names.push(m);
  // Byte order: latin1 strings compare like their bytes.
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) await writeEntry(dirFd, dirParts, name, `${prefix}${name}`, ctx);
}

/**
 * `GET /containers/{id}/archive`: a tar of the path, entries named as moby's
 * TarResourceRebase names them (the path's base name, `.` for `dir/.`, and
 * `/` for the root). `begin` gets the stat once the path is known and returns
 * where the tar goes; the container stays locked until the tar is written.
 */
export async function archivePath(containers: RootfsAccess, idOrName: string, userPath: string, begin: (stat: PathStat) => Writable): Promise<void> {
  const req = parseRequestPath(userPath);
  try {
    await inRoot(containers, idOrName, userPath, async (root, c) => {
      await loadMounts(root, c);
      const t = await resolveTarget(root, req);
      const stat = await pathStat(root, req, t);
      const ctx: ArchiveContext = { tar: new TarSink(begin(stat)), root, links: new Map() };
      if (t.name === null) {
        // A path ending in `/` or `/.`, or the root: the directory, then its contents below the rebased name.
        const top = req.base === '/' ? '' : req.base;
        const st = await fsp.stat(at(t.dir.fd), { bigint: true });
        await ctx.tar.header(statHeader(`${top}/`, st, '5'));
        await writeDirContents(t.dir.fd, t.parts, `${top}/`, ctx);
      } else {
        // Named by the path's base: a directory with its contents, anything else alone (a symlink as the link).
        await writeEntry(t.dir.fd, t.dir.parts, t.name, req.base, ctx);
      }
      await ctx.tar.finish();
    });
  } catch (err) {
    if (err instanceof SinkClosedError) return;
    throw err;
  }
}

