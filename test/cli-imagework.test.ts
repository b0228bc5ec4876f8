/**
 * The berth CLI's save, load, export, commit, diff, history and image prune,
 * compared with the real docker CLI against the same berthd.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { berth, docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';

const sh = promisify(execFile);
let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

test('commit, diff and history print what docker prints', async () => {
  assert.equal((await berth(d, ['run', '--name', 'work', 'busybox', 'sh', '-c', 'echo x > /tmp/new; rm /bin/vi'])).code, 0);
  assert.equal((await berth(d, ['diff', 'work'])).stdout, (await docker(d, ['diff', 'work'])).stdout);
  const c = await berth(d, ['commit', '-m', 'by berth', '-c', 'ENV A=b', 'work', 'made:1']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal((await docker(d, ['image', 'inspect', '-f', '{{.Comment}} {{.Config.Env}}', 'made:1'])).stdout.trim(), 'by berth [A=b]');
  for (const args of [['history', 'made:1'], ['history', '--no-trunc', 'made:1'], ['history', '-q', 'made:1'], ['image', 'history', '--format', '{{.ID}} {{.Size}}', 'made:1']]) {
    // CREATED is relative ("1 second ago"): two runs can straddle a second, so a differing pair is run again.
    let b = await berth(d, args);
    let k = await docker(d, args);
    for (let i = 0; i < 3 && b.stdout !== k.stdout; i++) {
      b = await berth(d, args);
      k = await docker(d, args);
    }
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout, k.stdout, args.join(' '));
  }
});

test('save to a file, load it into the daemon again, export a container', async () => {
  const out = path.join(d.dir, 'saved.tar');
  assert.equal((await berth(d, ['save', '-o', out, 'made:1'])).code, 0);
  assert.equal((await berth(d, ['rmi', 'made:1'])).code, 0);
  const l = await berth(d, ['load', '-i', out]);
  assert.equal(l.code, 0, l.stderr);
  assert.equal(l.stdout, 'Loaded image: made:1\n');
  const exp = path.join(d.dir, 'export.tar');
  assert.equal((await berth(d, ['export', '-o', exp, 'work'])).code, 0);
  const { stdout } = await sh('tar', ['-tf', exp]);
  assert.ok(stdout.split('\n').includes('tmp/new'), 'exported filesystem has the container\'s file');
  await fsp.rm(out);
});

test('image prune -f removes dangling images with docker\'s output', async () => {
  assert.equal((await berth(d, ['commit', 'work'])).code, 0);
  const p = await berth(d, ['image', 'prune', '-f']);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /^Deleted Images:\ndeleted: sha256:[0-9a-f]{64}\n(deleted: sha256:[0-9a-f]{64}\n)*\nTotal reclaimed space: .+\n$/);
});

test('system df prints what docker prints', async () => {
  for (const args of [['system', 'df'], ['system', 'df', '--format', '{{json .}}']]) {
    const b = await berth(d, args);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout, (await docker(d, args)).stdout, args.join(' '));
  }
});
