/**
 * @module engine/image/import-url
 * `docker import URL`: the daemon downloads the tarball itself, as dockerd
 * does, and hands the image service a stream as if the client had sent it.
 * A URL without a scheme is taken as http://, as dockerd's does.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { EngineError, errorMessage, invalid } from '../errors.js';

/** The URL `docker import` names (http:// when it has no scheme); bad ones are invalid. */
export function importUrl(src: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(src) ? src : `http://${src}`);
  } catch {
    throw invalid(`invalid URL: ${src}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`unsupported URL scheme: ${url.protocol}`);
  return url;
}

/** Opens the tarball at `src` (http or https); failures say which URL was being fetched. */
export async function openImportUrl(src: string | URL): Promise<Readable> {
  const url = typeof src === 'string' ? importUrl(src) : src;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new EngineError('system', `Get "${url.href}": ${errorMessage((err as Error).cause ?? err)}`);
  }
  if (!res.ok || !res.body) throw new EngineError('system', `Get "${url.href}": unexpected status ${res.status}`);
  return Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
}
