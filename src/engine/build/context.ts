/**
 * @module engine/build/context
 * The build context: the tar stream a client sends (plain or compressed),
 * spooled to one file as it arrives (never held in memory whole) while each
 * entry is checked and hashed, so the cache learns a COPY source's checksum
 * without reading files; then written to a directory, unless the previous
 * build's directory holds exactly these entries (a rebuild), which is used
 * again, or nearly these (a rebuild after an edit), which is brought up to
 * date by writing only the entries that changed. `.dockerignore`
 * is the client's to apply (the docker CLI and berth do, before sending);
 * here it only drops the Dockerfile and itself when it names them.
 *
 * Entries are confined to the directory: a name that climbs out with `..`,
 * or that goes through a symlink the archive made, is refused ("forbidden
 * path"); a malformed or truncated archive fails the build.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { once } from 'node:events';
import { decompressStream } from '../layer/index.js';
import { TarReader } from '../layer/tar-reader.js';
import { invalid } from '../errors.js';
import { dockerignoreMatcher } from '../../common/dockerignore.js';

/** What the cache knows of one context entry: its metadata and, for files, content (no mtime, like tarsum). */
export type EntryHashes = Map<string, string>;

/**
 * The context a build left, kept for the next build whose tar has the same
 * entries (a rebuild sends the same one): writing thousands of small files
 * again is most of a fully cached rebuild's time. One per work directory;
 * it is replaced by the next different context and removed once no build
 * uses it. In memory only: the work directory is emptied at daemon start.
 */
interface KeptContext {
  digest: string;
  root: string;
  /** Relative path → its hash and mtime (what the digest covers), to bring the directory up to date. */
  state: Map<string, string>;
  users: number;
  /** Replaced, or changed by a build (dropIgnoredDockerfile): removed when its last user is done, never reused. */
  stale: boolean;
}
const kept = new Map<string, KeptContext>();

async function dropKept(tmpBase: string): Promise<void> {
  const k = kept.get(tmpBase);
  if (!k) return;
  kept.delete(tmpBase);
  k.stale = true;
  if (k.users === 0) await fsp.rm(k.root, { recursive: true, force: true });
}

export class BuildContext {
  private sorted?: string[];

  private constructor(
    /** The directory the context was written to (shared with builds of the same context; removed by dispose() when no longer kept). */
    readonly root: string,
    /** Relative path → hash of its metadata and content. */
    readonly hashes: EntryHashes,
    private readonly entry?: KeptContext,
  ) {}

  /**
   * Reads `body` (a tar, possibly compressed): its entries are checked and
   * hashed as it arrives while the tar is spooled to one file; then, unless
   * the directory of an identical context is still here, written under a
   * new directory in `tmpBase`.
   */
  static async fromTar(body: Readable, tmpBase: string): Promise<BuildContext> {
    await fsp.mkdir(tmpBase, { recursive: true, mode: 0o700 });
    const spool = path.join(tmpBase, `spool-${randomBytes(8).toString('hex')}.tar`);
    const hashes: EntryHashes = new Map();
    const mtimes = new Map<string, number>();
    try {
      try {
        const { stream } = await decompressStream(body);
        await extract(stream.pipe(closeArchive()).pipe(spoolTo(spool)), undefined, hashes, mtimes);
      } catch (err) {
        // A failed build keeps no context, not even the one kept from before.
        await dropKept(tmpBase);
        const msg = (err as Error).message;
        if ((err as { kind?: string }).kind) throw err;
        throw invalid(`Error processing tar file(exit status 1): ${msg}`, err);
      }
      // The same entries (names, metadata, contents and mtimes): the same directory.
      const state = new Map<string, string>();
      for (const [k, v] of hashes) state.set(k, `${v}\0${mtimes.get(k) ?? ''}`);
      const h = createHash('sha256');
      for (const k of [...state.keys()].sort()) h.update(`${k}\0${state.get(k)}\n`);
      const digest = h.digest('hex');
      const prev = kept.get(tmpBase);
      if (prev && prev.digest === digest && !prev.stale) {
        prev.users++;
        return new BuildContext(prev.root, hashes, prev);
      }
      const updated = prev ? await update(prev, spool, digest, state) : false;
      if (updated) return new BuildContext(prev!.root, hashes, prev);
      const root = await fsp.mkdtemp(path.join(tmpBase, 'ctx-'));
      try {
        await extract(createReadStream(spool), root, new Map(), new Map());
      } catch (err) {
        await fsp.rm(root, { recursive: true, force: true });
        await dropKept(tmpBase);
        throw invalid(`Error processing tar file(exit status 1): ${(err as Error).message}`, err);
      }
      const entry: KeptContext = { digest, root, state, users: 1, stale: false };
      kept.set(tmpBase, entry);
      if (prev) {
        prev.stale = true;
        if (prev.users === 0) await fsp.rm(prev.root, { recursive: true, force: true });
      }
      return new BuildContext(root, hashes, entry);
    } finally {
      await fsp.rm(spool, { force: true });
    }
  }

  /** A context that is only a Dockerfile (`docker build - < Dockerfile`). */
  static async fromDockerfile(text: Buffer, tmpBase: string): Promise<BuildContext> {
    await fsp.mkdir(tmpBase, { recursive: true, mode: 0o700 });
    const root = await fsp.mkdtemp(path.join(tmpBase, 'ctx-'));
    await fsp.writeFile(path.join(root, 'Dockerfile'), text);
    return new BuildContext(root, new Map([['Dockerfile', createHash('sha256').update(text).digest('hex')]]));
  }

  /**
   * After the Dockerfile was read: the Dockerfile and .dockerignore leave
   * the context when .dockerignore names them (the docker CLI adds both
   * names for a Dockerfile from stdin), as dockerd's removeDockerfile does.
   * The rest of .dockerignore is the client's to apply before sending.
   */
  async dropIgnoredDockerfile(dockerfile: string): Promise<void> {
    const text = await fsp.readFile(path.join(this.root, '.dockerignore'), 'utf8').catch(() => undefined);
    if (text === undefined) return;
    const ignores = dockerignoreMatcher(text);
    for (const rel of [dockerfile, '.dockerignore']) {
      const clean = path.posix.normalize(rel);
      if (clean.startsWith('..') || !ignores(clean)) continue;
      // The directory no longer is the tar's: the next build may not take it.
      if (this.entry) this.entry.stale = true;
      await fsp.rm(path.join(this.root, clean), { force: true });
      this.hashes.delete(clean);
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

  /** The build is done with the context; `keep` (a build that succeeded) lets the next build of the same context use its directory. */
  async dispose(o: { keep?: boolean } = {}): Promise<void> {
    const e = this.entry;
    if (e) {
      if (!o.keep) e.stale = true;
      e.users--;
      if (e.users > 0 || !e.stale) return;
    }
    await fsp.rm(this.root, { recursive: true, force: true });
  }
}

/** Entries of other kinds than these, changed, make a fresh directory instead of an update. */
const UPDATABLE = new Set(['file', 'dir']);

/**
 * Brings the kept directory of the previous context up to date with a new
 * one (a rebuild after an edit): entries gone are removed and entries new
 * or changed (content, metadata or mtime) are written, the rest stays.
 * Only when no build is using it, and when what changed is plain files and
 * directories; otherwise (links, a type that changed) resolves false and
 * the caller writes a new directory. On failure the directory is dropped.
 */
async function update(prev: KeptContext, spool: string, digest: string, state: Map<string, string>): Promise<boolean> {
  if (prev.stale || prev.users > 0) return false;
  const typeOf = (v: string) => v.slice(0, v.indexOf('\0'));
  const changed = new Set<string>();
  for (const [k, v] of state) {
    const was = prev.state.get(k);
    if (was === v) continue;
    if (!UPDATABLE.has(typeOf(v)) || (was !== undefined && typeOf(was) !== typeOf(v))) return false;
    changed.add(k);
  }
  const gone = [...prev.state.keys()].filter((k) => !state.has(k));
  for (const k of gone) if (!UPDATABLE.has(typeOf(prev.state.get(k)!))) return false;
  // Claimed before the first await: no other build takes a directory half updated.
  prev.users = 1;
  prev.digest = '';
  try {
    // Deepest first; a directory goes with what is below it.
    for (const k of gone.sort((a, b) => b.length - a.length)) await fsp.rm(path.join(prev.root, k), { recursive: true, force: true });
    if (changed.size > 0) await extract(createReadStream(spool), prev.root, new Map(), new Map(), changed);
  } catch {
    prev.users = 0;
    await dropKept(path.dirname(prev.root));
    return false;
  }
  prev.digest = digest;
  prev.state = state;
  return true;
}

/**
 * The docker CLI's `-f -` context (moby's ReplaceFileTarWrapper) ends after
 * its last file's data, without padding or the end-of-archive blocks, and
 * dockerd takes it: the stream is closed here as a tar writer would have.
 * A truncation inside a file's data still fails.
 */
function closeArchive(): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      const pad = (512 - (n % 512)) % 512;
      cb(null, Buffer.alloc(pad + 1024));
    },
  });
}

/** Files up to this size are read whole and written in parallel; bigger ones stream to disk in order. */
const SMALL_FILE = 1 << 20;
const WRITES_IN_FLIGHT = 32;

/** A pass-through that also writes what passes to `file` (finished before the stream ends). */
function spoolTo(file: string): Transform {
  const out = createWriteStream(file, { mode: 0o600 });
  let failed: Error | undefined;
  out.on('error', (err) => (failed = err));
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (failed) return cb(failed);
      if (out.write(chunk)) cb(null, chunk);
      else out.once('drain', () => cb(failed ?? null, chunk));
    },
    flush(cb) {
      out.end(() => cb(failed ?? null));
    },
  });
}

/**
 * Reads a context tar: checks every name and hashes every entry into
 * `hashes` (and `mtimes`); with `root`, also writes the entries under it
 * (with `only`, just those named there).
 */
async function extract(stream: Readable, root: string | undefined, hashes: EntryHashes, mtimes: Map<string, number>, only?: Set<string>): Promise<void> {
  const reader = new TarReader(stream);
  const symlinks = new Set<string>();
  const dirs = new Set<string>(root ? [root] : []);
  const umask = process.umask();
  // Small files are written while the next entries are read: most of a context is many small files.
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  const spawn = async (work: () => Promise<void>) => {
    const p = work().catch((err: unknown) => {
      failure ??= err;
    });
    pending.add(p);
    void p.finally(() => pending.delete(p));
    if (pending.size >= WRITES_IN_FLIGHT) await Promise.race(pending);
    if (failure) throw failure;
  };
  const settle = async () => {
    await Promise.all(pending);
    if (failure) throw failure;
  };
  const mkdirp = async (dir: string) => {
    if (dirs.has(dir)) return;
    await fsp.mkdir(dir, { recursive: true });
    dirs.add(dir);
  };
  const finish = async (abs: string, mode: number, mtime: number) => {
    // open() applies the umask; only modes it took bits from need a chmod. A
    // file written over (an update) keeps its old mode: always chmod then.
    if (only || (mode & ~umask) !== mode) await fsp.chmod(abs, mode);
    await fsp.utimes(abs, mtime, mtime);
  };
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
      mtimes.set(rel, e.mtime);
      if (only && !only.has(rel)) continue;
      const abs = root === undefined ? '' : path.join(root, rel);
      if (root !== undefined) await mkdirp(path.dirname(abs));
      if (symlinks.has(rel)) {
        // An entry replacing a symlink the archive made: never written through it.
        if (root !== undefined) {
          await settle();
          await fsp.rm(abs, { force: true });
        }
        symlinks.delete(rel);
      }
      const meta = `${e.type}\0${e.mode & 0o7777}\0${e.uid}:${e.gid}\0${e.size}\0${e.linkname}`;
      const mode = e.mode & 0o7777;
      switch (e.type) {
        case 'dir':
          if (root !== undefined) {
            await mkdirp(abs);
            await fsp.chmod(abs, mode);
          }
          hashes.set(rel, meta);
          break;
        case 'file': {
          const h = createHash('sha256');
          if (root === undefined) {
            for (let b = await reader.read(); b !== null; b = await reader.read()) h.update(b);
          } else if (e.size <= SMALL_FILE) {
            const chunks: Buffer[] = [];
            for (let b = await reader.read(); b !== null; b = await reader.read()) {
              h.update(b);
              chunks.push(Buffer.from(b));
            }
            const mtime = e.mtime;
            await spawn(async () => {
              await fsp.writeFile(abs, Buffer.concat(chunks), { mode });
              await finish(abs, mode, mtime);
            });
          } else {
            const out = createWriteStream(abs, { mode });
            for (let b = await reader.read(); b !== null; b = await reader.read()) {
              h.update(b);
              if (!out.write(b)) await once(out, 'drain');
            }
            out.end();
            await once(out, 'close');
            await finish(abs, mode, e.mtime);
          }
          hashes.set(rel, `${meta}\0${h.digest('hex')}`);
          break;
        }
        case 'symlink':
          if (root !== undefined) {
            await settle();
            await fsp.rm(abs, { force: true, recursive: true });
            await fsp.symlink(Buffer.from(e.linkname, 'latin1').toString('utf8'), abs);
          }
          symlinks.add(rel);
          hashes.set(rel, meta);
          break;
        case 'hardlink': {
          const target = path.posix.normalize(Buffer.from(e.linkname, 'latin1').toString('utf8').replace(/^\/+/, ''));
          if (target === '..' || target.startsWith('../')) throw invalid(`forbidden hard link outside the build context: ${name}`);
          // Its target may still be being written.
          if (root !== undefined) {
            await settle();
            await fsp.rm(abs, { force: true });
            await fsp.link(path.join(root, target), abs);
          }
          hashes.set(rel, `${meta}\0${hashes.get(target) ?? ''}`);
          break;
        }
        default:
          // Devices and FIFOs have no place in a build context.
          break;
      }
    }
    await reader.drain();
    await settle();
  } catch (err) {
    reader.destroy();
    await Promise.allSettled(pending);
    throw err;
  }
}
