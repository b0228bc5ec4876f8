/**
 * @module engine/build/cache
 * The build cache: one record per step that ran, keyed by what decides the
 * step's result — the state it started from (an image config's digest,
 * which names its layers, env, user, workdir…), the instruction as it
 * runs (expanded, with the build args it sees) and, for COPY and ADD, the
 * checksum of its sources' contents and metadata. A record holds the state
 * the step produced (its image config); its layers are the collector's
 * "build-cache" roots, so they live until `docker builder prune`.
 *
 * Records are files under <data-root>/builder/cache/, each written to a
 * temp file and renamed: a daemon killed at any moment restarts with whole
 * records only, and the cache survives restarts. `RUN --mount=type=cache`
 * directories live beside them (builder/mounts/<hash of id>/) and are
 * records of their own (type exec.cachemount).
 */
import type { BuildCache as ApiBuildCache } from '../../common/api/system.js';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Digest } from '../../common/reference/digest.js';
import { atomicWriteJson, directorySize } from '../../util/fs.js';
import type { ImageConfigBlob } from '../image/types.js';
import { chainIds } from '../snapshot/layers.js';
import type { References } from '../gc.js';
import type { Finding } from '../check/finding.js';

export interface CacheRecord {
  /** The key (hex). */
  id: string;
  /** The state the step started from. */
  parent: string;
  /** What the step did (its history created_by). */
  description: string;
  /** The state the step produced. */
  result: ImageConfigBlob;
  /** Bytes of the layer the step made (0 for none). */
  size: number;
  createdAt: string;
  lastUsedAt: string;
  usageCount: number;
}

export interface CacheMountRecord {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  usageCount: number;
}

/** docker system df's BuildCache entries: the API's type. */
export type BuildCacheUsage = ApiBuildCache;

export function cacheKey(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export class BuildCache {
  private readonly records = new Map<string, CacheRecord>();
  private readonly mountsInUse = new Map<string, number>();

  private constructor(readonly root: string) {}

  /** `repair: false`: unreadable records and temp files are left in place (an offline check that only reports). */
  static async open(root: string, o: { repair?: boolean } = {}): Promise<BuildCache> {
    const c = new BuildCache(root);
    await fsp.mkdir(path.join(root, 'cache'), { recursive: true, mode: 0o700 });
    await fsp.mkdir(path.join(root, 'mounts'), { recursive: true, mode: 0o700 });
    for (const f of await fsp.readdir(path.join(root, 'cache'))) {
      const file = path.join(root, 'cache', f);
      if (!f.endsWith('.json')) {
        // A temp file a crash left behind.
        if (o.repair !== false) await fsp.rm(file, { force: true });
        continue;
      }
      try {
        const rec = JSON.parse(await fsp.readFile(file, 'utf8')) as CacheRecord;
        c.records.set(rec.id, rec);
      } catch {
        // A cache record is only a shortcut: an unreadable one is dropped.
        if (o.repair !== false) await fsp.rm(file, { force: true });
      }
    }
    return c;
  }

  /** What the cache holds: every record's top layer (its parents follow). */
  addRoots(refs: References): void {
    for (const r of this.records.values()) {
      const chain = chainIds(r.result.rootfs.diff_ids);
      const top = chain[chain.length - 1];
      if (top) refs.snapshots.add(top);
    }
  }

  get(id: string): CacheRecord | undefined {
    return this.records.get(id);
  }

  /**
   * The check's build-cache part: records whose resulting layer is gone (a
   * hit would hand a build an image without its files; a repair drops the
   * record, which is only a shortcut) and cache mounts a prune was deleting.
   */
  async problems(hasLayer: (chainId: Digest) => Promise<boolean>): Promise<Finding[]> {
    const out: Finding[] = [];
    for (const r of [...this.records.values()]) {
      const top = chainIds(r.result.rootfs.diff_ids).at(-1);
      if (!top || (await hasLayer(top))) continue;
      out.push({
        kind: 'cache-layer-missing',
        subject: r.id.slice(0, 25),
        message: `a build cache record whose layer ${top} is gone`,
        action: 'drop the record',
        fix: async () => {
          await fsp.rm(path.join(this.root, 'cache', `${r.id}.json`), { force: true });
          this.records.delete(r.id);
        },
      });
    }
    for (const name of await fsp.readdir(path.join(this.root, 'mounts')).catch(() => [] as string[])) {
      if (!name.endsWith('.del')) continue;
      const p = path.join(this.root, 'mounts', name);
      out.push({ kind: 'temp-leftover', subject: `builder/mounts/${name}`, message: 'a cache mount whose deletion was interrupted', action: 'delete it', fix: () => fsp.rm(p, { recursive: true, force: true }) });
    }
    return out;
  }

  /** A hit: its use is counted (written in the background, a lost count is harmless). */
  touch(rec: CacheRecord): void {
    rec.lastUsedAt = new Date().toISOString();
    rec.usageCount++;
    void this.write(rec).catch(() => undefined);
  }

  async put(rec: Omit<CacheRecord, 'createdAt' | 'lastUsedAt' | 'usageCount'>): Promise<void> {
    const now = new Date().toISOString();
    const full: CacheRecord = { ...rec, createdAt: now, lastUsedAt: now, usageCount: 1 };
    await this.write(full);
    this.records.set(full.id, full);
  }

  private write(rec: CacheRecord): Promise<void> {
    return atomicWriteJson(path.join(this.root, 'cache', `${rec.id}.json`), rec, 0o600);
  }

  /** The directory of a `RUN --mount=type=cache` id, made on first use; held until release(). */
  async acquireMount(id: string): Promise<{ dir: string; release: () => void }> {
    const h = createHash('sha256').update(id).digest('hex');
    const base = path.join(this.root, 'mounts', h);
    const dir = path.join(base, 'data');
    const metaFile = path.join(base, 'meta.json');
    await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
    const now = new Date().toISOString();
    const prev = await fsp
      .readFile(metaFile, 'utf8')
      .then((t) => JSON.parse(t) as CacheMountRecord)
      .catch(() => undefined);
    await atomicWriteJson(metaFile, { id, createdAt: prev?.createdAt ?? now, lastUsedAt: now, usageCount: (prev?.usageCount ?? 0) + 1 }, 0o600);
    this.mountsInUse.set(h, (this.mountsInUse.get(h) ?? 0) + 1);
    let released = false;
    return {
      dir,
      release: () => {
        if (released) return;
        released = true;
        const n = (this.mountsInUse.get(h) ?? 1) - 1;
        if (n <= 0) this.mountsInUse.delete(h);
        else this.mountsInUse.set(h, n);
      },
    };
  }

  private async mountRecords(): Promise<(CacheMountRecord & { hash: string; size: number })[]> {
    const out: (CacheMountRecord & { hash: string; size: number })[] = [];
    for (const h of await fsp.readdir(path.join(this.root, 'mounts')).catch(() => [] as string[])) {
      const base = path.join(this.root, 'mounts', h);
      const meta = await fsp
        .readFile(path.join(base, 'meta.json'), 'utf8')
        .then((t) => JSON.parse(t) as CacheMountRecord)
        .catch(() => undefined);
      if (!meta) continue;
      out.push({ ...meta, hash: h, size: await directorySize(path.join(base, 'data')).catch(() => 0) });
    }
    return out;
  }

  /**
   * `system df`'s BuildCache list: step records and cache mounts. A record
   * whose layer an image or container also holds (`heldLayers`) is Shared:
   * its bytes are the image's (LayersSize), as BuildKit marks records it
   * shares with images.
   */
  async usage(heldLayers: ReadonlySet<string> = new Set()): Promise<BuildCacheUsage[]> {
    const out: BuildCacheUsage[] = [];
    const byResult = new Map<string, string>();
    for (const r of this.records.values()) byResult.set(stateIdOf(r.result), r.id);
    for (const r of this.records.values()) {
      const parent = byResult.get(r.parent);
      const top = chainIds(r.result.rootfs.diff_ids).at(-1);
      out.push({
        ID: r.id.slice(0, 25),
        ...(parent ? { Parent: parent.slice(0, 25) } : {}),
        Parents: parent ? [parent.slice(0, 25)] : null,
        Type: 'regular',
        Description: r.description,
        InUse: false,
        Shared: top !== undefined && heldLayers.has(top),
        Size: r.size,
        CreatedAt: r.createdAt,
        LastUsedAt: r.lastUsedAt,
        UsageCount: r.usageCount,
      });
    }
    for (const m of await this.mountRecords()) {
      out.push({
        ID: m.hash.slice(0, 25),
        Parents: null,
        Type: 'exec.cachemount',
        Description: `cached mount ${m.id}`,
        InUse: this.mountsInUse.has(m.hash),
        Shared: false,
        Size: m.size,
        CreatedAt: m.createdAt,
        LastUsedAt: m.lastUsedAt,
        UsageCount: m.usageCount,
      });
    }
    return out;
  }

  /**
   * Drops records (and cache mounts not in use) last used before `until`
   * (all when undefined). Returns the IDs dropped and the cache mounts'
   * bytes; the caller collects the layers no longer held.
   */
  async prune(o: { untilMs?: number } = {}): Promise<{ ids: string[]; mountBytes: number }> {
    const ids: string[] = [];
    for (const r of [...this.records.values()]) {
      if (o.untilMs !== undefined && Date.parse(r.lastUsedAt) >= o.untilMs) continue;
      await fsp.rm(path.join(this.root, 'cache', `${r.id}.json`), { force: true });
      this.records.delete(r.id);
      ids.push(r.id.slice(0, 25));
    }
    let mountBytes = 0;
    for (const m of await this.mountRecords()) {
      if (this.mountsInUse.has(m.hash)) continue;
      if (o.untilMs !== undefined && Date.parse(m.lastUsedAt) >= o.untilMs) continue;
      // Renamed away first: a half-deleted cache mount is never found by its id again.
      const base = path.join(this.root, 'mounts', m.hash);
      const trash = `${base}.del`;
      await fsp.rename(base, trash);
      await fsp.rm(trash, { recursive: true, force: true });
      mountBytes += m.size;
      ids.push(m.hash.slice(0, 25));
    }
    return { ids, mountBytes };
  }
}

/** A state's ID: the digest its image config would have as an image (the store writes JSON.stringify of it). */
export function stateIdOf(config: ImageConfigBlob): Digest {
  return `sha256:${createHash('sha256').update(JSON.stringify(config)).digest('hex')}`;
}
