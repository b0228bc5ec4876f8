/**
 * @module engine/layer/tar-writer
 * Writing tar archives: the one module that does, for every archive berth
 * produces. Two encoders behind one header vocabulary, chosen by who reads
 * the result:
 *
 * - `TarWriter`, on tar-stream's pack: layer tars (`docker commit`'s diff,
 *   ../layer/diff.ts) and image archives (`docker save`,
 *   ../image/archive/save.ts). Entries are written one at a time, each
 *   awaited, with backpressure from whoever reads the archive.
 * - `TarSink`, Go's `archive/tar` in PAX format byte for byte: the archive
 *   endpoints (`docker cp`, `docker export`, ../container/archive-*.ts),
 *   whose output tests compare with dockerd's. tar-stream cannot produce
 *   those bytes: it masks the file-type bits Docker keeps in the mode field
 *   (`fillGo18FileTypeBits`), pads numeric fields differently and names PAX
 *   headers `PaxHeader/<name>` where Go writes `PaxHeaders.0/<base>`.
 *
 * Names are byte strings (latin1, one char per byte) in TarSink's headers, so
 * names that are not UTF-8 survive.
 */
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pack as tarPack, type Header, type Pack } from 'tar-stream';
import type { IdentityMapping } from '../idmap.js';

/** An entry's header for TarWriter: tar-stream's (unset fields take its defaults). */
export type PackHeader = Partial<Header> & Pick<Header, 'name'>;

/** Output is handed to the HTTP response in chunks of about this size. */
const FLUSH_BYTES = 64 * 1024;

function B(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

// ---- tar-stream: layers and image archives ----------------------------------

/**
 * A tar being written with tar-stream's pack. `stream` is the archive;
 * destroying it (the reader went away) makes pending and later entries fail.
 */
export class TarWriter {
  readonly pack: Pack = tarPack();
  private readonly closed: Promise<never>;

  constructor() {
    this.closed = new Promise<never>((_resolve, reject) => this.pack.once('close', () => reject(new Error('archive stream closed'))));
    this.closed.catch(() => undefined);
  }

  /** The archive as a Node stream (pulls from the pack with backpressure; destroying it destroys the pack). */
  readable(): Readable {
    return Readable.from(this.pack, { objectMode: false });
  }

  /**
   * Writes one entry and waits until the pack has taken it. A body that is a
   * stream is copied with backpressure; no body is an empty one (a file
   * entry without a body would wait for one).
   */
  async entry(header: PackHeader, body?: Buffer | Readable): Promise<void> {
    const pack = this.pack;
    let entry!: ReturnType<Pack['entry']>;
    const done = new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      entry = body === undefined || Buffer.isBuffer(body) ? pack.entry(header, body ?? Buffer.alloc(0), cb) : pack.entry(header, cb);
    });
    // A destroyed pack (client gone) errors the entry too; that reaches us through the callback or `closed`,
    // and the callback may fire after we gave up waiting for it.
    entry.on('error', () => undefined);
    done.catch(() => undefined);
    if (body instanceof Readable) {
      try {
        for await (const chunk of body) {
          if (!entry.write(chunk as Buffer)) {
            await Promise.race([new Promise<void>((r) => entry.once('drain', () => r())), this.closed]);
          }
        }
        // streamx types require an argument; undefined means "no final chunk".
        entry.end(undefined);
      } catch (err) {
        body.destroy();
        entry.destroy(err as Error);
        throw err;
      }
    }
    await Promise.race([done, this.closed]);
  }

  /** The end-of-archive marker, once every entry is in. */
  finalize(): void {
    this.pack.finalize();
  }

  /** Ends the archive with an error for its reader. */
  destroy(err: Error): void {
    this.pack.destroy(err);
  }
}

// ---- Go's archive/tar: the archive endpoints --------------------------------

/** The archive's reader went away; nothing to report to anyone. */
export class SinkClosedError extends Error {
  constructor() {
    super('the client closed the connection');
    this.name = 'SinkClosedError';
  }
}

export interface TarHeader {
  /** Byte string. */
  name: string;
  type: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  /** Full st_mode, type bits included, as Docker writes it (fillGo18FileTypeBits). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

export const BLOCK = 512;
const MAX_OCTAL_11 = 0o77777777777;
const MAX_OCTAL_7 = 0o7777777;

function writeOctal(b: Buffer, off: number, len: number, value: number): void {
  b.write(Math.max(0, Math.trunc(value)).toString(8).padStart(len - 1, '0'), off, len - 1, 'latin1');
}

/** One PAX record, "<len> key=value\n", where len counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let n = body.length + 1;
  while (String(n).length + body.length !== n) n = String(n).length + body.length;
  return `${n}${body}`;
}

function needsPax(s: string, max: number): boolean {
  // USTAR fields hold ASCII only (Go moves anything else to PAX).
  if (s.length > max) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c > 0x7f) return true;
  }
  return false;
}

/**
 * `value` in octal, '0'-padded to `len - 1` digits, at `off` (the field's
 * last byte stays NUL). A value with more digits keeps its leading ones, as
 * a string write cut at the field's end would.
 */
function putOctal(b: Buffer, off: number, len: number, value: number): void {
  let v = Math.max(0, Math.trunc(value));
  for (let i = off + len - 2; i >= off; i--) {
    b[i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
  if (v > 0) writeOctal(b, off, len, value);
}

const USTAR_MAGIC = Buffer.from('ustar\x0000', 'latin1');

/** One USTAR header block at `b[off…off+512]`, which it overwrites whole. */
function ustarInto(b: Buffer, off: number, h: TarHeader, name: string, linkname: string, typeflag: string = h.type): void {
  b.fill(0, off, off + BLOCK);
  b.write(name, off, 100, 'latin1');
  putOctal(b, off + 100, 8, h.mode);
  putOctal(b, off + 108, 8, h.uid <= MAX_OCTAL_7 ? h.uid : 0);
  putOctal(b, off + 116, 8, h.gid <= MAX_OCTAL_7 ? h.gid : 0);
  putOctal(b, off + 124, 12, h.size <= MAX_OCTAL_11 ? h.size : 0);
  putOctal(b, off + 136, 12, h.mtime <= MAX_OCTAL_11 ? h.mtime : 0);
  b.fill(0x20, off + 148, off + 156);
  b[off + 156] = typeflag.charCodeAt(0);
  if (linkname !== '') b.write(linkname, off + 157, 100, 'latin1');
  USTAR_MAGIC.copy(b, off + 257);
  putOctal(b, off + 329, 8, h.devmajor ?? 0);
  putOctal(b, off + 337, 8, h.devminor ?? 0);
  let sum = 0;
  for (let i = off; i < off + BLOCK; i++) sum += b[i]!;
  // Six digits, NUL, space.
  putOctal(b, off + 148, 7, sum);
  b[off + 154] = 0;
  b[off + 155] = 0x20;
}

function ustarBlock(h: TarHeader, name: string, linkname: string, typeflag: string = h.type): Buffer {
  const b = Buffer.allocUnsafe(BLOCK);
  ustarInto(b, 0, h, name, linkname, typeflag);
  return b;
}

/**
 * encodeHeader's bytes written straight into `b` at `off` (at least BLOCK
 * bytes free) when they are one USTAR block; false, with nothing written,
 * when the header needs a PAX entry (then use encodeHeader).
 */
export function writeUstarHeader(b: Buffer, off: number, h: TarHeader): boolean {
  const linkname = h.linkname ?? '';
  if (needsPax(h.name, 100) || needsPax(linkname, 100) || h.size > MAX_OCTAL_11 || h.uid > MAX_OCTAL_7 || h.gid > MAX_OCTAL_7 || h.mtime > MAX_OCTAL_11) return false;
  ustarInto(b, off, h, h.name, linkname);
  return true;
}

/** A header as Go's tar writer in PAX format writes it: USTAR, preceded by a PAX entry for what USTAR cannot hold. */
export function encodeHeader(h: TarHeader): Buffer[] {
  const linkname = h.linkname ?? '';
  let records = '';
  if (needsPax(h.name, 100)) records += paxRecord('path', h.name);
  if (needsPax(linkname, 100)) records += paxRecord('linkpath', linkname);
  if (h.size > MAX_OCTAL_11) records += paxRecord('size', String(h.size));
  if (h.uid > MAX_OCTAL_7) records += paxRecord('uid', String(h.uid));
  if (h.gid > MAX_OCTAL_7) records += paxRecord('gid', String(h.gid));
  if (h.mtime > MAX_OCTAL_11) records += paxRecord('mtime', String(h.mtime));
  const out: Buffer[] = [];
  if (records !== '') {
    const data = B(records);
    const base = path.posix.basename(h.name).replace(/[^\x20-\x7e]/g, '_').slice(0, 80);
    const pax: TarHeader = { name: '', type: '0', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0 };
    out.push(ustarBlock(pax, `PaxHeaders.0/${base}`, '', 'x'), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  out.push(ustarBlock(h, h.name.slice(0, 100), linkname.slice(0, 100)));
  return out;
}

/**
 * Writes a tar stream to a Writable (the HTTP response) in ~64 KiB pieces,
 * honouring backpressure, and fails fast with SinkClosedError once the
 * reader is gone, so a hung-up client never leaves us (and the container's
 * lock) waiting for a 'drain' that will not come.
 */
export class TarSink {
  private chunks: Buffer[] = [];
  private pending = 0;
  private closed = false;

  /** `ownerMap`: write owners as container IDs (export under --userns-remap). */
  constructor(
    private readonly out: Writable,
    private readonly ownerMap?: IdentityMapping,
  ) {
    const gone = () => {
      this.closed = true;
    };
    out.once('close', gone);
    out.once('error', gone);
  }

  private async push(b: Buffer): Promise<void> {
    this.chunks.push(b);
    this.pending += b.length;
    if (this.pending >= FLUSH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    const out = this.out;
    if (this.closed || out.destroyed || out.writableEnded) throw new SinkClosedError();
    if (this.chunks.length === 0) return;
    const data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    this.pending = 0;
    if (out.write(data)) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        cleanup();
        resolve();
      };
      const gone = () => {
        cleanup();
        reject(new SinkClosedError());
      };
      const cleanup = () => {
        out.off('drain', done);
        out.off('close', gone);
        out.off('error', gone);
      };
      out.on('drain', done);
      out.on('close', gone);
      out.on('error', gone);
    });
  }

  async header(h: TarHeader): Promise<void> {
    if (this.ownerMap) h = { ...h, ...this.ownerMap.toContainer(h) };
    for (const b of encodeHeader(h)) await this.push(b);
  }

  /**
   * A regular file's body: exactly `size` bytes, as the header promised. A
   * file that shrinks or fails while being read is padded with zeros, one
   * that grows is cut, so the archive stays well-formed.
   */
  async body(fh: FileHandle | null, size: number): Promise<void> {
    let left = size;
    while (left > 0 && fh !== null) {
      const buf = Buffer.allocUnsafe(Math.min(left, FLUSH_BYTES));
      let n: number;
      try {
        n = (await fh.read(buf, 0, buf.length, null)).bytesRead;
      } catch {
        n = 0;
      }
      if (n === 0) break;
      await this.push(buf.subarray(0, n));
      left -= n;
    }
    if (left > 0) await this.push(Buffer.alloc(left));
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad > 0) await this.push(Buffer.alloc(pad));
  }

  /** The end-of-archive marker (two zero blocks, like Go's tar.Writer.Close) and a final flush. */
  async finish(): Promise<void> {
    await this.push(Buffer.alloc(2 * BLOCK));
    await this.flush();
  }
}

