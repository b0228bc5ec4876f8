/**
 * @module engine/container/users
 * What containers hold on to, read from their records: the images and
 * snapshots they need (for image removal and garbage collection) and the
 * volumes they mount. Given to the image and volume services at
 * construction; they read the container store, not the container service,
 * so no service waits for another to be built.
 */
import type { ImageUsers } from '../image/service.js';
import type { VolumeUsers } from '../volume/service.js';
import { containerSnapshots } from './rootfs.js';
import type { ContainerStore } from './store.js';

export function imageUsers(store: ContainerStore): ImageUsers {
  return {
    containersUsing: (id) => store.list().filter((c) => c.Image === id).map((c) => ({ id: c.Id, running: c.State.Running })),
    snapshotsInUse: () => new Set(store.list().flatMap((c) => [...c.LayerChain, ...containerSnapshots(c.Id)])),
  };
}

export function volumeUsers(store: ContainerStore): VolumeUsers {
  return () => {
    const m = new Map<string, string[]>();
    for (const c of store.list()) {
      for (const u of c.UserMounts ?? []) if (u.Type === 'volume' && u.Name) m.set(u.Name, [...(m.get(u.Name) ?? []), c.Id]);
    }
    return m;
  };
}
