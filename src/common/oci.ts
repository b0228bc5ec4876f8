/**
 * @module common/oci
 * The shapes images travel in, shared by everything that reads or writes
 * them: image archives (save/load), the registry client (pull/push) and the
 * registry server. OCI image-spec and Docker distribution media types,
 * descriptors, manifests, indexes and platforms. Field order follows the Go
 * structs (ocispec), so JSON.stringify gives the same bytes as json.Marshal.
 */
import type { Digest } from './reference/digest.js';

export const MT_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MT_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MT_OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MT_OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const MT_OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MT_OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
/** OCI 1.1: the config of an artifact manifest that has no config of its own. */
export const MT_OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const MT_DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MT_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MT_DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const MT_DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';
export const MT_DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** Annotation containerd (and Docker 25+) put on index.json entries: the full image name. */
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
/** OCI's reference annotation: Docker writes the tag; other tools write a tag or a whole name. */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

export const INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([MT_OCI_INDEX, MT_DOCKER_MANIFEST_LIST]);
export const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set([MT_OCI_MANIFEST, MT_DOCKER_MANIFEST]);
export const CONFIG_MEDIA_TYPES: ReadonlySet<string> = new Set([MT_OCI_CONFIG, MT_DOCKER_CONFIG]);
/**
 * Layer media types berth can unpack. The compression itself is detected
 * from the blob's first bytes (as Docker does), and the result is checked
 * against the config's diff ID, so a mislabelled blob cannot slip through.
 */
export const LAYER_MEDIA_TYPES: ReadonlySet<string> = new Set([
  MT_OCI_LAYER,
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

/** An OCI content descriptor (ocispec.Descriptor field order). */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  /** OCI 1.1: an artifact's type, on descriptors of manifests (the referrers list shows it). */
  artifactType?: string;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

/** An image manifest: OCI's, or Docker schema 2 (same shape, its own media types). */
export interface OciManifest {
  schemaVersion: 2;
  mediaType?: string;
  /** OCI 1.1 artifacts. */
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  /** OCI 1.1: the manifest this one refers to (the referrers API indexes it). */
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An image index: OCI's, or Docker's manifest list. */
export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[] | null;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** The platform berth runs images for, in OCI terms. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: 'linux', architecture: arch[process.arch] ?? 'amd64' };
}
