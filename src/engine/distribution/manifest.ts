/**
 * @module engine/distribution/manifest
 * Manifest resolution: what a tag or digest names on a registry, down to one
 * image manifest. An index (OCI) or manifest list (Docker) resolves to the
 * entry for the wanted platform (the host's unless `--platform`), as
 * containerd's platforms matcher does: same os and architecture, the
 * variant when asked or when the entry has one for arm. Documents are parsed
 * strictly: an unknown media type or a malformed manifest is refused before
 * anything is downloaded.
 */
import { createHash } from 'node:crypto';
import type { Digest } from '../../common/reference/digest.js';
import {
  CONFIG_MEDIA_TYPES,
  INDEX_MEDIA_TYPES,
  LAYER_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  hostPlatform,
  type Descriptor,
  type OciIndex,
  type OciManifest,
  type Platform,
} from '../../common/oci.js';
import { invalid, notFound } from '../errors.js';
import type { RepositoryClient } from './registry.js';

export function sha256Digest(b: Buffer): Digest {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** Parses `os[/arch[/variant]]` (`--platform`). */
export function parsePlatform(s: string): Platform {
  const parts = s.toLowerCase().split('/');
  if (parts.length > 3 || parts.some((p) => !p)) throw invalid(`"${s}": unknown operating system or architecture: invalid argument`);
  const host = hostPlatform();
  const [os, arch, variant] = parts;
  // "amd64" alone means linux/amd64 (containerd's platforms.Parse).
  if (parts.length === 1 && os !== 'linux' && os !== 'windows' && os !== 'darwin') return { os: 'linux', architecture: normArch(os!).architecture, ...(normArch(os!).variant ? { variant: normArch(os!).variant } : {}) };
  const a = normArch(arch ?? host.architecture);
  const v = variant ?? a.variant;
  return { os: os!, architecture: a.architecture, ...(v ? { variant: v } : {}) };
}

function normArch(a: string): { architecture: string; variant?: string } {
  switch (a) {
    case 'x86_64':
    case 'x86-64':
      return { architecture: 'amd64' };
    case 'aarch64':
      return { architecture: 'arm64' };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    default:
      return { architecture: a };
  }
}

export function platformString(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

export function platformMatches(have: Platform | undefined, want: Platform): boolean {
  if (!have) return false;
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  if (want.variant && have.variant && want.variant !== have.variant) return false;
  if (want.variant && !have.variant && want.architecture === 'arm') return false;
  return true;
}

export interface ResolvedImage {
  /** The digest of the image manifest itself. */
  digest: Digest;
  manifest: OciManifest;
  mediaType: string;
  /** Its size in bytes. */
  size: number;
  /** The index it was picked from, when the reference named one. */
  index?: { digest: Digest; mediaType: string; size: number; platforms: Platform[] };
}

function parseJson(body: Buffer, what: string): Record<string, unknown> {
  try {
    const j = JSON.parse(body.toString('utf8')) as unknown;
    if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error('not an object');
    return j as Record<string, unknown>;
  } catch (err) {
    throw invalid(`${what}: malformed manifest: ${(err as Error).message}`);
  }
}

function checkDescriptor(d: unknown, what: string): Descriptor {
  const x = d as Descriptor;
  if (!x || typeof x !== 'object' || typeof x.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(x.digest) || typeof x.size !== 'number' || x.size < 0) {
    throw invalid(`${what}: malformed descriptor in manifest`);
  }
  return x;
}

/** The media type of a document: its Content-Type, or its own mediaType field when the registry sent a generic one. */
function mediaTypeOf(contentType: string, doc: Record<string, unknown>): string {
  const own = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (MANIFEST_MEDIA_TYPES.has(contentType) || INDEX_MEDIA_TYPES.has(contentType)) return contentType;
  if (own) return own;
  // An OCI manifest may omit mediaType: tell by shape.
  if (Array.isArray(doc.manifests)) return 'application/vnd.oci.image.index.v1+json';
  if (doc.config && Array.isArray(doc.layers)) return 'application/vnd.oci.image.manifest.v1+json';
  return contentType || 'unknown';
}

export function parseManifest(body: Buffer, what: string): OciManifest {
  const doc = parseJson(body, what);
  const m = doc as unknown as OciManifest;
  if (m.schemaVersion !== 2) throw invalid(`${what}: unsupported manifest schema version ${String(m.schemaVersion)}`);
  checkDescriptor(m.config, what);
  if (!CONFIG_MEDIA_TYPES.has(m.config.mediaType)) throw invalid(`${what}: unsupported media type ${m.config.mediaType} for the image config`);
  if (!Array.isArray(m.layers)) throw invalid(`${what}: manifest without layers`);
  for (const l of m.layers) {
    checkDescriptor(l, what);
    if (!LAYER_MEDIA_TYPES.has(l.mediaType)) throw invalid(`unsupported media type ${l.mediaType}`);
  }
  return m;
}

/**
 * Resolves `reference` (tag or digest) in a repository to one image manifest
 * for `platform`. Throws the registry's errors as they come (the caller
 * translates them with the image's name).
 */
export async function resolveImage(repo: RepositoryClient, reference: string, platform: Platform | undefined): Promise<ResolvedImage> {
  const want = platform ?? hostPlatform();
  const got = await repo.getManifest(reference);
  const digest = checkDigest(got.body, reference, got.digest);
  const doc = parseJson(got.body, reference);
  const mt = mediaTypeOf(got.mediaType, doc);
  if (INDEX_MEDIA_TYPES.has(mt)) {
    const index = doc as unknown as OciIndex;
    const entries = (index.manifests ?? []).map((d) => checkDescriptor(d, reference));
    const pick = entries.find((d) => MANIFEST_MEDIA_TYPES.has(d.mediaType) && platformMatches(d.platform, want));
    if (!pick) throw notFound(`no matching manifest for ${platformString(want)} in the manifest list entries`);
    const child = await repo.getManifest(pick.digest);
    checkDigest(child.body, pick.digest, child.digest);
    return {
      digest: pick.digest,
      manifest: parseManifest(child.body, pick.digest),
      mediaType: pick.mediaType,
      size: child.body.length,
      index: { digest, mediaType: mt, size: got.body.length, platforms: entries.filter((e) => e.platform).map((e) => e.platform!) },
    };
  }
  if (!MANIFEST_MEDIA_TYPES.has(mt)) throw invalid(`unsupported manifest media type and no default available: ${mt}`);
  return { digest, manifest: parseManifest(got.body, reference), mediaType: mt, size: got.body.length };
}

/** A manifest fetched by digest must hash to it; by tag, the registry's header (if any) must agree. */
function checkDigest(body: Buffer, reference: string, header?: string): Digest {
  const actual = sha256Digest(body);
  if (reference.startsWith('sha256:') && reference !== actual) throw invalid(`manifest verification failed for digest ${reference}`);
  if (header && header.startsWith('sha256:') && header !== actual) throw invalid(`manifest verification failed for digest ${header}`);
  return actual;
}
