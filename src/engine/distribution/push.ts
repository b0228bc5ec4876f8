/**
 * @module engine/distribution/push
 * Pushing one tagged image, the way dockerd's push_v2 does: every layer is
 * `Preparing`, then at most `max-concurrent-uploads` at a time it is
 * - skipped when the registry has its blob (HEAD: `Layer already exists`),
 * - mounted from another repository of the same registry that is known to
 *   hold it (`Mounted from library/busybox`), or
 * - uploaded (`Pushing` with progress, then `Pushed`): a stored compressed
 *   blob as it is; a layer berth holds only uncompressed (loaded, committed)
 *   is gzipped on the fly while it is hashed and streamed (PATCH, then PUT
 *   with the digest learnt at the end), and the digest is remembered
 *   (metadata by diff ID) so the next push of it is a HEAD.
 * Then the config and the manifest (Docker schema 2, or OCI when the layers
 * are OCI's), `<tag>: digest: … size: …` and the aux message the CLI reads.
 */
import { createHash } from 'node:crypto';
import { createGzip, constants as zlibConstants } from 'node:zlib';
import { Transform, type Readable } from 'node:stream';
import type { Digest } from '../../common/reference/digest.js';
import { referenceString, repositoryName, type Reference } from '../../common/reference/reference.js';
import {
  MT_DOCKER_CONFIG,
  MT_DOCKER_LAYER_GZIP,
  MT_DOCKER_MANIFEST,
  MT_OCI_CONFIG,
  MT_OCI_LAYER_GZIP,
  MT_OCI_MANIFEST,
  type Descriptor,
} from '../../common/oci.js';
import type { ImageRecord } from '../image/types.js';
import { layerTar, workKey } from '../snapshot/layers.js';
import { message, ProgressCounter, shortId, update, type ProgressSink } from './progress.js';
import type { DistributionService } from './service.js';
import type { RepositoryClient } from './registry.js';

const COMPRESSED = /(gzip|zstd)$/;

/** Runs tasks with at most `limit` in flight; `onQueued` for those that must wait. */
async function runLimited<T>(items: T[], limit: number, fn: (x: T) => Promise<void>, onQueued: (x: T) => void): Promise<void> {
  let next = 0;
  items.slice(limit).forEach(onQueued);
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && failed === undefined) {
      const x = items[next++]!;
      try {
        await fn(x);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

function counting(input: Readable, counter: ProgressCounter): Readable {
  const t = new Transform({
    transform(c: Buffer, _e, cb) {
      counter.add(c.length);
      cb(null, c);
    },
  });
  input.on('error', (err) => t.destroy(err));
  return input.pipe(t);
}

export async function pushImage(svc: DistributionService, repo: RepositoryClient, ref: Reference, img: ImageRecord, sink: ProgressSink): Promise<void> {
  const { images, content } = svc.ctx;
  const metadata = svc.metadata;
  const sourceRepository = repositoryName({ domain: ref.domain, path: ref.path });
  const chains = images.chainOf(img);
  const diffIds = img.config.rootfs.diff_ids;
  const descs: Descriptor[] = new Array(diffIds.length);
  const order = diffIds.map((_, i) => i);
  // dockerd reports each distinct layer once.
  const seen = new Map<string, number>();
  for (const i of order) {
    if (seen.has(diffIds[i]!)) continue;
    seen.set(diffIds[i]!, i);
    sink(update(shortId(diffIds[i]!), 'Preparing'));
  }
  const unique = [...seen.values()];
  const lease = images.gc.lease('push');
  const views: string[] = [];
  try {
    await runLimited(
      unique,
      svc.opts.maxConcurrentUploads,
      async (i) => {
        const diffId = diffIds[i]!;
        const id = shortId(diffId);
        const layer = img.layers[i];
        const blob = layer?.blob && COMPRESSED.test(layer.blob.mediaType) ? layer.blob : undefined;
        const hasBlob = blob ? await content.info(blob.digest).then(() => true, () => false) : false;
        // Candidates: the stored compressed blob, then what earlier pulls and pushes learnt.
        const known = (await metadata.get(diffId)).filter((k) => k.sourceRepository.startsWith(`${ref.domain}/`));
        const candidates = [...(hasBlob && blob ? [{ digest: blob.digest, mediaType: blob.mediaType, size: blob.size, sourceRepository: '' }] : []), ...known];
        for (const c of candidates) {
          if (await repo.hasBlob(c.digest)) {
            descs[i] = { mediaType: c.mediaType, digest: c.digest, size: c.size };
            sink(update(id, 'Layer already exists'));
            return;
          }
        }
        for (const c of known) {
          if (c.sourceRepository === sourceRepository) continue;
          const from = c.sourceRepository.slice(ref.domain.length + 1);
          const r = await repo.mountBlob(c.digest, from).catch(() => undefined);
          if (r?.mounted) {
            descs[i] = { mediaType: c.mediaType, digest: c.digest, size: c.size };
            await metadata.add(diffId, { digest: c.digest, sourceRepository, mediaType: c.mediaType, size: c.size });
            sink(update(id, `Mounted from ${from}`));
            return;
          }
        }
        const location = await repo.startUpload();
        if (hasBlob && blob) {
          // A compressed blob berth keeps: sent as it is.
          const counter = new ProgressCounter(sink, id, 'Pushing', blob.size);
          await repo.uploadStream(location, counting(await content.readStream(blob.digest), counter), () => blob.digest);
          counter.flush();
          descs[i] = { mediaType: blob.mediaType, digest: blob.digest, size: blob.size };
        } else {
          // Only the uncompressed layer is here: gzip it on the way, hashing what goes out.
          let source: Readable;
          let total: number;
          if (layer?.blob && (await content.info(layer.blob.digest).then(() => true, () => false))) {
            source = await content.readStream(layer.blob.digest);
            total = layer.blob.size;
          } else {
            const key = workKey('push');
            lease.addSnapshot(key);
            views.push(key);
            source = await layerTar(images.snapshots, chains[i]!, key, { idMap: images.idMap });
            total = 0;
          }
          const counter = new ProgressCounter(sink, id, 'Pushing', total);
          const h = createHash('sha256');
          let size = 0;
          const gz = createGzip({ level: zlibConstants.Z_BEST_SPEED });
          const hashing = new Transform({
            transform(c: Buffer, _e, cb) {
              h.update(c);
              size += c.length;
              cb(null, c);
            },
          });
          const counted = counting(source, counter);
          counted.on('error', (err) => gz.destroy(err));
          gz.on('error', (err) => hashing.destroy(err));
          let digest: Digest | undefined;
          await repo.uploadStream(location, counted.pipe(gz).pipe(hashing), () => (digest = `sha256:${h.digest('hex')}`));
          counter.flush();
          const mediaType = MT_DOCKER_LAYER_GZIP;
          descs[i] = { mediaType, digest: digest!, size };
        }
        await metadata.add(diffId, { digest: descs[i]!.digest, sourceRepository, mediaType: descs[i]!.mediaType, size: descs[i]!.size });
        sink(update(id, 'Pushed'));
      },
      (i) => sink(update(shortId(diffIds[i]!), 'Waiting')),
    );
    for (const i of order) descs[i] ??= descs[seen.get(diffIds[i]!)!]!;

    // The config, exactly the bytes whose digest is the image ID.
    const rawConfig = await content.readAll(img.id);
    const oci = descs.some((d) => d.mediaType.startsWith('application/vnd.oci.'));
    if (!(await repo.hasBlob(img.id))) await repo.uploadBuffer(await repo.startUpload(), img.id, rawConfig);
    const manifest = {
      schemaVersion: 2,
      mediaType: oci ? MT_OCI_MANIFEST : MT_DOCKER_MANIFEST,
      config: { mediaType: oci ? MT_OCI_CONFIG : MT_DOCKER_CONFIG, size: rawConfig.length, digest: img.id },
      layers: descs.map((d) => ({ mediaType: oci && d.mediaType === MT_DOCKER_LAYER_GZIP ? MT_OCI_LAYER_GZIP : d.mediaType, size: d.size, digest: d.digest })),
    };
    // Docker writes schema 2 manifests indented by three spaces (json.MarshalIndent).
    const body = Buffer.from(JSON.stringify(manifest, null, 3));
    const digest = (await repo.putManifest(ref.tag!, manifest.mediaType, body)) ?? `sha256:${createHash('sha256').update(body).digest('hex')}`;
    await images.lock.run(() => images.store.tag(referenceString({ domain: ref.domain, path: ref.path, digest }), img.id));
    sink(message(`${ref.tag}: digest: ${digest} size: ${body.length}`));
    sink({ progressDetail: {}, aux: { Tag: ref.tag, Digest: digest, Size: body.length } });
  } finally {
    lease.release();
    if (views.length) await images.gc.collectSnapshots(views).catch(() => undefined);
  }
}
