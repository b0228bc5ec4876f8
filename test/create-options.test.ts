/**
 * Create options that must take effect (issue 12 item 10, the non-network
 * ones), through the docker CLI v28: --group-add by number and by name,
 * --device (a node, renamed in the container, with its permissions) and
 * --device-cgroup-rule, each also shown by inspect as dockerd shows it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

test('--group-add adds groups by number and by name from the container /etc/group', async () => {
  const r = await docker(d, ['run', '--rm', '--group-add', '1234', '--group-add', 'nogroup', 'busybox', 'id', '-G']);
  assert.equal(r.code, 0, r.stderr);
  const gids = r.stdout.trim().split(' ');
  assert.ok(gids.includes('1234'), r.stdout);
  assert.ok(gids.includes('65534'), `nogroup is gid 65534 in the test image: ${r.stdout}`);
  // An exec's user gets the groups too (moby getUser).
  assert.equal((await docker(d, ['run', '-d', '--name', 'gx', '--group-add', '4321', 'busybox', 'sleep', '60'])).code, 0);
  assert.ok((await docker(d, ['exec', 'gx', 'id', '-G'])).stdout.trim().split(' ').includes('4321'));
  await docker(d, ['rm', '-f', 'gx']);
  assert.equal((await docker(d, ['create', '--name', 'ga', '--group-add', 'nogroup', 'busybox', 'true'])).code, 0);
  assert.equal((await docker(d, ['inspect', '-f', '{{json .HostConfig.GroupAdd}}', 'ga'])).stdout.trim(), '["nogroup"]');
  const bad = await docker(d, ['run', '--rm', '--group-add', 'nosuchgroup', 'busybox', 'true']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Unable to find group nosuchgroup/);
  await docker(d, ['rm', 'ga']);
});

test('--device makes the host device in the container, allowed by a cgroup rule', async () => {
  const r = await docker(d, ['run', '--rm', '--device', '/dev/null:/dev/mynull:rw', 'busybox', 'sh', '-c', 'ls -l /dev/mynull && echo hi > /dev/mynull && echo written']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^crw.* 1,\s+3 .*\/dev\/mynull$/m);
  assert.match(r.stdout, /written/);
  // /dev/fuse is denied by the default rules; --device allows it.
  if (await fsp.access('/dev/fuse').then(() => true, () => false)) {
    const denied = await docker(d, ['run', '--rm', 'busybox', 'sh', '-c', 'mknod /dev/f c 10 229 && cat /dev/f']);
    assert.notEqual(denied.code, 0);
    const fuse = await docker(d, ['run', '-d', '--name', 'fz', '--device', '/dev/fuse', 'busybox', 'sleep', '60']);
    assert.equal(fuse.code, 0, fuse.stderr);
    const id = (await docker(d, ['inspect', '-f', '{{.Id}}', 'fz'])).stdout.trim();
    const list = await fsp.readFile(`/sys/fs/cgroup/devices/berth/${id}/devices.list`, 'utf8');
    assert.match(list, /^c 10:229 rwm$/m);
    assert.equal((await docker(d, ['exec', 'fz', 'ls', '/dev/fuse'])).stdout.trim(), '/dev/fuse');
    assert.equal((await docker(d, ['inspect', '-f', '{{json .HostConfig.Devices}}', 'fz'])).stdout.trim(), '[{"PathOnHost":"/dev/fuse","PathInContainer":"/dev/fuse","CgroupPermissions":"rwm"}]');
    await docker(d, ['rm', '-f', 'fz']);
  }
  const missing = await docker(d, ['run', '--rm', '--device', '/dev/nosuchdev', 'busybox', 'true']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /error gathering device information while adding custom device "\/dev\/nosuchdev"/);
});

test('--device-cgroup-rule adds its rule after the defaults', async () => {
  const r = await docker(d, ['run', '-d', '--name', 'dcr', '--device-cgroup-rule', 'c 10:229 rm', 'busybox', 'sleep', '60']);
  assert.equal(r.code, 0, r.stderr);
  const id = (await docker(d, ['inspect', '-f', '{{.Id}}', 'dcr'])).stdout.trim();
  const list = await fsp.readFile(`/sys/fs/cgroup/devices/berth/${id}/devices.list`, 'utf8');
  assert.match(list, /^c 10:229 rm$/m);
  assert.equal((await docker(d, ['inspect', '-f', '{{json .HostConfig.DeviceCgroupRules}}', 'dcr'])).stdout.trim(), '["c 10:229 rm"]');
  // mknod is now allowed for 10:229 (the default rules deny it).
  assert.equal((await docker(d, ['exec', 'dcr', 'sh', '-c', 'mknod /tmp/f c 10 229 && echo made'])).stdout.trim(), 'made');
  await docker(d, ['rm', '-f', 'dcr']);
});
