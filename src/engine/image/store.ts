/**
 * Image store: image records (keyed by config digest) and the reference
 * store (repository:tag → image ID), both on disk under `<root>`:
 *   images/<hex>.json      ImageRecord minus the config (which is a blob)
 *   repositories.json      {"refs": {"docker.io/library/busybox:latest": "sha256:…"}}
 * Lookup follows dockerd's rules: full ID, then reference, then ID prefix.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { LABEL_GC_REF_CONTENT, writeBlob, type ContentStore } from '../content/content.js';
import { randomRef } from '../content/store.js';
import { digestHex, type Digest } from '../../common/reference/digest.js';
import {
  familiarString,
  parseDockerRef,
  referenceString,
  InvalidReferenceError,
  type Reference,
} from '../../common/reference/reference.js';
import { atomicWriteJson, readJsonIfExists } from '../../util/fs.js';
import { conflict, invalid, notFound } from '../errors.js';
import { quarantine, type Finding } from '../check/finding.js';
import type { ImageConfigBlob, ImageRecord } from './types.js';
import { crashPoint } from '../../util/crash.js';

type StoredRecord = Omit<ImageRecord, 'config'>;

interface RepositoriesFile {
  refs: Record<string, Digest>;
}

export class ImageStore {
  private readonly images = new Map<Digest, ImageRecord>();
  private refs: Record<string, Digest> = {};

  private constructor(
    private readonly root: string,
    /** The content store holding config blobs (and layer blobs): image archives read and stage through it. */
    readonly content: ContentStore,
  ) {}

  static async open(root: string, content: ContentStore): Promise<ImageStore> {
    await fsp.mkdir(path.join(root, 'images'), { recursive: true });
    const store = new ImageStore(root, content);
    await store.load();
    return store;
  }

  private async load(): Promise<void> {
    for (const name of await fsp.readdir(path.join(this.root, 'images'))) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      const rec = await readJsonIfExists<StoredRecord>(path.join(this.root, 'images', name)).catch(() => undefined);
      if (!rec) continue;
      try {
        const config = JSON.parse((await this.content.readAll(rec.id)).toString()) as ImageConfigBlob;
        this.images.set(rec.id, { ...rec, config });
      } catch {
        // A record whose config blob is gone cannot be used; leave it out.
      }
    }
    // An unreadable tag file leaves the images untagged (the check reports it).
    const repos = await readJsonIfExists<RepositoriesFile>(path.join(this.root, 'repositories.json')).catch(() => undefined);
    this.refs = {};
    for (const [ref, id] of Object.entries(repos?.refs ?? {})) if (this.images.has(id)) this.refs[ref] = id;
  }

  /**
   * Records that load() left out, and tags that point at nothing (the
   * check's image-record part): records that cannot be read or whose config
   * blob is gone (a repair moves them to `quarantine`: the image cannot be
   * used, but the record says what it was), an unreadable repositories.json,
   * and tags of images that are not there (a repair rewrites the file
   * without them).
   */
  async problems(o: { quarantine?: string }): Promise<Finding[]> {
    const out: Finding[] = [];
    const q = o.quarantine;
    for (const name of await fsp.readdir(path.join(this.root, 'images'))) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      const file = path.join(this.root, 'images', name);
      const rec = await readJsonIfExists<StoredRecord>(file).catch(() => undefined);
      if (rec && this.images.has(rec.id)) continue;
      const move = q ? { action: `move the record to ${q}`, fix: async () => void (await quarantine(file, q)) } : {};
      if (!rec || !/^sha256:[0-9a-f]{64}$/.test(rec.id ?? '')) out.push({ kind: 'record-unreadable', subject: `image/images/${name}`, message: 'an image record that cannot be read', ...move });
      else out.push({ kind: 'image-config-missing', subject: rec.id, message: 'an image whose config blob is gone or unreadable: it cannot be used (pull or load it again)', ...move });
    }
    const reposFile = path.join(this.root, 'repositories.json');
    let onDisk: RepositoriesFile | undefined;
    try {
      onDisk = await readJsonIfExists<RepositoriesFile>(reposFile);
    } catch {
      out.push({
        kind: 'record-unreadable',
        subject: 'image/repositories.json',
        message: 'the tag file cannot be read: images are untagged',
        ...(q ? { action: `move it to ${q} and write the tags known`, fix: async () => void (await quarantine(reposFile, q), await this.saveRefs()) } : {}),
      });
    }
    for (const [ref, id] of Object.entries(onDisk?.refs ?? {})) {
      if (this.refs[ref] === id || this.images.has(id)) continue;
      out.push({ kind: 'tag-dangling', subject: ref, message: `the tag points at ${id}, which is not there`, action: 'remove the tag', fix: () => this.saveRefs() });
    }
    return out;
  }

  /** Stores the config blob and the record; returns the image ID. */
  async put(config: ImageConfigBlob, rest: Omit<StoredRecord, 'id'>, rawConfig?: Buffer): Promise<ImageRecord> {
    const bytes = rawConfig ?? Buffer.from(JSON.stringify(config));
    // The config blob names the image's layer blobs, so what holds the config holds them (containerd's gc.ref labels).
    const labels: Record<string, string> = {};
    rest.layers.forEach((l, i) => {
      if (l.blob) labels[`${LABEL_GC_REF_CONTENT}l.${i}`] = l.blob.digest;
    });
    const { digest } = await writeBlob(this.content, randomRef('config'), bytes, { labels });
    crashPoint('image.config-written');
    const rec: ImageRecord = { ...rest, id: digest, config };
    const stored: StoredRecord = { ...rest, id: digest };
    await atomicWriteJson(path.join(this.root, 'images', `${digestHex(digest)}.json`), stored);
    this.images.set(digest, rec);
    return rec;
  }

  get(id: Digest): ImageRecord | undefined {
    return this.images.get(id);
  }

  list(): ImageRecord[] {
    return [...this.images.values()];
  }

  /** The image a reference (full string, e.g. "docker.io/library/busybox:latest") points at. */
  refTarget(ref: string): Digest | undefined {
    return this.refs[ref];
  }

  /** References (full strings) that point at an image. */
  refsOf(id: Digest): string[] {
    return Object.entries(this.refs)
      .filter(([, v]) => v === id)
      .map(([k]) => k)
      .sort();
  }

  /**
   * Finds an image by full or short ID, or by reference ("busybox" means
   * docker.io/library/busybox:latest). Throws 404 "No such image".
   */
  resolve(nameOrId: string): ImageRecord {
    const found = this.find(nameOrId);
    if (found) return found;
    // dockerd's GetImage parses first (reference.ParseAnyReference): a name that is no reference and no ID prefix is a 400.
    if (!/^(?:sha256:)?[0-9a-f]{1,64}$/.test(nameOrId)) {
      try {
        parseDockerRef(nameOrId);
      } catch (err) {
        if (err instanceof InvalidReferenceError) throw invalid(err.message);
        throw err;
      }
    }
    throw notFound(`No such image: ${displayName(nameOrId)}`);
  }

  find(nameOrId: string): ImageRecord | undefined {
    const full = /^sha256:([0-9a-f]{64})$/.exec(nameOrId);
    if (full) return this.images.get(nameOrId as Digest);
    let ref: Reference | undefined;
    try {
      ref = parseDockerRef(nameOrId);
    } catch {
      ref = undefined;
    }
    if (ref) {
      const id = this.refs[referenceString(ref)];
      if (id) return this.images.get(id);
    }
    const prefix = /^(?:sha256:)?([0-9a-f]{1,64})$/.exec(nameOrId);
    if (prefix) {
      const matches = [...this.images.keys()].filter((id) => digestHex(id).startsWith(prefix[1]!));
      if (matches.length === 1) return this.images.get(matches[0]!);
      if (matches.length > 1) throw conflict(`multiple IDs found with provided prefix: ${nameOrId}`);
    }
    return undefined;
  }

  /** Points `ref` (a full reference string) at an image, replacing any previous target. */
  async tag(ref: string, id: Digest): Promise<Digest | undefined> {
    const rec = this.images.get(id);
    if (!rec) throw notFound(`No such image: ${id}`);
    const previous = this.refs[ref];
    this.refs[ref] = id;
    await this.saveRefs();
    rec.lastTagTime = new Date().toISOString();
    await this.saveRecord(rec);
    return previous !== id ? previous : undefined;
  }

  async untag(ref: string): Promise<void> {
    delete this.refs[ref];
    await this.saveRefs();
  }

  /** Deletes the image record; its config and layers are the garbage collector's to take. */
  async delete(id: Digest): Promise<void> {
    for (const [ref, target] of Object.entries(this.refs)) if (target === id) delete this.refs[ref];
    await this.saveRefs();
    crashPoint('image.untagged');
    await fsp.rm(path.join(this.root, 'images', `${digestHex(id)}.json`), { force: true });
    this.images.delete(id);
  }

  private async saveRecord(rec: ImageRecord): Promise<void> {
    const { config: _config, ...stored } = rec;
    await atomicWriteJson(path.join(this.root, 'images', `${digestHex(rec.id)}.json`), stored);
  }

  private async saveRefs(): Promise<void> {
    await atomicWriteJson(path.join(this.root, 'repositories.json'), { refs: this.refs } satisfies RepositoriesFile);
  }
}

/** How Docker names a missing image: references get their default tag ("nosuch:latest"). */
export function displayName(nameOrId: string): string {
  if (/^(sha256:)?[0-9a-f]{1,64}$/.test(nameOrId)) return nameOrId;
  try {
    return familiarString(parseDockerRef(nameOrId));
  } catch {
    return nameOrId;
  }
}

/** Parses a user-supplied reference for tagging, as a 400 error when malformed. */
export function parseTagReference(s: string): Reference {
  try {
    return parseDockerRef(s);
  } catch (err) {
    if (err instanceof InvalidReferenceError) throw invalid(err.message);
    throw err;
  }
}
