/**
 * Bad input: each build stops with dockerd's message, the docker CLI exits
 * non-zero (1, or a RUN's own code), and nothing is left — no container in
 * `ps -a`, no mount under the daemon's roots, no tag, no task bundle.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { berth, docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { makeContext } from './helpers/build.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

async function nothingLeft(tag: string): Promise<void> {
  assert.equal((await docker(d, ['ps', '-aq'])).stdout.trim(), '', 'a container was left');
  const img = await docker(d, ['image', 'inspect', tag]);
  assert.notEqual(img.code, 0, `${tag} was tagged`);
  const mounts = (await fsp.readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4] ?? '');
  assert.deepEqual(
    mounts.filter((m) => m.startsWith(d.dataRoot) || m.startsWith(d.execRoot)),
    [],
    'a mount was left',
  );
  assert.deepEqual(await fsp.readdir(path.join(d.execRoot, 'tasks')), [], 'a task bundle was left');
  assert.deepEqual(await fsp.readdir(path.join(d.dataRoot, 'builder', 'tmp')), [], 'a context or view was left');
}

async function fails(files: Parameters<typeof makeContext>[0], message: RegExp, code = 1): Promise<string> {
  const ctx = await makeContext(files);
  const r = await docker(d, ['build', '-t', 'bad:1', ctx]);
  assert.equal(r.code, code, r.stdout + r.stderr);
  assert.match(r.stderr, message);
  await nothingLeft('bad:1');
  return r.stdout;
}

test('a RUN that exits non-zero: dockerd message, the CLI exits 1, nothing left', async () => {
  const out = await fails({ Dockerfile: 'FROM busybox\nRUN echo before\nRUN false\nRUN echo never\n' }, /The command '\/bin\/sh -c false' returned a non-zero code: 1/);
  assert.match(out, /Step 3\/4 : RUN false\n ---> Running in [0-9a-f]{12}\n$/);
  // The exit code is the CLI's (docker reports errorDetail.code).
  await fails({ Dockerfile: 'FROM busybox\nRUN exit 3\n' }, /returned a non-zero code: 3/, 3);
  const ctx = await makeContext({ Dockerfile: 'FROM busybox\nRUN false\n' });
  const b = await berth(d, ['build', '-t', 'bad:1', ctx]);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /The command '\/bin\/sh -c false' returned a non-zero code: 1/);
  const forced = await docker(d, ['build', '--force-rm', ctx]);
  assert.match(forced.stdout, /Removed intermediate container/);
  await nothingLeft('bad:1');
});

test('Dockerfile errors are 400s before any step: unknown instruction, bad flag, garbage', async () => {
  await fails({ Dockerfile: 'FROM busybox\nFOO bar\n' }, /Error response from daemon: dockerfile parse error on line 2: unknown instruction: FOO/);
  await fails({ Dockerfile: 'FROM busybox\nCOPY --bogus=1 a b\n' }, /unknown flag: bogus/);
  await fails({ Dockerfile: 'FROM busybox\nRUN --mount=type=nope,target=/x true\n' }, /unsupported mount type "nope"/);
  await fails({ Dockerfile: '' }, /No image was generated. Is your Dockerfile empty\?/);
  // Not here, so pulled (as dockerd does): from a registry nobody answers on.
  await fails({ Dockerfile: 'FROM 127.0.0.1:1/nosuchimage\n' }, /127.0.0.1:1.*connection refused/);
  const garbage = Buffer.alloc(10 << 20);
  for (let i = 0; i < garbage.length; i++) garbage[i] = 33 + ((i * 7919) % 90);
  for (let i = 0; i < garbage.length; i += 1000) garbage[i] = 10;
  await fails({ Dockerfile: garbage }, /dockerfile parse error on line \d+: unknown instruction/);
  const target = await makeContext({ Dockerfile: 'FROM busybox AS a\n' });
  const t = await docker(d, ['build', '--target', 'nope', target]);
  assert.equal(t.code, 1);
  assert.match(t.stderr, /target stage "nope" could not be found/);
});

test('COPY sources: missing, outside the context, through a symlink out of it', async () => {
  await fails({ Dockerfile: 'FROM busybox\nCOPY nope /x\n' }, /COPY failed: file not found in build context or excluded by .dockerignore: stat nope: file does not exist/);
  await fails({ Dockerfile: 'FROM busybox\nCOPY ../x /x\n' }, /COPY failed: forbidden path outside the build context: \.\.\/x \(\)/);
  // Symlinks resolve inside the context: out-of-context targets are simply not there.
  await fails({ Dockerfile: 'FROM busybox\nCOPY abs /x\n', abs: { link: '/etc/hostname' } }, /file not found in build context/);
  await fails({ Dockerfile: 'FROM busybox\nCOPY rel /x\n', rel: { link: '../../../../../../etc/hostname' } }, /file not found in build context/);
  await fails({ Dockerfile: 'FROM busybox\nCOPY a b /x\n', a: '1', b: '2' }, /When using COPY with more than one source file, the destination must be a directory and end with a \//);
  // A link inside the context that names a file inside it is fine, and a destination symlink never leads out of the rootfs.
  const ctx = await makeContext({ Dockerfile: 'FROM busybox\nRUN ln -s /../../../../tmp /escape\nCOPY f /escape/f\nRUN cat /tmp/f\n', f: 'inside\n' });
  const r = await docker(d, ['build', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\ninside\n/);
});

test('a malformed or truncated context tar', async () => {
  const ctx = await makeContext({ Dockerfile: 'FROM busybox\nCOPY big /big\n', big: Buffer.alloc(100_000, 7) });
  const tarball = execFileSync('tar', ['-C', ctx, '-c', '.']);
  const truncated = tarball.subarray(0, 40_000);
  const r = await docker(d, ['build', '-t', 'bad:1', '-'], { input: truncated });
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /Error processing tar file\(exit status 1\): unexpected EOF/);
  const junk = Buffer.concat([Buffer.from('ustar'), Buffer.alloc(600, 0x41)]);
  const j = await berth(d, ['build', '-t', 'bad:1', '-'], { input: Buffer.concat([Buffer.alloc(257), junk]) });
  assert.equal(j.code, 1, j.stdout);
  assert.match(j.stderr, /Error processing tar file/);
  await nothingLeft('bad:1');
});
