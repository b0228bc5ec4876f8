/**
 * @module engine/container/rootfs-readers
 * `docker cp` and `docker export` read (or write) a container's root
 * filesystem for as long as their client takes. They hold the container's
 * lock only to mount the rootfs (a stopped container's) and to count
 * themselves in, not while the client reads: a slow reader must not hold up
 * pause, stop, commit or the exit handler. While any reader is left, an exit
 * leaves the rootfs mounted and a removal waits; the last reader unmounts it
 * if the container is not running.
 */
import { EventEmitter } from 'node:events';
import { notFound } from '../errors.js';
import type { ContainerContext } from './context.js';
import type { ContainerRecord } from './types.js';

export class RootfsReaders {
  /** Readers by container ID. */
  private readonly count = new Map<string, number>();
  /** `free:<id>` when a container's last reader is done. */
  private readonly events = new EventEmitter();

  constructor(private readonly ctx: ContainerContext) {
    this.events.setMaxListeners(0);
  }

  /** Runs `fn` on the container's mounted rootfs (the overlay's merged directory). */
  async use<T>(idOrName: string, fn: (rootfs: string, c: ContainerRecord) => Promise<T>): Promise<T> {
    const c = this.ctx.store.resolve(idOrName);
    const rootfs = await this.ctx.lock(c.Id).run(async () => {
      if (!this.ctx.store.get(c.Id)) throw notFound(`No such container: ${idOrName}`);
      const target = c.State.Running ? this.ctx.rootfs.target(c.Id) : await this.ctx.rootfs.mount(c.Id);
      this.count.set(c.Id, (this.count.get(c.Id) ?? 0) + 1);
      return target;
    });
    try {
      return await fn(rootfs, c);
    } finally {
      const left = (this.count.get(c.Id) ?? 1) - 1;
      if (left > 0) {
        this.count.set(c.Id, left);
      } else {
        this.count.delete(c.Id);
        this.events.emit(`free:${c.Id}`);
        await this.ctx.lock(c.Id).run(async () => {
          if (this.ctx.store.get(c.Id) && !c.State.Running) await this.unmount(c);
        });
      }
    }
  }

  /** Unmounts the rootfs, unless a reader still uses it (the last one unmounts it then). */
  async unmount(c: ContainerRecord): Promise<void> {
    if (this.count.get(c.Id)) return;
    await this.ctx.rootfs.unmount(c.Id).catch(() => undefined);
  }

  /** Resolves once no reader uses the container's rootfs. */
  async free(id: string): Promise<void> {
    while (this.count.get(id)) await new Promise((r) => this.events.once(`free:${id}`, r));
  }
}
