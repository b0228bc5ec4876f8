/** System endpoints: /version, /info and /events. */
import type { IncomingMessage } from 'node:http';
import { encodeFilters, type EngineClient } from './client.js';
import type { CheckReport, Filters, SystemVersion, SystemInfo } from '../common/api/index.js';

export function serverVersion(client: EngineClient): Promise<SystemVersion> {
  return client.json('GET', '/version');
}

export function systemInfo(client: EngineClient): Promise<SystemInfo> {
  return client.json('GET', '/info');
}

export interface EventsOptions {
  /** Unix seconds (with an optional fraction), as GetTimestamp makes them. */
  since?: string;
  until?: string;
  filters?: Filters;
}

/** GET /events: one JSON message per line, until `until` passes or the request is dropped. */
export function streamEvents(client: EngineClient, o: EventsOptions = {}): Promise<IncomingMessage> {
  return client.request('GET', '/events', { query: { filters: encodeFilters(o.filters), since: o.since || undefined, until: o.until || undefined } });
}

/** berth's store check (`POST /berth/system/check`): a report of what is wrong and, with `repair`, what was done. */
export function systemCheck(client: EngineClient, o: { repair?: boolean; full?: boolean } = {}): Promise<CheckReport> {
  const q = new URLSearchParams();
  if (o.repair) q.set('repair', '1');
  if (o.full === false) q.set('full', '0');
  return client.json('POST', `/berth/system/check${q.size ? `?${q}` : ''}`);
}
