/**
 * @module api/limits
 * What the API accepts from one client, so that no request can take the
 * daemon's memory or connections from the others. Each figure is chosen to
 * be far above what any real client sends:
 *
 * - Headers: 1 MiB, Go's http.DefaultMaxHeaderBytes, which dockerd keeps.
 *   Node's own default (16 KiB) is too small for `X-Registry-Config`, which
 *   carries every credential a `docker build` may need. Over it: 431.
 * - Headers must arrive within 60 s of a request's first byte, and a new
 *   connection must send its first byte within the same time (dockerd's
 *   ReadHeaderTimeout does both, at 5 min). Bodies have no deadline:
 *   `docker load` of a large archive, or stdin on an attach, take as long
 *   as they take. Hijacked streams leave the HTTP parser behind, so no
 *   timeout reaches attach, exec, logs -f, events or build.
 * - A JSON body: 16 MiB. The largest meaningful one, a create body, is bound
 *   by what Linux lets a process start with (arguments and environment
 *   together: 2 MiB at the default stack limit); 16 MiB leaves room for any
 *   labels a tool stores. Over it: 413, and the connection is closed
 *   rather than drained.
 * - JSON nesting: 64 levels. Docker's deepest body (a mount's driver
 *   options) is 5 deep; Go's decoder stops at 10 000, which a JavaScript
 *   walk of the result could not survive. Deeper: 400.
 */
import type { IncomingMessage } from 'node:http';
import { EngineError, invalid } from '../engine/errors.js';

export const MAX_HEADER_BYTES = 1 << 20;
export const HEADERS_TIMEOUT_MS = 60_000;
export const MAX_JSON_BODY_BYTES = 16 << 20;
export const MAX_JSON_DEPTH = 64;

export function tooLarge(limit = MAX_JSON_BODY_BYTES): EngineError {
  return new EngineError('toolarge', `request body too large: a JSON body may be at most ${limit >> 20} MiB`);
}

/**
 * Reads a request body of at most `limit` bytes. A declared Content-Length
 * over the limit is refused before a byte is read; a chunked body is cut off
 * where it passes the limit.
 */
export async function readLimitedBody(req: IncomingMessage, limit = MAX_JSON_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  // Not destroyed on the way out: the socket must still carry the 413.
  for await (const c of req.iterator({ destroyOnReturn: false })) {
    size += (c as Buffer).length;
    if (size > limit) {
      req.pause();
      throw tooLarge(limit);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The deepest nesting of arrays and objects in JSON text, stopping early past `max`. */
export function jsonDepth(raw: Buffer, max = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest && (deepest = depth) > max) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/** Parses a JSON body as dockerd's decoder would accept it; empty is `undefined`. */
export function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  if (jsonDepth(raw) > MAX_JSON_DEPTH) throw invalid(`invalid JSON: exceeded max depth (${MAX_JSON_DEPTH})`);
  const text = raw.toString();
  if (text.trim() === '') throw invalid('invalid JSON: got EOF while reading request body');
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    // Go's decoder reads one value and then complains about the rest.
    if (/after JSON/.test(msg)) throw invalid('unexpected content after JSON');
    throw invalid(`invalid JSON: ${msg}`);
  }
}
