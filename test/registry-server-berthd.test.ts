/**
 * The real docker CLI (v28) against `berth registry serve` through berthd's
 * own registry client (no other engine): push, pull, run and search on an
 * open registry, and `docker login` with htpasswd and with tokens. The same
 * scenarios through a real dockerd are in registry-server-docker.test.ts
 * (opt-in).
 */
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { docker as dockerCli, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { startRegistry, type TestRegistry } from './helpers/berth-registry.js';

let d: TestDaemon;
let cfg = '';
const started: TestRegistry[] = [];

before(async () => {
  d = await startDaemonWithBusybox();
  cfg = await fsp.mkdtemp(path.join(d.dir, 'cfg-'));
});

after(async () => {
  for (const r of started) await r.cleanup();
  await d?.cleanup();
});

const docker = (args: string[], input?: string) => dockerCli(d, args, { env: { DOCKER_CONFIG: cfg }, ...(input ? { input } : {}) });

async function must(args: string[], input?: string): Promise<string> {
  const r = await docker(args, input);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('docker push, pull, run and search against an open berth registry, through berthd', { timeout: 180_000 }, async () => {
  const r = await startRegistry([]);
  started.push(r);
  const ref = `${r.addr}/library/busybox:latest`;
  await must(['tag', 'busybox', ref]);
  const push = await must(['push', ref]);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push)?.[1];
  assert.ok(digest, push);
  // The layer went up once; a second push finds it there.
  assert.match(await must(['push', ref]), /Layer already exists/);
  await must(['rmi', ref]);
  // The repository's last tag took its digest reference along (dockerd's rmi): busybox's own name was the image's last.
  assert.match(await must(['rmi', 'busybox']), /Deleted: sha256:/);
  assert.match(await must(['pull', ref]), /Downloaded newer image/);
  assert.equal((await must(['image', 'inspect', '--format', '{{index .RepoDigests 0}}', ref])).trim(), `${r.addr}/library/busybox@${digest}`);
  assert.equal((await must(['run', '--rm', '--network', 'none', ref, 'echo', 'ran from berth registry'])).trim(), 'ran from berth registry');
  assert.equal((await must(['search', '--format', '{{.Name}}', `${r.addr}/busy`])).trim(), 'library/busybox');
  await must(['tag', ref, 'busybox']);
});

test('docker login with htpasswd and with tokens, through berthd', { timeout: 180_000 }, async () => {
  const pw = path.join(cfg, 'htpasswd');
  await fsp.writeFile(pw, `alice:${bcrypt.hashSync('pw', 5)}\n`);
  for (const mode of [['--htpasswd', pw], ['--token', '--htpasswd', pw]]) {
    const r = await startRegistry(mode);
    started.push(r);
    const ref = `${r.addr}/team/bb:1`;
    await must(['tag', 'busybox', ref]);
    const denied = await docker(['push', ref]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /no basic auth credentials|unauthorized|authentication required/i);
    assert.match(await must(['login', '-u', 'alice', '--password-stdin', r.addr], 'pw\n'), /Login Succeeded/);
    await must(['push', ref]);
    await must(['rmi', ref]);
    await must(['pull', ref]);
    assert.match(await must(['search', `${r.addr}/bb`]), /team\/bb/);
    await must(['logout', r.addr]);
    await must(['rmi', ref]);
    // berthd answers 401, as dockerd does (the registry's status), so the docker CLI asks for a login; an empty answer ends it.
    const dp = await docker(['pull', ref], '\n');
    assert.notEqual(dp.code, 0);
    assert.match(dp.stdout, /Login prior to pull/);
    // A wrong password is refused.
    const bad = await docker(['login', '-u', 'alice', '--password-stdin', r.addr], 'nope\n');
    assert.notEqual(bad.code, 0);
  }
});
