/** System endpoints: /version and /info. */
import type { EngineClient } from './client.js';
import type { ServerVersion, SystemInfo } from './types.js';

export function serverVersion(client: EngineClient): Promise<ServerVersion> {
  return client.json('GET', '/version');
}

export function systemInfo(client: EngineClient): Promise<SystemInfo> {
  return client.json('GET', '/info');
}
