/**
 * @module engine/build/context
 * The build context: the tar stream a client sends (plain or compressed)
 * written to a directory on disk as it arrives, never held in memory whole.
 * While each entry is written its content is hashed, so the cache learns a
 * COPY source's checksum without reading the files again. `.dockerignore`
 * is applied here too (the docker CLI applies it before sending; other
 * clients may not), with moby's patternmatcher rules through
 * @balena/dockerignore (a port that follows them: `!` exceptions, `**`).
 *
 * Entries are confined to the directory: a name that climbs out with `..`,
 * or that goes through a symlink the archive made, is refused ("forbidden
 * path"); a malformed or truncated archive fails the build.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { decompressStream } from '../layer/index.js';
import { TarReader } from '../layer/tar-reader.js';
import { invalid } from '../errors.js';

// A CommonJS module whose typings declare an ES default export: loaded as what it is.
const ignore = createRequire(import.meta.url)('@balena/dockerignore') as typeof import('@balena/dockerignore').default;

/** What the cache knows of one context entry: its metadata and, for files, content (no mtime, like tarsum). */
export type EntryHashes = Map<string, string>;

export class BuildContext {
  private sorted?: string[];

  private constructor(
    /** The directory the context was written to (removed by dispose()). */
    readonly root: string,
    /** Relative path → hash of its metadata and content. */
    readonly hashes: EntryHashes,
  ) {}

  /** Writes `body` (a tar, possibly compressed) under a new directory in `tmpBase`. */
  static async fromTar(body: Readable, tmpBase: string): Promise<BuildContext> {
    await fsp.mkdir(tmpBase, { recursive: true, mode: 0o700 });
    const root = await fsp.mkdtemp(path.join(tmpBase, 'ctx-'));
    const hashes: EntryHashes = new Map();
    try {
      const { stream } = await decompressStream(body);
      await extract(stream, root, hashes);
    } catch (err) {
      await fsp.rm(root, { recursive: true, force: true });
      const msg = (err as Error).message;
      if ((err as { kind?: string }).kind) throw err;
      throw invalid(`Error processing tar file(exit status 1): ${msg}`, err);
    }
    const ctx = new BuildContext(root, hashes);
    await ctx.applyDockerignore();
    return ctx;
  }

  /** A context that is only a Dockerfile (`docker build - < Dockerfile`). */
  static async fromDockerfile(text: Buffer, tmpBase: string): Promise<BuildContext> {
    await fsp.mkdir(tmpBase, { recursive: true, mode: 0o700 });
    const root = await fsp.mkdtemp(path.join(tmpBase, 'ctx-'));
    await fsp.writeFile(path.join(root, 'Dockerfile'), text);
    return new BuildContext(root, new Map([['Dockerfile', createHash('sha256').update(text).digest('hex')]]));
  }

  /** Removes files `.dockerignore` excludes (the Dockerfile and .dockerignore themselves stay readable to the builder). */
  private async applyDockerignore(): Promise<void> {
    const text = await fsp.readFile(path.join(this.root, '.dockerignore'), 'utf8').catch(() => undefined);
    if (text === undefined) return;
    const ig = ignore().add(parseDockerignore(text));
    for (const rel of [...this.hashes.keys()].sort().reverse()) {
      if (rel === '.dockerignore' || rel === 'Dockerfile') continue;
      if (!ig.ignores(rel)) continue;
      const abs = path.join(this.root, rel);
      const st = await fsp.lstat(abs).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) {
        // A directory stays when something below it is kept by an exception.
        const kept = [...this.hashes.keys()].some((k) => k.startsWith(rel + '/'));
        if (kept) continue;
        await fsp.rmdir(abs).catch(() => undefined);
      } else {
        await fsp.rm(abs, { force: true });
      }
      this.hashes.delete(rel);
    }
    this.sorted = undefined;
  }

  /**
   * A checksum of everything at `rel` (a file, or a directory and all below
   * it), from the hashes taken while the context was written.
   */
  checksumOf(rel: string): string {
    this.sorted ??= [...this.hashes.keys()].sort();
    const h = createHash('sha256');
    const norm = rel === '.' || rel === '' ? '' : rel;
    for (const k of this.sorted) {
      if (norm === '' || k === norm || k.startsWith(norm + '/')) h.update(`${k}\0${this.hashes.get(k)}\n`);
    }
    return h.digest('hex');
  }

  async dispose(): Promise<void> {
    await fsp.rm(this.root, { recursive: true, force: true });
  }
}

/** `.dockerignore` lines → patterns: comments and blanks dropped, leading "/" and "./" trimmed as moby does. */
export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  for (let line of text.split(/\r?\n/)) {
    line = line.trim();
    if (!line || line.startsWith('#')) continue;
    const neg = line.startsWith('!');
    let p = neg ? line.slice(1).trim() : line;
    p = path.posix.normalize(p).replace(/^\/+/, '');
    if (p === '.' || p === '') continue;
    out.push(neg ? `!${p}` : p);
  }
  return out;
}

async function extract(stream: Readable, root: string, hashes: EntryHashes): Promise<void> {
  const reader = new TarReader(stream);
  const symlinks = new Set<string>();
  try {
    for (let e = await reader.next(); e !== null; e = await reader.next()) {
      const name = Buffer.from(e.name, 'latin1').toString('utf8');
      const rel = path.posix.normalize(name.replace(/^\/+/, '')).replace(/\/+$/, '');
      if (rel === '.' || rel === '') continue;
      if (rel === '..' || rel.startsWith('../')) throw invalid(`forbidden path outside the build context: ${name}`);
      const parts = rel.split('/');
      for (let k = 1; k < parts.length; k++) {
        if (symlinks.has(parts.slice(0, k).join('/'))) throw invalid(`forbidden path through a symlink in the build context: ${name}`);
      }
      const abs = path.join(root, rel);
      await fsp.mkdir(path.dirname(abs), { recursive: true });
      const meta = `${e.type}\0${e.mode & 0o7777}\0${e.uid}:${e.gid}\0${e.size}\0${e.linkname}`;
      switch (e.type) {
        case 'dir':
          await fsp.mkdir(abs, { recursive: true });
          await fsp.chmod(abs, e.mode & 0o7777);
          hashes.set(rel, meta);
          break;
        case 'file': {
          const h = createHash('sha256');
          const out = createWriteStream(abs, { mode: e.mode & 0o7777 });
          for (let b = await reader.read(); b !== null; b = await reader.read()) {
            h.update(b);
            if (!out.write(b)) await once(out, 'drain');
          }
          out.end();
          await once(out, 'close');
          await fsp.chmod(abs, e.mode & 0o7777);
          await fsp.utimes(abs, e.mtime, e.mtime);
          hashes.set(rel, `${meta}\0${h.digest('hex')}`);
          break;
        }
        case 'symlink':
          await fsp.rm(abs, { force: true, recursive: true });
          await fsp.symlink(Buffer.from(e.linkname, 'latin1').toString('utf8'), abs);
          symlinks.add(rel);
          hashes.set(rel, meta);
          break;
        case 'hardlink': {
          const target = path.posix.normalize(Buffer.from(e.linkname, 'latin1').toString('utf8').replace(/^\/+/, ''));
          if (target === '..' || target.startsWith('../')) throw invalid(`forbidden hard link outside the build context: ${name}`);
          await fsp.rm(abs, { force: true });
          await fsp.link(path.join(root, target), abs);
          hashes.set(rel, `${meta}\0${hashes.get(target) ?? ''}`);
          break;
        }
        default:
          // Devices and FIFOs have no place in a build context.
          break;
      }
    }
    await reader.drain();
  } catch (err) {
    reader.destroy();
    throw err;
  }
}
