/**
 * @module engine/image/archive/save
 * `docker save`: one or more images as a docker-archive tar, laid out the way
 * Docker 25+ writes it (moby image/tarexport/save.go): an OCI image layout
 * (`oci-layout`, `index.json`, `blobs/sha256/<hex>` for configs, manifests and
 * uncompressed layer tars) plus the docker-archive `manifest.json` and the
 * legacy `repositories` file, so that old and new `docker load`, skopeo and
 * containerd all read it.
 *
 * Everything that can fail is done before the first byte goes out: names are
 * resolved, and under the image lock every layer tar is opened (or rebuilt and
 * verified). Open file handles keep the blobs readable even if an image is
 * removed while a slow client downloads, so the lock is not held while
 * streaming, and nothing is buffered beyond the small JSON documents.
 *
 * Where berth differs from Docker on purpose: Docker also writes one legacy
 * v1 "layer config" JSON blob per layer that nothing in the archive refers to
 * (and no loader reads); berth leaves them out. Docker lists an untagged image
 * in index.json only if no image before it was tagged (a slip in its loop);
 * berth lists every untagged image.
 */
import { randomRef } from '../../content/store.js';
import type { BlobReader } from '../../content/content.js';
import { Readable } from 'node:stream';
import type { Header } from 'tar-stream';
import { TarWriter } from '../../layer/tar-writer.js';
import { EngineError, errorKind, invalid, notFound } from '../../errors.js';
import { decompressStream } from '../../layer/index.js';
import { digestHex, sha256Hex, type Digest } from '../../../common/reference/digest.js';
import {
  familiarName,
  familiarString,
  InvalidReferenceError,
  parseNormalizedNamed,
  referenceString,
  repositoryName,
  type Reference,
} from '../../../common/reference/reference.js';
import { chainIds, layerTar, workKey } from '../../snapshot/layers.js';
import type { ImageService } from '../service.js';
import type { ImageStore } from '../store.js';
import type { ImageRecord } from '../types.js';
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  blobPath,
  MANIFEST_FILE,
  MT_OCI_CONFIG,
  MT_OCI_INDEX,
  MT_OCI_LAYER,
  MT_OCI_MANIFEST,
  OCI_INDEX_FILE,
  OCI_LAYOUT_CONTENT,
  OCI_LAYOUT_FILE,
  REPOSITORIES_FILE,
  type Descriptor,
  type LayerSource,
  type ManifestItem,
  type OciIndex,
  type OciManifest,
} from './format.js';

/** An image chosen for the archive and the tags it is saved under (in the order named). */
export interface SelectedImage {
  img: ImageRecord;
  tags: Reference[];
}

/**
 * Resolves `docker save` arguments as dockerd does (tarexport parseNames): a
 * full ID; a name without tag or digest means every tag of that repository
 * (or, if it has none, an ID prefix); a tagged name means that tag. Digest
 * references select the image but add no tag.
 */
export function selectImages(store: ImageStore, names: string[]): Map<Digest, SelectedImage> {
  const out = new Map<Digest, SelectedImage>();
  const add = (img: ImageRecord, tag?: Reference): void => {
    let sel = out.get(img.id);
    if (!sel) out.set(img.id, (sel = { img, tags: [] }));
    if (tag && !sel.tags.some((t) => referenceString(t) === referenceString(tag))) sel.tags.push(tag);
  };
  for (const name of names) {
    const full = /^(?:sha256:)?([0-9a-f]{64})$/.exec(name);
    if (full) {
      const img = store.get(`sha256:${full[1]!}`);
      if (!img) throw notFound(`No such image: ${name}`);
      add(img);
      continue;
    }
    let ref: Reference;
    try {
      ref = parseNormalizedNamed(name);
    } catch (err) {
      if (err instanceof InvalidReferenceError) throw invalid(err.message);
      throw err;
    }
    if (familiarName(ref) === 'sha256' || (ref.tag === undefined && ref.digest === undefined)) {
      // "busybox": every tag of the repository; "sha256:abc" parses as a name too and is an ID prefix.
      const repo = repositoryName(ref);
      let found = false;
      if (familiarName(ref) !== 'sha256') {
        for (const img of store.list()) {
          for (const r of store.refsOf(img.id)) {
            const parsed = parseNormalizedNamed(r);
            if (repositoryName(parsed) !== repo) continue;
            found = true;
            add(img, parsed.digest === undefined ? parsed : undefined);
          }
        }
      }
      if (!found) {
        const img = store.find(name);
        if (!img) throw notFound(`No such image: ${name}`);
        add(img);
      }
      continue;
    }
    // A tag and a digest together: the digest is what identifies the image.
    const lookup: Reference = ref.digest !== undefined ? { domain: ref.domain, path: ref.path, digest: ref.digest } : ref;
    const id = store.refTarget(referenceString(lookup));
    const img = id ? store.get(id) : undefined;
    if (!img) throw notFound('reference does not exist');
    add(img, ref.digest === undefined ? ref : undefined);
  }
  return out;
}

/** A layer tar ready to stream: an open blob, so the data stays readable whatever happens to the store. */
interface OpenLayer {
  reader: BlobReader;
  size: number;
}

/**
 * Opens the uncompressed tar of layer `i` of `img`. In order of preference:
 * the stored uncompressed blob (imports and loads keep it; its digest is the
 * diff ID), a stored compressed blob decompressed, or the unpacked snapshot
 * packed again the way commit packs a layer (whiteouts and opaque
 * directories converted back). The last two are written to the content
 * store's ingest area, must hash to the diff ID and are read from there,
 * never committed; berth keeps no tar-split data,
 * so a rebuilt tar that differs from the original cannot be repaired.
 * Called under the image lock.
 */
async function openLayer(images: ImageService, img: ImageRecord, i: number, chainId: Digest): Promise<OpenLayer> {
  const content = images.store.content;
  const diffId = img.config.rootfs.diff_ids[i]!;
  try {
    const reader = await content.reader(diffId);
    return { reader, size: reader.size };
  } catch (err) {
    if (errorKind(err) !== 'notfound') throw err;
  }
  const blob = img.layers[i]?.blob;
  const stored = blob && blob.digest !== diffId ? await content.info(blob.digest).catch(() => undefined) : undefined;
  const w = await content.writer(randomRef('save'));
  try {
    let how: string;
    if (blob && stored) {
      const { stream } = await decompressStream(await content.readStream(blob.digest));
      await w.writeStream(stream);
      how = `decompressing its blob ${blob.digest}`;
    } else {
      if (!(await images.snapshots.stat(chainId))) {
        throw new EngineError('system', `cannot save image ${img.id}: layer ${diffId} is neither stored nor unpacked`);
      }
      // A view held by a lease while it is read, then left to the collector.
      const key = workKey('save');
      const lease = images.gc.lease('save');
      lease.addSnapshot(key);
      try {
        await w.writeStream(await layerTar(images.snapshots, chainId, key, { idMap: images.idMap }));
      } finally {
        lease.release();
        await images.gc.collectSnapshots([key]);
      }
      how = 'packing its unpacked files again (the original layer tar is not stored)';
    }
    if (w.digest() !== diffId) {
      throw new EngineError('system', `cannot save image ${img.id}: layer ${diffId} could not be reproduced: ${how} gave ${w.digest()}`);
    }
    // The open reader keeps the spooled tar readable; the ingest can go.
    const reader = await w.reader();
    await w.abort();
    return { reader, size: reader.size };
  } catch (err) {
    await w.abort();
    throw err;
  }
}

/** A file of the archive: small documents as bytes, layers as open handles. */
interface ArchiveFile {
  name: string;
  mtime: Date;
  body: Buffer | OpenLayer;
}

const EPOCH = new Date(0);

type TarHeader = Partial<Header> & Pick<Header, 'name'>;

/** Go's json.Encoder output: compact JSON plus a newline. */
function encoderJson(v: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(v)}\n`);
}

/**
 * Builds the archive for `names` and returns it as a stream. Resolution and
 * every layer check happen before this resolves, so errors become HTTP
 * errors; a failure while streaming (a disk error) destroys the stream.
 */
export async function saveImages(images: ImageService, names: string[]): Promise<Readable> {
  const content = images.store.content;
  const layers = new Map<Digest, OpenLayer>();
  const configs = new Map<Digest, Buffer>();
  let selected: Map<Digest, SelectedImage>;
  try {
    selected = await images.lock.run(async () => {
      const sel = selectImages(images.store, names);
      for (const { img } of sel.values()) {
        const diffIds = img.config.rootfs.diff_ids;
        // As dockerd: an image without layers is refused rather than saved half-described.
        if (diffIds.length === 0) throw new EngineError('system', 'empty export - not implemented');
        configs.set(img.id, await content.readAll(img.id));
        const chain = chainIds(diffIds);
        for (let i = 0; i < diffIds.length; i++) {
          if (!layers.has(diffIds[i]!)) layers.set(diffIds[i]!, await openLayer(images, img, i, chain[i]!));
        }
      }
      return sel;
    });
  } catch (err) {
    await Promise.all([...layers.values()].map((l) => l.reader.close()));
    throw err;
  }

  const blobs = new Map<string, ArchiveFile>();
  const manifest: ManifestItem[] = [];
  const index: Descriptor[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  let blobsDirTime = EPOCH;
  for (const { img, tags } of selected.values()) {
    const created = Number.isNaN(Date.parse(img.config.created ?? '')) ? EPOCH : new Date(img.config.created!);
    blobsDirTime = created;
    const raw = configs.get(img.id)!;
    blobs.set(blobPath(img.id), { name: blobPath(img.id), mtime: created, body: raw });
    const diffIds = img.config.rootfs.diff_ids;
    const layerDescs: Descriptor[] = [];
    const sources: Record<string, LayerSource> = {};
    for (const diffId of diffIds) {
      const l = layers.get(diffId)!;
      if (!blobs.has(blobPath(diffId))) blobs.set(blobPath(diffId), { name: blobPath(diffId), mtime: created, body: l });
      layerDescs.push({ mediaType: MT_OCI_LAYER, digest: diffId, size: l.size });
      sources[diffId] = { mediaType: MT_OCI_LAYER, size: l.size, digest: diffId };
    }
    const m: OciManifest = {
      schemaVersion: 2,
      mediaType: MT_OCI_MANIFEST,
      config: { mediaType: MT_OCI_CONFIG, digest: img.id, size: raw.length },
      layers: layerDescs,
    };
    const mBytes = Buffer.from(JSON.stringify(m));
    const mDigest: Digest = `sha256:${sha256Hex(mBytes)}`;
    blobs.set(blobPath(mDigest), { name: blobPath(mDigest), mtime: EPOCH, body: mBytes });
    const mDesc: Descriptor = { mediaType: MT_OCI_MANIFEST, digest: mDigest, size: mBytes.length };
    for (const t of tags) {
      const tag = t.tag!;
      (repositories[familiarName(t)] ??= {})[tag] = digestHex(diffIds[diffIds.length - 1]!);
      index.push({ ...mDesc, annotations: { [ANNOTATION_IMAGE_NAME]: referenceString(t), [ANNOTATION_REF_NAME]: tag } });
    }
    if (tags.length === 0) index.push(mDesc);
    const item: ManifestItem = {
      Config: blobPath(img.id),
      RepoTags: tags.length ? tags.map(familiarString) : null,
      Layers: diffIds.map(blobPath),
      // Only a parent that is in the same archive is worth naming (moby validatedParentLinks).
      ...(img.parent && img.parent !== img.id && selected.has(img.parent) ? { Parent: img.parent } : {}),
      LayerSources: sources,
    };
    manifest.push(item);
  }

  const files: ArchiveFile[] = [...blobs.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const ociIndex: OciIndex = { schemaVersion: 2, mediaType: MT_OCI_INDEX, manifests: index.length ? index : null };
  files.push({ name: OCI_INDEX_FILE, mtime: new Date(), body: Buffer.from(JSON.stringify(ociIndex)) });
  files.push({ name: MANIFEST_FILE, mtime: EPOCH, body: encoderJson(manifest.length ? manifest : null) });
  files.push({ name: OCI_LAYOUT_FILE, mtime: EPOCH, body: Buffer.from(OCI_LAYOUT_CONTENT) });
  if (Object.keys(repositories).length > 0) files.push({ name: REPOSITORIES_FILE, mtime: EPOCH, body: encoderJson(sortKeys(repositories)) });

  return writeArchive(files, blobsDirTime, [...layers.values()]);
}

/** Go marshals maps with sorted keys. */
function sortKeys(repos: Record<string, Record<string, string>>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const name of Object.keys(repos).sort()) {
    out[name] = {};
    for (const tag of Object.keys(repos[name]!).sort()) out[name][tag] = repos[name]![tag]!;
  }
  return out;
}

/** Streams the files as a tar (directories first, as Docker's tar of its temp dir); closes every handle at the end. */
function writeArchive(files: ArchiveFile[], blobsDirTime: Date, handles: OpenLayer[]): Readable {
  const tar = new TarWriter();
  void (async () => {
    try {
      await tar.entry({ name: 'blobs/', type: 'directory', mode: 0o755, mtime: blobsDirTime });
      await tar.entry({ name: 'blobs/sha256/', type: 'directory', mode: 0o755, mtime: EPOCH });
      for (const f of files) {
        const header: TarHeader = { name: f.name, type: 'file', mode: 0o644, mtime: f.mtime };
        if (Buffer.isBuffer(f.body)) {
          await tar.entry({ ...header, size: f.body.length }, f.body);
        } else {
          const src = f.body.reader.stream(0);
          await tar.entry({ ...header, size: f.body.size }, src);
        }
      }
      tar.finalize();
    } catch (err) {
      tar.destroy(err as Error);
    } finally {
      await Promise.all(handles.map((h) => h.reader.close().catch(() => undefined)));
    }
  })();
  return tar.readable();
}
