/**
 * @module engine/network/netns
 * Network namespaces that exist before their container's process and outlive
 * berthd: each is bind-mounted onto a file under `<exec-root>/netns/`, so CNI
 * can wire it before runc joins it, and a restarted daemon still finds it.
 * Its loopback is brought up as it is made: one process (`unshare` running
 * `ip`) rather than CNI's loopback plugin afterwards, a Go binary whose
 * start alone costs ~15 ms of CPU on every container start.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { run } from '../../util/exec.js';

/** Commands run in a new namespace as it is made (see NetnsStore.create). */
export interface NetnsSetup {
  script: string;
  input?: string;
}

export class NetnsStore {
  constructor(readonly dir: string) {}

  pathOf(id: string): string {
    return path.join(this.dir, id.slice(0, 12));
  }

  /**
   * A new network namespace, loopback only and up, pinned at pathOf(id).
   * `setup`: more to do in it before anything joins it, in the same process
   * (a shell script, with its standard input).
   */
  async create(id: string, setup?: NetnsSetup): Promise<string> {
    const p = this.pathOf(id);
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o711 });
    await this.remove(id);
    await fsp.writeFile(p, '', { mode: 0o444 });
    const loUp = ['ip', 'link', 'set', 'dev', 'lo', 'up'];
    try {
      // util-linux unshare keeps the namespace by bind-mounting it onto the file, then runs the command in it.
      await run('unshare', [`--net=${p}`, ...(setup ? ['sh', '-c', `${loUp.join(' ')} && ${setup.script}`] : loUp)], { input: setup?.input });
    } catch (err) {
      await this.remove(id);
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
