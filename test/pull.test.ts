/**
 * Pull from Debian's distribution registry through the docker CLI v28 and
 * the berth CLI: by tag and digest, dockerd's progress messages, a no-op
 * pull, layers that already exist, then a container run from the pulled
 * image; and bad input (unknown tag, malformed reference, unknown registry).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { berth, docker, startDaemon, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { seedRegistry, startRegistry, type TestRegistry } from './helpers/distribution-registry.js';

let src: TestDaemon;
let d: TestDaemon;
let reg: TestRegistry;
let tmp: string;
let name = '';
let imageId = '';

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-pull-'));
  [src, d, reg] = await Promise.all([startDaemonWithBusybox(), startDaemon(), startRegistry()]);
  name = `${reg.host}/test/two`;
  // A two-layer image: busybox plus a committed file.
  let r = await docker(src, ['run', '--name', 'c1', 'busybox', 'sh', '-c', 'echo hello-from-layer2 > /hello']);
  assert.equal(r.code, 0, r.stderr);
  r = await docker(src, ['commit', 'c1', `${name}:v1`]);
  assert.equal(r.code, 0, r.stderr);
  imageId = r.stdout.trim();
  r = await docker(src, ['tag', 'busybox', `${reg.host}/library/busybox:latest`]);
  assert.equal(r.code, 0, r.stderr);
  const archive = path.join(tmp, 'two.tar');
  r = await docker(src, ['save', '-o', archive, `${name}:v1`]);
  assert.equal(r.code, 0, r.stderr);
  await seedRegistry(archive, `${name}:v1`);
  const bb = path.join(tmp, 'bb.tar');
  r = await docker(src, ['save', '-o', bb, `${reg.host}/library/busybox:latest`]);
  assert.equal(r.code, 0, r.stderr);
  await seedRegistry(bb, `${reg.host}/library/busybox:latest`);
});

after(async () => {
  await Promise.all([src?.cleanup(), d?.cleanup(), reg?.cleanup()]);
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

test('docker pull by tag: dockerd progress, the image recorded with its repo digest, a container runs from it', async () => {
  const r = await docker(d, ['pull', `${name}:v1`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /v1: Pulling from test\/two/);
  assert.match(r.stdout, /Pull complete/);
  assert.match(r.stdout, /Digest: sha256:[0-9a-f]{64}/);
  assert.match(r.stdout, new RegExp(`Status: Downloaded newer image for ${name}:v1`));
  assert.equal((r.stdout.match(/Pull complete/g) ?? []).length, 2);
  const digest = /Digest: (sha256:[0-9a-f]{64})/.exec(r.stdout)![1]!;
  const insp = await docker(d, ['image', 'inspect', '--format', '{{.Id}} {{json .RepoTags}} {{json .RepoDigests}}', `${name}:v1`]);
  assert.equal(insp.code, 0, insp.stderr);
  assert.equal(insp.stdout.trim(), `${imageId} ["${name}:v1"] ["${name}@${digest}"]`);
  const run = await docker(d, ['run', '--rm', `${name}:v1`, 'cat', '/hello']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'hello-from-layer2\n');
});

test('a second pull is a no-op: up to date, no layer transfers', async () => {
  const r = await docker(d, ['pull', `${name}:v1`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Status: Image is up to date for ${name}:v1`));
  assert.doesNotMatch(r.stdout, /Pull complete|Downloading|Already exists/);
});

test('berth pull by digest; layers present already are "Already exists"', async () => {
  const rm = await docker(d, ['rmi', `${name}:v1`]);
  assert.equal(rm.code, 0, rm.stderr);
  // busybox's layer is the base of test/two: it exists once test/two was pulled; pull busybox first now.
  const bb = await berth(d, ['pull', `${reg.host}/library/busybox`]);
  assert.equal(bb.code, 0, bb.stderr);
  assert.match(bb.stdout, /Using default tag: latest/);
  assert.match(bb.stdout, /Status: Downloaded newer image for 127\.0\.0\.1:\d+\/library\/busybox:latest/);
  const inspectSrc = await docker(src, ['image', 'inspect', '--format', '{{json .RootFS.Layers}}', `${name}:v1`]);
  assert.equal(inspectSrc.code, 0);
  const digestRes = await docker(d, ['pull', '-q', `${name}:v1`]);
  assert.equal(digestRes.code, 0, digestRes.stderr);
  assert.equal(digestRes.stdout.trim(), `${name}:v1`);
  const dg = await docker(d, ['image', 'inspect', '--format', '{{index .RepoDigests 0}}', `${name}:v1`]);
  const byDigest = dg.stdout.trim();
  await docker(d, ['rmi', `${name}:v1`, byDigest]);
  const r = await berth(d, ['pull', byDigest]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Already exists/);
  assert.match(r.stdout, /Pull complete/);
  assert.match(r.stdout, new RegExp(`Status: Downloaded newer image for ${byDigest.replace(/[.]/g, '\\.')}`));
});

test('bad input: unknown tag, unknown repository, malformed reference, unreachable registry', async () => {
  let r = await docker(d, ['pull', `${name}:nosuch`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`manifest for ${name}:nosuch not found: manifest unknown`));
  r = await berth(d, ['pull', `${reg.host}/no/such`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Error response from daemon: .*(not found|unknown)/);
  r = await docker(d, ['pull', 'UPPER/Case']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /invalid reference format/);
  r = await docker(d, ['pull', '127.0.0.1:1/x:y']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Error response from daemon: .*(ECONNREFUSED|connection refused)/);
  // Nothing half-written: the image list is unchanged by the failures.
  const ls = await docker(d, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.doesNotMatch(ls.stdout, /nosuch|no\/such/);
});
