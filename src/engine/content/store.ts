/**
 * Content store: immutable blobs addressed by sha256 digest.
 *
 * Layout under `<root>`: `blobs/sha256/<hex>` for committed blobs and
 * `ingest/<random>` for writes in progress. A blob becomes visible only by a
 * rename after its digest has been computed (and checked against the expected
 * one, when given), so a crash mid-write leaves at most an ingest file, which
 * `open()` sweeps away.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, digestHex, type Digest } from '../../common/reference/digest.js';
import { invalid, notFound } from '../errors.js';

/**
 * Read/write buffer for blob streams: each fs operation is a thread-pool round
 * trip, so 1 MiB chunks instead of 64 KiB cut a 100 MB layer's trips 16-fold.
 */
export const BIG_READ = 1 << 20;

export interface BlobInfo {
  digest: Digest;
  size: number;
}

/**
 * A blob written to the ingest area and digested, but not yet visible: the
 * caller can read it back (e.g. to unpack it) and then commit or abort.
 */
export interface StagedBlob extends BlobInfo {
  readonly path: string;
  commit(expected?: Digest): Promise<BlobInfo>;
  abort(): Promise<void>;
}

export class ContentStore {
  private constructor(private readonly root: string) {}

  static async open(root: string): Promise<ContentStore> {
    await fsp.mkdir(path.join(root, 'blobs', 'sha256'), { recursive: true });
    // Writes left over by a daemon that died mid-ingest are garbage.
    await fsp.rm(path.join(root, 'ingest'), { recursive: true, force: true });
    await fsp.mkdir(path.join(root, 'ingest'), { recursive: true });
    return new ContentStore(root);
  }

  blobPath(digest: Digest): string {
    return path.join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      await fsp.access(this.blobPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  async info(digest: Digest): Promise<BlobInfo> {
    try {
      const st = await fsp.stat(this.blobPath(digest));
      return { digest, size: st.size };
    } catch {
      throw notFound(`content ${digest}: not found`);
    }
  }

  async readBlob(digest: Digest): Promise<Buffer> {
    try {
      return await fsp.readFile(this.blobPath(digest));
    } catch {
      throw notFound(`content ${digest}: not found`);
    }
  }

  readStream(digest: Digest): Readable {
    return createReadStream(this.blobPath(digest), { highWaterMark: BIG_READ });
  }

  /** Stores a stream as a blob, verifying it against `expected` when given. */
  async writeStream(input: Readable, expected?: Digest): Promise<BlobInfo> {
    return (await this.stage(input)).commit(expected);
  }

  async writeBlob(data: Buffer | string, expected?: Digest): Promise<BlobInfo> {
    return this.writeStream(Readable.from([Buffer.from(data)]), expected);
  }

  /** Writes a stream to the ingest area and digests it; nothing is visible until commit. */
  async stage(input: Readable): Promise<StagedBlob> {
    const digester = createDigester();
    const file = path.join(this.root, 'ingest', randomBytes(12).toString('hex'));
    let size = 0;
    const hash = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        digester.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(input, hash, createWriteStream(file, { mode: 0o644, highWaterMark: BIG_READ }));
    } catch (err) {
      await fsp.rm(file, { force: true });
      throw err;
    }
    const digest = digester.digest();
    return {
      path: file,
      digest,
      size,
      commit: (expected) => this.commitIngest(file, digest, expected),
      abort: () => fsp.rm(file, { force: true }),
    };
  }

  async delete(digest: Digest): Promise<void> {
    await fsp.rm(this.blobPath(digest), { force: true });
  }

  async list(): Promise<Digest[]> {
    const names = await fsp.readdir(path.join(this.root, 'blobs', 'sha256'));
    return names.filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => `sha256:${n}` as Digest);
  }

  private async commitIngest(file: string, actual: Digest, expected?: Digest): Promise<BlobInfo> {
    if (expected && expected !== actual) {
      await fsp.rm(file, { force: true });
      throw invalid(`digest mismatch: expected ${expected}, got ${actual}`);
    }
    const st = await fsp.stat(file);
    if (await this.has(actual)) {
      await fsp.rm(file, { force: true });
      return { digest: actual, size: st.size };
    }
    const fh = await fsp.open(file, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(file, this.blobPath(actual));
    return { digest: actual, size: st.size };
  }
}
