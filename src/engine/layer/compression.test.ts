/**
 * @module engine/layer/compression.test
 * Round trips through the real gzip / xz / zstd / bzip2 tools, error
 * reporting for corrupt data, and a compressed tar applied end to end.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import tar from 'tar-stream';
import { applyLayer } from './apply.js';
import { decompressStream, detectCompression, type Compression } from './compression.js';

function compress(tool: string, data: Buffer): Buffer {
  return execFileSync(tool, ['-c'], { input: data, maxBuffer: 256 * 1024 * 1024 });
}

function chunked(buf: Buffer, size = 4093): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}

async function collect(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

/** Compressible but not trivial: text with random bits mixed in. */
const payload = Buffer.concat(
  Array.from({ length: 200 }, (_, i) => Buffer.concat([Buffer.from(`line ${i} `.repeat(50)), randomBytes(512)])),
);

const tools: [Compression, string][] = [
  ['gzip', 'gzip'],
  ['xz', 'xz'],
  ['zstd', 'zstd'],
  ['bzip2', 'bzip2'],
];

for (const [kind, tool] of tools) {
  test(`${kind}: detected and decompressed (round trip through ${tool})`, async () => {
    const compressed = compress(tool, payload);
    const { compression, stream } = await decompressStream(chunked(compressed));
    assert.equal(compression, kind);
    assert.ok((await collect(stream)).equals(payload));
  });

  test(`${kind}: corrupt data is a stream error`, async () => {
    const compressed = Buffer.from(compress(tool, payload));
    // Keep the magic number, damage the body.
    for (let i = 64; i < compressed.length - 64; i += 97) compressed[i] ^= 0x5a;
    const { compression, stream } = await decompressStream(chunked(compressed));
    assert.equal(compression, kind);
    await assert.rejects(collect(stream));
  });
}

test('none: plain input passes through unchanged, including inputs shorter than the sniff window', async () => {
  for (const data of [payload, Buffer.from('tiny'), Buffer.alloc(0)]) {
    const { compression, stream } = await decompressStream(chunked(data, 3));
    assert.equal(compression, 'none');
    assert.ok((await collect(stream)).equals(data));
  }
});

test('truncated xz and zstd input is reported (non-zero exit)', async () => {
  for (const tool of ['xz', 'zstd']) {
    const compressed = compress(tool, payload);
    const { stream } = await decompressStream(chunked(compressed.subarray(0, compressed.length >> 1)));
    await assert.rejects(collect(stream), new RegExp(`${tool} decompression failed`));
  }
});

test('input errors reach the consumer; destroying the output kills the decompressor', async () => {
  const input = new PassThrough();
  input.write(compress('xz', payload).subarray(0, 100));
  const { stream } = await decompressStream(input);
  const collected = collect(stream);
  input.destroy(new Error('connection reset'));
  await assert.rejects(collected, /connection reset/);

  const input2 = new PassThrough();
  input2.write(compress('zstd', payload).subarray(0, 100));
  const r2 = await decompressStream(input2);
  r2.stream.destroy();
  await new Promise((resolve) => r2.stream.once('close', resolve));
  assert.ok(input2.destroyed);
});

test('detectCompression recognises magic numbers and zstd skippable frames', () => {
  assert.equal(detectCompression(Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0])), 'gzip');
  assert.equal(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0, 0, 0])), 'xz');
  assert.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0, 0, 0])), 'zstd');
  assert.equal(detectCompression(Buffer.from([0x5e, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 0, 0])), 'zstd');
  assert.equal(detectCompression(Buffer.from('BZh91AY&SY')), 'bzip2');
  // A tar whose first file is called "BZh..." is not bzip2.
  assert.equal(detectCompression(Buffer.from('BZh-notes.txt\0\0\0')), 'none');
  assert.equal(detectCompression(Buffer.from('ustar')), 'none');
});

test('a zstd-compressed layer tar applies end to end', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-compress-test-'));
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const pack = tar.pack();
  pack.entry({ name: 'etc/', type: 'directory' });
  pack.entry({ name: 'etc/os-release', mode: 0o644 }, 'ID=berth\n');
  pack.entry({ name: 'etc/.wh.gone' }, '');
  pack.finalize();
  const layer = await collect(pack as unknown as Readable);
  for (const tool of ['zstd', 'gzip']) {
    const root = path.join(base, tool);
    fs.mkdirSync(root);
    const { stream } = await decompressStream(chunked(compress(tool, layer)));
    const res = await applyLayer(root, stream);
    assert.equal(res.size, 'ID=berth\n'.length);
    assert.equal(fs.readFileSync(path.join(root, 'etc/os-release'), 'utf8'), 'ID=berth\n');
    assert.ok(fs.lstatSync(path.join(root, 'etc/gone')).isCharacterDevice());
  }
});
