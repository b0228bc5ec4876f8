/**
 * Builds whose base image is not local pull it, as dockerd's legacy builder
 * does: FROM and COPY --from=<image> through the registry client (Debian's
 * distribution registry on 127.0.0.1, insecure as loopback is by default),
 * the pull's progress in the build's stream, `--pull` pulling again, the
 * credentials of X-Registry-Config used for a registry with Basic auth, and
 * dockerd's error text for a repository the registry does not have.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { berth, docker, startDaemon, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { seedRegistry, startRegistry, type TestRegistry } from './helpers/distribution-registry.js';
import { makeContext } from './helpers/build.js';

let src: TestDaemon;
let d: TestDaemon;
let reg: TestRegistry;
let authReg: TestRegistry;
let tmp: string;
let base = '';
let extra = '';

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-build-pull-'));
  [src, d, reg, authReg] = await Promise.all([startDaemonWithBusybox(), startDaemon(), startRegistry(), startRegistry({ basic: { user: 'alice', password: 's3cret' } })]);
  base = `${reg.host}/library/busybox`;
  extra = `${reg.host}/test/files:v1`;
  let r = await docker(src, ['run', '--name', 'c1', 'busybox', 'sh', '-c', 'echo from-the-registry > /marker']);
  assert.equal(r.code, 0, r.stderr);
  r = await docker(src, ['commit', 'c1', extra]);
  assert.equal(r.code, 0, r.stderr);
  for (const [ref, creds] of [[`${base}:latest`], [`${authReg.host}/private/busybox:latest`, 'alice:s3cret']] as const) {
    r = await docker(src, ['tag', 'busybox', ref]);
    assert.equal(r.code, 0, r.stderr);
    const archive = path.join(tmp, `${ref.replace(/[^a-z0-9]/g, '_')}.tar`);
    r = await docker(src, ['save', '-o', archive, ref]);
    assert.equal(r.code, 0, r.stderr);
    await seedRegistry(archive, ref, creds ? { creds } : {});
  }
  const archive = path.join(tmp, 'extra.tar');
  r = await docker(src, ['save', '-o', archive, extra]);
  assert.equal(r.code, 0, r.stderr);
  await seedRegistry(archive, extra);
});

after(async () => {
  await Promise.all([src?.cleanup(), d?.cleanup(), reg?.cleanup(), authReg?.cleanup()]);
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

test('FROM an image that is not here pulls it, with the pull in the build stream; the next build uses it as is; --pull pulls again', async () => {
  const ctx = await makeContext({ Dockerfile: `FROM ${base}\nRUN echo built > /built\nCMD ["cat", "/built"]\n` });
  let r = await docker(d, ['build', '-t', 'pulled:1', ctx]);
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  const step1 = out.indexOf(`Step 1/3 : FROM ${base}`);
  assert.ok(step1 >= 0, out);
  // dockerd's pull messages, between the FROM step and its image ID.
  const pulling = out.indexOf('latest: Pulling from library/busybox');
  const status = out.indexOf(`Status: Downloaded newer image for ${base}:latest`);
  const idLine = out.indexOf(' ---> ', step1);
  assert.ok(step1 < pulling && pulling < status && status < idLine, out);
  assert.match(out, /Pull complete/);
  assert.match(out, /Digest: sha256:[0-9a-f]{64}/);
  r = await docker(d, ['image', 'inspect', '--format', '{{json .RepoTags}}', base]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `["${base}:latest"]`);
  r = await docker(d, ['run', '--rm', 'pulled:1']);
  assert.equal(r.stdout, 'built\n');

  // Present now: no pull.
  r = await docker(d, ['build', '-t', 'pulled:2', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /Pulling from/);
  assert.match(r.stdout, /Using cache/);

  // --pull asks the registry again: up to date, and the cache still holds.
  r = await docker(d, ['build', '--pull', '-t', 'pulled:3', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /latest: Pulling from library\/busybox/);
  assert.match(r.stdout, new RegExp(`Status: Image is up to date for ${base.replace(/\./g, '\\.')}:latest`));
  assert.match(r.stdout, /Using cache/);

  // The berth CLI shows the same pull lines (off a terminal: one line per status).
  r = await docker(d, ['rmi', 'pulled:1', 'pulled:2', 'pulled:3', base]);
  assert.equal(r.code, 0, r.stderr);
  r = await berth(d, ['build', '-t', 'pulled:4', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /latest: Pulling from library\/busybox\n/);
  // The layer stays for the build cache's records: only the image is pulled again.
  assert.match(r.stdout, /: Already exists\n/);
  assert.match(r.stdout, /Status: Downloaded newer image for /);
  assert.match(r.stdout, /Successfully tagged pulled:4\n/);
});

test('COPY --from=<image> that is not here pulls it', async () => {
  const ctx = await makeContext({ Dockerfile: `FROM ${base}\nCOPY --from=${extra} /marker /copied\n` });
  let r = await docker(d, ['build', '-t', 'copied:1', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /v1: Pulling from test\/files/);
  r = await docker(d, ['run', '--rm', 'copied:1', 'cat', '/copied']);
  assert.equal(r.stdout, 'from-the-registry\n');
});

test('a private registry: the build pulls with the credentials the CLI sends (X-Registry-Config); without them dockerd\'s refusal', async () => {
  const image = `${authReg.host}/private/busybox`;
  const ctx = await makeContext({ Dockerfile: `FROM ${image}\nRUN true\n` });
  const cfg = path.join(tmp, 'docker-config');
  let r = await docker(d, ['build', ctx], { env: { DOCKER_CONFIG: cfg } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no basic auth credentials|unauthorized/);
  r = await docker(d, ['login', '-u', 'alice', '--password-stdin', authReg.host], { env: { DOCKER_CONFIG: cfg }, input: 's3cret\n' });
  assert.equal(r.code, 0, r.stderr);
  r = await docker(d, ['build', '-t', 'private:1', ctx], { env: { DOCKER_CONFIG: cfg } });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /Pulling from private\/busybox/);
  // The berth CLI sends its stored credentials the same way.
  r = await docker(d, ['rmi', 'private:1', image]);
  assert.equal(r.code, 0, r.stderr);
  r = await berth(d, ['build', '-t', 'private:2', ctx], { env: { DOCKER_CONFIG: cfg } });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /Pulling from private\/busybox/);
});

test('FROM a repository the registry does not have: dockerd\'s message, exit 1, nothing tagged', async () => {
  const ctx = await makeContext({ Dockerfile: `FROM ${reg.host}/nosuch/image:v9\nRUN true\n` });
  const r = await docker(d, ['build', '-t', 'never:1', ctx]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`manifest for ${reg.host.replace(/\./g, '\\.')}/nosuch/image:v9 not found: manifest unknown`));
  const ls = await docker(d, ['image', 'inspect', 'never:1']);
  assert.notEqual(ls.code, 0);
});
