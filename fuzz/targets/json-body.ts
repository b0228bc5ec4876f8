/**
 * @module fuzz/targets/json-body
 * JSON request bodies through the API's limits and schemas (src/api/limits.ts,
 * src/api/body/): any bytes are either a decoded body or a 400/413
 * EngineError, and decoding is idempotent (a decoded body decodes to
 * itself), so what reaches the engine has exactly the schema's shape.
 */
import assert from 'node:assert/strict';
import { EngineError } from '../../src/engine/errors.js';
import { parseJson } from '../../src/api/limits.js';
import { decode } from '../../src/api/body/schema.js';
import {
  authConfigBody, containerConfigBody, containerCreateBody, containerUpdateBody, execCreateBody, execStartBody, networkConnectBody, networkCreateBody, networkDisconnectBody, volumeCreateBody,
} from '../../src/api/body/docker.js';

export const maxLen = 8192;
export const dictionary = [
  '{', '}', '[', ']', ',', ':', 'null', 'true', 'false', '""', '"\\u0000"', '1e400', '-0', '0.5', '18446744073709551616',
  '"Image":', '"Cmd":', '"Entrypoint":', '"Env":', '"Labels":', '"HostConfig":', '"Memory":', '"BlkioWeight":', '"Mounts":', '"VolumeOptions":', '"DriverConfig":',
  '"PortBindings":', '"80/tcp":', '"HostPort":', '"NetworkingConfig":', '"EndpointsConfig":', '"IPAMConfig":', '"ConsoleSize":', '"Healthcheck":', '"Test":',
  '"image":', '"__proto__":', '"constructor":', '"Labels":{"__proto__":{}}', '"Name":', '"IPAM":', '"Config":', '"DriverOpts":', '"ClusterVolumeSpec":', '"username":',
];

/** The input's first byte picks one; the order is fixed so the corpus's first bytes keep their meaning. */
const schemas = [containerCreateBody, containerConfigBody, containerUpdateBody, execCreateBody, execStartBody, networkCreateBody, networkConnectBody, networkDisconnectBody, volumeCreateBody, authConfigBody];

/** Every object the decoder made is a plain one: no key of the input became a prototype. */
function plain(v: unknown): void {
  if (v === null || typeof v !== 'object') return;
  if (!Array.isArray(v)) assert.equal(Object.getPrototypeOf(v), Object.prototype, 'a decoded object has another prototype');
  for (const e of Object.values(v)) plain(e);
}

export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const schema = schemas[data[0]! % schemas.length]!;
  let decoded: unknown;
  try {
    decoded = decode(schema, parseJson(data.subarray(1)));
  } catch (err) {
    if (err instanceof EngineError && (err.kind === 'invalid' || err.kind === 'toolarge')) return;
    throw err;
  }
  if (decoded === undefined) return;
  plain(decoded);
  const again = decode(schema, JSON.parse(JSON.stringify(decoded)));
  assert.equal(JSON.stringify(again), JSON.stringify(decoded));
}
