/**
 * berthd as a process: one daemon per data root, socket permissions, clean
 * shutdown, config file, and restarts (SIGTERM and SIGKILL) under running
 * containers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BERTHD, docker, startDaemon } from './helpers/daemon.js';
import { busyboxRootfs } from './helpers/rootfs.js';

function runBerthd(args: string[], timeoutMs = 15_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BERTHD, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stderr });
    });
  });
}

test('a second berthd on the same data root refuses to start; the socket is 0660', async (t) => {
  const d = await startDaemon();
  t.after(() => d.cleanup());
  const st = await fsp.stat(d.socket);
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.uid, 0);
  const second = await runBerthd(['-H', `unix://${d.dir}/second.sock`, '--data-root', d.dataRoot, '--exec-root', path.join(d.dir, 'run2'), '-p', path.join(d.dir, 'p2'), '--config-file', path.join(d.dir, 'none.json')]);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /another berthd is already running with data root/);
  // The first one is unharmed.
  assert.equal((await docker(d, ['version', '--format', '{{.Server.Os}}'])).stdout.trim(), 'linux');
});

test('SIGTERM shuts down cleanly: exit 0, pidfile and socket gone', async (t) => {
  const d = await startDaemon();
  t.after(() => d.cleanup());
  assert.equal((await fsp.readFile(d.pidfile, 'utf8')).trim(), String(d.proc.pid));
  const exited = new Promise<number | null>((r) => d.proc.once('exit', (code) => r(code)));
  d.proc.kill('SIGTERM');
  assert.equal(await exited, 0);
  await assert.rejects(fsp.stat(d.pidfile));
  await assert.rejects(fsp.stat(d.socket));
});

test('the config file sets daemon.json keys; flags win; an explicit missing file is an error', async (t) => {
  const d = await startDaemon();
  t.after(() => d.cleanup());
  const missing = await runBerthd(['--config-file', path.join(d.dir, 'absent.json')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /unable to configure the daemon with file .*absent\.json/);

  const cfgFile = path.join(d.dir, 'daemon.json');
  const otherRoot = path.join(d.dir, 'fromfile');
  await fsp.writeFile(cfgFile, JSON.stringify({ 'data-root': otherRoot, 'exec-root': path.join(d.dir, 'run3'), pidfile: path.join(d.dir, 'p3'), hosts: [`unix://${d.dir}/c.sock`], bridge: 'none' }));
  const p = spawn(process.execPath, [BERTHD, '--config-file', cfgFile], { stdio: 'ignore' });
  t.after(async () => {
    if (p.exitCode === null) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await gone;
    }
  });
  let info = { code: 1, stdout: '', stderr: '' };
  for (let i = 0; i < 100 && info.code !== 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    info = await docker({ host: `unix://${d.dir}/c.sock` }, ['info', '--format', '{{.DockerRootDir}}']);
  }
  assert.equal(info.stdout.trim(), otherRoot);

  const both = await runBerthd(['--config-file', cfgFile, '-H', `unix://${d.dir}/x.sock`]);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /specified both as a flag and in the configuration file: hosts/);
});

test('TCP without TLS is refused unless --tls=false is given', async (t) => {
  const d = await startDaemon();
  t.after(() => d.cleanup());
  const r = await runBerthd(['-H', 'tcp://127.0.0.1:23750', '--data-root', path.join(d.dir, 'd4'), '--exec-root', path.join(d.dir, 'r4'), '-p', path.join(d.dir, 'p4'), '--config-file', path.join(d.dir, 'none.json')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refusing to listen on tcp:\/\/127\.0\.0\.1:23750 without TLS/);
});

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`after ${signal} a new berthd finds every image and container, running ones still running`, async (t) => {
    const d = await startDaemon();
    t.after(() => d.cleanup());
    const { tar } = await busyboxRootfs();
    assert.equal((await docker(d, ['import', tar, 'busybox'])).code, 0);
    assert.equal((await docker(d, ['create', '--name', 'made', 'busybox', 'true'])).code, 0);
    assert.equal((await docker(d, ['run', '--name', 'done', 'busybox', 'sh', '-c', 'echo finished; exit 4'])).code, 4);
    assert.equal((await docker(d, ['run', '-d', '--name', 'long', 'busybox', 'sh', '-c', 'echo running; sleep 60'])).code, 0);
    assert.equal((await docker(d, ['run', '-d', '--name', 'exitlater', 'busybox', 'sh', '-c', 'sleep 1; exit 9'])).code, 0);
    const pid = (await docker(d, ['inspect', '-f', '{{.State.Pid}}', 'long'])).stdout.trim();

    await d.stop(signal);
    // "exitlater" exits while no daemon is watching.
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(Number(pid), 0); // still alive without a daemon
    await d.restart();

    const ps = await docker(d, ['ps', '-a', '--format', '{{.Names}} {{.State}} {{.Status}}']);
    const rows = Object.fromEntries(ps.stdout.trim().split('\n').map((l) => [l.split(' ')[0], l]));
    assert.match(rows.made!, /^made created Created$/);
    assert.match(rows.done!, /^done exited Exited \(4\)/);
    assert.match(rows.long!, /^long running Up /);
    assert.match(rows.exitlater!, /^exitlater exited Exited \(9\)/);
    assert.equal((await docker(d, ['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim(), 'busybox:latest');
    assert.equal((await docker(d, ['logs', 'done'])).stdout, 'finished\n');
    assert.equal((await docker(d, ['logs', 'long'])).stdout, 'running\n');
    assert.equal((await docker(d, ['inspect', '-f', '{{.State.Pid}}', 'long'])).stdout.trim(), pid);

    // The reconnected daemon still sees the running container exit.
    const rm = await docker(d, ['rm', '-f', 'long']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.throws(() => process.kill(Number(pid), 0));
  });
}

test('restart policies after a daemon restart: always starts again, unless-stopped remembers a manual stop', async (t) => {
  const d = await startDaemon();
  t.after(() => d.cleanup());
  const { tar } = await busyboxRootfs();
  assert.equal((await docker(d, ['import', tar, 'busybox'])).code, 0);
  assert.equal((await docker(d, ['run', '-d', '--name', 'always1', '--restart', 'always', 'busybox', 'sleep', '60'])).code, 0);
  assert.equal((await docker(d, ['run', '-d', '--name', 'unless1', '--restart', 'unless-stopped', 'busybox', 'sleep', '60'])).code, 0);
  assert.equal((await docker(d, ['stop', '-t', '0', 'always1', 'unless1'])).code, 0);
  await d.stop('SIGTERM');
  await d.restart();
  let status = '';
  for (let i = 0; i < 50; i++) {
    status = (await docker(d, ['ps', '-a', '--format', '{{.Names}}={{.State}}'])).stdout.trim().split('\n').sort().join(' ');
    if (status === 'always1=running unless1=exited') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(status, 'always1=running unless1=exited');
});
