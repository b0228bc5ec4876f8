/**
 * @module engine/volume/service
 * Volumes as the Engine API shows them (`/volumes`), who uses them, and the
 * first-mount copy of the image's files into an empty volume, as dockerd's
 * local driver does.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { EventLog } from '../events.js';
import { labelsMatch } from '../filters.js';
import { isMountPoint, mountAll, unmount } from '../snapshot/mount.js';
import { EngineError, invalid, notFound } from '../errors.js';
import { run } from '../../util/exec.js';
import type { VolumeRecord, VolumeStore } from './store.js';
import type { Filters, Volume, VolumePruneResponse } from '../../common/api/index.js';

/** The containers that mount each volume, by volume name; provided by the container service. */
export type VolumeUsers = () => Map<string, string[]>;

const FILTERS = new Set(['dangling', 'driver', 'label', 'name']);

export class VolumeService {
  /** Where `docker events` hears of volume changes. */
  readonly eventLog?: EventLog;
  /** Which containers mount each volume; none when not given. */
  readonly users: VolumeUsers;

  constructor(
    readonly store: VolumeStore,
    deps: { events?: EventLog; users?: VolumeUsers } = {},
  ) {
    this.eventLog = deps.events;
    this.users = deps.users ?? (() => new Map());
  }

  /** Docker's Volume object. */
  shape(v: VolumeRecord): Volume {
    return {
      CreatedAt: v.CreatedAt,
      Driver: 'local',
      Labels: v.Labels,
      Mountpoint: this.store.mountpoint(v.Name),
      Name: v.Name,
      Options: Object.keys(v.Options).length ? v.Options : null,
      Scope: 'local',
    };
  }

  /** `system df`'s volumes: each with UsageData (size, and how many containers mount it). */
  async dfList(): Promise<Volume[]> {
    const used = this.users();
    const out: Volume[] = [];
    for (const v of this.store.list()) {
      out.push({ ...this.shape(v), UsageData: { Size: await this.store.size(v.Name), RefCount: used.get(v.Name)?.length ?? 0 } });
    }
    return out;
  }

  async create(name: string | undefined, o: { labels?: Record<string, string>; options?: Record<string, string>; driver?: string } = {}): Promise<VolumeRecord> {
    // dockerd 28: the plugin lookup's not-found, wrapped by the volume store's "create <name>" (an unnamed volume's random name).
    if (o.driver && o.driver !== 'local') {
      throw notFound(`create ${name ?? randomBytes(32).toString('hex')}: error looking up volume plugin ${o.driver}: plugin "${o.driver}" not found`);
    }
    const existed = name ? this.store.has(name) : false;
    const v = await this.store.create(name, o);
    if (!existed) this.eventLog?.publish('volume', 'create', v.Name, { driver: 'local' });
    return v;
  }

  /** GET /volumes: the volumes matching `filters`, as Docker shows them. */
  list(filters: Filters = {}): Volume[] {
    return this.matching(filters).map((v) => this.shape(v));
  }

  /** GET /volumes/{name}. */
  inspect(name: string): Volume {
    return this.shape(this.store.get(name));
  }

  /** The records matching `filters` (name: substring, label: key or key=value, dangling: unused). */
  private matching(filters: Filters): VolumeRecord[] {
    for (const k of Object.keys(filters)) if (!FILTERS.has(k)) throw invalid(`invalid filter '${k}'`);
    const used = this.users();
    return this.store.list().filter((v) => {
      if (filters.name?.length && !filters.name.some((n) => v.Name.includes(n))) return false;
      if (filters.driver?.length && !filters.driver.includes('local')) return false;
      if (!labelsMatch(v.Labels, filters.label)) return false;
      if (filters.dangling?.length) {
        const want = filters.dangling.some((d) => d === 'true' || d === '1');
        if (want === (used.get(v.Name)?.length ?? 0) > 0) return false;
      }
      return true;
    });
  }

  async remove(name: string, force = false): Promise<void> {
    if (force && !this.store.has(name)) return;
    // Not in use by then; a mount left by a crash must not take the device's files with the directory.
    if (this.store.has(name) && (this.users().get(name)?.length ?? 0) === 0) await unmount(this.store.mountpoint(name)).catch(() => undefined);
    if (this.store.has(name) && (await isMountPoint(this.store.mountpoint(name)))) throw new EngineError('system', `remove ${name}: the volume's mount could not be undone`);
    await this.store.remove(name, this.users().get(name) ?? []);
    this.eventLog?.publish('volume', 'destroy', name, { driver: 'local' });
  }

  /** Unused volumes: anonymous ones only, unless `all=true` (API 1.42+). */
  async prune(filters: Filters): Promise<VolumePruneResponse> {
    const all = filters.all?.some((a) => a === 'true' || a === '1') ?? false;
    const rest = { ...filters };
    delete rest.all;
    const used = this.users();
    const deleted: string[] = [];
    let space = 0;
    for (const v of this.matching(rest)) {
      if ((used.get(v.Name)?.length ?? 0) > 0 || (!all && !v.Anonymous)) continue;
      space += await this.store.size(v.Name);
      await this.remove(v.Name);
      deleted.push(v.Name);
    }
    return { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: space };
  }

  /**
   * Local driver options (`-o type=tmpfs -o device=tmpfs -o o=size=64m`,
   * `-o type=none -o o=bind -o device=/path`): the volume's `_data` is a
   * mount of that device, made when the first container using it starts
   * (dockerd's local driver mounts at first use too). Idempotent: a mount
   * already there (kept across a daemon restart) is reused.
   */
  async mountIfNeeded(name: string): Promise<void> {
    const v = this.store.get(name);
    const { type, device, o } = v.Options;
    if (!type || !device) return;
    const target = this.store.mountpoint(name);
    const options = (o ?? '').split(',').filter(Boolean);
    const bind = type === 'none' && options.some((x) => x === 'bind' || x === 'rbind');
    try {
      await mountAll(
        [bind ? { type: 'bind', source: device, options: options.filter((x) => x !== 'bind' && x !== 'rbind') } : { type, source: device, options: options.length ? options : ['defaults'] }],
        target,
      );
    } catch (err) {
      throw new EngineError('system', `error while mounting volume '${target}': failed to mount local volume: ${(err as Error).message}`);
    }
  }

  /** Undoes mountIfNeeded() once no running container uses the volume (`stillUsed`). */
  async unmountIfUnused(name: string, stillUsed: boolean): Promise<void> {
    if (stillUsed || !this.store.has(name)) return;
    const v = this.store.get(name);
    if (!v.Options.type || !v.Options.device) return;
    await unmount(this.store.mountpoint(name)).catch(() => undefined);
  }

  /**
   * dockerd's copy-up: a volume still empty when first mounted gets the
   * image's files at the mount path (`hostPath`: that path resolved inside
   * the container's root, or null when the image has nothing there).
   */
  async fillIfEmpty(name: string, hostPath: string | null): Promise<void> {
    if (!hostPath) return;
    const dest = this.store.mountpoint(name);
    if ((await fsp.readdir(dest)).length > 0) return;
    const st = await fsp.lstat(hostPath).catch(() => null);
    if (!st?.isDirectory()) return;
    // cp -a keeps owners, modes, times, links and xattrs; symlinks are copied as links, never followed.
    await run('cp', ['-a', '--', `${hostPath}${path.sep}.`, `${dest}${path.sep}`]);
    // The volume's root takes the image directory's owner and mode, as dockerd's copy does.
    await fsp.chown(dest, st.uid, st.gid);
    await fsp.chmod(dest, st.mode & 0o7777);
  }
}
