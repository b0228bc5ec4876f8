/**
 * @module registry/server
 * The registry's HTTP edge: plain HTTP or TLS, routing of the distribution
 * spec's paths (a repository name may hold slashes, so routes are matched
 * from the end), name checks (NAME_INVALID before anything else), the
 * access each route needs (checked by the configured authenticator),
 * read-only mode, and errors as the spec's JSON body. The handlers are in
 * ./api.ts.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { promises as fsp } from 'node:fs';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { isRepositoryPath } from '../common/reference/reference.js';
import type { Access } from './access.js';
import { handlers, type Ctx } from './api.js';
import { regError, toRegistryError } from './errors.js';
import type { Registry } from './registry.js';

export interface RunningServer {
  server: http.Server;
  /** host:port actually bound (port 0 picks one). */
  address: string;
  close(): Promise<void>;
}

type Route = { name?: string; handler: keyof typeof handlers; param?: string; access: (name: string, ctx: Ctx) => Access[] };

const pull = (name: string): Access[] => [{ type: 'repository', name, action: 'pull' }];
const push = (name: string): Access[] => [...pull(name), { type: 'repository', name, action: 'push' }];
const del = (name: string): Access[] => [{ type: 'repository', name, action: 'delete' }];
const catalog = (): Access[] => [{ type: 'registry', name: 'catalog', action: '*' }];

/** Which handler serves a request, and what access it needs. */
function route(method: string, p: string): Route | undefined {
  const m = (re: RegExp) => re.exec(p);
  const is = (...ms: string[]) => ms.includes(method);
  let r: RegExpExecArray | null;
  if (p === '/v2/' || p === '/v2') return is('GET', 'HEAD') ? { handler: 'base', access: () => [] } : undefined;
  if (p === '/v2/_catalog') return is('GET') ? { handler: 'catalog', access: catalog } : undefined;
  if (p === '/v1/search') return is('GET') ? { handler: 'search', access: () => [] } : undefined;
  if (p === '/token') return is('GET', 'POST') ? { handler: 'token', access: () => [] } : undefined;
  if ((r = m(/^\/v2\/(.+)\/tags\/list$/))) return is('GET') ? { name: r[1]!, handler: 'tags', access: pull } : undefined;
  if ((r = m(/^\/v2\/(.+)\/blobs\/uploads\/?$/))) return is('POST') ? { name: r[1]!, handler: 'uploadStart', access: push } : undefined;
  if ((r = m(/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/))) {
    const h = ({ GET: 'uploadStatus', PATCH: 'uploadPatch', PUT: 'uploadPut', DELETE: 'uploadCancel' } as const)[method as 'GET'];
    return h ? { name: r[1]!, param: r[2]!, handler: h, access: push } : undefined;
  }
  if ((r = m(/^\/v2\/(.+)\/blobs\/([^/]+)$/))) {
    if (is('GET', 'HEAD')) return { name: r[1]!, param: r[2]!, handler: 'blobGet', access: pull };
    if (is('DELETE')) return { name: r[1]!, param: r[2]!, handler: 'blobDelete', access: del };
    return undefined;
  }
  if ((r = m(/^\/v2\/(.+)\/manifests\/([^/]+)$/))) {
    if (is('GET', 'HEAD')) return { name: r[1]!, param: r[2]!, handler: 'manifestGet', access: pull };
    if (is('PUT')) return { name: r[1]!, param: r[2]!, handler: 'manifestPut', access: push };
    if (is('DELETE')) return { name: r[1]!, param: r[2]!, handler: 'manifestDelete', access: del };
    return undefined;
  }
  if ((r = m(/^\/v2\/(.+)\/referrers\/([^/]+)$/))) return is('GET') ? { name: r[1]!, param: r[2]!, handler: 'referrers', access: pull } : undefined;
  return undefined;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function dispatch(reg: Registry, req: IncomingMessage, res: ServerResponse, tls: boolean, log: (l: string) => void): Promise<void> {
  res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
  const url = new URL(req.url ?? '/', 'http://registry');
  const method = req.method ?? 'GET';
  const ctx: Ctx = { reg, req, res, url, method, name: '', param: '', account: '', origin: `${tls ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}` };
  try {
    let pathname: string;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      throw regError('NAME_INVALID', 'malformed path');
    }
    const rt = route(method, pathname);
    if (!rt) {
      const known = route('GET', url.pathname) ?? route('PUT', url.pathname) ?? route('POST', url.pathname) ?? route('PATCH', url.pathname);
      throw known ? regError('UNSUPPORTED', `${method} not allowed on ${url.pathname}`) : regError('NAME_UNKNOWN', 'not found', undefined, 404);
    }
    if (rt.name !== undefined) {
      if (!isRepositoryPath(rt.name)) throw regError('NAME_INVALID', 'invalid repository name', { name: rt.name });
      ctx.name = rt.name;
      ctx.param = rt.param ?? '';
    }
    if (rt.handler !== 'token' && rt.handler !== 'search') {
      ctx.account = await reg.auth.authorize({ authorization: req.headers.authorization, origin: ctx.origin }, rt.access(ctx.name, ctx));
    }
    if (WRITES.has(method) && rt.handler !== 'token') {
      if (reg.cfg.readOnly) throw regError('UNSUPPORTED', 'the registry is in read-only mode');
      if (method === 'DELETE' && rt.handler !== 'uploadCancel' && !reg.cfg.deleteEnabled) throw regError('UNSUPPORTED', 'deletes are disabled on this registry');
    }
    await handlers[rt.handler](ctx);
  } catch (err) {
    const e = toRegistryError(err);
    if (e.status >= 500) log(`${method} ${url.pathname}: ${e.message}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = e.body();
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...e.headers };
    // A body nobody read (a refused 10 GB upload) is not drained: the connection closes instead.
    if (!req.readableEnded && req.headers['content-length'] !== '0' && (req.headers['content-length'] || req.headers['transfer-encoding'])) headers.Connection = 'close';
    res.writeHead(e.status, headers);
    res.end(method === 'HEAD' ? undefined : body);
  }
}

/**
 * Memory at rest: a burst of pushes leaves V8's heap grown (and big body
 * buffers waiting for a full collection); once requests stop for a while,
 * one full collection gives it back.
 */
function idleCollector(server: http.Server): NodeJS.Timeout {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (() => void) | undefined;
  let busySince = 0;
  let lastActivity = 0;
  server.on('request', () => {
    lastActivity = Date.now();
    busySince ||= lastActivity;
  });
  const t = setInterval(() => {
    if (busySince && Date.now() - lastActivity > 5000) {
      busySince = 0;
      gc?.();
    }
  }, 2500);
  t.unref();
  return t;
}

/** Starts serving; the address printed and returned is the one bound. */
export async function serveRegistry(reg: Registry, log: (l: string) => void = () => undefined): Promise<RunningServer> {
  const cfg = reg.cfg;
  const handler = (req: IncomingMessage, res: ServerResponse) => void dispatch(reg, req, res, !!cfg.tls, log);
  const server = cfg.tls
    ? https.createServer({ cert: await fsp.readFile(cfg.tls.cert), key: await fsp.readFile(cfg.tls.key) }, handler)
    : http.createServer(handler);
  // Expect: 100-continue is answered only when a handler starts reading the body, so a refused upload sends none of it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    (req as IncomingMessage & { expectsContinue?: boolean }).expectsContinue = true;
    handler(req, res);
  });
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 60_000;
  server.requestTimeout = 0; // big blobs take as long as they take
  const { host, port } = splitAddr(cfg.addr);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const idle = idleCollector(server);
  const a = server.address() as AddressInfo;
  const address = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  return {
    server,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(idle);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function splitAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new Error(`invalid address ${JSON.stringify(addr)}: want HOST:PORT`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}
