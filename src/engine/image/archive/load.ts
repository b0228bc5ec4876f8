/**
 * @module engine/image/archive/load
 * `docker load`: images from a docker-archive (any `docker save` since 1.10:
 * `manifest.json` naming a config and layer tars by path, whether the old
 * `<id>/layer.tar` layout or Docker 25+'s `blobs/sha256/<hex>`) or from an OCI
 * image layout tarball (`index.json` → manifests, possibly through an index
 * from which the host platform is picked; OCI and Docker v2 media types;
 * layers plain, gzip or zstd), or from the pre-1.10 layout (`repositories`
 * and `<id>/json`, planned by legacy.ts).
 *
 * The load is all or nothing, in three steps, under one garbage collection
 * lease (so that no collection takes what the load has written before the
 * images that refer to it are recorded):
 * 1. read: every file of the archive is written to the content store as a
 *    blob (digested on the way; nothing refers to it yet);
 * 2. check: documents are parsed, every blob named by digest is verified
 *    against its name and descriptor, every layer is decompressed and must
 *    hash to the diff ID its config declares;
 * 3. apply, under the image lock: layers are unpacked with the snapshotter,
 *    image records written (with the archive's exact config bytes, so the
 *    image ID is the config digest), tags moved.
 * Any failure undoes step 3 (records, tags), lets go of the lease and runs a
 * collection, which takes the blobs and layers nothing else reaches, so the
 * store ends exactly as it was. On success the archive's other files
 * (manifest.json, compressed layer files) go the same way. Archive problems
 * are `invalid` (400).
 *
 * Why one file of ~600 lines: the three steps share the plan types and the
 * all-or-nothing undo; split apart, each part would need the others'
 * internals to keep that promise.
 */
import { isDeepStrictEqual } from 'node:util';
import { Readable, Transform } from 'node:stream';
import { writeBlob, type BlobReader, type ContentStore } from '../../content/content.js';
import { randomRef } from '../../content/store.js';
import type { Lease } from '../../gc.js';
import { EngineError, invalid } from '../../errors.js';
import { decompressStream, InvalidLayerError, LayerEscapeError } from '../../layer/index.js';
import { TarReader } from '../../layer/tar-reader.js';
import { InvalidDigestError, parseDigest, type Digest } from '../../../common/reference/digest.js';
import {
  familiarString,
  InvalidReferenceError,
  parseNormalizedNamed,
  referenceString,
  type Reference,
} from '../../../common/reference/reference.js';
import { humanSize } from '../../../common/units.js';
import { unpackLayer } from '../../snapshot/layers.js';
import type { ImageService } from '../service.js';
import { MEDIA_TYPE_LAYER_TAR, type HistoryEntry, type ImageConfigBlob, type ImageLayer } from '../types.js';
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  blobPath,
  CONFIG_MEDIA_TYPES,
  hostPlatform,
  INDEX_MEDIA_TYPES,
  LAYER_MEDIA_TYPES,
  MANIFEST_FILE,
  MANIFEST_MEDIA_TYPES,
  OCI_INDEX_FILE,
  type Descriptor,
  type ManifestItem,
  type OciIndex,
  type OciManifest,
  type Platform,
} from './format.js';
import { isLegacyArchive, planFromLegacy } from './legacy.js';

/** A progress message for `quiet=0`, as Docker's JSON progress output writes it. */
export interface LoadProgress {
  status: 'Loading layer';
  progressDetail: { current: number; total: number };
  progress: string;
  id: string;
}

export interface LoadOptions {
  /** Called while layers are unpacked; Docker sends these only when not quiet. */
  onProgress?: (p: LoadProgress) => void;
  /** Platform to pick from an index (default: the host's, linux/amd64 here). */
  platform?: Platform;
}

export interface LoadResult {
  /** The lines Docker prints ("Loaded image: busybox:latest"), without newlines. */
  messages: string[];
  /** IDs of the images in the archive, in archive order. */
  images: Digest[];
}

/** Largest JSON document read from an archive; real ones are a few KiB. */
const MAX_JSON = 32 * 1024 * 1024;
/** Hops allowed while following symlinks inside the archive (Linux's MAXSYMLINKS is 40). */
const MAX_LINK_HOPS = 40;

/** A file of the archive, written to the content store. */
interface StagedBlob {
  digest: Digest;
  size: number;
}

/**
 * The archive as blobs. Paths are normalised (no "./", no trailing
 * "/"). Symlinks and hardlinks are kept as links and resolved on lookup,
 * inside the archive only, as Docker's safePath does (pre-25 archives link
 * repeated layers: `<id>/layer.tar -> ../<other>/layer.tar`).
 */
class StagedArchive {
  readonly files = new Map<string, StagedBlob>();
  readonly symlinks = new Map<string, string>();
  readonly hardlinks = new Map<string, string>();
  readonly dirs = new Set<string>();

  constructor(
    readonly content: ContentStore,
    /** Holds every blob the load writes. */
    readonly lease: Lease,
  ) {}

  /** Writes one file of the archive as a blob, held by the lease. */
  async stage(body: Readable): Promise<StagedBlob> {
    const info = await writeBlob(this.content, randomRef('load'), body);
    this.lease.addContent(info.digest);
    return { digest: info.digest, size: info.size };
  }

  /** Every blob the load wrote (candidates for collection once it is done). */
  written(): Digest[] {
    return [...this.lease.held().content];
  }

  /** The staged file at `p` (following links), or undefined. */
  lookup(p: string): StagedBlob | undefined {
    let parts = splitPath(p);
    for (let hops = 0; hops <= MAX_LINK_HOPS; hops++) {
      let restarted = false;
      for (let i = 0; i < parts.length; i++) {
        const prefix = parts.slice(0, i + 1).join('/');
        const sym = this.symlinks.get(prefix);
        const hard = i === parts.length - 1 ? this.hardlinks.get(prefix) : undefined;
        if (sym === undefined && hard === undefined) continue;
        const rest = parts.slice(i + 1);
        // Symlink targets are relative to their directory ("/" means the archive root); hardlink targets to the root.
        const base = sym !== undefined && !sym.startsWith('/') ? parts.slice(0, i) : [];
        parts = splitPath([...base, sym ?? hard!, ...rest].join('/'));
        restarted = true;
        break;
      }
      if (!restarted) return this.files.get(parts.join('/'));
    }
    throw invalid(`invalid image archive: too many levels of symbolic links resolving ${p}`);
  }

  has(p: string): boolean {
    return this.lookup(p) !== undefined;
  }

  /** The staged file `p`; a blob path must also hash to the digest it is named after. */
  file(p: string, what: string): StagedBlob {
    const staged = this.lookup(p);
    if (!staged) throw invalid(`invalid image archive: ${what} ${p} is missing`);
    const named = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(normalize(p));
    if (named && staged.digest !== `sha256:${named[1]!}`) {
      throw invalid(`invalid image archive: digest mismatch for ${p}: its content is ${staged.digest}`);
    }
    return staged;
  }

  /** The blob a descriptor names, checked against the descriptor's digest and size. */
  blob(desc: Descriptor, what: string): StagedBlob {
    let digest: Digest;
    try {
      digest = parseDigest(String(desc?.digest));
    } catch (err) {
      if (err instanceof InvalidDigestError) throw invalid(`invalid image archive: ${what} has digest "${String(desc?.digest)}": ${err.message}`);
      throw err;
    }
    const staged = this.file(blobPath(digest), what);
    if (typeof desc.size === 'number' && desc.size !== staged.size) {
      throw invalid(`invalid image archive: size mismatch for ${what} ${digest}: descriptor says ${desc.size} bytes, the archive has ${staged.size}`);
    }
    return staged;
  }

  async json<T>(staged: StagedBlob, p: string, what: string): Promise<T> {
    if (staged.size > MAX_JSON) throw invalid(`invalid image archive: ${what} ${p} is too large (${staged.size} bytes)`);
    const raw = await this.content.readAll(staged.digest);
    try {
      return JSON.parse(raw.toString('utf8')) as T;
    } catch (err) {
      throw invalid(`invalid image archive: ${what} ${p} is not valid JSON: ${(err as Error).message}`);
    }
  }

  readAll(staged: StagedBlob): Promise<Buffer> {
    return this.content.readAll(staged.digest);
  }

  /** The uncompressed tar of a layer file: the file itself when plain, else a second blob decompressed from it. */
  async uncompressed(file: StagedBlob): Promise<StagedBlob> {
    try {
      const d = await decompressStream(await this.content.readStream(file.digest));
      if (d.compression === 'none') {
        d.stream.destroy();
        return file;
      }
      return await this.stage(d.stream);
    } catch (err) {
      throw archiveError(err);
    }
  }
}

function splitPath(p: string): string[] {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    // Like a chroot, ".." at the top stays at the top: nothing can name a file outside the archive.
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

function normalize(p: string): string {
  return splitPath(p).join('/');
}

/** Errors from reading the archive are the archive's fault, except for the local disk's. */
function archiveError(err: unknown): unknown {
  if (err instanceof EngineError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.syscall && /^E[A-Z]+$/.test(e.code ?? '')) return err;
  const msg = err instanceof InvalidLayerError ? err.message.replace(/layer tar/g, 'archive') : (e?.message ?? String(err));
  return invalid(`invalid image archive: ${msg}`, err);
}

/** Step 1: stages every regular file of the (possibly compressed) tar. */
async function readArchive(content: ContentStore, lease: Lease, input: Readable): Promise<StagedArchive> {
  const archive = new StagedArchive(content, lease);
  let reader: TarReader | undefined;
  try {
    const { stream } = await decompressStream(input);
    reader = new TarReader(stream);
    for (;;) {
      const e = await reader.next();
      if (!e) break;
      const name = normalize(e.name);
      if (name === '') continue;
      // A later entry of the same name replaces an earlier one, whatever the types (as extracting would).
      archive.files.delete(name);
      archive.symlinks.delete(name);
      archive.hardlinks.delete(name);
      if (e.type === 'file') {
        const r = reader;
        const body = Readable.from(
          (async function* () {
            for (let b = await r.read(); b !== null; b = await r.read()) yield b;
          })(),
          { objectMode: false },
        );
        archive.files.set(name, await archive.stage(body));
      } else if (e.type === 'symlink') {
        archive.symlinks.set(name, e.linkname);
      } else if (e.type === 'hardlink') {
        archive.hardlinks.set(name, normalize(e.linkname));
      } else if (e.type === 'dir') {
        archive.dirs.add(name);
      }
      // Other entry types (devices, fifos) mean nothing in an image archive.
    }
    // Let the decompressor finish, so a corrupt or cut compressed stream is reported.
    await reader.drain();
    return archive;
  } catch (err) {
    reader?.destroy();
    input.destroy();
    throw archiveError(err);
  }
}

/** An image as the archive describes it, checked and ready to apply. */
interface PlannedImage {
  id: Digest;
  rawConfig: Buffer;
  config: ImageConfigBlob;
  /** Per layer: where the archive has it (possibly compressed). */
  layerFiles: StagedBlob[];
  /** Tags to apply (full references with a tag). */
  tags: Reference[];
  /** Parent named by manifest.json, kept only if valid (see applyPlan). */
  parent?: Digest;
}

function parseConfig(raw: Buffer, where: string): ImageConfigBlob {
  let config: ImageConfigBlob;
  try {
    config = JSON.parse(raw.toString('utf8')) as ImageConfigBlob;
  } catch (err) {
    throw invalid(`invalid image archive: image config ${where} is not valid JSON: ${(err as Error).message}`);
  }
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw invalid(`invalid image archive: image config ${where} is not an object`);
  const rootfs = config.rootfs as { type?: unknown; diff_ids?: unknown } | undefined;
  if (!rootfs || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
    throw invalid(`invalid image archive: image config ${where} has no rootfs of type "layers"`);
  }
  for (const d of rootfs.diff_ids) {
    try {
      parseDigest(String(d));
    } catch {
      throw invalid(`invalid image archive: image config ${where} has an invalid diff ID "${String(d)}"`);
    }
  }
  const os = config.os || 'linux';
  if (os !== 'linux') throw invalid(`cannot load ${os} image on linux`);
  return config;
}

/** Step 2a for docker-archives: manifest.json. */
async function planFromManifest(archive: StagedArchive): Promise<PlannedImage[]> {
  const items = await archive.json<ManifestItem[] | null>(archive.file(MANIFEST_FILE, 'file'), MANIFEST_FILE, 'file');
  if (items === null) throw invalid('invalid manifest, manifest cannot be null (but can be [])');
  if (!Array.isArray(items)) throw invalid(`invalid image archive: ${MANIFEST_FILE} is not a list`);
  const plans: PlannedImage[] = [];
  for (const item of items) {
    if (!item || typeof item.Config !== 'string' || (item.Layers != null && !Array.isArray(item.Layers))) {
      throw invalid(`invalid image archive: ${MANIFEST_FILE} has an entry without Config or Layers`);
    }
    const configFile = archive.file(item.Config, 'image config');
    // A pre-25 archive names the config "<id>.json": the name is a digest too.
    const legacyName = /^([0-9a-f]{64})\.json$/.exec(normalize(item.Config));
    if (legacyName && configFile.digest !== `sha256:${legacyName[1]!}`) {
      throw invalid(`invalid image archive: digest mismatch for ${item.Config}: its content is ${configFile.digest}`);
    }
    const rawConfig = await archive.content.readAll(configFile.digest);
    const config = parseConfig(rawConfig, item.Config);
    const layers = item.Layers ?? [];
    if (layers.length !== config.rootfs.diff_ids.length) {
      throw invalid(`invalid manifest, layers length mismatch: expected ${layers.length}, got ${config.rootfs.diff_ids.length}`);
    }
    const tags: Reference[] = [];
    for (const t of item.RepoTags ?? []) {
      let ref: Reference;
      try {
        ref = parseNormalizedNamed(String(t));
      } catch (err) {
        if (err instanceof InvalidReferenceError) throw invalid(err.message);
        throw err;
      }
      if (ref.tag === undefined || ref.digest !== undefined) throw invalid(`invalid tag "${String(t)}"`);
      tags.push(ref);
    }
    plans.push({
      id: configFile.digest,
      rawConfig,
      config,
      layerFiles: layers.map((l) => archive.file(String(l), 'layer')),
      tags,
      ...(typeof item.Parent === 'string' && /^sha256:[0-9a-f]{64}$/.test(item.Parent) ? { parent: item.Parent } : {}),
    });
  }
  return plans;
}

function platformMatches(p: Platform | undefined, want: Platform): boolean {
  if (!p) return false;
  if (p.os !== want.os || p.architecture !== want.architecture) return false;
  // arm64 images may or may not say v8; other variants must match when both sides name one.
  if (want.variant && p.variant && p.variant !== want.variant) return false;
  return true;
}

/** The name an index.json entry gives its image, if any (containerd's rules, simplified). */
function ociName(desc: Descriptor): Reference | undefined {
  const a = desc.annotations ?? {};
  let name = a[ANNOTATION_IMAGE_NAME];
  // OCI's ref.name is usually just a tag ("latest"), which names no repository; skopeo and others may put a whole name there.
  if (!name && a[ANNOTATION_REF_NAME]?.includes(':')) name = a[ANNOTATION_REF_NAME];
  if (!name) return undefined;
  let ref: Reference;
  try {
    ref = parseNormalizedNamed(name);
  } catch (err) {
    if (err instanceof InvalidReferenceError) throw invalid(`invalid image name "${name}" in ${OCI_INDEX_FILE}: ${err.message}`);
    throw err;
  }
  if (ref.digest !== undefined) return undefined;
  return ref.tag === undefined ? { ...ref, tag: 'latest' } : ref;
}

/** Step 2a for OCI layouts: index.json, following nested indexes to the platform's manifest. */
async function planFromIndex(archive: StagedArchive, platform: Platform): Promise<PlannedImage[]> {
  const index = await archive.json<OciIndex>(archive.file(OCI_INDEX_FILE, 'file'), OCI_INDEX_FILE, 'file');
  if (!index || typeof index !== 'object' || (index.manifests != null && !Array.isArray(index.manifests))) {
    throw invalid(`invalid image archive: ${OCI_INDEX_FILE} is not an image index`);
  }
  const byManifest = new Map<Digest, PlannedImage>();
  const order: PlannedImage[] = [];
  let skipped = 0;

  const visit = async (desc: Descriptor, depth: number, name: Reference | undefined, fromIndex: boolean): Promise<void> => {
    if (depth > 4) throw invalid('invalid image archive: indexes nested too deeply');
    const staged = archive.blob(desc, 'manifest');
    const doc = await archive.json<(OciManifest | OciIndex) & { mediaType?: string }>(staged, blobPath(desc.digest), 'manifest');
    const mediaType = desc.mediaType || doc?.mediaType || ('manifests' in (doc ?? {}) ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json');
    if (INDEX_MEDIA_TYPES.has(mediaType)) {
      const children = (doc as OciIndex).manifests ?? [];
      const pick = children.find((c) => MANIFEST_MEDIA_TYPES.has(c.mediaType) && platformMatches(c.platform, platform));
      if (!pick) throw invalid(`no image for ${platform.os}/${platform.architecture} in index ${desc.digest}`);
      await visit(pick, depth + 1, name, true);
      return;
    }
    if (!MANIFEST_MEDIA_TYPES.has(mediaType)) throw invalid(`invalid image archive: unsupported manifest media type "${mediaType}"`);
    // An entry of the top index that declares another platform is left out (multi-platform layouts list each).
    if (!fromIndex && desc.platform && !platformMatches(desc.platform, platform)) {
      skipped++;
      return;
    }
    const existing = byManifest.get(staged.digest);
    if (existing) {
      if (name && !existing.tags.some((t) => referenceString(t) === referenceString(name))) existing.tags.push(name);
      return;
    }
    const m = doc as OciManifest;
    if (!m || typeof m.config !== 'object' || !Array.isArray(m.layers)) throw invalid(`invalid image archive: manifest ${desc.digest} has no config or layers`);
    if (!CONFIG_MEDIA_TYPES.has(m.config.mediaType)) throw invalid(`invalid image archive: unsupported config media type "${m.config.mediaType}"`);
    for (const l of m.layers) {
      if (!LAYER_MEDIA_TYPES.has(l?.mediaType)) throw invalid(`invalid image archive: unsupported layer media type "${String(l?.mediaType)}"`);
    }
    const configFile = archive.blob(m.config, 'image config');
    const rawConfig = await archive.content.readAll(configFile.digest);
    const config = parseConfig(rawConfig, blobPath(configFile.digest));
    if (m.layers.length !== config.rootfs.diff_ids.length) {
      throw invalid(`invalid manifest, layers length mismatch: expected ${m.layers.length}, got ${config.rootfs.diff_ids.length}`);
    }
    const plan: PlannedImage = {
      id: configFile.digest,
      rawConfig,
      config,
      layerFiles: m.layers.map((l) => archive.blob(l, 'layer')),
      tags: name ? [name] : [],
    };
    byManifest.set(staged.digest, plan);
    order.push(plan);
  };

  for (const desc of index.manifests ?? []) await visit(desc, 0, ociName(desc), false);
  if (order.length === 0 && skipped > 0) throw invalid(`no image for ${platform.os}/${platform.architecture} in the archive`);
  return order;
}

/**
 * Step 2b: the uncompressed tar of every layer, checked against its diff ID.
 * A plain tar is used as written; a compressed one is decompressed into a
 * second blob. Returns the uncompressed blob per layer file.
 */
async function verifyLayers(archive: StagedArchive, plans: PlannedImage[], uncompressed = new Map<StagedBlob, StagedBlob>()): Promise<Map<StagedBlob, StagedBlob>> {
  for (const plan of plans) {
    for (let i = 0; i < plan.layerFiles.length; i++) {
      const file = plan.layerFiles[i]!;
      const diffId = plan.config.rootfs.diff_ids[i]!;
      let u = uncompressed.get(file);
      if (!u) {
        u = await archive.uncompressed(file);
        uncompressed.set(file, u);
      }
      if (u.digest !== diffId) throw invalid(`invalid diffID for layer ${i}: expected "${diffId}", got "${u.digest}"`);
    }
  }
  return uncompressed;
}

/** Docker's checkValidParent: the child's history is the parent's plus one entry. */
function validParent(child: ImageConfigBlob, parent: ImageConfigBlob): boolean {
  const hc = child.history ?? [];
  const hp = parent.history ?? [];
  if (hc.length === 0 && hp.length === 0) return true;
  if (hc.length - hp.length !== 1) return false;
  const norm = (h: HistoryEntry): HistoryEntry => ({ ...h, created: h.created ? String(Date.parse(h.created)) : undefined });
  return hp.every((h, i) => isDeepStrictEqual(norm(h), norm(hc[i]!)));
}

/** The progress bar text of Docker's JSONProgress.String() (width 200, no time estimate: the daemon sends no start time). */
export function progressText(current: number, total: number): string {
  if (total <= 0) return humanSize(current).padStart(8);
  const pct = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  const bar = `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

/** Counts bytes read by the unpacker and reports them like Docker's progress reader (every 512 KiB, at most 10 per second, and at the end). */
function withProgress(input: Readable, total: number, id: string, onProgress: (p: LoadProgress) => void): Readable {
  let current = 0;
  let lastBytes = 0;
  let lastTime = 0;
  const emit = (): void => {
    lastBytes = current;
    lastTime = Date.now();
    onProgress({ status: 'Loading layer', progressDetail: { current, total }, progress: progressText(current, total), id });
  };
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      current += chunk.length;
      if (current === total || (current - lastBytes > 512 * 1024 && Date.now() - lastTime >= 100)) emit();
      cb(null, chunk);
    },
    flush(cb) {
      if (lastBytes !== current) emit();
      cb();
    },
  });
  input.on('error', (err) => counter.destroy(err));
  return input.pipe(counter);
}

/** Step 3, under the image lock. Returns Docker's messages. */
async function applyPlan(images: ImageService, archive: StagedArchive, plans: PlannedImage[], uncompressed: Map<StagedBlob, StagedBlob>, opts: LoadOptions & { legacy?: boolean }): Promise<string[]> {
  const store = images.store;
  const content = store.content;
  const createdImages: Digest[] = [];
  const tagUndo: { ref: string; previous: Digest | undefined }[] = [];
  try {
    for (const plan of plans) {
      let parent: Digest | null = null;
      for (let i = 0; i < plan.layerFiles.length; i++) {
        const u = uncompressed.get(plan.layerFiles[i]!)!;
        const diffId = plan.config.rootfs.diff_ids[i]!;
        const reader: BlobReader = await content.reader(u.digest);
        const open = (): Readable => {
          const raw = reader.stream();
          return opts.onProgress ? withProgress(raw, u.size, diffId.slice(7, 19), opts.onProgress) : raw;
        };
        try {
          parent = (await unpackLayer(images.snapshots, parent, diffId, open, { idMap: images.idMap })).chainId;
          archive.lease.addSnapshot(parent);
        } catch (err) {
          if (err instanceof InvalidLayerError || err instanceof LayerEscapeError) {
            throw invalid(`invalid image archive: layer ${diffId}: ${err.message}`, err);
          }
          throw err;
        } finally {
          await reader.close();
        }
      }
    }
    // The uncompressed tar of each layer is the layer's blob (so save and push can use it as is).
    for (const plan of plans) {
      if (store.get(plan.id)) continue;
      const layers: ImageLayer[] = plan.layerFiles.map((f, i) => {
        const u = uncompressed.get(f)!;
        return { diffId: plan.config.rootfs.diff_ids[i]!, blob: { digest: u.digest, mediaType: MEDIA_TYPE_LAYER_TAR, size: u.size } };
      });
      const loaded = new Set(plans.map((p) => p.id));
      const parentPlan = plan.parent && plan.parent !== plan.id && loaded.has(plan.parent) ? plans.find((p) => p.id === plan.parent) : undefined;
      const rec = await store.put(plan.config, { layers, ...(parentPlan && validParent(plan.config, parentPlan.config) ? { parent: parentPlan.id } : {}) }, plan.rawConfig);
      if (rec.id !== plan.id) throw new EngineError('system', `image ID ${rec.id} differs from the config digest ${plan.id}`);
      createdImages.push(plan.id);
    }
    // Tags last, with Docker's messages (moby tarexport Load): "Loaded image ID" lines only when the last image had no tag.
    const messages: string[] = [];
    const idLines: string[] = [];
    let refCount = 0;
    for (const plan of plans) {
      idLines.push(`Loaded image ID: ${plan.id}`);
      refCount = 0;
      for (const tag of plan.tags) {
        const ref = referenceString(tag);
        const previous = store.refTarget(ref);
        tagUndo.push({ ref, previous });
        await store.tag(ref, plan.id);
        if (previous && previous !== plan.id) {
          messages.push(`The image ${familiarString(tag)} already exists, renaming the old one with ID ${previous} to empty string`);
        }
        messages.push(`Loaded image: ${familiarString(tag)}`);
        refCount++;
      }
    }
    // The legacy loader (moby's legacyLoad) reports tags only.
    if (refCount === 0 && !opts.legacy) messages.push(...idLines);
    return messages;
  } catch (err) {
    await rollback(images, { createdImages, tagUndo }).catch(() => undefined);
    throw err;
  }
}

/** Puts the records back as they were before applyPlan started (the collection that follows takes the rest). */
async function rollback(images: ImageService, done: { createdImages: Digest[]; tagUndo: { ref: string; previous: Digest | undefined }[] }): Promise<void> {
  const store = images.store;
  for (const { ref, previous } of done.tagUndo.reverse()) {
    if (previous && store.get(previous)) await store.tag(ref, previous);
    else await store.untag(ref);
  }
  for (const id of done.createdImages) await store.delete(id);
}

/**
 * Loads every image of an archive read from `input` (plain or compressed
 * tar). All or nothing: on failure the store is as before and the error is
 * `invalid` for anything wrong with the archive.
 */
export async function loadArchive(images: ImageService, input: Readable, opts: LoadOptions = {}): Promise<LoadResult> {
  const lease = images.gc.lease('load');
  try {
    const archive = await readArchive(images.store.content, lease, input);
    let plans: PlannedImage[];
    let known: Map<StagedBlob, StagedBlob> | undefined;
    const legacy = !archive.has(MANIFEST_FILE) && isLegacyArchive(archive);
    if (archive.has(MANIFEST_FILE)) plans = await planFromManifest(archive);
    else if (legacy) ({ plans, uncompressed: known } = await planFromLegacy(archive));
    else if (archive.has(OCI_INDEX_FILE)) plans = await planFromIndex(archive, opts.platform ?? hostPlatform());
    else {
      throw invalid(
        archive.files.size === 0 && archive.dirs.size === 0
          ? 'invalid image archive: the archive is empty'
          : `invalid image archive: neither ${MANIFEST_FILE} (docker save) nor ${OCI_INDEX_FILE} (OCI image layout) found`,
      );
    }
    const uncompressed = await verifyLayers(archive, plans, known);
    const messages = await images.lock.run(async () => {
      try {
        return await applyPlan(images, archive, plans, uncompressed, { ...opts, legacy });
      } catch (err) {
        // Whatever the load unpacked and nothing else reaches goes now.
        lease.release();
        await images.gc.collect();
        throw err;
      }
    });
    return { messages, images: plans.map((p) => p.id) };
  } finally {
    // What the load wrote and no image refers to (manifest.json, compressed layer files) goes.
    const written = lease.held().content;
    lease.release();
    if (written.size > 0) await images.lock.run(() => images.gc.collectContent(written));
  }
}
