/**
 * @module registry/repositories
 * Per-repository metadata: which manifests and blobs a repository holds,
 * its tags, and the referrers of its manifests. The bytes themselves live
 * once in the content store, shared by every repository; a repository only
 * holds links to them (as the distribution registry does), so deleting from
 * one repository never touches another's content, and a blob is visible in a
 * repository only once it was pushed or mounted there.
 *
 * Layout under `<root>/repositories/<name>/` (name components start with
 * [a-z0-9], so the `_` directories can never clash with a nested repository):
 *   _manifests/revisions/<hex>   the manifest <hex> is in the repository: its record (media type, size, subject)
 *   _manifests/tags/<tag>        the digest the tag points to
 *   _layers/<hex>                the blob <hex> is in the repository (mtime: when it was last linked)
 *   _referrers/<subject hex>/<hex>  the descriptor of manifest <hex>, whose subject is <subject hex>
 *
 * Every file is written to a temp file and renamed, so each change is atomic
 * and a crash leaves either the old or the new state. Readers need no lock.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { digestHex, type Digest } from '../common/reference/digest.js';
import type { Descriptor } from '../common/oci.js';

export interface ManifestRecord {
  digest: Digest;
  mediaType: string;
  size: number;
  /** The digest named by the manifest's `subject`, if any. */
  subject?: Digest;
}

const HEX = /^[0-9a-f]{64}$/;

export class Repositories {
  readonly dir: string;

  constructor(root: string) {
    this.dir = path.join(root, 'repositories');
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
  }

  private repo(name: string): string {
    return path.join(this.dir, ...name.split('/'));
  }

  /** A repository exists once anything was pushed to it. */
  async exists(name: string): Promise<boolean> {
    const r = this.repo(name);
    for (const d of ['_manifests', '_layers']) {
      if (await fsp.stat(path.join(r, d)).then(() => true, () => false)) return true;
    }
    return false;
  }

  // ---- blobs

  async linkBlob(name: string, digest: Digest): Promise<void> {
    const dir = path.join(this.repo(name), '_layers');
    await fsp.mkdir(dir, { recursive: true });
    // Rewriting the link refreshes its mtime: the collector's grace period counts from the last push or mount.
    await atomicWrite(path.join(dir, digestHex(digest)), '');
  }

  async hasBlob(name: string, digest: Digest): Promise<boolean> {
    return fsp.stat(path.join(this.repo(name), '_layers', digestHex(digest))).then(() => true, () => false);
  }

  async unlinkBlob(name: string, digest: Digest): Promise<boolean> {
    return fsp.unlink(path.join(this.repo(name), '_layers', digestHex(digest))).then(() => true, () => false);
  }

  /** Blob digests linked in a repository, with when each was last linked (ms). */
  async blobs(name: string): Promise<{ digest: Digest; linkedMs: number }[]> {
    const dir = path.join(this.repo(name), '_layers');
    const out: { digest: Digest; linkedMs: number }[] = [];
    for (const n of await readdirSafe(dir)) {
      if (!HEX.test(n)) continue;
      const st = await fsp.stat(path.join(dir, n)).catch(() => undefined);
      if (st) out.push({ digest: `sha256:${n}`, linkedMs: st.mtimeMs });
    }
    return out;
  }

  // ---- manifests

  async putManifest(name: string, rec: ManifestRecord, tag: string | undefined, referrer: Descriptor | undefined): Promise<void> {
    const m = path.join(this.repo(name), '_manifests');
    await fsp.mkdir(path.join(m, 'revisions'), { recursive: true });
    // Order matters for readers: the revision first, then what points at it.
    await atomicWrite(path.join(m, 'revisions', digestHex(rec.digest)), JSON.stringify(rec));
    if (rec.subject && referrer) {
      const dir = path.join(this.repo(name), '_referrers', digestHex(rec.subject));
      await fsp.mkdir(dir, { recursive: true });
      await atomicWrite(path.join(dir, digestHex(rec.digest)), JSON.stringify(referrer));
    }
    if (tag !== undefined) {
      await fsp.mkdir(path.join(m, 'tags'), { recursive: true });
      await atomicWrite(path.join(m, 'tags', tag), rec.digest);
    }
  }

  async manifest(name: string, digest: Digest): Promise<ManifestRecord | undefined> {
    const raw = await fsp.readFile(path.join(this.repo(name), '_manifests', 'revisions', digestHex(digest)), 'utf8').catch(() => undefined);
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(raw) as ManifestRecord;
    } catch {
      return undefined;
    }
  }

  async manifests(name: string): Promise<Digest[]> {
    return (await readdirSafe(path.join(this.repo(name), '_manifests', 'revisions'))).filter((n) => HEX.test(n)).map((n) => `sha256:${n}` as Digest);
  }

  /** When a manifest was (last) pushed to the repository, in ms; undefined when it is not there. */
  async manifestPushedMs(name: string, digest: Digest): Promise<number | undefined> {
    const st = await fsp.stat(path.join(this.repo(name), '_manifests', 'revisions', digestHex(digest))).catch(() => undefined);
    return st?.mtimeMs;
  }

  async resolveTag(name: string, tag: string): Promise<Digest | undefined> {
    const raw = await fsp.readFile(path.join(this.repo(name), '_manifests', 'tags', tag), 'utf8').catch(() => undefined);
    return raw ? (raw.trim() as Digest) : undefined;
  }

  /** Tags in lexical order (case-insensitive, ties by bytes), with the digest each points to. */
  async tags(name: string): Promise<string[]> {
    const names = (await readdirSafe(path.join(this.repo(name), '_manifests', 'tags'))).filter((n) => !n.startsWith('.'));
    return names.sort(lexical);
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    return fsp.unlink(path.join(this.repo(name), '_manifests', 'tags', tag)).then(() => true, () => false);
  }

  /** Removes a manifest from a repository: its tags, its entry among its subject's referrers, then the revision. */
  async deleteManifest(name: string, digest: Digest): Promise<boolean> {
    const rec = await this.manifest(name, digest);
    if (!rec) return false;
    for (const t of await this.tags(name)) {
      if ((await this.resolveTag(name, t)) === digest) await this.deleteTag(name, t);
    }
    if (rec.subject) await fsp.rm(path.join(this.repo(name), '_referrers', digestHex(rec.subject), digestHex(digest)), { force: true });
    await fsp.rm(path.join(this.repo(name), '_manifests', 'revisions', digestHex(digest)), { force: true });
    return true;
  }

  /** Descriptors of the manifests in `name` whose subject is `digest`. */
  async referrers(name: string, digest: Digest): Promise<Descriptor[]> {
    const dir = path.join(this.repo(name), '_referrers', digestHex(digest));
    const out: Descriptor[] = [];
    for (const n of (await readdirSafe(dir)).sort()) {
      if (!HEX.test(n)) continue;
      const raw = await fsp.readFile(path.join(dir, n), 'utf8').catch(() => undefined);
      if (raw) out.push(JSON.parse(raw) as Descriptor);
    }
    return out;
  }

  // ---- catalog

  /** Every repository name, in lexical order. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
      if (entries.some((e) => e.name === '_manifests' || e.name === '_layers')) out.push(prefix);
      for (const e of entries) {
        if (e.isDirectory() && !e.name.startsWith('_') && !e.name.startsWith('.')) await walk(path.join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name);
      }
    };
    await walk(this.dir, '');
    return out.filter(Boolean).sort(lexical);
  }
}

/** The spec's tag order: lexical, case-insensitive; equal letters by bytes so the order is total. */
export function lexical(a: string, b: string): number {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  if (la !== lb) return la < lb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

async function readdirSafe(dir: string): Promise<string[]> {
  return fsp.readdir(dir).catch(() => []);
}

async function atomicWrite(p: string, body: string): Promise<void> {
  const tmp = path.join(path.dirname(p), `.tmp-${randomBytes(6).toString('hex')}`);
  await fsp.writeFile(tmp, body);
  await fsp.rename(tmp, p);
}
