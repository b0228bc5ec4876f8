/**
 * Image endpoints: list, inspect, tag, remove, import (a tarball streamed as
 * the body of /images/create?fromSrc=-) and pull (/images/create?fromImage=).
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { encodeFilters, pathSegment, type EngineClient } from './client.js';
import type { Filters, ImageDeleteResponseItem, ImageImportOptions, ImageSummary } from '../common/api/index.js';

const img = (name: string) => `/images/${pathSegment(name)}`;
/** base64("{}"): anonymous registry credentials, as the docker CLI sends them. */
const NO_AUTH = 'e30=';

export function listImages(client: EngineClient, o: { all?: boolean; filters?: Filters } = {}): Promise<ImageSummary[]> {
  return client.json('GET', '/images/json', { query: { all: o.all, filters: encodeFilters(o.filters) } });
}

export async function inspectImageRaw(client: EngineClient, name: string): Promise<{ raw: Buffer; value: unknown }> {
  const raw = await client.raw('GET', `${img(name)}/json`);
  return { raw, value: JSON.parse(raw.toString('utf8')) };
}

/** `repo` is the full name ("docker.io/library/x"); `tag` may be empty. */
export async function tagImage(client: EngineClient, source: string, repo: string, tag?: string): Promise<void> {
  await client.call('POST', `${img(source)}/tag`, { query: { repo, tag: tag || undefined } });
}

export function removeImage(client: EngineClient, name: string, o: { force?: boolean; noPrune?: boolean } = {}): Promise<ImageDeleteResponseItem[]> {
  return client.json('DELETE', img(name), { query: { force: o.force, noprune: o.noPrune } });
}

/** `docker import`: the query the daemon reads (common/api's ImageImportOptions), the platform and the tarball. */
export interface ImportOptions extends ImageImportOptions {
  /** The tarball; absent when the daemon fetches `fromSrc` (a URL) itself. */
  body?: Readable;
  platform?: string;
}

/** POST /images/create?fromSrc=…; the answer is a JSON-message stream. */
export function importImage(client: EngineClient, o: ImportOptions): Promise<IncomingMessage> {
  return client.request('POST', '/images/create', {
    query: {
      changes: o.changes?.length ? o.changes : undefined,
      fromSrc: o.fromSrc,
      message: o.message || undefined,
      platform: o.platform || undefined,
      repo: o.repo || undefined,
      tag: o.tag || undefined,
    },
    body: o.body,
    headers: o.body ? { 'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked' } : {},
  });
}

/** POST /images/create?fromImage=…&tag=…; the answer is a JSON-message stream. */
export function pullImage(client: EngineClient, o: { fromImage: string; tag?: string; platform?: string; auth?: string }): Promise<IncomingMessage> {
  return client.request('POST', '/images/create', {
    query: { fromImage: o.fromImage, platform: o.platform || undefined, tag: o.tag || undefined },
    headers: { 'X-Registry-Auth': o.auth ?? NO_AUTH },
  });
}

/** POST /images/{name}/push?tag=…; a JSON-message stream. */
export function pushImage(client: EngineClient, o: { name: string; tag?: string; auth: string }): Promise<IncomingMessage> {
  return client.request('POST', `/images/${pathSegment(o.name)}/push`, {
    query: { tag: o.tag || undefined },
    headers: { 'X-Registry-Auth': o.auth },
  });
}
