/**
 * @module engine/build/cache-from
 * `--cache-from <image>`: local images as cache sources, with the classic
 * builder's rules (moby image/cache ImageCache.GetCache):
 * - a source matches a step when its history and layers begin with the
 *   state the step starts from (isValidParent) and its next history entry
 *   was made by the same instruction (`created_by` is the step's text:
 *   isValidConfig);
 * - the step's result then reuses that entry and, unless it is an empty
 *   layer, the source's next layer; when the entry is the source's last,
 *   the result is the source image itself (so a rebuild with the same
 *   Dockerfile ends at the same image ID);
 * - once a source has matched mid-way, only it is tried for the following
 *   steps ("avoid jumping to different target").
 * Names that do not resolve to a local image are skipped, as dockerd skips
 * them (with a log line, not an error); nothing is pulled.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Digest } from '../../common/reference/digest.js';
import type { ImageConfigBlob, ImageRecord } from '../image/types.js';
import type { HistoryEntry } from '../image/types.js';

export interface CacheFromHit {
  /** The source image itself (its last history entry matched). */
  image?: ImageRecord;
  /** Otherwise: the history entry to reuse and the layer it made (null: an empty layer). */
  history?: HistoryEntry;
  diffId?: Digest | null;
}

export class CacheFromSources {
  private sources: ImageRecord[];

  constructor(sources: ImageRecord[]) {
    this.sources = sources.filter((s) => (s.config.history ?? []).length > 0);
  }

  get empty(): boolean {
    return this.sources.length === 0;
  }

  /** A source's entry for the step `createdBy` taken from `parent`, or undefined. */
  match(parent: ImageConfigBlob | undefined, createdBy: string): CacheFromHit | undefined {
    const ph = parent?.history ?? [];
    const pd = parent?.rootfs.diff_ids ?? [];
    for (const target of this.sources) {
      const th = target.config.history ?? [];
      const td = target.config.rootfs.diff_ids;
      if (!validParent(th, td, ph, pd)) continue;
      const entry = th[ph.length]!;
      if ((entry.created_by ?? '') !== createdBy) continue;
      if (th.length - 1 === ph.length) return { image: target };
      // The layer this entry made: the layers before it are the entries before it that were not empty.
      let diffId: Digest | null = null;
      if (!entry.empty_layer) {
        const before = th.slice(0, ph.length).filter((h) => !h.empty_layer).length;
        diffId = td[before] ?? null;
        if (!diffId) continue;
      }
      this.sources = [target];
      return { history: entry, diffId };
    }
    return undefined;
  }
}

/** moby isValidParent: the target extends the parent's history and layers. */
function validParent(th: HistoryEntry[], td: Digest[], ph: HistoryEntry[], pd: Digest[]): boolean {
  if (th.length === 0) return false;
  if (ph.length === 0 && pd.length === 0) return true;
  if (ph.length >= th.length || pd.length > td.length) return false;
  for (let i = 0; i < ph.length; i++) if (!isDeepStrictEqual(ph[i], th[i])) return false;
  for (let i = 0; i < pd.length; i++) if (pd[i] !== td[i]) return false;
  return true;
}
