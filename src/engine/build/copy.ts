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
    const dst = await mkdirScoped(rootfs, dstRel, st, o);
    await copyDirContents(srcAbs, dst, rootfs, dstRel, o);
    await fsp.utimes(dst, st.atime, st.mtime);
    return;
  }
  const parent = await scopedPath(rootfs, path.posix.dirname(dstRel));
  await copyLeaf(srcAbs, st, path.join(parent, path.posix.basename(dstRel)), o);
}

async function copyDirContents(srcDir: string, dstDir: string, rootfs: string, dstRel: string, o: CopyOptions): Promise<void> {
  const entries = await fsp.readdir(srcDir, { withFileTypes: true });
  // Files of one directory in parallel (small batches): most of a context's time is many small files.
  const files = entries.filter((e) => !e.isDirectory());
  for (let i = 0; i < files.length; i += 32) {
    await Promise.all(
      files.slice(i, i + 32).map(async (e) => {
        const s = path.join(srcDir, e.name);
        await copyLeaf(s, await fsp.lstat(s), path.join(dstDir, e.name), o);
      }),
    );
  }
  for (const e of entries.filter((x) => x.isDirectory())) {
    const s = path.join(srcDir, e.name);
    const st = await fsp.lstat(s);
    const childRel = `${dstRel.replace(/\/+$/, '')}/${e.name}`;
    const d = await mkdirScoped(rootfs, childRel, st, o);
    await copyDirContents(s, d, rootfs, childRel, o);
    await fsp.utimes(d, st.atime, st.mtime);
  }
}

/** Makes (or reuses) the directory `rel` in the rootfs, resolving symlinks in scope; returns its host path. */
async function mkdirScoped(rootfs: string, rel: string, st: Stats, o: CopyOptions): Promise<string> {
  const dst = await scopedPath(rootfs, rel);
  const cur = await fsp.lstat(dst).catch(() => undefined);
  if (cur && !cur.isDirectory()) await fsp.rm(dst, { force: true });
  if (!cur || !cur.isDirectory()) {
    await fsp.mkdir(dst);
    await fsp.chmod(dst, o.mode ?? st.mode & 0o7777);
    const own = o.owner ?? { uid: st.uid, gid: st.gid };
    await fsp.lchown(dst, own.uid, own.gid);
  } else if (o.mode !== undefined) {
    await fsp.chmod(dst, o.mode);
  }
  return dst;
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

/** A file or symlink to `dst` (a host path whose parent is resolved): never written through a symlink. */
async function copyLeaf(src: string, st: Stats, dst: string, o: CopyOptions): Promise<void> {
  const cur = await fsp.lstat(dst).catch(() => undefined);
  if (cur) await fsp.rm(dst, { recursive: cur.isDirectory(), force: true });
  const own = o.owner ?? { uid: st.uid, gid: st.gid };
  if (st.isSymbolicLink()) {
    await fsp.symlink(await fsp.readlink(src), dst);
    await fsp.lchown(dst, own.uid, own.gid);
    await fsp.lutimes(dst, st.atime, st.mtime);
    return;
  }
  if (!st.isFile()) return;
  await fsp.copyFile(src, dst, fsc.COPYFILE_FICLONE);
  await fsp.chown(dst, own.uid, own.gid);
  await fsp.chmod(dst, o.mode ?? st.mode & 0o7777);
  await fsp.utimes(dst, st.atime, st.mtime);
}

/** "--chmod" as an octal mode (symbolic modes are BuildKit's newer addition and not taken here). */
export function parseChmod(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^[0-7]{3,4}$/.test(s)) throw invalid(`invalid chmod parameter: ${s}: only octal modes are supported`);
  return Number.parseInt(s, 8);
}
