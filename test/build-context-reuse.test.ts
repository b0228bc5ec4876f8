/**
 * A rebuild of the same context uses the directory the previous successful
 * build wrote (the tar is only hashed); a rebuild after an edit brings that
 * directory up to date, writing only what changed (content, mode, mtime,
 * files added and removed); a changed symlink gets a new directory and the
 * old one goes; a failed build keeps nothing; a COPY after a change sees
 * the new content, never the kept directory's.
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

test('the same context twice: one directory; an edit updates it in place; a changed link replaces it; a failure keeps nothing', async () => {
  const ctx = await makeContext({
    Dockerfile: 'FROM busybox\nCOPY . /ctx\nCMD ["sh", "-c", "cat /ctx/a; stat -c %a /ctx/b; ls /ctx/sub; readlink /ctx/link"]\n',
    a: 'one\n',
    b: 'keep\n',
    'sub/c': 'c\n',
    link: { link: 'a' },
  });
  let r = await docker(d, ['build', '-t', 'reuse:1', ctx]);
  assert.equal(r.code, 0, r.stderr);
  const first = await work();
  assert.equal(first.length, 1, first.join(','));
  const dir = path.join(d.dataRoot, 'builder', 'tmp', first[0]!);
  const inode = async (rel: string) => (await fsp.stat(path.join(dir, rel))).ino;
  const dockerfileInode = await inode('Dockerfile');
  r = await docker(d, ['build', '-t', 'reuse:1', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await work(), first);
  // An edit: new content, a new mode, a file gone, a file added. The same
  // directory, brought up to date; what did not change is not written again.
  await fsp.writeFile(path.join(ctx, 'a'), 'two\n');
  await fsp.chmod(path.join(ctx, 'b'), 0o600);
  await fsp.rm(path.join(ctx, 'sub', 'c'));
  await fsp.writeFile(path.join(ctx, 'sub', 'new'), 'n\n');
  r = await docker(d, ['build', '-t', 'reuse:2', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await work(), first);
  assert.equal(await inode('Dockerfile'), dockerfileInode, 'an unchanged file was written again');
  assert.equal((await docker(d, ['run', '--rm', 'reuse:2'])).stdout, 'two\n600\nnew\na\n');
  assert.equal(await fsp.readFile(path.join(dir, 'a'), 'utf8'), 'two\n');
  assert.equal(await fsp.stat(path.join(dir, 'sub', 'c')).catch(() => undefined), undefined);
  // Only the mtime changed: the directory has the new one, and so has a
  // copy made without the cache (the cache, like dockerd's, ignores mtimes).
  const later = new Date(Math.floor(Date.now() / 1000) * 1000 + 5000);
  await fsp.utimes(path.join(ctx, 'a'), later, later);
  r = await docker(d, ['build', '--no-cache', '-t', 'reuse:3', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await work(), first);
  r = await docker(d, ['run', '--rm', 'reuse:3', 'stat', '-c', '%Y', '/ctx/a']);
  assert.equal(r.stdout.trim(), String(later.getTime() / 1000), r.stderr);
  assert.equal((await fsp.stat(path.join(dir, 'a'))).mtimeMs, later.getTime());
  // A symlink that changed: a new directory, the old one gone.
  await fsp.rm(path.join(ctx, 'link'));
  await fsp.symlink('b', path.join(ctx, 'link'));
  r = await docker(d, ['build', '-t', 'reuse:4', ctx]);
  assert.equal(r.code, 0, r.stderr);
  const second = await work();
  assert.equal(second.length, 1);
  assert.notDeepEqual(second, first);
  assert.equal((await docker(d, ['run', '--rm', 'reuse:4'])).stdout, 'two\n600\nnew\nb\n');
  // A failed build leaves no directory, and takes the kept one's place.
  const bad = await makeContext({ Dockerfile: 'FROM busybox\nRUN false\n' });
  r = await docker(d, ['build', bad]);
  assert.equal(r.code, 1);
  assert.deepEqual(await work(), []);
});
