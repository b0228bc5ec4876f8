/**
 * @module engine/layer/errors
 * Error classes raised while applying an image layer. They live in their own
 * module so the tar reader can throw them without importing the applier;
 * `apply.ts` re-exports them as part of its public API.
 */

/** An entry (or a path resolved through a symlink) would land outside the layer root. */
export class LayerEscapeError extends Error {
  override readonly name = 'LayerEscapeError';
}

/** The layer stream is not a tar archive, is truncated or corrupt, or contains an entry we cannot apply. */
export class InvalidLayerError extends Error {
  override readonly name = 'InvalidLayerError';
}
