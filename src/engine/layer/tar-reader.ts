/**
 * @module engine/layer/tar-reader
 * A small pull-based tar reader used by the layer applier.
 *
 * We don't use tar-stream's extractor here. It decodes PAX values as UTF-8, which
 * corrupts binary xattrs such as `security.capability`. It also ignores the PAX
 * `mtime`/`atime`/`uid`/`gid` records and keeps reading blocks after the
 * end-of-archive marker. Docker reads layers with Go's archive/tar, so this reader
 * copies its rules: the checksum may be signed or unsigned, numbers may be octal
 * or base-256, and it understands the USTAR/STAR prefix, GNU long names, PAX
 * records, and typeflag NUL plus a trailing slash meaning a directory. Global PAX
 * headers are skipped (Docker ignores them).
 *
 * Names and link targets are returned as "byte strings" (latin1, one char per
 * byte). Tar names are raw bytes and may not be valid UTF-8, and latin1 keeps
 * every byte when the path is turned back into a Buffer for fs calls.
 */

import type { Readable } from 'node:stream';
import { InvalidLayerError } from './errors.js';

const BLOCK = 512;
/** Cap on PAX / GNU long-name bodies, the same limit as Go's archive/tar (maxSpecialFileSize). */
const MAX_META_SIZE = 1 << 20;
const EMPTY = Buffer.alloc(0);

export type EntryType =
  | 'file'
  | 'dir'
  | 'symlink'
  | 'hardlink'
  | 'char'
  | 'block'
  | 'fifo'
  | 'unsupported';

export interface TarEntry {
  /** Name as stored (byte string), after PAX / GNU long-name overrides. */
  name: string;
  type: EntryType;
  /** Raw typeflag character, for error messages. */
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  /** Data size in bytes (0 for header-only types). */
  size: number;
  /** Seconds since the epoch, possibly fractional (PAX). */
  mtime: number;
  /** Seconds since the epoch when the archive records one (PAX / GNU / STAR). */
  atime: number | undefined;
  /** Link target (byte string) for symlinks and hardlinks. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** `SCHILY.xattr.*` PAX records: xattr name (byte string) to raw value. */
  xattrs: Map<string, Buffer> | null;
  /** GNU sparse member (old GNU `S` type or PAX `GNU.sparse.*`): not supported by the applier. */
  sparse: boolean;
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'latin1');
  throw new TypeError('layer stream yielded a non-binary chunk');
}

function cstr(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('latin1', off, end === -1 || end > off + len ? off + len : end);
}

function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** Thrown by the numeric parsers; turned into an InvalidLayerError with context by the caller. */
class FieldError extends Error {}

/** Go's parser.parseOctal: trims NULs and spaces at both ends and requires only octal digits. */
function parseOctal(b: Buffer, off: number, len: number): number {
  let s = off;
  let e = off + len;
  while (s < e && (b[s] === 0 || b[s] === 0x20)) s++;
  while (e > s && (b[e - 1] === 0 || b[e - 1] === 0x20)) e--;
  // Go's parseString stops at the first NUL inside the trimmed field.
  const nul = b.indexOf(0, s);
  if (nul !== -1 && nul < e) e = nul;
  let x = 0;
  for (let i = s; i < e; i++) {
    const c = b[i]! - 0x30;
    if (c < 0 || c > 7) throw new FieldError('invalid octal number');
    x = x * 8 + c;
  }
  if (x > Number.MAX_SAFE_INTEGER) throw new FieldError('number too large');
  return x;
}

/** Go's parser.parseNumeric: base-256 (two's complement) when the top bit is set, else octal. */
function parseNumeric(b: Buffer, off: number, len: number): number {
  const first = b[off]!;
  if ((first & 0x80) === 0) return parseOctal(b, off, len);
  const inv = (first & 0x40) !== 0 ? 0xff : 0;
  let x = 0;
  for (let i = 0; i < len; i++) {
    let c = b[off + i]! ^ inv;
    if (i === 0) c &= 0x7f;
    x = x * 256 + c;
    if (x > Number.MAX_SAFE_INTEGER) throw new FieldError('number too large');
  }
  return inv ? -x - 1 : x;
}

function checksumMatches(b: Buffer): boolean {
  let stored: number;
  try {
    stored = parseOctal(b, 148, 8);
  } catch {
    return false;
  }
  // Old tar writers summed signed chars, so Go accepts either sum; so do we.
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

const PAX_NUMBER = /^-?[0-9]+$/;
const PAX_TIME = /^-?[0-9]+(\.[0-9]*)?$/;

/** Parses PAX records ("%d %s=%s\n"). Values stay as raw bytes. Malformed records are an error, as in Go. */
function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < buf.length) {
    const sp = buf.indexOf(0x20, pos);
    if (sp === -1) throw new FieldError('malformed PAX record');
    const lenStr = buf.toString('latin1', pos, sp);
    if (!/^[0-9]+$/.test(lenStr)) throw new FieldError('malformed PAX record length');
    const n = Number(lenStr);
    if (n < 5 || pos + n > buf.length) throw new FieldError('malformed PAX record length');
    const end = pos + n;
    if (buf[end - 1] !== 0x0a) throw new FieldError('PAX record missing newline');
    const eq = buf.indexOf(0x3d, sp + 1);
    if (eq === -1 || eq >= end - 1) throw new FieldError('PAX record missing "="');
    const key = buf.toString('latin1', sp + 1, eq);
    if (key.length === 0 || key.includes('\0')) throw new FieldError('invalid PAX record key');
    out.set(key, buf.subarray(eq + 1, end - 1));
    pos = end;
  }
  return out;
}

/**
 * Reads tar entries one at a time from a Readable. After `next()` returns an
 * entry, the caller may pull its data with `read()`. Data that is not read is
 * skipped by the following `next()`.
 */
export class TarReader {
  private readonly it: AsyncIterator<unknown>;
  private buf: Buffer = EMPTY;
  private pos = 0;
  private eof = false;
  private bodyLeft = 0;
  private padLeft = 0;
  private ended = false;
  /** Bytes of the input consumed so far (for error messages). */
  offset = 0;

  constructor(private readonly stream: Readable) {
    this.it = stream[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (!this.eof) {
      const r = await this.it.next();
      if (r.done) {
        this.eof = true;
        break;
      }
      const c = toBuffer(r.value);
      if (c.length > 0) {
        this.buf = c;
        this.pos = 0;
        return true;
      }
    }
    return false;
  }

  private eofError(): InvalidLayerError {
    return new InvalidLayerError(`unexpected EOF in layer tar (after ${this.offset} bytes)`);
  }

  /** Reads exactly n bytes. Returns null only if `allowEof` and the input ends before the first byte. */
  private async readExact(n: number, allowEof: boolean): Promise<Buffer | null> {
    const avail = this.buf.length - this.pos;
    if (avail >= n) {
      // Zero-copy fast path: input chunks are never reused by their producers.
      const b = this.buf.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.offset += n;
      return b;
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      if (this.pos === this.buf.length && !(await this.fill())) {
        if (got === 0 && allowEof) return null;
        if (this.offset - got === 0 && n === BLOCK) {
          throw new InvalidLayerError(`not a tar archive (input is only ${got} bytes)`);
        }
        throw this.eofError();
      }
      const take = Math.min(n - got, this.buf.length - this.pos);
      this.buf.copy(out, got, this.pos, this.pos + take);
      this.pos += take;
      this.offset += take;
      got += take;
    }
    return out;
  }

  private async skip(n: number): Promise<void> {
    while (n > 0) {
      if (this.pos === this.buf.length && !(await this.fill())) throw this.eofError();
      const take = Math.min(n, this.buf.length - this.pos);
      this.pos += take;
      this.offset += take;
      n -= take;
    }
  }

  /** Reads the body of a meta entry (PAX / GNU long name) including its padding. */
  private async readMeta(size: number, what: string): Promise<Buffer> {
    if (size > MAX_META_SIZE) throw new InvalidLayerError(`${what} too large (${size} bytes)`);
    const data = size === 0 ? EMPTY : await this.readExact(size, false);
    await this.skip((BLOCK - (size % BLOCK)) % BLOCK);
    return data!;
  }

  /** Returns the next entry, or null at the end of the archive. */
  async next(): Promise<TarEntry | null> {
    if (this.ended) return null;
    await this.skip(this.bodyLeft + this.padLeft);
    this.bodyLeft = 0;
    this.padLeft = 0;

    let pax: Map<string, Buffer> | null = null;
    let longName: string | null = null;
    let longLink: string | null = null;

    for (;;) {
      const start = this.offset;
      const blk = await this.readExact(BLOCK, true);
      if (blk === null) {
        if (pax || longName !== null || longLink !== null) throw this.eofError();
        // Like Go, an archive that stops cleanly at a header boundary is accepted.
        this.ended = true;
        return null;
      }
      if (isZeroBlock(blk)) {
        const blk2 = await this.readExact(BLOCK, true);
        if (blk2 !== null && !isZeroBlock(blk2)) {
          throw new InvalidLayerError(`corrupt layer tar: zero block followed by data at offset ${start}`);
        }
        this.ended = true;
        return null;
      }
      if (!checksumMatches(blk)) {
        throw new InvalidLayerError(
          start === 0
            ? 'not a tar archive (invalid header checksum at offset 0)'
            : `corrupt layer tar: invalid header checksum at offset ${start}`,
        );
      }
      let entry: TarEntry;
      try {
        entry = this.decodeHeader(blk);
      } catch (e) {
        if (e instanceof FieldError) {
          throw new InvalidLayerError(`corrupt layer tar: ${e.message} in header at offset ${start}`);
        }
        throw e;
      }
      const flag = entry.typeflag;

      if (flag === 'x' || flag === 'g') {
        const raw = await this.readMeta(entry.size, 'PAX header');
        let recs: Map<string, Buffer>;
        try {
          recs = parsePax(raw);
        } catch (e) {
          if (e instanceof FieldError) {
            throw new InvalidLayerError(`corrupt layer tar: ${e.message} at offset ${start}`);
          }
          throw e;
        }
        // Global headers are returned separately by Go and ignored by Docker; they don't affect later entries.
        if (flag === 'x') pax = pax ? new Map([...pax, ...recs]) : recs;
        continue;
      }
      if (flag === 'L' || flag === 'K') {
        const raw = await this.readMeta(entry.size, 'GNU long name');
        const nul = raw.indexOf(0);
        const s = raw.toString('latin1', 0, nul === -1 ? raw.length : nul);
        if (flag === 'L') longName = s;
        else longLink = s;
        continue;
      }

      if (pax) {
        try {
          this.mergePax(entry, pax);
        } catch (e) {
          if (e instanceof FieldError) {
            throw new InvalidLayerError(`corrupt layer tar: ${e.message} in PAX header before offset ${start}`);
          }
          throw e;
        }
      }
      if (longName !== null) entry.name = longName;
      if (longLink !== null) entry.linkname = longLink;
      if (flag === '\0') entry.type = entry.name.endsWith('/') ? 'dir' : 'file';

      // Header-only types carry no data whatever their size field says (Go's isHeaderOnlyType).
      const hasData = entry.type === 'file' || entry.type === 'unsupported';
      if (!hasData) entry.size = 0;
      this.bodyLeft = entry.size;
      this.padLeft = (BLOCK - (entry.size % BLOCK)) % BLOCK;
      return entry;
    }
  }

  private decodeHeader(b: Buffer): TarEntry {
    const flagByte = b[156]!;
    const typeflag = flagByte === 0 ? '\0' : String.fromCharCode(flagByte);
    const magic = b.toString('latin1', 257, 263);
    const version = b.toString('latin1', 263, 265);
    const isUstar = magic === 'ustar\0';
    const isGnu = magic === 'ustar ' && version === ' \0';
    const isStar = isUstar && b.toString('latin1', 508, 512) === 'tar\0';

    let name = cstr(b, 0, 100);
    let atime: number | undefined;
    let devmajor = 0;
    let devminor = 0;
    if (isUstar || isGnu) {
      devmajor = parseNumeric(b, 329, 8);
      devminor = parseNumeric(b, 337, 8);
    }
    if (isStar) {
      const prefix = cstr(b, 345, 131);
      if (prefix) name = `${prefix}/${name}`;
      atime = parseNumeric(b, 476, 12);
    } else if (isUstar) {
      const prefix = cstr(b, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    } else if (isGnu) {
      if (b[345] !== 0) atime = parseNumeric(b, 345, 12);
    }

    let type: EntryType;
    let sparse = false;
    switch (typeflag) {
      case '0':
      case '\0':
      case '7': // contiguous file: a regular file everywhere that matters
        type = 'file';
        break;
      case '1':
        type = 'hardlink';
        break;
      case '2':
        type = 'symlink';
        break;
      case '3':
        type = 'char';
        break;
      case '4':
        type = 'block';
        break;
      case '5':
        type = 'dir';
        break;
      case '6':
        type = 'fifo';
        break;
      case 'S':
        type = 'unsupported';
        sparse = true;
        break;
      default:
        type = 'unsupported';
    }

    return {
      name,
      type,
      typeflag,
      mode: parseNumeric(b, 100, 8),
      uid: parseNumeric(b, 108, 8),
      gid: parseNumeric(b, 116, 8),
      size: parseNumeric(b, 124, 12),
      mtime: parseNumeric(b, 136, 12),
      atime,
      linkname: cstr(b, 157, 100),
      devmajor,
      devminor,
      xattrs: null,
      sparse,
    };
  }

  private mergePax(e: TarEntry, pax: Map<string, Buffer>): void {
    for (const [key, raw] of pax) {
      const v = raw.toString('latin1');
      switch (key) {
        case 'path':
          e.name = v;
          break;
        case 'linkpath':
          e.linkname = v;
          break;
        case 'size':
        case 'uid':
        case 'gid': {
          if (!PAX_NUMBER.test(v)) throw new FieldError(`invalid PAX ${key}`);
          const n = Number(v);
          if (!Number.isSafeInteger(n) || (key === 'size' && n < 0)) throw new FieldError(`invalid PAX ${key}`);
          e[key] = n;
          break;
        }
        case 'mtime':
        case 'atime': {
          if (!PAX_TIME.test(v)) throw new FieldError(`invalid PAX ${key}`);
          e[key] = Number(v);
          break;
        }
        default:
          if (key.startsWith('SCHILY.xattr.')) {
            (e.xattrs ??= new Map()).set(key.slice('SCHILY.xattr.'.length), raw);
          } else if (key.startsWith('GNU.sparse.')) {
            e.sparse = true;
          }
      }
    }
    if (e.name.includes('\0') || e.linkname.includes('\0')) throw new FieldError('NUL byte in PAX path');
  }

  /**
   * Returns the next piece of the current entry's data (a view into the input
   * chunk, never copied), or null once the data is used up.
   */
  async read(): Promise<Buffer | null> {
    if (this.bodyLeft === 0) return null;
    if (this.pos === this.buf.length && !(await this.fill())) throw this.eofError();
    const n = Math.min(this.bodyLeft, this.buf.length - this.pos);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    this.bodyLeft -= n;
    return b;
  }

  /**
   * Reads the rest of the input after the end-of-archive marker, so the
   * producer (decompressor, digest checker) runs to completion and reports
   * any late error. Tar writers often pad to a 10 KiB record.
   */
  async drain(): Promise<void> {
    this.pos = this.buf.length;
    while (await this.fill()) this.pos = this.buf.length;
  }

  /** Stops reading and releases the input stream (used on error). */
  destroy(): void {
    if (!this.stream.destroyed) this.stream.destroy();
  }
}
