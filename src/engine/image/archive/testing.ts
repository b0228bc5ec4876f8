/**
 * @module engine/image/archive/testing
 * Helpers for the archive unit tests: a throw-away image service on a temp
 * data root, tar building and reading, and a snapshot of everything on disk
 * so a test can prove that a failed load left the store exactly as it was.
 * Not used by the daemon.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { extract, pack } from 'tar-stream';
import { LocalContentStore } from '../../content/store.js';
import { GarbageCollector } from '../../gc.js';
import { OverlaySnapshotter } from '../../snapshot/overlay.js';
import { ImageStore } from '../store.js';
import { ImageService } from '../service.js';
import type { Digest } from '../../../common/reference/digest.js';

export interface TestStore {
  root: string;
  images: ImageService;
  cleanup(): Promise<void>;
}

export async function openTestStore(): Promise<TestStore> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-archive-test-'));
  const content = await LocalContentStore.open(path.join(root, 'content'));
  const snapshots = await OverlaySnapshotter.open(path.join(root, 'overlay2'));
  const store = await ImageStore.open(path.join(root, 'image'), content);
  const images = new ImageService(store, content, snapshots, new GarbageCollector(content, snapshots));
  return { root, images, cleanup: () => fsp.rm(root, { recursive: true, force: true }) };
}

export interface TarFile {
  name: string;
  body?: string | Buffer;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
  mode?: number;
}

export async function makeTar(files: TarFile[]): Promise<Buffer> {
  const p = pack();
  for (const f of files) {
    if (f.type === 'directory' || f.type === 'symlink' || f.type === 'link') {
      p.entry({ name: f.name, type: f.type, linkname: f.linkname, mode: f.mode ?? 0o755, mtime: new Date(1700000000000) });
    } else {
      p.entry({ name: f.name, mode: f.mode ?? 0o644, mtime: new Date(1700000000000) }, f.body ?? '');
    }
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export interface ReadEntry {
  name: string;
  type: string;
  body: Buffer;
  mode: number;
}

export async function readTar(data: Buffer | Readable): Promise<ReadEntry[]> {
  const ex = extract();
  const input = Buffer.isBuffer(data) ? Readable.from([data]) : data;
  input.pipe(ex as unknown as NodeJS.WritableStream);
  const out: ReadEntry[] = [];
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.push({ name: entry.header.name, type: entry.header.type, body: Buffer.concat(chunks), mode: entry.header.mode });
  }
  return out;
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function sha256(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A small layer: a directory and two files. */
export function sampleLayer(tag = 'one'): Promise<Buffer> {
  return makeTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/hello', body: `hello ${tag}\n` },
    { name: `${tag}.txt`, body: `${tag}\n`.repeat(100) },
  ]);
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir)).sort();
  } catch {
    return [];
  }
}

/** Everything a load may touch: blobs, ingest, layers, short links, image records, references. */
export async function storeState(t: TestStore): Promise<Record<string, unknown>> {
  const s = t.images.store;
  return {
    blobs: await listDir(path.join(t.root, 'content', 'blobs', 'sha256')),
    ingest: await listDir(path.join(t.root, 'content', 'ingest')),
    layers: await listDir(path.join(t.root, 'overlay2', 'layers')),
    links: await listDir(path.join(t.root, 'overlay2', 'l')),
    tmp: await listDir(path.join(t.root, 'overlay2', 'tmp')),
    records: await listDir(path.join(t.root, 'image', 'images')),
    repositories: await fsp.readFile(path.join(t.root, 'image', 'repositories.json'), 'utf8').catch(() => ''),
    images: s
      .list()
      .map((i) => `${i.id} ${s.refsOf(i.id).join(',')}`)
      .sort(),
  };
}
