/**
 * @module registry/manifests
 * What makes a manifest acceptable: JSON of a known media type (OCI and
 * Docker schema 2 manifests and indexes), well-formed descriptors, every
 * blob and child manifest it names already in the repository
 * (MANIFEST_BLOB_UNKNOWN otherwise, so a tag never points at something that
 * cannot be pulled), and what the registry records from it: the media type
 * to serve it with, and its `subject` (for the referrers API) with the
 * descriptor the referrers list shows. A manifest's `subject` need not exist
 * (the spec lets referrers come first).
 */
import {
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  MT_DOCKER_MANIFEST,
  MT_DOCKER_MANIFEST_LIST,
  MT_OCI_INDEX,
  MT_OCI_MANIFEST,
  type Descriptor,
  type OciIndex,
  type OciManifest,
} from '../common/oci.js';
import { parseDigest, type Digest } from '../common/reference/digest.js';
import { regError } from './errors.js';

export const MANIFEST_TYPES: ReadonlySet<string> = new Set([MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST, MT_DOCKER_MANIFEST_LIST]);

export interface ParsedManifest {
  mediaType: string;
  /** Blobs (config, layers) the manifest needs in the repository. */
  blobs: Digest[];
  /** Manifests (an index's entries) it needs in the repository. */
  manifests: Digest[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** For a manifest: its config's media type (the referrers list's artifactType fallback). */
  configMediaType?: string;
}

function invalid(message: string, detail?: unknown): Error {
  return regError('MANIFEST_INVALID', message, detail);
}

function descriptor(d: unknown, where: string): Descriptor {
  if (!d || typeof d !== 'object') throw invalid(`${where}: not a descriptor`);
  const o = d as Record<string, unknown>;
  if (typeof o.mediaType !== 'string' || !o.mediaType) throw invalid(`${where}: mediaType missing`);
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) throw invalid(`${where}: invalid size`);
  if (typeof o.digest !== 'string') throw invalid(`${where}: digest missing`);
  try {
    parseDigest(o.digest);
  } catch (err) {
    throw regError('MANIFEST_INVALID', `${where}: invalid digest ${JSON.stringify(o.digest)}: ${(err as Error).message}`);
  }
  return o as unknown as Descriptor;
}

/** The media type a PUT means: the body's `mediaType`, else the Content-Type (parameters ignored), else guessed from the shape. */
function mediaTypeOf(doc: Record<string, unknown>, contentType: string | undefined): string {
  const ct = contentType?.split(';')[0]!.trim().toLowerCase();
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const ctUseful = ct && ct !== 'application/json' && ct !== 'application/octet-stream';
  if (declared && ctUseful && declared !== ct) throw invalid(`manifest mediaType ${declared} does not match Content-Type ${ct}`);
  if (declared) return declared;
  if (ctUseful) return ct;
  return Array.isArray(doc.manifests) ? MT_OCI_INDEX : MT_OCI_MANIFEST;
}

export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalid(`manifest is not JSON: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw invalid('manifest is not a JSON object');
  const o = doc as Record<string, unknown>;
  if (o.schemaVersion !== 2) throw invalid(o.schemaVersion === 1 ? 'schema 1 manifests are not supported' : `unsupported schemaVersion ${JSON.stringify(o.schemaVersion)}`);
  const mediaType = mediaTypeOf(o, contentType);
  if (!MANIFEST_TYPES.has(mediaType)) throw invalid(`unsupported manifest media type ${mediaType}`);
  const out: ParsedManifest = { mediaType, blobs: [], manifests: [] };
  if (o.subject !== undefined) out.subject = descriptor(o.subject, 'subject');
  if (typeof o.artifactType === 'string') out.artifactType = o.artifactType;
  if (o.annotations && typeof o.annotations === 'object') out.annotations = o.annotations as Record<string, string>;
  if (MANIFEST_MEDIA_TYPES.has(mediaType)) {
    const m = o as unknown as OciManifest;
    if (Array.isArray((o as { manifests?: unknown }).manifests)) throw invalid('an image manifest has no manifests list');
    const config = descriptor(m.config, 'config');
    out.configMediaType = config.mediaType;
    out.blobs.push(config.digest);
    if (!Array.isArray(m.layers)) throw invalid('layers missing');
    m.layers.forEach((l, i) => {
      const d = descriptor(l, `layers[${i}]`);
      // Foreign layers (with urls) live elsewhere: the registry need not hold them.
      if (!d.urls?.length) out.blobs.push(d.digest);
    });
  } else if (INDEX_MEDIA_TYPES.has(mediaType)) {
    const ix = o as unknown as OciIndex;
    if (!Array.isArray(ix.manifests)) throw invalid('manifests missing');
    ix.manifests.forEach((d, i) => {
      const desc = descriptor(d, `manifests[${i}]`);
      out.manifests.push(desc.digest);
    });
  }
  return out;
}

/** The descriptor the referrers API lists for a manifest with a subject. */
export function referrerDescriptor(p: ParsedManifest, digest: Digest, size: number): Descriptor {
  const artifactType = p.artifactType ?? (MANIFEST_MEDIA_TYPES.has(p.mediaType) ? p.configMediaType : undefined);
  return {
    mediaType: p.mediaType,
    digest,
    size,
    ...(artifactType ? { artifactType } : {}),
    ...(p.annotations && Object.keys(p.annotations).length ? { annotations: p.annotations } : {}),
  };
}

/** What a stored manifest refers to, for the collector: blobs and child manifests. */
export function manifestChildren(body: Buffer): Digest[] {
  try {
    const o = JSON.parse(body.toString('utf8')) as Partial<OciManifest & OciIndex>;
    const out: Digest[] = [];
    if (o.config?.digest) out.push(o.config.digest);
    for (const l of o.layers ?? []) if (l?.digest) out.push(l.digest);
    for (const m of o.manifests ?? []) if (m?.digest) out.push(m.digest);
    return out.filter((d) => /^sha256:[0-9a-f]{64}$/.test(d));
  } catch {
    return [];
  }
}
