/**
 * @module engine/image/archive/legacy
 * `docker load` of the archive format from before Docker 1.10: no
 * `manifest.json`, a `repositories` file (`{"name": {"tag": "<v1 id>"}}`)
 * and one directory per v1 image, `<v1 id>/json` (the v1 image JSON, with
 * its `parent`) and `<v1 id>/layer.tar`. dockerd 28 still loads it (moby's
 * image/tarexport legacyLoad, removed only after 28): each directory is an
 * image whose layers are its parent's plus its own, and whose config is the
 * v1 JSON rebuilt with a `rootfs` and a `history` (v1.MakeConfigFromV1Config),
 * so the image ID is the digest of those bytes, as dockerd computes it.
 */
import { createHash } from 'node:crypto';
import { invalid } from '../../errors.js';
import type { Digest } from '../../../common/reference/digest.js';
import {
  InvalidReferenceError,
  parseNormalizedNamed,
  type Reference,
} from '../../../common/reference/reference.js';
import type { HistoryEntry, ImageConfigBlob } from '../types.js';
import { REPOSITORIES_FILE } from './format.js';

/** A file of the archive as the loader staged it. */
export interface LegacyBlob {
  digest: Digest;
  size: number;
}

/** What the legacy planner needs of the staged archive (load.ts's StagedArchive). */
export interface LegacyArchive {
  readonly dirs: ReadonlySet<string>;
  readonly files: ReadonlyMap<string, LegacyBlob>;
  lookup(p: string): LegacyBlob | undefined;
  json<T>(staged: LegacyBlob, p: string, what: string): Promise<T>;
  readAll(staged: LegacyBlob): Promise<Buffer>;
  /** The uncompressed tar of a layer file (the file itself when it is a plain tar). */
  uncompressed(file: LegacyBlob): Promise<LegacyBlob>;
}

export interface LegacyPlan {
  id: Digest;
  rawConfig: Buffer;
  config: ImageConfigBlob;
  layerFiles: LegacyBlob[];
  tags: Reference[];
  parent?: Digest;
}

/** docker_version below which dockerd re-encodes the v1 JSON through its V1Image struct (moby's noFallbackMinVersion). */
const NO_FALLBACK_MIN_VERSION = '1.8.3';
/** The fields of moby's image.V1Image, which is all the fallback keeps. */
const V1_IMAGE_FIELDS = ['id', 'parent', 'comment', 'created', 'container', 'container_config', 'docker_version', 'author', 'config', 'architecture', 'variant', 'os', 'Size'];

/** True when the archive is the pre-1.10 layout (`repositories` plus `<id>/json`). */
export function isLegacyArchive(archive: LegacyArchive): boolean {
  if (!archive.lookup(REPOSITORIES_FILE)) return false;
  for (const p of archive.files.keys()) if (/^[^/]+\/json$/.test(p)) return true;
  return false;
}

/** moby's versions.LessThan: dotted numbers compared part by part, missing or non-numeric parts are 0. */
function versionLess(a: string, b: string): boolean {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number.parseInt(pa[i] ?? '0', 10) || 0;
    const y = Number.parseInt(pb[i] ?? '0', 10) || 0;
    if (x !== y) return x < y;
  }
  return false;
}

/** Go's json.Marshal escapes these in strings (HTML safety and JavaScript line terminators). */
function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** json.Marshal of a map[string]*json.RawMessage: keys sorted, values compact. */
function marshalSortedMap(m: Record<string, unknown>): string {
  const keys = Object.keys(m).sort();
  return goEscape(`{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`).join(',')}}`);
}

/** The history entry of one v1 image (moby's v1.HistoryFromConfig): created_by is the container's Cmd joined. */
function historyOf(v1: Record<string, unknown>): HistoryEntry {
  const cmd = (v1.container_config as { Cmd?: unknown } | undefined)?.Cmd;
  const h: HistoryEntry = {};
  if (typeof v1.created === 'string' && v1.created !== '') h.created = v1.created;
  const createdBy = Array.isArray(cmd) ? cmd.map(String).join(' ') : '';
  if (createdBy) h.created_by = createdBy;
  if (typeof v1.author === 'string' && v1.author) h.author = v1.author;
  if (typeof v1.comment === 'string' && v1.comment) h.comment = v1.comment;
  return h;
}

function sha256(b: Buffer): Digest {
  return `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;
}

/**
 * Plans every image of a legacy archive: each top-level directory is one,
 * parents first; tags from `repositories`.
 */
export async function planFromLegacy(archive: LegacyArchive): Promise<{ plans: LegacyPlan[]; uncompressed: Map<LegacyBlob, LegacyBlob> }> {
  const byOldId = new Map<string, LegacyPlan>();
  const plans: LegacyPlan[] = [];
  const uncompressed = new Map<LegacyBlob, LegacyBlob>();
  const loading = new Set<string>();

  const load = async (oldId: string): Promise<LegacyPlan> => {
    const done = byOldId.get(oldId);
    if (done) return done;
    if (loading.has(oldId)) throw invalid(`invalid image archive: image ${oldId} is its own ancestor`);
    loading.add(oldId);
    const jsonFile = archive.lookup(`${oldId}/json`);
    if (!jsonFile) throw invalid(`invalid image archive: ${oldId}/json is missing`);
    const raw = await archive.readAll(jsonFile);
    let v1: Record<string, unknown>;
    try {
      v1 = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      throw invalid(`invalid image archive: ${oldId}/json is not valid JSON: ${(err as Error).message}`);
    }
    if (!v1 || typeof v1 !== 'object' || Array.isArray(v1)) throw invalid(`invalid image archive: ${oldId}/json is not an object`);
    const os = typeof v1.os === 'string' && v1.os ? v1.os : 'linux';
    if (os !== 'linux') throw invalid(`cannot load ${os} image on linux`);

    const parent = typeof v1.parent === 'string' && v1.parent !== '' ? await load(v1.parent) : undefined;
    const layerFile = archive.lookup(`${oldId}/layer.tar`);
    if (!layerFile) throw invalid(`invalid image archive: ${oldId}/layer.tar is missing`);
    let u = uncompressed.get(layerFile);
    if (!u) {
      u = await archive.uncompressed(layerFile);
      uncompressed.set(layerFile, u);
    }

    const diffIds = [...(parent?.config.rootfs.diff_ids ?? []), u.digest];
    const history = [...(parent?.config.history ?? []), historyOf(v1)];
    // Archives from before 1.8.3 carry fields dockerd drops by decoding into its V1Image struct first.
    const kept: Record<string, unknown> = versionLess(typeof v1.docker_version === 'string' ? v1.docker_version : '', NO_FALLBACK_MIN_VERSION)
      ? Object.fromEntries(Object.entries(v1).filter(([k, v]) => V1_IMAGE_FIELDS.includes(k) && v !== '' && v !== null))
      : { ...v1 };
    for (const k of ['id', 'parent', 'Size', 'parent_id', 'layer_id', 'throwaway']) delete kept[k];
    kept.rootfs = { type: 'layers', diff_ids: diffIds };
    kept.history = history;
    const rawConfig = Buffer.from(marshalSortedMap(kept));
    const plan: LegacyPlan = {
      id: sha256(rawConfig),
      rawConfig,
      config: JSON.parse(rawConfig.toString('utf8')) as ImageConfigBlob,
      layerFiles: [...(parent?.layerFiles ?? []), layerFile],
      tags: [],
      ...(parent ? { parent: parent.id } : {}),
    };
    loading.delete(oldId);
    byOldId.set(oldId, plan);
    plans.push(plan);
    return plan;
  };

  // Every top-level directory is an image, in name order (Go's os.ReadDir).
  const tops = new Set<string>();
  for (const d of archive.dirs) tops.add(d.split('/')[0]!);
  for (const p of archive.files.keys()) if (p.includes('/')) tops.add(p.split('/')[0]!);
  for (const oldId of [...tops].sort()) await load(oldId);

  const repositories = await archive.json<Record<string, Record<string, string>> | null>(archive.lookup(REPOSITORIES_FILE)!, REPOSITORIES_FILE, 'file');
  if (!repositories || typeof repositories !== 'object' || Array.isArray(repositories)) throw invalid(`invalid image archive: ${REPOSITORIES_FILE} is not an object`);
  for (const [name, tagMap] of Object.entries(repositories)) {
    for (const [tag, oldId] of Object.entries(tagMap ?? {})) {
      const plan = byOldId.get(String(oldId));
      if (!plan) throw invalid(`invalid target ID: ${String(oldId)}`);
      let ref: Reference;
      try {
        ref = parseNormalizedNamed(name);
        if (ref.tag !== undefined || ref.digest !== undefined) throw new InvalidReferenceError(`invalid repository name "${name}" in ${REPOSITORIES_FILE}`);
        ref = parseNormalizedNamed(`${name}:${tag}`);
      } catch (err) {
        if (err instanceof InvalidReferenceError) throw invalid(err.message);
        throw err;
      }
      plan.tags.push(ref);
    }
  }
  return { plans, uncompressed };
}
