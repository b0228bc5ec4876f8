/**
 * Docker's stdcopy framing for non-TTY streams: an 8-byte header
 * [stream, 0, 0, 0, size uint32 BE] before each payload. Used by attach, exec
 * and logs on the daemon side and demultiplexed by the client.
 */
import { Writable } from 'node:stream';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
/** A daemon error that ends the stream. */
export const SYSTEMERR = 3;

export function frame(stream: number, payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(stream, payload.length), payload]);
}

/** A frame's 8-byte header alone, for writers that gather header and payload without copying the payload. */
export function frameHeader(stream: number, length: number): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(length, 4);
  return header;
}

/** A Writable that splits stdcopy frames and hands each payload to `onFrame`. */
export class Demuxer extends Writable {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: number, payload: Buffer) => void) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      const stream = this.buf[0]!;
      const payload = this.buf.subarray(8, 8 + size);
      this.buf = this.buf.subarray(8 + size);
      if (stream === SYSTEMERR) {
        cb(new Error(payload.toString()));
        return;
      }
      this.onFrame(stream, payload);
    }
    cb();
  }
}
