/**
 * Files in and out of a container's root filesystem: `docker cp` (the
 * archive API: stat, get an archive of a path, extract an archive into a
 * directory) and `docker export` (the whole rootfs as a tar). Works on
 * running and stopped containers alike: ContainerService.withRootfs mounts a
 * stopped container's rootfs for the duration, under the container's lock.
 *
 * Path rules are moby's (daemon/archive*.go, pkg/archive, go-archive):
 * - a request path is made absolute and cleaned lexically, keeping a trailing
 *   `/` or `/.` (PreserveTrailingDotOrSeparator); such a path, and the root,
 *   name a directory and are followed to the end, any other has its parent
 *   resolved and its last element taken as is (lstat, not stat);
 * - every symlink is followed *inside* the container root, as if chrooted
 *   there: absolute targets restart at the container's `/`, `..` never climbs
 *   above it (Go's securejoin / FollowSymlinkInScope);
 * - the container's mounts are part of the view, as in dockerd's
 *   openContainerFS, running or not: /etc/hosts, /etc/hostname and
 *   /etc/resolv.conf (files in the container's directory) and `-v`/`--mount`
 *   binds read and write their host sources; symlinks inside a bind still
 *   resolve against the container's root. Replacing a mount point itself is
 *   refused with the error dockerd gets (unlinking a mount point: EBUSY); a
 *   directory entry onto a bind-mounted directory merges without touching
 *   the host directory's owner or mode. Writes into a read-only bind are
 *   refused ("mounted volume is marked read-only"), as are writes to the
 *   rootfs of a --read-only container. tmpfs mounts (--tmpfs, --mount
 *   type=tmpfs) live only in the running container's mount namespace:
 *   reads show the rootfs's mount point, writes are refused (dockerd writes
 *   to a private throwaway tmpfs, i.e. silently loses them). `docker export`
 *   is the rootfs alone, as in Docker, with the empty mount points.
 *
 * Safety against a container that races us (it can rename directories and
 * swap them for symlinks while we work). Docker does all of this inside a
 * chroot (or, newer, a private mount namespace pivoted into the rootfs). We
 * cannot chroot from Node, and a chrooted helper would have to be a binary
 * from inside the container (its /bin/tar: running the container's code as
 * root on the host is worse than the problem) or a host binary bind-mounted
 * in a private namespace. Instead every filesystem call goes through
 * directory file descriptors: `/proc/self/fd/<dirfd>/<name>` makes the
 * kernel jump straight to the directory we hold (exactly what openat(2)
 * does, which Node lacks) and then look up one name in it. So:
 * - a directory is entered only by opening it with O_NOFOLLOW|O_DIRECTORY
 *   relative to its parent's descriptor; a swap between our lstat and open
 *   fails the open and we look again;
 * - symlinks are read with readlink and resolved by us, within the root;
 * - calls on a final name never follow it: lstat, readlink, O_NOFOLLOW opens,
 *   O_CREAT|O_EXCL for new files, mkdir, symlink, link, unlink, rmdir,
 *   lchown, lutimes; chmod/chown/utimes go through a descriptor we opened
 *   with O_NOFOLLOW (and checked);
 * - reading a file opens it O_NOFOLLOW|O_NONBLOCK and trusts only fstat.
 * Whatever the container does meanwhile, a path can only ever reach inodes
 * under the container's root; nothing the container controls runs.
 *
 * Names are "byte strings" (latin1, one char per byte) as in layer/apply.ts,
 * so names that are not UTF-8 survive a round trip.
 *
 * Not supported: xattrs (security.capability) are not *read* into archives
 * (Node cannot read xattrs without a tool per file); they are applied when
 * an archive brings them. Named volumes do not exist in berth yet; when
 * they do, `loadMounts` is where they join the binds.
 */
import { constants as C, promises as fsp, type BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { EngineError, errorMessage, invalid, notFound, system } from '../errors.js';
import { decompressStream } from '../layer/compression.js';
import { mknodBatch, setXattrs, type XattrSpec } from '../layer/special.js';
import { TarReader, type TarEntry } from '../layer/tar-reader.js';
import { goQuote } from '../../common/gofmt.js';
import type { ContainerService } from './service.js';
import type { ContainerRecord } from './types.js';
import type { UserMount } from './mounts.js';
import type { PathStat } from '../../common/pathstat.js';
import { rootPair, toHost, type Identity, type IdentityMapping } from '../idmap.js';

/** Linux O_PATH (x86-64, arm64): a descriptor that names an inode without opening it; Node's constants lack it. */
const O_PATH = 0o10000000;
const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
/** Go's filepath.EvalSymlinks gives up after 255 links; so does FollowSymlinkInScope. */
const MAX_SYMLINK_HOPS = 255;
/** Open directory descriptors kept between tar entries (a small LRU); more are opened as needed. */
const DIR_CACHE_MAX = 128;
/** Output is handed to the HTTP response in chunks of about this size. */
const FLUSH_BYTES = 64 * 1024;
/** Go's time.Time cannot go past this (int64 nanoseconds); Docker maps such times to the epoch. */
const MAX_TIME_SECONDS = 9223372036;

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

// ---- paths and errors --------------------------------------------------------

function B(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** Byte string → text for messages and JSON (invalid UTF-8 becomes U+FFFD, as Go's JSON encoder does). */
function show(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** `/proc/self/fd/<fd>[/<name>]`: openat(fd, name) for APIs that only take paths (see the module comment). */
function at(fd: number, name?: string): Buffer {
  return B(name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`);
}

/** The same for a child process (mknod, setfattr), which cannot say "self". */
function procPath(fd: number, name: string): string {
  return `/proc/${process.pid}/fd/${fd}/${name}`;
}

/** A container path from its components (byte string). */
function cpath(parts: readonly string[]): string {
  return `/${parts.join('/')}`;
}

function errCode(err: unknown): string | undefined {
  const c = (err as NodeJS.ErrnoException | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
  EEXIST: 'file exists',
  EBUSY: 'device or resource busy',
  ENOTEMPTY: 'directory not empty',
};

/** Go's *fs.PathError text ("lstat /x/y: not a directory"), naming the path inside the container. */
class PathError extends Error {
  constructor(
    readonly op: string,
    readonly path: string,
    readonly code: string,
    detail?: string,
  ) {
    super(`${op} ${show(path)}: ${ERRNO_TEXT[code] ?? detail ?? code}`);
    this.name = 'PathError';
  }
}

/** An fs error (which names a /proc/self/fd path) as a PathError on the container path; other errors as they are. */
function pathError(op: string, parts: readonly string[], err: unknown): unknown {
  const code = errCode(err);
  if (code === undefined || err instanceof PathError) return err;
  const detail = /^[A-Z0-9_]+: ([^,]+)/.exec(errorMessage(err))?.[1];
  return new PathError(op, cpath(parts), code, detail);
}

/** Runs one fs call, its errors named by the container path. */
async function sys<T>(op: string, parts: readonly string[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw pathError(op, parts, err);
  }
}

async function lstatOrNull(p: Buffer): Promise<BigIntStats | null> {
  try {
    return await fsp.lstat(p, { bigint: true });
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/** A request path as moby reads it: absolute, cleaned, with whether it names a directory and its Go `filepath.Base`. */
interface RequestPath {
  parts: string[];
  /** Ends in `/` or `/.` (or is the root): the target must be a directory and is followed. */
  dirOnly: boolean;
  /** filepath.Base of the preserved absolute path: the stat name and the archive's top name. */
  base: string;
}

function parseRequestPath(p: string): RequestPath {
  const raw = Buffer.from(p, 'utf8').toString('latin1');
  const parts: string[] = [];
  for (const c of raw.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  const endsDot = raw === '.' || raw.endsWith('/.');
  const dirOnly = endsDot || raw.endsWith('/') || parts.length === 0;
  const base = endsDot ? '.' : parts.length > 0 ? parts[parts.length - 1]! : '/';
  return { parts, dirOnly, base };
}

// ---- the rootfs, seen through descriptors -------------------------------------

/** A directory reached inside the root: its descriptor and its canonical path (no symlinks). */
interface Dir {
  fd: number;
  parts: string[];
}

/** A mount in the container's view, keyed by its canonical container path. */
interface MountPoint {
  kind: 'dir' | 'file' | 'tmpfs';
  /** Host path of a bind mount. */
  source: string;
  rw: boolean;
  /** The destination as configured, for messages. */
  dest: string;
}

/**
 * The container's root and the directories opened under it. Directory
 * descriptors are cached by canonical path so a tar of many files in a few
 * directories does not reopen each parent chain; `trim` closes the oldest
 * and is called only between operations, so no Dir handed out is closed
 * while in use.
 */
class ScopedRoot {
  private readonly cache = new Map<string, FileHandle>();
  /** The container's mounts by canonical path (parts joined with `/`); empty for export. */
  readonly mounts = new Map<string, MountPoint>();
  /** HostConfig.ReadonlyRootfs. */
  readonlyRootfs = false;

  private constructor(
    private readonly rootFh: FileHandle,
    /** Host IDs of the container's root: owner of directories we create implicitly. */
    readonly rootOwner: Identity,
  ) {}

  static async open(dir: string, rootOwner: Identity): Promise<ScopedRoot> {
    return new ScopedRoot(await fsp.open(dir, DIR_FLAGS), rootOwner);
  }

  get root(): Dir {
    return { fd: this.rootFh.fd, parts: [] };
  }

  async close(): Promise<void> {
    await this.forget([]);
    await this.rootFh.close();
  }

  /** Closes cached descriptors beyond the cache size, oldest first. */
  async trim(): Promise<void> {
    while (this.cache.size > DIR_CACHE_MAX) {
      const [key, fh] = this.cache.entries().next().value as [string, FileHandle];
      this.cache.delete(key);
      await fh.close().catch(() => undefined);
    }
  }

  /** Drops cached descriptors of `parts` and everything below it (after we removed that tree). */
  async forget(parts: readonly string[]): Promise<void> {
    const key = parts.join('/');
    for (const [k, fh] of [...this.cache]) {
      if (key === '' || k === key || k.startsWith(`${key}/`)) {
        this.cache.delete(k);
        await fh.close().catch(() => undefined);
      }
    }
  }

  /** The innermost mount holding the directory `parts` (the mount point itself included), if any. */
  mountOf(parts: readonly string[]): MountPoint | undefined {
    for (let n = parts.length; n > 0; n--) {
      const m = this.mounts.get(parts.slice(0, n).join('/'));
      if (m !== undefined) return m;
    }
    return undefined;
  }

  /** Refuses writes into the directory `parts` when its mount (or the rootfs) is read-only, or a tmpfs. */
  assertWritable(parts: readonly string[]): void {
    const m = this.mountOf(parts);
    if (m === undefined) {
      if (this.readonlyRootfs) throw invalid('container rootfs is marked read-only');
    } else if (m.kind === 'tmpfs') {
      throw invalid(`${m.dest} is a tmpfs mount, which exists only inside the running container: docker cp cannot write to it`);
    } else if (!m.rw) {
      throw invalid('mounted volume is marked read-only');
    }
  }

  /** Names of mount points directly in the directory `parts` (they may not exist in the rootfs yet). */
  mountChildren(parts: readonly string[]): string[] {
    const prefix = parts.length === 0 ? '' : `${parts.join('/')}/`;
    const out: string[] = [];
    for (const [key, m] of this.mounts) {
      if (m.kind !== 'tmpfs' && key.startsWith(prefix) && !key.slice(prefix.length).includes('/')) out.push(key.slice(prefix.length));
    }
    return out;
  }

  /**
   * Resolves `parts` to a directory, following symlinks inside the root. A
   * `..` goes to the parent of the directory actually reached, and stops at
   * the root. A bind-mounted directory is entered at its host source. With
   * `create`, missing directories are made (0755, root-owned: Docker's
   * implied parents) where writes are allowed. Throws PathError (ENOENT,
   * ENOTDIR, ELOOP) or the EngineError of assertWritable.
   */
  async walk(parts: readonly string[], create = false): Promise<Dir> {
    const stack: Dir[] = [this.root];
    const todo = [...parts].reverse();
    let hops = 0;
    while (todo.length > 0) {
      const name = todo.pop()!;
      if (name === '' || name === '.') continue;
      if (name === '..') {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const top = stack[stack.length - 1]!;
      const childParts = [...top.parts, name];
      const key = childParts.join('/');
      const cached = this.cache.get(key);
      if (cached !== undefined) {
        // Most recently used goes last.
        this.cache.delete(key);
        this.cache.set(key, cached);
        stack.push({ fd: cached.fd, parts: childParts });
        continue;
      }
      const mount = this.mounts.get(key);
      if (mount?.kind === 'file') throw new PathError('lstat', cpath(childParts), 'ENOTDIR');
      if (mount?.kind === 'dir') {
        // The user's host path, resolved on the host as runc does.
        const fh = await sys('open', childParts, () => fsp.open(mount.source, C.O_RDONLY | C.O_DIRECTORY));
        this.cache.set(key, fh);
        stack.push({ fd: fh.fd, parts: childParts });
        continue;
      }
      const st = await sys('lstat', childParts, () => lstatOrNull(at(top.fd, name)));
      if (st === null) {
        if (create) this.assertWritable(top.parts);
        // Counted as a hop too: a container deleting it as fast as we make it cannot keep us here.
        if (!create || ++hops > MAX_SYMLINK_HOPS) throw new PathError('lstat', cpath(childParts), 'ENOENT');
        await mkdirImplied(top.fd, name, childParts, this.rootOwner);
        todo.push(name);
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) throw new PathError('lstat', cpath(childParts), 'ELOOP');
        const target = await sys('readlink', childParts, () => fsp.readlink(at(top.fd, name), { encoding: 'buffer' }));
        pushTarget(todo, target.toString('latin1'), stack);
        continue;
      }
      if (!st.isDirectory()) throw new PathError('lstat', cpath(childParts), 'ENOTDIR');
      let fh: FileHandle;
      try {
        fh = await fsp.open(at(top.fd, name), DIR_FLAGS);
      } catch (err) {
        // Replaced (by a symlink, a file, or nothing) since the lstat: look again. Counted as a hop so it cannot spin.
        if (['ELOOP', 'ENOTDIR', 'ENOENT'].includes(errCode(err) ?? '') && ++hops <= MAX_SYMLINK_HOPS) {
          todo.push(name);
          continue;
        }
        throw pathError('open', childParts, err);
      }
      this.cache.set(key, fh);
      stack.push({ fd: fh.fd, parts: childParts });
    }
    return stack[stack.length - 1]!;
  }

  /**
   * The canonical path of `parts` with every symlink followed, the last one
   * included, like FollowSymlinkInScope: from the first missing component on,
   * the rest is taken lexically. A non-directory in the middle is ENOTDIR.
   */
  async canonical(parts: readonly string[]): Promise<string[]> {
    const stack: Dir[] = [this.root];
    const todo = [...parts].reverse();
    let hops = 0;
    while (todo.length > 0) {
      const name = todo.pop()!;
      if (name === '' || name === '.') continue;
      if (name === '..') {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const top = stack[stack.length - 1]!;
      const childParts = [...top.parts, name];
      const mount = this.mounts.get(childParts.join('/'));
      if (mount?.kind === 'file') {
        if (todo.some((c) => c !== '' && c !== '.')) throw new PathError('lstat', cpath(childParts), 'ENOTDIR');
        return childParts;
      }
      if (mount?.kind === 'dir') {
        stack.push(await this.walk(childParts));
        continue;
      }
      const st = await sys('lstat', childParts, () => lstatOrNull(at(top.fd, name)));
      if (st === null) {
        // Missing: the rest is lexical.
        const out = [...childParts];
        while (todo.length > 0) {
          const c = todo.pop()!;
          if (c === '..') out.pop();
          else if (c !== '' && c !== '.') out.push(c);
        }
        return out;
      }
      if (st.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) throw new PathError('lstat', cpath(childParts), 'ELOOP');
        const target = await sys('readlink', childParts, () => fsp.readlink(at(top.fd, name), { encoding: 'buffer' }));
        pushTarget(todo, target.toString('latin1'), stack);
        continue;
      }
      if (!st.isDirectory()) {
        if (todo.some((c) => c !== '' && c !== '.')) throw new PathError('lstat', cpath(childParts), 'ENOTDIR');
        return childParts;
      }
      // Enter it through walk, which opens it safely and caches it.
      const dir = await this.walk(childParts).catch(() => null);
      if (dir === null) return childParts;
      stack.push(dir);
    }
    return stack[stack.length - 1]!.parts;
  }
}

/** Queues a symlink's target for resolution; an absolute one restarts at the root. */
function pushTarget(todo: string[], target: string, stack: Dir[]): void {
  if (target.startsWith('/')) stack.length = 1;
  const t = target.split('/');
  for (let i = t.length - 1; i >= 0; i--) todo.push(t[i]!);
}

/** An implied parent directory: 0755, owned by the container's root, as moby's MkdirAllAndChownNew. */
async function mkdirImplied(parentFd: number, name: string, parts: readonly string[], owner: Identity): Promise<void> {
  try {
    await fsp.mkdir(at(parentFd, name), 0o755);
  } catch (err) {
    if (errCode(err) === 'EEXIST') return; // someone made it meanwhile: the caller looks again
    throw pathError('mkdir', parts, err);
  }
  const fh = await sys('open', parts, () => fsp.open(at(parentFd, name), DIR_FLAGS));
  try {
    // Explicit: mkdir's mode is filtered by the umask.
    await fh.chown(owner.uid, owner.gid);
    await fh.chmod(0o755);
  } finally {
    await fh.close();
  }
}

// ---- mounts -----------------------------------------------------------------

/**
 * Puts the container's mounts into the view: the /etc files berth writes at
 * start, then the user's binds and tmpfs mounts. Parents before children,
 * as dockerd sorts them; each destination is resolved in the root (through
 * the mounts before it) as runc resolves it. A source that does not exist
 * (the /etc files of a container never started) mounts nothing.
 */
async function loadMounts(root: ScopedRoot, c: ContainerRecord): Promise<void> {
  root.readonlyRootfs = !!c.HostConfig.ReadonlyRootfs;
  const list: { dest: string; kind: 'bind' | 'tmpfs'; source: string; rw: boolean }[] = [
    { dest: '/etc/resolv.conf', kind: 'bind', source: c.ResolvConfPath, rw: true },
    { dest: '/etc/hostname', kind: 'bind', source: c.HostnamePath, rw: true },
    { dest: '/etc/hosts', kind: 'bind', source: c.HostsPath, rw: true },
    // A volume is its host directory bound in, like a bind mount.
    ...(c.UserMounts ?? []).map((m: UserMount) => ({ dest: m.Destination, kind: m.Type === 'tmpfs' ? ('tmpfs' as const) : ('bind' as const), source: m.Source, rw: m.RW })),
    ...Object.keys(c.HostConfig.Tmpfs ?? {}).map((dest) => ({ dest, kind: 'tmpfs' as const, source: '', rw: true })),
  ];
  const depth = (p: string) => p.split('/').filter(Boolean).length;
  list.sort((a, b) => depth(a.dest) - depth(b.dest));
  for (const m of list) {
    let kind: MountPoint['kind'] = 'tmpfs';
    if (m.kind === 'bind') {
      const st = m.source ? await fsp.stat(m.source).catch(() => undefined) : undefined;
      if (st === undefined) continue;
      kind = st.isDirectory() ? 'dir' : 'file';
    }
    const parts = await root.canonical(m.dest.split('/').filter(Boolean)).catch(() => undefined);
    if (parts === undefined || parts.length === 0) continue;
    root.mounts.set(parts.join('/'), { kind, source: m.source, rw: m.rw, dest: m.dest });
    // Resolving it may have cached the rootfs directory the mount now covers.
    await root.forget([]);
  }
}

// ---- stat --------------------------------------------------------------------

/** What a request path names. */
interface Target {
  /** Canonical container path. */
  parts: string[];
  /** The target directory itself (name null), or the directory holding it. */
  dir: Dir;
  name: string | null;
  st: BigIntStats;
  /** A bind mount's host source at this path. */
  hostSource?: string;
}

async function resolveTarget(root: ScopedRoot, req: RequestPath): Promise<Target> {
  if (req.dirOnly) {
    const dir = await root.walk(req.parts);
    const st = await sys('lstat', dir.parts, () => fsp.stat(at(dir.fd), { bigint: true }));
    return { parts: dir.parts, dir, name: null, st };
  }
  const dir = await root.walk(req.parts.slice(0, -1));
  const name = req.parts[req.parts.length - 1]!;
  const parts = [...dir.parts, name];
  const mount = root.mounts.get(parts.join('/'));
  if (mount !== undefined && mount.kind !== 'tmpfs') {
    const st = await sys('lstat', parts, () => fsp.stat(mount.source, { bigint: true }));
    return { parts, dir, name, st, hostSource: mount.source };
  }
  const st = await sys('lstat', parts, () => fsp.lstat(at(dir.fd, name), { bigint: true }));
  return { parts, dir, name, st };
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

/** moby's error for a path that does not exist, whatever the operation. */
function translate(err: unknown, userPath: string, idOrName: string): unknown {
  if (err instanceof EngineError || err instanceof SinkClosedError) return err;
  const code = err instanceof PathError ? err.code : errCode(err);
  if (code === 'ENOENT') return notFound(`Could not find the file ${userPath} in container ${idOrName}`);
  return system(errorMessage(err), err);
}

async function inRoot<T>(containers: ContainerService, idOrName: string, userPath: string, fn: (root: ScopedRoot, c: ContainerRecord) => Promise<T>): Promise<T> {
  try {
    return await containers.withRootfs(idOrName, async (rootfs, c) => {
      const root = await ScopedRoot.open(rootfs, rootPair(containers.idMap));
      try {
        return await fn(root, c);
      } finally {
        await root.close();
      }
    });
  } catch (err) {
    throw translate(err, userPath, idOrName);
  }
}

/**
 * Where `containerPath` lands on the host inside a mounted rootfs, every
 * symlink followed inside the root as the container would see it (never out
 * of it); null when it does not exist. For copying an image's files into a
 * fresh volume before the container runs.
 */
export async function resolveInRootfs(rootfs: string, containerPath: string, owner: Identity): Promise<string | null> {
  const root = await ScopedRoot.open(rootfs, owner);
  try {
    const parts = await root.canonical(containerPath.split('/').filter(Boolean));
    const dir = await root.walk(parts.slice(0, -1));
    const name = parts[parts.length - 1];
    if (name === undefined) return rootfs;
    if ((await lstatOrNull(at(dir.fd, name))) === null) return null;
    return path.join(rootfs, ...parts.map(show));
  } catch {
    return null;
  } finally {
    await root.close();
  }
}

/** `HEAD /containers/{id}/archive`: what the path is. */
export function statPath(containers: ContainerService, idOrName: string, userPath: string): Promise<PathStat> {
  const req = parseRequestPath(userPath);
  return inRoot(containers, idOrName, userPath, async (root, c) => {
    await loadMounts(root, c);
    const t = await resolveTarget(root, req);
    return pathStat(root, req, t);
  });
}

// ---- tar writing -------------------------------------------------------------

/** The archive's reader went away; nothing to report to anyone. */
class SinkClosedError extends Error {
  constructor() {
    super('the client closed the connection');
    this.name = 'SinkClosedError';
  }
}

interface TarHeader {
  /** Byte string. */
  name: string;
  type: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  /** Full st_mode, type bits included, as Docker writes it (fillGo18FileTypeBits). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const BLOCK = 512;
const MAX_OCTAL_11 = 0o77777777777;
const MAX_OCTAL_7 = 0o7777777;

function writeOctal(b: Buffer, off: number, len: number, value: number): void {
  b.write(Math.max(0, Math.trunc(value)).toString(8).padStart(len - 1, '0'), off, len - 1, 'latin1');
}

/** One PAX record, "<len> key=value\n", where len counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let n = body.length + 1;
  while (String(n).length + body.length !== n) n = String(n).length + body.length;
  return `${n}${body}`;
}

function needsPax(s: string, max: number): boolean {
  // USTAR fields hold ASCII only (Go moves anything else to PAX).
  if (s.length > max) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c > 0x7f) return true;
  }
  return false;
}

function ustarBlock(h: TarHeader, name: string, linkname: string, typeflag: string = h.type): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, 'latin1');
  writeOctal(b, 100, 8, h.mode);
  writeOctal(b, 108, 8, h.uid <= MAX_OCTAL_7 ? h.uid : 0);
  writeOctal(b, 116, 8, h.gid <= MAX_OCTAL_7 ? h.gid : 0);
  writeOctal(b, 124, 12, h.size <= MAX_OCTAL_11 ? h.size : 0);
  writeOctal(b, 136, 12, h.mtime <= MAX_OCTAL_11 ? h.mtime : 0);
  b.fill(0x20, 148, 156);
  b.write(typeflag, 156, 1, 'latin1');
  b.write(linkname, 157, 100, 'latin1');
  b.write('ustar\x0000', 257, 8, 'latin1');
  writeOctal(b, 329, 8, h.devmajor ?? 0);
  writeOctal(b, 337, 8, h.devminor ?? 0);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return b;
}

/** A header as Go's tar writer in PAX format writes it: USTAR, preceded by a PAX entry for what USTAR cannot hold. */
function encodeHeader(h: TarHeader): Buffer[] {
  const linkname = h.linkname ?? '';
  let records = '';
  if (needsPax(h.name, 100)) records += paxRecord('path', h.name);
  if (needsPax(linkname, 100)) records += paxRecord('linkpath', linkname);
  if (h.size > MAX_OCTAL_11) records += paxRecord('size', String(h.size));
  if (h.uid > MAX_OCTAL_7) records += paxRecord('uid', String(h.uid));
  if (h.gid > MAX_OCTAL_7) records += paxRecord('gid', String(h.gid));
  if (h.mtime > MAX_OCTAL_11) records += paxRecord('mtime', String(h.mtime));
  const out: Buffer[] = [];
  if (records !== '') {
    const data = B(records);
    const base = path.posix.basename(h.name).replace(/[^\x20-\x7e]/g, '_').slice(0, 80);
    const pax: TarHeader = { name: '', type: '0', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0 };
    out.push(ustarBlock(pax, `PaxHeaders.0/${base}`, '', 'x'), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  out.push(ustarBlock(h, h.name.slice(0, 100), linkname.slice(0, 100)));
  return out;
}

/**
 * Writes a tar stream to a Writable (the HTTP response) in ~64 KiB pieces,
 * honouring backpressure, and fails fast with SinkClosedError once the
 * reader is gone, so a hung-up client never leaves us (and the container's
 * lock) waiting for a 'drain' that will not come.
 */
class TarSink {
  private chunks: Buffer[] = [];
  private pending = 0;
  private closed = false;

  /** `ownerMap`: write owners as container IDs (export under --userns-remap). */
  constructor(
    private readonly out: Writable,
    private readonly ownerMap?: IdentityMapping,
  ) {
    const gone = () => {
      this.closed = true;
    };
    out.once('close', gone);
    out.once('error', gone);
  }

  private async push(b: Buffer): Promise<void> {
    this.chunks.push(b);
    this.pending += b.length;
    if (this.pending >= FLUSH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    const out = this.out;
    if (this.closed || out.destroyed || out.writableEnded) throw new SinkClosedError();
    if (this.chunks.length === 0) return;
    const data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    this.pending = 0;
    if (out.write(data)) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        cleanup();
        resolve();
      };
      const gone = () => {
        cleanup();
        reject(new SinkClosedError());
      };
      const cleanup = () => {
        out.off('drain', done);
        out.off('close', gone);
        out.off('error', gone);
      };
      out.on('drain', done);
      out.on('close', gone);
      out.on('error', gone);
    });
  }

  async header(h: TarHeader): Promise<void> {
    if (this.ownerMap) h = { ...h, ...this.ownerMap.toContainer(h) };
    for (const b of encodeHeader(h)) await this.push(b);
  }

  /**
   * A regular file's body: exactly `size` bytes, as the header promised. A
   * file that shrinks or fails while being read is padded with zeros, one
   * that grows is cut, so the archive stays well-formed.
   */
  async body(fh: FileHandle | null, size: number): Promise<void> {
    let left = size;
    while (left > 0 && fh !== null) {
      const buf = Buffer.allocUnsafe(Math.min(left, FLUSH_BYTES));
      let n: number;
      try {
        n = (await fh.read(buf, 0, buf.length, null)).bytesRead;
      } catch {
        n = 0;
      }
      if (n === 0) break;
      await this.push(buf.subarray(0, n));
      left -= n;
    }
    if (left > 0) await this.push(Buffer.alloc(left));
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad > 0) await this.push(Buffer.alloc(pad));
  }

  /** The end-of-archive marker (two zero blocks, like Go's tar.Writer.Close) and a final flush. */
  async finish(): Promise<void> {
    await this.push(Buffer.alloc(2 * BLOCK));
    await this.flush();
  }
}

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

interface ArchiveContext {
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
async function writeDirContents(dirFd: number, dirParts: readonly string[], prefix: string, ctx: ArchiveContext): Promise<void> {
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
export async function archivePath(containers: ContainerService, idOrName: string, userPath: string, begin: (stat: PathStat) => Writable): Promise<void> {
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

/**
 * `GET /containers/{id}/export`: the container's root filesystem as a tar,
 * entries relative to the root ("bin/", "bin/sh", …; the root itself is not
 * an entry), as moby archives BaseFS. Runtime mounts are not in it.
 */
export async function exportContainer(containers: ContainerService, idOrName: string, begin: () => Writable): Promise<void> {
  try {
    await inRoot(containers, idOrName, '/', async (root) => {
      // As dockerd: export translates owners back to container IDs; cp (archivePath) shows them as they are on the host.
      const ctx: ArchiveContext = { tar: new TarSink(begin(), containers.idMap), root, links: new Map() };
      await writeDirContents(root.root.fd, [], '', ctx);
      await ctx.tar.finish();
    });
  } catch (err) {
    if (err instanceof SinkClosedError) return;
    throw err;
  }
}

// ---- extraction --------------------------------------------------------------

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
 * breakout error, except at the container root where Join clamps.
 */
function entryParts(name: string, dest: readonly string[]): string[] {
  const clean = goClean(name);
  const parts: string[] = [];
  for (const c of clean.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (parts.length > 0) parts.pop();
      else if (dest.length > 0 && !clean.startsWith('/')) throw system(`${goQuote(show(clean))} is outside of ${goQuote(show(cpath(dest)))}`);
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
      if (dir.length === 0) throw system(`invalid symlink ${goQuote(show(cpath([...dest, ...rel])))} -> ${goQuote(show(linkname))}`);
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
      if (parts.length === 0 && dest.length > 0) throw system(`invalid hardlink ${goQuote(show(goClean(`${cpath(dest)}/${linkname}`)))} -> ${goQuote(show(linkname))}`);
      parts.pop();
    } else parts.push(c);
  }
  if (parts.length === 0) throw system(`invalid hardlink ${goQuote(show(cpath(dest)))} -> ${goQuote(show(linkname))}`);
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
      try {
        await readAll(reader, async (chunk) => {
          let off = 0;
          while (off < chunk.length) off += (await sys('write', parts, () => fh.write(chunk, off, chunk.length - off))).bytesWritten;
        });
        await sys('lchown', parts, () => applyMeta(fh, owner, mode, times));
        await applyXattrs(e, parent, name);
      } finally {
        await fh.close();
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
      throw system(`unhandled tar header type ${goQuote(e.typeflag)} for ${goQuote(show(e.name))}`);
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

/** Reads a small file inside the root (e.g. /etc/passwd), following symlinks in scope; null when absent. */
async function readRootFile(root: ScopedRoot, file: string): Promise<string | null> {
  try {
    const parts = await root.canonical(file.split('/').filter(Boolean));
    const dir = await root.walk(parts.slice(0, -1));
    const fh = await fsp.open(at(dir.fd, parts[parts.length - 1]!), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > 16 * 1024 * 1024) return null;
      return (await fh.readFile()).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return null;
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
export async function extractToDir(containers: ContainerService, idOrName: string, userPath: string, body: Readable, o: ExtractOptions): Promise<void> {
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
      throw err;
    }
  });
}
