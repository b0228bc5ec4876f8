/**
 * @module engine/build/copy
 * COPY and ADD's file work, with Docker's rules:
 * - sources are paths in a source root (the context, a stage or an image),
 *   resolved with symlinks clamped to that root (moby's
 *   FollowSymlinkInScope), so no source reaches outside it; `../x` is a
 *   forbidden path; wildcards use Go's filepath.Match per path segment;
 * - several sources (or a wildcard) need a destination that ends in "/";
 *   a directory source copies its contents; a file goes into the
 *   destination when that ends in "/" or is a directory, else becomes it;
 * - the destination is resolved in the step's root filesystem with
 *   symlinks clamped to it, and nothing is ever written through a symlink;
 * - owners become root (or --chown), modes are kept (or --chmod), mtimes
 *   kept; missing parent directories are made 0755.
 */
import { promises as fsp, constants as fsc, type Stats } from 'node:fs';
import path from 'node:path';
import { invalid } from '../errors.js';

const MAX_LINKS = 255;

/**
 * `rel` inside `root` with every symlink on the way resolved as if `root`
 * were "/" (absolute targets and `..` stop at root). The last component is
 * followed too unless `noFollowLast`. Returns the host path; it may not exist.
 */
export async function scopedPath(root: string, rel: string, o: { noFollowLast?: boolean } = {}): Promise<string> {
  const todo = rel.split('/').filter((p) => p && p !== '.');
  const done: string[] = [];
  let links = 0;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const candidate = path.join(root, ...done, part);
    if (o.noFollowLast && todo.length === 0) {
      done.push(part);
      break;
    }
    let st: Stats | undefined;
    try {
      st = await fsp.lstat(candidate);
    } catch {
      st = undefined;
    }
    if (st?.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw invalid(`too many levels of symbolic links: ${rel}`);
      const target = await fsp.readlink(candidate);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter((p) => p && p !== '.'));
      continue;
    }
    done.push(part);
  }
  return path.join(root, ...done);
}

/** Go's filepath.Match pattern → RegExp (`*` and `?` stay within one path segment). */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw invalid(`syntax error in pattern: ${pattern}`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = '^' + cls.slice(1).replace(/\\/g, '\\\\');
      else cls = cls.replace(/\\/g, '\\\\');
      re += `[${cls}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export function hasWildcard(p: string): boolean {
  return /[*?[]/.test(p);
}

export interface ResolvedSource {
  /** Path relative to the source root (for checksums and the comment). */
  rel: string;
  /** The host path, symlinks resolved in scope. */
  abs: string;
  isDir: boolean;
  /** The name it is copied under into a directory: the source's as written (a symlink's own name). */
  name: string;
}

/**
 * The sources a COPY names, in `root`. `what` is the instruction (COPY/ADD)
 * for messages.
 */
export async function resolveSources(root: string, sources: string[], what: string): Promise<ResolvedSource[]> {
  const out: ResolvedSource[] = [];
  for (const src of sources) {
    const clean = path.posix.normalize(src.replace(/^\/+/, '') || '.');
    if (clean === '..' || clean.startsWith('../')) throw invalid(`${what} failed: forbidden path outside the build context: ${src} ()`);
    if (hasWildcard(clean)) {
      const re = globToRegExp(clean);
      const found: ResolvedSource[] = [];
      await walk(root, '', async (rel, st) => {
        if (re.test(rel)) found.push({ rel, abs: path.join(root, rel), isDir: st.isDirectory(), name: path.posix.basename(rel) });
        // A matched directory is copied whole; nothing below needs matching.
        return !re.test(rel);
      });
      if (found.length === 0) throw invalid(`${what} failed: no source files were specified`);
      out.push(...found);
      continue;
    }
    const abs = await scopedPath(root, clean);
    const st = await fsp.stat(abs).catch(() => undefined);
    if (!st) throw invalid(`${what} failed: file not found in build context or excluded by .dockerignore: stat ${clean}: file does not exist`);
    out.push({ rel: path.relative(root, abs) || '.', abs, isDir: st.isDirectory(), name: path.posix.basename(clean) });
  }
  return out;
}

/** Depth-first walk of `root`; `fn` returns false to skip a directory's contents. */
async function walk(root: string, rel: string, fn: (rel: string, st: Stats) => Promise<boolean>): Promise<void> {
  const names = (await fsp.readdir(path.join(root, rel))).sort();
  for (const n of names) {
    const r = rel ? `${rel}/${n}` : n;
    const st = await fsp.lstat(path.join(root, r));
    const descend = await fn(r, st);
    if (descend && st.isDirectory()) await walk(root, r, fn);
  }
}

export interface CopyOptions {
  /** New owner of everything copied; undefined keeps the source's (ADD of an archive). */
  owner?: { uid: number; gid: number };
  /** --chmod: the mode of everything copied. */
  mode?: number;
}

/**
 * Copies `srcAbs` (a file, symlink or directory) to `dstRel` inside `rootfs`;
 * for a directory its contents go into `dstRel`.
 */
export async function copyInto(rootfs: string, srcAbs: string, dstRel: string, o: CopyOptions): Promise<void> {
  const st = await fsp.lstat(srcAbs);
  await mkdirAllScoped(rootfs, path.posix.dirname(dstRel), o.owner);
  if (st.isDirectory()) {
    const { dir, created } = await mkdirScoped(rootfs, dstRel, st, o);
    await copyDirContents(srcAbs, dir, rootfs, dstRel, o, created);
    await fsp.utimes(dir, st.atime, st.mtime);
    return;
  }
  const parent = await scopedPath(rootfs, path.posix.dirname(dstRel));
  await copyLeaf(srcAbs, st, path.join(parent, path.posix.basename(dstRel)), o);
}

/** Files copied at once: enough to keep libuv's thread pool busy across directories. */
const FILES_IN_FLIGHT = 64;

/**
 * A directory's contents, all the way down. Directories are made in walk
 * order, files are copied by a pool shared by the whole tree (most of a
 * context is many small files in many directories), and each directory's
 * times are set once nothing more is written into it.
 */
async function copyDirContents(srcDir: string, dstDir: string, rootfs: string, dstRel: string, o: CopyOptions, fresh = false): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const start = async (work: () => Promise<void>) => {
    const p = work().catch((err: unknown) => void (failure ??= err));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= FILES_IN_FLIGHT) await Promise.race(inFlight);
    if (failure) throw failure;
  };
  const made: { dir: string; st: Stats }[] = [];
  const walk = async (src: string, dst: string, rel: string, empty: boolean): Promise<void> => {
    const entries = await fsp.readdir(src, { withFileTypes: true });
    for (const e of entries) {
      if (e.isDirectory()) continue;
      const s = path.join(src, e.name);
      await start(async () => copyLeaf(s, await fsp.lstat(s), path.join(dst, e.name), o, empty));
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const s = path.join(src, e.name);
      const st = await fsp.lstat(s);
      const childRel = `${rel.replace(/\/+$/, '')}/${e.name}`;
      const { dir, created } = await mkdirScoped(rootfs, childRel, st, o);
      made.push({ dir, st });
      await walk(s, dir, childRel, created);
    }
  };
  try {
    await walk(srcDir, dstDir, dstRel, fresh);
  } finally {
    await Promise.all(inFlight);
  }
  if (failure) throw failure;
  for (const { dir, st } of made.reverse()) await fsp.utimes(dir, st.atime, st.mtime);
}

/**
 * Makes (or reuses) the directory `rel` in the rootfs, resolving symlinks in
 * scope; returns its host path and whether it was made here (then empty).
 */
async function mkdirScoped(rootfs: string, rel: string, st: Stats, o: CopyOptions): Promise<{ dir: string; created: boolean }> {
  const dst = await scopedPath(rootfs, rel);
  const cur = await fsp.lstat(dst).catch(() => undefined);
  if (cur && !cur.isDirectory()) await fsp.rm(dst, { force: true });
  if (!cur || !cur.isDirectory()) {
    await fsp.mkdir(dst);
    await fsp.chmod(dst, o.mode ?? st.mode & 0o7777);
    const own = o.owner ?? { uid: st.uid, gid: st.gid };
    await fsp.lchown(dst, own.uid, own.gid);
    return { dir: dst, created: true };
  }
  if (o.mode !== undefined) await fsp.chmod(dst, o.mode);
  return { dir: dst, created: false };
}

async function mkdirAllScoped(rootfs: string, rel: string, owner?: { uid: number; gid: number }): Promise<void> {
  const parts = rel.split('/').filter((p) => p && p !== '.');
  let cur = '';
  for (const p of parts) {
    cur = `${cur}/${p}`;
    const abs = await scopedPath(rootfs, cur);
    const st = await fsp.lstat(abs).catch(() => undefined);
    if (st?.isDirectory()) continue;
    if (st) throw invalid(`cannot copy to ${rel}: ${cur} is not a directory`);
    await fsp.mkdir(abs, { mode: 0o755 });
    await fsp.chmod(abs, 0o755);
    if (owner) await fsp.lchown(abs, owner.uid, owner.gid);
  }
}

/**
 * A file or symlink to `dst` (a host path whose parent is resolved): never
 * written through a symlink. `fresh`: the parent was just made, so nothing
 * is there to replace.
 */
async function copyLeaf(src: string, st: Stats, dst: string, o: CopyOptions, fresh = false): Promise<void> {
  const cur = fresh ? undefined : await fsp.lstat(dst).catch(() => undefined);
  if (cur) await fsp.rm(dst, { recursive: cur.isDirectory(), force: true });
  const own = o.owner ?? { uid: st.uid, gid: st.gid };
  if (st.isSymbolicLink()) {
    await fsp.symlink(await fsp.readlink(src), dst);
    await fsp.lchown(dst, own.uid, own.gid);
    await fsp.lutimes(dst, st.atime, st.mtime);
    return;
  }
  if (!st.isFile()) return;
  // COPYFILE_EXCL: a file that appeared meanwhile is an error, not something written through.
  await fsp.copyFile(src, dst, fsc.COPYFILE_FICLONE | fsc.COPYFILE_EXCL);
  await fsp.chown(dst, own.uid, own.gid);
  // copyFile gives the copy its source's mode; chown then clears set-user/group-ID bits, which need it again.
  const mode = o.mode ?? st.mode & 0o7777;
  if (o.mode !== undefined || (mode & 0o6000) !== 0) await fsp.chmod(dst, mode);
  await fsp.utimes(dst, st.atime, st.mtime);
}

/** "--chmod" as an octal mode (symbolic modes are BuildKit's newer addition and not taken here). */
export function parseChmod(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^[0-7]{3,4}$/.test(s)) throw invalid(`invalid chmod parameter: ${s}: only octal modes are supported`);
  return Number.parseInt(s, 8);
}
