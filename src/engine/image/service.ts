/**
 * The image service: import, list, inspect, tag and delete. Deleting an
 * image only drops its record; the garbage collector (../gc.ts) then takes
 * the layers and blobs no image or container reaches, which is what rmi and
 * prune report. Shapes returned here are Docker's API shapes, since
 * both front ends (API and CLI through the API) want exactly those.
 */
import type { Readable } from 'node:stream';
import { decompressStream } from '../layer/index.js';
import { InvalidLayerError, LayerEscapeError } from '../layer/index.js';
import { writeBlob, type ContentStore } from '../content/content.js';
import { randomRef } from '../content/store.js';
import type { GarbageCollector, References } from '../gc.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import { chainIds, layerInfo, unpackLayer, workKey, type LayerInfo } from '../snapshot/layers.js';
import { lowerDirsOf } from '../snapshot/snapshotter.js';
import type { IdentityMapping } from '../idmap.js';
import type { Digest } from '../../common/reference/digest.js';
import { familiarString, parseDockerRef, referenceString } from '../../common/reference/reference.js';
import { conflict, invalid } from '../errors.js';
import { applyChanges } from './changes.js';
import { ImageStore, parseTagReference } from './store.js';
import { MEDIA_TYPE_LAYER_TAR, type HistoryEntry, type ImageConfigBlob, type ImageRecord, type ImageRunConfig } from './types.js';
import { Mutex } from '../../util/mutex.js';
import type { EventLog } from '../events.js';
import { ENGINE_VERSION } from '../../common/version.js';
import { labelsExclude, labelsMatch, untilMs } from '../filters.js';

/** What the image service needs to know about containers (wired by the engine). */
export interface ImageUsers {
  /** Containers created from an image. */
  containersUsing(id: Digest): { id: string; running: boolean }[];
  /** Every snapshot (key or name) some container still needs, with its parents. */
  snapshotsInUse(): Set<string>;
}

export interface ImportOptions {
  repo?: string;
  tag?: string;
  message?: string;
  changes?: string[];
  platform?: string;
}

export interface DeleteResponseItem {
  Untagged?: string;
  Deleted?: string;
}

export class ImageService {
  /** Serialises operations that add or drop references to layers with garbage collection (the collector's lock). */
  readonly lock: Mutex;
  /** Where `docker events` hears of image changes. */
  readonly eventLog?: EventLog;
  /** Who uses images and snapshots (the containers); none when not given. */
  readonly users: ImageUsers;

  constructor(
    readonly store: ImageStore,
    private readonly content: ContentStore,
    readonly snapshots: Snapshotter,
    /** Deletes what nothing reaches; this service's records are its "images" roots. */
    readonly gc: GarbageCollector,
    /** `--userns-remap`: layers are unpacked with host IDs. */
    readonly idMap?: IdentityMapping,
    deps: { events?: EventLog; users?: ImageUsers } = {},
  ) {
    this.eventLog = deps.events;
    this.users = deps.users ?? { containersUsing: () => [], snapshotsInUse: () => new Set() };
    this.lock = gc.lock;
    gc.addRoots('images', (refs) => this.addRoots(refs));
  }

  /**
   * What images hold: each record's config blob, the layer blobs it records
   * (compressed or not: whatever import, load or pull stored; the config
   * blob's gc.ref labels name them too) and its layers' snapshots by chain ID.
   * An uncompressed tar that save rebuilt is not recorded and not kept.
   */
  private addRoots(refs: References): void {
    for (const img of this.store.list()) {
      refs.content.add(img.id);
      for (const l of img.layers) if (l.blob) refs.content.add(l.blob.digest);
      for (const c of this.chainOf(img)) refs.snapshots.add(c);
    }
  }

  resolve(nameOrId: string): ImageRecord {
    return this.store.resolve(nameOrId);
  }

  /** Chain IDs of an image's layers, bottom first. */
  chainOf(img: ImageRecord): Digest[] {
    return chainIds(img.config.rootfs.diff_ids);
  }

  /** `docker import`: one tarball (plain, gzip, xz, zstd) becomes a one-layer image. */
  async importTarball(body: Readable, opts: ImportOptions): Promise<ImageRecord> {
    const ref = opts.repo ? parseTagReference(opts.tag ? `${opts.repo}:${opts.tag}` : opts.repo) : undefined;
    let runConfig: ImageRunConfig = {};
    if (opts.changes?.length) runConfig = applyChanges(runConfig, opts.changes);
    // The layer tar becomes a blob first (verified, visible), held by a lease
    // until the image that refers to it is recorded.
    const lease = this.gc.lease('import');
    try {
      const { stream } = await decompressStream(body);
      const blob = await writeBlob(this.content, randomRef('import'), stream);
      lease.addContent(blob.digest);
      return await this.lock.run(async () => {
        try {
          const reader = await this.content.reader(blob.digest);
          let layer: LayerInfo;
          try {
            layer = await unpackLayer(this.snapshots, null, blob.digest, () => reader.stream(), { idMap: this.idMap });
          } finally {
            await reader.close();
          }
          lease.addSnapshot(layer.chainId);
          const now = new Date().toISOString();
          const comment = opts.message || 'Imported from -';
          const config: ImageConfigBlob = {
            architecture: 'amd64',
            comment,
            config: fullRunConfig(runConfig),
            created: now,
            docker_version: ENGINE_VERSION,
            history: [{ created: now, comment }],
            os: 'linux',
            rootfs: { type: 'layers', diff_ids: [layer.diffId] },
          };
          const img = await this.store.put(config, {
            layers: [{ diffId: layer.diffId, blob: { digest: blob.digest, mediaType: MEDIA_TYPE_LAYER_TAR, size: blob.size } }],
          });
          if (ref) await this.store.tag(referenceString(ref), img.id);
          this.eventLog?.publish('image', 'import', img.id, { name: img.id });
          return img;
        } catch (err) {
          lease.release();
          await this.gc.collect();
          if (err instanceof InvalidLayerError || err instanceof LayerEscapeError) throw invalid(err.message, err);
          throw err;
        }
      });
    } finally {
      lease.release();
    }
  }

  async tag(source: string, repo: string, tag?: string): Promise<void> {
    const img = this.resolve(source);
    const ref = parseTagReference(tag ? `${repo}:${tag}` : repo);
    if (ref.digest) throw invalid('refusing to create a tag with a digest reference');
    await this.lock.run(async () => {
      await this.store.tag(referenceString(ref), img.id);
    });
    this.eventLog?.publish('image', 'tag', img.id, { name: familiarString(ref) });
  }

  /**
   * `docker rmi`: untags a reference, and deletes the image once no reference
   * is left, following dockerd's conflict rules (running containers can never
   * lose their image; stopped ones only with force).
   */
  async remove(nameOrId: string, force: boolean): Promise<DeleteResponseItem[]> {
    return this.lock.run(async () => {
      const img = this.resolve(nameOrId);
      const out: DeleteResponseItem[] = [];
      const refs = this.store.refsOf(img.id);
      const byRef = matchingRef(nameOrId, refs);
      const users = this.users.containersUsing(img.id);
      if (byRef) {
        // Removing one name of an image that has others only untags it; digest references of the
        // same repository (a pull's) do not count as others, as in dockerd (they go with the last tag).
        const others = refs.filter((r) => r !== byRef && !(r.includes('@') && repoOf(r) === repoOf(byRef)));
        if (others.length > 0 || (users.length > 0 && force)) {
          // As dockerd: a repository's last tag takes that repository's digest references with it.
          const sameRepoTagLeft = refs.some((r) => r !== byRef && !r.includes('@') && repoOf(r) === repoOf(byRef));
          const digestRefs = !byRef.includes('@') && !sameRepoTagLeft ? refs.filter((r) => r.includes('@') && repoOf(r) === repoOf(byRef)) : [];
          for (const r of [byRef, ...digestRefs]) {
            await this.store.untag(r);
            out.push({ Untagged: familiarString(parseDockerRef(r)) });
            this.eventLog?.publish('image', 'untag', img.id, { name: familiarString(parseDockerRef(r)) });
          }
          return out;
        }
        if (users.length > 0) {
          throw conflict(
            `conflict: unable to remove repository reference "${nameOrId}" (must force) - container ${users[0]!.id.slice(0, 12)} is using its referenced image ${img.id.slice(7, 19)}`,
          );
        }
      } else {
        const running = users.find((u) => u.running);
        if (running) {
          throw conflict(
            `conflict: unable to delete ${img.id.slice(7, 19)} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)}`,
          );
        }
        if (!force && users.length > 0) {
          throw conflict(
            `conflict: unable to delete ${img.id.slice(7, 19)} (must be forced) - image is being used by stopped container ${users[0]!.id.slice(0, 12)}`,
          );
        }
        if (!force && new Set(refs.map(repoOf)).size > 1) {
          throw conflict(
            `conflict: unable to delete ${img.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`,
          );
        }
      }
      // An image others are built on (a build's intermediate images) stays: by ID that is a hard
      // conflict; by its last name it is only untagged (moby's conflictDependentChild, quiet).
      const hasChildren = this.hasChildren(img.id);
      if (hasChildren && !byRef) throw conflict(`conflict: unable to delete ${img.id.slice(7, 19)} (cannot be forced) - image has dependent child images`);
      for (const r of refs) {
        await this.store.untag(r);
        out.push({ Untagged: familiarString(parseDockerRef(r)) });
        this.eventLog?.publish('image', 'untag', img.id, { name: familiarString(parseDockerRef(r)) });
      }
      if (hasChildren) return out;
      await this.store.delete(img.id);
      out.push({ Deleted: img.id });
      this.eventLog?.publish('image', 'delete', img.id, { name: img.id });
      // Then its parents that nothing else needs: untagged, no other child, no container (moby's prune of parents).
      for (let p = img.parent ? this.store.get(img.parent) : undefined; p; p = p.parent ? this.store.get(p.parent) : undefined) {
        if (this.store.refsOf(p.id).length > 0 || this.hasChildren(p.id) || this.users.containersUsing(p.id).length > 0) break;
        await this.store.delete(p.id);
        out.push({ Deleted: p.id });
        this.eventLog?.publish('image', 'delete', p.id, { name: p.id });
      }
      for (const chain of await this.collectGarbage()) out.push({ Deleted: chain });
      return out;
    });
  }

  /** Whether another image names `id` as its parent (it is then an intermediate image). */
  hasChildren(id: Digest): boolean {
    return this.store.list().some((o) => o.parent === id);
  }

  /**
   * A full collection (the caller holds `lock`); returns the image layers
   * removed, by chain ID, top first as dockerd lists them.
   */
  async collectGarbage(): Promise<Digest[]> {
    const { snapshots } = await this.gc.collect();
    return snapshots.filter((s): s is Digest => /^sha256:[0-9a-f]{64}$/.test(s));
  }

  /** Every committed image layer (snapshots named by chain ID). */
  async committedLayers(): Promise<LayerInfo[]> {
    const names: Digest[] = [];
    await this.snapshots.walk((s) => {
      if (s.kind === 'committed' && /^sha256:[0-9a-f]{64}$/.test(s.name)) names.push(s.name as Digest);
    });
    const out: LayerInfo[] = [];
    for (const n of names) {
      const l = await layerInfo(this.snapshots, n);
      if (l) out.push(l);
    }
    return out;
  }

  /**
   * Makes a new image from `parent` plus one layer (`docker commit`, a build
   * step): `makeLayer` commits it on the parent's top chain ID, under the
   * lock so that no collection takes the new layer before the image records
   * it. On failure nothing stays.
   */
  async createChild(
    parent: ImageRecord | undefined,
    makeLayer: (parentChain: Digest | null) => Promise<LayerInfo>,
    o: { config: ImageRunConfig; history: HistoryEntry; author?: string; comment?: string; container?: string; containerConfig?: ImageRunConfig; ref?: string },
  ): Promise<ImageRecord> {
    const ref = o.ref ? parseTagReference(o.ref) : undefined;
    return this.lock.run(async () => {
      try {
        const parentChain = parent ? this.chainOf(parent) : [];
        const top = parentChain.length ? parentChain[parentChain.length - 1]! : null;
        const layer = await makeLayer(top);
        const config = childImageConfig(parent?.config, layer.diffId, o);
        // The layer tar is not kept: save packs the layer's files again to the same diff ID.
        const img = await this.store.put(config, {
          ...(parent ? { parent: parent.id } : {}),
          layers: [...(parent?.layers ?? []), { diffId: layer.diffId }],
        });
        if (ref) await this.store.tag(referenceString(ref), img.id);
        return img;
      } catch (err) {
        await this.collectGarbage();
        throw err;
      }
    });
  }

  /** GET /images/{name}/history: newest first, "<missing>" for history entries without a local image. */
  async history(nameOrId: string): Promise<object[]> {
    const img = this.resolve(nameOrId);
    const hist = img.config.history ?? [];
    const chain = this.chainOf(img);
    // Pair history entries with layers: every entry not marked empty_layer consumes the next layer.
    let layerIndex = 0;
    const rows: { Created: number; CreatedBy: string; Comment: string; Size: number }[] = [];
    for (const h of hist) {
      let size = 0;
      if (!h.empty_layer) {
        const c = chain[layerIndex++];
        if (c) size = (await layerInfo(this.snapshots, c))?.size ?? 0;
      }
      rows.push({ Created: Math.floor(Date.parse(h.created ?? '') / 1000) || 0, CreatedBy: h.created_by ?? '', Comment: h.comment ?? '', Size: size });
    }
    // The parent images that are still here give their IDs and tags to the matching rows.
    const ids: (string | undefined)[] = new Array(rows.length).fill(undefined);
    let cur: ImageRecord | undefined = img;
    while (cur) {
      const n = cur.config.history?.length ?? 0;
      if (n > 0 && n <= rows.length && !ids[n - 1]) ids[n - 1] = cur.id;
      cur = cur.parent ? this.store.get(cur.parent) : undefined;
    }
    return rows
      .map((r, i) => ({
        Comment: r.Comment,
        Created: r.Created,
        CreatedBy: r.CreatedBy,
        Id: ids[i] ?? '<missing>',
        Size: r.Size,
        Tags: ids[i] ? this.store.refsOf(ids[i] as Digest).filter((x) => !x.includes('@')).map((x) => familiarString(parseDockerRef(x))) : null,
      }))
      .reverse();
  }

  /**
   * `docker image prune`: removes dangling images (no tags), or with
   * `dangling=false` every image no container uses, as dockerd does.
   */
  async prune(filters: Record<string, string[]>): Promise<{ ImagesDeleted: DeleteResponseItem[] | null; SpaceReclaimed: number }> {
    const all = filters.dangling?.[0] === 'false' || filters.dangling?.[0] === '0';
    const until = untilMs(filters);
    const deleted: DeleteResponseItem[] = [];
    const space = await this.measureFreed(async () => {
      // Passes until one removes nothing: a parent image goes once the children that kept it have gone.
      for (let removed = -1; removed !== deleted.length; ) {
        removed = deleted.length;
        for (const img of this.store.list()) {
          if (!this.store.get(img.id)) continue;
          const tags = this.store.refsOf(img.id);
          if (!all && tags.length > 0) continue;
          if (this.users.containersUsing(img.id).length > 0) continue;
          // Parents of other images stay (they are the "intermediate" layers of a build).
          if (this.store.list().some((o) => o.parent === img.id)) continue;
          if (until !== undefined && Date.parse(img.config.created ?? '') >= until) continue;
          if (!labelsMatch(img.config.config?.Labels, filters.label)) continue;
          if (!labelsExclude(img.config.config?.Labels, filters['label!'])) continue;
          deleted.push(...(await this.remove(img.id, true)));
        }
      }
    });
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: space };
  }

  /**
   * `system df`'s LayersSize: every unpacked layer and every blob (configs,
   * layer tars kept for push and save), as dockerd's containerd image store
   * counts snapshots and content (daemon/containerd/service.go ImageDiskUsage).
   */
  async layersSize(): Promise<number> {
    const held = this.heldLayers();
    return (await this.committedLayers()).filter((l) => held.has(l.chainId)).reduce((n, l) => n + l.size, 0) + (await this.contentSize());
  }

  /**
   * The layers images and containers hold (chain IDs). A layer only the
   * build cache holds is the cache's (`system df`'s Build Cache, its record
   * not Shared), so no byte is counted twice.
   */
  heldLayers(): Set<string> {
    const held = new Set<string>(this.users.snapshotsInUse());
    for (const img of this.store.list()) for (const c of this.chainOf(img)) held.add(c);
    return held;
  }

  /** Bytes of every blob in the content store. */
  async contentSize(): Promise<number> {
    let n = 0;
    await this.content.walk((i) => {
      n += i.size;
    });
    return n;
  }

  /**
   * Runs `work` (a prune, a removal) and returns the bytes of image layers
   * and blobs it freed: layers by which were there before and are gone
   * after, blobs by what the collector counted deleting them — so a prune's
   * SpaceReclaimed is what left the disk.
   */
  async measureFreed(work: () => Promise<void>): Promise<number> {
    const before = await this.committedLayers();
    const blobs0 = this.gc.freedContentBytes;
    await work();
    const after = new Set((await this.committedLayers()).map((l) => l.chainId));
    let freed = this.gc.freedContentBytes - blobs0;
    for (const l of before) if (!after.has(l.chainId)) freed += l.size;
    return freed;
  }

  /** Image size as Docker reports it: the sum of its layers' unpacked sizes. */
  async size(img: ImageRecord): Promise<number> {
    let total = 0;
    for (const c of this.chainOf(img)) total += (await layerInfo(this.snapshots, c))?.size ?? 0;
    return total;
  }

  /** GET /images/json */
  async list(opts: { all?: boolean; filters?: Record<string, string[]>; containers?: boolean } = {}): Promise<object[]> {
    const filters = opts.filters ?? {};
    const out: object[] = [];
    const parents = new Set(this.store.list().map((i) => i.parent));
    for (const img of this.store.list()) {
      const refs = this.store.refsOf(img.id);
      const tags = refs.filter((r) => !r.includes('@')).map((r) => familiarString(parseDockerRef(r)));
      // Intermediate images (untagged, with children) only with -a, as dockerd lists them.
      if (refs.length === 0 && !opts.all && parents.has(img.id)) continue;
      if (filters.dangling?.length) {
        const want = filters.dangling[0] === 'true' || filters.dangling[0] === '1';
        if (want !== (tags.length === 0)) continue;
        // Dangling means a leaf: an intermediate image is not (dockerd lists the store's heads).
        if (want && parents.has(img.id)) continue;
      }
      if (filters.reference?.length && !tags.some((t) => filters.reference!.some((p) => matchReference(p, t)))) continue;
      if (!labelsMatch(img.config.config?.Labels, filters.label)) continue;
      const created = Date.parse(img.config.created ?? '');
      if (filters.before?.length && !(created < Date.parse(this.resolve(filters.before[0]!).config.created ?? ''))) continue;
      if (filters.since?.length && !(created > Date.parse(this.resolve(filters.since[0]!).config.created ?? ''))) continue;
      out.push({
        Containers: opts.containers ? this.users.containersUsing(img.id).length : -1,
        Created: Math.floor(Date.parse(img.config.created ?? '') / 1000) || 0,
        Id: img.id,
        Labels: img.config.config?.Labels ?? null,
        ParentId: img.parent ?? '',
        RepoDigests: refs.filter((r) => r.includes('@')).map((r) => familiarString(parseDockerRef(r))),
        RepoTags: tags,
        SharedSize: -1,
        Size: await this.size(img),
      });
    }
    return out.sort((a, b) => (b as { Created: number }).Created - (a as { Created: number }).Created);
  }

  /** The directories of an image's layers, top first, as inspect's GraphDriver shows them. */
  private async layerDirs(img: ImageRecord): Promise<string[]> {
    const chain = this.chainOf(img);
    const top = chain[chain.length - 1];
    if (!top || !(await this.snapshots.stat(top))) return [];
    // A view held by a lease while it is read, then left to the collector.
    const key = workKey('inspect');
    const lease = this.gc.lease('inspect');
    lease.addSnapshot(key);
    try {
      return lowerDirsOf(await this.snapshots.view(key, top));
    } finally {
      lease.release();
      await this.gc.collectSnapshots([key]);
    }
  }

  /** GET /images/{name}/json */
  async inspect(nameOrId: string): Promise<Record<string, unknown>> {
    const img = this.resolve(nameOrId);
    const refs = this.store.refsOf(img.id);
    const lowerDirs = await this.layerDirs(img);
    return {
      Id: img.id,
      RepoTags: refs.filter((r) => !r.includes('@')).map((r) => familiarString(parseDockerRef(r))),
      RepoDigests: refs.filter((r) => r.includes('@')).map((r) => familiarString(parseDockerRef(r))),
      Parent: img.parent ?? '',
      Comment: img.config.comment ?? '',
      Created: img.config.created ?? '',
      DockerVersion: img.config.docker_version ?? '',
      Author: img.config.author ?? '',
      Config: fullRunConfig(img.config.config ?? {}),
      Architecture: img.config.architecture,
      ...(img.config.variant ? { Variant: img.config.variant } : {}),
      Os: img.config.os,
      Size: await this.size(img),
      GraphDriver: {
        Data: lowerDirs.length > 0 ? { MergedDir: '', UpperDir: lowerDirs[0], WorkDir: '', ...(lowerDirs.length > 1 ? { LowerDir: lowerDirs.slice(1).join(':') } : {}) } : {},
        Name: 'overlay2',
      },
      RootFS: { Type: 'layers', Layers: img.config.rootfs.diff_ids },
      Metadata: { LastTagTime: img.lastTagTime ?? '0001-01-01T00:00:00Z' },
    };
  }
}

/** The repository of a full reference string (tag and digest dropped). */
function repoOf(ref: string): string {
  const r = parseDockerRef(ref);
  return `${r.domain}/${r.path}`;
}

/** The full reference string `nameOrId` names among an image's refs, if it is a name. */
function matchingRef(nameOrId: string, refs: string[]): string | undefined {
  if (/^(sha256:)?[0-9a-f]{1,64}$/.test(nameOrId)) {
    // A hex string could still be a repository name ("deadbeef:latest" is tagged); prefer the ID reading like dockerd.
    return undefined;
  }
  try {
    const full = referenceString(parseDockerRef(nameOrId));
    return refs.includes(full) ? full : undefined;
  } catch {
    return undefined;
  }
}

/** Docker's `reference=` filter: a familiar-name pattern with `*` wildcards, optionally with a tag. */
function matchReference(pattern: string, tagged: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRe).join('[^/]*')}$`);
  if (re.test(tagged)) return true;
  const name = tagged.slice(0, tagged.lastIndexOf(':'));
  return re.test(name);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Kept for importers from before the shared filter module. */
export { labelMatches } from '../filters.js';

/**
 * The config of an image made from `base` plus one step (docker commit, a
 * build step): `diffId` is the step's layer, null when it made none (the
 * history entry is then marked empty_layer, as Docker marks it).
 */
export function childImageConfig(
  base: ImageConfigBlob | undefined,
  diffId: Digest | null,
  o: { config: ImageRunConfig; history: HistoryEntry; author?: string; comment?: string; container?: string; containerConfig?: ImageRunConfig },
): ImageConfigBlob {
  return {
    architecture: base?.architecture ?? 'amd64',
    ...(o.author ? { author: o.author } : {}),
    ...(o.comment ? { comment: o.comment } : {}),
    config: fullRunConfig(o.config),
    ...(o.container ? { container: o.container } : {}),
    ...(o.containerConfig ? { container_config: fullRunConfig(o.containerConfig) } : {}),
    created: o.history.created ?? new Date().toISOString(),
    docker_version: ENGINE_VERSION,
    history: [...(base?.history ?? []), diffId ? o.history : { ...o.history, empty_layer: true }],
    os: base?.os ?? 'linux',
    rootfs: { type: 'layers', diff_ids: [...(base?.rootfs.diff_ids ?? []), ...(diffId ? [diffId] : [])] },
  };
}

/** The run config with every field Docker prints, defaults filled in. */
export function fullRunConfig(c: ImageRunConfig): ImageRunConfig {
  return {
    Hostname: c.Hostname ?? '',
    Domainname: c.Domainname ?? '',
    User: c.User ?? '',
    AttachStdin: c.AttachStdin ?? false,
    AttachStdout: c.AttachStdout ?? false,
    AttachStderr: c.AttachStderr ?? false,
    ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
    Tty: c.Tty ?? false,
    OpenStdin: c.OpenStdin ?? false,
    StdinOnce: c.StdinOnce ?? false,
    Env: c.Env ?? null,
    Cmd: c.Cmd ?? null,
    ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
    ...(c.ArgsEscaped ? { ArgsEscaped: c.ArgsEscaped } : {}),
    Image: c.Image ?? '',
    Volumes: c.Volumes ?? null,
    WorkingDir: c.WorkingDir ?? '',
    Entrypoint: c.Entrypoint ?? null,
    OnBuild: c.OnBuild ?? null,
    Labels: c.Labels ?? null,
    ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
    ...(c.Shell ? { Shell: c.Shell } : {}),
  };
}

