/**
 * The berth CLI's exec and attach against a real berthd, side by side with
 * the docker CLI where their output can be compared: exit codes (the
 * process's own, 126/127, 1 for daemon errors), -e/-w/-u/--env-file, -i
 * with piped stdin, -d, and terminals (exec -it and attach in tmux panes:
 * size, resize, detach keys).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BERTH, berth, docker, startDaemonWithBusybox, type RunResult, type TestDaemon } from './helpers/daemon.js';
import { shq, Tmux } from './helpers/tmux.js';

let d: TestDaemon;
let tmux: Tmux;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  d = await startDaemonWithBusybox();
  tmux = new Tmux(path.join(d.dir, 'tmux.sock'));
  const r = await docker(d, ['run', '-d', '--name', 'ix', '-e', 'CE=from-container', '-w', '/root', 'busybox', 'sleep', '1000']);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await tmux?.kill();
  for (const c of ['ix', 'ix-stopped', 'ix-att', 'ix-att-in', 'ix-tty']) await docker(d, ['rm', '-f', c]).catch(() => undefined);
  await d?.cleanup();
});

/** A berth command line for a tmux pane. */
function berthLine(args: string[]): string {
  return `env BERTH_HOST=${shq(d.host)} ${shq(process.execPath)} -- ${shq(BERTH)} ${args.map(shq).join(' ')}`;
}

/** docker's output with its name swapped for berth's, for comparing messages. */
function asBerth(r: RunResult): RunResult {
  return { ...r, stderr: r.stderr.replace(/\bdocker\b/g, 'berth') };
}

async function same(args: string[], input?: string): Promise<RunResult> {
  const b = await berth(d, args, { input });
  const k = asBerth(await docker(d, args, { input }));
  assert.deepEqual(b, k, `berth ${args.join(' ')}`);
  return b;
}

test('berth exec: stdout and stderr apart, the exit code, 126/127 with docker\'s messages', async () => {
  const r = await same(['exec', 'ix', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.deepEqual(r, { code: 3, stdout: 'out\n', stderr: 'err\n' });
  assert.equal((await same(['exec', 'ix', 'echo', 'hello'])).stdout, 'hello\n');
  const missing = await same(['exec', 'ix', 'nosuch']);
  assert.equal(missing.code, 127);
  assert.match(missing.stdout, /exec: "nosuch": executable file not found in \$PATH/);
  assert.equal((await same(['exec', 'ix', '/etc/passwd'])).code, 126);
  assert.equal((await same(['exec', '-w', '/nosuchdir', 'ix', 'true'])).code, 126);
  // Options after the command belong to it.
  assert.equal((await same(['exec', 'ix', 'ls', '-d', '/tmp'])).stdout, '/tmp\n');
});

test('berth exec -e, --env-file, -w, -u and --privileged', async () => {
  const envFile = path.join(d.dir, 'exec.env');
  await fsp.writeFile(envFile, '# comment\nFROM_FILE=1\nX=from-file\n');
  const r = await berth(d, ['exec', '--env-file', envFile, '-e', 'X=2', '-e', 'CE=override', '-w', '/tmp', '-u', '65534:65534', 'ix', 'sh', '-c', 'echo $FROM_FILE $X $CE; pwd; id -u; id -g']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['1 2 override', '/tmp', '65534', '65534']);
  const dflt = await berth(d, ['exec', 'ix', 'sh', '-c', 'echo $CE; pwd; id -un']);
  assert.deepEqual(dflt.stdout.trim().split('\n'), ['from-container', '/root', 'root']);
  assert.equal((await berth(d, ['exec', '--user', 'nobody', 'ix', 'id', '-un'])).stdout, 'nobody\n');
  const plain = await berth(d, ['exec', 'ix', 'grep', 'CapEff', '/proc/self/status']);
  const priv = await berth(d, ['exec', '--privileged', 'ix', 'grep', 'CapEff', '/proc/self/status']);
  assert.notEqual(plain.stdout, priv.stdout);
  assert.equal(priv.stdout, (await docker(d, ['exec', '--privileged', 'ix', 'grep', 'CapEff', '/proc/self/status'])).stdout);
  // -t without -i: a TTY, no stdin; output is the terminal's (\r\n).
  assert.deepEqual(await same(['exec', '-t', 'ix', 'sh', '-c', 'tty >/dev/null && echo is-a-tty']), { code: 0, stdout: 'is-a-tty\r\n', stderr: '' });
});

test('berth exec -i forwards piped stdin and half-closes it; without -i stdin is empty', async () => {
  assert.deepEqual(await same(['exec', '-i', 'ix', 'cat'], 'piped\n'), { code: 0, stdout: 'piped\n', stderr: '' });
  // Output keeps flowing after our stdin ended, until the process exits.
  const late = await berth(d, ['exec', '-i', 'ix', 'sh', '-c', 'cat; sleep 0.3; echo after-eof; exit 4'], { input: 'x\n' });
  assert.deepEqual(late, { code: 4, stdout: 'x\nafter-eof\n', stderr: '' });
  const big = await berth(d, ['exec', '-i', 'ix', 'wc', '-c'], { input: Buffer.alloc(300_000, 'y') });
  assert.equal(big.stdout.trim(), '300000');
  assert.equal((await berth(d, ['exec', 'ix', 'cat'], { input: 'ignored\n' })).stdout, '');
});

test('berth exec -d returns at once; the command runs in the background', async () => {
  const t0 = Date.now();
  const r = await berth(d, ['exec', '-d', 'ix', 'sh', '-c', 'sleep 1; echo bg > /tmp/bg']);
  assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
  assert.ok(Date.now() - t0 < 3000);
  let out = '';
  for (let i = 0; i < 50 && out !== 'bg\n'; i++) {
    await sleep(100);
    out = (await berth(d, ['exec', 'ix', 'cat', '/tmp/bg'])).stdout;
  }
  assert.equal(out, 'bg\n');
  // A detached start that fails still reports the daemon's error.
  assert.equal((await same(['exec', '-d', 'ix', 'nosuch'])).code, 1);
});

test('berth exec fails like docker: stopped or missing container, -it without a terminal, bad flags and arguments', async () => {
  const run = await docker(d, ['run', '-d', '--name', 'ix-stopped', 'busybox', 'sleep', '1000']);
  const id = run.stdout.trim();
  assert.equal((await docker(d, ['stop', '-t', '0', 'ix-stopped'])).code, 0);
  assert.deepEqual(await same(['exec', 'ix-stopped', 'true']), { code: 1, stdout: '', stderr: `Error response from daemon: container ${id} is not running\n` });
  assert.deepEqual(await same(['exec', 'nosuch', 'true']), { code: 1, stdout: '', stderr: 'Error response from daemon: No such container: nosuch\n' });
  assert.deepEqual(await same(['exec', '-it', 'ix', 'true']), { code: 1, stdout: '', stderr: 'the input device is not a TTY\n' });
  assert.equal((await same(['exec', 'ix'])).code, 1);
  assert.equal((await same(['exec', '-e', '=x', 'ix', 'true'])).code, 125);
  assert.equal((await same(['exec', '--bogus', 'ix', 'true'])).code, 125);
  assert.deepEqual(await same(['exec', '--env-file', '/nonexistent.env', 'ix', 'true']), { code: 1, stdout: '', stderr: 'open /nonexistent.env: no such file or directory\n' });
  assert.equal((await same(['exec', '--detach-keys', 'bogus', 'ix', 'true'])).code, 1);
});

test('berth exec -it in a terminal: the client\'s size, resize, exit code, and the detach keys', async () => {
  const s = 'exec-it';
  try {
    await tmux.start(s, berthLine(['exec', '-it', 'ix', 'sh']));
    await tmux.waitFor(s, /^~ #\s*$/m);
    await tmux.typeLine(s, 'stty size; tty; echo "T=$TERM"');
    const text = await tmux.waitFor(s, /^T=xterm\s*$/m);
    assert.match(text, /^30 100$/m);
    assert.match(text, /^\/dev\/pts\/\d+$/m);
    // SIGWINCH → POST /exec/{id}/resize.
    await tmux.run('resize-window', '-t', s, '-x', '80', '-y', '20');
    await sleep(500);
    await tmux.typeLine(s, 'stty size; echo "R=done"');
    assert.match(await tmux.waitFor(s, /^R=done\s*$/m), /^20 80$/m);
    await tmux.typeLine(s, 'exit 7');
    await tmux.waitFor(s, /^EXIT=7\s*$/m);
  } finally {
    await tmux.killSession(s);
  }

  // ^P^Q leaves the session with docker's message and status 1.
  const s2 = 'exec-detach';
  try {
    await tmux.start(s2, berthLine(['exec', '-it', 'ix', 'sh']));
    await tmux.waitFor(s2, /^~ #\s*$/m);
    await tmux.keys(s2, 'C-p', 'C-q');
    const text = await tmux.waitFor(s2, /^EXIT=1\s*$/m);
    assert.match(text, /read escape sequence/);
  } finally {
    await tmux.killSession(s2);
  }

  // --detach-keys replaces them: ^P^Q then reaches the shell, ^X x detaches.
  const s3 = 'exec-keys';
  try {
    await tmux.start(s3, berthLine(['exec', '-it', '--detach-keys', 'ctrl-x,x', 'ix', 'sh']));
    await tmux.waitFor(s3, /^~ #\s*$/m);
    await tmux.keys(s3, 'C-p', 'C-q');
    await tmux.typeLine(s3, 'echo "K=still-here"');
    await tmux.waitFor(s3, /^K=still-here\s*$/m);
    await tmux.keys(s3, 'C-x', 'x');
    assert.match(await tmux.waitFor(s3, /^EXIT=1\s*$/m), /read escape sequence/);
  } finally {
    await tmux.killSession(s3);
  }
});

test('berth attach waits for the container and returns its exit code, output split', async () => {
  const run = await docker(d, ['run', '-d', '--name', 'ix-att', 'busybox', 'sh', '-c', 'sleep 2; echo out; echo err >&2; exit 3']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await berth(d, ['attach', 'ix-att']), { code: 3, stdout: 'out\n', stderr: 'err\n' });
  // Now it has stopped.
  assert.deepEqual(await same(['attach', 'ix-att']), { code: 1, stdout: '', stderr: 'You cannot attach to a stopped container, start it first\n' });
  assert.deepEqual(await same(['attach', 'nosuch']), { code: 1, stdout: '', stderr: 'Error response from daemon: No such container: nosuch\n' });
  assert.equal((await same(['attach', 'a', 'b'])).code, 1);

  // With -i on the container, piped stdin reaches it.
  const withIn = await docker(d, ['run', '-di', '--name', 'ix-att-in', 'busybox', 'sh', '-c', 'read x; echo "got $x"; exit 5']);
  assert.equal(withIn.code, 0, withIn.stderr);
  assert.deepEqual(await berth(d, ['attach', 'ix-att-in'], { input: 'hello\n' }), { code: 5, stdout: 'got hello\n', stderr: '' });
});

test('berth attach in a terminal: output and input, the detach keys leave the container running', async () => {
  const run = await docker(d, ['run', '-dit', '--name', 'ix-tty', 'busybox', 'sh']);
  assert.equal(run.code, 0, run.stderr);
  // Piped stdin into a TTY container is refused, as by docker.
  assert.deepEqual(await same(['attach', 'ix-tty']), { code: 1, stdout: '', stderr: 'the input device is not a TTY\n' });
  const s = 'attach-tty';
  try {
    await tmux.start(s, berthLine(['attach', 'ix-tty']));
    await sleep(500);
    await tmux.typeLine(s, 'stty size; echo "A=$((6*7))"');
    const text = await tmux.waitFor(s, /^A=42\s*$/m);
    assert.match(text, /^30 100$/m);
    await tmux.keys(s, 'C-p', 'C-q');
    assert.match(await tmux.waitFor(s, /^EXIT=1\s*$/m), /read escape sequence/);
  } finally {
    await tmux.killSession(s);
  }
  assert.equal((await docker(d, ['inspect', '-f', '{{.State.Running}}', 'ix-tty'])).stdout.trim(), 'true');

  // Attached again, `exit 4` ends the container and the attach returns 4.
  const s2 = 'attach-exit';
  try {
    await tmux.start(s2, berthLine(['attach', 'ix-tty']));
    await sleep(500);
    await tmux.typeLine(s2, 'exit 4');
    await tmux.waitFor(s2, /^EXIT=4\s*$/m);
  } finally {
    await tmux.killSession(s2);
  }
});
