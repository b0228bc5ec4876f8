/**
 * @module engine/snapshot/overlay
 * The overlay implementation of the snapshotter contract (./snapshotter.ts),
 * laid out like dockerd's overlay2 driver so that paths in `inspect` look
 * familiar:
 *
 *   layers/<hex>/diff           a committed snapshot's contents (an overlay lowerdir);
 *                               <hex> is the name's digest for chain IDs, else sha256(name)
 *   layers/<hex>/link           its short name in l/
 *   layers/<hex>/snapshot.json  {kind, name, parent, labels, created, size, inodes}
 *   l/<short> -> ../layers/<hex>/diff   short lowerdir paths: mount's option string is one page
 *   rw/<key>/{diff,work,merged} active snapshots and views (upper, overlay work dir, mount target)
 *   rw/<key>/snapshot.json
 * Views are read-only and cheap: they live in memory only.
 *   tmp/                        snapshots being made or deleted
 *
 * Crash safety: a snapshot is made in tmp/ and appears under its final name
 * only by one rename, so a crash leaves nothing half-made under `layers/` or
 * `rw/`; tmp/ is emptied at open. Commit moves the active snapshot's upper
 * directory into the new layer (no copy) before the layer appears by rename.
 * A snapshot dir whose metadata cannot be read is garbage and is removed at
 * open. Records written before snapshot.json existed (`layer.json`) are read.
 *
 * With `--userns-remap`, layers hold host IDs and each snapshot's upper
 * belongs to the remapped root.
 */
import { promises as fsp, renameSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { digestHex, type Digest } from '../../common/reference/digest.js';
import { readJsonIfExists, directorySize, exists } from '../../util/fs.js';
import type { IdentityMapping } from '../idmap.js';
import { conflict, invalid, notFound } from '../errors.js';
import type { CommitOptions, Mount, PrepareOptions, SnapshotInfo, SnapshotKind, Snapshotter, SnapshotUsage } from './snapshotter.js';
import { isMountPoint, unmount } from './mount.js';
import { run } from '../../util/exec.js';
import { fixAll, inProgress, type Finding, type LeftoverScope } from '../check/finding.js';
import { crashPoint } from '../../util/crash.js';

/** What snapshot.json holds. */
interface Record_ {
  kind: SnapshotKind;
  name: string;
  parent?: string;
  labels: Record<string, string>;
  created: string;
  /** Recorded at commit (committed snapshots only). */
  size?: number;
  inodes?: number;
  /**
   * An active snapshot kept by `commit(…, { keep: true })` whose upper moved
   * into committed snapshot `fill`: its contents are being copied back.
   */
  fill?: string;
}

interface Entry extends Record_ {
  /** Directory relative to the root: layers/<hex> or rw/<key>. */
  dir: string;
  /** Short name in l/ (committed only). */
  link?: string;
}

/** Pre-contract layer records. */
interface LegacyLayerRecord {
  chainId: Digest;
  diffId: Digest;
  parent: Digest | null;
  size: number;
}

/** Label a layer snapshot carries: the uncompressed digest of the tar it was made from. */
export const LABEL_DIFF_ID = 'berth.layer.diffid';

/** Room for lowerdir in mount's one-page option string, leaving space for upperdir and workdir. */
const PAGE_BUDGET = 3500;

const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class OverlaySnapshotter implements Snapshotter {
  private readonly entries = new Map<string, Entry>();
  /** Refills in progress: active key → the committed snapshot it copies from, and the copy. */
  private readonly fills = new Map<string, { from: string; done: Promise<void> }>();

  private constructor(
    readonly root: string,
    readonly idMap: IdentityMapping | undefined,
  ) {}

  /** `repair: false`: open without cleaning up (an offline `berth system check` that only reports). */
  static async open(root: string, idMap?: IdentityMapping, o: { repair?: boolean } = {}): Promise<OverlaySnapshotter> {
    const repair = o.repair !== false;
    for (const d of ['layers', 'l', 'rw', 'tmp']) await fsp.mkdir(path.join(root, d), { recursive: true });
    if (idMap) {
      // runc's init runs as the remapped root and must reach each container's
      // merged dir: group search permission for it on the way, as dockerd's
      // overlay2 gives (0710 root:<remapped gid>); nothing more.
      const gid = idMap.rootPair().gid;
      for (const d of [root, path.join(root, 'rw')]) {
        await fsp.chown(d, 0, gid);
        await fsp.chmod(d, 0o710);
      }
    }
    const s = new OverlaySnapshotter(root, idMap);
    await s.load();
    if (repair) {
      await s.recoverRefills();
      // Snapshots being made or deleted when a daemon died, layers that never
      // got their record, short links of layers that never appeared.
      await fixAll(await s.leftovers({}));
    }
    return s;
  }

  private async load(): Promise<void> {
    for (const top of ['layers', 'rw']) {
      for (const name of await fsp.readdir(path.join(this.root, top))) {
        const dir = path.join(top, name);
        const abs = path.join(this.root, dir);
        let rec = await readJsonIfExists<Record_>(path.join(abs, 'snapshot.json')).catch(() => undefined);
        if (!rec && top === 'layers') {
          const old = await readJsonIfExists<LegacyLayerRecord>(path.join(abs, 'layer.json')).catch(() => undefined);
          if (old) rec = { kind: 'committed', name: old.chainId, ...(old.parent ? { parent: old.parent } : {}), labels: { [LABEL_DIFF_ID]: old.diffId }, created: new Date(0).toISOString(), size: old.size };
        }
        // Without a record: see leftovers().
        if (!rec) continue;
        const link = top === 'layers' ? (await fsp.readFile(path.join(abs, 'link'), 'utf8').catch(() => '')).trim() : undefined;
        this.entries.set(rec.name, { ...rec, dir, ...(link ? { link } : {}) });
      }
    }
  }

  /**
   * What lies under the root that no snapshot can use (the check's snapshot
   * part, and what open cleans): entries of tmp/ (offline only: online they
   * are snapshots being made), layer directories without a record (a commit
   * that never finished), committed layers without their files, a parent
   * that is gone, short links to nothing (online, young ones are commits in
   * progress).
   */
  async leftovers(o: LeftoverScope): Promise<Finding[]> {
    const out: Finding[] = [];
    // Online, tmp/ holds only this daemon's work: open emptied it of what a dead one left.
    if (o.liveSince === undefined) {
      for (const name of await fsp.readdir(path.join(this.root, 'tmp'))) {
        const p = path.join(this.root, 'tmp', name);
        out.push({ kind: 'snapshot-tmp', subject: `tmp/${name}`, message: 'a snapshot being made or deleted when the daemon stopped', action: 'delete it', fix: () => fsp.rm(p, { recursive: true, force: true }) });
      }
    }
    const known = new Set([...this.entries.values()].map((e) => e.dir));
    for (const top of ['layers', 'rw']) {
      for (const name of await fsp.readdir(path.join(this.root, top))) {
        const dir = path.join(top, name);
        if (known.has(dir)) continue;
        const abs = path.join(this.root, dir);
        out.push(
          top === 'layers'
            ? { kind: 'snapshot-incomplete', subject: dir, message: 'a layer directory without a readable record (a commit that never finished)', action: 'delete it', fix: () => this.trash(abs, true) }
            : // Older berths made containers' directories without records: only the user knows.
              { kind: 'snapshot-incomplete', subject: dir, message: 'a container layer directory without a readable record' },
        );
      }
    }
    for (const e of [...this.entries.values()]) {
      if (e.kind === 'view') continue;
      if (e.parent && !this.entries.has(e.parent)) out.push({ kind: 'snapshot-incomplete', subject: e.name, message: `its parent ${e.parent} is gone` });
      if (e.kind === 'active' && e.fill && !this.fills.has(e.name)) {
        out.push({ kind: 'snapshot-incomplete', subject: e.name, message: `a commit into ${e.fill} had not finished copying back (berthd finishes it at start)` });
      }
      if (e.kind !== 'committed' || this.fills.has(e.name) || [...this.fills.values()].some((f) => f.from === e.name)) continue;
      if (await exists(path.join(this.root, e.dir, 'diff'))) continue;
      if ([...this.entries.values()].some((a) => a.kind === 'active' && a.fill === e.name)) continue; // its upper is still to move in
      out.push({
        kind: 'snapshot-incomplete',
        subject: e.name,
        message: 'a committed layer without its files',
        action: 'delete it',
        fix: async () => {
          if (this.entries.get(e.name) === e) this.entries.delete(e.name);
          if (e.link) await fsp.rm(path.join(this.root, 'l', e.link), { force: true });
          await this.trash(path.join(this.root, e.dir), true);
        },
      });
    }
    for (const short of await fsp.readdir(path.join(this.root, 'l'))) {
      const p = path.join(this.root, 'l', short);
      if (await fsp.stat(p).catch(() => undefined)) continue;
      if (await inProgress(p, o.liveSince)) continue;
      out.push({ kind: 'link-dangling', subject: `l/${short}`, message: 'a short link to a layer that is not there', action: 'remove the link', fix: () => fsp.rm(p, { force: true }) });
    }
    return out;
  }

  /** The directory under the root of an active snapshot's mount target (the check's mount part asks). */
  activeDirs(): Map<string, string> {
    const m = new Map<string, string>();
    for (const e of this.entries.values()) if (e.kind === 'active') m.set(path.join(this.root, e.dir, 'merged'), e.name);
    return m;
  }

  private get(key: string): Entry {
    const e = this.entries.get(key);
    if (!e) throw notFound(`snapshot ${key} does not exist`);
    return e;
  }

  private infoOf(e: Entry): SnapshotInfo {
    return { kind: e.kind, name: e.name, ...(e.parent ? { parent: e.parent } : {}), labels: { ...e.labels }, created: e.created };
  }

  async stat(key: string): Promise<SnapshotInfo | undefined> {
    const e = this.entries.get(key);
    return e ? this.infoOf(e) : undefined;
  }

  async update(key: string, labels: Record<string, string>): Promise<SnapshotInfo> {
    const e = this.get(key);
    e.labels = { ...labels };
    if (e.kind !== 'view') await this.writeRecord(path.join(this.root, e.dir), e, true);
    return this.infoOf(e);
  }

  async usage(key: string): Promise<SnapshotUsage> {
    await this.fills.get(key)?.done;
    const e = this.get(key);
    if (e.kind === 'committed' && e.size !== undefined) return { size: e.size, inodes: e.inodes ?? 0 };
    if (e.kind === 'view') return { size: 0, inodes: 0 };
    return { size: await directorySize(path.join(this.root, e.dir, 'diff')), inodes: 0 };
  }

  async walk(fn: (info: SnapshotInfo) => void | Promise<void>): Promise<void> {
    for (const e of [...this.entries.values()]) await fn(this.infoOf(e));
  }

  target(key: string): string {
    const e = this.get(key);
    if (e.kind !== 'active') throw invalid(`snapshot ${key} is not active`);
    return path.join(this.root, e.dir, 'merged');
  }

  async mounts(key: string): Promise<Mount[]> {
    await this.fills.get(key)?.done;
    const e = this.get(key);
    if (e.kind === 'committed') throw invalid(`snapshot ${key} is committed: prepare or view it to mount it`);
    const lowers = this.lowerDirs(e.parent);
    if (e.kind === 'view') {
      // A view of one layer is a read-only bind of it; of several, an overlay without upper.
      if (lowers.length === 0) throw invalid(`snapshot ${key}: a view needs a parent`);
      if (lowers.length === 1) return [{ type: 'bind', source: path.join(this.root, lowers[0]!), options: ['ro', 'rbind'] }];
      return [{ type: 'overlay', source: 'overlay', cwd: this.root, options: [`lowerdir=${lowers.join(':')}`] }];
    }
    const dir = e.dir;
    if (lowers.length === 0) return [{ type: 'bind', source: path.join(this.root, dir, 'diff'), options: ['rw', 'rbind'] }];
    return [{ type: 'overlay', source: 'overlay', cwd: this.root, options: [`lowerdir=${lowers.join(':')}`, `upperdir=${dir}/diff`, `workdir=${dir}/work`] }];
  }

  /**
   * Lower directories of `parent` and its ancestors, top first, relative to
   * the root: the layers' own paths while the mount options fit in a page
   * (what inspect shows), else their short links in l/ (what dockerd mounts).
   */
  private lowerDirs(parent: string | undefined): string[] {
    const chain: Entry[] = [];
    for (let p = parent; p; p = this.get(p).parent) chain.push(this.get(p));
    const full = chain.map((e) => path.join(e.dir, 'diff'));
    if (full.join(':').length < PAGE_BUDGET) return full;
    return chain.map((e) => (e.link ? path.join('l', e.link) : path.join(e.dir, 'diff')));
  }

  prepare(key: string, parent?: string, opts: PrepareOptions = {}): Promise<Mount[]> {
    return this.createActive('active', key, parent, opts);
  }

  view(key: string, parent?: string, opts: PrepareOptions = {}): Promise<Mount[]> {
    return this.createActive('view', key, parent, opts);
  }

  private async createActive(kind: 'active' | 'view', key: string, parent: string | undefined, opts: PrepareOptions): Promise<Mount[]> {
    if (!SAFE_KEY.test(key)) throw invalid(`snapshot key ${JSON.stringify(key)}: use letters, digits, '_', '.' and '-'`);
    if (this.entries.has(key)) throw conflict(`snapshot ${key} already exists`);
    if (parent) {
      const p = this.get(parent);
      if (p.kind !== 'committed') throw invalid(`snapshot ${key}: parent ${parent} is not committed`);
    }
    const rec: Record_ = { kind, name: key, ...(parent ? { parent } : {}), labels: { ...(opts.labels ?? {}) }, created: new Date().toISOString() };
    if (kind === 'view') {
      // Views are read-only looks at committed layers: nothing on disk to make,
      // so they live in memory only and a restart forgets them.
      if (!parent) throw invalid(`snapshot ${key}: a view needs a parent`);
      this.entries.set(key, { ...rec, dir: '' });
      return this.mounts(key);
    }
    const tmp = path.join(this.root, 'tmp', randomBytes(8).toString('hex'));
    const made = ['diff', 'work', 'merged'].map((d) => path.join(tmp, d));
    await fsp.mkdir(tmp, { mode: 0o700 });
    await fsp.mkdir(made[0]!, { mode: 0o755 });
    await fsp.mkdir(made[1]!, { mode: 0o700 });
    await fsp.mkdir(made[2]!, { mode: 0o700 });
    try {
      if (this.idMap) {
        // The remapped root owns the snapshot (dockerd: diff, work and merged belong to it).
        const owner = this.idMap.rootPair();
        await fsp.chown(tmp, 0, owner.gid);
        await fsp.chmod(tmp, 0o710);
        for (const p of made) await fsp.chown(p, owner.uid, owner.gid);
      } else {
        await fsp.chmod(tmp, 0o755);
      }
      await this.writeRecord(tmp, rec, false);
      crashPoint('snapshot.prepare');
      await fsp.rename(tmp, path.join(this.root, 'rw', key));
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw err;
    }
    this.entries.set(key, { ...rec, dir: path.join('rw', key) });
    return this.mounts(key);
  }

  async commit(name: string, key: string, opts: CommitOptions = {}): Promise<SnapshotInfo> {
    const e = this.get(key);
    if (e.kind !== 'active') throw invalid(`snapshot ${key} is not active`);
    await this.fills.get(key)?.done;
    const parent = opts.parent ?? e.parent;
    if (opts.parent) {
      // A parentless active snapshot holds a layer's own diff and may go on any committed parent (CommitOptions.parent).
      const ok = e.parent === undefined ? this.entries.get(opts.parent)?.kind === 'committed' : this.isAncestor(opts.parent, e.parent);
      if (!ok) throw invalid(`snapshot ${opts.parent} is not below ${key}`);
    }
    const existing = this.entries.get(name);
    if (existing && existing !== e) {
      if (existing.kind !== 'committed') throw conflict(`snapshot ${name} already exists and is not committed`);
      if (!opts.keep) await this.dropActive(e);
      return this.infoOf(existing);
    }
    const activeDir = path.join(this.root, e.dir);
    const merged = path.join(activeDir, 'merged');
    if (opts.keep && (await isMountPoint(merged))) throw invalid(`snapshot ${key} is mounted: copy it to keep it`);
    // Unmounted before its upper moves (a committed layer is never a live upper).
    await unmount(merged);
    const diff = path.join(activeDir, 'diff');
    const size = opts.size ?? (await directorySize(diff));
    const hex = layerHex(name);
    const short = randomBytes(13).toString('base64url').replace(/[-_]/g, 'x').slice(0, 26).toUpperCase();
    const rec: Record_ = { kind: 'committed', name, ...(parent ? { parent } : {}), labels: { ...e.labels, ...(opts.labels ?? {}) }, created: new Date().toISOString(), size };
    const committed: Entry = { ...rec, dir: path.join('layers', hex), link: short };
    if (opts.keep) {
      // Recorded first: a restart finds the refill to finish (recoverRefills).
      e.fill = name;
      await this.writeRecord(activeDir, e, true);
    }
    const tmp = path.join(this.root, 'tmp', randomBytes(8).toString('hex'));
    await fsp.mkdir(tmp, { mode: 0o700 });
    let appeared = false;
    try {
      await fsp.writeFile(path.join(tmp, 'link'), short);
      await this.writeRecord(tmp, rec, true);
      await fsp.chmod(tmp, 0o755);
      // The link first: dangling until the layer has its diff, swept at open if that never happens.
      await fsp.symlink(path.join('..', 'layers', hex, 'diff'), path.join(this.root, 'l', short));
      crashPoint('snapshot.commit-linked');
      if (opts.keep) {
        // The layer appears without its diff, then the upper moves in: at no
        // moment does the upper sit in tmp/, which a restart empties.
        await fsp.rename(tmp, path.join(this.root, 'layers', hex));
        appeared = true;
        crashPoint('snapshot.commit-keep-appeared');
        await fsp.rename(diff, path.join(this.root, 'layers', hex, 'diff'));
      } else {
        await fsp.rename(diff, path.join(tmp, 'diff'));
        crashPoint('snapshot.commit-moved');
        await fsp.rename(tmp, path.join(this.root, 'layers', hex));
        appeared = true;
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      await fsp.rm(path.join(this.root, 'l', short), { force: true });
      if (!appeared) {
        // Put the upper back if it had moved, so the active snapshot stays whole.
        await fsp.rename(path.join(tmp, 'diff'), diff).catch(() => undefined);
        await fsp.rm(tmp, { recursive: true, force: true });
      }
      if (opts.keep) {
        delete e.fill;
        await this.writeRecord(activeDir, e, true);
      }
      if (!appeared && ['ENOTEMPTY', 'EEXIST'].includes(code) && this.entries.get(name)) {
        // Another commit of the same name won the race: keep theirs.
        if (!opts.keep) await this.dropActive(e);
        return this.infoOf(this.get(name));
      }
      throw err;
    }
    this.entries.set(name, committed);
    crashPoint('snapshot.committed');
    if (opts.keep) this.startRefill(e, committed);
    else await this.dropActive(e);
    return this.infoOf(committed);
  }

  /**
   * Copies a committed snapshot's files back into the active snapshot whose
   * upper became it (commit with `keep`), in the background: into diff.fill,
   * renamed to diff when complete, then the record forgets the refill. Every
   * use of the active snapshot waits for it.
   */
  private startRefill(active: Entry, from: Entry): void {
    const dir = path.join(this.root, active.dir);
    const done = (async () => {
      const partial = path.join(dir, 'diff.fill');
      await fsp.rm(partial, { recursive: true, force: true });
      await run('cp', ['-a', '--reflink=auto', path.join(this.root, from.dir, 'diff'), partial]);
      crashPoint('snapshot.refill');
      await fsp.rename(partial, path.join(dir, 'diff'));
      delete active.fill;
      await this.writeRecord(dir, active, true);
    })();
    const entry = {
      from: from.name,
      done: done.finally(() => {
        if (this.fills.get(active.name) === entry) this.fills.delete(active.name);
      }),
    };
    this.fills.set(active.name, entry);
    // A failed refill is reported by whoever uses the snapshot next (and retried at the next open).
    entry.done.catch(() => undefined);
  }

  /**
   * At open: finishes what a commit with `keep` left when the daemon died —
   * the upper still to move into its layer, or the copy back still to make —
   * and removes a layer that never got its files.
   */
  private async recoverRefills(): Promise<void> {
    const has = (p: string) => fsp.stat(p).then(() => true, () => false);
    const refilled = new Set<string>();
    for (const e of this.entries.values()) {
      if (e.kind !== 'active' || !e.fill) continue;
      const dir = path.join(this.root, e.dir);
      const layer = this.entries.get(e.fill);
      const upperHere = await has(path.join(dir, 'diff'));
      if (!layer || layer.kind !== 'committed') {
        // The layer never appeared: the upper never moved.
        delete e.fill;
        await this.writeRecord(dir, e, true);
        continue;
      }
      const layerDiff = path.join(this.root, layer.dir, 'diff');
      if (!(await has(layerDiff))) {
        if (upperHere) await fsp.rename(path.join(dir, 'diff'), layerDiff);
      } else if (upperHere) {
        // The copy back was complete; only the record still said otherwise.
        refilled.add(layer.name);
        delete e.fill;
        await this.writeRecord(dir, e, true);
        continue;
      }
      refilled.add(layer.name);
      this.startRefill(e, layer);
    }
    for (const e of [...this.entries.values()]) {
      if (e.kind !== 'committed' || refilled.has(e.name) || !e.dir.startsWith('layers')) continue;
      if (!(await has(path.join(this.root, e.dir, 'diff')))) {
        this.entries.delete(e.name);
        await this.trash(path.join(this.root, e.dir), true);
      }
    }
  }

  private isAncestor(candidate: string, from: string | undefined): boolean {
    for (let p = from; p; p = this.entries.get(p)?.parent) if (p === candidate) return true;
    return false;
  }

  private async dropActive(e: Entry): Promise<void> {
    // Commit may reuse the key as the name: only forget the active entry itself.
    if (this.entries.get(e.name) === e) this.entries.delete(e.name);
    await unmount(path.join(this.root, e.dir, 'merged'));
    await this.trash(path.join(this.root, e.dir));
  }

  async remove(key: string): Promise<void> {
    // A refill of or from this snapshot finishes first.
    for (const [k, f] of this.fills) if (k === key || f.from === key) await f.done.catch(() => undefined);
    const e = this.get(key);
    for (const other of this.entries.values()) {
      if (other.parent === key) throw conflict(`snapshot ${key} is the parent of ${other.name}`);
    }
    this.entries.delete(key);
    if (e.kind === 'view') return;
    crashPoint('snapshot.remove');
    if (e.kind !== 'committed') await unmount(path.join(this.root, e.dir, 'merged'));
    if (e.link) await fsp.rm(path.join(this.root, 'l', e.link), { force: true });
    // A container's layer goes in the background (rm and run --rm need not wait); a layer at once.
    await this.trash(path.join(this.root, e.dir), e.kind === 'committed');
  }

  /**
   * Out of the way at once (a rename), then deleted, in the background unless
   * `wait`; a crash leaves it in tmp/, emptied at the next open.
   */
  private async trash(abs: string, wait = false): Promise<void> {
    // rm-rw-: a writable layer going in the background; rm-: anything else.
    const doomed = path.join(this.root, 'tmp', `rm-${wait ? '' : 'rw-'}${path.basename(abs)}-${randomBytes(4).toString('hex')}`);
    try {
      renameSync(abs, doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    crashPoint('snapshot.trashed');
    const gone = fsp.rm(doomed, { recursive: true, force: true }).catch(() => undefined);
    if (wait) await gone;
  }

  /** Snapshot metadata, written into a directory that is then renamed into place (or replaced atomically). */
  private async writeRecord(dir: string, rec: Record_, atomic: boolean): Promise<void> {
    const { kind, name, parent, labels, created, size, inodes, fill } = rec;
    const body = JSON.stringify({
      kind,
      name,
      ...(parent ? { parent } : {}),
      labels,
      created,
      ...(size !== undefined ? { size } : {}),
      ...(inodes !== undefined ? { inodes } : {}),
      ...(fill ? { fill } : {}),
    });
    if (!atomic) return fsp.writeFile(path.join(dir, 'snapshot.json'), body);
    const tmp = path.join(dir, `.snapshot.json.${randomBytes(4).toString('hex')}`);
    await fsp.writeFile(tmp, body);
    crashPoint('snapshot.record-temp');
    await fsp.rename(tmp, path.join(dir, 'snapshot.json'));
  }
}

/** The directory name of a committed snapshot: a chain ID's hex, or sha256 of any other name. */
function layerHex(name: string): string {
  if (/^sha256:[0-9a-f]{64}$/.test(name)) return digestHex(name as Digest);
  return createHash('sha256').update(name).digest('hex');
}
