/**
 * A rebuild of the same context uses the directory the previous successful
 * build wrote (the tar is only hashed), a changed file gets a new one and
 * the old one goes, a failed build keeps nothing, and a COPY after a change
 * sees the new content, never the kept directory's.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { makeContext } from './helpers/build.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

const work = () => fsp.readdir(path.join(d.dataRoot, 'builder', 'tmp'));

test('the same context twice: one directory, written once; a change replaces it; a failure keeps nothing', async () => {
  const ctx = await makeContext({ Dockerfile: 'FROM busybox\nCOPY a /a\nCMD ["cat", "/a"]\n', a: 'one\n' });
  let r = await docker(d, ['build', '-t', 'reuse:1', ctx]);
  assert.equal(r.code, 0, r.stderr);
  const first = await work();
  assert.equal(first.length, 1, first.join(','));
  r = await docker(d, ['build', '-t', 'reuse:1', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await work(), first);
  // A changed file: a new directory, its content copied, the old directory gone.
  await fsp.writeFile(path.join(ctx, 'a'), 'two\n');
  r = await docker(d, ['build', '-t', 'reuse:2', ctx]);
  assert.equal(r.code, 0, r.stderr);
  const second = await work();
  assert.equal(second.length, 1);
  assert.notDeepEqual(second, first);
  assert.equal((await docker(d, ['run', '--rm', 'reuse:2'])).stdout, 'two\n');
  // Only the mtime changed: not the same entries, so not the same directory.
  const later = new Date(Date.now() + 5000);
  await fsp.utimes(path.join(ctx, 'a'), later, later);
  r = await docker(d, ['build', '-t', 'reuse:2', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.notDeepEqual(await work(), second);
  // A failed build leaves no directory, and takes the kept one's place.
  const bad = await makeContext({ Dockerfile: 'FROM busybox\nRUN false\n' });
  r = await docker(d, ['build', bad]);
  assert.equal(r.code, 1);
  assert.deepEqual(await work(), []);
});
