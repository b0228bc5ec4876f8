import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineError } from '../errors.js';
import { NetworkCatalogue } from './catalogue.js';

// Without a bridge (dockerd's --bridge none) the predefined networks are host and none; nothing here touches the host.
const service = () => new NetworkCatalogue(undefined);
const names = (s: NetworkCatalogue, f: Record<string, string[]>) => s.list(f).map((n) => n.Name);

test('list filters the predefined networks as dockerd does', () => {
  const s = service();
  assert.deepEqual(names(s, {}), ['host', 'none']);
  assert.deepEqual(names(s, { name: ['os'] }), ['host']);
  assert.deepEqual(names(s, { driver: ['null'] }), ['none']);
  assert.deepEqual(names(s, { type: ['builtin'], scope: ['local'] }), ['host', 'none']);
  assert.deepEqual(names(s, { type: ['custom'] }), []);
  assert.deepEqual(names(s, { label: ['a=b'] }), []);
  assert.deepEqual(names(s, { dangling: ['true'] }), []);
  const hostId = s.inspect('host').Id;
  assert.deepEqual(names(s, { id: [hostId.slice(0, 6)] }), ['host']);
});

test('list refuses an unknown filter', () => {
  assert.throws(() => service().list({ nme: ['x'] }), (e: unknown) => e instanceof EngineError && e.kind === 'invalid' && e.message === "invalid filter 'nme'");
});

test('the predefined networks cannot be removed; a missing one is not found', async () => {
  const s = service();
  await assert.rejects(s.remove('none'), (e: unknown) => e instanceof EngineError && e.kind === 'forbidden');
  await assert.rejects(s.remove('nosuch'), (e: unknown) => e instanceof EngineError && e.kind === 'notfound');
  assert.throws(() => s.resolveForEndpoint('nosuch'), (e: unknown) => e instanceof EngineError && e.kind === 'notfound');
  assert.deepEqual(await s.prune(), { NetworksDeleted: null });
});
