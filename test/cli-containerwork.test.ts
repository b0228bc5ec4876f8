/**
 * The berth CLI's pause, unpause, restart, rename, top, port, update and
 * container prune, compared with the real docker CLI against the same berthd.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { berth, docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

const state = async (name: string) => (await docker(d, ['inspect', '-f', '{{.State.Status}}', name])).stdout.trim();

test('pause, unpause, restart and rename behave and print as docker does', async () => {
  assert.equal((await berth(d, ['run', '-d', '--name', 'svc', 'busybox', 'sleep', '60'])).code, 0);
  const p = await berth(d, ['pause', 'svc']);
  assert.equal(p.stdout, 'svc\n');
  assert.equal(await state('svc'), 'paused');
  const again = await berth(d, ['pause', 'svc']);
  const againDocker = await docker(d, ['pause', 'svc']);
  assert.equal(again.code, againDocker.code);
  assert.equal(again.stderr.replace(/^berth: /, ''), againDocker.stderr.replace(/^docker: /, ''));
  assert.equal((await berth(d, ['unpause', 'svc'])).stdout, 'svc\n');
  assert.equal(await state('svc'), 'running');
  assert.equal((await berth(d, ['restart', '-t', '0', 'svc'])).stdout, 'svc\n');
  assert.equal(await state('svc'), 'running');
  const r = await berth(d, ['rename', 'svc', 'svc2']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal((await docker(d, ['inspect', '-f', '{{.Name}}', 'svc2'])).stdout.trim(), '/svc2');
});

test('top prints docker\'s table; port and update work', async () => {
  const b = await berth(d, ['top', 'svc2']);
  const k = await docker(d, ['top', 'svc2']);
  assert.equal(b.code, 0, b.stderr);
  // Same columns and rows; the C (CPU) and TIME columns may tick between the two calls.
  assert.equal(b.stdout.split('\n')[0], k.stdout.split('\n')[0]);
  assert.equal(b.stdout.split('\n').length, k.stdout.split('\n').length);
  assert.equal((await berth(d, ['port', 'svc2'])).stdout, (await docker(d, ['port', 'svc2'])).stdout);
  // dockerd refuses a memory limit above the stored swap limit (0 here) unless --memory-swap comes with it.
  const u = await berth(d, ['update', '-m', '64m', '--memory-swap', '128m', '--pids-limit', '30', 'svc2']);
  assert.equal(u.stdout, 'svc2\n');
  assert.equal((await docker(d, ['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}', 'svc2'])).stdout.trim(), '67108864 30');
  assert.equal((await berth(d, ['rm', '-f', 'svc2'])).code, 0);
});

test('container prune -f prints docker\'s report', async () => {
  assert.equal((await berth(d, ['create', '--name', 'stale', 'busybox', 'true'])).code, 0);
  const id = (await docker(d, ['inspect', '-f', '{{.Id}}', 'stale'])).stdout.trim();
  const p = await berth(d, ['container', 'prune', '-f']);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(p.stdout, `Deleted Containers:\n${id}\n\nTotal reclaimed space: 0B\n`);
});
