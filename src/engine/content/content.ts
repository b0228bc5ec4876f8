/**
 * @module engine/content/content
 * The content contract: what the image service, archives, and later the
 * puller, the builder and the registry need from a store of immutable blobs
 * addressed by digest, apart from how one implementation (./store.ts) keeps
 * them. containerd's `core/content` is the model; the vocabulary is fixed here.
 *
 * - A *blob* is an immutable byte string named by its digest. It becomes
 *   visible only once written whole and verified: a reader never sees a
 *   partial or wrong blob.
 * - An *ingest* is a write in progress, keyed by the caller's *ref* (e.g.
 *   `import-<random>`, or later `pull-<digest>`). The data written so far
 *   outlives a crash or a daemon restart: opening a writer for the same ref
 *   again resumes at its `offset` (the bytes already there are hashed again),
 *   so an interrupted download continues where it stopped. Ingests nobody
 *   finishes expire.
 * - *Labels* are small string pairs kept with a blob. They record relations
 *   the image records do not: which uncompressed diff ID a compressed layer
 *   blob unpacks to (`LABEL_UNCOMPRESSED`), which blobs a manifest refers to
 *   (`LABEL_GC_REF_CONTENT` prefix, followed by the garbage collector).
 *
 * Writing a blob:
 *   w = await cs.writer('import-<random>', { expected?, total? })
 *   await w.writeStream(body)          (w.offset says where it resumes)
 *   await w.commit(size?, expected?, { labels })   verified, then visible by rename
 * or `w.abort()` to drop what was written, `w.close()` to keep it for later.
 *
 * Deleting is the garbage collector's (../gc.ts): everything else only stops
 * referring to blobs (and holds a lease while it writes, so that a collection
 * does not take a blob before the image that refers to it is recorded).
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../../common/reference/digest.js';

/** A compressed layer blob's uncompressed digest (its diff ID). */
export const LABEL_UNCOMPRESSED = 'berth.layer.uncompressed';
/**
 * Prefix of labels whose value is a digest the garbage collector keeps while
 * this blob is kept (containerd's `containerd.io/gc.ref.content.*`):
 * `berth.gc.ref.content.l.0=<layer digest>`, `…config=<digest>`.
 */
export const LABEL_GC_REF_CONTENT = 'berth.gc.ref.content.';

export interface Info {
  digest: Digest;
  size: number;
  /** RFC 3339: when the blob was committed. */
  createdAt: string;
  labels: Record<string, string>;
}

/** A blob held open for reading: stays readable even if the blob is deleted meanwhile. */
export interface BlobReader {
  readonly digest: Digest;
  readonly size: number;
  /**
   * The bytes from `offset` (default 0) to the end, or only `length` of them
   * (a byte range, as the registry serves to `Range` requests); may be called
   * more than once.
   */
  stream(offset?: number, length?: number): Readable;
  close(): Promise<void>;
}

/** Reading blobs. */
export interface Provider {
  /** Size, labels and creation time; notfound when there is no such blob. */
  info(digest: Digest): Promise<Info>;
  /** Opens a blob for reading (notfound when absent); the caller closes it. */
  reader(digest: Digest): Promise<BlobReader>;
  /** The blob's bytes from `offset` as a stream (notfound when absent). */
  readStream(digest: Digest, offset?: number): Promise<Readable>;
  /** The whole blob in memory: for small documents (configs, manifests). */
  readAll(digest: Digest): Promise<Buffer>;
}

export interface WriterOptions {
  /** The digest the content must have; commit refuses anything else. */
  expected?: Digest;
  /** The size the content will have, when known (progress, and checked at commit). */
  total?: number;
}

export interface CommitOptions {
  labels?: Record<string, string>;
}

/** One ingest, open for writing. Exclusive: a second writer for the same ref is refused while this one is open. */
export interface Writer {
  readonly ref: string;
  /** Bytes written so far (where a resumed write continues). */
  readonly offset: number;
  /** The digest of the bytes written so far. */
  digest(): Digest;
  write(chunk: Buffer): Promise<void>;
  /** Appends a whole stream (resolves when it has ended and is on disk). */
  writeStream(input: Readable): Promise<void>;
  /**
   * Verifies the ingest (size, when given or declared by `total`; digest,
   * when given here or by `expected`) and makes it a blob by rename. If the
   * blob exists already (another writer won) the ingest is dropped and the
   * existing blob stands. On a mismatch nothing becomes visible and the
   * ingest is dropped: those bytes can never be that blob. Labels given are
   * merged into the blob's.
   */
  commit(size?: number, expected?: Digest, opts?: CommitOptions): Promise<Info>;
  /**
   * The bytes written so far, open for reading: a spool read back without
   * ever becoming a blob (save's rebuilt layer tars). The reader outlives
   * `abort`.
   */
  reader(): Promise<BlobReader>;
  /** Drops the ingest. */
  abort(): Promise<void>;
  /** Lets go of the ingest without finishing it: a later writer for the same ref resumes it. */
  close(): Promise<void>;
}

export interface IngestStatus {
  ref: string;
  offset: number;
  total?: number;
  expected?: Digest;
  /** RFC 3339. */
  startedAt: string;
  updatedAt: string;
}

/** Writing blobs. */
export interface Ingester {
  /**
   * A writer for the ingest `ref`, resuming it if data for that ref is
   * already there. Conflict while another writer holds the ref.
   */
  writer(ref: string, opts?: WriterOptions): Promise<Writer>;
}

/** Blob metadata and removal. */
export interface Manager {
  info(digest: Digest): Promise<Info>;
  /** Replaces a blob's labels (an empty value removes a label). */
  update(digest: Digest, labels: Record<string, string>): Promise<Info>;
  /** Every blob. */
  walk(fn: (info: Info) => void | Promise<void>): Promise<void>;
  /** Removes a blob: the garbage collector's alone. Returns the bytes freed (0 when there was none). */
  delete(digest: Digest): Promise<number>;
}

/** Ingests in progress: listing and dropping (the garbage collector expires stale ones). */
export interface IngestManager {
  ingests(): Promise<IngestStatus[]>;
  abortIngest(ref: string): Promise<void>;
}

export interface ContentStore extends Provider, Ingester, Manager, IngestManager {}

/** Writes a whole stream or buffer as a blob under `ref` (containerd's content.WriteBlob). */
export async function writeBlob(
  cs: Ingester,
  ref: string,
  data: Readable | Buffer | string,
  opts: { expected?: Digest; labels?: Record<string, string> } = {},
): Promise<Info> {
  let w = await cs.writer(ref, opts.expected ? { expected: opts.expected } : {});
  if (w.offset > 0) {
    // Whatever an earlier write under this ref left is not this data's prefix for sure: start over.
    await w.abort();
    w = await cs.writer(ref, opts.expected ? { expected: opts.expected } : {});
  }
  try {
    if (typeof data === 'string' || Buffer.isBuffer(data)) await w.write(Buffer.from(data));
    else await w.writeStream(data);
    return await w.commit(undefined, opts.expected, { labels: opts.labels ?? {} });
  } catch (err) {
    await w.abort().catch(() => undefined);
    throw err;
  }
}
