/**
 * Container filesystem endpoints behind `docker cp`: stat a path (HEAD),
 * download a path as a tar (GET), extract a tar into a directory (PUT), all
 * on /containers/{id}/archive. The path's stat comes back base64-encoded
 * JSON in X-Docker-Container-Path-Stat.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { pathSegment, type EngineClient } from './client.js';
import type { PathStat } from '../common/api/index.js';

const STAT_HEADER = 'x-docker-container-path-stat';

// Go's os.FileMode type bits, as they travel in PathStat.mode.
export const MODE_DIR = 2 ** 31;
export const MODE_SYMLINK = 2 ** 27;
export const MODE_DEVICE = 2 ** 26;
export const MODE_IRREGULAR = 2 ** 19;

/** Tests a FileMode bit; the mode does not fit in a signed 32-bit integer, so no `&`. */
export function hasModeBit(mode: number, bit: number): boolean {
  return Math.floor(mode / bit) % 2 === 1;
}

function decodeStat(res: IncomingMessage): PathStat {
  const raw = res.headers[STAT_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) throw new Error('unable to decode container path stat header: empty header');
  return JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as PathStat;
}

const archive = (id: string) => `/containers/${pathSegment(id)}/archive`;

/** HEAD …/archive?path=: what is at `path` in the container (symlinks not followed). */
export async function statContainerPath(client: EngineClient, id: string, path: string): Promise<PathStat> {
  const res = await client.request('HEAD', archive(id), { query: { path } });
  res.resume();
  return decodeStat(res);
}

/** GET …/archive?path=: `path` as a tar stream, with its stat. */
export async function getContainerArchive(client: EngineClient, id: string, path: string): Promise<{ content: IncomingMessage; stat: PathStat }> {
  const res = await client.request('GET', archive(id), { query: { path } });
  try {
    return { content: res, stat: decodeStat(res) };
  } catch (err) {
    res.destroy();
    throw err;
  }
}

export interface PutArchiveOptions {
  /** -a: keep the tar's uid/gid instead of the container's root. */
  copyUIDGID?: boolean;
  /** Let a file replace a directory and vice versa (the docker CLI never does). */
  allowOverwriteDirWithFile?: boolean;
}

/** PUT …/archive?path=: extracts `content` (a tar) into the directory `path`. */
export async function putContainerArchive(client: EngineClient, id: string, path: string, content: Readable, o: PutArchiveOptions = {}): Promise<void> {
  const status = await client.call('PUT', archive(id), {
    query: { copyUIDGID: o.copyUIDGID ? 'true' : undefined, noOverwriteDirNonDir: o.allowOverwriteDirWithFile ? undefined : 'true', path },
    body: content,
    // What the Go client sends for a body without a type of its own.
    headers: { 'Content-Type': 'text/plain' },
  });
  if (status !== 200) throw new Error(`unexpected status code from daemon: ${status}`);
}
