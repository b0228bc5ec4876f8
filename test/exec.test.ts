/**
 * docker exec against berthd with the real docker CLI: output and exit
 * codes, -e/-w/-u/--privileged, piped stdin, -d, exec inspect and the
 * container's ExecIDs, and exec in a stopped container.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { docker, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { api } from './helpers/http.js';
import { busyboxRootfs } from './helpers/rootfs.js';

let d: TestDaemon;
let cid = '';

interface ExecInspect {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user?: string };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  ContainerID: string;
  DetachKeys: string;
  Pid: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls exec inspect until the session has finished. */
async function waitExecDone(id: string): Promise<ExecInspect> {
  for (let i = 0; i < 100; i++) {
    const r = await api(d.socket, 'GET', `/v1.51/exec/${id}/json`);
    assert.equal(r.status, 200, r.body.toString());
    const info = r.json<ExecInspect>();
    if (!info.Running && info.ExitCode !== null) return info;
    await sleep(100);
  }
  throw new Error(`exec ${id} did not finish`);
}

before(async () => {
  d = await startDaemon();
  const { tarXz } = await busyboxRootfs();
  const imp = await docker(d, ['import', '-c', 'CMD ["sh"]', tarXz, 'busybox']);
  assert.equal(imp.code, 0, imp.stderr);
  const r = await docker(d, ['run', '-d', '--name', 'ex1', '-e', 'CE=from-container', '-w', '/root', 'busybox', 'sleep', '1000']);
  assert.equal(r.code, 0, r.stderr);
  cid = r.stdout.trim();
});

after(async () => {
  await d?.cleanup();
});

test('docker exec prints stdout and stderr apart and returns the exit code', async () => {
  const r = await docker(d, ['exec', 'ex1', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.code, 3);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  const ok = await docker(d, ['exec', 'ex1', 'echo', 'hello']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'hello\n');
});

test('docker exec inherits the container env, workdir and user; -e, -w, -u override them', async () => {
  const dflt = await docker(d, ['exec', 'ex1', 'sh', '-c', 'echo $CE $HOSTNAME $HOME; pwd; id -u']);
  assert.equal(dflt.code, 0, dflt.stderr);
  assert.deepEqual(dflt.stdout.trim().split('\n'), [`from-container ${cid.slice(0, 12)} /root`, '/root', '0']);
  const r = await docker(d, ['exec', '-e', 'X=2', '-e', 'CE=override', '-w', '/tmp', '-u', '65534:65534', 'ex1', 'sh', '-c', 'echo $X $CE; pwd; id -u; id -g']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['2 override', '/tmp', '65534', '65534']);
  const named = await docker(d, ['exec', '-u', 'nobody', 'ex1', 'id', '-un']);
  assert.equal(named.stdout.trim(), 'nobody');
  // Without a TTY there is no TERM, as with dockerd.
  const term = await docker(d, ['exec', 'ex1', 'sh', '-c', 'echo "[$TERM]"']);
  assert.equal(term.stdout.trim(), '[]');
});

test('docker exec keeps the container\'s capabilities; --privileged gets all of the host\'s', async () => {
  const plain = await docker(d, ['exec', 'ex1', 'grep', 'CapEff', '/proc/self/status']);
  assert.equal(plain.stdout.trim(), 'CapEff:\t00000000a80425fb');
  const hostBnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
  const priv = await docker(d, ['exec', '--privileged', 'ex1', 'grep', 'CapEff', '/proc/self/status']);
  assert.equal(priv.code, 0, priv.stderr);
  assert.equal(priv.stdout.trim(), `CapEff:\t${hostBnd}`);
  // A non-root exec user keeps only the bounding set, like a non-root container.
  const nobody = await docker(d, ['exec', '-u', '65534', 'ex1', 'grep', 'CapEff', '/proc/self/status']);
  assert.equal(nobody.stdout.trim(), 'CapEff:\t0000000000000000');
});

test('docker exec of a missing command exits 127 with docker\'s message', async () => {
  const r = await docker(d, ['exec', 'ex1', 'nosuch']);
  assert.equal(r.code, 127);
  assert.equal(
    r.stdout,
    'OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuch": executable file not found in $PATH: unknown\r\n',
  );
  const notExec = await docker(d, ['exec', 'ex1', '/etc/passwd']);
  assert.equal(notExec.code, 126);
  assert.match(notExec.stdout, /permission denied/);
  const badDir = await docker(d, ['exec', '-w', '/nosuchdir', 'ex1', 'true']);
  assert.equal(badDir.code, 126);
  assert.match(badDir.stdout, /chdir to cwd \("\/nosuchdir"\)/);
  const badUser = await docker(d, ['exec', '-u', 'nosuchuser', 'ex1', 'true']);
  assert.equal(badUser.code, 126);
  assert.match(badUser.stdout, /unable to find user nosuchuser: no matching entries in passwd file/);
});

test('docker exec -i forwards piped stdin and closes it at its end', async () => {
  const r = await docker(d, ['exec', '-i', 'ex1', 'cat'], { input: 'piped\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'piped\n');
  // Output keeps flowing after the client's half-close, until the process ends.
  const late = await docker(d, ['exec', '-i', 'ex1', 'sh', '-c', 'cat; sleep 0.5; echo after-eof'], { input: 'x\n' });
  assert.equal(late.stdout, 'x\nafter-eof\n');
  // More than conmon's 32 KiB attach packet, in one piece.
  const big = await docker(d, ['exec', '-i', 'ex1', 'wc', '-c'], { input: Buffer.alloc(300_000, 'y') });
  assert.equal(big.stdout.trim(), '300000');
  // A client whose stdin is already at EOF half-closes before the process runs.
  const empty = await docker(d, ['exec', '-i', 'ex1', 'wc', '-c']);
  assert.equal(empty.stdout.trim(), '0');
  // Without -i the process reads an empty stdin.
  const none = await docker(d, ['exec', 'ex1', 'cat'], { input: 'ignored\n' });
  assert.equal(none.code, 0);
  assert.equal(none.stdout, '');
});

test('docker exec -d returns at once and the command runs in the background', async () => {
  const t0 = Date.now();
  const r = await docker(d, ['exec', '-d', 'ex1', 'sh', '-c', 'sleep 1; echo bg > /tmp/bg']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.ok(Date.now() - t0 < 3000);
  let out = '';
  for (let i = 0; i < 50 && out !== 'bg\n'; i++) {
    await sleep(100);
    out = (await docker(d, ['exec', 'ex1', 'cat', '/tmp/bg'])).stdout;
  }
  assert.equal(out, 'bg\n');
});

test('exec inspect, ExecIDs and a second start', async () => {
  const create = await api(d.socket, 'POST', '/v1.51/containers/ex1/exec', {
    AttachStdout: true, AttachStderr: true, Cmd: ['sh', '-c', 'exit 4'], User: 'nobody', DetachKeys: 'ctrl-p,ctrl-q',
  });
  assert.equal(create.status, 201, create.body.toString());
  const id = create.json<{ Id: string }>().Id;
  assert.match(id, /^[0-9a-f]{64}$/);

  const before = (await api(d.socket, 'GET', `/v1.51/exec/${id}/json`)).json<ExecInspect>();
  assert.deepEqual(before, {
    ID: id, Running: false, ExitCode: null,
    ProcessConfig: { tty: false, entrypoint: 'sh', arguments: ['-c', 'exit 4'], privileged: false, user: 'nobody' },
    OpenStdin: false, OpenStderr: true, OpenStdout: true, CanRemove: false, ContainerID: cid, DetachKeys: 'EBE=', Pid: 0,
  });
  const ids = await docker(d, ['inspect', '-f', '{{json .ExecIDs}}', 'ex1']);
  assert.ok((JSON.parse(ids.stdout) as string[]).includes(id));

  const start = await api(d.socket, 'POST', `/v1.51/exec/${id}/start`, { Detach: true });
  assert.equal(start.status, 200, start.body.toString());
  const done = await waitExecDone(id);
  assert.equal(done.ExitCode, 4);
  assert.ok(done.Pid > 0);
  // Finished sessions leave the container's list but stay inspectable.
  const after = await docker(d, ['inspect', '-f', '{{json .ExecIDs}}', 'ex1']);
  assert.ok(!after.stdout.includes(id));

  const again = await api(d.socket, 'POST', `/v1.51/exec/${id}/start`, { Detach: true });
  assert.equal(again.status, 409);
  assert.equal(again.json<{ message: string }>().message, `Error: Exec command ${id} has already run`);

  const missing = await api(d.socket, 'GET', '/v1.51/exec/nosuchexec/json');
  assert.equal(missing.status, 404);
  assert.equal(missing.json<{ message: string }>().message, 'No such exec instance: nosuchexec');
  const noCmd = await api(d.socket, 'POST', '/v1.51/containers/ex1/exec', { Cmd: [] });
  assert.equal(noCmd.status, 400);
  assert.equal(noCmd.json<{ message: string }>().message, 'No exec command specified');
});

test('exec start streams stdcopy frames on API 1.51 over a plain (non-upgraded) request', async () => {
  const create = await api(d.socket, 'POST', '/v1.51/containers/ex1/exec', {
    AttachStdout: true, AttachStderr: true, Cmd: ['sh', '-c', 'echo o; echo e >&2'],
  });
  const id = create.json<{ Id: string }>().Id;
  const r = await api(d.socket, 'POST', `/v1.51/exec/${id}/start`, { Detach: false, Tty: false });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
  const frames: [number, string][] = [];
  for (let off = 0; off < r.body.length; ) {
    const size = r.body.readUInt32BE(off + 4);
    frames.push([r.body[off]!, r.body.subarray(off + 8, off + 8 + size).toString()]);
    off += 8 + size;
  }
  assert.deepEqual(frames.sort(), [[1, 'o\n'], [2, 'e\n']]);
  assert.equal((await waitExecDone(id)).ExitCode, 0);
});

test('exec in a stopped container fails like Docker, and its sessions are dropped', async () => {
  const run = await docker(d, ['run', '-d', '--name', 'ex2', 'busybox', 'sleep', '1000']);
  assert.equal(run.code, 0, run.stderr);
  const id2 = run.stdout.trim();
  const create = await api(d.socket, 'POST', '/v1.51/containers/ex2/exec', { Cmd: ['true'] });
  const pending = create.json<{ Id: string }>().Id;
  const ids = await docker(d, ['inspect', '-f', '{{json .ExecIDs}}', 'ex2']);
  assert.deepEqual(JSON.parse(ids.stdout), [pending]);

  assert.equal((await docker(d, ['stop', '-t', '0', 'ex2'])).code, 0);
  const r = await docker(d, ['exec', 'ex2', 'true']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `Error response from daemon: container ${id2} is not running\n`);
  // A session never started is gone with the run it belonged to.
  const gone = await api(d.socket, 'GET', `/v1.51/exec/${pending}/json`);
  assert.equal(gone.status, 404);
  const after = await docker(d, ['inspect', '-f', '{{json .ExecIDs}}', 'ex2']);
  assert.equal(after.stdout.trim(), 'null');
  await docker(d, ['rm', 'ex2']);
});

test('dockerode: exec start hijacked with stdin, demultiplexed, then inspect', async () => {
  const client = new Docker({ socketPath: d.socket });
  const exec = await client.getContainer('ex1').exec({
    Cmd: ['sh', '-c', 'cat; echo to-stderr >&2; exit 9'], AttachStdin: true, AttachStdout: true, AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: true });
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  client.modem.demuxStream(stream, out, err);
  const ended = new Promise((r) => stream.on('end', r));
  stream.end('from dockerode\n');
  await ended;
  assert.equal(Buffer.concat(chunks.out).toString(), 'from dockerode\n');
  assert.equal(Buffer.concat(chunks.err).toString(), 'to-stderr\n');
  const info = await exec.inspect();
  assert.equal(info.Running, false);
  assert.equal(info.ExitCode, 9);
});

test('exec start whose JSON body comes in its own packet still reads stdin and its EOF', async () => {
  // The Go client writes the request head and the body separately; the daemon
  // then has to wait for the body, and must not leave the connection paused.
  const create = await api(d.socket, 'POST', '/v1.51/containers/ex1/exec', { AttachStdin: true, AttachStdout: true, AttachStderr: true, Cmd: ['cat'] });
  const id = create.json<{ Id: string }>().Id;
  const body = JSON.stringify({ Detach: false, Tty: false });
  const conn = net.connect(d.socket);
  const received: Buffer[] = [];
  const closed = new Promise<void>((resolve) => conn.on('close', () => resolve()));
  conn.on('data', (b: Buffer) => received.push(b));
  await new Promise((r) => conn.once('connect', r));
  conn.write(`POST /v1.51/exec/${id}/start HTTP/1.1\r\nHost: api.moby.localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
  await sleep(200);
  conn.write(body);
  for (let i = 0; i < 50 && !Buffer.concat(received).includes('\r\n\r\n'); i++) await sleep(50);
  assert.match(Buffer.concat(received).toString(), /^HTTP\/1.1 101 /);
  conn.end('piped\n');
  const timer = setTimeout(() => conn.destroy(), 10_000);
  await closed;
  clearTimeout(timer);
  const all = Buffer.concat(received);
  const payload = all.subarray(all.indexOf('\r\n\r\n') + 4);
  assert.deepEqual([...payload.subarray(0, 8)], [1, 0, 0, 0, 0, 0, 0, 6]);
  assert.equal(payload.subarray(8).toString(), 'piped\n');
  assert.equal((await waitExecDone(id)).ExitCode, 0);
});
