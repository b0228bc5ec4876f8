/**
 * The real docker CLI (v28) against `berth registry serve`, through a real
 * dockerd 20.10 (Debian's docker.io) started here on private paths, until
 * berthd's own registry client lands: push, pull, run, search, and
 * `docker login` with htpasswd and with tokens. Opt-in, because it starts a
 * second container engine: BERTH_PEER_DOCKERD_TESTS=1 (and docker.io
 * installed).
 */
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { DOCKER, runCli } from './helpers/daemon.js';
import { busyboxRootfs } from './helpers/rootfs.js';
import { startRegistry, type TestRegistry } from './helpers/berth-registry.js';

const execFileP = promisify(execFile);
const enabled = process.env.BERTH_PEER_DOCKERD_TESTS === '1' && existsSync('/usr/sbin/dockerd');
const skip = enabled ? false : 'starts a dockerd of its own: set BERTH_PEER_DOCKERD_TESTS=1 (needs docker.io)';
let dir = '';
let dockerd: ChildProcess | undefined;
const started: TestRegistry[] = [];
const d = () => ({ host: `unix://${path.join(dir, 'd.sock')}` });
const docker = (args: string[], input?: string) => runCli(DOCKER, args, d(), { env: { DOCKER_CONFIG: path.join(dir, 'cfg') }, timeoutMs: 120_000, ...(input ? { input } : {}) });

before(async () => {
  if (!enabled) return;
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-peerd-'));
  dockerd = spawn(
    '/usr/sbin/dockerd',
    ['-H', `unix://${path.join(dir, 'd.sock')}`, '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'), '-p', path.join(dir, 'd.pid'), '--iptables=false', '--bridge=none'],
    { stdio: 'ignore', env: { ...process.env, HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', NO_PROXY: 'localhost,127.0.0.1' } },
  );
  for (let i = 0; i < 120 && (await docker(['version'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 250));
  const { tar } = await busyboxRootfs();
  assert.equal((await docker(['import', tar, 'bbtest:latest'])).code, 0);
});
after(async () => {
  for (const r of started) await r.cleanup();
  if (dockerd && dockerd.exitCode === null) {
    const exited = new Promise((r) => dockerd!.once('exit', r));
    dockerd.kill('SIGTERM');
    await exited;
  }
  if (dir) {
    const mounts = (await fsp.readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => !!m && m.startsWith(dir));
    for (const m of mounts.sort((a, b) => b.length - a.length)) await execFileP('umount', ['-l', m]).catch(() => undefined);
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

async function must(args: string[], input?: string): Promise<string> {
  const r = await docker(args, input);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('docker push, pull, run and search against an open berth registry', { skip, timeout: 300_000 }, async () => {
  const r = await startRegistry([]);
  started.push(r);
  const ref = `${r.addr}/library/busybox:latest`;
  await must(['tag', 'bbtest:latest', ref]);
  const push = await must(['push', ref]);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push)?.[1];
  assert.ok(digest, push);
  await must(['rmi', ref]);
  await must(['pull', ref]);
  assert.equal((await must(['image', 'inspect', '--format', '{{index .RepoDigests 0}}', ref])).trim(), `${r.addr}/library/busybox@${digest}`);
  assert.equal((await must(['run', '--rm', '--network', 'none', ref, 'echo', 'ran from berth registry'])).trim(), 'ran from berth registry');
  const s = await must(['search', '--format', '{{.Name}}', `${r.addr}/busy`]);
  assert.equal(s.trim(), 'library/busybox');
});

test('docker login with htpasswd and with tokens', { skip, timeout: 300_000 }, async () => {
  const pw = path.join(dir, 'htpasswd');
  await fsp.writeFile(pw, `alice:${bcrypt.hashSync('pw', 5)}\n`);
  for (const mode of [['--htpasswd', pw], ['--token', '--htpasswd', pw]]) {
    const r = await startRegistry(mode);
    started.push(r);
    const ref = `${r.addr}/team/bb:1`;
    await must(['tag', 'bbtest:latest', ref]);
    assert.notEqual((await docker(['push', ref])).code, 0);
    await must(['login', '-u', 'alice', '--password-stdin', r.addr], 'pw\n');
    await must(['push', ref]);
    await must(['rmi', ref]);
    await must(['pull', ref]);
    assert.match(await must(['search', `${r.addr}/bb`]), /team\/bb/);
    await must(['logout', r.addr]);
    await must(['rmi', ref]);
    assert.notEqual((await docker(['pull', ref])).code, 0);
  }
});
