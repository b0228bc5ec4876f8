/**
 * Image data types: the image config blob as Docker writes it (the OCI image
 * config plus Docker's extra fields), and berth's own image record.
 */
import type { Digest } from '../../common/reference/digest.js';
import type { ContainerConfig } from '../../common/api/container.js';

/** The `config` section of an image config: Docker's container Config less what only a container has. */
export type ImageRunConfig = Omit<ContainerConfig, 'NetworkDisabled' | 'MacAddress'>;

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The image config blob (application/vnd.docker.container.image.v1+json / OCI image config). */
export interface ImageConfigBlob {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  comment?: string;
  docker_version?: string;
  config?: ImageRunConfig;
  container?: string;
  container_config?: ImageRunConfig;
  history?: HistoryEntry[];
  rootfs: { type: 'layers'; diff_ids: Digest[] };
}

/** A layer as the image knows it: its uncompressed digest and, when stored, its blob. */
export interface ImageLayer {
  diffId: Digest;
  /** The blob in the content store (compressed or not) and its media type. */
  blob?: { digest: Digest; mediaType: string; size: number };
}

/** berth's record of one image; its ID is the digest of its config blob. */
export interface ImageRecord {
  id: Digest;
  config: ImageConfigBlob;
  layers: ImageLayer[];
  /** Image this one was built or committed from (local only, like Docker's Parent). */
  parent?: Digest;
  /** When the image was last tagged (Metadata.LastTagTime). */
  lastTagTime?: string;
}

export { MT_DOCKER_LAYER as MEDIA_TYPE_LAYER_TAR, MT_DOCKER_LAYER_GZIP as MEDIA_TYPE_LAYER_GZIP } from '../../common/oci.js';
