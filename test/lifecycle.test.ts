/**
 * Container lifecycle through the docker CLI: stop (signal, then SIGKILL
 * after the timeout), kill -s, restart, pause/unpause, rename, prune.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

const state = async (name: string) => (await docker(d, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Paused}}', name])).stdout.trim();

test('stop sends SIGTERM; a process that ignores it is killed after -t', async () => {
  assert.equal((await docker(d, ['run', '-d', '--name', 'polite', 'busybox', 'sleep', '60'])).code, 0);
  const t0 = Date.now();
  assert.equal((await docker(d, ['stop', '-t', '1', 'polite'])).stdout.trim(), 'polite');
  // sleep as PID 1 has no SIGTERM handler: the kernel ignores the signal for PID 1, so stop falls back to SIGKILL.
  assert.equal(await state('polite'), 'exited 137 false');

  assert.equal((await docker(d, ['run', '-d', '--name', 'trapper', 'busybox', 'sh', '-c', 'trap "exit 42" TERM; while true; do sleep 0.1; done'])).code, 0);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await docker(d, ['stop', '-t', '5', 'trapper'])).code, 0);
  assert.equal(await state('trapper'), 'exited 42 false');
  assert.ok(Date.now() - t0 < 20_000);

  const again = await docker(d, ['stop', 'trapper']);
  assert.equal(again.code, 0, 'stopping a stopped container is not an error');
});

test('kill -s sends the signal; kill of a stopped container is a conflict', async () => {
  assert.equal((await docker(d, ['run', '-d', '--name', 'victim', 'busybox', 'sh', '-c', 'trap "exit 12" USR1; while true; do sleep 0.1; done'])).code, 0);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await docker(d, ['kill', '-s', 'USR1', 'victim'])).code, 0);
  assert.equal((await docker(d, ['wait', 'victim'])).stdout.trim(), '12');
  const k = await docker(d, ['kill', 'victim']);
  assert.equal(k.code, 1);
  assert.match(k.stderr, /is not running/);
  const bad = await docker(d, ['kill', '-s', 'NOPE', 'victim']);
  assert.equal(bad.code, 1);
});

test('restart runs the command again', async () => {
  assert.equal((await docker(d, ['run', '--name', 'again', 'busybox', 'sh', '-c', 'echo run'])).code, 0);
  assert.equal((await docker(d, ['restart', 'again'])).code, 0);
  await docker(d, ['wait', 'again']);
  assert.equal((await docker(d, ['logs', 'again'])).stdout, 'run\nrun\n');
});

test('pause freezes and unpause thaws; errors for wrong states', async () => {
  assert.equal((await docker(d, ['run', '-d', '--name', 'frozen', 'busybox', 'sh', '-c', 'while true; do date +%s%N; sleep 0.05; done'])).code, 0);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await docker(d, ['pause', 'frozen'])).code, 0);
  assert.equal(await state('frozen'), 'paused 0 true');
  const ps = await docker(d, ['ps', '--format', '{{.Names}} {{.Status}}', '--filter', 'name=frozen']);
  assert.match(ps.stdout, /^frozen Up .+ \(Paused\)$/m);
  const before = (await docker(d, ['logs', 'frozen'])).stdout.split('\n').length;
  await new Promise((r) => setTimeout(r, 400));
  assert.equal((await docker(d, ['logs', 'frozen'])).stdout.split('\n').length, before, 'no output while paused');
  const twice = await docker(d, ['pause', 'frozen']);
  assert.match(twice.stderr, /is already paused/);
  const start = await docker(d, ['start', 'frozen']);
  assert.match(start.stderr, /cannot start a paused container, try unpause instead/);
  assert.equal((await docker(d, ['unpause', 'frozen'])).code, 0);
  await new Promise((r) => setTimeout(r, 400));
  assert.ok((await docker(d, ['logs', 'frozen'])).stdout.split('\n').length > before, 'output again after unpause');
  assert.match((await docker(d, ['unpause', 'frozen'])).stderr, /is not paused/);
  // A paused container can be force-removed.
  assert.equal((await docker(d, ['pause', 'frozen'])).code, 0);
  assert.equal((await docker(d, ['rm', '-f', 'frozen'])).code, 0);
});

test('rename keeps the container and frees the old name', async () => {
  assert.equal((await docker(d, ['create', '--name', 'oldname', 'busybox', 'true'])).code, 0);
  assert.equal((await docker(d, ['create', '--name', 'other', 'busybox', 'true'])).code, 0);
  const clash = await docker(d, ['rename', 'oldname', 'other']);
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, /is already in use/);
  assert.equal((await docker(d, ['rename', 'oldname', 'newname'])).code, 0);
  assert.equal((await docker(d, ['inspect', '-f', '{{.Name}}', 'newname'])).stdout.trim(), '/newname');
  assert.equal((await docker(d, ['create', '--name', 'oldname', 'busybox', 'true'])).code, 0);
});

test('container prune removes stopped containers only', async () => {
  assert.equal((await docker(d, ['run', '-d', '--name', 'keeper', 'busybox', 'sleep', '60'])).code, 0);
  const r = await docker(d, ['container', 'prune', '-f']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Deleted Containers:/);
  const left = await docker(d, ['ps', '-a', '--format', '{{.Names}}']);
  assert.equal(left.stdout.trim(), 'keeper');
  assert.equal((await docker(d, ['rm', '-f', 'keeper'])).code, 0);
});

test('restart policies: on-failure:N retries with back-off, always restarts, stop ends it', async () => {
  assert.equal((await docker(d, ['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo try; exit 3'])).code, 0);
  // 1 run + 2 restarts, with 100 ms and 200 ms back-off.
  let info = '';
  for (let i = 0; i < 60; i++) {
    info = (await docker(d, ['inspect', '-f', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}', 'flaky'])).stdout.trim();
    if (info === 'exited 2 3') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(info, 'exited 2 3');
  assert.equal((await docker(d, ['logs', 'flaky'])).stdout, 'try\ntry\ntry\n');
  const bad = await docker(d, ['run', '-d', '--restart', 'sometimes', 'busybox', 'true']);
  assert.equal(bad.code, 125);

  assert.equal((await docker(d, ['run', '-d', '--name', 'phoenix', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 0.2; exit 1'])).code, 0);
  let count = 0;
  for (let i = 0; i < 60 && count < 2; i++) {
    count = Number((await docker(d, ['inspect', '-f', '{{.RestartCount}}', 'phoenix'])).stdout.trim());
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(count >= 2, `restarted ${count} times`);
  assert.equal((await docker(d, ['stop', '-t', '1', 'phoenix'])).code, 0);
  const after = (await docker(d, ['inspect', '-f', '{{.State.Status}} {{.RestartCount}}', 'phoenix'])).stdout.trim().split(' ');
  await new Promise((r) => setTimeout(r, 700));
  assert.equal((await docker(d, ['inspect', '-f', '{{.State.Status}} {{.RestartCount}}', 'phoenix'])).stdout.trim(), `exited ${after[1]}`);
  assert.equal((await docker(d, ['rm', 'phoenix'])).code, 0);
});

test('--init runs tini as PID 1 in front of the command', async () => {
  const r = await docker(d, ['run', '--rm', '--init', 'busybox', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; echo $$']);
  assert.equal(r.code, 0, r.stderr);
  const [pid1, self] = r.stdout.trim().split('\n');
  assert.match(pid1!, /^\/sbin\/docker-init -- sh -c /);
  assert.notEqual(self, '1');
  // The command's exit code comes through tini.
  assert.equal((await docker(d, ['run', '--rm', '--init', 'busybox', 'sh', '-c', 'exit 6'])).code, 6);
});

test('ps filters: before/since by creation, name as a regex, bad values are 400s', async () => {
  for (const n of ['first-c', 'second-c', 'third-c']) {
    assert.equal((await docker(d, ['create', '--name', n, 'busybox', 'true'])).code, 0);
    await new Promise((r) => setTimeout(r, 20));
  }
  const names = async (args: string[]) => (await docker(d, ['ps', '--format', '{{.Names}}', ...args])).stdout.trim().split('\n').filter(Boolean).sort();
  assert.deepEqual(await names(['--filter', 'since=first-c']), ['second-c', 'third-c']);
  assert.deepEqual(await names(['--filter', 'before=second-c', '--filter', 'name=-c$']), ['first-c']);
  assert.deepEqual(await names(['-a', '--filter', 'name=^(first|third)-c$']), ['first-c', 'third-c']);
  // A name pattern that is not a valid regular expression matches nothing (moby); an unknown status is an error.
  assert.deepEqual(await names(['-a', '--filter', 'name=(']), []);
  const bad = await docker(d, ['ps', '--filter', 'status=sleeping']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid filter 'status=sleeping'/);
  assert.equal((await docker(d, ['rm', 'first-c', 'second-c', 'third-c'])).code, 0);
});
