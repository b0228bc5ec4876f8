/**
 * @module engine/distribution/transport
 * HTTP to registries: node:http/https with one keep-alive agent per endpoint
 * and its TLS material (certs.d CAs, client certificate, or no verification
 * for an insecure registry). Plain node:http rather than fetch: the bodies are
 * streamed both ways with backpressure, and per-host TLS needs agents anyway.
 */
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import type { Endpoint } from './hosts.js';

export const USER_AGENT = 'berth/0.1 (docker-compatible; distribution client)';

const agents = new Map<string, http.Agent>();

function agentFor(url: URL, ep: Pick<Endpoint, 'skipVerify' | 'tls'> | undefined): http.Agent {
  const tls = ep?.tls ?? {};
  const key = `${url.protocol}//${url.host}|${ep?.skipVerify ? 'k' : ''}|${tls.ca?.map((c) => c.length).join(',') ?? ''}|${tls.cert?.length ?? ''}`;
  let a = agents.get(key);
  if (!a) {
    a =
      url.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            maxSockets: 16,
            rejectUnauthorized: !ep?.skipVerify,
            // certs.d CAs are added to the system's, as dockerd does.
            ...(tls.ca ? { ca: [...rootCertificates, ...tls.ca.map((c) => c.toString())] } : {}),
            ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
          })
        : new http.Agent({ keepAlive: true, maxSockets: 16 });
    agents.set(key, a);
  }
  return a;
}

export interface SendOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | Readable;
  /** The endpoint whose TLS settings apply (token servers elsewhere get default verification). */
  endpoint?: Pick<Endpoint, 'skipVerify' | 'tls'>;
  /** Milliseconds to wait for the response head. */
  timeoutMs?: number;
}

/** One request; resolves with the response head (the caller reads or drains the body). */
export function send(url: string | URL, o: SendOptions = {}): Promise<IncomingMessage> {
  const u = typeof url === 'string' ? new URL(url) : url;
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { 'User-Agent': USER_AGENT, ...o.headers };
    if (Buffer.isBuffer(o.body)) headers['Content-Length'] = o.body.length;
    const req = mod.request(u, { method: o.method ?? 'GET', headers, agent: agentFor(u, o.endpoint) }, resolve);
    req.setTimeout(o.timeoutMs ?? 60_000, () => req.destroy(new Error(`${o.method ?? 'GET'} ${u.href}: timed out waiting for the registry`)));
    req.on('error', reject);
    if (!o.body) req.end();
    else if (Buffer.isBuffer(o.body)) req.end(o.body);
    else {
      o.body.on('error', (err) => req.destroy(err));
      o.body.pipe(req);
    }
  });
}

/** The whole body, at most `limit` bytes (registry documents are small). */
export async function readBody(res: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.destroy();
      throw new Error(`response from ${res.url ?? 'the registry'} exceeds ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Reads and drops a body so the connection can be reused. */
export async function drain(res: IncomingMessage): Promise<void> {
  res.resume();
  await new Promise<void>((r) => {
    if (res.complete) r();
    else {
      res.once('end', r);
      res.once('close', r);
      res.once('error', () => r());
    }
  });
}
