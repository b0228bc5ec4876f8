/**
 * The host side of `docker cp`, after moby's pkg/archive copy.go as the
 * docker CLI v28 uses it: the path rules (a trailing `/` asserts a
 * directory, `/.` means "the contents of"), which directory a tar is
 * extracted into and how its first path element is renamed
 * (PrepareArchiveCopy), tarring a host path (TarResource), and extracting a
 * tar into a host directory (Untar with NoLchown and NoOverwriteDirNonDir).
 *
 * Extraction never writes outside its destination: entries are confined to
 * it (`..` is refused; a leading `/` counts from the destination, as Docker
 * joins it there), no entry is written through a symlink, and relative
 * symlinks and hard links that point outside it are refused.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { extract, pack, type Header, type Pack } from 'tar-stream';

type Headers = Partial<Header> & { name: string };

// moby's archive errors, verbatim.
export const ERR_NOT_DIRECTORY = 'not a directory';
export const ERR_DIR_NOT_EXISTS = 'no such directory';
export const ERR_CANNOT_COPY_DIR = 'cannot copy directory';

/** What a copy source or destination is (moby's archive.CopyInfo). */
export interface CopyInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
  /** The name the source's first path element takes in the archive. */
  rebaseName?: string;
}

/** A rename of the archive's first path element (RebaseArchiveEntries). */
export interface Rebase {
  from: string;
  to: string;
}

// ---------------------------------------------------------------------------
// Go's path/filepath, whose corner cases the copy rules depend on.

/** filepath.Clean. */
export function goClean(p: string): string {
  if (p === '') return '.';
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** filepath.Base: "" is ".", trailing slashes are dropped, "/" stays "/". */
export function goBase(p: string): string {
  if (p === '') return '.';
  const s = p.replace(/\/+$/, '');
  if (s === '') return '/';
  return s.slice(s.lastIndexOf('/') + 1);
}

/** filepath.Dir: everything before the last slash, cleaned. */
export function goDir(p: string): string {
  return goClean(p.slice(0, p.lastIndexOf('/') + 1));
}

/** filepath.Join: the non-empty parts joined with "/", cleaned. */
export function goJoin(...parts: string[]): string {
  const nonEmpty = parts.filter((x) => x !== '');
  return nonEmpty.length ? goClean(nonEmpty.join('/')) : '';
}

function hasTrailingSeparator(p: string): boolean {
  return p.endsWith('/');
}

/** The last path element is ".". */
function specifiesCurrentDir(p: string): boolean {
  return goBase(p) === '.';
}

/** A trailing "/" or "/." says the path must be a directory. */
function assertsDirectory(p: string): boolean {
  return hasTrailingSeparator(p) || specifiesCurrentDir(p);
}

/** PreserveTrailingDotOrSeparator: put back the "/." or "/" that cleaning removed. */
export function preserveTrailingDotOrSeparator(cleaned: string, original: string): string {
  let out = cleaned;
  if (!specifiesCurrentDir(out) && specifiesCurrentDir(original)) {
    if (!hasTrailingSeparator(out)) out += '/';
    out += '.';
  }
  if (!hasTrailingSeparator(out) && hasTrailingSeparator(original)) out += '/';
  return out;
}

/** SplitPathDirEntry: [directory, entry], keeping a final "." as the entry. */
export function splitPathDirEntry(p: string): [string, string] {
  let cleaned = goClean(p);
  if (specifiesCurrentDir(p)) cleaned += '/.';
  return [goDir(cleaned), goBase(cleaned)];
}

/** filepath.Abs, keeping a trailing "/" or "/." (the CLI's resolveLocalPath). */
export function resolveLocalPath(p: string): string {
  const abs = p.startsWith('/') ? goClean(p) : goJoin(process.cwd(), p);
  return preserveTrailingDotOrSeparator(abs, p);
}

/** GetRebaseName: the resolved path with the original's trailing "/." or "/", and the name to rebase to. */
export function getRebaseName(p: string, resolved: string): [string, string | undefined] {
  let r = resolved;
  if (specifiesCurrentDir(p) && !specifiesCurrentDir(r)) r += '/.';
  if (hasTrailingSeparator(p) && !hasTrailingSeparator(r)) r += '/';
  return [r, goBase(p) !== goBase(r) ? goBase(p) : undefined];
}

// ---------------------------------------------------------------------------
// Errors worded like Go's *PathError.

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many levels of symbolic links',
  EEXIST: 'file exists',
  EISDIR: 'is a directory',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  ENAMETOOLONG: 'file name too long',
};

/** "lstat /x: no such file or directory". */
export function pathError(op: string, p: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  const reason = (e?.code && ERRNO_TEXT[e.code]) || e?.message || String(err);
  return Object.assign(new Error(`${op} ${p}: ${reason}`), { code: e?.code });
}

function isNotExist(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

async function lstatOp(p: string): Promise<Stats> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    throw pathError('lstat', p, err);
  }
}

/** filepath.EvalSymlinks, failing with the lstat error of the first missing element, as Go does. */
async function evalSymlinks(p: string): Promise<string> {
  if (p === '') return '';
  try {
    return await fsp.realpath(p);
  } catch (err) {
    const parts = goClean(p).split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/') || '/';
      try {
        await fsp.lstat(prefix);
      } catch (e) {
        throw pathError('lstat', prefix, e);
      }
    }
    throw pathError('lstat', p, err);
  }
}

// ---------------------------------------------------------------------------
// Host paths as copy sources and destinations.

/**
 * CopyInfoSourcePath: symlinks before the last element are resolved (all of
 * them with -L), and the source must exist.
 */
export async function copyInfoSourcePath(p: string, followLink: boolean): Promise<CopyInfo> {
  let resolved: string;
  let rebaseName: string | undefined;
  if (followLink) {
    [resolved, rebaseName] = getRebaseName(p, await evalSymlinks(p));
  } else {
    const slash = p.lastIndexOf('/');
    const dir = p.slice(0, slash + 1);
    const base = p.slice(slash + 1);
    resolved = `${await evalSymlinks(dir)}/${base}`;
    if (hasTrailingSeparator(p) && goBase(p) !== goBase(resolved)) rebaseName = goBase(p);
  }
  const st = await lstatOp(resolved);
  return { path: resolved, exists: true, isDir: st.isDirectory(), rebaseName };
}

/**
 * CopyInfoDestinationPath: a destination that is a symlink means its target
 * (up to 10 links); one that does not exist needs an existing parent directory.
 */
export async function copyInfoDestinationPath(p: string): Promise<CopyInfo> {
  const original = p;
  let current = p;
  let st: Stats | undefined;
  let err: unknown;
  try {
    st = await fsp.lstat(current);
  } catch (e) {
    err = e;
  }
  for (let n = 0; st?.isSymbolicLink(); n++) {
    if (n > 10) throw new Error(`too many symlinks in ${original}`);
    let target: string;
    try {
      target = await fsp.readlink(current);
    } catch (e) {
      throw pathError('readlink', current, e);
    }
    if (!target.startsWith('/')) target = goJoin(splitPathDirEntry(current)[0], target);
    current = target;
    st = undefined;
    try {
      st = await fsp.lstat(current);
    } catch (e) {
      err = e;
    }
  }
  if (st) return { path: current, exists: true, isDir: st.isDirectory() };
  if (!isNotExist(err)) throw pathError('lstat', current, err);
  const [parent] = splitPathDirEntry(current);
  let parentStat: Stats;
  try {
    parentStat = await fsp.stat(parent);
  } catch (e) {
    throw pathError('stat', parent, e);
  }
  if (!parentStat.isDirectory()) throw new Error(ERR_NOT_DIRECTORY);
  return { path: current, exists: false, isDir: false };
}

/**
 * PrepareArchiveCopy: the directory to extract the source's archive into,
 * and how to rename its first element so that the copy lands where the
 * user asked. Throws moby's "cannot copy directory" / "no such directory".
 */
export function prepareArchiveCopy(src: CopyInfo, dst: CopyInfo): { dstDir: string; rebase?: Rebase } {
  const [dstDir, dstBase] = splitPathDirEntry(dst.path);
  const srcBase = src.rebaseName || splitPathDirEntry(src.path)[1];
  if (dst.exists && dst.isDir) return { dstDir: dst.path };
  if (dst.exists && src.isDir) throw new Error(ERR_CANNOT_COPY_DIR);
  if (!dst.exists && !src.isDir && assertsDirectory(dst.path)) throw new Error(ERR_DIR_NOT_EXISTS);
  return { dstDir, rebase: { from: srcBase, to: dstBase } };
}

/** RebaseArchiveEntries' rename: the first occurrence of `from` ("/" meaning the root: a prefix). */
export function rebaseName(name: string, r: Rebase): string {
  const from = r.from === '/' ? '' : r.from;
  const i = name.indexOf(from);
  return i < 0 ? name : name.slice(0, i) + r.to + name.slice(i + from.length);
}

// ---------------------------------------------------------------------------
// Tarring a host path (TarResourceRebase + TarWithOptions with one include).

/** Go's string order (bytes), as filepath.WalkDir lists a directory. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function major(rdev: number): number {
  return ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}

function minor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
}

/**
 * The tar the docker CLI uploads for `cp HOSTPATH CONTAINER:…`: the source
 * (file, directory or symlink itself) under its base name — or `rebase`d —
 * directories walked in name order, hard links kept, sockets skipped, times
 * in whole seconds, no owner names. Errors destroy the stream.
 */
export function tarResource(src: CopyInfo, rebases: Rebase[]): Readable {
  const tar = pack();
  void (async () => {
    await lstatOp(src.path);
    const [sourceDir, sourceBase] = splitPathDirEntry(src.path);
    const renames = [...(src.rebaseName ? [{ from: sourceBase, to: src.rebaseName }] : []), ...rebases];
    const seenInodes = new Map<string, string>();
    const add = async (abs: string, rel: string): Promise<void> => {
      let st: Stats;
      try {
        st = await fsp.lstat(abs);
      } catch (err) {
        // Gone since its directory was listed: skipped, as moby logs and goes on.
        if (isNotExist(err)) return;
        throw pathError('lstat', abs, err);
      }
      // Directory contents of "." are named "./x", as moby's IncludeSourceDir does.
      let name = sourceBase === '.' && rel !== '.' ? `./${rel}` : rel;
      for (const r of renames) name = rebaseName(name, r);
      await addEntry(tar, abs, name, st, seenInodes);
      if (st.isDirectory()) {
        const children = (await fsp.readdir(abs)).sort(byteOrder);
        for (const child of children) await add(`${abs}/${child}`, rel === '.' ? child : `${rel}/${child}`);
      }
    };
    await add(goJoin(sourceDir, sourceBase), sourceBase === '.' ? '.' : sourceBase);
    tar.finalize();
  })().catch((err: Error) => tar.destroy(err));
  return tar as unknown as Readable;
}

async function addEntry(tar: Pack, abs: string, name: string, st: Stats, seen: Map<string, string>): Promise<void> {
  const h: Headers = {
    name: st.isDirectory() && !name.endsWith('/') ? `${name}/` : name,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
    uname: '',
    gname: '',
  };
  if (st.isDirectory()) return entry(tar, { ...h, type: 'directory' });
  if (st.isSymbolicLink()) return entry(tar, { ...h, type: 'symlink', linkname: await fsp.readlink(abs) });
  if (st.isCharacterDevice() || st.isBlockDevice()) {
    return entry(tar, { ...h, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major(st.rdev), devminor: minor(st.rdev) });
  }
  if (st.isFIFO()) return entry(tar, { ...h, type: 'fifo' });
  if (!st.isFile()) return; // sockets are not archived
  if (st.nlink > 1) {
    const key = `${st.dev}:${st.ino}`;
    const first = seen.get(key);
    if (first !== undefined) return entry(tar, { ...h, type: 'link', linkname: first, size: 0 });
    seen.set(key, h.name);
  }
  return new Promise((resolve, reject) => {
    const sink = tar.entry({ ...h, type: 'file', size: st.size }, (err) => (err ? reject(err) : resolve()));
    const file = createReadStream(abs);
    file.on('error', (err) => {
      sink.destroy(err);
      reject(pathError('open', abs, err));
    });
    file.pipe(sink);
  });
}

function entry(tar: Pack, h: Headers): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    if (h.type === 'file') tar.entry(h, Buffer.alloc(0), done);
    else tar.entry(h, done);
  });
}

// ---------------------------------------------------------------------------
// Extracting into a host directory (moby's Untar, as CopyTo calls it).

/** moby's breakoutError texts. */
function outsideError(name: string, dest: string): Error {
  return new Error(`${JSON.stringify(name)} is outside of ${JSON.stringify(dest)}`);
}

function within(dest: string, p: string): boolean {
  return p === dest || p.startsWith(dest === '/' ? '/' : `${dest}/`);
}

/**
 * Makes sure every directory between `dest` and `p` is a real directory
 * (creating missing ones 0755, as createImpliedDirectories does): a symlink
 * on the way would carry the write somewhere else.
 */
async function ensureParents(dest: string, p: string, name: string): Promise<void> {
  const rel = path.posix.relative(dest, path.posix.dirname(p));
  if (rel === '') return;
  let cur = dest;
  for (const part of rel.split('/')) {
    cur = `${cur === '/' ? '' : cur}/${part}`;
    let st: Stats | undefined;
    try {
      st = await fsp.lstat(cur);
    } catch (err) {
      if (!isNotExist(err)) throw pathError('lstat', cur, err);
    }
    if (!st) {
      await fsp.mkdir(cur, 0o755).catch((err: unknown) => {
        throw pathError('mkdir', cur, err);
      });
    } else if (st.isSymbolicLink()) {
      throw outsideError(name, dest);
    }
  }
}

/** Counts the bytes that pass (docker's copyProgressPrinter). */
export class ByteCounter extends Transform {
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/**
 * Extracts `tar` into the existing directory `dest`, renaming entries by
 * `rebases` in order. Owners are not restored (NoLchown); a directory is
 * never replaced by a non-directory or the reverse.
 */
export async function untar(tar: Readable, destination: string, rebases: Rebase[]): Promise<void> {
  const dest = goClean(destination);
  const ex = extract();
  tar.once('error', (err) => ex.destroy(err));
  tar.pipe(ex as unknown as NodeJS.WritableStream);
  const dirTimes: { p: string; mtime: Date }[] = [];
  try {
    for await (const entry of ex) {
      await extractEntry(entry.header, entry, dest, rebases, dirTimes);
      // Whatever extractEntry did not read (non-file entries have no body).
      for await (const _ of entry) void _;
    }
  } finally {
    tar.unpipe(ex as unknown as NodeJS.WritableStream);
  }
  // Directory times last: creating entries inside them changed them.
  for (const d of dirTimes) await fsp.utimes(d.p, d.mtime, d.mtime).catch(() => undefined);
}

async function extractEntry(h: Headers, body: AsyncIterable<unknown>, dest: string, rebases: Rebase[], dirTimes: { p: string; mtime: Date }[]): Promise<void> {
  let name = h.name;
  let linkname = h.linkname ?? '';
  for (const r of rebases) {
    name = rebaseName(name, r);
    if (h.type === 'link') linkname = rebaseName(linkname, r);
  }
  const clean = goClean(name);
  // A leading "/" counts from the destination (filepath.Join); ".." leaves it.
  const target = goJoin(dest, clean);
  if (!within(dest, target) || clean === '..' || clean.startsWith('../')) throw outsideError(name, dest);
  if (target === dest) return; // the destination itself (".")
  await ensureParents(dest, target, name);

  let existing: Stats | undefined;
  try {
    existing = await fsp.lstat(target);
  } catch (err) {
    if (!isNotExist(err)) throw pathError('lstat', target, err);
  }
  const isDirEntry = h.type === 'directory';
  if (existing) {
    if (existing.isDirectory() && !isDirEntry) throw new Error(`cannot overwrite directory ${JSON.stringify(target)} with non-directory ${JSON.stringify(dest)}`);
    if (!existing.isDirectory() && isDirEntry) throw new Error(`cannot overwrite non-directory ${JSON.stringify(target)} with directory ${JSON.stringify(dest)}`);
    if (!existing.isDirectory()) await fsp.rm(target, { force: true });
  }

  const mode = (h.mode ?? 0o644) & 0o7777;
  const mtime = h.mtime ?? new Date();
  switch (h.type) {
    case 'directory':
      if (!existing) await fsp.mkdir(target, mode);
      break;
    case 'file':
    case 'contiguous-file':
    case undefined: {
      // O_EXCL|O_NOFOLLOW: whatever was there is gone, so nothing may have appeared in between.
      const fh = await fsp.open(target, 'wx', mode).catch((err: unknown) => {
        throw pathError('open', target, err);
      });
      try {
        for await (const chunk of body) await fh.write(chunk as Buffer);
      } finally {
        await fh.close();
      }
      break;
    }
    case 'symlink': {
      // Relative links must stay inside; an absolute one is only a name until followed,
      // and nothing is ever written through a link.
      const resolved = goJoin(path.posix.dirname(target), linkname);
      if (!within(dest, resolved)) throw new Error(`invalid symlink ${JSON.stringify(target)} -> ${JSON.stringify(linkname)}`);
      await fsp.symlink(linkname, target);
      break;
    }
    case 'link': {
      const linkTarget = goJoin(dest, linkname);
      if (!within(dest, linkTarget)) throw new Error(`invalid hardlink ${JSON.stringify(linkTarget)} -> ${JSON.stringify(linkname)}`);
      await ensureParents(dest, linkTarget, linkname);
      await fsp.link(linkTarget, target);
      break;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      const args = h.type === 'fifo' ? ['mkfifo', target] : ['mknod', target, h.type === 'character-device' ? 'c' : 'b', String(h.devmajor ?? 0), String(h.devminor ?? 0)];
      const r = spawnSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0) throw new Error(`${h.type === 'fifo' ? 'mkfifo' : 'mknod'} ${target}: ${r.stderr?.toString().trim() || 'failed'}`);
      break;
    }
    default:
      throw new Error(`unhandled tar header type ${h.type}`);
  }

  if (h.type === 'symlink') {
    await fsp.lutimes(target, mtime, mtime).catch(() => undefined);
    return;
  }
  if (h.type !== 'link') await fsp.chmod(target, mode);
  if (h.type === 'directory') dirTimes.push({ p: target, mtime });
  else if (h.type !== 'link') await fsp.utimes(target, mtime, mtime);
}
