/**
 * The Engine API client core: one keep-alive connection pool to the daemon
 * (unix socket or TCP), API version negotiation through /_ping (the version
 * is min(ours, the daemon's Api-Version), 1.24 if it says nothing), JSON
 * requests, Docker's error bodies turned into ApiError, and hijacked
 * (HTTP Upgrade) streams for attach. Endpoint wrappers live in
 * containers.ts, images.ts and system.ts.
 */
import http from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { ApiError, ConnectError, isUnreachable } from './errors.js';
import { connectOptions, parseHost, type DaemonHost } from './host.js';
import type { Filters } from '../common/api/index.js';

/** The newest API version this client speaks (Docker 28.x). */
export const CLIENT_API_VERSION = '1.51';
/** What the Go client assumes when /_ping has no Api-Version header. */
export const FALLBACK_API_VERSION = '1.24';
const USER_AGENT = 'Berth-Client/0.1.0 (linux)';
// The Go client's Host header for socket transports; harmless for TCP too.
const HOST_HEADER = 'api.moby.localhost';

export type QueryValue = string | number | boolean | readonly string[] | undefined | null;
export type Query = Record<string, QueryValue>;

export interface RequestOptions {
  query?: Query;
  /** A value sent as a JSON body. */
  json?: unknown;
  /** A raw body: a buffer, or a stream sent chunked. */
  body?: Readable | Buffer;
  headers?: Record<string, string>;
}

export interface PingInfo {
  apiVersion?: string;
  osType?: string;
  experimental: boolean;
  builderVersion?: string;
  swarm?: string;
}

/** An upgraded connection: raw bytes both ways (stdcopy frames unless the container has a TTY). */
export interface HijackedStream {
  socket: Duplex;
  contentType: string;
}

/**
 * Go's url.Values.Encode: keys sorted, repeated keys for lists. `true` is
 * sent as "1" and false/undefined/null are left out, as the Go client does
 * for its boolean options.
 */
export function encodeQuery(q: Query | undefined): string {
  if (!q) return '';
  const params = new URLSearchParams();
  for (const key of Object.keys(q).sort()) {
    const v = q[key];
    if (v === undefined || v === null || v === false) continue;
    if (v === true) params.append(key, '1');
    else if (Array.isArray(v)) for (const item of v) params.append(key, item);
    else params.append(key, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** {"name":{"value":true}}, or nothing when there are no filters. */
export function encodeFilters(f: Filters | undefined): string | undefined {
  if (!f) return undefined;
  const out: Record<string, Record<string, boolean>> = {};
  for (const name of Object.keys(f).sort()) {
    const values = f[name] ?? [];
    if (!values.length) continue;
    out[name] = {};
    for (const v of [...values].sort()) out[name]![v] = true;
  }
  return Object.keys(out).length ? JSON.stringify(out) : undefined;
}

function versionNumber(v: string): number {
  const [maj, min] = v.split('.').map(Number);
  return (maj ?? 0) * 1000 + (min ?? 0);
}

/** Escapes a path segment the way the Go client leaves it: '/' and ':' stay (image names). */
export function pathSegment(s: string): string {
  return encodeURI(s).replace(/[?#]/g, (c) => encodeURIComponent(c));
}

async function readAll(res: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Turns a 4xx/5xx response into an ApiError with the daemon's message. */
async function apiErrorFrom(res: http.IncomingMessage, path: string): Promise<ApiError> {
  const status = res.statusCode ?? 500;
  const body = (await readAll(res).catch(() => Buffer.alloc(0))).toString('utf8');
  if (!body.trim()) {
    return new ApiError(status, `request returned ${http.STATUS_CODES[status] ?? status} for API route and version ${path}, check if the server supports the requested API version`);
  }
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (parsed && typeof parsed.message === 'string') return new ApiError(status, parsed.message);
  } catch {
    // not JSON: the text itself is the message
  }
  return new ApiError(status, body.trim());
}

export class EngineClient {
  readonly host: DaemonHost;
  private readonly agent = new http.Agent({ keepAlive: true });
  private negotiated?: Promise<string>;

  /** `version` pins the API version (no negotiation), like DOCKER_API_VERSION. */
  constructor(host: string | DaemonHost, private readonly pinnedVersion?: string) {
    this.host = typeof host === 'string' ? parseHost(host) : host;
  }

  /** The API version requests use, negotiated once per client. */
  apiVersion(): Promise<string> {
    if (this.pinnedVersion) return Promise.resolve(this.pinnedVersion);
    this.negotiated ??= this.ping().then((p) => {
      if (!p.apiVersion) return FALLBACK_API_VERSION;
      return versionNumber(p.apiVersion) < versionNumber(CLIENT_API_VERSION) ? p.apiVersion : CLIENT_API_VERSION;
    });
    return this.negotiated;
  }

  /** HEAD /_ping (GET if HEAD is refused); 200 and 500 both carry the headers. */
  async ping(): Promise<PingInfo> {
    let res = await this.send('HEAD', '/_ping', {});
    res.resume();
    if (res.statusCode !== 200 && res.statusCode !== 500) {
      res = await this.send('GET', '/_ping', {});
      res.resume();
    }
    if (res.statusCode !== 200 && res.statusCode !== 500) throw await apiErrorFrom(res, '/_ping');
    const h = res.headers;
    const str = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
    return {
      apiVersion: str(h['api-version']),
      osType: str(h['ostype']),
      experimental: str(h['docker-experimental']) === 'true',
      builderVersion: str(h['builder-version']),
      swarm: str(h['swarm']),
    };
  }

  /** A request whose non-2xx/3xx answers become ApiError; the body is left unread. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const version = await this.apiVersion();
    const full = `/v${version}${path}${encodeQuery(opts.query)}`;
    const res = await this.send(method, full, opts);
    if ((res.statusCode ?? 500) >= 400) throw await apiErrorFrom(res, `/v${version}${path}`);
    return res;
  }

  /** A request with a JSON answer. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const body = await this.raw(method, path, opts);
    return (body.length ? JSON.parse(body.toString('utf8')) : undefined) as T;
  }

  /** A request whose whole body is returned as bytes (inspect keeps the daemon's exact JSON). */
  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<Buffer> {
    return readAll(await this.request(method, path, opts));
  }

  /** A request whose body is discarded. */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<number> {
    const res = await this.request(method, path, opts);
    res.resume();
    await new Promise<void>((resolve) => {
      if (res.complete) resolve();
      else res.once('end', resolve).once('close', resolve);
    });
    return res.statusCode ?? 0;
  }

  /**
   * An HTTP Upgrade ("Connection: Upgrade", "Upgrade: tcp") that must be
   * answered with 101; the socket then carries the stream both ways. The
   * caller half-closes it (end()) when its input is done and keeps reading.
   */
  async hijack(method: string, path: string, opts: RequestOptions = {}): Promise<HijackedStream> {
    const version = await this.apiVersion();
    const full = `/v${version}${path}${encodeQuery(opts.query)}`;
    const payload = opts.json !== undefined ? Buffer.from(JSON.stringify(opts.json)) : undefined;
    return new Promise<HijackedStream>((resolve, reject) => {
      const req = http.request({
        ...connectOptions(this.host),
        method,
        path: full,
        // An upgraded socket never goes back to a pool.
        agent: false,
        headers: {
          Host: HOST_HEADER,
          'User-Agent': USER_AGENT,
          Connection: 'Upgrade',
          Upgrade: 'tcp',
          'Content-Type': payload ? 'application/json' : 'text/plain',
          'Content-Length': String(payload?.length ?? 0),
          ...opts.headers,
        },
      });
      req.on('upgrade', (res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve({ socket, contentType: String(res.headers['content-type'] ?? '') });
      });
      req.on('response', (res) => {
        if ((res.statusCode ?? 500) >= 400) {
          apiErrorFrom(res, `/v${version}${path}`).then(reject, reject);
        } else {
          res.resume();
          reject(new Error(`unable to upgrade to tcp, received ${res.statusCode}`));
        }
      });
      req.on('error', (err) => reject(this.connectError(err)));
      req.end(payload);
    });
  }

  /** Closes idle pooled connections so the process can exit. */
  close(): void {
    this.agent.destroy();
  }

  private connectError(err: unknown): unknown {
    if (isUnreachable(err)) return new ConnectError(this.host.url, err);
    if ((err as NodeJS.ErrnoException)?.code === 'EACCES') {
      return new Error(`permission denied while trying to connect to the berth daemon socket at ${this.host.url}: connect: permission denied`, { cause: err });
    }
    return err;
  }

  private send(method: string, fullPath: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    const headers: Record<string, string> = { Host: HOST_HEADER, 'User-Agent': USER_AGENT, ...opts.headers };
    let payload: Buffer | undefined;
    if (opts.json !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.json));
      headers['Content-Type'] ??= 'application/json';
    } else if (Buffer.isBuffer(opts.body)) {
      payload = opts.body;
    }
    if (payload) headers['Content-Length'] = String(payload.length);
    else if (!opts.body && method !== 'GET' && method !== 'HEAD') headers['Content-Length'] = '0';
    return new Promise((resolve, reject) => {
      const req = http.request({ ...connectOptions(this.host), agent: this.agent, method, path: fullPath, headers });
      req.on('response', resolve);
      req.on('error', (err) => reject(this.connectError(err)));
      if (opts.body && !Buffer.isBuffer(opts.body)) {
        // Chunked upload; a failing source aborts the request.
        opts.body.on('error', (err) => req.destroy(err));
        opts.body.pipe(req);
      } else {
        req.end(payload);
      }
    });
  }
}
