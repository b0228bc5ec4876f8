/**
 * @module engine/content/store
 * The local content store: the contract of ./content.ts on a directory,
 * laid out like containerd's `plugins/content/local`.
 *
 * Layout under `<root>`:
 *   blobs/sha256/<hex>          committed blobs
 *   labels/sha256/<hex>.json    a blob's labels and creation time, when it has labels
 *   ingest/<sha256(ref)>/ref    writes in progress, by the caller's ref:
 *   ingest/<sha256(ref)>/data   the bytes so far
 *   ingest/<sha256(ref)>/meta.json  {ref, total, expected, startedAt}
 *
 * Crash safety: a blob becomes visible only by a rename of its ingest data,
 * after the bytes are fsynced and their size and digest checked, so a crash
 * leaves at most an ingest, which a later writer for the same ref resumes
 * (its bytes are hashed again) and which otherwise expires (`ingestExpiryMs`,
 * default 24 h, counted from its last write). Labels are written (temp +
 * rename) before the blob appears and removed after it is gone; labels
 * without a blob are dropped at open. Deleting a blob is one unlink.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { writevAll } from '../../util/fs.js';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { digestHex, type Digest } from '../../common/reference/digest.js';
import { conflict, invalid, notFound } from '../errors.js';
import { fixAll, inProgress, quarantine, type Finding, type LeftoverScope } from '../check/finding.js';
import type { BlobReader, CommitOptions, ContentStore, Info, IngestStatus, Writer, WriterOptions } from './content.js';
import { crashPoint } from '../../util/crash.js';

/**
 * Read/write buffer for blob streams: each fs operation is a thread-pool round
 * trip, so 1 MiB chunks instead of 64 KiB cut a 100 MB layer's trips 16-fold.
 */
export const BIG_READ = 1 << 20;

export interface LocalStoreOptions {
  /** Ingests not written to for this long are dropped at open (default 24 h). */
  ingestExpiryMs?: number;
  /** false: open without cleaning up (an offline `berth system check` that only reports). */
  repair?: boolean;
}

const DAY_MS = 24 * 3600 * 1000;
const HEX = /^[0-9a-f]{64}$/;

interface LabelsFile {
  labels: Record<string, string>;
  createdAt?: string;
}

interface IngestMeta {
  ref: string;
  total?: number;
  expected?: Digest;
  startedAt: string;
}

export class LocalContentStore implements ContentStore {
  /** Refs with an open writer (in this process). */
  private readonly locked = new Set<string>();
  /** Commits in progress by digest. */
  private readonly installing = new Map<Digest, Promise<unknown>>();

  private constructor(
    private readonly root: string,
    readonly ingestExpiryMs: number,
  ) {}

  static async open(root: string, opts: LocalStoreOptions = {}): Promise<LocalContentStore> {
    for (const d of ['blobs/sha256', 'labels/sha256', 'ingest']) await fsp.mkdir(path.join(root, d), { recursive: true });
    const store = new LocalContentStore(root, opts.ingestExpiryMs ?? DAY_MS);
    // At open: expired or unreadable ingests, labels of blobs that are gone, temp files of label writes.
    if (opts.repair !== false) await fixAll((await store.leftovers({})).filter((f) => f.kind !== 'blob-stray'));
    return store;
  }

  /**
   * What the store holds that nothing can use (the check's content part, and
   * what open cleans): ingests expired or without readable metadata, labels
   * without their blob, files in blobs/ that are no blob. `online`: writers
   * of this process may be at work, so locked ingests and young label files
   * are theirs (and locked ingests). `quarantine`: where stray blob files go.
   */
  async leftovers(o: LeftoverScope & { quarantine?: string }): Promise<Finding[]> {
    const out: Finding[] = [];
    const now = Date.now();
    for (const st of await this.ingestDirs()) {
      if (st.meta && this.locked.has(st.meta.ref)) continue;
      const expired = now - st.updatedMs > this.ingestExpiryMs;
      if (st.meta && !expired) continue; // resumable: a later writer of the same ref picks it up
      out.push({
        kind: 'ingest-stale',
        subject: st.meta?.ref ?? path.basename(st.dir),
        message: st.meta ? `ingest of ${st.size} bytes not written to since ${new Date(st.updatedMs).toISOString()}` : 'ingest without readable metadata (a write that died before it began)',
        action: 'remove the ingest',
        fix: () => fsp.rm(st.dir, { recursive: true, force: true }),
      });
    }
    const labelsDir = path.join(this.root, 'labels', 'sha256');
    for (const name of await fsp.readdir(labelsDir)) {
      const hex = name.replace(/\.json$/, '');
      if (name.endsWith('.json') && HEX.test(hex) && (await exists(path.join(this.root, 'blobs', 'sha256', hex)))) continue;
      // A commit writes labels just before its blob appears.
      if (await inProgress(path.join(labelsDir, name), o.liveSince)) continue;
      out.push({ kind: 'labels-orphan', subject: name, message: 'labels of a blob that is not there', action: 'remove the labels file', fix: () => fsp.rm(path.join(labelsDir, name), { force: true }) });
    }
    for (const name of await fsp.readdir(path.join(this.root, 'blobs', 'sha256'))) {
      if (HEX.test(name)) continue;
      const file = path.join(this.root, 'blobs', 'sha256', name);
      out.push({
        kind: 'blob-stray',
        subject: name,
        message: 'a file in the blob directory whose name is no digest',
        ...(o.quarantine ? { action: `move it to ${o.quarantine}`, fix: async () => void (await quarantine(file, o.quarantine!)) } : {}),
      });
    }
    return out;
  }

  /** Reads the blob `digest` through and says whether its bytes still hash to it. */
  async verify(digest: Digest): Promise<boolean> {
    const h = createHash('sha256');
    for await (const chunk of createReadStream(this.blobFile(digest), { highWaterMark: BIG_READ })) h.update(chunk as Buffer);
    return `sha256:${h.digest('hex')}` === digest;
  }

  /** Takes a (corrupt) blob out of the store into `dir`, labels and all; what referred to it then misses it. */
  async quarantine(digest: Digest, dir: string): Promise<string> {
    const to = await quarantine(this.blobFile(digest), dir);
    await fsp.rm(this.labelsFile(digest), { force: true });
    return to;
  }

  private blobFile(digest: Digest): string {
    return path.join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  private labelsFile(digest: Digest): string {
    return path.join(this.root, 'labels', 'sha256', `${digestHex(digest)}.json`);
  }

  private ingestDir(ref: string): string {
    return path.join(this.root, 'ingest', createHash('sha256').update(ref).digest('hex'));
  }

  // ---- Provider / Manager

  async info(digest: Digest): Promise<Info> {
    let st;
    try {
      st = await fsp.stat(this.blobFile(digest));
    } catch {
      throw notFound(`content ${digest}: not found`);
    }
    const l = await readLabels(this.labelsFile(digest));
    return { digest, size: st.size, createdAt: l?.createdAt ?? st.mtime.toISOString(), labels: l?.labels ?? {} };
  }

  async reader(digest: Digest): Promise<BlobReader> {
    let fh: FileHandle;
    try {
      fh = await fsp.open(this.blobFile(digest), 'r');
    } catch {
      throw notFound(`content ${digest}: not found`);
    }
    const { size } = await fh.stat();
    return {
      digest,
      size,
      stream: (offset = 0, length?: number) => fh.createReadStream({ start: offset, ...(length !== undefined ? { end: offset + length - 1 } : {}), autoClose: false, highWaterMark: BIG_READ }),
      close: () => fh.close(),
    };
  }

  async readStream(digest: Digest, offset = 0): Promise<Readable> {
    const r = await this.reader(digest);
    const s = r.stream(offset);
    s.once('close', () => void r.close().catch(() => undefined));
    return s;
  }

  async readAll(digest: Digest): Promise<Buffer> {
    try {
      return await fsp.readFile(this.blobFile(digest));
    } catch {
      throw notFound(`content ${digest}: not found`);
    }
  }

  async update(digest: Digest, labels: Record<string, string>): Promise<Info> {
    const cur = await this.info(digest);
    const next = Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== ''));
    await writeLabels(this.labelsFile(digest), { labels: next, createdAt: cur.createdAt });
    return { ...cur, labels: next };
  }

  async walk(fn: (info: Info) => void | Promise<void>): Promise<void> {
    for (const name of await fsp.readdir(path.join(this.root, 'blobs', 'sha256'))) {
      if (!HEX.test(name)) continue;
      let info: Info;
      try {
        info = await this.info(`sha256:${name}`);
      } catch {
        continue; // deleted meanwhile
      }
      await fn(info);
    }
  }

  async delete(digest: Digest): Promise<number> {
    let size: number;
    try {
      size = (await fsp.stat(this.blobFile(digest))).size;
      crashPoint('content.delete');
      await fsp.unlink(this.blobFile(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      size = 0;
    }
    await fsp.rm(this.labelsFile(digest), { force: true });
    return size;
  }

  // ---- Ingester / IngestManager

  async writer(ref: string, opts: WriterOptions = {}): Promise<Writer> {
    if (!ref) throw invalid('content: a write needs a ref');
    if (this.locked.has(ref)) throw conflict(`content: ref ${ref} is locked by another writer`);
    this.locked.add(ref);
    try {
      const dir = this.ingestDir(ref);
      await fsp.mkdir(dir, { recursive: true });
      const metaFile = path.join(dir, 'meta.json');
      let meta = await readJson<IngestMeta>(metaFile);
      if (!meta || meta.ref !== ref) {
        meta = { ref, startedAt: new Date().toISOString() };
        await fsp.rm(path.join(dir, 'data'), { force: true });
      }
      if (opts.total !== undefined) meta.total = opts.total;
      if (opts.expected) meta.expected = opts.expected;
      await atomicWrite(metaFile, JSON.stringify(meta));
      // Resume: the bytes already there are hashed again (a crash may have cut them anywhere).
      const hash = createHash('sha256');
      let offset = 0;
      const data = path.join(dir, 'data');
      if (await exists(data)) {
        for await (const chunk of createReadStream(data, { highWaterMark: BIG_READ })) {
          hash.update(chunk as Buffer);
          offset += (chunk as Buffer).length;
        }
      }
      const fh = await fsp.open(data, 'a', 0o644);
      return new LocalWriter(this, ref, dir, fh, hash, offset, meta);
    } catch (err) {
      this.locked.delete(ref);
      throw err;
    }
  }

  async ingests(): Promise<IngestStatus[]> {
    const out: IngestStatus[] = [];
    for (const st of await this.ingestDirs()) {
      if (!st.meta) continue;
      out.push({
        ref: st.meta.ref,
        offset: st.size,
        ...(st.meta.total !== undefined ? { total: st.meta.total } : {}),
        ...(st.meta.expected ? { expected: st.meta.expected } : {}),
        startedAt: st.meta.startedAt,
        updatedAt: new Date(st.updatedMs).toISOString(),
      });
    }
    return out;
  }

  async abortIngest(ref: string): Promise<void> {
    if (this.locked.has(ref)) throw conflict(`content: ref ${ref} is locked by a writer`);
    await fsp.rm(this.ingestDir(ref), { recursive: true, force: true });
  }

  private async ingestDirs(): Promise<{ dir: string; meta?: IngestMeta; size: number; updatedMs: number }[]> {
    const out = [];
    for (const name of await fsp.readdir(path.join(this.root, 'ingest'))) {
      const dir = path.join(this.root, 'ingest', name);
      const meta = await readJson<IngestMeta>(path.join(dir, 'meta.json'));
      const data = await fsp.stat(path.join(dir, 'data')).catch(() => undefined);
      const dirSt = await fsp.stat(dir).catch(() => undefined);
      if (!dirSt) continue;
      out.push({ dir, ...(meta ? { meta } : {}), size: data?.size ?? 0, updatedMs: Math.max(data?.mtimeMs ?? 0, dirSt.mtimeMs) });
    }
    return out;
  }

  /** The writer's end: the ref is free again. */
  release(ref: string): void {
    this.locked.delete(ref);
  }

  /**
   * Makes an ingest's data the blob `digest` (verified by the writer): labels
   * first, then the data by rename; if the blob is there already, the data goes.
   */
  install(dir: string, digest: Digest, size: number, labels: Record<string, string>): Promise<Info> {
    // One install per digest at a time, so that concurrent writers of the same content merge their labels.
    const prev = this.installing.get(digest) ?? Promise.resolve();
    const next = prev.then(
      () => this.installNow(dir, digest, size, labels),
      () => this.installNow(dir, digest, size, labels),
    );
    const tail = next.catch(() => undefined);
    this.installing.set(digest, tail);
    void tail.then(() => {
      if (this.installing.get(digest) === tail) this.installing.delete(digest);
    });
    return next;
  }

  private async installNow(dir: string, digest: Digest, size: number, labels: Record<string, string>): Promise<Info> {
    const file = this.blobFile(digest);
    let created: string;
    if (await exists(file)) {
      const info = await this.info(digest);
      created = info.createdAt;
      const merged = { ...info.labels, ...labels };
      if (Object.keys(labels).length) await writeLabels(this.labelsFile(digest), { labels: merged, createdAt: created });
      await fsp.rm(dir, { recursive: true, force: true });
      return { digest, size, createdAt: created, labels: merged };
    }
    created = new Date().toISOString();
    if (Object.keys(labels).length) await writeLabels(this.labelsFile(digest), { labels, createdAt: created });
    crashPoint('content.install');
    await fsp.rename(path.join(dir, 'data'), file);
    crashPoint('content.installed');
    await fsp.rm(dir, { recursive: true, force: true });
    return { digest, size, createdAt: created, labels };
  }
}

/** Bytes written between background flushes to disk (see LocalWriter.writeStream). */
const FLUSH_EVERY = 16 << 20;

class LocalWriter implements Writer {
  private done = false;
  /** A datasync running in the background, and the bytes written since the last one began. */
  private flushing: Promise<void> = Promise.resolve();
  private unflushed = 0;

  constructor(
    private readonly store: LocalContentStore,
    readonly ref: string,
    private readonly dir: string,
    private readonly fh: FileHandle,
    private readonly hash: Hash,
    private written: number,
    private readonly meta: IngestMeta,
  ) {}

  get offset(): number {
    return this.written;
  }

  digest(): Digest {
    return `sha256:${this.hash.copy().digest('hex')}`;
  }

  private check(): void {
    if (this.done) throw new Error(`content: the writer for ${this.ref} is closed`);
  }

  async write(chunk: Buffer): Promise<void> {
    this.check();
    await writevAll(this.fh, [chunk]);
    this.hash.update(chunk);
    this.written += chunk.length;
  }

  async writeStream(input: Readable): Promise<void> {
    this.check();
    // Chunks gathered into ~1 MiB writes: each write is a thread-pool round trip.
    let batch: Buffer[] = [];
    let batched = 0;
    const flush = async (): Promise<void> => {
      if (!batch.length) return;
      const bufs = batch;
      batch = [];
      batched = 0;
      await writevAll(this.fh, bufs);
      crashPoint('content.write');
      // Writeback starts while the rest still arrives, so the fsync at commit has little left to
      // wait for (a big upload otherwise pays its whole disk write at the end). One at a time.
      this.unflushed += bufs.reduce((n, b) => n + b.length, 0);
      if (this.unflushed >= FLUSH_EVERY) {
        this.unflushed = 0;
        this.flushing = this.flushing.then(() => this.fh.datasync()).catch(() => undefined);
      }
    };
    for await (const c of input) {
      const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
      this.hash.update(chunk);
      this.written += chunk.length;
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= BIG_READ) await flush();
    }
    await flush();
  }

  async commit(size?: number, expected?: Digest, opts: CommitOptions = {}): Promise<Info> {
    this.check();
    const want = expected ?? this.meta.expected;
    const wantSize = size ?? this.meta.total;
    const actual = this.digest();
    try {
      if (wantSize !== undefined && wantSize !== this.written) {
        throw invalid(`content ${this.ref}: unexpected commit size ${this.written}, expected ${wantSize}`);
      }
      if (want && want !== actual) throw invalid(`content ${this.ref}: digest mismatch: expected ${want}, got ${actual}`);
      await this.flushing;
      await this.fh.sync();
    } catch (err) {
      await this.abort();
      throw err;
    }
    await this.finish();
    return this.store.install(this.dir, actual, this.written, opts.labels ?? {});
  }

  async reader(): Promise<BlobReader> {
    this.check();
    await this.fh.datasync();
    const fh = await fsp.open(path.join(this.dir, 'data'), 'r');
    const size = this.written;
    const digest = this.digest();
    return {
      digest,
      size,
      stream: (offset = 0, length?: number) => fh.createReadStream({ start: offset, ...(length !== undefined ? { end: offset + length - 1 } : {}), autoClose: false, highWaterMark: BIG_READ }),
      close: () => fh.close(),
    };
  }

  async abort(): Promise<void> {
    if (this.done) return;
    await this.finish();
    await fsp.rm(this.dir, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    if (this.done) return;
    await this.fh.sync().catch(() => undefined);
    await this.finish();
  }

  private async finish(): Promise<void> {
    this.done = true;
    await this.flushing;
    await this.fh.close().catch(() => undefined);
    this.store.release(this.ref);
  }
}

/** A random ref for a write nobody will resume (an import, a load). */
export function randomRef(what: string): string {
  return `${what}-${randomBytes(8).toString('hex')}`;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}

async function readJson<T>(p: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fsp.readFile(p, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function readLabels(p: string): Promise<LabelsFile | undefined> {
  return readJson<LabelsFile>(p);
}

async function writeLabels(p: string, l: LabelsFile): Promise<void> {
  await atomicWrite(p, JSON.stringify(l));
}

async function atomicWrite(p: string, body: string): Promise<void> {
  const tmp = `${p}.tmp-${randomBytes(4).toString('hex')}`;
  await fsp.writeFile(tmp, body);
  crashPoint('content.meta-temp');
  await fsp.rename(tmp, p);
}
