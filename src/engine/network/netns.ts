/**
 * @module engine/network/netns
 * Network namespaces that exist before their container's process and outlive
 * berthd: each is bind-mounted onto a file under `<exec-root>/netns/`, so CNI
 * can wire it before runc joins it, and a restarted daemon still finds it.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { run } from '../../util/exec.js';

export class NetnsStore {
  constructor(readonly dir: string) {}

  pathOf(id: string): string {
    return path.join(this.dir, id.slice(0, 12));
  }

  /** A new, empty network namespace (loopback only, down) pinned at pathOf(id). */
  async create(id: string): Promise<string> {
    const p = this.pathOf(id);
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o711 });
    await this.remove(id);
    await fsp.writeFile(p, '', { mode: 0o444 });
    try {
      // util-linux unshare keeps the namespace by bind-mounting it onto the file.
      await run('unshare', [`--net=${p}`, 'true']);
    } catch (err) {
      await fsp.rm(p, { force: true });
      throw err;
    }
    return p;
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
    // No file, nothing pinned. A file is almost always a mount point: unmount
    // it rather than reading all of mountinfo (long with many containers) to
    // ask; a file a crash left unmounted just makes umount fail.
    if (!existsSync(p)) return;
    await run('umount', ['-l', p], { allowFailure: true });
    await fsp.rm(p, { force: true });
  }
}
