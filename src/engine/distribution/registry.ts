/**
 * @module engine/distribution/registry
 * One repository on one registry endpoint, spoken to by the distribution
 * API (OCI distribution-spec): manifests by tag or digest, blobs (GET with
 * Range, HEAD, monolithic or streamed uploads, cross-repository mounts).
 * Every request goes through the Authorizer: a 401 is answered once with a
 * fresh token or credentials, then becomes an error. Registry errors keep the
 * registry's code and read as distribution's errcode does
 * ("manifest unknown: manifest unknown").
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Digest } from '../../common/reference/digest.js';
import { Authorizer } from './auth.js';
import type { Endpoint } from './hosts.js';
import { drain, readBody, send } from './transport.js';
import { MT_DOCKER_MANIFEST, MT_DOCKER_MANIFEST_LIST, MT_OCI_INDEX, MT_OCI_MANIFEST } from '../../common/oci.js';

export const MANIFEST_ACCEPT = [MT_DOCKER_MANIFEST, MT_DOCKER_MANIFEST_LIST, MT_OCI_MANIFEST, MT_OCI_INDEX].join(', ');

/** An error the registry answered with (errcode.Error), or an unexpected status. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** The errcode (MANIFEST_UNKNOWN, DENIED, UNAUTHORIZED…), when the registry gave one. */
    readonly code?: string,
    /** The registry's own message for that code. */
    readonly detailMessage?: string,
  ) {
    super(message);
  }
}

/** A transport-level failure (connection refused or dropped, TLS): worth the next endpoint or a retry. */
export class TransportError extends Error {}

/**
 * A failed request in Go's net/http words, as dockerd's messages carry them:
 * `Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused`.
 */
export function transportError(method: string, url: string, err: unknown): TransportError {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string };
  const verb = method.charAt(0) + method.slice(1).toLowerCase();
  const host = (() => {
    try {
      const u = new URL(url);
      return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
    } catch {
      return '';
    }
  })();
  const why: Record<string, string> = {
    ECONNREFUSED: `dial tcp ${host}: connect: connection refused`,
    ENOTFOUND: `dial tcp: lookup ${e.hostname ?? host.replace(/:\d+$/, '')}: no such host`,
    EAI_AGAIN: `dial tcp: lookup ${e.hostname ?? host.replace(/:\d+$/, '')}: Temporary failure in name resolution`,
    ETIMEDOUT: `dial tcp ${host}: i/o timeout`,
    EHOSTUNREACH: `dial tcp ${host}: connect: no route to host`,
    ENETUNREACH: `dial tcp ${host}: connect: network is unreachable`,
    ECONNRESET: `read tcp ${host}: read: connection reset by peer`,
  };
  return new TransportError(`${verb} "${url}": ${(e?.code && why[e.code]) || e?.message || String(err)}`);
}

async function registryError(res: IncomingMessage, what: string): Promise<RegistryError> {
  const body = await readBody(res, 1 << 20).catch(() => Buffer.alloc(0));
  const status = res.statusCode ?? 0;
  try {
    const j = JSON.parse(body.toString()) as { errors?: { code?: string; message?: string }[] };
    const e = j.errors?.[0];
    if (e?.code) {
      const codeText = e.code.toLowerCase().replace(/_/g, ' ');
      return new RegistryError(`${codeText}: ${e.message ?? codeText}`, status, e.code, e.message);
    }
  } catch {
    // not a registry error document
  }
  if (status === 401) return new RegistryError('unauthorized: authentication required', status, 'UNAUTHORIZED', 'authentication required');
  if (status === 404) return new RegistryError(`${what}: not found`, status);
  return new RegistryError(`${what}: unexpected status from the registry: ${status} ${res.statusMessage ?? ''}`.trim(), status);
}

export interface RequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | (() => Readable);
  /** Statuses that are success (the body is the caller's). */
  ok: number[];
  /** Scopes beyond the repository's own (a mount's source repository). */
  extraScopes?: string[];
  timeoutMs?: number;
}

export class RepositoryClient {
  readonly scopes: string[];

  constructor(
    readonly endpoint: Endpoint,
    /** The repository path on this registry: library/busybox. */
    readonly path: string,
    readonly auth: Authorizer,
    actions: ('pull' | 'push')[],
  ) {
    this.scopes = [`repository:${path}:${actions.join(',')}`];
  }

  url(p: string): string {
    return `${this.endpoint.url}/v2/${this.path}/${p}`;
  }

  /**
   * A request with auth; one more try after a 401 that taught something
   * (a body that is a stream is made again by its factory).
   */
  async request(urlOrPath: string, o: RequestOptions): Promise<IncomingMessage> {
    const url = /^https?:/.test(urlOrPath) ? urlOrPath : this.url(urlOrPath);
    const scopes = [...this.scopes, ...(o.extraScopes ?? [])];
    for (let attempt = 0; ; attempt++) {
      const headers: OutgoingHttpHeaders = { ...o.headers };
      const authz = await this.auth.header(scopes);
      if (authz) headers.Authorization = authz;
      let res: IncomingMessage;
      try {
        res = await send(url, {
          method: o.method ?? 'GET',
          headers,
          body: typeof o.body === 'function' ? o.body() : o.body,
          endpoint: this.endpoint,
          timeoutMs: o.timeoutMs,
        });
      } catch (err) {
        throw transportError(o.method ?? 'GET', url, err);
      }
      if (res.statusCode === 401 && attempt === 0 && this.auth.onUnauthorized(res.headers['www-authenticate'], scopes)) {
        await drain(res);
        continue;
      }
      if (o.ok.includes(res.statusCode ?? 0)) return res;
      throw await registryError(res, `${o.method ?? 'GET'} ${url}`);
    }
  }

  /** GET a manifest by tag or digest: its bytes, media type and digest (the registry's header, checked later). */
  async getManifest(reference: string): Promise<{ body: Buffer; mediaType: string; digest?: string }> {
    const res = await this.request(`manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT }, ok: [200] });
    const body = await readBody(res, 4 << 20);
    const ct = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    const digest = res.headers['docker-content-digest'];
    return { body, mediaType: ct, ...(typeof digest === 'string' ? { digest } : {}) };
  }

  /** HEAD a manifest: its digest and size, or undefined when there is none. */
  async headManifest(reference: string): Promise<{ digest?: string; size: number; mediaType: string } | undefined> {
    try {
      const res = await this.request(`manifests/${reference}`, { method: 'HEAD', headers: { Accept: MANIFEST_ACCEPT }, ok: [200] });
      await drain(res);
      const d = res.headers['docker-content-digest'];
      return { ...(typeof d === 'string' ? { digest: d } : {}), size: Number(res.headers['content-length'] ?? 0), mediaType: String(res.headers['content-type'] ?? '').split(';')[0]!.trim() };
    } catch (err) {
      if (err instanceof RegistryError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** A blob's bytes from `offset` (Range); `partial` says whether the registry honoured the range. */
  async getBlob(digest: Digest, offset = 0): Promise<{ res: IncomingMessage; partial: boolean }> {
    const headers: OutgoingHttpHeaders = offset > 0 ? { Range: `bytes=${offset}-` } : {};
    const res = await this.request(`blobs/${digest}`, { headers, ok: [200, 206], timeoutMs: 120_000 });
    return { res, partial: res.statusCode === 206 };
  }

  /** Whether the repository has the blob (HEAD). */
  async hasBlob(digest: Digest): Promise<boolean> {
    try {
      const res = await this.request(`blobs/${digest}`, { method: 'HEAD', ok: [200] });
      await drain(res);
      return true;
    } catch (err) {
      if (err instanceof RegistryError && err.status === 404) return false;
      throw err;
    }
  }

  /**
   * Tries to mount `digest` from repository `from` on the same registry.
   * Returns true when mounted (201); otherwise the upload the registry
   * started instead (202), whose location the caller can use.
   */
  async mountBlob(digest: Digest, from: string): Promise<{ mounted: true } | { mounted: false; location: string }> {
    const q = new URLSearchParams({ mount: digest, from });
    const res = await this.request(`blobs/uploads/?${q}`, { method: 'POST', headers: { 'Content-Length': 0 }, ok: [201, 202], extraScopes: [`repository:${from}:pull`] });
    await drain(res);
    if (res.statusCode === 201) return { mounted: true };
    return { mounted: false, location: this.location(res) };
  }

  /** Starts an upload session; returns its location. */
  async startUpload(): Promise<string> {
    const res = await this.request('blobs/uploads/', { method: 'POST', headers: { 'Content-Length': 0 }, ok: [202] });
    await drain(res);
    return this.location(res);
  }

  /**
   * Streams a blob whose digest is known only at the end: PATCH the bytes
   * (chunked), then PUT with the digest the caller learnt meanwhile.
   */
  async uploadStream(location: string, body: Readable, digestAtEnd: () => Digest): Promise<void> {
    const patched = await this.request(location, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' }, body: () => body, ok: [202], timeoutMs: 600_000 });
    await drain(patched);
    const put = new URL(this.location(patched));
    put.searchParams.set('digest', digestAtEnd());
    const done = await this.request(put.href, { method: 'PUT', headers: { 'Content-Length': 0 }, ok: [201, 204] });
    await drain(done);
  }

  /** A monolithic upload of bytes whose digest is known (a config). */
  async uploadBuffer(location: string, digest: Digest, data: Buffer): Promise<void> {
    const put = new URL(location);
    put.searchParams.set('digest', digest);
    const res = await this.request(put.href, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: data, ok: [201, 204] });
    await drain(res);
  }

  /** PUT a manifest under a tag (or digest); returns the digest the registry computed. */
  async putManifest(reference: string, mediaType: string, body: Buffer): Promise<string | undefined> {
    const res = await this.request(`manifests/${reference}`, { method: 'PUT', headers: { 'Content-Type': mediaType }, body, ok: [201, 202] });
    await drain(res);
    const d = res.headers['docker-content-digest'];
    return typeof d === 'string' ? d : undefined;
  }

  private location(res: IncomingMessage): string {
    const loc = res.headers.location;
    if (!loc) throw new RegistryError('the registry started an upload without a Location', res.statusCode ?? 0);
    return new URL(loc, this.endpoint.url).href;
  }
}

/** GET /v2/ with auth: what `docker login` checks. Resolves when the credentials are accepted. */
export async function ping(endpoint: Endpoint, auth: Authorizer): Promise<void> {
  const url = `${endpoint.url}/v2/`;
  for (let attempt = 0; ; attempt++) {
    const headers: OutgoingHttpHeaders = {};
    const authz = await auth.header([]);
    if (authz) headers.Authorization = authz;
    let res: IncomingMessage;
    try {
      res = await send(url, { headers, endpoint, timeoutMs: 30_000 });
    } catch (err) {
      throw transportError('GET', url, err);
    }
    await drain(res);
    if (res.statusCode === 200) return;
    if (res.statusCode === 401 && attempt === 0 && auth.onUnauthorized(res.headers['www-authenticate'], [])) continue;
    throw new RegistryError(`login attempt to ${url} failed with status: ${res.statusCode} ${res.statusMessage ?? ''}`.trim(), res.statusCode ?? 0, res.statusCode === 401 ? 'UNAUTHORIZED' : undefined);
  }
}
