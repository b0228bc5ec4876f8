/** -v host binds, --mount bind/tmpfs, --tmpfs and --read-only through the docker CLI. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { berth, docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

test('-v binds a host directory read-write or read-only, and inspect shows it', async () => {
  const host = path.join(d.dir, 'hostdir');
  await fsp.mkdir(host);
  await fsp.writeFile(path.join(host, 'hello.txt'), 'from host\n');
  const r = await docker(d, ['run', '--name', 'binder', '-v', `${host}:/data`, 'busybox', 'sh', '-c', 'cat /data/hello.txt; echo back > /data/out.txt']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'from host\n');
  assert.equal(await fsp.readFile(path.join(host, 'out.txt'), 'utf8'), 'back\n');
  const m = await docker(d, ['inspect', '-f', '{{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}} {{.RW}}{{end}}', 'binder']);
  assert.equal(m.stdout.trim(), `bind ${host} /data true`);

  const ro = await docker(d, ['run', '--rm', '-v', `${host}:/data:ro`, 'busybox', 'sh', '-c', 'echo x > /data/nope']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /Read-only file system/);

  const created = path.join(d.dir, 'made-by-v');
  assert.equal((await docker(d, ['run', '--rm', '-v', `${created}:/x`, 'busybox', 'true'])).code, 0);
  assert.ok((await fsp.stat(created)).isDirectory(), '-v creates a missing host directory');
});

test('--mount type=bind needs an existing source; type=tmpfs and --tmpfs give a tmpfs', async () => {
  const missing = await docker(d, ['run', '--rm', '--mount', `type=bind,source=${d.dir}/absent,target=/x`, 'busybox', 'true']);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /bind source path does not exist/);
  const t = await docker(d, ['run', '--rm', '--mount', 'type=tmpfs,target=/scratch', '--tmpfs', '/run2', 'busybox', 'sh', '-c', 'grep -E " /(scratch|run2) " /proc/mounts | cut -d" " -f2,3']);
  assert.equal(t.code, 0, t.stderr);
  assert.deepEqual(t.stdout.trim().split('\n').sort(), ['/run2 tmpfs', '/scratch tmpfs']);
});

test('--read-only makes the root filesystem read-only', async () => {
  const r = await docker(d, ['run', '--rm', '--read-only', 'busybox', 'sh', '-c', 'touch /x']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Read-only file system/);
});

test('volume drivers other than local are refused with dockerd\'s message', async () => {
  const r = await docker(d, ['create', '--pull', 'never', '--mount', 'type=volume,source=myvol,target=/data,volume-driver=nfsplugin', 'busybox', 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /create myvol: error looking up volume plugin nfsplugin: plugin "nfsplugin" not found/);
  // dockerd 28 answers 404 (the plugin lookup's not-found), so with the default --pull=missing the CLI tries a pull first.
  const run = await docker(d, ['run', '--rm', '--mount', 'type=volume,source=myvol,target=/data,volume-driver=nfsplugin', 'busybox', 'true']);
  assert.equal(run.code, 125);
  assert.match(run.stderr, /Unable to find image 'busybox:latest' locally/);
  const c = await docker(d, ['volume', 'create', '-d', 'nfsplugin', 'v2']);
  assert.equal(c.code, 1);
  assert.match(c.stderr, /plugin "nfsplugin" not found/);
});

test('the berth CLI sends -v and --mount like docker', async () => {
  const host = path.join(d.dir, 'berthbind');
  await fsp.mkdir(host);
  await fsp.writeFile(path.join(host, 'f'), 'via berth\n');
  const r = await berth(d, ['run', '--rm', '-v', `${host}:/data:ro`, '--mount', 'type=tmpfs,target=/scratch', 'busybox', 'sh', '-c', 'cat /data/f; grep -c " /scratch tmpfs" /proc/mounts']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'via berth\n1\n');
});
