/**
 * `docker build --cache-from <image>` with the classic builder's rules: a
 * daemon that never built the Dockerfile, given the image another daemon
 * built (moved with save/load), reuses its steps — history entry by
 * history entry, layer by layer — and ends at the same image ID; a changed
 * step and the ones after it run; a name that is not an image is skipped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { docker, startDaemon, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { makeContext } from './helpers/build.js';

let d1: TestDaemon;
let d2: TestDaemon;
let tmp: string;
let ctx: string;
let builtId = '';
const dockerfile = 'FROM busybox\nENV A=1\nRUN echo hi > /hi\nCOPY f /f\nCMD ["cat", "/hi"]\n';

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-cache-from-'));
  [d1, d2] = await Promise.all([startDaemonWithBusybox(), startDaemon()]);
  ctx = await makeContext({ Dockerfile: dockerfile, f: 'file content\n' });
  let r = await docker(d1, ['build', '-t', 'cached:1', ctx]);
  assert.equal(r.code, 0, r.stderr);
  builtId = (await docker(d1, ['image', 'inspect', '-f', '{{.Id}}', 'cached:1'])).stdout.trim();
  const archive = path.join(tmp, 'images.tar');
  r = await docker(d1, ['save', '-o', archive, 'busybox', 'cached:1']);
  assert.equal(r.code, 0, r.stderr);
  r = await docker(d2, ['load', '-i', archive]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await Promise.all([d1?.cleanup(), d2?.cleanup()]);
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

test('--cache-from an image built elsewhere: every step from it, the same image ID, nothing run', async () => {
  const r = await docker(d2, ['build', '--cache-from', 'nosuch:image', '--cache-from', 'cached:1', '-t', 'again:1', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((r.stdout.match(/ ---> Using cache/g) ?? []).length, 4, r.stdout);
  assert.doesNotMatch(r.stdout, /Running in/);
  assert.equal((await docker(d2, ['image', 'inspect', '-f', '{{.Id}}', 'again:1'])).stdout.trim(), builtId);
  const run = await docker(d2, ['run', '--rm', 'again:1']);
  assert.equal(run.stdout, 'hi\n');
});

test('--cache-from: a changed step and those after it run; without --cache-from nothing is taken from the image', async () => {
  const changed = await makeContext({ Dockerfile: dockerfile.replace('echo hi', 'echo changed'), f: 'file content\n' });
  let r = await docker(d2, ['build', '--cache-from', 'cached:1', '-t', 'changed:1', changed]);
  assert.equal(r.code, 0, r.stderr);
  const steps = r.stdout.split(/^Step /m).slice(1);
  assert.match(steps[1]!, /ENV A=1\n ---> Using cache/);
  assert.match(steps[2]!, /RUN echo changed > \/hi\n ---> Running in/);
  assert.doesNotMatch(steps[3]! + steps[4]!, /Using cache/);
  r = await docker(d2, ['run', '--rm', 'changed:1']);
  assert.equal(r.stdout, 'changed\n');
  // A third daemon-side Dockerfile variant with no --cache-from: its ENV step is not taken from cached:1.
  const other = await makeContext({ Dockerfile: 'FROM busybox\nENV A=1\nENV Z=9\n' });
  r = await docker(d2, ['build', other]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /Using cache/);
});
