/**
 * @module engine/distribution/metadata
 * What berth knows about where a layer lives in registries: per diff ID, the
 * compressed blob digests it has been pulled as or pushed as, and from which
 * repository (dockerd's v2metadata-by-diffid). A push uses it to skip a
 * layer the registry has (HEAD of a known digest) or to mount it from a
 * sibling repository instead of uploading it, even when berth keeps no
 * compressed blob of that layer (a committed or loaded layer is gzipped on the
 * fly once; its digest is remembered here). Entries are hints: every use is
 * checked against the registry.
 *
 * On disk: `<root>/<diff id hex>.json` = [{digest, sourceRepository, mediaType, size}],
 * newest first, written by temp + rename.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { digestHex, type Digest } from '../../common/reference/digest.js';
import { atomicWriteJson, readJsonIfExists } from '../../util/fs.js';

export interface BlobSource {
  /** The compressed blob's digest. */
  digest: Digest;
  /** Registry and repository it is known in: docker.io/library/busybox. */
  sourceRepository: string;
  mediaType: string;
  size: number;
}

const MAX_ENTRIES = 50;

export class DistributionMetadata {
  private constructor(private readonly root: string) {}

  static async open(root: string): Promise<DistributionMetadata> {
    await fsp.mkdir(root, { recursive: true });
    return new DistributionMetadata(root);
  }

  async get(diffId: Digest): Promise<BlobSource[]> {
    return (await readJsonIfExists<BlobSource[]>(path.join(this.root, `${digestHex(diffId)}.json`))) ?? [];
  }

  /** Records that `diffId` is the blob `src.digest` in `src.sourceRepository` (most recent first). */
  async add(diffId: Digest, src: BlobSource): Promise<void> {
    const cur = await this.get(diffId);
    const next = [src, ...cur.filter((c) => !(c.digest === src.digest && c.sourceRepository === src.sourceRepository))].slice(0, MAX_ENTRIES);
    await atomicWriteJson(path.join(this.root, `${digestHex(diffId)}.json`), next);
  }
}
