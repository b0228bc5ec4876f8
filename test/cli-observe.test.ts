/**
 * The berth CLI's stats and events against a real berthd, side by side with
 * the docker CLI: stats --no-stream tables and --format json (CPU % aside,
 * which moves between two samplings), the streaming redraw, errors; events
 * over a fixed --since/--until window with filters and formats, and live.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import { BERTH, berth, docker, startDaemonWithBusybox, type RunResult, type TestDaemon } from './helpers/daemon.js';

let d: TestDaemon;
const ids: Record<string, string> = {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  d = await startDaemonWithBusybox();
  for (const [name, args] of [
    ['obs-idle', ['run', '-d', '--name', 'obs-idle', '-m', '64m', 'busybox', 'sleep', '1000']],
    ['obs-busy', ['run', '-d', '--name', 'obs-busy', 'busybox', 'sh', '-c', 'while :; do :; done']],
    ['obs-created', ['create', '--name', 'obs-created', 'busybox', 'true']],
  ] as const) {
    const r = await docker(d, [...args]);
    assert.equal(r.code, 0, r.stderr);
    ids[name] = r.stdout.trim();
  }
});

after(async () => {
  for (const c of ['obs-idle', 'obs-busy', 'obs-created', 'obs-evt', 'obs-cpu']) await docker(d, ['rm', '-f', c]).catch(() => undefined);
  await d?.cleanup();
});

/**
 * A table's cells, with what moves between two samplings masked: CPU %,
 * memory in use and MEM % (the padding that depends on them goes with the split).
 */
function steadyTable(out: string): string[][] {
  return out
    .trimEnd()
    .split('\n')
    .map((l, i) => l.split(/ {2,}/).map((c, j) => (i === 0 ? c : j === 2 || j === 4 ? 'N%' : j === 3 ? c.replace(/^\S+/, 'M') : c)));
}

function asBerth(r: RunResult): RunResult {
  return { ...r, stderr: r.stderr.replace(/\bdocker\b/g, 'berth') };
}

test('berth stats --no-stream prints docker\'s table for the running containers (-a: all)', async () => {
  const b = await berth(d, ['stats', '--no-stream']);
  const k = await docker(d, ['stats', '--no-stream']);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stdout.split('\n')[0], 'CONTAINER ID   NAME       CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS');
  assert.deepEqual(steadyTable(b.stdout), steadyTable(k.stdout));
  const rows = steadyTable(b.stdout).slice(1);
  // Newest first, as the container list comes.
  assert.deepEqual(rows.map((r) => r.slice(0, 2)), [[ids['obs-busy']!.slice(0, 12), 'obs-busy'], [ids['obs-idle']!.slice(0, 12), 'obs-idle']]);
  // The idle one's memory limit is its own; both run one process.
  const raw = b.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/ {2,}/));
  assert.match(raw[1]![3]!, /^\d+(\.\d+)?[KM]iB \/ 64MiB$/);
  assert.deepEqual(rows.map((r) => r[7]), ['1', '1']);
  // The busy loop shows up in CPU %: docker's delta between two samples a second apart.
  assert.ok(Number(raw[0]![2]!.replace('%', '')) > 20, b.stdout);

  const all = await berth(d, ['stats', '--no-stream', '-a', '--no-trunc']);
  const allK = await docker(d, ['stats', '--no-stream', '-a', '--no-trunc']);
  assert.deepEqual(steadyTable(all.stdout), steadyTable(allK.stdout));
  assert.ok(steadyTable(all.stdout).some((r) => r.join('|') === `${ids['obs-created']}|obs-created|N%|M / 0B|N%|0B / 0B|0B / 0B|0`), all.stdout);
});

/** GET on berthd's socket, the body parsed as JSON. */
interface StatsDoc {
  read: string;
  preread: string;
  cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage: number; online_cpus: number };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage: number };
}

function getJson(path: string): Promise<StatsDoc> {
  return new Promise((resolve, reject) => {
    http.get({ socketPath: d.socket, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as StatsDoc));
    }).on('error', reject);
  });
}

/** CPU time of a host process in seconds (utime + stime from /proc/<pid>/stat, 100 ticks a second). */
async function cpuSeconds(pid: number): Promise<number> {
  const f = (await fsp.readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

test('one-shot stats pair with a kept sample: CPU % of a busy loop is what the process used, measured apart', async () => {
  // A container of its own: no earlier test has asked for its stats.
  const r = await docker(d, ['run', '-d', '--name', 'obs-cpu', 'busybox', 'sh', '-c', 'while :; do :; done']);
  assert.equal(r.code, 0, r.stderr);
  await sleep(500);
  const insp = JSON.parse((await docker(d, ['inspect', 'obs-cpu'])).stdout)[0] as { State: { Pid: number; StartedAt: string } };
  const pid = insp.State.Pid;
  // The docker CLI's computation (cli/command/container/stats_helpers.go).
  const percent = (s: StatsDoc) => {
    const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
    const sysDelta = s.cpu_stats.system_cpu_usage - s.precpu_stats.system_cpu_usage;
    return (cpuDelta / sysDelta) * s.cpu_stats.online_cpus * 100;
  };
  const startMs = Date.parse(insp.State.StartedAt);
  const used0 = await cpuSeconds(pid);
  const t0 = Date.now();
  // The first request has no earlier sample: it measures against the container's start.
  const first = await getJson('/containers/obs-cpu/stats?stream=false');
  assert.equal(first.preread, insp.State.StartedAt);
  const expectFirst = (used0 / ((t0 - startMs) / 1000)) * 100;
  assert.ok(Math.abs(percent(first) - expectFirst) < 25, `first: ${percent(first)} vs ${expectFirst}`);

  await sleep(1500);
  const used1 = await cpuSeconds(pid);
  const t1 = Date.now();
  // The docker CLI's --no-stream table: one request, measured against the sample above.
  const k = await docker(d, ['stats', '--no-stream', '--format', '{{.CPUPerc}}', 'obs-cpu']);
  assert.equal(k.code, 0, k.stderr);
  const expect = ((used1 - used0) / ((t1 - t0) / 1000)) * 100;
  // The loop ran (on a loaded machine it may get less than a whole CPU), and docker shows what it used.
  assert.ok(expect > 30, `busy loop used ${expect}%`);
  const shown = Number(k.stdout.trim().replace('%', ''));
  assert.ok(Math.abs(shown - expect) < 25, `docker stats shows ${shown}%, the process used ${expect}%`);

  // The raw document: precpu is the kept sample (read at least half a second earlier), not zero.
  const doc = await getJson('/containers/obs-cpu/stats?stream=false');
  const windowMs = Date.parse(doc.read) - Date.parse(doc.preread);
  assert.ok(windowMs >= 500, JSON.stringify({ read: doc.read, preread: doc.preread }));
  assert.ok(doc.precpu_stats.system_cpu_usage > 0 && doc.precpu_stats.cpu_usage.total_usage > 0, JSON.stringify(doc.precpu_stats));
  // one-shot=true stays one bare sample, as dockerd.
  const bare = await getJson('/containers/obs-cpu/stats?stream=false&one-shot=true');
  assert.equal(bare.preread, '0001-01-01T00:00:00Z');
  assert.equal(bare.precpu_stats.cpu_usage.total_usage, 0);
});

test('berth stats --format: json, table templates and template errors as docker', async () => {
  const b = await berth(d, ['stats', '--no-stream', '--format', 'json', 'obs-idle', 'obs-created']);
  const k = await docker(d, ['stats', '--no-stream', '--format', 'json', 'obs-idle', 'obs-created']);
  assert.equal(b.code, 0, b.stderr);
  const parse = (s: string) => s.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  const bj = parse(b.stdout);
  assert.deepEqual(bj.map((o) => Object.keys(o)), bj.map(() => ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs']));
  const noCpu = (o: Record<string, string>) => ({ ...o, CPUPerc: '', MemUsage: o.MemUsage!.replace(/^\S+/, 'M'), MemPerc: '' });
  assert.deepEqual(bj.map(noCpu), parse(k.stdout).map(noCpu));
  assert.deepEqual(bj[1], { BlockIO: '0B / 0B', CPUPerc: '0.00%', Container: 'obs-created', ID: ids['obs-created']!.slice(0, 12), MemPerc: '0.00%', MemUsage: '0B / 0B', Name: 'obs-created', NetIO: '0B / 0B', PIDs: '0' });

  const t = ['stats', '--no-stream', '--format', 'table {{.Container}}\t{{.Name}}\t{{.PIDs}}', 'obs-idle'];
  assert.deepEqual(await berth(d, t), await docker(d, t));
  assert.deepEqual((await berth(d, t)).stdout, 'CONTAINER   NAME       PIDS\nobs-idle    obs-idle   1\n');
  const bad = ['stats', '--no-stream', '--format', '{{.Container}} {{.Bad}}', 'obs-idle'];
  const badB = await berth(d, bad);
  assert.deepEqual(badB, await docker(d, bad));
  assert.equal(badB.code, 1);
  const missing = ['stats', '--no-stream', 'nosuch', 'obs-idle'];
  assert.deepEqual(await berth(d, missing), { code: 1, stdout: '', stderr: 'Error response from daemon: No such container: nosuch\n' });
  assert.deepEqual(await berth(d, missing), asBerth(await docker(d, missing)));
});

test('berth stats streams with docker\'s redraw sequence until interrupted', async () => {
  const header = 'CONTAINER ID   NAME       CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS';
  // Both CLIs, stopped by SIGKILL after a few redraws.
  for (const cli of [berth, docker]) {
    const r = await cli(d, ['stats', 'obs-idle'], { timeoutMs: 2300 });
    const frames = r.stdout.split('\x1b[J').filter(Boolean);
    assert.ok(frames.length >= 2, JSON.stringify(r.stdout));
    // "\e[H" and the table, then the same lines again, each ending " \e[K", and "\e[J" (split off above).
    const home = '\x1b[H';
    const last = frames.at(-1)!;
    assert.ok(last.startsWith(home), JSON.stringify(last));
    const table = last.slice(home.length, last.indexOf(home, home.length));
    assert.equal(last, home + table + (home + table).split('\n').map((l) => `${l} \x1b[K\n`).join(''));
    assert.ok(table.startsWith(`${header}\n${ids['obs-idle']!.slice(0, 12)}   obs-idle   `), table);
    assert.equal(table.split('\n').length, 3);
  }
  // A stopped container's stream ends at once: docker reports that as EOF.
  assert.deepEqual(await berth(d, ['stats', 'obs-created'], { timeoutMs: 5000 }), { code: 1, stdout: '', stderr: 'EOF\n' });
});

test('berth events over a --since/--until window: docker\'s lines, filters and formats', async () => {
  const since = String(Math.floor(Date.now() / 1000) - 1);
  const created = await docker(d, ['create', '--name', 'obs-evt', '--label', 'team=blue', 'busybox', 'sh', '-c', 'exit 2']);
  assert.equal(created.code, 0, created.stderr);
  const evtId = created.stdout.trim();
  assert.equal((await docker(d, ['start', '-a', 'obs-evt'])).code, 2);
  assert.equal((await docker(d, ['rm', 'obs-evt'])).code, 0);
  // --until is sent in whole seconds: let this one pass.
  await sleep(1100);
  const until = String(Math.floor(Date.now() / 1000));
  const window = ['--since', since, '--until', until];
  const cases: string[][] = [
    ['events', ...window],
    ['events', ...window, '--filter', 'container=obs-evt'],
    ['events', ...window, '-f', 'event=die', '--format', '{{.Actor.Attributes.exitCode}} {{.Actor.Attributes.team}} {{.From}}'],
    ['events', ...window, '--filter', 'type=container', '--format', 'json'],
    ['events', ...window, '--filter', 'type=container', '--format', '{{.}}'],
    ['events', ...window, '--filter', 'label=team=blue', '--format', '{{.Time}} {{.TimeNano}} {{.Actor}} {{json .Actor.Attributes}} {{.Actor.Attributes.nope}}'],
    ['system', 'events', ...window, '--filter', 'event=start'],
  ];
  for (const args of cases) {
    const b = await berth(d, args);
    assert.deepEqual(b, await docker(d, args), args.join(' '));
    assert.equal(b.code, 0, b.stderr);
    assert.notEqual(b.stdout, '', args.join(' '));
  }
  const lines = (await berth(d, ['events', ...window, '--filter', 'container=obs-evt'])).stdout.trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(' ').slice(1, 4).join(' ')), ['create', 'start', 'die', 'destroy'].map((a) => `container ${a} ${evtId}`));
  assert.match(lines[2]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container die [0-9a-f]{64} \(exitCode=2, image=busybox, name=obs-evt, team=blue\)$/);
  const die = await berth(d, ['events', ...window, '-f', 'event=die', '--format', '{{.Actor.Attributes.exitCode}} {{.Actor.Attributes.team}} {{.From}}']);
  assert.equal(die.stdout, '2 blue busybox\n');
});

test('berth events fails like docker: bad times, filters and templates', async () => {
  for (const args of [
    ['events', '--since', 'yesterday'],
    ['events', '--since', '1m', '--until', '0s', '--format', '{{.Bad}}'],
    ['events', '--since', '1m', '--until', '0s', '--format', '{{.Type'],
    ['events', '--since', '1m', '--until', '0s', '--filter', 'nosuch=x'],
    ['events', '--since', '1m', '--until', '0s', '--filter', 'novalue'],
    ['events', 'extra'],
  ]) {
    const b = await berth(d, args);
    assert.deepEqual(b, asBerth(await docker(d, args)), args.join(' '));
    assert.notEqual(b.code, 0);
  }
  assert.equal((await berth(d, ['events', '--format', '{{.Bad}}'])).code, 64);
});

test('berth events streams live events as they happen', async (t) => {
  const p = spawn(process.execPath, ['--', BERTH, 'events', '--filter', 'type=container', '--format', '{{.Action}} {{.Actor.Attributes.name}}'], {
    env: { ...process.env, BERTH_HOST: d.host },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => p.kill('SIGKILL'));
  let out = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await sleep(700);
  assert.equal((await docker(d, ['run', '--rm', '--name', 'obs-live', 'busybox', 'true'])).code, 0);
  for (let i = 0; i < 50 && !out.includes('destroy obs-live'); i++) await sleep(100);
  assert.deepEqual(out.trim().split('\n'), ['create obs-live', 'start obs-live', 'die obs-live', 'destroy obs-live']);
});
