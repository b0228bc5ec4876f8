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

export const MT_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MT_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MT_OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MT_OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const MT_DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MT_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MT_DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';

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
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface OciManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[] | null;
  annotations?: Record<string, string>;
}

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

/** The platform berth runs images for, in OCI terms. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: 'linux', architecture: arch[process.arch] ?? 'amd64' };
}
