/**
 * @module registry/gc
 * Online garbage collection of the registry's blobs, safe while the server
 * serves (and whether it runs in the server, on its schedule, or in a
 * separate `berth registry gc` process on the same root):
 *
 *  mark   every manifest stored in any repository (tagged or not: a client
 *         may pull by digest), every manifest pulled within the grace period
 *         (a *pull lease*, below, even if it was deleted since), and what
 *         they refer to, through indexes, down to configs and layers;
 *  keep   blobs committed or linked into a repository within the grace
 *         period: a push uploads blobs before the manifest that refers to
 *         them, and they must outlive that gap;
 *  sweep  the rest, then mark again and delete only what is still
 *         unmarked, so a manifest pushed during the sweep keeps its blobs.
 *
 * A blob being streamed to a client when it is deleted is not cut off: the
 * reader holds its file open. Upload sessions are ingests, not blobs: the
 * collector never sees them (they expire on their own).
 *
 * Pull leases are files `<root>/leases/<manifest hex>` whose mtime is the
 * last pull; the server refreshes the lease of a manifest when it serves it
 * and while that repository's blobs are being fetched, so a pull that is
 * running when its tag and manifest are deleted completes, and the blobs go
 * at the first collection after it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { digestHex, type Digest } from '../common/reference/digest.js';
import type { LocalContentStore } from '../engine/content/store.js';
import { manifestChildren } from './manifests.js';
import type { Repositories } from './repositories.js';

const HEX = /^[0-9a-f]{64}$/;

/** Pull leases on manifests, shared through the filesystem by every process on the root. */
export class Leases {
  private readonly dir: string;
  /** Last refresh per manifest in this process: a lease file is rewritten at most every few seconds. */
  private readonly touched = new Map<string, number>();
  /** Manifests recently served per repository, so blob fetches can refresh their leases. */
  private readonly byRepo = new Map<string, Set<Digest>>();

  constructor(root: string) {
    this.dir = path.join(root, 'leases');
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
  }

  /** A manifest of `repo` was served: lease it (and note it for the repository's blob fetches). */
  async manifestPulled(repo: string, digest: Digest): Promise<void> {
    let set = this.byRepo.get(repo);
    if (!set) this.byRepo.set(repo, (set = new Set()));
    set.add(digest);
    await this.touch(digest);
  }

  /** A blob of `repo` is being fetched: the pull is still going, so its manifests' leases are refreshed. */
  async blobPulled(repo: string): Promise<void> {
    for (const d of this.byRepo.get(repo) ?? []) await this.touch(d);
  }

  private async touch(digest: Digest): Promise<void> {
    const now = Date.now();
    if (now - (this.touched.get(digest) ?? 0) < 2000) return;
    this.touched.set(digest, now);
    const file = path.join(this.dir, digestHex(digest));
    const t = new Date(now);
    await fsp.utimes(file, t, t).catch(() => fsp.writeFile(file, ''));
  }

  /** Manifests pulled within `graceMs`; older lease files are removed (and forgotten in this process). */
  async active(graceMs: number): Promise<Digest[]> {
    const out: Digest[] = [];
    const now = Date.now();
    for (const n of await fsp.readdir(this.dir).catch(() => [] as string[])) {
      if (!HEX.test(n)) continue;
      const st = await fsp.stat(path.join(this.dir, n)).catch(() => undefined);
      if (!st) continue;
      if (now - st.mtimeMs <= graceMs) out.push(`sha256:${n}`);
      else {
        await fsp.rm(path.join(this.dir, n), { force: true });
        const d = `sha256:${n}` as Digest;
        this.touched.delete(d);
        for (const s of this.byRepo.values()) s.delete(d);
      }
    }
    return out;
  }
}

export interface GcOptions {
  graceMs: number;
  dryRun?: boolean;
  /**
   * First remove manifests no tag reaches (through indexes, or as a referrer
   * of one that is reached), as distribution's `--delete-untagged`; those
   * pushed or pulled within the grace period stay (a push sends an index's
   * children before the tagged index).
   */
  deleteUntagged?: boolean;
  log?: (line: string) => void;
}

export interface GcResult {
  /** Manifests removed by deleteUntagged, as `<repo>@<digest>`. */
  untagged: string[];
  marked: number;
  deleted: Digest[];
  bytesFreed: number;
}

interface Marks {
  marked: Set<Digest>;
  /** Latest link time of each blob in any repository. */
  linkedMs: Map<Digest, number>;
  /** Repositories linking each blob (their links go with it). */
  linkedIn: Map<Digest, string[]>;
}

async function mark(cs: LocalContentStore, repos: Repositories, leases: Leases, graceMs: number): Promise<Marks> {
  const marked = new Set<Digest>();
  const linkedMs = new Map<Digest, number>();
  const linkedIn = new Map<Digest, string[]>();
  const visit = async (d: Digest): Promise<void> => {
    if (marked.has(d)) return;
    marked.add(d);
    const body = await cs.readAll(d).catch(() => undefined);
    // Only small JSON documents can be manifests; a layer is never parsed.
    if (!body || body.length > 8 * 1024 * 1024 || body[0] !== 0x7b) return;
    for (const c of manifestChildren(body)) await visit(c);
  };
  for (const name of await repos.list()) {
    for (const d of await repos.manifests(name)) await visit(d);
    for (const { digest, linkedMs: t } of await repos.blobs(name)) {
      linkedMs.set(digest, Math.max(t, linkedMs.get(digest) ?? 0));
      linkedIn.set(digest, [...(linkedIn.get(digest) ?? []), name]);
    }
  }
  for (const d of await leases.active(graceMs)) await visit(d);
  return { marked, linkedMs, linkedIn };
}

/** Manifests of `name` that no tag reaches and that were not pushed or pulled within the grace. */
async function untaggedManifests(cs: LocalContentStore, repos: Repositories, name: string, leased: Set<Digest>, graceMs: number): Promise<Digest[]> {
  const stored = new Set(await repos.manifests(name));
  const reached = new Set<Digest>();
  const visit = async (d: Digest): Promise<void> => {
    if (reached.has(d) || !stored.has(d)) return;
    reached.add(d);
    const body = await cs.readAll(d).catch(() => undefined);
    if (body) for (const c of manifestChildren(body)) await visit(c);
  };
  for (const t of await repos.tags(name)) {
    const d = await repos.resolveTag(name, t);
    if (d) await visit(d);
  }
  // Referrers (signatures, SBOMs) of what is reached stay with it, and what they reach.
  for (let grew = true; grew; ) {
    grew = false;
    for (const d of [...reached]) {
      for (const ref of await repos.referrers(name, d)) {
        if (!reached.has(ref.digest) && stored.has(ref.digest)) {
          await visit(ref.digest);
          grew = true;
        }
      }
    }
  }
  const out: Digest[] = [];
  const now = Date.now();
  for (const d of stored) {
    if (reached.has(d) || leased.has(d)) continue;
    const pushed = await repos.manifestPushedMs(name, d);
    if (pushed !== undefined && now - pushed >= graceMs) out.push(d);
  }
  return out;
}

/** One collection (see the module comment). */
export async function collectGarbage(cs: LocalContentStore, repos: Repositories, leases: Leases, opts: GcOptions): Promise<GcResult> {
  const log = opts.log ?? (() => undefined);
  const now = Date.now();
  const untagged: string[] = [];
  if (opts.deleteUntagged) {
    const leased = new Set(await leases.active(opts.graceMs));
    for (const name of await repos.list()) {
      for (const d of await untaggedManifests(cs, repos, name, leased, opts.graceMs)) {
        log(`${opts.dryRun ? 'would remove' : 'removing'} untagged manifest ${name}@${d}`);
        untagged.push(`${name}@${d}`);
        if (!opts.dryRun) await repos.deleteManifest(name, d);
      }
    }
  }
  const first = await mark(cs, repos, leases, opts.graceMs);
  const candidates: { digest: Digest; size: number }[] = [];
  await cs.walk((info) => {
    if (first.marked.has(info.digest)) return;
    const created = Date.parse(info.createdAt);
    const linked = first.linkedMs.get(info.digest) ?? 0;
    if (now - Math.max(Number.isNaN(created) ? 0 : created, linked) < opts.graceMs) return;
    candidates.push({ digest: info.digest, size: info.size });
  });
  // Marked again: a manifest pushed (or pulled) since the first mark keeps what it names.
  const second = candidates.length ? await mark(cs, repos, leases, opts.graceMs) : first;
  const result: GcResult = { untagged, marked: second.marked.size, deleted: [], bytesFreed: 0 };
  for (const c of candidates) {
    if (second.marked.has(c.digest)) continue;
    if (now - (second.linkedMs.get(c.digest) ?? 0) < opts.graceMs) continue;
    log(`${opts.dryRun ? 'would delete' : 'deleting'} blob ${c.digest} (${c.size} bytes)`);
    result.deleted.push(c.digest);
    if (opts.dryRun) {
      result.bytesFreed += c.size;
      continue;
    }
    result.bytesFreed += await cs.delete(c.digest);
    for (const name of second.linkedIn.get(c.digest) ?? []) await repos.unlinkBlob(name, c.digest);
  }
  return result;
}
