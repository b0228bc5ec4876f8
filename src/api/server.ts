/**
 * The Engine API over HTTP: version prefixes (`/v1.51/...`), Docker's
 * response headers, error bodies, and hijacked connections for attach/exec.
 * Handlers live in compat/, one file per resource; they call the engine.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { EngineError, errorKind } from '../engine/errors.js';
import { API_VERSION, ENGINE_VERSION, MIN_API_VERSION } from '../common/version.js';
import { errorBody, statusOf } from './errors.js';
import type { Router } from './router.js';
import { traced } from '../engine/trace.js';
import { HEADERS_TIMEOUT_MS, MAX_HEADER_BYTES } from './limits.js';

export interface ApiLogger {
  debug(msg: string): void;
  error(msg: string): void;
}

function versionNumber(v: string): number {
  const [maj, min] = v.split('.').map(Number);
  return (maj ?? 0) * 1000 + (min ?? 0);
}

/** Splits `/v1.41/containers/json` into ("1.41", "/containers/json"), checking the range. */
export function parseVersionedPath(pathname: string): { version: string; path: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(pathname);
  if (!m) return { version: API_VERSION, path: pathname };
  const v = m[1]!;
  if (versionNumber(v) < versionNumber(MIN_API_VERSION)) {
    throw new EngineError('invalid', `client version ${v} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  }
  if (versionNumber(v) > versionNumber(API_VERSION)) {
    throw new EngineError('invalid', `client version ${v} is too new. Maximum supported API version is ${API_VERSION}`);
  }
  return { version: v, path: m[2]! };
}

export function versionAtLeast(v: string, min: string): boolean {
  return versionNumber(v) >= versionNumber(min);
}

const COMMON_HEADERS: Record<string, string> = {
  'Api-Version': API_VERSION,
  'Docker-Experimental': 'false',
  Ostype: 'linux',
  Server: `Docker/${ENGINE_VERSION} (linux)`,
};

/** Timeouts a test can shorten; the daemon uses ./limits.ts's. */
export interface ApiServerTimeouts {
  headersTimeoutMs?: number;
  /** How often Node looks for connections past their header deadline. */
  checkIntervalMs?: number;
}

/** An API server; with `tls`, an HTTPS one (client certificates required when `tls.requestCert`). */
export function createApiServer(router: Router, log: ApiLogger, tls?: https.ServerOptions, timeouts: ApiServerTimeouts = {}): http.Server {
  const headersTimeout = timeouts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  const options: http.ServerOptions = {
    keepAliveTimeout: 30_000,
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout,
    // No deadline for a whole request: uploads (load, build contexts, stdin) and streams take as long as they take.
    requestTimeout: 0,
    connectionsCheckingInterval: timeouts.checkIntervalMs ?? 30_000,
  };
  const server = tls ? https.createServer({ ...tls, ...options }) : http.createServer(options);

  // Node's header deadline starts at a request's first byte (and answers 408); a connection that never sends
  // one is closed here (Go's ReadHeaderTimeout covers both), so silent sockets cannot pile up forever.
  const idle = new WeakMap<Socket, NodeJS.Timeout>();
  server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy();
    }, headersTimeout);
    timer.unref();
    idle.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  // req.socket is the TLS socket on https, which is not the one the timer watches; its timer finds bytes read.
  const active = (socket: Socket) => {
    clearTimeout(idle.get(socket));
    idle.delete(socket);
  };

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    active(req.socket);
    for (const [k, v] of Object.entries(COMMON_HEADERS)) res.setHeader(k, v);
    void handleRequest(router, req, res, log);
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    active(socket);
    void handleUpgrade(router, req, socket, head, log);
  });
  return server;
}

/** A request's path as its route reads, for trace lines that add up across requests: `/containers/{id}/start`. */
function traceName(p: string): string {
  return p.replace(/^\/(containers|exec|images|networks|volumes|plugins)\/(?!(json|create|prune|load|search|get)(\/|$))[^/]+/, '/$1/{id}');
}

function fail(res: http.ServerResponse, err: unknown, log: ApiLogger): void {
  const status = statusOf(err);
  if (errorKind(err) === 'system') log.error(`handler error: ${(err as Error)?.stack ?? String(err)}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (status === 304) {
    res.writeHead(304);
    res.end();
    return;
  }
  const body = errorBody(err);
  // A body over the cap is not read to its end: the connection goes instead.
  if (status === 413) res.setHeader('Connection', 'close');
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function handleRequest(router: Router, req: http.IncomingMessage, res: http.ServerResponse, log: ApiLogger): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://berth');
  const method = req.method ?? 'GET';
  log.debug(`Calling ${method} ${req.url}`);
  try {
    const { version, path } = parseVersionedPath(url.pathname);
    const route = router.findHttp(method, path);
    if (route) {
      await traced(`${method} ${traceName(path)}`, () => route.handler({ req, res, params: route.params, query: url.searchParams, version }));
      return;
    }
    // Attach/exec start without an upgrade header (e.g. dockerode with hijack off): stream over the response.
    const hijack = router.findHijack(method, path);
    if (hijack) {
      const socket = Duplex.from({ readable: req, writable: res });
      await hijack.handler({ req, res, socket, head: Buffer.alloc(0), upgrade: false, params: hijack.params, query: url.searchParams, version });
      return;
    }
    throw new EngineError('notfound', 'page not found');
  } catch (err) {
    fail(res, err, log);
  }
}

async function handleUpgrade(router: Router, req: http.IncomingMessage, socket: Socket, head: Buffer, log: ApiLogger): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://berth');
  const method = req.method ?? 'POST';
  log.debug(`Calling ${method} ${req.url} (upgrade)`);
  socket.on('error', () => undefined);
  try {
    const { version, path } = parseVersionedPath(url.pathname);
    const route = router.findHijack(method, path);
    if (!route) throw new EngineError('notfound', 'page not found');
    await traced(`${method} ${traceName(path)}`, () => route.handler({ req, socket, head, upgrade: true, params: route.params, query: url.searchParams, version }));
  } catch (err) {
    if (socket.destroyed) return;
    const status = statusOf(err);
    const body = errorBody(err);
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        Object.entries(COMMON_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join('') +
        `\r\n${body}`,
    );
  }
}

/** Writes the 101 (upgrade) or 200 (plain) head of a hijacked stream. */
export function startHijackedStream(ctx: { socket: Duplex; upgrade: boolean; res?: http.ServerResponse }, contentType: string): void {
  if (ctx.upgrade) {
    ctx.socket.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
        Object.entries(COMMON_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join('') +
        '\r\n',
    );
  } else if (ctx.res) {
    ctx.res.writeHead(200, { 'Content-Type': contentType });
    ctx.res.flushHeaders();
  }
}
