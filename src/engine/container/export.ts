/**
 * @module engine/container/export
 * `docker export`: a container's root filesystem as one tar, as moby
 * archives BaseFS — the rootfs alone (no runtime mounts: their mount points
 * stay empty), owners translated back to container IDs under
 * --userns-remap. Written like `docker cp`'s archives (./archive-out.ts).
 */
import type { Writable } from 'node:stream';
import { SinkClosedError, TarSink } from '../layer/tar-writer.js';
import { writeDirContents, type ArchiveContext } from './archive-out.js';
import { inRoot, type RootfsAccess } from './scoped-root.js';

/**
 * `GET /containers/{id}/export`: the container's root filesystem as a tar,
 * entries relative to the root ("bin/", "bin/sh", …; the root itself is not
 * an entry), as moby archives BaseFS. Runtime mounts are not in it.
 */
export async function exportContainer(containers: RootfsAccess, idOrName: string, begin: () => Writable): Promise<void> {
  try {
    await inRoot(containers, idOrName, '/', async (root) => {
      // As dockerd: export translates owners back to container IDs; cp (archivePath) shows them as they are on the host.
      const ctx: ArchiveContext = { tar: new TarSink(begin(), containers.idMap), root, links: new Map() };
      await writeDirContents(root.root.fd, [], '', ctx);
      await ctx.tar.finish();
    });
  } catch (err) {
    if (err instanceof SinkClosedError) return;
    throw err;
  }
}

// ---- extraction --------------------------------------------------------------
