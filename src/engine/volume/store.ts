/**
 * @module engine/volume/store
 * Volumes of the `local` driver, laid out as dockerd's:
 * `<data-root>/volumes/<name>/_data` is what containers mount, and
 * `<data-root>/volumes/<name>/volume.json` records the rest (labels,
 * options, creation time, whether it was made anonymous for one container).
 * A volume exists once its record is written (temp file and rename); a
 * directory without one is what an interrupted create or remove left, swept
 * at start.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { atomicWriteJson, directorySize, exists, readJsonIfExists } from '../../util/fs.js';
import { inProgress, quarantine, type Finding, type LeftoverScope } from '../check/finding.js';
import { conflict, invalid, notFound } from '../errors.js';
import type { Identity } from '../idmap.js';

export interface VolumeRecord {
  Name: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  /** Made for one container's `-v /path` or image VOLUME: `rm -v` and prune take it. */
  Anonymous: boolean;
}

/** dockerd's local driver name rule. */
const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export class VolumeStore {
  private readonly records = new Map<string, VolumeRecord>();

  private constructor(
    readonly root: string,
    /** Owner of new volume directories: the container's root (remapped under --userns-remap). */
    private readonly owner: Identity,
  ) {}

  /** `repair: false`: directories without a record are left in place (an offline check that only reports). */
  static async open(root: string, owner: Identity, o: { repair?: boolean } = {}): Promise<VolumeStore> {
    await fsp.mkdir(root, { recursive: true, mode: 0o701 });
    const store = new VolumeStore(root, owner);
    for (const name of await fsp.readdir(root)) {
      const file = path.join(root, name, 'volume.json');
      // An unreadable record is left out and left alone (see leftovers()): the daemon must start, the data stay.
      const rec = await readJsonIfExists<VolumeRecord>(file).catch(() => undefined);
      if (rec) store.records.set(name, rec);
      else if (o.repair !== false && !(await exists(file))) await fsp.rm(path.join(root, name), { recursive: true, force: true });
    }
    return store;
  }

  /**
   * Volumes whose record cannot be read (the check's volume part): a repair
   * moves the record to `quarantine` and writes a fresh one (a named volume,
   * its labels and options lost), so the data stay a volume. Directories
   * without any record are an interrupted create or remove, which open sweeps.
   */
  async leftovers(o: LeftoverScope & { quarantine?: string }): Promise<Finding[]> {
    const out: Finding[] = [];
    for (const name of await fsp.readdir(this.root)) {
      if (this.records.has(name)) continue;
      const file = path.join(this.root, name, 'volume.json');
      if (!(await exists(file))) {
        if (await inProgress(path.join(this.root, name), o.liveSince)) continue; // a create in progress
        out.push({ kind: 'volume-unrecorded', subject: name, message: 'a volume directory without a record (an interrupted create or remove)', action: 'delete it', fix: () => fsp.rm(path.join(this.root, name), { recursive: true, force: true }) });
        continue;
      }
      out.push({
        kind: 'record-unreadable',
        subject: `volumes/${name}/volume.json`,
        message: 'a volume record that cannot be read',
        ...(o.quarantine
          ? {
              action: `move it to ${o.quarantine} and write a fresh record for the volume's data`,
              fix: async () => {
                await quarantine(file, path.join(o.quarantine!, name));
                const created = (await fsp.stat(path.join(this.root, name)).catch(() => undefined))?.mtime ?? new Date();
                const rec: VolumeRecord = { Name: name, CreatedAt: created.toISOString(), Labels: {}, Options: {}, Anonymous: false };
                await atomicWriteJson(file, rec);
                this.records.set(name, rec);
              },
            }
          : {}),
      });
    }
    return out;
  }

  /** The directory containers mount. */
  mountpoint(name: string): string {
    return path.join(this.root, name, '_data');
  }

  list(): VolumeRecord[] {
    return [...this.records.values()];
  }

  get(name: string): VolumeRecord {
    const rec = this.records.get(name);
    if (!rec) throw notFound(`get ${name}: no such volume`);
    return rec;
  }

  has(name: string): boolean {
    return this.records.has(name);
  }

  /**
   * Creates a volume, or returns the existing one of that name (dockerd's
   * create is idempotent for the local driver). `name` absent: anonymous.
   */
  async create(name: string | undefined, o: { labels?: Record<string, string>; options?: Record<string, string> } = {}): Promise<VolumeRecord> {
    const anonymous = !name;
    const n = name || randomBytes(32).toString('hex');
    if (!VALID_NAME.test(n)) {
      throw invalid(
        `create ${n}: "${n}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
      );
    }
    const existing = this.records.get(n);
    if (existing) return existing;
    for (const k of Object.keys(o.options ?? {})) {
      if (!['type', 'device', 'o', 'size'].includes(k)) throw invalid(`invalid option: "${k}"`);
    }
    const opts = o.options ?? {};
    // dockerd's local driver: a mount needs a type and a device; size needs a quota-capable root, which berth does not have.
    if (opts.size !== undefined) throw invalid(`quota size requested but no quota support`);
    if (Object.keys(opts).length > 0) {
      for (const k of ['type', 'device']) if (!opts[k]) throw invalid(`missing required option: "${k}"`);
    }
    const dir = path.join(this.root, n);
    await fsp.mkdir(path.join(dir, '_data'), { recursive: true, mode: 0o755 });
    if (this.owner.uid !== 0 || this.owner.gid !== 0) await fsp.chown(path.join(dir, '_data'), this.owner.uid, this.owner.gid);
    const rec: VolumeRecord = { Name: n, CreatedAt: new Date().toISOString(), Labels: o.labels ?? {}, Options: o.options ?? {}, Anonymous: anonymous };
    await atomicWriteJson(path.join(dir, 'volume.json'), rec);
    this.records.set(n, rec);
    return rec;
  }

  /** Removes a volume; `usedBy` are the containers (any state) that mount it. */
  async remove(name: string, usedBy: string[]): Promise<void> {
    this.get(name);
    if (usedBy.length > 0) throw conflict(`remove ${name}: volume is in use - [${usedBy.join(', ')}]`);
    const dir = path.join(this.root, name);
    // The record first: once it is gone the volume is gone, whatever a crash leaves of the data (swept at start).
    await fsp.rm(path.join(dir, 'volume.json'), { force: true });
    this.records.delete(name);
    await fsp.rm(dir, { recursive: true, force: true });
  }

  size(name: string): Promise<number> {
    return directorySize(this.mountpoint(name));
  }
}
