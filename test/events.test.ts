/** docker events: past events with --since/--until, filters, and a live stream. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { DOCKER, docker, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { busyboxRootfs } from './helpers/rootfs.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemon();
});

after(async () => {
  await d?.cleanup();
});

test('past events: import, tag, container create/start/die/destroy, with filters', async () => {
  const { tar } = await busyboxRootfs();
  assert.equal((await docker(d, ['import', tar, 'busybox'])).code, 0);
  assert.equal((await docker(d, ['tag', 'busybox', 'other:1'])).code, 0);
  assert.equal((await docker(d, ['run', '--rm', '--name', 'evt', '--label', 'team=blue', 'busybox', 'sh', '-c', 'exit 2'])).code, 2);
  const fmt = ['--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'];
  // The CLI sends --until in whole seconds (as dockerd sees it too): let this second pass.
  await new Promise((r) => setTimeout(r, 1100));
  const all = await docker(d, ['events', '--since', '1m', '--until', '0s', ...fmt]);
  assert.equal(all.code, 0, all.stderr);
  const lines = all.stdout.trim().split('\n');
  assert.ok(lines.some((l) => /^image import sha256:/.test(l)), all.stdout);
  assert.ok(lines.includes('image tag other:1'), all.stdout);
  const ctr = lines.filter((l) => l.startsWith('container '));
  assert.deepEqual(ctr, ['container create evt', 'container start evt', 'container die evt', 'container destroy evt']);

  const die = await docker(d, ['events', '--since', '1m', '--until', '0s', '--filter', 'event=die', '--format', '{{.Actor.Attributes.exitCode}} {{.Actor.Attributes.team}} {{.From}}']);
  assert.equal(die.stdout.trim(), '2 blue busybox');
  const byType = await docker(d, ['events', '--since', '1m', '--until', '0s', '--filter', 'type=image', ...fmt]);
  assert.ok(byType.stdout.trim().split('\n').every((l) => l.startsWith('image ')));
});

test('live events stream as they happen', async (t) => {
  const p = spawn(DOCKER, ['events', '--filter', 'type=container', '--format', '{{.Action}} {{.Actor.Attributes.name}}'], {
    env: { ...process.env, DOCKER_HOST: d.host },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => p.kill('SIGKILL'));
  let out = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await docker(d, ['run', '--rm', '--name', 'live-evt', 'busybox', 'true'])).code, 0);
  for (let i = 0; i < 50 && !out.includes('destroy live-evt'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(out.trim().split('\n'), ['create live-evt', 'start live-evt', 'die live-evt', 'destroy live-evt']);
});

test('exec sessions publish exec_create, exec_start and exec_die', async () => {
  assert.equal((await docker(d, ['run', '-d', '--name', 'exec-evt', 'busybox', 'sleep', '60'])).code, 0);
  assert.equal((await docker(d, ['exec', 'exec-evt', 'sh', '-c', 'exit 4'])).code, 4);
  await new Promise((r) => setTimeout(r, 1100));
  const r = await docker(d, ['events', '--since', '1m', '--until', '0s', '--filter', 'container=exec-evt', '--format', '{{.Action}}|{{.Actor.Attributes.exitCode}}']);
  const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('exec_'));
  assert.deepEqual(lines, ['exec_create: sh -c exit 4|<no value>', 'exec_start: sh -c exit 4|<no value>', 'exec_die|4']);
  assert.equal((await docker(d, ['rm', '-f', 'exec-evt'])).code, 0);
});
