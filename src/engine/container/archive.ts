/**
 * @module engine/container/archive
 * Files in and out of a container's root filesystem: `docker cp` (the
 * archive API: stat, get an archive of a path, extract an archive into a
 * directory) and `docker export` (the whole rootfs as a tar). Works on
 * running and stopped containers alike: the container service's withRootfs
 * mounts a stopped container's rootfs for the duration, under the
 * container's lock.
 *
 * By concept:
 * - ./scoped-root.ts: path resolution that never leaves the rootfs (moby's
 *   path rules, symlinks followed in scope, mounts in the view, directory
 *   descriptors against a container that races us);
 * - ./archive-out.ts: stat and GET archive (cp out);
 * - ./archive-in.ts: PUT archive (cp in);
 * - ./export.ts: export;
 * - ../layer/tar-writer.ts: the tar writer.
 */
export type { PathStat } from '../../common/pathstat.js';
export { archivePath, goFileMode, goTimeNs, statPath } from './archive-out.js';
export { extractToDir, type ExtractOptions } from './archive-in.js';
export { exportContainer } from './export.js';
export { resolveInRootfs, type RootfsAccess } from './scoped-root.js';
