/**
 * @module engine/distribution/pull
 * Pulling one image manifest's content into the stores, the way dockerd's
 * pull_v2 + xfer download manager go about it:
 * - the config first (small; an image already recorded under its digest
 *   makes the pull a no-op: only the manifest and nothing else travelled);
 * - layers whose chain is unpacked already are `Already exists`;
 * - the rest download in parallel (`max-concurrent-downloads`), each into
 *   the content store under the ref `pull-<digest>`: verified against its
 *   digest at commit (nothing partial or wrong becomes a blob), resumed with
 *   a Range request after a dropped connection or an earlier interrupted pull,
 *   retried a few times (`Retrying in N seconds`);
 * - each layer is unpacked while it downloads, into a snapshot of its own
 *   with no parent yet (a layer's files are its own diff), hashed on the way;
 *   once its blob is verified and the layer below is in place, the snapshot
 *   is committed onto it as the next chain. The unpacked tar must hash to
 *   the config's diff ID. A download that was resumed, or an unpack that
 *   failed along the way, falls back to unpacking the stored blob in order;
 * - the image record and its tags are written last. One GC lease holds the
 *   blobs and layers meanwhile, so a collection never takes half a pull.
 */
import { PassThrough, Transform, type Readable } from 'node:stream';
import type { Digest } from '../../common/reference/digest.js';
import type { Descriptor } from '../../common/oci.js';
import { LABEL_UNCOMPRESSED, type ContentStore, type Writer } from '../content/content.js';
import type { Lease } from '../gc.js';
import { decompressStream } from '../layer/index.js';
import { chainIds, layerInfo, placeDetached, unpackDetached, unpackLayer, workKey } from '../snapshot/layers.js';
import type { ImageService } from '../image/service.js';
import type { ImageConfigBlob, ImageLayer, ImageRecord } from '../image/types.js';
import { EngineError, invalid } from '../errors.js';
import { message, ProgressCounter, shortId, update, type ProgressSink } from './progress.js';
import type { DistributionMetadata } from './metadata.js';
import type { ResolvedImage } from './manifest.js';
import { RegistryError, TransportError, type RepositoryClient } from './registry.js';
import { readBody } from './transport.js';

export interface PullContext {
  images: ImageService;
  content: ContentStore;
  metadata: DistributionMetadata;
  maxConcurrentDownloads: number;
  maxDownloadAttempts: number;
  /** Seconds before retry n (1-based): dockerd's 5·n. */
  retryDelaySeconds: (attempt: number) => number;
  /** The length of one counted-down second, in ms (1000; tests shorten it as moby's do). */
  retryTickMs: number;
}

/** A failed blob download, with what dockerd would say. */
export class BlobDownloadError extends Error {}

/** Runs `fn` over `items` with at most `limit` at a time; resolves to per-item promises started in order. */
function limiter(limit: number): <T>(fn: () => Promise<T>) => { started: Promise<void>; done: Promise<T> } {
  let active = 0;
  const queue: (() => void)[] = [];
  return <T>(fn: () => Promise<T>) => {
    let markStarted!: () => void;
    const started = new Promise<void>((r) => (markStarted = r));
    const done = new Promise<T>((resolve, reject) => {
      const run = (): void => {
        active++;
        markStarted();
        fn()
          .then(resolve, reject)
          .finally(() => {
            active--;
            queue.shift()?.();
          });
      };
      if (active < limit) run();
      else queue.push(run);
    });
    return { started, done };
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fetches and stores the image config (verified); returns its bytes. */
export async function fetchConfig(ctx: PullContext, repo: RepositoryClient, desc: Descriptor, lease: Lease): Promise<Buffer> {
  lease.addContent(desc.digest);
  try {
    return await ctx.content.readAll(desc.digest);
  } catch {
    // not here yet
  }
  const { res } = await repo.getBlob(desc.digest);
  const body = await readBody(res, 32 << 20);
  const { sha256Digest } = await import('./manifest.js');
  if (sha256Digest(body) !== desc.digest) throw invalid(`image config verification failed for digest ${desc.digest}`);
  const w = await ctx.content.writer(`pull-${desc.digest}`, { expected: desc.digest });
  try {
    if (w.offset > 0) {
      await w.abort();
      return fetchConfigAgain(ctx, desc, body);
    }
    await w.write(body);
    await w.commit(body.length, desc.digest);
  } catch (err) {
    await w.abort().catch(() => undefined);
    throw err;
  }
  return body;
}

async function fetchConfigAgain(ctx: PullContext, desc: Descriptor, body: Buffer): Promise<Buffer> {
  const w = await ctx.content.writer(`pull-${desc.digest}`, { expected: desc.digest });
  await w.write(body);
  await w.commit(body.length, desc.digest);
  return body;
}

export function parseImageConfig(raw: Buffer, digest: string): ImageConfigBlob {
  let c: ImageConfigBlob;
  try {
    c = JSON.parse(raw.toString('utf8')) as ImageConfigBlob;
  } catch (err) {
    throw invalid(`image config ${digest}: ${(err as Error).message}`);
  }
  if (!c || typeof c !== 'object' || !c.rootfs || !Array.isArray(c.rootfs.diff_ids)) throw invalid(`image config ${digest}: no rootfs diff_ids`);
  for (const d of c.rootfs.diff_ids) if (!/^sha256:[0-9a-f]{64}$/.test(d)) throw invalid(`image config ${digest}: invalid diff ID ${String(d)}`);
  return c;
}

/** A layer unpacked while it downloaded: active snapshot `key` (no parent yet) holding the tar that hashes to `diffId`. */
export interface StagedLayer {
  key: string;
  diffId: Digest;
}

/**
 * Unpacks what arrives on `input` (the blob's bytes, compressed) into a new
 * parentless snapshot, leased. Never rejects: a failed unpack removes its
 * snapshot, destroys `input` (so the download stops feeding it) and gives
 * undefined, and the layer is unpacked from its blob afterwards.
 */
async function stageUnpack(ctx: PullContext, input: PassThrough, lease: Lease): Promise<StagedLayer | undefined> {
  const key = workKey('extract');
  lease.addSnapshot(key);
  try {
    const { stream } = await decompressStream(input);
    const diffId = await unpackDetached(ctx.images.snapshots, key, stream, { idMap: ctx.images.idMap });
    return { key, diffId };
  } catch {
    input.destroy();
    await ctx.images.snapshots.remove(key).catch(() => undefined);
    return undefined;
  }
}

/**
 * Downloads one layer blob into the content store, resuming the ingest
 * `pull-<digest>` with a Range request, retrying after transport failures.
 * A download that starts from the first byte is unpacked on the way
 * (stageUnpack); a resumed one is not, and its layer is unpacked from the
 * stored blob.
 */
async function downloadBlob(ctx: PullContext, repo: RepositoryClient, desc: Descriptor, id: string, sink: ProgressSink, lease: Lease): Promise<StagedLayer | undefined> {
  lease.addContent(desc.digest);
  try {
    await ctx.content.info(desc.digest);
    sink(update(id, 'Download complete'));
    return undefined;
  } catch {
    // not here: download it
  }
  const ref = `pull-${desc.digest}`;
  lease.addIngest(ref);
  for (let attempt = 1; ; attempt++) {
    let w: Writer | undefined;
    let side: PassThrough | undefined;
    let staging: Promise<StagedLayer | undefined> | undefined;
    try {
      w = await ctx.content.writer(ref, { expected: desc.digest, total: desc.size });
      if (w.offset > desc.size) {
        await w.abort();
        w = await ctx.content.writer(ref, { expected: desc.digest, total: desc.size });
      }
      if (w.offset < desc.size) {
        const { res, partial } = await repo.getBlob(desc.digest, w.offset);
        if (w.offset > 0 && !partial) {
          // The registry sent the whole blob: start over.
          await w.abort();
          w = await ctx.content.writer(ref, { expected: desc.digest, total: desc.size });
        }
        if (w.offset === 0) {
          side = new PassThrough({ highWaterMark: 1 << 20 });
          staging = stageUnpack(ctx, side, lease);
        }
        const feed = side;
        const counter = new ProgressCounter(sink, id, 'Downloading', desc.size, w.offset);
        const counting = new Transform({
          transform(c: Buffer, _e, cb) {
            counter.add(c.length);
            // The unpack paces the download (its backpressure) until it fails and drops out.
            if (!feed || feed.destroyed || feed.write(c)) return cb(null, c);
            const go = (): void => {
              feed.off('drain', go);
              feed.off('close', go);
              cb(null, c);
            };
            feed.on('drain', go);
            feed.on('close', go);
          },
        });
        res.on('error', (err) => counting.destroy(err));
        // A body cut short ends without an error on some paths: the length check at commit catches those.
        res.on('aborted', () => counting.destroy(new TransportError('connection to the registry was lost')));
        await w.writeStream(res.pipe(counting));
        counter.flush();
        if (w.offset < desc.size) throw new TransportError(`unexpected EOF: ${w.offset} of ${desc.size} bytes`);
      }
      sink(update(id, 'Verifying Checksum'));
      try {
        await w.commit(desc.size, desc.digest);
      } catch (err) {
        throw new BlobDownloadError(`filesystem layer verification failed for digest ${desc.digest}: ${(err as Error).message}`);
      }
      sink(update(id, 'Download complete'));
      // The blob is verified: what the unpack saw was that blob.
      if (side && !side.destroyed) side.end();
      return staging ? await staging : undefined;
    } catch (err) {
      if (side) {
        side.destroy(new TransportError('the download failed'));
        const staged = await staging;
        if (staged) await ctx.images.snapshots.remove(staged.key).catch(() => undefined);
      }
      // Keep what arrived: the next attempt (or pull) resumes after it.
      if (w) await w.close().catch(() => undefined);
      const retriable = err instanceof TransportError || (err instanceof RegistryError && err.status >= 500) || isNetworkError(err);
      // As dockerd's xfer: `attempt` failures so far; give up once they exceed max-download-attempts.
      if (!retriable || attempt > ctx.maxDownloadAttempts) throw err;
      for (let s = ctx.retryDelaySeconds(attempt); s > 0; s--) {
        sink(update(id, `Retrying in ${s} second${s === 1 ? '' : 's'}`));
        await sleep(ctx.retryTickMs);
      }
    }
  }
}

function isNetworkError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|ERR_STREAM_PREMATURE_CLOSE|UND_ERR_SOCKET|ECONNABORTED)$/.test(code);
}

/** Bytes read from a blob, reported as `Extracting` (dockerd counts the compressed bytes). */
function extracting(input: Readable, sink: ProgressSink, id: string, total: number): Readable {
  const counter = new ProgressCounter(sink, id, 'Extracting', total);
  const t = new Transform({
    transform(c: Buffer, _e, cb) {
      counter.add(c.length);
      cb(null, c);
    },
    flush(cb) {
      counter.flush();
      cb();
    },
  });
  input.on('error', (err) => t.destroy(err));
  return input.pipe(t);
}

export interface PulledImage {
  record: ImageRecord;
  /** Whether anything new was stored (Docker's "Downloaded newer image" vs "Image is up to date"). */
  fresh: boolean;
}

/**
 * Pulls the content of a resolved image (layers and config) and records it.
 * `tagRefs` are the full reference strings to point at it. Sends dockerd's
 * layer progress to `sink`.
 */
export async function pullResolved(ctx: PullContext, repo: RepositoryClient, sourceRepository: string, resolved: ResolvedImage, tagRefs: string[], sink: ProgressSink): Promise<PulledImage> {
  const { images } = ctx;
  const lease = images.gc.lease('pull');
  let unpackFailed = false;
  // Layers unpacked while downloading and not yet placed: removed if the pull ends without them.
  const staged = new Set<string>();
  let over = false;
  const unplaced = (s: StagedLayer | undefined): void => {
    if (!s) return;
    if (over) void images.snapshots.remove(s.key).catch(() => undefined);
    else staged.add(s.key);
  };
  try {
    const m = resolved.manifest;
    const rawConfig = await fetchConfig(ctx, repo, m.config, lease);
    const config = parseImageConfig(rawConfig, m.config.digest);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== m.layers.length) throw invalid(`layers from manifest don't match image configuration`);
    const existing = images.store.get(m.config.digest);
    if (existing) {
      await images.lock.run(async () => {
        for (const r of tagRefs) await images.store.tag(r, existing.id);
      });
      return { record: existing, fresh: false };
    }
    const chains = chainIds(diffIds);
    // Layers present as unpacked chains need nothing; the first missing one and all above it are pulled.
    let present = 0;
    while (present < chains.length && (await layerInfo(images.snapshots, chains[present]!))) present++;
    const ids = m.layers.map((l) => shortId(l.digest));
    for (let i = 0; i < present; i++) {
      lease.addSnapshot(chains[i]!);
      sink(update(ids[i]!, 'Already exists'));
    }
    const todo = m.layers.slice(present);
    const seen = new Set<string>();
    for (let i = present; i < m.layers.length; i++) {
      if (seen.has(ids[i]!)) continue;
      seen.add(ids[i]!);
      sink(update(ids[i]!, 'Pulling fs layer'));
    }
    const limit = limiter(ctx.maxConcurrentDownloads);
    const downloads = new Map<Digest, { started: Promise<void>; done: Promise<StagedLayer | undefined> }>();
    for (const l of todo) {
      if (downloads.has(l.digest)) continue;
      const d = limit(() => downloadBlob(ctx, repo, l, shortId(l.digest), sink, lease));
      d.done.then(unplaced, () => undefined);
      downloads.set(l.digest, d);
    }
    // Those the limit holds back say so, as dockerd's transfer manager does.
    await new Promise((r) => setImmediate(r));
    let waiting = 0;
    for (const l of todo) if (waiting++ >= ctx.maxConcurrentDownloads) sink(update(shortId(l.digest), 'Waiting'));
    // Failures of later downloads surface in order; keep none unhandled meanwhile.
    for (const d of downloads.values()) d.done.catch(() => undefined);

    let parent: Digest | null = present > 0 ? chains[present - 1]! : null;
    for (let i = present; i < m.layers.length; i++) {
      const l = m.layers[i]!;
      const id = ids[i]!;
      let stage = await downloads.get(l.digest)!.done;
      const diffId = diffIds[i]!;
      // A blob named twice in one manifest is unpacked once while downloading; its second use unpacks the blob.
      if (stage && !staged.has(stage.key)) stage = undefined;
      if (stage) staged.delete(stage.key);
      if (stage && stage.diffId !== diffId) {
        // The stored blob is unpacked again below and fails there with the mismatch.
        await images.snapshots.remove(stage.key).catch(() => undefined);
        stage = undefined;
      }
      await images.lock.run(async () => {
        if (stage) {
          parent = (await placeDetached(images.snapshots, stage.key, parent, diffId)).chainId;
          lease.addSnapshot(parent);
          const counter = new ProgressCounter(sink, id, 'Extracting', l.size);
          counter.add(l.size);
          counter.flush();
          return;
        }
        const reader = await ctx.content.reader(l.digest);
        try {
          const { stream } = await decompressStream(extracting(reader.stream(), sink, id, l.size));
          let opened = false;
          try {
            parent = (await unpackLayer(images.snapshots, parent, diffId, () => ((opened = true), stream), { idMap: images.idMap, verify: true })).chainId;
          } catch (err) {
            unpackFailed = true;
            throw invalid(`failed to register layer: ${(err as Error).message}`, err);
          } finally {
            if (!opened) stream.destroy();
          }
          lease.addSnapshot(parent);
        } finally {
          await reader.close();
        }
      });
      await ctx.content.update(l.digest, { ...(await ctx.content.info(l.digest)).labels, [LABEL_UNCOMPRESSED]: diffId });
      await ctx.metadata.add(diffId, { digest: l.digest, sourceRepository, mediaType: l.mediaType, size: l.size }).catch(() => undefined);
      sink(update(id, 'Pull complete'));
    }
    const layers: ImageLayer[] = m.layers.map((l, i) => ({ diffId: diffIds[i]!, blob: { digest: l.digest, mediaType: l.mediaType, size: l.size } }));
    // Layers that already existed may have no blob here (pulled elsewhere, loaded, committed): record only blobs present.
    for (let i = 0; i < present; i++) {
      const has = await ctx.content.info(m.layers[i]!.digest).then(
        () => true,
        () => false,
      );
      if (!has) delete layers[i]!.blob;
    }
    const record = await images.lock.run(async () => {
      const rec = await images.store.put(config, { layers }, rawConfig);
      if (rec.id !== m.config.digest) throw new EngineError('system', `image ID ${rec.id} differs from the config digest ${m.config.digest}`);
      for (const r of tagRefs) await images.store.tag(r, rec.id);
      return rec;
    });
    return { record, fresh: true };
  } catch (err) {
    if (unpackFailed) {
      lease.release();
      await images.gc.run().catch(() => undefined);
    }
    throw err;
  } finally {
    over = true;
    for (const key of staged) await images.snapshots.remove(key).catch(() => undefined);
    lease.release();
  }
}

export { message };
