/**
 * @module engine/image/archive/format
 * The shapes inside an image archive, shared by save and load: Docker's
 * `manifest.json` (the docker-archive index that `docker save` has written
 * since 1.10), the legacy `repositories` file, and the OCI image-layout pieces
 * (`oci-layout`, `index.json`, manifests, descriptors) that Docker 25+ writes
 * next to them and that OCI tools (skopeo, buildx, containerd) write alone.
 * Field order follows the Go structs, so JSON.stringify gives the same bytes
 * as Docker's json.Marshal.
 */
import type { Digest } from '../../../common/reference/digest.js';

export const MANIFEST_FILE = 'manifest.json';
export const REPOSITORIES_FILE = 'repositories';
export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_INDEX_FILE = 'index.json';
/** The exact bytes Docker writes (a Go string constant, hence the space). */
export const OCI_LAYOUT_CONTENT = '{"imageLayoutVersion": "1.0.0"}';

export * from '../../../common/oci.js';

/** distribution.Descriptor as Docker writes it in LayerSources (its own field order). */
export interface LayerSource {
  mediaType?: string;
  size?: number;
  digest?: Digest;
  urls?: string[];
}

/** One entry of manifest.json (moby image/tarexport manifestItem). */
export interface ManifestItem {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
  Parent?: Digest;
  LayerSources?: Record<string, LayerSource>;
}

/** `blobs/sha256/<hex>`: where a blob lives in both layouts. */
export function blobPath(digest: Digest): string {
  const i = digest.indexOf(':');
  return `blobs/${digest.slice(0, i)}/${digest.slice(i + 1)}`;
}
