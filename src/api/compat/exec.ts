/** Exec endpoints: create, start (hijacked, or detached), resize, inspect. */
import type { Engine } from '../../engine/engine.js';
import { invalid } from '../../engine/errors.js';
import type { ExecStartOptions } from '../../engine/exec/service.js';
import type { ExecConfig, ExecStartConfig } from '../../common/api/exec.js';
import { intParam, readBody, readJsonBody, sendEmpty, sendJson, type HijackContext } from '../context.js';
import type { Router } from '../router.js';
import { startHijackedStream, versionAtLeast } from '../server.js';

const RAW = 'application/vnd.docker.raw-stream';
const MULTIPLEXED = 'application/vnd.docker.multiplexed-stream';

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
 * The request body of an upgraded request. Node hands the connection over
 * right after the request head (its parser skips bodies on upgrade), so
 * exec start's JSON body is at the front of the hijacked stream: read it off
 * and put back whatever follows, which is stdin.
 */
async function readHijackBody(ctx: HijackContext): Promise<Buffer> {
  if (!ctx.upgrade) return readBody(ctx.req);
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
    const more = await nextChunk(ctx.socket);
    if (!more) throw invalid('unexpected end of request body');
    buf = Buffer.concat([buf, more]);
  }
}

function parseJson<T>(raw: Buffer): T | undefined {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString()) as T;
  } catch (err) {
    throw invalid(`invalid JSON: ${(err as Error).message}`);
  }
}

export function execRoutes(router: Router, engine: Engine): void {
  const exec = engine.exec;

  router.on('POST', '/containers/{id}/exec', async ({ req, res, params, version }) => {
    const body = (await readJsonBody<ExecConfig>(req)) ?? {};
    // ConsoleSize arrived with API 1.42.
    if (!versionAtLeast(version, '1.42')) delete body.ConsoleSize;
    sendJson(res, 201, exec.create(params.id!, body));
  });

  router.onHijack('POST', '/exec/{id}/start', async (ctx) => {
    const id = ctx.params.id!;
    exec.checkStartable(id);
    const body = parseJson<ExecStartConfig>(await readHijackBody(ctx)) ?? {};
    const tty = !!body.Tty;
    const opts: ExecStartOptions = {
      detach: !!body.Detach,
      tty,
      // No console without a TTY, and none before API 1.42 (moby postContainerExecStart).
      consoleSize: tty && versionAtLeast(ctx.version, '1.42') ? (body.ConsoleSize ?? null) : null,
    };
    if (opts.detach) {
      await exec.start(id, opts);
      if (ctx.upgrade) {
        // A detached start is a plain request even when the client offered to upgrade.
        ctx.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      } else {
        sendEmpty(ctx.res!, 200);
      }
      return;
    }
    startHijackedStream(ctx, tty || !versionAtLeast(ctx.version, '1.42') ? RAW : MULTIPLEXED);
    await exec.start(id, opts, ctx.socket);
  });

  router.on('POST', '/exec/{id}/resize', async ({ res, params, query }) => {
    await exec.resize(params.id!, intParam(query, 'h') ?? 0, intParam(query, 'w') ?? 0);
    sendEmpty(res, 200);
  });

  router.on('GET', '/exec/{id}/json', async ({ res, params }) => {
    sendJson(res, 200, exec.inspect(params.id!));
  });
}
