/**
 * The request body of a hijacked request (attach, exec start). Node hands an
 * upgraded connection over right after the request head (its parser skips
 * bodies on upgrade), so a body the client sent is at the front of the
 * hijacked stream: it is read off here, and only what follows is stdin.
 */
import { invalid } from '../engine/errors.js';
import type { HijackContext } from './context.js';
import { MAX_JSON_BODY_BYTES, readLimitedBody, tooLarge } from './limits.js';

/** The next chunk of a paused socket, or null at its end; leaves the socket paused. */
function nextChunk(socket: HijackContext['socket']): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const onData = (d: Buffer) => {
      // Paused again before anything else can be emitted: later bytes are stdin, read by the bridge.
      socket.pause();
      done(d);
    };
    const onEnd = () => done(null);
    const done = (v: Buffer | null) => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      resolve(v);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

/** Decodes a complete chunked body at the start of `buf`; undefined while incomplete. */
function decodeChunked(buf: Buffer): { body: Buffer; rest: Buffer } | undefined {
  const parts: Buffer[] = [];
  let off = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', off);
    if (eol < 0) return undefined;
    const size = Number.parseInt(buf.subarray(off, eol).toString().split(';')[0]!.trim(), 16);
    if (Number.isNaN(size)) throw invalid('malformed chunked request body');
    off = eol + 2;
    if (size === 0) {
      // No trailers from Docker clients: just the final CRLF.
      const end = buf.indexOf('\r\n', off);
      if (end < 0) return undefined;
      return { body: Buffer.concat(parts), rest: buf.subarray(end + 2) };
    }
    if (buf.length < off + size + 2) return undefined;
    parts.push(buf.subarray(off, off + size));
    off += size + 2;
  }
}

/**
 * Reads the request body off the hijacked stream (chunked or by
 * Content-Length) and puts back whatever follows, which is stdin. Without an
 * upgrade the body is the whole request's.
 */
export async function readHijackBody(ctx: HijackContext): Promise<Buffer> {
  if (!ctx.upgrade) return readLimitedBody(ctx.req);
  const chunked = /chunked/i.test(String(ctx.req.headers['transfer-encoding'] ?? ''));
  const length = Number(ctx.req.headers['content-length'] ?? 0);
  let buf = ctx.head;
  for (;;) {
    if (chunked) {
      const r = decodeChunked(buf);
      if (r) {
        if (r.rest.length) ctx.socket.unshift(r.rest);
        return r.body;
      }
    } else if (buf.length >= length) {
      if (buf.length > length) ctx.socket.unshift(buf.subarray(length));
      return buf.subarray(0, length);
    }
    // The body is a small JSON object; a client still sending past the cap is refused, not buffered.
    if (buf.length > MAX_JSON_BODY_BYTES + 64) throw tooLarge();
    const more = await nextChunk(ctx.socket);
    if (!more) throw invalid('unexpected end of request body');
    buf = Buffer.concat([buf, more]);
  }
}
