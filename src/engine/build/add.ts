/**
 * @module engine/build/add
 * What ADD does beyond COPY: a URL source is downloaded (its file name is
 * the URL path's last segment, its mtime the Last-Modified header, as
 * dockerd does), and a local tar archive — plain, gzip, bzip2, xz or zstd —
 * is unpacked into the destination rather than copied. Unpacking goes
 * through the layer applier (escape checks) into a scratch directory first,
 * then through COPY's confined copy into the root filesystem.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { applyLayer, decompressStream, detectCompression, InvalidLayerError, LayerEscapeError } from '../layer/index.js';
import { invalid } from '../errors.js';
import { copyInto } from './copy.js';

export interface Downloaded {
  file: string;
  name: string;
  sha256: string;
}

export async function addSource(url: string, tmp: string): Promise<Downloaded> {
  const name = path.posix.basename(new URL(url).pathname);
  if (!name) throw invalid(`cannot determine filename from url: ${url}`);
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow' });
  } catch (err) {
    throw invalid(`failed to GET ${url}: ${(err as Error).message}`);
  }
  if (!res.ok || !res.body) throw invalid(`failed to GET ${url} with status ${res.status} ${res.statusText}`);
  const file = path.join(tmp, `download-${createHash('sha256').update(url + Date.now() + Math.random()).digest('hex').slice(0, 16)}`);
  const h = createHash('sha256');
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  body.on('data', (b: Buffer) => h.update(b));
  await pipeline(body, createWriteStream(file, { mode: 0o600 }));
  const lm = res.headers.get('last-modified');
  const t = lm ? Date.parse(lm) : NaN;
  if (!Number.isNaN(t)) await fsp.utimes(file, t / 1000, t / 1000);
  return { file, name, sha256: h.digest('hex') };
}

/** The first `n` bytes of a stream (fewer at its end). */
async function head(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const c of stream) {
    chunks.push(c as Buffer);
    got += (c as Buffer).length;
    if (got >= n) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, n);
}

/** A tar header: its checksum is right (Go's archive/tar accepts signed or unsigned sums). */
function isTarHeader(b: Buffer): boolean {
  if (b.length < 512) return false;
  const stored = Number.parseInt(b.subarray(148, 156).toString('latin1').replace(/\0.*$/, '').trim(), 8);
  if (Number.isNaN(stored)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  return sum === stored;
}

/** Unpacks `file` into `dest` of `rootfs` if it is a (possibly compressed) tar; false when it is not one. */
export async function unpackArchive(file: string, rootfs: string, dest: string, tmp: string, owner?: { uid: number; gid: number }): Promise<boolean> {
  const magic = await head(createReadStream(file, { end: 15 }), 16);
  const comp = detectCompression(magic);
  const first = comp === 'none' ? await head(createReadStream(file), 512) : await head((await decompressStream(createReadStream(file))).stream, 512).catch(() => Buffer.alloc(0));
  if (!isTarHeader(first)) return false;
  const dir = await fsp.mkdtemp(path.join(tmp, 'add-'));
  try {
    await fsp.chmod(dir, 0o755);
    try {
      await applyLayer(dir, (await decompressStream(createReadStream(file))).stream);
    } catch (err) {
      if (err instanceof InvalidLayerError || err instanceof LayerEscapeError) throw invalid(`ADD failed: ${path.basename(file)}: ${err.message}`);
      throw err;
    }
    await copyInto(rootfs, dir, dest, { owner });
    return true;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
