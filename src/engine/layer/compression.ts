/**
 * @module engine/layer/compression
 * Detects how a layer blob is compressed (from its magic number, as Docker's
 * pkg/archive DetectCompression does; the media type is not trusted) and
 * returns a stream of the decompressed bytes.
 *
 * gzip uses node:zlib. xz, zstd and bzip2 run the Debian tools `xz`, `zstd`
 * and `bzip2` (packages xz-utils, zstd, bzip2, which the install script must
 * include) as filters, the same way Docker shells out to `xz`. The child
 * process's failures (corrupt data, non-zero exit, a missing binary) are
 * reported as errors on the returned stream. Destroying the returned stream
 * kills the child and destroys the input.
 */

import { spawn } from 'node:child_process';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';

export type Compression = 'none' | 'gzip' | 'xz' | 'zstd' | 'bzip2';

/** Output chunk of the gzip decompressor (see decompressStream). */
const GUNZIP_CHUNK = 256 * 1024;

/** Longest signature we look at (bzip2 header + block magic). */
const SNIFF_BYTES = 10;

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b, 0x08]);
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
/** bzip2 block magic (BCD pi) and end-of-stream magic (BCD sqrt(pi)); the latter starts an empty stream. */
const BZIP2_BLOCK = Buffer.from([0x31, 0x41, 0x59, 0x26, 0x53, 0x59]);
const BZIP2_EOS = Buffer.from([0x17, 0x72, 0x45, 0x38, 0x50, 0x90]);

/** Identifies the compression from the first bytes of a blob (at least 10 bytes for full accuracy). */
export function detectCompression(head: Buffer): Compression {
  const starts = (m: Buffer): boolean => head.length >= m.length && head.subarray(0, m.length).equals(m);
  if (starts(GZIP_MAGIC)) return 'gzip';
  if (starts(XZ_MAGIC)) return 'xz';
  if (starts(ZSTD_MAGIC)) return 'zstd';
  // zstd skippable frame (magic 0x184D2A5?, little-endian), as Docker's zstdMatcher.
  if (head.length >= 8 && (head.readUInt32LE(0) & 0xfffffff0) === 0x184d2a50) return 'zstd';
  // Docker only checks "BZh". We also check the block size digit and the first
  // block magic, so a plain tar whose first file name starts with "BZh" is not
  // taken for bzip2.
  if (
    head.length >= 10 &&
    head[0] === 0x42 &&
    head[1] === 0x5a &&
    head[2] === 0x68 &&
    head[3]! >= 0x31 &&
    head[3]! <= 0x39 &&
    (head.subarray(4, 10).equals(BZIP2_BLOCK) || head.subarray(4, 10).equals(BZIP2_EOS))
  ) {
    return 'bzip2';
  }
  return 'none';
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'latin1');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError('compressed stream yielded a non-binary chunk');
}

/**
 * Reads at least `n` bytes (fewer only at end of input) without consuming
 * them. If the input has not ended, the bytes are unshifted back. If it has
 * ended, `head` is the whole input.
 */
function peek(input: Readable, n: number): Promise<{ head: Buffer; ended: boolean }> {
  return new Promise((resolve, reject) => {
    if (input.readableEnded) {
      resolve({ head: Buffer.alloc(0), ended: true });
      return;
    }
    if (input.destroyed) {
      reject(input.errored ?? new Error('input stream was destroyed'));
      return;
    }
    const chunks: Buffer[] = [];
    let len = 0;
    const cleanup = (): void => {
      input.off('readable', onReadable);
      input.off('end', onEnd);
      input.off('error', onError);
      input.off('close', onClose);
    };
    const finish = (ended: boolean): void => {
      cleanup();
      const head = Buffer.concat(chunks);
      if (!ended && head.length > 0) input.unshift(head);
      resolve({ head, ended });
    };
    const onReadable = (): void => {
      let c: unknown;
      while (len < n && (c = input.read()) !== null) {
        const b = toBuffer(c);
        chunks.push(b);
        len += b.length;
      }
      if (len >= n) finish(false);
    };
    const onEnd = (): void => finish(true);
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('input stream closed prematurely'));
    };
    input.on('readable', onReadable);
    input.on('end', onEnd);
    input.on('error', onError);
    input.on('close', onClose);
  });
}

/** Runs `<tool> -d -c -q` as a filter over `input`. */
function spawnDecompressor(tool: string, pkg: string, input: Readable): Readable {
  let stderr = '';
  let exited = false;
  const child = spawn(tool, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new Readable({
    read() {
      child.stdout.resume();
    },
    destroy(err, cb) {
      // Consumer gave up (or we failed): stop the child and release the input.
      if (!exited) child.kill('SIGKILL');
      input.unpipe(child.stdin);
      input.destroy();
      cb(err);
    },
  });
  const fail = (err: Error): void => {
    if (!out.destroyed) out.destroy(err);
  };

  child.stdout.on('data', (c: Buffer) => {
    if (!out.push(c)) child.stdout.pause();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 16 * 1024) stderr += d;
  });
  // EPIPE when the tool stops reading (e.g. corrupt data); its exit status is reported instead.
  child.stdin.on('error', () => {});
  child.on('error', (err: NodeJS.ErrnoException) => {
    exited = true;
    fail(err.code === 'ENOENT' ? new Error(`${tool} not found: install the Debian package '${pkg}'`) : err);
  });
  child.on('close', (code, signal) => {
    exited = true;
    if (code === 0) {
      out.push(null);
    } else {
      const why = stderr.trim() || (signal ? `killed by ${signal}` : `exit code ${code}`);
      fail(new Error(`${tool} decompression failed: ${why}`));
    }
  });
  input.on('error', fail);
  input.pipe(child.stdin);
  return out;
}

/**
 * Sniffs the first bytes of `input` and returns the detected compression plus
 * a Readable of the decompressed bytes (the whole stream, sniffed bytes
 * included). For `none` the returned stream is the input itself. The stream
 * errors if the input errors or the decompressor fails.
 */
export async function decompressStream(input: Readable): Promise<{ compression: Compression; stream: Readable }> {
  const { head, ended } = await peek(input, SNIFF_BYTES);
  const compression = detectCompression(head);
  // A tiny input that already ended can't be unshifted back: replay what we read.
  const source = ended ? Readable.from(head.length > 0 ? [head] : [], { objectMode: false }) : input;
  switch (compression) {
    case 'none':
      return { compression, stream: source };
    case 'gzip': {
      // pipeline passes errors both ways: input errors reach the consumer and destroying the output destroys the input.
      // 256 KiB output chunks instead of zlib's 16 KiB: each chunk is a thread-pool round trip, a
      // stream callback and, for a big file, a write; a 40 MiB layer made 2 560 of each (profile of a
      // cold pull: zlib callbacks, fs writes and the GC of their buffers were a third of the main thread).
      const gunzip = pipeline(source, createGunzip({ chunkSize: GUNZIP_CHUNK }), () => {});
      return { compression, stream: gunzip };
    }
    case 'xz':
      return { compression, stream: spawnDecompressor('xz', 'xz-utils', source) };
    case 'zstd':
      return { compression, stream: spawnDecompressor('zstd', 'zstd', source) };
    case 'bzip2':
      return { compression, stream: spawnDecompressor('bzip2', 'bzip2', source) };
  }
}
