/**
 * @module engine/gc
 * The garbage collector: the one place that deletes blobs and snapshots.
 * containerd's reachability model (docs/garbage-collection.md), on berth's
 * in-memory records.
 *
 * Mark: every *root source* adds what it holds —
 *   images      each record's config blob, its layer blobs (compressed and
 *               uncompressed) and its layers' snapshots by chain ID;
 *   containers  each container's image layers and its own snapshots
 *               ('<id>', '<id>-init');
 *   build cache the layers of every cache record (build/cache.ts);
 * and every live *lease* adds what work in progress holds (an import, a
 * load, a commit; later a pull, a build): blobs, snapshot keys, ingest refs.
 * From there, blobs reach blobs through their `berth.gc.ref.content.*`
 * labels and snapshots reach their parents.
 *
 * Sweep: every snapshot not marked is removed, children before parents (the
 * snapshotter refuses to remove a parent), so the removed layers read top
 * first as dockerd lists them; then every blob not marked, then ingests
 * nobody holds that have not been written to for the expiry time. Removal
 * is crash safe below: the snapshotter renames a snapshot into its trash
 * before deleting it (trash is emptied at open) and a blob goes by one
 * unlink; whatever a crash leaves unreferenced is found by the collection
 * the daemon runs at start.
 *
 * Leases live in memory: work in progress dies with the daemon, and so do
 * its leases. A collection runs under `lock`, which the work that adds
 * references to snapshots or blobs (image records, containers) also holds
 * while it adds them; a lease keeps what it holds across that lock.
 * `collectSnapshots` is the cheap path for `docker rm`: it checks only the
 * candidates named, against the in-memory roots, without the lock.
 */
import type { Digest } from '../common/reference/digest.js';
import type { ContentStore } from './content/content.js';
import { LABEL_GC_REF_CONTENT } from './content/content.js';
import type { Snapshotter, SnapshotInfo } from './snapshot/snapshotter.js';
import { Mutex } from '../util/mutex.js';
import type { Finding } from './check/finding.js';

/** What a root source or a lease holds. */
export interface References {
  content: Set<Digest>;
  snapshots: Set<string>;
  ingests: Set<string>;
}

/** Adds what one kind of root holds (called at every mark; keep it cheap: in-memory records). */
export type RootSource = (refs: References) => void | Promise<void>;

export interface Lease {
  readonly id: string;
  addContent(digest: Digest): void;
  addSnapshot(key: string): void;
  addIngest(ref: string): void;
  /** What the lease holds (a copy). */
  held(): References;
  /** Lets go; the next collection may take what nothing else holds. Idempotent. */
  release(): void;
}

export interface CollectResult {
  /** Snapshots removed, children before parents. */
  snapshots: string[];
  /** Blobs removed. */
  content: Digest[];
  /** Bytes of blobs freed. */
  contentBytes: number;
  /** Ingests dropped (expired). */
  ingests: string[];
}

export interface GcOptions {
  /** Ingests not written to for this long, and held by no lease, are dropped (default 24 h). */
  ingestExpiryMs?: number;
}

function emptyRefs(): References {
  return { content: new Set(), snapshots: new Set(), ingests: new Set() };
}

export class GarbageCollector {
  /** Serialises collections with work that adds references. Not re-entrant. */
  readonly lock = new Mutex();
  /** Bytes of blobs every collection so far has freed: prunes measure what they free by its growth. */
  freedContentBytes = 0;
  private readonly roots = new Map<string, RootSource>();
  private readonly leases = new Map<string, References>();
  private nextLease = 1;
  private readonly ingestExpiryMs: number;

  constructor(
    private readonly content: ContentStore,
    private readonly snapshots: Snapshotter,
    opts: GcOptions = {},
  ) {
    this.ingestExpiryMs = opts.ingestExpiryMs ?? 24 * 3600 * 1000;
    // The builder's cache replaces this source with its records (engine.ts).
    this.addRoots('build-cache', () => undefined);
  }

  /** Registers (or replaces) a named root source. */
  addRoots(name: string, source: RootSource): void {
    this.roots.set(name, source);
  }

  /** A lease for work in progress; release it once its results are recorded (or on failure). */
  lease(what = 'work'): Lease {
    const id = `${what}-${this.nextLease++}`;
    const refs = emptyRefs();
    this.leases.set(id, refs);
    const leases = this.leases;
    return {
      id,
      addContent: (d) => void refs.content.add(d),
      addSnapshot: (k) => void refs.snapshots.add(k),
      addIngest: (r) => void refs.ingests.add(r),
      held: () => ({ content: new Set(refs.content), snapshots: new Set(refs.snapshots), ingests: new Set(refs.ingests) }),
      release: () => void leases.delete(id),
    };
  }

  /** Number of live leases (for tests and `info`). */
  get leaseCount(): number {
    return this.leases.size;
  }

  /** What every root source (but `except`) and every lease holds, before following references. */
  private async roots_(except?: string): Promise<References> {
    const refs = emptyRefs();
    for (const [name, source] of this.roots) if (name !== except) await source(refs);
    this.addLeased(refs);
    return refs;
  }

  private addLeased(refs: References): void {
    for (const l of this.leases.values()) {
      for (const d of l.content) refs.content.add(d);
      for (const k of l.snapshots) refs.snapshots.add(k);
      for (const r of l.ingests) refs.ingests.add(r);
    }
  }

  private leased(kind: keyof References, v: string): boolean {
    for (const l of this.leases.values()) if ((l[kind] as Set<string>).has(v)) return true;
    return false;
  }

  /**
   * A full collection. The caller holds `lock` (use `run` otherwise).
   */
  async collect(): Promise<CollectResult> {
    const refs = await this.roots_();
    const result: CollectResult = { snapshots: [], content: [], contentBytes: 0, ingests: [] };

    // Snapshots: mark through parents, sweep children first.
    const { all, live } = await this.markSnapshots(refs.snapshots);
    const doomed = [...all.values()].filter((s) => !live.has(s.name));
    result.snapshots = await this.removeSnapshots(doomed, all);

    // Blobs: mark through gc.ref labels, sweep.
    const infos = new Map<Digest, Record<string, string>>();
    await this.content.walk((i) => {
      infos.set(i.digest, i.labels);
    });
    const marked = await markContent(refs.content, async (d) => infos.get(d) ?? {});
    for (const d of infos.keys()) {
      // A lease taken since the mark still counts.
      if (marked.has(d) || this.leased('content', d)) continue;
      const bytes = await this.content.delete(d);
      result.contentBytes += bytes;
      this.freedContentBytes += bytes;
      result.content.push(d);
    }

    // Ingests: only stale ones nobody holds; fresh ones are writes in progress.
    const now = Date.now();
    for (const st of await this.content.ingests()) {
      if (refs.ingests.has(st.ref) || this.leased('ingests', st.ref)) continue;
      if (now - Date.parse(st.updatedAt) < this.ingestExpiryMs) continue;
      try {
        await this.content.abortIngest(st.ref);
        result.ingests.push(st.ref);
      } catch {
        // A writer holds it now: in progress after all.
      }
    }
    return result;
  }

  /**
   * The check's reachability part: what a collection would take, as findings
   * whose fixes take it (snapshots children first, then blobs). The caller
   * holds `lock` while finding and fixing.
   */
  async unreferenced(): Promise<Finding[]> {
    const refs = await this.roots_();
    const { all, live } = await this.markSnapshots(refs.snapshots);
    const depth = (s: SnapshotInfo): number => {
      let d = 0;
      for (let p = s.parent; p; p = all.get(p)?.parent) d++;
      return d;
    };
    const doomed = [...all.values()].filter((s) => !live.has(s.name)).sort((a, b) => depth(b) - depth(a));
    const out: Finding[] = doomed.map((s) => ({
      kind: s.kind === 'committed' ? 'layer-unreferenced' : 'snapshot-orphan',
      subject: s.name,
      message: s.kind === 'committed' ? 'a layer no image, container or build cache entry uses' : `a ${s.kind} snapshot no container or work in progress uses`,
      action: 'remove it',
      fix: async () => {
        if (!this.leased('snapshots', s.name) && (await this.snapshots.stat(s.name))) await this.snapshots.remove(s.name);
      },
    }));
    const infos = new Map<Digest, Record<string, string>>();
    await this.content.walk((i) => {
      infos.set(i.digest, i.labels);
    });
    const marked = await markContent(refs.content, async (d) => infos.get(d) ?? {});
    for (const d of infos.keys()) {
      if (marked.has(d)) continue;
      out.push({
        kind: 'blob-unreferenced',
        subject: d,
        message: 'a blob no image and no work in progress uses',
        action: 'delete it',
        fix: async () => {
          if (!this.leased('content', d)) await this.content.delete(d);
        },
      });
    }
    return out;
  }

  /** What the leases of work in progress hold (the check leaves their mounts alone). */
  inProgress(): References {
    const refs = emptyRefs();
    this.addLeased(refs);
    return refs;
  }

  /** A full collection under the lock. */
  run(): Promise<CollectResult> {
    return this.lock.run(() => this.collect());
  }

  /**
   * The cheap path: removes those of `keys` that no root (but `except`, a
   * source whose holder has just let go of them, e.g. a container being
   * removed) and no lease reaches, children first. Needs no lock: candidates
   * are snapshots only their holder knew.
   */
  async collectSnapshots(keys: string[], o: { except?: string } = {}): Promise<string[]> {
    const refs = await this.roots_(o.except);
    const { all, live } = await this.markSnapshots(refs.snapshots);
    const doomed = keys.map((k) => all.get(k)).filter((s): s is SnapshotInfo => !!s && !live.has(s.name));
    return this.removeSnapshots(doomed, all);
  }

  /**
   * The cheap path for blobs a finished job no longer needs (a load's
   * manifest and compressed layer files): removes those of `digests` that no
   * root, no lease and no label of a reachable blob holds. The caller holds `lock`.
   */
  async collectContent(digests: Iterable<Digest>): Promise<Digest[]> {
    const refs = await this.roots_();
    const marked = await markContent(refs.content, (d) => this.content.info(d).then((i) => i.labels, () => ({})));
    const removed: Digest[] = [];
    for (const d of new Set(digests)) {
      if (marked.has(d) || this.leased('content', d)) continue;
      if ((await this.content.delete(d)) > 0) removed.push(d);
    }
    return removed;
  }

  /** Every snapshot, and those `roots` reach through their parents. */
  private async markSnapshots(roots: Iterable<string>): Promise<{ all: Map<string, SnapshotInfo>; live: Set<string> }> {
    const all = new Map<string, SnapshotInfo>();
    await this.snapshots.walk((s) => {
      all.set(s.name, s);
    });
    const live = new Set<string>();
    for (const k of roots) for (let p: string | undefined = k; p && !live.has(p); p = all.get(p)?.parent) live.add(p);
    return { all, live };
  }

  /** Removes `doomed` deepest first; one that turns out to be a parent or to be leased meanwhile stays. */
  private async removeSnapshots(doomed: SnapshotInfo[], all: Map<string, SnapshotInfo>): Promise<string[]> {
    const depth = (s: SnapshotInfo): number => {
      let d = 0;
      for (let p = s.parent; p; p = all.get(p)?.parent) d++;
      return d;
    };
    const order = doomed.map((s) => ({ s, d: depth(s) })).sort((a, b) => b.d - a.d);
    const removed: string[] = [];
    for (const { s } of order) {
      if (this.leased('snapshots', s.name)) continue;
      try {
        await this.snapshots.remove(s.name);
        removed.push(s.name);
      } catch (err) {
        // Gone already (another collection), or a child appeared: it stays for the next collection.
        if (!(await this.snapshots.stat(s.name))) continue;
        const k = (err as { kind?: string }).kind;
        if (k !== 'conflict' && k !== 'notfound') throw err;
      }
    }
    return removed;
  }
}

/** The blobs `roots` reach, following gc.ref labels from blob to blob. */
async function markContent(roots: Iterable<Digest>, labelsOf: (d: Digest) => Promise<Record<string, string>>): Promise<Set<Digest>> {
  const marked = new Set<Digest>();
  const queue = [...roots];
  while (queue.length) {
    const d = queue.pop()!;
    if (marked.has(d)) continue;
    marked.add(d);
    for (const [k, v] of Object.entries(await labelsOf(d))) if (k.startsWith(LABEL_GC_REF_CONTENT) && /^sha256:[0-9a-f]{64}$/.test(v)) queue.push(v as Digest);
  }
  return marked;
}
