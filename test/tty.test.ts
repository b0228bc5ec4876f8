/**
 * Interactive containers and terminals with the real docker CLI: piped
 * stdin into `docker run -i` (half-close, large input), `docker run -it`
 * and `docker exec -it` inside tmux panes (terminal size, resize, exit
 * codes), and HostConfig.ConsoleSize / exec ConsoleSize over the API.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DOCKER, docker, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { api } from './helpers/http.js';
import { shq, Tmux } from './helpers/tmux.js';
import { busyboxRootfs } from './helpers/rootfs.js';

let d: TestDaemon;
let tm: Tmux;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A docker command in a new 100x30 tmux pane (see Tmux.start). */
async function tmuxDocker(session: string, args: string[]): Promise<void> {
  await tm.start(session, `env DOCKER_HOST=${shq(d.host)} DOCKER_CONFIG=/tmp/bt-docker-config ${DOCKER} ${args.map(shq).join(' ')}`);
}

const waitPane = (session: string, re: RegExp) => tm.waitFor(session, re);
const typeLine = (session: string, line: string) => tm.typeLine(session, line);
const tmux = (...args: string[]) => tm.run(...args);

before(async () => {
  d = await startDaemon();
  tm = new Tmux(path.join(d.dir, 'tmux.sock'));
  const { tarXz } = await busyboxRootfs();
  const r = await docker(d, ['import', '-c', 'CMD ["sh"]', tarXz, 'busybox']);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await tm?.kill();
  await d?.cleanup();
});

test('echo data | docker run -i busybox cat', async () => {
  const r = await docker(d, ['run', '--rm', '-i', 'busybox', 'cat'], { input: 'data\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'data\n');
});

test('docker run -i: half-closing stdin closes the container\'s stdin, output keeps flowing', async () => {
  const r = await docker(d, ['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat >/dev/null; echo saw-eof; sleep 0.5; echo still-here >&2; exit 6'], { input: 'ignored\n' });
  assert.equal(r.code, 6);
  assert.equal(r.stdout, 'saw-eof\n');
  assert.equal(r.stderr, 'still-here\n');
  // An empty stdin is closed at once too.
  const empty = await docker(d, ['run', '--rm', '-i', 'busybox', 'wc', '-c']);
  assert.equal(empty.stdout.trim(), '0');
});

test('docker run -i passes large input intact (more than conmon\'s 32 KiB packets)', async () => {
  const input = Buffer.alloc(500_000);
  for (let i = 0; i < input.length; i++) input[i] = 97 + (i % 26);
  const r = await docker(d, ['run', '--rm', '-i', 'busybox', 'md5sum'], { input });
  assert.equal(r.code, 0, r.stderr);
  const { createHash } = await import('node:crypto');
  assert.equal(r.stdout.split(' ')[0], createHash('md5').update(input).digest('hex'));
});

test('docker run -it --rm busybox sh in a terminal: size, resize, exit code', async () => {
  const s = 'run-it';
  try {
    await tmuxDocker(s, ['run', '-it', '--rm', '--name', 'tty1', 'busybox', 'sh']);
    await waitPane(s, /^\/ #\s*$/m);
    await typeLine(s, 'stty size; echo "T=$TERM"');
    let text = await waitPane(s, /^T=xterm\s*$/m);
    assert.match(text, /^30 100$/m);
    // The CLI follows SIGWINCH with POST /containers/{id}/resize.
    await tmux('resize-window', '-t', s, '-x', '90', '-y', '25');
    await sleep(500);
    await typeLine(s, 'stty size; echo "R=done"');
    text = await waitPane(s, /^R=done\s*$/m);
    assert.match(text, /^25 90$/m);
    await typeLine(s, 'exit 5');
    await waitPane(s, /EXIT=5/);
    assert.equal((await docker(d, ['ps', '-aq', '--filter', 'name=tty1'])).stdout.trim(), '');
  } finally {
    await tmux('kill-session', '-t', s).catch(() => undefined);
    await docker(d, ['rm', '-f', 'tty1']);
  }
});

test('docker exec -it in a terminal: a tty of the client\'s size, exit code', async () => {
  const s = 'exec-it';
  const run = await docker(d, ['run', '-d', '--name', 'tty2', 'busybox', 'sleep', '1000']);
  assert.equal(run.code, 0, run.stderr);
  try {
    await tmuxDocker(s, ['exec', '-it', 'tty2', 'sh']);
    await waitPane(s, /^\/ #\s*$/m);
    await typeLine(s, 'stty size; tty; echo "T=$TERM"');
    const text = await waitPane(s, /^T=xterm\s*$/m);
    assert.match(text, /^30 100$/m);
    assert.match(text, /^\/dev\/pts\/\d+$/m);
    // SIGWINCH → POST /exec/{id}/resize → the session's own ctl FIFO.
    await tmux('resize-window', '-t', s, '-x', '80', '-y', '20');
    await sleep(500);
    await typeLine(s, 'stty size; echo "R=done"');
    assert.match(await waitPane(s, /^R=done\s*$/m), /^20 80$/m);
    await typeLine(s, 'exit 7');
    await waitPane(s, /EXIT=7/);
  } finally {
    await tmux('kill-session', '-t', s).catch(() => undefined);
    await docker(d, ['rm', '-f', 'tty2']);
  }
});

test('HostConfig.ConsoleSize sizes the terminal before the process runs', async () => {
  const create = await api(d.socket, 'POST', '/v1.51/containers/create', {
    Image: 'busybox', Cmd: ['stty', 'size'], Tty: true, HostConfig: { ConsoleSize: [22, 77] },
  });
  assert.equal(create.status, 201, create.body.toString());
  const id = create.json<{ Id: string }>().Id;
  try {
    assert.equal((await api(d.socket, 'POST', `/v1.51/containers/${id}/start`)).status, 204);
    const wait = await api(d.socket, 'POST', `/v1.51/containers/${id}/wait`);
    assert.equal(wait.json<{ StatusCode: number }>().StatusCode, 0);
    const logs = await api(d.socket, 'GET', `/v1.51/containers/${id}/logs?stdout=1`);
    assert.equal(logs.body.toString().trim(), '22 77');
  } finally {
    await api(d.socket, 'DELETE', `/v1.51/containers/${id}?force=1`);
  }
});

test('exec start ConsoleSize sizes the exec\'s terminal; output is raw with Tty', async () => {
  const run = await docker(d, ['run', '-d', '--name', 'tty3', 'busybox', 'sleep', '1000']);
  assert.equal(run.code, 0, run.stderr);
  try {
    const create = await api(d.socket, 'POST', '/v1.51/containers/tty3/exec', { AttachStdout: true, Tty: true, Cmd: ['stty', 'size'] });
    const id = create.json<{ Id: string }>().Id;
    const r = await api(d.socket, 'POST', `/v1.51/exec/${id}/start`, { Tty: true, ConsoleSize: [11, 44] });
    assert.equal(r.headers['content-type'], 'application/vnd.docker.raw-stream');
    assert.equal(r.body.toString(), '11 44\r\n');
    const info = (await api(d.socket, 'GET', `/v1.51/exec/${id}/json`)).json<{ ExitCode: number; Running: boolean }>();
    assert.equal(info.Running, false);
    assert.equal(info.ExitCode, 0);
  } finally {
    await docker(d, ['rm', '-f', 'tty3']);
  }
});

test('docker run -it: ctrl-p ctrl-q detaches and leaves the container running; attach --detach-keys comes back', async () => {
  const s = 'detach';
  const s2 = 'reattach';
  try {
    await tmuxDocker(s, ['run', '-it', '--name', 'tty4', 'busybox', 'sh']);
    await waitPane(s, /^\/ #\s*$/m);
    await tmux('send-keys', '-t', s, 'C-p', 'C-q');
    await waitPane(s, /EXIT=0/);
    const state = await docker(d, ['inspect', '-f', '{{.State.Status}}', 'tty4']);
    assert.equal(state.stdout.trim(), 'running');
    await tmuxDocker(s2, ['attach', '--detach-keys', 'ctrl-x', 'tty4']);
    // The shell is still there: attach's resize makes it redraw its prompt, and a command typed now runs in it.
    await waitPane(s2, /^\/ #/m);
    await typeLine(s2, 'echo back-$((1+1))');
    await waitPane(s2, /^back-2\s*$/m);
    await tmux('send-keys', '-t', s2, 'C-x');
    // docker attach reports a detach as the error "read escape sequence", status 1 (run -it exits 0).
    assert.match(await waitPane(s2, /EXIT=\d+/), /read escape sequence\s+EXIT=1/);
    assert.equal((await docker(d, ['inspect', '-f', '{{.State.Status}}', 'tty4'])).stdout.trim(), 'running');
  } finally {
    await tmux('kill-session', '-t', s).catch(() => undefined);
    await tmux('kill-session', '-t', s2).catch(() => undefined);
    await docker(d, ['rm', '-f', 'tty4']);
  }
});
