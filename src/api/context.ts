/**
 * What an API handler gets: the parsed request (params, query, version) and
 * helpers to read the body and write Docker-style responses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { invalid } from '../engine/errors.js';
import { decode, type Schema } from './body/schema.js';
import { parseJson, readLimitedBody } from './limits.js';
import { span } from '../engine/trace.js';

export interface RequestContext {
  req: IncomingMessage;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Negotiated API version of this request ("1.51"). */
  version: string;
}

/** A normal request/response handler. */
export interface HttpContext extends RequestContext {
  res: ServerResponse;
}

/** A hijacked connection (attach, exec start): the raw socket after the request head. */
export interface HijackContext extends RequestContext {
  socket: Duplex;
  head: Buffer;
  /** True when the client asked to upgrade (Connection: Upgrade). */
  upgrade: boolean;
  /** Without an upgrade, the response the stream is written through. */
  res?: ServerResponse;
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Reads and decodes a JSON body against the schema of its Docker type
 * (./body/docker.ts): capped in size and depth (./limits.ts), wrong types
 * refused naming the field, unknown fields dropped. An empty body is
 * `undefined`, as dockerd treats it.
 */
export async function readJsonBody<T>(req: IncomingMessage, schema: Schema): Promise<T | undefined> {
  return span('api-parse', async () => decode<T>(schema, parseJson(await readLimitedBody(req))));
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}

/** Docker's boolean query values: "1", "true", "True" are true; absent and "0"/"false" are false. */
export function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null) return false;
  const s = v.trim().toLowerCase();
  return s !== '' && s !== '0' && s !== 'false' && s !== 'no';
}

export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw invalid(`invalid value for ${name}: ${v}`);
  return n;
}

/** `filters` query parameter: {"key": ["v"]} or the legacy {"key": {"v": true}} form. */
export function filtersParam(q: URLSearchParams): Record<string, string[]> {
  const raw = q.get('filters');
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid(`invalid filter: ${raw}`);
  }
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries((parsed ?? {}) as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (v && typeof v === 'object') out[k] = Object.entries(v).filter(([, b]) => b).map(([s]) => s);
  }
  return out;
}

/** Reads whatever is left of a request body, so an error response reaches a client still uploading. */
export function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    req.once('end', resolve);
    req.once('close', resolve);
    req.resume();
  });
}
