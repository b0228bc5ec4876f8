/**
 * @module engine/network/netns
 * Network namespaces that exist before their container's process and outlive
 * berthd: each is bind-mounted onto a file under `<exec-root>/netns/`, so CNI
 * can wire it before runc joins it, and a restarted daemon still finds it.
 * Its loopback is brought up as it is made: one process (`unshare` running
 * `ip`) rather than CNI's loopback plugin afterwards, a Go binary whose
 * start alone costs ~15 ms of CPU on every container start.
 *
 * Making one still costs a start 18–28 ms (two processes, and the fork blocks
 * berthd's event loop), so a namespace is made ahead of demand: after a
 * container takes one, a spare like it is made while berthd is otherwise
 * idle, under `<exec-root>/netns-spare/`. A pinned namespace is a mount point
 * and cannot be renamed, so a taken spare stays where it is and
 * `netns/<short id>` becomes a symlink to it; runc, CNI and nsenter all open
 * the path, so they follow it. A spare is never given back: a container's
 * namespace is unpinned when it goes, as before. A kind of spare may also
 * be prepared further once made (./service.ts wires the default bridge's
 * ahead: its veth and address), and that work is handed to the taker.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { run } from '../../util/exec.js';

/** Commands run in a new namespace as it is made (see NetnsStore.create). */
export interface NetnsSetup {
  script: string;
  input?: string;
}

/**
 * A kind of namespace: what is done in it as it is made, and for a spare,
 * what is done to it afterwards (`prepare`, whose result the taker gets) and
 * undone when it is dropped untaken (`discard`, once it is unpinned).
 */
export interface NetnsKind<T = unknown> {
  key: string;
  setup?: NetnsSetup;
  // Methods, not function properties: a kind of any T is then a NetnsKind the store can keep.
  prepare?(netns: string, name: string): Promise<T>;
  discard?(name: string, prepared: T): Promise<void>;
}

/** Kinds of spare kept at once (one each): the default bridge's, and a few user networks' (their DNS rules differ by gateway). */
const SPARE_KINDS = 4;

interface Spare {
  name: string;
  prepared?: unknown;
}

export class NetnsStore {
  readonly spareDir: string;
  /** Ready spares by kind. */
  private readonly spares = new Map<string, Spare>();
  /** Spares being made or taken, by file name: pinned or about to be, not ready or not yet linked. */
  private readonly making = new Set<string>();
  /** Kinds to keep a spare of, least recently taken first. */
  private readonly wanted = new Map<string, NetnsKind>();
  private refilling?: { key: string; done: Promise<void> };
  private refillTimer?: NodeJS.Timeout;
  private serial = 0;
  private closed = false;
  /** Starts and exits being handled (busy()). */
  private inFlight = 0;

  /** `spares`: keep namespaces made ahead of demand (off in `system check` and tests of the store itself). */
  constructor(
    readonly dir: string,
    private readonly opts: { spares?: boolean } = {},
  ) {
    this.spareDir = `${dir}-spare`;
  }

  pathOf(id: string): string {
    return path.join(this.dir, id.slice(0, 12));
  }

  /**
   * A new network namespace, loopback only and up, pinned at pathOf(id).
   * `kind.setup`: more to do in it before anything joins it, in the same
   * process (a shell script, with its standard input). A spare of the kind
   * is taken when there is one (or is about to be); `prepared` is then what
   * the kind's prepare() gave, which the caller now owns.
   */
  async create<T>(id: string, kind: NetnsKind<T> = { key: '' }): Promise<{ path: string; prepared?: T }> {
    const p = this.pathOf(id);
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o711 });
    await this.remove(id);
    if (!this.spares.has(kind.key) && this.refilling?.key === kind.key) await this.refilling.done;
    const spare = this.spares.get(kind.key);
    this.want(kind);
    if (spare !== undefined) {
      this.spares.delete(kind.key);
      // Still held while it is linked (an online `system check` must not call it a stray).
      this.making.add(spare.name);
      try {
        await fsp.symlink(path.join(this.spareDir, spare.name), p);
        return { path: p, prepared: spare.prepared as T | undefined };
      } catch {
        await this.drop(kind, spare);
      } finally {
        this.making.delete(spare.name);
      }
    }
    await fsp.writeFile(p, '', { mode: 0o444 });
    try {
      await pin(p, kind.setup);
    } catch (err) {
      await this.remove(id);
      throw err;
    }
    return { path: p };
  }

  /** Unpins and removes the namespace (its interfaces, veth peers included, go with it). Safe to repeat. */
  async remove(id: string): Promise<void> {
    await this.removeFile(path.basename(this.pathOf(id)));
  }

  /** The pinned namespaces' file names (short container IDs). */
  async list(): Promise<string[]> {
    return fsp.readdir(this.dir).catch(() => [] as string[]);
  }

  async removeFile(name: string): Promise<void> {
    const p = path.join(this.dir, name);
    const target = await fsp.readlink(p).catch(() => undefined);
    if (target !== undefined) {
      // A taken spare: unpin the spare itself, then the link. Only a spare
      // of ours is unpinned, whatever the link says.
      const t = path.resolve(this.dir, target);
      if (path.dirname(t) === this.spareDir) await unpin(t);
      await fsp.rm(p, { force: true });
      return;
    }
    await unpin(p);
  }

  /** The names of the spares this daemon holds (ready, being made, or being taken). */
  held(): string[] {
    return [...[...this.spares.values()].map((s) => s.name), ...this.making];
  }

  /**
   * Spare namespaces no container took and this daemon does not hold: what
   * a daemon that was killed (or `system check` with the daemon stopped)
   * leaves. `live`: the running containers' short IDs, whose links keep
   * their spares.
   */
  async strayedSpares(live: Set<string>): Promise<string[]> {
    const kept = await this.sparesInUse(live);
    const names = await fsp.readdir(this.spareDir).catch(() => [] as string[]);
    return names.map((n) => path.join(this.spareDir, n)).filter((p) => !kept.has(p));
  }

  /** Spare files held: by this daemon, or taken by a container in `live` (short IDs). */
  async sparesInUse(live: Set<string>): Promise<Set<string>> {
    const out = new Set<string>(this.held().map((n) => path.join(this.spareDir, n)));
    for (const id of live) {
      const target = await fsp.readlink(path.join(this.dir, id)).catch(() => undefined);
      if (target !== undefined) out.add(path.resolve(this.dir, target));
    }
    return out;
  }

  /** Unpins a stray spare (see strayedSpares). */
  async removeSpare(p: string): Promise<void> {
    if (path.dirname(p) === this.spareDir) await unpin(p);
  }

  /**
   * Asks for a spare of `kind` (the default bridge's at daemon start, and
   * the kind just taken); made once berthd has had nothing to do for a
   * moment. The most recently wanted kinds are kept, SPARE_KINDS of them.
   */
  want(kind: NetnsKind): void {
    if (!this.opts.spares || this.closed) return;
    this.wanted.delete(kind.key);
    this.wanted.set(kind.key, kind);
    this.scheduleRefill();
  }

  /**
   * Berthd is busy with something a client waits for (a start, an exit)
   * until the returned function is called: no spare is begun meanwhile,
   * and not until it has been quiet for a moment after, so that forking
   * `unshare` and the plugins does not hold up that work.
   */
  busy(): () => void {
    this.inFlight++;
    if (this.refillTimer) clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.inFlight === 0 && this.wanted.size > 0) this.scheduleRefill();
    };
  }

  /** Stops making spares and unpins those held (daemon shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.refillTimer) clearTimeout(this.refillTimer);
    await this.refilling?.done.catch(() => undefined);
    for (const [key, spare] of [...this.spares]) {
      this.spares.delete(key);
      await this.drop(this.wanted.get(key), spare);
    }
  }

  private scheduleRefill(): void {
    if (this.refillTimer) clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
    if (this.inFlight > 0 || this.closed) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      if (this.refilling) return this.scheduleRefill();
      void this.refill();
    }, REFILL_QUIET_MS);
    this.refillTimer.unref();
  }

  /** Makes the wanted spares one at a time, most recently wanted first; drops kinds beyond SPARE_KINDS. */
  private async refill(): Promise<void> {
    const kinds = [...this.wanted.values()].reverse();
    for (const kind of kinds.slice(SPARE_KINDS)) {
      this.wanted.delete(kind.key);
      const old = this.spares.get(kind.key);
      this.spares.delete(kind.key);
      if (old) await this.drop(kind, old);
    }
    for (const kind of kinds.slice(0, SPARE_KINDS)) {
      // A client's work came in: the rest waits until it is done (busy() reschedules).
      if (this.closed || this.inFlight > 0) return;
      if (this.spares.has(kind.key)) continue;
      const done = this.makeSpare(kind);
      this.refilling = { key: kind.key, done };
      await done;
      this.refilling = undefined;
    }
  }

  private async makeSpare(kind: NetnsKind): Promise<void> {
    const name = `${process.pid}-${++this.serial}`;
    const p = path.join(this.spareDir, name);
    this.making.add(name);
    try {
      await fsp.mkdir(this.spareDir, { recursive: true, mode: 0o711 });
      await fsp.writeFile(p, '', { mode: 0o444 });
      await pin(p, kind.setup, 10);
      const spare: Spare = { name };
      try {
        if (kind.prepare) spare.prepared = await kind.prepare(p, name);
      } catch {
        await unpin(p);
        return;
      }
      if (this.closed || this.spares.has(kind.key)) await this.drop(kind, spare);
      else this.spares.set(kind.key, spare);
    } catch {
      await unpin(p);
    } finally {
      this.making.delete(name);
    }
  }

  /** Unpins a spare no one will take, then undoes its preparation. */
  private async drop(kind: NetnsKind | undefined, spare: Spare): Promise<void> {
    await unpin(path.join(this.spareDir, spare.name));
    if (kind?.discard && spare.prepared !== undefined) await kind.discard(spare.name, spare.prepared).catch(() => undefined);
  }
}

/** How long berthd must have had no start or exit to handle before it makes a spare. */
const REFILL_QUIET_MS = 40;

async function unpin(p: string): Promise<void> {
  // No file, nothing pinned. A file is almost always a mount point: unmount
  // it rather than reading all of mountinfo (long with many containers) to
  // ask; a file a crash left unmounted just makes umount fail.
  if (!existsSync(p)) return;
  await run('umount', ['-l', p], { allowFailure: true });
  await fsp.rm(p, { force: true });
}

/** Makes a namespace with its loopback up (and `setup` run in it) and pins it on the existing file `p`; `nice`: at that priority. */
async function pin(p: string, setup: NetnsSetup | undefined, nice?: number): Promise<void> {
  const loUp = ['ip', 'link', 'set', 'dev', 'lo', 'up'];
  // util-linux unshare keeps the namespace by bind-mounting it onto the file, then runs the command in it.
  const cmd = ['unshare', `--net=${p}`, ...(setup ? ['sh', '-c', `${loUp.join(' ')} && ${setup.script}`] : loUp)];
  await run(nice ? 'nice' : cmd[0]!, nice ? ['-n', String(nice), ...cmd] : cmd.slice(1), { input: setup?.input });
}
