/**
 * The default security profile and the flags that change it: capabilities,
 * --privileged (limited to what the host can give), seccomp, masked and
 * read-only /proc paths, no-new-privileges, ulimits, shm size, extra hosts.
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

const run = async (args: string[], script: string) => {
  const r = await docker(d, ['run', '--rm', ...args, 'busybox', 'sh', '-c', script]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
};

test('default: Docker\'s 14 capabilities, seccomp filtering, masked and read-only /proc paths', async () => {
  assert.equal(await run([], 'grep -E "^(CapEff|Seccomp):" /proc/self/status | tr "\\t" " "'), 'CapEff: 00000000a80425fb\nSeccomp: 2');
  // Masked: /dev/null is bound over them (the host's /proc/timer_list has content).
  assert.equal(await run([], 'wc -c < /proc/timer_list'), '0');
  const ro = await docker(d, ['run', '--rm', 'busybox', 'sh', '-c', 'echo 1 > /proc/sys/kernel/domainname']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /Read-only file system/);
  assert.equal(await run([], 'mount -t tmpfs none /tmp 2>&1 || echo denied'), 'mount: permission denied (are you root?)\ndenied');
});

test('--cap-drop ALL and --cap-add change the sets', async () => {
  assert.equal(await run(['--cap-drop', 'ALL'], 'grep CapEff /proc/self/status | cut -f2'), '0000000000000000');
  assert.equal(await run(['--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN'], 'grep CapEff /proc/self/status | cut -f2'), '0000000000001000');
});

test('--privileged gets every capability the host has, no seccomp', async () => {
  const hostBnd = (await fsp.readFile('/proc/self/status', 'utf8')).match(/^CapBnd:\s+(\w+)$/m)![1];
  assert.equal(await run(['--privileged'], 'grep -E "^(CapEff|Seccomp):" /proc/self/status | cut -f2'), `${hostBnd}\n0`);
});

test('--security-opt no-new-privileges, --ulimit, --shm-size, --add-host', async () => {
  assert.equal(await run(['--security-opt', 'no-new-privileges'], 'grep NoNewPrivs /proc/self/status | cut -f2'), '1');
  assert.equal(await run(['--ulimit', 'nofile=100:200'], 'ulimit -n; ulimit -Hn'), '100\n200');
  assert.equal(await run(['--shm-size', '128m'], 'df -k /dev/shm | tail -1 | tr -s " " | cut -d" " -f2'), '131072');
  assert.equal(await run(['--add-host', 'db.local:10.9.8.7'], 'grep db.local /etc/hosts'), '10.9.8.7\tdb.local');
});
