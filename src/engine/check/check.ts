/**
 * @module engine/check/check
 * `berth system check`: reads the whole data root and says what is wrong —
 * corrupt blobs, images missing their blobs or layers, layers and blobs
 * nobody uses, orphan snapshots, leftover ingests and temp files, mounts and
 * network state nothing holds, containers whose conmon died, records that
 * cannot be read — and, with `repair`, fixes what can be fixed without
 * losing user data (orphans removed, leftovers unmounted and released, dead
 * containers marked exited, corrupt blobs and unreadable records moved to
 * `<data-root>/quarantine/`), saying what it did.
 *
 * Each store finds its own leftovers (it knows its layout) and repairs the
 * same findings at open; the daemon's start-up reconciliation is this
 * check's cheap part (no blob is hashed) with repair on: `startupCheck`.
 *
 * It runs on a live engine (online: work in progress — leases, busy
 * containers, young files — is left alone, and the collector's lock is held
 * throughout) or on a data root whose daemon is stopped (./offline.ts).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { CheckReport } from '../../common/api/check.js';
import type { BuildCache } from '../build/cache.js';
import type { LocalContentStore } from '../content/store.js';
import type { ContainerStore } from '../container/store.js';
import type { ContainerRecord } from '../container/types.js';
import type { GarbageCollector } from '../gc.js';
import type { ImageStore } from '../image/store.js';
import type { NetworkService } from '../network/service.js';
import type { ConmonRuntime } from '../runtime/conmon.js';
import { chainIds } from '../snapshot/layers.js';
import type { OverlaySnapshotter } from '../snapshot/overlay.js';
import type { VolumeStore } from '../volume/store.js';
import { inProgress, settle, type Finding } from './finding.js';
import { mountLeftovers } from './mounts.js';

/** What the check reads and repairs through: a live engine's stores, or ones opened offline. */
export interface CheckTarget {
  dataRoot: string;
  execRoot: string;
  /** When the daemon running on these stores started (ms): its work may be in progress. Undefined offline. */
  liveSince?: number;
  content: LocalContentStore;
  snapshots: OverlaySnapshotter;
  images: ImageStore;
  containers: ContainerStore;
  volumes: VolumeStore;
  buildCache: BuildCache;
  gc: GarbageCollector;
  networks: NetworkService;
  runtime: ConmonRuntime;
  bundleDir(id: string): string;
  /** Whether a container is in the middle of something (start, exit, removal): its state is in flux. */
  busy(id: string): boolean;
  /** Ends a run whose monitor is gone: transition exit, rootfs and network released where the target can. */
  markExited(c: ContainerRecord, code: number, error: string): Promise<void>;
}

export interface CheckOptions {
  repair?: boolean;
  /** Hash every blob (reads the whole store); the cheap check looks at structure only. */
  full?: boolean;
}

export async function runCheck(t: CheckTarget, o: CheckOptions = {}): Promise<CheckReport> {
  const repair = !!o.repair;
  const full = o.full !== false;
  const quarantine = path.join(t.dataRoot, 'quarantine');
  const checked: Record<string, number> = {};
  const report: CheckReport = { Repair: repair, Full: full, Checked: checked, Findings: [] };
  const step = async (find: () => Promise<Finding[]>) => {
    report.Findings.push(...(await settle(await find(), repair)));
  };
  // Blobs, by their bytes: the long part, outside the collector's lock (a blob collected meanwhile is skipped).
  if (full) await step(() => corruptBlobs(t, path.join(quarantine, 'content'), checked));
  // Nothing is collected while the rest looks (and nothing it repairs races a collection).
  return t.gc.lock.run(async () => {

    // Records and store leftovers.
    await step(() => t.content.leftovers({ liveSince: t.liveSince, quarantine: path.join(quarantine, 'content') }));
    await step(() => t.snapshots.leftovers({ liveSince: t.liveSince }));
    await step(() => t.containers.leftovers({ liveSince: t.liveSince, quarantine: path.join(quarantine, 'containers') }));
    await step(() => t.images.problems({ quarantine: path.join(quarantine, 'images') }));
    await step(() => t.volumes.leftovers({ liveSince: t.liveSince, quarantine: path.join(quarantine, 'volumes') }));
    await step(() => tempLeftovers(t));

    // What images and containers need is there.
    await step(() => imageProblems(t, checked));
    await step(() => t.buildCache.problems(async (c) => !!(await t.snapshots.stat(c))));
    const dead = new Set<string>();
    await step(() => containerProblems(t, dead, checked));

    // What only running containers and work in progress may hold.
    const live = new Set(
      t.containers
        .list()
        .filter((c) => (c.State.Running && !dead.has(c.Id)) || t.busy(c.Id))
        .map((c) => c.Id),
    );
    const spares = await t.networks.netnsMountsInUse(live);
    await step(() => mountLeftovers([t.dataRoot, t.execRoot], expectedMount(t, live, spares)));
    await step(() => t.networks.leftovers(live));

    // Reachability: what no image, container, build cache entry or lease uses.
    await step(() => t.gc.unreferenced());
    return report;
  });
}

/**
 * Temp files of atomic writes (record-temp + rename) that a crash left
 * beside their record. Online, young ones are writes in progress.
 */
async function tempLeftovers(t: CheckTarget): Promise<Finding[]> {
  const dirs = [t.dataRoot, 'image', 'image/images', 'network', 'network/networks', 'builder/cache'].map((d) => path.resolve(t.dataRoot, d));
  for (const [parent, depth] of [['containers', 1], ['volumes', 1], ['overlay2/layers', 1], ['overlay2/rw', 1], ['content/ingest', 1]] as const) {
    for (const name of await fsp.readdir(path.join(t.dataRoot, parent)).catch(() => [] as string[])) if (depth) dirs.push(path.join(t.dataRoot, parent, name));
  }
  const out: Finding[] = [];
  for (const dir of dirs) {
    for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
      // util/fs atomicWriteFile: .tmp-<name>-<hex>; the snapshotter's .snapshot.json.<hex>; the content store's <name>.tmp-<hex>.
      if (!/^\.tmp-.+-[0-9a-f]{12}$|^\.snapshot\.json\.[0-9a-f]{8}$|\.json\.tmp-[0-9a-f]{8}$/.test(name)) continue;
      const p = path.join(dir, name);
      if (await inProgress(p, t.liveSince)) continue;
      out.push({ kind: 'temp-leftover', subject: path.relative(t.dataRoot, p), message: 'the temp file of a record write that never finished', action: 'delete it', fix: () => fsp.rm(p, { force: true }) });
    }
  }
  return out;
}

async function corruptBlobs(t: CheckTarget, quarantine: string, checked: Record<string, number>): Promise<Finding[]> {
  const out: Finding[] = [];
  let n = 0;
  await t.content.walk(async (info) => {
    n++;
    let whole: boolean;
    try {
      whole = await t.content.verify(info.digest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // collected meanwhile
      whole = false;
    }
    if (whole) return;
    out.push({
      kind: 'blob-corrupt',
      subject: info.digest,
      message: `its ${info.size} bytes do not hash to its digest`,
      action: `move it to ${quarantine}`,
      fix: async () => void (await t.content.quarantine(info.digest, quarantine)),
    });
  });
  checked.Blobs = n;
  return out;
}

/** Images whose layer blobs or unpacked layers are gone: they cannot be saved, pushed or run. */
async function imageProblems(t: CheckTarget, checked: Record<string, number>): Promise<Finding[]> {
  const out: Finding[] = [];
  const images = t.images.list();
  checked.Images = images.length;
  for (const img of images) {
    for (const l of img.layers) {
      if (l.blob && !(await t.content.info(l.blob.digest).catch(() => undefined))) {
        out.push({ kind: 'image-blob-missing', subject: img.id, message: `its layer blob ${l.blob.digest} is gone: save and push fail (pull or load it again)` });
      }
    }
    const chain = chainIds(img.config.rootfs.diff_ids);
    for (const c of chain) {
      if (!(await t.snapshots.stat(c))) out.push({ kind: 'image-layer-missing', subject: img.id, message: `its layer ${c} is not unpacked: it cannot run (pull or load it again)` });
    }
  }
  return out;
}

/**
 * Containers the record says are running whose conmon is gone without an
 * exit code (killed, or the host rebooted): marked exited (255) as the
 * daemon does at start. Containers the runtime still has though their
 * record says they do not run: killed there. Containers whose writable
 * layer is gone can only be removed.
 */
async function containerProblems(t: CheckTarget, dead: Set<string>, checked: Record<string, number>): Promise<Finding[]> {
  const out: Finding[] = [];
  const all = t.containers.list();
  checked.Containers = all.length;
  for (const c of all) {
    if (t.busy(c.Id)) continue;
    if (!(await t.snapshots.stat(c.Id))) {
      out.push({ kind: 'snapshot-missing', subject: c.Id, message: `container ${c.Name.slice(1)} has no writable layer: it can only be removed` });
    }
    if (!c.State.Running) {
      // A start killed between `runc create` and its record: runc (and maybe the process) lives on, unknown to `ps`.
      if (!c.State.Paused && (await t.runtime.known(c.Id))) {
        out.push({
          kind: 'container-untracked',
          subject: c.Id,
          message: `container ${c.Name.slice(1)} is recorded as ${c.State.Status}, but the runtime still has it (a start that never finished)`,
          action: 'kill and delete it in the runtime (the record stays as it is)',
          fix: async () => {
            await t.runtime.delete(c.Id, true);
            await t.runtime.clearExit(c.Id);
            await fsp.rm(t.bundleDir(c.Id), { recursive: true, force: true });
          },
        });
      }
      continue;
    }
    if (await t.runtime.conmonAlive(t.bundleDir(c.Id))) continue;
    const code = await t.runtime.exitCode(c.Id);
    dead.add(c.Id);
    out.push({
      kind: 'container-dead',
      subject: c.Id,
      message: code === undefined ? `container ${c.Name.slice(1)} is recorded as running, but its conmon is gone` : `container ${c.Name.slice(1)} exited (${code}), which was never recorded`,
      action: 'mark it exited',
      fix: () => t.markExited(c, code ?? 255, code === undefined ? 'container monitor exited unexpectedly' : ''),
    });
  }
  return out;
}

/** Mounts in use: live containers' root filesystems, namespaces and volumes; online, work in progress too. */
function expectedMount(t: CheckTarget, live: Set<string>, spares: Set<string>): (mp: string) => boolean {
  const active = t.snapshots.activeDirs();
  const leased = t.gc.inProgress().snapshots;
  const liveShort = new Set([...live].map((id) => id.slice(0, 12)));
  const volumesInUse = new Set(
    t.containers
      .list()
      .filter((c) => live.has(c.Id))
      .flatMap((c) => (c.UserMounts ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => path.join(t.dataRoot, 'volumes', m.Name!, '_data'))),
  );
  const netns = path.join(t.execRoot, 'netns');
  return (mp) => {
    const key = active.get(mp);
    if (key !== undefined) return live.has(key) || leased.has(key) || (t.liveSince !== undefined && !t.containers.get(key));
    if (path.dirname(mp) === netns) return liveShort.has(path.basename(mp));
    // Namespaces made ahead of demand (network/netns.ts): the daemon's own, or taken by a live container.
    if (path.dirname(mp) === `${netns}-spare`) return spares.has(mp);
    if (volumesInUse.has(mp)) return true;
    // Online, build steps and tasks mount their roots under builder/tmp and the exec root's tasks/.
    if (t.liveSince !== undefined && (mp.startsWith(path.join(t.dataRoot, 'builder', 'tmp') + '/') || mp.startsWith(path.join(t.execRoot, 'tasks') + '/'))) return true;
    return false;
  };
}
