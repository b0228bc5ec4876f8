/**
 * @module engine/container/archive-in
 * Files into a container: `PUT /containers/{id}/archive` (`docker cp` to a
 * container) — moby's pkg/archive Unpack, through the descriptors of
 * ./scoped-root.ts so that no entry, link or symlink lands outside the
 * container's root whatever the container does meanwhile. Mount points
 * are respected (a read-only bind or a --read-only rootfs refuses, a bind's
 * host directory keeps its owner and mode); `docker cp -a` owns the files
 * by the container's user, looked up in its own /etc/passwd. Xattrs an
 * archive brings are applied.
 */
import { constants as C, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { invalid, system } from '../errors.js';
import { toHost, type Identity, type IdentityMapping } from '../idmap.js';
import { decompressStream } from '../layer/compression.js';
import { mknodBatch, setXattrs, type XattrSpec } from '../layer/special.js';
import { InvalidLayerError } from '../layer/errors.js';
import { TarReader, type TarEntry } from '../layer/tar-reader.js';
import { goQuote } from '../../common/gofmt.js';
import {
  at, B, cpath, DIR_FLAGS, errCode, inRoot, loadMounts, lstatOrNull, O_PATH, parseRequestPath, PathError, pathError, procPath, readRootFile, show, sys,
  type Dir, type RootfsAccess, type ScopedRoot,
} from './scoped-root.js';

/** Go's time.Time cannot go past this (int64 nanoseconds); Docker maps such times to the epoch. */
const MAX_TIME_SECONDS = 9223372036;

export interface ExtractOptions {
  /** Refuse to replace a directory with a non-directory or the other way round (what `docker cp` asks for). */
  noOverwriteDirNonDir: boolean;
  /** `docker cp -a`: owned by the container's user instead of the archive's uid/gid. */
  copyUIDGID: boolean;
}

/** Go's filepath.Clean, on a byte string. */
function goClean(p: string): string {
  const norm = path.posix.normalize(p);
  return norm.length > 1 && norm.endsWith('/') ? norm.slice(0, -1) : norm;
}

/**
 * The components of an entry name below the extraction directory. A leading
 * `/` is relative to it too (filepath.Join); climbing above it is moby's
 * breakout error, except at the container root where Join clamps. Breakouts
 * are 400s here (the archive is the client's); dockerd answers 500.
 */
function entryParts(name: string, dest: readonly string[]): string[] {
  const clean = goClean(name);
  const parts: string[] = [];
  for (const c of clean.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (parts.length > 0) parts.pop();
      else if (dest.length > 0 && !clean.startsWith('/')) throw invalid(`${goQuote(show(clean))} is outside of ${goQuote(show(cpath(dest)))}`);
      continue;
    }
    parts.push(c);
  }
  return parts;
}

/**
 * moby createTarFile's symlink check: the target joined onto the link's
 * directory must stay under the extraction directory (an absolute target
 * always does: Join does not restart at `/`).
 */
function checkSymlink(dest: readonly string[], rel: readonly string[], linkname: string): void {
  if (dest.length === 0) return;
  const dir = rel.slice(0, -1);
  for (const c of linkname.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (dir.length === 0) throw invalid(`invalid symlink ${goQuote(show(cpath([...dest, ...rel])))} -> ${goQuote(show(linkname))}`);
      dir.pop();
    } else dir.push(c);
  }
}

/** A hardlink target below the extraction directory (filepath.Join(dest, linkname), which must stay inside). */
function hardlinkParts(dest: readonly string[], linkname: string): string[] {
  const parts: string[] = [];
  for (const c of linkname.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (parts.length === 0 && dest.length > 0) throw invalid(`invalid hardlink ${goQuote(show(goClean(`${cpath(dest)}/${linkname}`)))} -> ${goQuote(show(linkname))}`);
      parts.pop();
    } else parts.push(c);
  }
  if (parts.length === 0) throw invalid(`invalid hardlink ${goQuote(show(cpath(dest)))} -> ${goQuote(show(linkname))}`);
  return parts;
}

function boundTime(t: number): number {
  return t < 0 || t > MAX_TIME_SECONDS ? 0 : t;
}

/** Docker: the access time is never before the modification time. */
function entryTimes(e: TarEntry): { atime: number; mtime: number } {
  const atime = e.atime !== undefined && e.atime > e.mtime ? e.atime : e.mtime;
  return { atime: boundTime(atime), mtime: boundTime(e.mtime) };
}

/** Removes a directory tree through descriptors, never following a symlink the container may plant meanwhile. */
async function removeTree(parentFd: number, name: string, parts: readonly string[]): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(at(parentFd, name), DIR_FLAGS);
  } catch (err) {
    const code = errCode(err);
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR' || code === 'ELOOP') {
      await sys('unlinkat', parts, () => fsp.unlink(at(parentFd, name)));
      return;
    }
    throw pathError('open', parts, err);
  }
  try {
    for (const b of await fsp.readdir(at(fh.fd), { encoding: 'buffer' })) {
      const child = b.toString('latin1');
      const st = await lstatOrNull(at(fh.fd, child));
      if (st === null) continue;
      if (st.isDirectory()) await removeTree(fh.fd, child, [...parts, child]);
      else await sys('unlinkat', [...parts, child], () => fsp.unlink(at(fh.fd, child)));
    }
  } finally {
    await fh.close();
  }
  await sys('unlinkat', parts, () => fsp.rmdir(at(parentFd, name)));
}

async function readAll(reader: TarReader, onChunk: (b: Buffer) => Promise<void>): Promise<void> {
  for (let c = await reader.read(); c !== null; c = await reader.read()) await onChunk(c);
}

/** chown, then chmod (chown clears setuid bits), then times, on a descriptor we opened and checked. */
async function applyMeta(fh: FileHandle, owner: { uid: number; gid: number }, mode: number | null, times: { atime: number; mtime: number } | null): Promise<void> {
  await fh.chown(owner.uid, owner.gid);
  if (mode !== null) await fh.chmod(mode);
  if (times !== null) await fh.utimes(times.atime, times.mtime);
}

async function applyXattrs(e: TarEntry, parent: Dir, name: string): Promise<void> {
  if (e.xattrs === null || e.xattrs.size === 0) return;
  const specs: XattrSpec[] = [...e.xattrs].map(([n, value]) => ({ path: procPath(parent.fd, name), name: n, value }));
  await setXattrs(specs);
}

/** Creates one archive entry named `name` in `parent` (its place is free). */
async function createEntry(
  root: ScopedRoot,
  e: TarEntry,
  reader: TarReader,
  parent: Dir,
  name: string,
  dest: Dir,
  rel: string[],
  owner: { uid: number; gid: number },
  dirTimes: { parts: string[]; atime: number; mtime: number }[],
): Promise<void> {
  const parts = [...parent.parts, name];
  const mode = e.mode & 0o7777;
  const times = entryTimes(e);
  switch (e.type) {
    case 'dir': {
      const exists = await lstatOrNull(at(parent.fd, name));
      if (exists === null) await sys('mkdir', parts, () => fsp.mkdir(at(parent.fd, name), 0o700));
      const fh = await sys('open', parts, () => fsp.open(at(parent.fd, name), DIR_FLAGS));
      try {
        await sys('lchown', parts, () => applyMeta(fh, owner, mode, null));
        await applyXattrs(e, parent, name);
      } finally {
        await fh.close();
      }
      // Times last: creating entries inside changes a directory's mtime.
      dirTimes.push({ parts, ...times });
      return;
    }
    case 'file': {
      // O_EXCL|O_NOFOLLOW: never writes through whatever may have appeared at the name.
      const fh = await sys('open', parts, () => fsp.open(at(parent.fd, name), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600));
      let complete = false;
      try {
        await readAll(reader, async (chunk) => {
          let off = 0;
          while (off < chunk.length) off += (await sys('write', parts, () => fh.write(chunk, off, chunk.length - off))).bytesWritten;
        });
        await sys('lchown', parts, () => applyMeta(fh, owner, mode, times));
        await applyXattrs(e, parent, name);
        complete = true;
      } finally {
        await fh.close();
        // A tar cut inside this entry leaves no half-written file behind (O_EXCL: the name is ours to remove).
        if (!complete) await fsp.unlink(at(parent.fd, name)).catch(() => undefined);
      }
      return;
    }
    case 'symlink': {
      checkSymlink(dest.parts, rel, e.linkname);
      const p = at(parent.fd, name);
      await sys('symlink', parts, () => fsp.symlink(B(e.linkname), p));
      await sys('lchown', parts, () => fsp.lchown(p, owner.uid, owner.gid));
      await applyXattrs(e, parent, name);
      await sys('lutimes', parts, () => fsp.lutimes(p, times.atime, times.mtime));
      return;
    }
    case 'hardlink': {
      const tparts = hardlinkParts(dest.parts, e.linkname);
      const tdir = await root.walk([...dest.parts, ...tparts.slice(0, -1)]);
      const tname = tparts[tparts.length - 1]!;
      // link(2) without AT_SYMLINK_FOLLOW links the name itself, never what a symlink points at.
      await sys('link', parts, () => fsp.link(at(tdir.fd, tname), at(parent.fd, name)));
      await sys('lchown', parts, () => fsp.lchown(at(parent.fd, name), owner.uid, owner.gid));
      return;
    }
    case 'char':
    case 'block':
    case 'fifo': {
      const type = e.type === 'fifo' ? 'p' : e.type === 'char' ? 'c' : 'b';
      await mknodBatch([{ path: procPath(parent.fd, name), type, major: e.devmajor, minor: e.devminor }]);
      // O_PATH: a handle on the node itself (opening a FIFO or device for real could block or act).
      const fh = await sys('open', parts, () => fsp.open(at(parent.fd, name), O_PATH | C.O_NOFOLLOW));
      try {
        const st = await fh.stat();
        if (st.isSymbolicLink() || st.isDirectory() || st.isFile()) throw new PathError('mknod', cpath(parts), 'EEXIST');
        // Descriptors opened with O_PATH refuse fchmod & co.; their /proc/self/fd link reaches the same inode.
        const self = at(fh.fd);
        await sys('lchown', parts, () => fsp.chown(self, owner.uid, owner.gid));
        await sys('chmod', parts, () => fsp.chmod(self, mode));
        await applyXattrs(e, parent, name);
        await sys('chtimes', parts, () => fsp.utimes(self, times.atime, times.mtime));
      } finally {
        await fh.close();
      }
      return;
    }
    case 'unsupported':
      throw invalid(`unhandled tar header type ${goQuote(e.typeflag)} for ${goQuote(show(e.name))}`);
  }
}

/** moby pkg/archive Unpack, through descriptors: entries land under `dest`, and only inside the root. */
async function unpack(root: ScopedRoot, dest: Dir, reader: TarReader, o: ExtractOptions, chown: Identity | null, idMap: IdentityMapping | undefined): Promise<void> {
  const destParts = dest.parts;
  const dirTimes: { parts: string[]; atime: number; mtime: number }[] = [];
  for (let e = await reader.next(); e !== null; e = await reader.next()) {
    await root.trim();
    const rel = entryParts(e.name, destParts);
    const shown = cpath([...destParts, ...rel]);
    if (rel.length === 0) {
      // The extraction directory itself: a directory entry merges (Docker skips it); anything else cannot replace it.
      if (e.type === 'dir') continue;
      throw system(`cannot overwrite directory ${goQuote(show(shown))} with non-directory ${goQuote(show(cpath(destParts)))}`);
    }
    const name = rel[rel.length - 1]!;
    const parent = await root.walk([...destParts, ...rel.slice(0, -1)], true);
    const parts = [...parent.parts, name];
    const mount = root.mounts.get(parts.join('/'));
    if (mount !== undefined) {
      // A directory onto a mounted directory merges; the host directory's owner and mode are left alone.
      if (mount.kind !== 'file' && e.type === 'dir') continue;
      if (mount.kind !== 'file' && o.noOverwriteDirNonDir) {
        throw system(`cannot overwrite directory ${goQuote(show(shown))} with non-directory ${goQuote(show(cpath(destParts)))}`);
      }
      // Replacing a mount point is what fails in dockerd (unlinking it: EBUSY).
      throw new PathError('unlinkat', cpath(parts), 'EBUSY');
    }
    root.assertWritable(parent.parts);
    const existing = await sys('lstat', parts, () => lstatOrNull(at(parent.fd, name)));
    if (existing !== null) {
      const isDir = existing.isDirectory();
      if (o.noOverwriteDirNonDir && isDir && e.type !== 'dir') {
        throw system(`cannot overwrite directory ${goQuote(show(shown))} with non-directory ${goQuote(show(cpath(destParts)))}`);
      }
      if (o.noOverwriteDirNonDir && !isDir && e.type === 'dir') {
        throw system(`cannot overwrite non-directory ${goQuote(show(shown))} with directory ${goQuote(show(cpath(destParts)))}`);
      }
      // Replace whatever is there, except that a directory onto a directory merges.
      if (isDir && e.type !== 'dir') {
        await root.forget(parts);
        await removeTree(parent.fd, name, parts);
      } else if (!isDir) {
        await sys('unlinkat', parts, () => fsp.unlink(at(parent.fd, name)));
      }
    }
    // Owners are container IDs; on disk they are host IDs (identity unless --userns-remap).
    await createEntry(root, e, reader, parent, name, dest, rel, toHost(idMap, chown ?? { uid: e.uid, gid: e.gid }), dirTimes);
  }
  await reader.drain();
  for (const d of dirTimes) {
    await root.trim();
    const dir = await root.walk(d.parts).catch(() => null);
    if (dir === null) continue;
    // utimes on /proc/self/fd/N reaches the directory we hold.
    await sys('chtimes', d.parts, () => fsp.utimes(at(dir.fd), d.atime, d.mtime));
  }
}


/**
 * The uid/gid of the container's configured user (`docker cp -a`), looked up
 * in the container's own /etc/passwd and /etc/group as runc's GetExecUser
 * does: numeric ids need no entry; a name that has none is an error.
 */
async function containerOwner(root: ScopedRoot, spec: string): Promise<{ uid: number; gid: number }> {
  const [userArg = '', groupArg] = spec.split(':');
  const passwd = (await readRootFile(root, '/etc/passwd')) ?? '';
  const rows = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => l.split(':'));
  const numeric = /^\d+$/.test(userArg);
  const u = rows(passwd).find((r) => (numeric ? r[2] === String(Number(userArg)) : r[0] === userArg));
  if (!u && !numeric) throw invalid(`unable to find user ${userArg}: no matching entries in passwd file`);
  const uid = numeric ? Number(userArg) : Number(u![2]);
  let gid = u ? Number(u[3]) || 0 : 0;
  if (groupArg !== undefined && groupArg !== '') {
    if (/^\d+$/.test(groupArg)) gid = Number(groupArg);
    else {
      const g = rows((await readRootFile(root, '/etc/group')) ?? '').find((r) => r[0] === groupArg);
      if (!g) throw invalid(`unable to find group ${groupArg}: no matching entries in group file`);
      gid = Number(g[2]) || 0;
    }
  }
  return { uid, gid };
}

/**
 * `PUT /containers/{id}/archive`: extracts a tar (plain, gzip, bzip2 or xz)
 * into the directory at `userPath`, following a final symlink like moby's
 * EvalSymlinks. The body is only read once the destination checks out.
 */
export async function extractToDir(containers: RootfsAccess, idOrName: string, userPath: string, body: Readable, o: ExtractOptions): Promise<void> {
  const req = parseRequestPath(userPath);
  await inRoot(containers, idOrName, userPath, async (root, c) => {
    await loadMounts(root, c);
    const canon = await root.canonical(req.parts);
    let dest: Dir;
    if (canon.length === 0) dest = root.root;
    else {
      const mount = root.mounts.get(canon.join('/'));
      if (mount === undefined) {
        const parent = await root.walk(canon.slice(0, -1));
        const name = canon[canon.length - 1]!;
        const st = await sys('lstat', canon, () => fsp.lstat(at(parent.fd, name), { bigint: true }));
        if (!st.isDirectory()) throw invalid('extraction point is not a directory');
      } else if (mount.kind === 'file') {
        throw invalid('extraction point is not a directory');
      }
      dest = await root.walk(canon);
    }
    root.assertWritable(dest.parts);
    const chown = o.copyUIDGID && c.Config.User ? await containerOwner(root, c.Config.User) : null;
    // Decompression runs here, on the host, never with the container's tools.
    const { stream } = await decompressStream(body);
    const reader = new TarReader(stream);
    try {
      await unpack(root, dest, reader, o, chown, containers.idMap);
    } catch (err) {
      reader.destroy();
      // A truncated or corrupt tar is the client's: a 400 with the reader's message (dockerd answers 500).
      if (err instanceof InvalidLayerError) throw invalid(err.message);
      throw err;
    }
  });
}
