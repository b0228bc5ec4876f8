/**
 * Container records on disk (`<root>/<id>/config.v2.json`, written
 * atomically) with an in-memory index by ID and name. Lookup follows
 * dockerd: full ID, then name, then unique ID prefix.
 */
import { promises as fsp, renameSync } from 'node:fs';
import path from 'node:path';
import { atomicWriteJson, exists, readJsonIfExists } from '../../util/fs.js';
import { fixAll, inProgress, quarantine, type Finding, type LeftoverScope } from '../check/finding.js';
import { conflict, notFound } from '../errors.js';
import type { ContainerRecord } from './types.js';
import { crashPoint } from '../../util/crash.js';

export class ContainerStore {
  private readonly byId = new Map<string, ContainerRecord>();
  /** IDs removed in this daemon's life (IDs are never reused): saves of them are dropped. */
  private readonly removed = new Set<string>();
  private readonly byName = new Map<string, string>();

  /**
   * `group`: group of the container directories (0710). Under --userns-remap
   * it is the remapped root's, so runc's init, running as that user, can
   * reach the /etc/hosts, /etc/hostname and /etc/resolv.conf bound from here.
   */
  private constructor(
    readonly root: string,
    private readonly group: number,
  ) {}

  /** `repair: false`: open without cleaning up (an offline `berth system check` that only reports). */
  static async open(root: string, group = 0, o: { repair?: boolean } = {}): Promise<ContainerStore> {
    await fsp.mkdir(root, { recursive: true, mode: 0o710 });
    if (group !== 0) await fsp.chown(root, 0, group);
    const store = new ContainerStore(root, group);
    for (const id of await fsp.readdir(root)) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      // Unreadable records are left out (and left alone: see leftovers()).
      const rec = await readJsonIfExists<ContainerRecord>(path.join(root, id, 'config.v2.json')).catch(() => undefined);
      if (!rec) continue;
      store.byId.set(id, rec);
      store.byName.set(rec.Name, id);
    }
    // Removals a crash interrupted, creates that died before their record.
    if (o.repair !== false) await fixAll((await store.leftovers({})).filter((f) => f.kind !== 'record-unreadable'));
    return store;
  }

  /**
   * Directories that are no container (the check's container-record part,
   * and what open cleans): removals a crash interrupted (.trash-<id>),
   * directories without a record (a create that died half-way; online, young
   * ones are creates in progress), and records that cannot be read, which a
   * repair moves to `quarantine` with the rest of their directory.
   */
  async leftovers(o: LeftoverScope & { quarantine?: string }): Promise<Finding[]> {
    const out: Finding[] = [];
    for (const id of await fsp.readdir(this.root)) {
      const dir = path.join(this.root, id);
      if (id.startsWith('.trash-')) {
        out.push({ kind: 'container-trash', subject: id.slice('.trash-'.length), message: 'files of a removed container whose deletion was interrupted', action: 'delete them', fix: () => fsp.rm(dir, { recursive: true, force: true }) });
        continue;
      }
      if (!/^[0-9a-f]{64}$/.test(id) || this.byId.has(id)) continue;
      const file = path.join(dir, 'config.v2.json');
      if (await exists(file)) {
        out.push({
          kind: 'record-unreadable',
          subject: `containers/${id}/config.v2.json`,
          message: 'a container record that cannot be read',
          // The whole directory: its log and files stay together with the record.
          ...(o.quarantine ? { action: `move the container's directory to ${o.quarantine}`, fix: async () => void (await quarantine(dir, o.quarantine!)) } : {}),
        });
        continue;
      }
      if (await inProgress(dir, o.liveSince)) continue;
      out.push({ kind: 'container-incomplete', subject: id, message: 'a container directory without a record (a create that died half-way)', action: 'delete it', fix: () => fsp.rm(dir, { recursive: true, force: true }) });
    }
    return out;
  }

  dir(id: string): string {
    return path.join(this.root, id);
  }

  list(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  get(id: string): ContainerRecord | undefined {
    return this.byId.get(id);
  }

  /** Finds by full ID, name (with or without "/") or unique ID prefix; throws 404. */
  resolve(idOrName: string): ContainerRecord {
    const found = this.find(idOrName);
    if (!found) throw notFound(`No such container: ${idOrName}`);
    return found;
  }

  find(idOrName: string): ContainerRecord | undefined {
    if (!idOrName) return undefined;
    const direct = this.byId.get(idOrName);
    if (direct) return direct;
    const byName = this.byName.get(idOrName.startsWith('/') ? idOrName : `/${idOrName}`);
    if (byName) return this.byId.get(byName);
    if (/^[0-9a-f]+$/.test(idOrName)) {
      const matches = [...this.byId.keys()].filter((id) => id.startsWith(idOrName));
      if (matches.length > 1) throw conflict(`multiple IDs found with provided prefix: ${idOrName}`);
      if (matches.length === 1) return this.byId.get(matches[0]!);
    }
    return undefined;
  }

  nameOwner(name: string): string | undefined {
    return this.byName.get(name);
  }

  /** Reserves a name for an ID (the record is saved separately). */
  reserveName(name: string, id: string): void {
    const owner = this.byName.get(name);
    if (owner && owner !== id) {
      throw conflict(
        `Conflict. The container name "${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    this.byName.set(name, id);
  }

  releaseName(name: string, id: string): void {
    if (this.byName.get(name) === id) this.byName.delete(name);
  }

  async save(rec: ContainerRecord): Promise<void> {
    // A late writer (a healthcheck result, say) must not bring a removed container back.
    if (this.removed.has(rec.Id)) return;
    const made = await fsp.mkdir(this.dir(rec.Id), { recursive: true, mode: 0o710 });
    if (made !== undefined && this.group !== 0) await fsp.chown(this.dir(rec.Id), 0, this.group);
    await atomicWriteJson(path.join(this.dir(rec.Id), 'config.v2.json'), rec, 0o600);
    if (this.removed.has(rec.Id)) {
      // Removed while this write was on its way: undo it.
      await fsp.rm(this.dir(rec.Id), { recursive: true, force: true });
      return;
    }
    this.byId.set(rec.Id, rec);
    this.byName.set(rec.Name, rec.Id);
  }

  async delete(id: string): Promise<void> {
    const rec = this.byId.get(id);
    this.removed.add(id);
    // Drop the record first: a crash after this leaves a dir without a record, which open() cleans.
    await fsp.rm(path.join(this.dir(id), 'config.v2.json'), { force: true });
    crashPoint('container.record-removed');
    // Renamed away at once, deleted in the background (the log can be large).
    const trash = path.join(this.root, `.trash-${id}`);
    try {
      renameSync(this.dir(id), trash);
      void fsp.rm(trash, { recursive: true, force: true }).catch(() => undefined);
    } catch {
      await fsp.rm(this.dir(id), { recursive: true, force: true });
    }
    this.byId.delete(id);
    if (rec) this.releaseName(rec.Name, id);
  }
}
