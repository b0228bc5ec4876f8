/**
 * @module engine/container/scoped-root
 * A container's root filesystem as seen from the host without ever leaving
 * it: path resolution for `docker cp`, `docker export` and the first-mount
 * copy of an image's files into a volume (resolveInRootfs).
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
 * Names are "byte strings" (latin1, one char per byte) as in layer/apply.ts,
 * so names that are not UTF-8 survive a round trip.
 */
import { constants as C, promises as fsp, type BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { EngineError, errorMessage, invalid, notFound, system } from '../errors.js';
import { rootPair, type Identity, type IdentityMapping } from '../idmap.js';
import { SinkClosedError } from '../layer/tar-writer.js';
import type { UserMount } from './mounts.js';
import type { ContainerRecord } from './types.js';

/** Linux O_PATH (x86-64, arm64): a descriptor that names an inode without opening it; Node's constants lack it. */
export const O_PATH = 0o10000000;
export const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
/** Go's filepath.EvalSymlinks gives up after 255 links; so does FollowSymlinkInScope. */
const MAX_SYMLINK_HOPS = 255;
/** Open directory descriptors kept between tar entries (a small LRU); more are opened as needed. */
const DIR_CACHE_MAX = 128;

// ---- paths and errors --------------------------------------------------------

export function B(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** Byte string → text for messages and JSON (invalid UTF-8 becomes U+FFFD, as Go's JSON encoder does). */
export function show(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** `/proc/self/fd/<fd>[/<name>]`: openat(fd, name) for APIs that only take paths (see the module comment). */
export function at(fd: number, name?: string): Buffer {
  return B(name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`);
}

/** The same for a child process (mknod, setfattr), which cannot say "self". */
export function procPath(fd: number, name: string): string {
  return `/proc/${process.pid}/fd/${fd}/${name}`;
}

/** A container path from its components (byte string). */
export function cpath(parts: readonly string[]): string {
  return `/${parts.join('/')}`;
}

export function errCode(err: unknown): string | undefined {
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
export class PathError extends Error {
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
export function pathError(op: string, parts: readonly string[], err: unknown): unknown {
  const code = errCode(err);
  if (code === undefined || err instanceof PathError) return err;
  const detail = /^[A-Z0-9_]+: ([^,]+)/.exec(errorMessage(err))?.[1];
  return new PathError(op, cpath(parts), code, detail);
}

/** Runs one fs call, its errors named by the container path. */
export async function sys<T>(op: string, parts: readonly string[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw pathError(op, parts, err);
  }
}

export async function lstatOrNull(p: Buffer): Promise<BigIntStats | null> {
  try {
    return await fsp.lstat(p, { bigint: true });
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/** A request path as moby reads it: absolute, cleaned, with whether it names a directory and its Go `filepath.Base`. */
export interface RequestPath {
  parts: string[];
  /** Ends in `/` or `/.` (or is the root): the target must be a directory and is followed. */
  dirOnly: boolean;
  /** filepath.Base of the preserved absolute path: the stat name and the archive's top name. */
  base: string;
}

export function parseRequestPath(p: string): RequestPath {
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
export interface Dir {
  fd: number;
  parts: string[];
}

/** A mount in the container's view, keyed by its canonical container path. */
export interface MountPoint {
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
export class ScopedRoot {
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
    const r = await this.resolve(parts, create ? 'create' : 'open');
    return r.dir!;
  }

  /**
   * The canonical path of `parts` with every symlink followed, the last one
   * included, like FollowSymlinkInScope: from the first missing component on,
   * the rest is taken lexically. A non-directory in the middle is ENOTDIR.
   */
  async canonical(parts: readonly string[]): Promise<string[]> {
    return (await this.resolve(parts, 'name')).parts;
  }

  /**
   * The one walk behind walk() and canonical(): component by component from
   * the root, each directory entered through its parent's descriptor
   * (O_NOFOLLOW|O_DIRECTORY, so a swap after our lstat fails the open and we
   * look again), each symlink read and resolved by us within the root. The
   * modes differ only in where the walk may end:
   * - 'open', 'create': every component is a directory, opened (and cached);
   *   a missing one is ENOENT, or made with 'create';
   * - 'name': a missing component ends the walk (the rest is named
   *   lexically), and so does a last component that is not a directory.
   * Every hop (symlink, lost race, directory made) counts against
   * MAX_SYMLINK_HOPS, so a container racing us cannot keep us here.
   */
  private async resolve(parts: readonly string[], mode: 'open' | 'create' | 'name'): Promise<{ parts: string[]; dir?: Dir }> {
    const naming = mode === 'name';
    const stack: Dir[] = [this.root];
    const todo = [...parts].reverse();
    let hops = 0;
    /** Whether components other than '' and '.' remain (a non-directory may only be last). */
    const more = () => todo.some((c) => c !== '' && c !== '.');
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
      if (!naming) {
        const cached = this.cached(key);
        if (cached !== undefined) {
          stack.push({ fd: cached.fd, parts: childParts });
          continue;
        }
      }
      const mount = this.mounts.get(key);
      if (mount?.kind === 'file') {
        if (!naming || more()) throw new PathError('lstat', cpath(childParts), 'ENOTDIR');
        return { parts: childParts };
      }
      if (mount?.kind === 'dir') {
        // The user's host path, resolved on the host as runc does.
        let fh = this.cached(key);
        if (fh === undefined) {
          fh = await sys('open', childParts, () => fsp.open(mount.source, C.O_RDONLY | C.O_DIRECTORY));
          this.cache.set(key, fh);
        }
        stack.push({ fd: fh.fd, parts: childParts });
        continue;
      }
      const st = await sys('lstat', childParts, () => lstatOrNull(at(top.fd, name)));
      if (st === null) {
        if (naming) {
          // Missing: the rest is lexical.
          const out = [...childParts];
          while (todo.length > 0) {
            const c = todo.pop()!;
            if (c === '..') out.pop();
            else if (c !== '' && c !== '.') out.push(c);
          }
          return { parts: out };
        }
        if (mode === 'create') this.assertWritable(top.parts);
        // Counted as a hop too: a container deleting it as fast as we make it cannot keep us here.
        if (mode !== 'create' || ++hops > MAX_SYMLINK_HOPS) throw new PathError('lstat', cpath(childParts), 'ENOENT');
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
      if (!st.isDirectory()) {
        if (!naming || more()) throw new PathError('lstat', cpath(childParts), 'ENOTDIR');
        return { parts: childParts };
      }
      let fh = naming ? this.cached(key) : undefined;
      if (fh === undefined) {
        try {
          fh = await fsp.open(at(top.fd, name), DIR_FLAGS);
        } catch (err) {
          // Replaced (by a symlink, a file, or nothing) since the lstat: look again. Counted as a hop so it cannot spin.
          if (['ELOOP', 'ENOTDIR', 'ENOENT'].includes(errCode(err) ?? '') && ++hops <= MAX_SYMLINK_HOPS) {
            todo.push(name);
            continue;
          }
          // Naming gives up on a directory it cannot enter: this is as far as the file system goes.
          if (naming) return { parts: childParts };
          throw pathError('open', childParts, err);
        }
        this.cache.set(key, fh);
      }
      stack.push({ fd: fh.fd, parts: childParts });
    }
    const last = stack[stack.length - 1]!;
    return { parts: last.parts, dir: last };
  }

  /** A cached directory descriptor, marked most recently used (trim() closes the least recently used). */
  private cached(key: string): FileHandle | undefined {
    const fh = this.cache.get(key);
    if (fh !== undefined) {
      this.cache.delete(key);
      this.cache.set(key, fh);
    }
    return fh;
  }
}

/** Queues a symlink's target for resolution; an absolute one restarts at the root. */
export function pushTarget(todo: string[], target: string, stack: Dir[]): void {
  if (target.startsWith('/')) stack.length = 1;
  const t = target.split('/');
  for (let i = t.length - 1; i >= 0; i--) todo.push(t[i]!);
}

/** An implied parent directory: 0755, owned by the container's root, as moby's MkdirAllAndChownNew. */
export async function mkdirImplied(parentFd: number, name: string, parts: readonly string[], owner: Identity): Promise<void> {
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
export async function loadMounts(root: ScopedRoot, c: ContainerRecord): Promise<void> {
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
export interface Target {
  /** Canonical container path. */
  parts: string[];
  /** The target directory itself (name null), or the directory holding it. */
  dir: Dir;
  name: string | null;
  st: BigIntStats;
  /** A bind mount's host source at this path. */
  hostSource?: string;
}

export async function resolveTarget(root: ScopedRoot, req: RequestPath): Promise<Target> {
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

/**
 * What the archive operations need of the container service: a container's
 * root filesystem for the length of a call (mounted if it is not running,
 * under the container's lock), and the daemon's ID mappings.
 */
export interface RootfsAccess {
  withRootfs<T>(idOrName: string, fn: (rootfs: string, c: ContainerRecord) => Promise<T>): Promise<T>;
  readonly idMap: IdentityMapping | undefined;
}

/** moby's error for a path that does not exist, whatever the operation. */
export function translate(err: unknown, userPath: string, idOrName: string): unknown {
  if (err instanceof EngineError || err instanceof SinkClosedError) return err;
  const code = err instanceof PathError ? err.code : errCode(err);
  if (code === 'ENOENT') return notFound(`Could not find the file ${userPath} in container ${idOrName}`);
  return system(errorMessage(err), err);
}

export async function inRoot<T>(containers: RootfsAccess, idOrName: string, userPath: string, fn: (root: ScopedRoot, c: ContainerRecord) => Promise<T>): Promise<T> {
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

/** Reads a small file inside the root (e.g. /etc/passwd), following symlinks in scope; null when absent. */
export async function readRootFile(root: ScopedRoot, file: string): Promise<string | null> {
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
