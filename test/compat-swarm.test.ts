/**
 * Swarm and plugins are absent, and berthd says so as a dockerd that is not
 * a swarm manager does: 503 with moby's messages on every swarm route (a 404
 * would break SDK cleanup code that lists services first), an empty plugin
 * list, and an inactive node in `info`. Driven through the docker CLI v28,
 * dockerode and raw HTTP.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { docker, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { api } from './helpers/http.js';

const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

let d: TestDaemon;

before(async () => {
  d = await startDaemon();
});

after(async () => {
  await d?.cleanup();
});

test('docker node/service/secret/config ls fail with dockerd\'s "not a swarm manager" error', async () => {
  for (const args of [['node', 'ls'], ['service', 'ls'], ['secret', 'ls'], ['config', 'ls']]) {
    const r = await docker(d, args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.trim(), `Error response from daemon: ${NOT_A_MANAGER}`, args.join(' '));
  }
  const key = await docker(d, ['swarm', 'unlock-key']);
  assert.equal(key.stderr.trim(), `could not fetch unlock key: Error response from daemon: ${NOT_A_MANAGER}`);
});

test('docker swarm leave: "This node is not part of a swarm"', async () => {
  const r = await docker(d, ['swarm', 'leave']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), 'Error response from daemon: This node is not part of a swarm');
});

test('every swarm route answers 503 with moby\'s message, bodies and all', async () => {
  const routes: [string, string, unknown?][] = [
    ['GET', '/v1.51/swarm'],
    ['GET', '/v1.51/swarm/unlockkey'],
    ['POST', '/v1.51/swarm/update?version=1', {}],
    ['POST', '/v1.51/swarm/unlock', { UnlockKey: 'x' }],
    ['GET', '/v1.51/nodes'],
    ['GET', '/v1.51/nodes/abc'],
    ['DELETE', '/v1.51/nodes/abc'],
    ['GET', '/v1.51/services'],
    ['GET', '/v1.51/services/web'],
    ['POST', '/v1.51/services/create', { Name: 'web' }],
    ['GET', '/v1.51/services/web/logs?stdout=1'],
    ['GET', '/v1.51/tasks'],
    ['GET', '/v1.51/tasks/t1'],
    ['GET', '/v1.51/secrets'],
    ['POST', '/v1.51/secrets/create', { Name: 's', Data: '' }],
    ['GET', '/v1.51/configs'],
    ['DELETE', '/v1.51/configs/c1'],
  ];
  for (const [method, path, body] of routes) {
    const r = await api(d.socket, method, path, body);
    assert.equal(r.status, 503, `${method} ${path}: ${r.body}`);
    assert.deepEqual(r.json(), { message: NOT_A_MANAGER }, `${method} ${path}`);
  }
  const leave = await api(d.socket, 'POST', '/v1.51/swarm/leave?force=1');
  assert.equal(leave.status, 503);
  assert.deepEqual(leave.json(), { message: 'This node is not part of a swarm' });
  // berth cannot form a swarm: refused with the same status, not a 404.
  const init = await api(d.socket, 'POST', '/v1.51/swarm/init', { ListenAddr: '0.0.0.0:2377' });
  assert.equal(init.status, 503);
});

test('dockerode: listServices rejects with 503, listPlugins is empty, info shows an inactive node', async () => {
  const client = new Docker({ socketPath: d.socket });
  await assert.rejects(client.listServices(), (err: { statusCode?: number; json?: { message?: string } }) => {
    assert.equal(err.statusCode, 503);
    assert.equal(err.json?.message, NOT_A_MANAGER);
    return true;
  });
  assert.deepEqual(await client.listPlugins(), []);
  const info = await client.info();
  assert.deepEqual(info.Swarm, { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null });
  await assert.rejects(client.getPlugin('vieux/sshfs', undefined).inspect(), (err: { statusCode?: number; json?: { message?: string } }) => {
    assert.equal(err.statusCode, 404);
    assert.equal(err.json?.message, 'plugin "vieux/sshfs" not found');
    return true;
  });
});

test('docker plugin ls prints the empty table; plugin inspect/rm say not found; docker info says Swarm: inactive', async () => {
  const ls = await docker(d, ['plugin', 'ls']);
  assert.equal(ls.code, 0, ls.stderr);
  assert.deepEqual(ls.stdout.trim().split(/\s+/), ['ID', 'NAME', 'DESCRIPTION', 'ENABLED']);
  const inspect = await docker(d, ['plugin', 'inspect', 'nosuch']);
  assert.equal(inspect.code, 1);
  assert.match(inspect.stderr, /plugin "nosuch" not found/);
  const rm = await docker(d, ['plugin', 'rm', 'nosuch']);
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /plugin "nosuch" not found/);
  const info = await docker(d, ['info']);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /^ Swarm: inactive$/m);
  const state = await docker(d, ['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} [{{.Swarm.NodeID}}]']);
  assert.equal(state.stdout.trim(), 'inactive false []');
});
