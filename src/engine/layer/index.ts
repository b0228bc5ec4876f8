/**
 * @module engine/layer
 * Public entry point for layer handling: detecting a layer blob's compression
 * and decompressing it, then applying the tar onto an overlay2-style diff
 * directory.
 *
 * Runtime needs (install script): coreutils `mknod`, `setfattr` from the Debian
 * package `attr`, and `xz-utils`, `zstd`, `bzip2` for those layer compressions.
 */

export { decompressStream, detectCompression, type Compression } from './compression.js';
export { applyLayer, InvalidLayerError, LayerEscapeError, type ApplyOptions, type ApplyResult } from './apply.js';
