/**
 * Container endpoints: create, inspect, list, start, stop, kill, remove,
 * wait, attach (hijacked), logs, resize and stats — thin wrappers that send
 * what the Go client sends.
 */
import type { IncomingMessage } from 'node:http';
import { encodeFilters, pathSegment, type EngineClient, type HijackedStream } from './client.js';
import type {
  ContainerCreateBody,
  ContainerCreateResponse,
  ContainerInspectResponse,
  ContainerSummary,
  ContainerWaitResponse,
  Filters,
  WaitCondition,
} from '../common/api/index.js';

const c = (id: string) => `/containers/${pathSegment(id)}`;

export function createContainer(client: EngineClient, body: ContainerCreateBody, opts: { name?: string; platform?: string } = {}): Promise<ContainerCreateResponse> {
  return client.json('POST', '/containers/create', { query: { name: opts.name || undefined, platform: opts.platform || undefined }, json: body });
}

/** The daemon's JSON as sent (for docker-identical `inspect` output) and parsed. */
export async function inspectContainerRaw(client: EngineClient, id: string, size = false): Promise<{ raw: Buffer; value: ContainerInspectResponse }> {
  const raw = await client.raw('GET', `${c(id)}/json`, { query: { size } });
  return { raw, value: JSON.parse(raw.toString('utf8')) as ContainerInspectResponse };
}

export async function inspectContainer(client: EngineClient, id: string): Promise<ContainerInspectResponse> {
  return (await inspectContainerRaw(client, id)).value;
}

export interface ListContainersOptions {
  all?: boolean;
  /** Only the n most recently created; ≤ 0 means no limit. */
  limit?: number;
  size?: boolean;
  filters?: Filters;
}

export function listContainers(client: EngineClient, o: ListContainersOptions = {}): Promise<ContainerSummary[]> {
  return client.json('GET', '/containers/json', {
    query: { all: o.all, limit: o.limit && o.limit > 0 ? o.limit : undefined, size: o.size, filters: encodeFilters(o.filters) },
  });
}

export async function startContainer(client: EngineClient, id: string): Promise<void> {
  await client.call('POST', `${c(id)}/start`);
}

/** 304 (already stopped) is not an error, as with the Go client. */
export async function stopContainer(client: EngineClient, id: string, o: { signal?: string; timeout?: number } = {}): Promise<void> {
  await client.call('POST', `${c(id)}/stop`, { query: { signal: o.signal || undefined, t: o.timeout } });
}

export async function killContainer(client: EngineClient, id: string, signal?: string): Promise<void> {
  await client.call('POST', `${c(id)}/kill`, { query: { signal: signal || undefined } });
}

export async function removeContainer(client: EngineClient, id: string, o: { force?: boolean; volumes?: boolean; link?: boolean } = {}): Promise<void> {
  await client.call('DELETE', c(id), { query: { force: o.force, link: o.link, v: o.volumes } });
}

export async function resizeContainer(client: EngineClient, id: string, height: number, width: number): Promise<void> {
  await client.call('POST', `${c(id)}/resize`, { query: { h: height, w: width } });
}

/** A wait in progress: the daemon has registered it; `result` settles when the condition is met. */
export interface PendingWait {
  result: Promise<ContainerWaitResponse>;
  /** Drops the request (docker run -d does this once the container started). */
  cancel(): void;
}

/**
 * POST /containers/{id}/wait. Resolves once the response headers arrived,
 * which the daemon sends only after the wait is registered — so a start
 * issued afterwards cannot be missed.
 */
export async function waitContainer(client: EngineClient, id: string, condition?: WaitCondition): Promise<PendingWait> {
  const res: IncomingMessage = await client.request('POST', `${c(id)}/wait`, { query: { condition } });
  const result = (async () => {
    const chunks: Buffer[] = [];
    for await (const b of res) chunks.push(b as Buffer);
    const text = Buffer.concat(chunks).toString('utf8').trim();
    if (!text) throw new Error('unexpected EOF');
    return JSON.parse(text) as ContainerWaitResponse;
  })();
  // A cancelled wait must not surface as an unhandled rejection.
  result.catch(() => undefined);
  return { result, cancel: () => res.destroy() };
}

export interface AttachOptions {
  stream?: boolean;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  logs?: boolean;
  detachKeys?: string;
}

export function attachContainer(client: EngineClient, id: string, o: AttachOptions): Promise<HijackedStream> {
  return client.hijack('POST', `${c(id)}/attach`, {
    query: { detachKeys: o.detachKeys || undefined, logs: o.logs, stderr: o.stderr, stdin: o.stdin, stdout: o.stdout, stream: o.stream },
  });
}

export interface LogsOptions {
  stdout?: boolean;
  stderr?: boolean;
  follow?: boolean;
  timestamps?: boolean;
  details?: boolean;
  /** "all" or a number of lines. */
  tail?: string;
  /** Unix seconds (with optional fraction), as the daemon takes them. */
  since?: string;
  until?: string;
}

export function containerLogs(client: EngineClient, id: string, o: LogsOptions): Promise<IncomingMessage> {
  return client.request('GET', `${c(id)}/logs`, {
    query: {
      details: o.details,
      follow: o.follow,
      since: o.since || undefined,
      stderr: o.stderr,
      stdout: o.stdout,
      tail: o.tail,
      timestamps: o.timestamps,
      until: o.until || undefined,
    },
  });
}

/**
 * GET /containers/{id}/stats: one JSON document per line while `stream`;
 * without it the daemon samples twice (a second apart) and sends one.
 */
export function containerStats(client: EngineClient, id: string, stream: boolean): Promise<IncomingMessage> {
  return client.request('GET', `${c(id)}/stats`, { query: { stream: stream ? '1' : '0' } });
}
