/**
 * Container behaviour clients notice (issue 12), through the docker CLI v28
 * and dockerode: kill and stop return once the exit is recorded, detach keys
 * handled by the daemon, an attach request's body is not stdin, commit of a
 * container that has just exited, export does not hold the container's lock,
 * update reaches the cgroup files, a restarting container is not removed
 * without force, `docker cp` into an anonymous volume before the first start,
 * unknown log and volume drivers refused as dockerd 28 refuses them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';

let d: TestDaemon;
let client: Docker;
let tmp: string;

before(async () => {
  d = await startDaemonWithBusybox();
  client = new Docker({ socketPath: d.socket });
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-fix-'));
});

after(async () => {
  await d?.cleanup();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const inspect = async (name: string, format: string) => (await docker(d, ['inspect', '-f', format, name])).stdout.trim();

/** Reads a hijacked stream until `re` matches what came so far. */
function readUntil(s: Duplex, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (b: Buffer) => {
      text += b.toString('latin1');
      if (re.test(text)) {
        s.off('data', onData);
        resolve(text);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
  });
}

const ended = (s: Duplex) => new Promise<void>((r) => (s.readableEnded ? r() : s.once('end', () => r())));

test('kill (SIGKILL) and stop return once inspect shows the exit; rm right after works', async () => {
  for (let i = 0; i < 3; i++) {
    assert.equal((await docker(d, ['run', '-d', '--name', `k${i}`, 'busybox', 'sleep', '60'])).code, 0);
    assert.equal((await docker(d, ['kill', `k${i}`])).code, 0);
    assert.equal(await inspect(`k${i}`, '{{.State.Running}} {{.State.Status}} {{.State.ExitCode}}'), 'false exited 137');
    assert.equal((await docker(d, ['rm', `k${i}`])).code, 0, 'rm without -f right after kill');
  }
  assert.equal((await docker(d, ['run', '-d', '--name', 's0', 'busybox', 'sh', '-c', 'trap "exit 3" TERM; while :; do sleep 0.1; done'])).code, 0);
  await sleep(300);
  assert.equal((await docker(d, ['stop', 's0'])).code, 0);
  assert.equal(await inspect('s0', '{{.State.Running}} {{.State.ExitCode}}'), 'false 3');
  assert.equal((await docker(d, ['rm', 's0'])).code, 0);
});

// Without the fix the client waits forever: a timeout makes that a failure.
test('attach: the daemon ends the stream on the detach keys; the container keeps running (dockerode)', { timeout: 60_000 }, async () => {
  const c = await client.createContainer({ Image: 'busybox', Cmd: ['cat'], Tty: true, OpenStdin: true, name: 'det' });
  await c.start();
  const stream = (await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as unknown as Duplex;
  stream.write('hello\n');
  await readUntil(stream, /hello\r?\n.*hello/s);
  const done = ended(stream);
  stream.write(Buffer.from([16, 17]));
  await done;
  assert.equal(await inspect('det', '{{.State.Running}}'), 'true');
  // Again with keys of the client's choosing (the query's detachKeys, as the CLI sends its config's).
  const again = (await c.attach({ stream: true, stdin: true, stdout: true, detachKeys: 'ctrl-x,x', hijack: true })) as unknown as Duplex;
  const done2 = ended(again);
  again.write(Buffer.from([16, 17]));
  again.write('more\n');
  await readUntil(again, /more/);
  again.write(Buffer.from([24]));
  again.write('x');
  await done2;
  assert.equal(await inspect('det', '{{.State.Running}}'), 'true');
  const events = await docker(d, ['events', '--since', '0', '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'container=det', '--filter', 'event=detach', '--format', '{{.Action}}']);
  assert.equal(events.stdout.trim().split('\n').length, 2);
  const bad = await fetchStatus('POST', '/containers/det/attach?stream=1&stdout=1&detachKeys=ctrl-1');
  assert.equal(bad.status, 400);
  assert.equal(bad.message, 'Invalid detach keys (ctrl-1) provided');
  await c.remove({ force: true });
});

// Without the fix the client waits forever: a timeout makes that a failure.
test('exec with a TTY: detach keys end the client stream, the process keeps running', { timeout: 60_000 }, async () => {
  assert.equal((await docker(d, ['run', '-d', '--name', 'ex', 'busybox', 'sleep', '600'])).code, 0);
  const c = client.getContainer('ex');
  const exec = await c.exec({ Cmd: ['sh', '-c', 'echo started; cat'], AttachStdin: true, AttachStdout: true, Tty: true });
  const stream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as unknown as Duplex;
  await readUntil(stream, /started/);
  const done = ended(stream);
  stream.write(Buffer.from([16, 17]));
  await done;
  const info = await exec.inspect();
  assert.equal(info.Running, true, 'the exec process runs on after the detach');
  await docker(d, ['rm', '-f', 'ex']);
});

// Without the fix the client waits forever: a timeout makes that a failure.
test("an attach request's JSON body is not stdin (dockerode sends its options as one)", { timeout: 60_000 }, async () => {
  const c = await client.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'head -c 6'], OpenStdin: true, StdinOnce: true, name: 'body' });
  const stream = (await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as unknown as Duplex;
  const chunks: Buffer[] = [];
  stream.on('data', (b: Buffer) => chunks.push(b));
  await c.start();
  stream.write('world\n');
  await c.wait();
  await sleep(100);
  const out = Buffer.concat(chunks);
  // stdcopy frames: 8-byte header, then the payload.
  assert.equal(out.subarray(8).toString(), 'world\n');
  await c.remove({ force: true });
});

test('commit works on a container that has just exited, and on a stopped one', async () => {
  for (let i = 0; i < 3; i++) {
    assert.equal((await docker(d, ['run', '-d', '--name', `cm${i}`, 'busybox', 'sh', '-c', 'echo x > /made; sleep 0.2'])).code, 0);
    await sleep(150 + i * 50);
    const r = await docker(d, ['commit', `cm${i}`, `cm${i}:img`]);
    assert.equal(r.code, 0, r.stderr);
  }
  await docker(d, ['wait', 'cm0']);
  const r = await docker(d, ['commit', 'cm0', 'cm0:stopped']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await docker(d, ['run', '--rm', 'cm0:stopped', 'cat', '/made'])).stdout, 'x\n');
});

// Without the fix the client waits forever: a timeout makes that a failure.
test('an export read slowly does not block pause, stop or commit of the container', { timeout: 60_000 }, async () => {
  assert.equal((await docker(d, ['run', '-d', '--name', 'slow', 'busybox', 'sleep', '600'])).code, 0);
  // Open the export and read nothing: the client's socket buffer fills and the daemon's writes wait.
  const req = http.request({ socketPath: d.socket, path: '/containers/slow/export', method: 'GET' });
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
  res.pause();
  await sleep(300);
  assert.equal((await docker(d, ['pause', 'slow'])).code, 0);
  assert.equal((await docker(d, ['unpause', 'slow'])).code, 0);
  assert.equal((await docker(d, ['commit', 'slow', 'slow:img'])).code, 0);
  assert.equal((await docker(d, ['stop', '-t', '1', 'slow'])).code, 0);
  assert.equal(await inspect('slow', '{{.State.Status}}'), 'exited');
  res.destroy();
  req.destroy();
  await sleep(200);
  assert.equal((await docker(d, ['rm', 'slow'])).code, 0);
});

test('update: each limit reaches its cgroup file (runc update resources)', async () => {
  const r = await docker(d, ['run', '-d', '--name', 'upd', '--memory', '64m', 'busybox', 'sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  const id = (await inspect('upd', '{{.Id}}'));
  const cg = (ctrl: string, file: string) => fsp.readFile(`/sys/fs/cgroup/${ctrl}/berth/${id}/${file}`, 'utf8').then((s) => s.trim());
  const update = async (...args: string[]) => {
    const u = await docker(d, ['update', ...args, 'upd']);
    assert.equal(u.code, 0, `${args.join(' ')}: ${u.stderr}`);
  };
  await update('--cpu-shares', '512');
  assert.equal(await cg('cpu', 'cpu.shares'), '512');
  await update('--memory', '100m', '--memory-swap', '300m');
  assert.equal(await cg('memory', 'memory.limit_in_bytes'), String(100 * 1024 * 1024));
  if (await fsp.access(`/sys/fs/cgroup/memory/berth/${id}/memory.memsw.limit_in_bytes`).then(() => true, () => false)) {
    assert.equal(await cg('memory', 'memory.memsw.limit_in_bytes'), String(300 * 1024 * 1024));
  }
  await update('--memory-reservation', '50m');
  assert.equal(await cg('memory', 'memory.soft_limit_in_bytes'), String(50 * 1024 * 1024));
  await update('--cpu-period', '50000', '--cpu-quota', '25000');
  assert.equal(await cg('cpu', 'cpu.cfs_period_us'), '50000');
  assert.equal(await cg('cpu', 'cpu.cfs_quota_us'), '25000');
  await update('--cpuset-cpus', '0');
  assert.equal(await cg('cpuset', 'cpuset.cpus'), '0');
  await update('--cpuset-mems', '0');
  assert.equal(await cg('cpuset', 'cpuset.mems'), '0');
  await update('--pids-limit', '77');
  assert.equal(await cg('pids', 'pids.max'), '77');
  await update('--pids-limit', '-1');
  assert.equal(await cg('pids', 'pids.max'), 'max');
  assert.equal(await inspect('upd', '{{.HostConfig.CpuShares}} {{.HostConfig.Memory}} {{.HostConfig.CpuQuota}} {{.HostConfig.CpusetCpus}}'), `512 ${100 * 1024 * 1024} 25000 0`);
  // dockerd's conflict: --cpus after --cpu-period was set.
  const conflict = await docker(d, ['update', '--cpus', '1', 'upd']);
  assert.match(conflict.stderr, /Cannot update container [0-9a-f]{64}: Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set/);
  // --cpus on a fresh container: a 100 ms period with the matching quota.
  assert.equal((await docker(d, ['run', '-d', '--name', 'upd2', 'busybox', 'sleep', '600'])).code, 0);
  const id2 = await inspect('upd2', '{{.Id}}');
  assert.equal((await docker(d, ['update', '--cpus', '0.5', 'upd2'])).code, 0);
  assert.equal((await fsp.readFile(`/sys/fs/cgroup/cpu/berth/${id2}/cpu.cfs_quota_us`, 'utf8')).trim(), '50000');
  // dockerd refuses a memory limit above the stored swap limit unless the swap is updated too.
  const mem = await docker(d, ['update', '--memory', '200m', 'upd2']);
  assert.match(mem.stderr, /Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time/);
  await docker(d, ['rm', '-f', 'upd', 'upd2']);
});

test('a restarting container is not removed without force (409, dockerd message)', async () => {
  assert.equal((await docker(d, ['run', '-d', '--name', 'rs', '--restart', 'always', 'busybox', 'sh', '-c', 'exit 1'])).code, 0);
  let status = '';
  for (let i = 0; i < 100 && status !== 'restarting'; i++) {
    status = await inspect('rs', '{{.State.Status}}');
    if (status !== 'restarting') await sleep(50);
  }
  assert.equal(status, 'restarting');
  const r = await fetchStatus('DELETE', '/containers/rs');
  assert.equal(r.status, 409);
  assert.equal(r.message, 'cannot remove container "rs": container is restarting: stop the container before removing or force remove');
  assert.equal((await docker(d, ['rm', '-f', 'rs'])).code, 0);
});

async function fetchStatus(method: string, p: string, body?: unknown): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, path: p, method, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: text ? (JSON.parse(text) as { message: string }).message : '' }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

test('docker cp into an anonymous volume before the first start lands in it, beside the image files', async () => {
  assert.equal((await docker(d, ['create', '--name', 'vbase', 'busybox', 'true'])).code, 0);
  assert.equal((await docker(d, ['commit', '--change', 'VOLUME ["/etc"]', 'vbase', 'volimg'])).code, 0);
  assert.equal((await docker(d, ['create', '--name', 'vc', 'volimg', 'sh', '-c', 'cat /etc/copied; grep -c root /etc/passwd'])).code, 0);
  const f = path.join(tmp, 'copied');
  await fsp.writeFile(f, 'copied in\n');
  assert.equal((await docker(d, ['cp', f, 'vc:/etc/'])).code, 0);
  const r = await docker(d, ['start', '-a', 'vc']);
  assert.equal(r.stdout, 'copied in\n1\n');
  await docker(d, ['rm', '-v', 'vc', 'vbase']);
});

test('unknown log drivers are refused at create; unknown volume drivers are 404 as in dockerd 28', async () => {
  const r = await docker(d, ['create', '--log-driver', 'nosuch', 'busybox', 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /error looking up logging plugin nosuch: plugin "nosuch" not found/);
  assert.equal((await docker(d, ['create', '--log-driver', 'none', 'busybox', 'true'])).code, 0);
  const mode = await docker(d, ['create', '--log-opt', 'mode=sometimes', 'busybox', 'true']);
  assert.match(mode.stderr, /logger: logging mode not supported: sometimes/);
  assert.equal((await docker(d, ['create', '--log-opt', 'mode=non-blocking', '--log-opt', 'max-buffer-size=4m', 'busybox', 'true'])).code, 0);
  const v = await fetchStatus('POST', '/volumes/create', { Name: 'vd', Driver: 'nosuch' });
  assert.equal(v.status, 404);
  assert.equal(v.message, 'create vd: error looking up volume plugin nosuch: plugin "nosuch" not found');
  const cli = await docker(d, ['volume', 'create', '-d', 'nosuch', 'vd2']);
  assert.match(cli.stderr, /create vd2: error looking up volume plugin nosuch: plugin "nosuch" not found/);
});
