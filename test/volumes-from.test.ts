/**
 * Volume containers and local driver options through the docker CLI v28
 * and the berth CLI: `--volumes-from` (named, anonymous and bind mounts,
 * `:ro`, chains through several containers, a missing container refused
 * with nothing made, the volume kept while any container refers to it) and
 * `volume create -o type=tmpfs|none,o=bind`: the mount made when the first
 * container starts and undone when the last one is gone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { berth, docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';

let d: TestDaemon;
let tmp: string;

async function ok(r: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string> {
  const x = await r;
  assert.equal(x.code, 0, x.stderr);
  return x.stdout.trim();
}

function mounted(p: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === p);
}

before(async () => {
  d = await startDaemonWithBusybox(['--bridge', 'none']);
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'berth-vf-'));
});

after(async () => {
  if (d) {
    const ids = (await docker(d, ['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await docker(d, ['rm', '-f', '-v', ...ids]);
    const vols = (await docker(d, ['volume', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
    if (vols.length) await docker(d, ['volume', 'rm', '-f', ...vols]);
    await d.cleanup();
  }
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

test('--volumes-from: named, anonymous and bind mounts, :ro, chained through containers', async () => {
  await fsp.writeFile(path.join(tmp, 'host.txt'), 'from-host\n');
  // A container made only to hold volumes (never started).
  await ok(docker(d, ['create', '--name', 'store', '-v', 'shared:/named', '-v', '/anon', '-v', `${tmp}:/bind`, 'busybox', 'true']));
  await ok(docker(d, ['run', '--rm', '--volumes-from', 'store', 'busybox', 'sh', '-c', 'echo one > /named/f && echo two > /anon/f']));
  // A second container holds them through the first; a third through the second (a chain).
  await ok(docker(d, ['create', '--name', 'middle', '--volumes-from', 'store', 'busybox', 'true']));
  const out = await ok(berth(d, ['run', '--rm', '--volumes-from', 'middle', 'busybox', 'sh', '-c', 'cat /named/f /anon/f /bind/host.txt']));
  assert.equal(out, 'one\ntwo\nfrom-host');
  // :ro makes every inherited mount read-only.
  const ro = await docker(d, ['run', '--rm', '--volumes-from', 'store:ro', 'busybox', 'sh', '-c', 'echo x > /named/g']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /Read-only file system/);
  const mounts = JSON.parse(await ok(docker(d, ['inspect', '-f', '{{json .Mounts}}', 'middle']))) as { Destination: string; Name?: string; RW: boolean }[];
  assert.deepEqual(mounts.map((m) => m.Destination).sort(), ['/anon', '/bind', '/named']);
  assert.equal(mounts.find((m) => m.Destination === '/named')!.Name, 'shared');

  // The anonymous volume stays while `middle` refers to it, even after `rm -v` of its first owner.
  const anon = mounts.find((m) => m.Destination === '/anon')!.Name!;
  await ok(docker(d, ['rm', '-v', 'store']));
  assert.equal((await docker(d, ['volume', 'inspect', anon])).code, 0);
  const inUse = await docker(d, ['volume', 'rm', 'shared']);
  assert.match(inUse.stderr, /volume is in use/);
  await ok(docker(d, ['rm', '-v', 'middle']));
  assert.notEqual((await docker(d, ['volume', 'inspect', anon])).code, 0);
  await ok(docker(d, ['volume', 'rm', 'shared']));
});

test('--volumes-from a missing container: 404, nothing created', async () => {
  const before = (await docker(d, ['ps', '-aq'])).stdout;
  // dockerd answers 404, which the docker CLI takes for a missing image unless told not to pull.
  const r = await docker(d, ['create', '--pull', 'never', '--volumes-from', 'nosuch', 'busybox', 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /No such container: nosuch/);
  assert.equal((await docker(d, ['ps', '-aq'])).stdout, before);
});

test('volume create -o type=tmpfs: mounted at first use, unmounted when the last user goes', async () => {
  await ok(docker(d, ['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=8m', 'scratch']));
  const v = JSON.parse(await ok(docker(d, ['volume', 'inspect', 'scratch'])))[0] as { Mountpoint: string; Options: Record<string, string> };
  assert.deepEqual(v.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=8m' });
  assert.equal(mounted(v.Mountpoint), false, 'not mounted before first use');
  await ok(docker(d, ['run', '-d', '--name', 't1', '-v', 'scratch:/s', 'busybox', 'sleep', '600']));
  await ok(docker(d, ['run', '-d', '--name', 't2', '-v', 'scratch:/s', 'busybox', 'sleep', '600']));
  assert.equal(mounted(v.Mountpoint), true);
  const df = await ok(docker(d, ['exec', 't1', 'df', '-k', '/s']));
  assert.match(df, /tmpfs\s+8192\s/);
  await ok(docker(d, ['exec', 't1', 'sh', '-c', 'echo shared > /s/x']));
  assert.equal(await ok(docker(d, ['exec', 't2', 'cat', '/s/x'])), 'shared');
  await ok(docker(d, ['rm', '-f', 't1']));
  assert.equal(mounted(v.Mountpoint), true, 't2 still uses it');
  await ok(docker(d, ['stop', '-t', '0', 't2']));
  assert.equal(mounted(v.Mountpoint), false, 'the last user is gone');
  await ok(docker(d, ['rm', 't2']));
  await ok(docker(d, ['volume', 'rm', 'scratch']));
});

test('volume create -o type=none -o o=bind -o device=/path; unknown options refused', async () => {
  const src = path.join(tmp, 'bound');
  await fsp.mkdir(src);
  await fsp.writeFile(path.join(src, 'inside.txt'), 'bound-file\n');
  await ok(berth(d, ['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${src}`, 'hostdir']));
  assert.equal(await ok(docker(d, ['run', '--rm', '-v', 'hostdir:/h', 'busybox', 'sh', '-c', 'cat /h/inside.txt && echo back > /h/out.txt'])), 'bound-file');
  assert.equal(readFileSync(path.join(src, 'out.txt'), 'utf8'), 'back\n');
  const mp = JSON.parse(await ok(docker(d, ['volume', 'inspect', 'hostdir'])))[0].Mountpoint as string;
  assert.equal(mounted(mp), false);
  await ok(docker(d, ['volume', 'rm', 'hostdir']));
  // Removing the volume leaves the device's files alone.
  assert.equal(readFileSync(path.join(src, 'inside.txt'), 'utf8'), 'bound-file\n');

  const bad = await docker(d, ['volume', 'create', '-o', 'colour=blue', 'badopt']);
  assert.match(bad.stderr, /invalid option: "colour"/);
  const missing = await docker(d, ['volume', 'create', '-o', 'type=tmpfs', 'nodevice']);
  assert.match(missing.stderr, /missing required option: "device"/);
  assert.equal((await docker(d, ['volume', 'inspect', 'badopt'])).code, 1);
});
