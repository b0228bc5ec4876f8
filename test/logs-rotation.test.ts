/**
 * Log drivers and rotation (issue 13, "logs never fill the disk"):
 * `--log-opt max-size/max-file/compress` bound a container's log in size
 * and number of files while it writes, `docker logs` (also `-f`, `--tail`)
 * reads across the rotated files with nothing lost in between, `none`
 * keeps nothing and says so as dockerd does, `local` has its own place and
 * defaults, bad options are refused at create with dockerd's messages, and
 * daemon.json's `log-driver`/`log-opts` are every container's defaults.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { api } from './helpers/http.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

/** Writes `n` numbered lines of ~100 bytes, pausing every 20 so rotations have time to land (conmon cuts, berth keeps). */
const writer = (n: number) =>
  `i=0; while [ $i -lt ${n} ]; do i=$((i+1)); echo "line $i ${'x'.repeat(80)}"; [ $((i % 20)) -eq 0 ] && usleep 100000; done; true`;

/** The numbers of `line N` output, checking each line whole. */
function numbers(out: string): number[] {
  return out.trim().split('\n').map((l) => {
    const m = /^line (\d+) x{80}$/.exec(l);
    assert.ok(m, `a whole line: ${JSON.stringify(l)}`);
    return Number(m[1]);
  });
}

/** Consecutive, ending at `last`. */
function assertSuffix(ns: number[], last: number): void {
  assert.equal(ns.at(-1), last);
  for (let i = 1; i < ns.length; i++) assert.equal(ns[i], ns[i - 1]! + 1, `no line lost between ${ns[i - 1]} and ${ns[i]}`);
}

async function logFilesOf(id: string, dir = ''): Promise<{ name: string; size: number }[]> {
  const base = path.join(d.dataRoot, 'containers', id, dir);
  const names = (await fsp.readdir(base)).filter((n) => n.includes('.log'));
  return Promise.all(names.sort().map(async (name) => ({ name, size: (await fsp.stat(path.join(base, name))).size })));
}

test('max-size/max-file bound the log while it is written; logs, --tail and -f read across the rotated files', async () => {
  const id = (await docker(d, ['run', '-d', '--log-opt', 'max-size=10k', '--log-opt', 'max-file=3', 'busybox', 'sh', '-c', writer(600)])).stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  // A follow sees every line from where it starts, through every rotation, until the exit.
  const f = await docker(d, ['logs', '-f', id]);
  assert.equal(f.code, 0, f.stderr);
  assert.equal((await docker(d, ['wait', id])).stdout.trim(), '0');
  // The follow may start after the first lines rotated out of the kept files; from there on, none is missing.
  assertSuffix(numbers(f.stdout), 600);

  const files = await logFilesOf(id);
  const names = files.map((x) => x.name).filter((n) => !n.endsWith('.hold'));
  assert.deepEqual(names, [`${id}-json.log`, `${id}-json.log.1`, `${id}-json.log.2`]);
  for (const x of files) assert.ok(x.size <= 10_000, `${x.name} is ${x.size} bytes, max-size is 10k (10 000 bytes)`);
  // ~130 bytes a record × 600: 78 kB written, three files of at most 10 kB kept.
  const kept = files.filter((x) => !x.name.endsWith('.hold')).reduce((s, x) => s + x.size, 0);
  assert.ok(kept <= 30_000 && kept > 20_000, `kept ${kept} bytes`);

  const all = numbers((await docker(d, ['logs', id])).stdout);
  assertSuffix(all, 600);
  // More lines than one file holds: the read crossed the rotated files.
  assert.ok(all.length > 10_000 / 130 * 2, `${all.length} lines`);
  assert.deepEqual(numbers((await docker(d, ['logs', '--tail', '100', id])).stdout), Array.from({ length: 100 }, (_, i) => 501 + i));
  const cfg = await docker(d, ['inspect', '-f', '{{json .HostConfig.LogConfig}} {{.LogPath}}', id]);
  assert.equal(cfg.stdout.trim(), `{"Type":"json-file","Config":{"max-file":"3","max-size":"10k"}} ${path.join(d.dataRoot, 'containers', id, `${id}-json.log`)}`);
  await docker(d, ['rm', id]);
});

/** The names of a log's files once no rotated file is left uncompressed (the last gzip may finish just after the exit). */
async function waitForGzip(id: string): Promise<string[]> {
  let names: string[] = [];
  for (let i = 0; i < 50; i++) {
    names = (await logFilesOf(id)).map((x) => x.name).filter((n) => !n.endsWith('.hold'));
    if (!names.some((n) => /\.\d+$/.test(n))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return names;
}

test('compress=true gzips rotated files; logs still reads them; a restart appends within the same bounds', async () => {
  const id = (await docker(d, ['run', '-d', '--log-opt', 'max-size=8k', '--log-opt', 'max-file=4', '--log-opt', 'compress=true', 'busybox', 'sh', '-c', writer(300)])).stdout.trim();
  assert.equal((await docker(d, ['wait', id])).stdout.trim(), '0');
  const names = await waitForGzip(id);
  assert.deepEqual(names, [`${id}-json.log`, `${id}-json.log.1.gz`, `${id}-json.log.2.gz`, `${id}-json.log.3.gz`]);
  assertSuffix(numbers((await docker(d, ['logs', id])).stdout), 300);

  // Started again: conmon appends to the old file (its own count starts at zero); berth rotates it in time,
  // and the kept files hold the second run's lines, whole and in order, within the same bounds.
  assert.equal((await docker(d, ['start', '-a', id])).code, 0);
  assertSuffix(numbers((await docker(d, ['logs', id])).stdout), 300);
  await waitForGzip(id);
  const files = (await logFilesOf(id)).filter((x) => !x.name.endsWith('.hold'));
  assert.ok(files.length <= 4, files.map((x) => x.name).join(' '));
  for (const x of files) assert.ok(x.size <= 8000, `${x.name}: ${x.size}`);
  await docker(d, ['rm', id]);
});

test('--log-driver none keeps nothing: logs answers dockerd\'s 501', async () => {
  const id = (await docker(d, ['run', '-d', '--log-driver', 'none', 'busybox', 'echo', 'hello'])).stdout.trim();
  assert.equal((await docker(d, ['wait', id])).stdout.trim(), '0');
  const r = await docker(d, ['logs', id]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /configured logging driver does not support reading/);
  const res = await api(d.socket, 'GET', `/containers/${id}/logs?stdout=1`);
  assert.equal(res.status, 501);
  assert.deepEqual(res.json(), { message: 'configured logging driver does not support reading' });
  const attach = await api(d.socket, 'POST', `/containers/${id}/attach?logs=1&stdout=1`);
  assert.equal(attach.status, 501);
  assert.deepEqual(await logFilesOf(id), []);
  const cfg = await docker(d, ['inspect', '-f', '{{json .HostConfig.LogConfig}} [{{.LogPath}}]', id]);
  assert.equal(cfg.stdout.trim(), '{"Type":"none","Config":{}} []');
  await docker(d, ['rm', id]);
});

test('--log-driver local: its own file (not shown as LogPath), 20 MB × 5 by default, logs reads it', async () => {
  const id = (await docker(d, ['run', '-d', '--log-driver', 'local', 'busybox', 'sh', '-c', 'echo out; echo err >&2'])).stdout.trim();
  assert.equal((await docker(d, ['wait', id])).stdout.trim(), '0');
  const r = await docker(d, ['logs', id]);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.deepEqual((await logFilesOf(id, 'local-logs')).map((x) => x.name).filter((n) => !n.endsWith('.hold')), ['container.log']);
  const cfg = await docker(d, ['inspect', '-f', '{{json .HostConfig.LogConfig}} [{{.LogPath}}]', id]);
  assert.equal(cfg.stdout.trim(), '{"Type":"local","Config":{}} []');
  await docker(d, ['rm', id]);
  // local with small files rotates as json-file does.
  const small = (await docker(d, ['run', '-d', '--log-driver', 'local', '--log-opt', 'max-size=6k', '--log-opt', 'max-file=2', '--log-opt', 'compress=false', 'busybox', 'sh', '-c', writer(200)])).stdout.trim();
  assert.equal((await docker(d, ['wait', small])).stdout.trim(), '0');
  const files = (await logFilesOf(small, 'local-logs')).filter((x) => !x.name.endsWith('.hold'));
  assert.deepEqual(files.map((x) => x.name), ['container.log', 'container.log.1']);
  for (const x of files) assert.ok(x.size <= 6000, `${x.name}: ${x.size}`);
  assertSuffix(numbers((await docker(d, ['logs', small])).stdout), 200);
  await docker(d, ['rm', small]);
});

test('bad log options are refused at create with dockerd\'s messages; nothing is created', async () => {
  const before = (await docker(d, ['ps', '-aq'])).stdout;
  const cases: [string[], RegExp][] = [
    [['--log-opt', 'max-size=abc'], /failed to initialize logging driver: invalid size: 'abc'/],
    [['--log-opt', 'max-size=0'], /max-size must be a positive number/],
    [['--log-opt', 'max-file=0'], /max-file cannot be less than 1/],
    [['--log-opt', 'max-file=x'], /strconv.Atoi: parsing "x": invalid syntax/],
    [['--log-opt', 'max-size=1m', '--log-opt', 'compress=true'], /compress cannot be true when max-file is less than 2 or max-size is not set/],
    [['--log-opt', 'compress=maybe'], /strconv.ParseBool: parsing "maybe": invalid syntax/],
    [['--log-opt', 'max-sizes=1m'], /unknown log opt 'max-sizes' for json-file log driver/],
    [['--log-driver', 'local', '--log-opt', 'labels=a'], /unknown log opt 'labels' for log driver local/],
    [['--log-driver', 'local', '--log-opt', 'max-file=1'], /compression cannot be enabled when max file count is 1/],
    [['--log-driver', 'local', '--log-opt', 'max-size=-1'], /invalid value for max-size: -1: invalid size: '-1'/],
    [['--log-driver', 'syslog'], /logging driver "syslog" is not supported by berth/],
  ];
  for (const [args, msg] of cases) {
    const r = await docker(d, ['create', ...args, 'busybox', 'true']);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, msg, args.join(' '));
  }
  const res = await api(d.socket, 'POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': '10q' } } } });
  assert.equal(res.status, 400);
  assert.equal((await docker(d, ['ps', '-aq'])).stdout, before);
  // Units as go-units FromHumanSize reads them (decimal): accepted.
  for (const size of ['100', '10k', '10m', '1g', '1.5M', '2kb']) {
    const r = await docker(d, ['create', '--log-opt', `max-size=${size}`, 'busybox', 'true']);
    assert.equal(r.code, 0, `${size}: ${r.stderr}`);
    await docker(d, ['rm', r.stdout.trim()]);
  }
});

test('daemon.json log-driver/log-opts are the defaults; a container of another driver does not inherit them; bad ones stop the daemon', async () => {
  const cfgFile = path.join(d.dir, 'daemon-logs.json');
  await fsp.writeFile(cfgFile, JSON.stringify({ 'log-driver': 'json-file', 'log-opts': { 'max-size': '5k', 'max-file': '2' } }));
  const { startDaemonWithBusybox: start } = await import('./helpers/daemon.js');
  const d2 = await start(['--config-file', cfgFile]);
  try {
    assert.equal((await docker(d2, ['info', '-f', '{{.LoggingDriver}}'])).stdout.trim(), 'json-file');
    const id = (await docker(d2, ['run', '-d', 'busybox', 'sh', '-c', writer(200)])).stdout.trim();
    assert.equal((await docker(d2, ['wait', id])).stdout.trim(), '0');
    assert.equal((await docker(d2, ['inspect', '-f', '{{json .HostConfig.LogConfig.Config}}', id])).stdout.trim(), '{"max-file":"2","max-size":"5k"}');
    const files = (await fsp.readdir(path.join(d2.dataRoot, 'containers', id))).filter((n) => n.includes('-json.log') && !n.endsWith('.hold')).sort();
    assert.deepEqual(files, [`${id}-json.log`, `${id}-json.log.1`]);
    // The container's own option wins; the others still come from the daemon.
    const own = (await docker(d2, ['create', '--log-opt', 'max-file=3', 'busybox', 'true'])).stdout.trim();
    assert.equal((await docker(d2, ['inspect', '-f', '{{json .HostConfig.LogConfig.Config}}', own])).stdout.trim(), '{"max-file":"3","max-size":"5k"}');
    const local = (await docker(d2, ['create', '--log-driver', 'local', 'busybox', 'true'])).stdout.trim();
    assert.equal((await docker(d2, ['inspect', '-f', '{{json .HostConfig.LogConfig}}', local])).stdout.trim(), '{"Type":"local","Config":{}}');
  } finally {
    await d2.cleanup();
  }
  await fsp.writeFile(cfgFile, JSON.stringify({ 'log-opts': { 'max-file': 'many' } }));
  await assert.rejects(start(['--config-file', cfgFile]), /failed to set log opts: failed to initialize logging driver: strconv.Atoi: parsing "many": invalid syntax/);
});
