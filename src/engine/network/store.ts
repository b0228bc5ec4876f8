/**
 * @module engine/network/store
 * Records of user-defined networks: one JSON file per network under
 * `<data-root>/network/networks/<id>.json`, written to a temp file and
 * renamed so a daemon killed mid-write keeps the old record or the new one.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { PoolConfig } from './ipam.js';

/** A user-defined network as berth keeps it: what `network create` asked for, filled with what was chosen. */
export interface NetworkRecord {
  Id: string;
  Name: string;
  Created: string;
  Driver: 'bridge';
  Internal: boolean;
  Attachable: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: PoolConfig[] };
  /** Driver options as given (`-o`); the bridge's name is one of them. */
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** The Linux bridge (`br-<id12>` unless `com.docker.network.bridge.name` says otherwise). */
  BridgeName: string;
}

export class NetworkStore {
  private readonly records = new Map<string, NetworkRecord>();

  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<NetworkStore> {
    const s = new NetworkStore(dir);
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    for (const f of await fsp.readdir(dir)) {
      if (!f.endsWith('.json')) {
        // A temp file a crash left behind.
        if (f.endsWith('.tmp')) await fsp.rm(path.join(dir, f), { force: true });
        continue;
      }
      try {
        const rec = JSON.parse(await fsp.readFile(path.join(dir, f), 'utf8')) as NetworkRecord;
        s.records.set(rec.Id, rec);
      } catch {
        // An unreadable record is skipped, not fatal: the daemon must start.
      }
    }
    return s;
  }

  list(): NetworkRecord[] {
    return [...this.records.values()];
  }

  get(id: string): NetworkRecord | undefined {
    return this.records.get(id);
  }

  async save(rec: NetworkRecord): Promise<void> {
    const file = path.join(this.dir, `${rec.Id}.json`);
    await fsp.writeFile(`${file}.tmp`, JSON.stringify(rec));
    await fsp.rename(`${file}.tmp`, file);
    this.records.set(rec.Id, rec);
  }

  async remove(id: string): Promise<void> {
    await fsp.rm(path.join(this.dir, `${id}.json`), { force: true });
    this.records.delete(id);
  }
}
