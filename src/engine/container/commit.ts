/**
 * @module engine/container/commit
 * A container's changes: `docker diff` (A/C/D against its image) and
 * `docker commit` (its writable layer as a new layer on its image; a running
 * container is paused meanwhile unless asked not to be). The snapshot work
 * is ./rootfs.ts's.
 */
import { conflict, notFound } from '../errors.js';
import { applyChanges } from '../image/changes.js';
import type { Change } from '../layer/diff.js';
import type { ContainerContext } from './context.js';
import type { ContainerLifecycle } from './lifecycle.js';
import type { ContainerConfig } from './types.js';

export class ContainerCommitter {
  constructor(
    private readonly ctx: ContainerContext,
    private readonly lifecycle: ContainerLifecycle,
  ) {}

  /** `docker diff`: the container's changes relative to its image (A/C/D). */
  async changes(idOrName: string): Promise<Change[]> {
    const c = this.ctx.store.resolve(idOrName);
    return this.ctx.rootfs.changes(c.Id);
  }

  /**
   * `docker commit`: the container's upper layer becomes one new layer on its
   * image. The image's own layers are shared, not copied. A running container
   * is paused meanwhile unless `pause` is false.
   */
  async commit(
    idOrName: string,
    o: { ref?: string; author?: string; comment?: string; changes?: string[]; config?: Partial<ContainerConfig>; pause?: boolean },
  ): Promise<string> {
    const c = this.ctx.store.resolve(idOrName);
    // Under the container's lock: an exit meanwhile must not unmount the rootfs being committed.
    return this.ctx.lock(c.Id).run(async () => {
      if (!this.ctx.store.get(c.Id)) throw notFound(`No such container: ${idOrName}`);
      if (c.State.Status === 'removing' || c.State.Dead) throw conflict(`You cannot commit container ${c.Id} which is being removed`);
      // As dockerd: only a running container is paused, and a pause that fails (it has just exited) is no reason to stop.
      let paused = false;
      if ((o.pause ?? true) && c.State.Running && !c.State.Paused) {
        paused = await this.lifecycle.pauseLocked(c).then(() => true, () => false);
      }
      try {
        let config: ContainerConfig = { ...c.Config, ...(o.config ?? {}) } as ContainerConfig;
        if (o.changes?.length) config = applyChanges(config, o.changes) as ContainerConfig;
        const parent = this.ctx.images.store.get(c.Image);
        const img = await this.ctx.images.createChild(parent, (top) => this.ctx.rootfs.commit(c.Id, top, c.State.Running), {
          config,
          history: {
            created: new Date().toISOString(),
            ...(o.author ? { author: o.author } : {}),
            created_by: (c.Config.Cmd ?? []).join(' '),
            ...(o.comment ? { comment: o.comment } : {}),
          },
          author: o.author,
          comment: o.comment,
          container: c.Id,
          containerConfig: c.Config,
          ref: o.ref,
        });
        return img.id;
      } finally {
        if (paused) await this.lifecycle.unpauseLocked(c).catch(() => undefined);
      }
    });
  }
}
