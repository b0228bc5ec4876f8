/** Decoding request bodies as Go decodes them into moby's types, with the field named on error. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineError } from '../../engine/errors.js';
import { decode } from './schema.js';
import { containerCreateBody, containerUpdateBody, execCreateBody, networkCreateBody, volumeCreateBody } from './docker.js';

function refused(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof EngineError && e.kind === 'invalid' && e.message === message);
}

test('a wrong type is refused with the field\'s path', () => {
  refused(() => decode(containerCreateBody, { Image: 'a', HostConfig: { Memory: '1g' } }), 'invalid JSON: HostConfig.Memory: must be an integer, not a string');
  refused(() => decode(containerCreateBody, { Image: 'a', HostConfig: { Memory: 1.5 } }), 'invalid JSON: HostConfig.Memory: must be an integer, not the number 1.5');
  refused(() => decode(containerCreateBody, { Env: ['A=1', 2] }), 'invalid JSON: Env[1]: must be a string, not the number 2');
  refused(() => decode(containerCreateBody, { Labels: { a: true } }), 'invalid JSON: Labels["a"]: must be a string, not a boolean');
  refused(() => decode(containerCreateBody, { HostConfig: { Mounts: [{ Type: 'bind' }, { ReadOnly: 'yes' }] } }), 'invalid JSON: HostConfig.Mounts[1].ReadOnly: must be a boolean, not a string');
  refused(() => decode(containerCreateBody, { NetworkingConfig: { EndpointsConfig: { net: { Aliases: 'x' } } } }), 'invalid JSON: NetworkingConfig.EndpointsConfig["net"].Aliases: must be an array, not a string');
  refused(() => decode(containerCreateBody, []), 'invalid JSON: body: must be an object, not an array');
  refused(() => decode(containerCreateBody, 'x'), 'invalid JSON: body: must be an object, not a string');
  refused(() => decode(execCreateBody, { Cmd: 'ls' }), 'invalid JSON: Cmd: must be an array, not a string');
  refused(() => decode(networkCreateBody, { Name: 5 }), 'invalid JSON: Name: must be a string, not the number 5');
  refused(() => decode(volumeCreateBody, { DriverOpts: { size: 10 } }), 'invalid JSON: DriverOpts["size"]: must be a string, not the number 10');
});

test('integers are range-checked for their Go type', () => {
  refused(() => decode(containerUpdateBody, { BlkioWeight: -1 }), 'invalid JSON: BlkioWeight: -1 is out of range for uint16');
  refused(() => decode(containerUpdateBody, { BlkioWeight: 70000 }), 'invalid JSON: BlkioWeight: 70000 is out of range for uint16');
  refused(() => decode(containerCreateBody, { HostConfig: { Memory: 1e300 } }), 'invalid JSON: HostConfig.Memory: 1e+300 is out of range for int64');
  assert.deepEqual(decode(containerUpdateBody, { MemorySwap: -1, PidsLimit: null }), { MemorySwap: -1, PidsLimit: null });
});

test('unknown fields are dropped and keys match case-insensitively, as in Go', () => {
  const body = decode<Record<string, unknown>>(containerCreateBody, { image: 'busybox', Bogus: { deep: [1, 2] }, hostconfig: { memory: 5, Nope: 1 }, Labels: { KeepMyCase: 'x' } });
  assert.deepEqual(body, { Image: 'busybox', HostConfig: { Memory: 5 }, Labels: { KeepMyCase: 'x' } });
  // Exact match first; a later key wins.
  assert.deepEqual(decode(containerCreateBody, { Image: 'a', image: 'b' }), { Image: 'b' });
});

test('StrSlice fields take a string; null clears pointers and leaves values alone', () => {
  assert.deepEqual(decode(containerCreateBody, { Cmd: 'echo hi', Entrypoint: ['sh', '-c'], Shell: null }), { Cmd: ['echo hi'], Entrypoint: ['sh', '-c'], Shell: null });
  assert.deepEqual(decode(containerCreateBody, { Image: null, Env: null, HostConfig: { Memory: null, Init: null } }), { Env: null, HostConfig: { Init: null } });
  assert.deepEqual(decode(containerCreateBody, { HostConfig: { ConsoleSize: [24] } }), { HostConfig: { ConsoleSize: [24, 0] } });
  assert.equal(decode(containerCreateBody, undefined), undefined);
  assert.equal(decode(containerCreateBody, null), undefined);
});

test('a map key named __proto__ stays a key and sets no prototype', () => {
  const body = decode<{ Labels: Record<string, string>; NetworkingConfig: { EndpointsConfig: Record<string, unknown> } }>(
    containerCreateBody,
    JSON.parse('{"Labels":{"__proto__":"x"},"NetworkingConfig":{"EndpointsConfig":{"__proto__":{"Aliases":["a"]}}}}'),
  )!;
  assert.deepEqual(Object.keys(body.Labels), ['__proto__']);
  assert.equal(Object.getPrototypeOf(body.Labels), Object.prototype);
  assert.equal(Object.getPrototypeOf(body.NetworkingConfig.EndpointsConfig), Object.prototype);
  assert.equal((body.NetworkingConfig.EndpointsConfig as { Aliases?: unknown }).Aliases, undefined);
  assert.equal(JSON.stringify(body.Labels), '{"__proto__":"x"}');
});
