/**
 * Benchmark: `docker run --rm busybox true` end to end through the real
 * docker CLI, against a berthd started here (temporary roots) and, when
 * DOCKER_PEER_HOST is set, against that peer engine in the same run; beside
 * them, measured in the same run:
 *
 * - the floor: conmon running `runc create`, then `runc start`, the exit
 *   file, `runc delete`, on a bundle of the same busybox rootfs with the
 *   config.json berth generated for a container of this image;
 * - the docker CLI's own cost: a CLI process making one round trip
 *   (`docker version`: /_ping and /version), plus /_ping round trips for
 *   the rest of the requests a `run --rm` makes (counted from berthd's log);
 * - berthd's breakdown: the trace lines --debug logs (engine/trace.ts),
 *   phases averaged per run.
 *
 * - N detached containers (`run -d … sleep`, BENCH_DETACHED, default 50; 0
 *   skips it) started one CLI call after another, on berth and on the peer:
 *   the total, then they are removed (not timed).
 *
 *   npm run build && node dist/bench/run-rm.js [runs]
 *
 * BENCH_NETWORK=bridge runs both on their default bridge network (berth with
 * a bridge of its own, no masquerading or forwarding); otherwise both run
 * with --network none. BENCH_NETWORK=both: berth alone, `run --rm` with
 * --network none and on the bridge one after the other in the same daemon,
 * N of each; the median of the pairs' differences is what the bridge costs,
 * with little of the drift a shared machine's load gives two separate runs. The peer needs a `busybox` image already (e.g.
 * `docker import rootfs.tar busybox`) and, for the bridge, its docker0.
 */
import { performance } from 'node:perf_hooks';
import { spawn, execFile } from 'node:child_process';
import { promises as fsp, watch } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { docker, startDaemon, type TestDaemon } from '../test/helpers/daemon.js';
import { restoreHostNet, snapshotHostNet } from '../test/helpers/network.js';
import { busyboxRootfs } from '../test/helpers/rootfs.js';
import { parseTraceLine } from '../src/engine/trace.js';

const sh = promisify(execFile);
const RUNC = '/usr/sbin/runc';
const CONMON = '/usr/bin/conmon';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const fmt = (xs: number[]) => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, n=${xs.length})`;

async function measure(host: string, runs: number, extra: string[] = []): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.now();
    const r = await docker({ host }, ['run', '--rm', ...extra, 'busybox', 'true']);
    const dt = performance.now() - t0;
    if (r.code !== 0) throw new Error(`run failed on ${host}: ${r.stderr}`);
    if (i >= 2) times.push(dt); // two warm-up runs
  }
  return times;
}

/**
 * N detached `sleep` containers started one CLI call after another; the total
 * time, and the median start of the first and of the last tenth (does a start
 * slow as containers accumulate?). They are removed afterwards.
 */
async function detached(host: string, n: number, extra: string[]): Promise<{ total: number; first: number; last: number }> {
  const ids: string[] = [];
  const each: number[] = [];
  try {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const t1 = performance.now();
      const r = await docker({ host }, ['run', '-d', ...extra, 'busybox', 'sleep', '3600']);
      if (r.code !== 0) throw new Error(`run -d failed on ${host}: ${r.stderr}`);
      each.push(performance.now() - t1);
      ids.push(r.stdout.trim());
    }
    const tenth = Math.max(1, Math.floor(n / 10));
    return { total: performance.now() - t0, first: median(each.slice(0, tenth)), last: median(each.slice(-tenth)) };
  } finally {
    if (ids.length) await docker({ host }, ['rm', '-f', ...ids]);
  }
}

/** The parts of an OCI spec the floor changes. */
interface Spec {
  root: { path: string };
  process: { args: string[] };
  linux: Record<string, unknown>;
}

/** The spec berth generates for `busybox true` (--network none), taken from a running container's bundle, on a plain copy of the rootfs. */
async function floorSpec(d: TestDaemon, work: string): Promise<{ spec: Spec; cleanup: () => Promise<void> }> {
  const { dir } = await busyboxRootfs();
  const rootfs = path.join(work, 'rootfs');
  await sh('cp', ['-a', path.join(dir, 'rootfs'), rootfs]);
  const id = (await docker(d, ['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000'])).stdout.trim();
  const spec = JSON.parse(await fsp.readFile(path.join(d.execRoot, 'containers', id, 'config.json'), 'utf8')) as Spec;
  spec.root.path = rootfs;
  spec.process.args = ['true'];
  // Its /etc files (hosts, hostname, resolv.conf) stay under the data root while that container exists.
  return { spec, cleanup: async () => void (await docker(d, ['rm', '-f', id])) };
}

/** One floor run: conmon (runc create) → runc start → exit file → runc delete. */
async function floorRun(work: string, spec: Spec, n: number): Promise<number> {
  const id = `berthfloor${n}`.padEnd(64, '0');
  const bundle = path.join(work, `b${n}`);
  const exits = path.join(work, 'exits');
  const runcRoot = path.join(work, 'runc');
  await fsp.mkdir(bundle, { recursive: true });
  await fsp.mkdir(exits, { recursive: true });
  await fsp.mkdir(path.join(work, 's'), { recursive: true });
  await fsp.writeFile(path.join(bundle, 'config.json'), JSON.stringify({ ...spec, linux: { ...spec.linux, cgroupsPath: `/berthfloor/${id}` } }));
  const exited = new Promise<void>((resolve) => {
    const w = watch(exits, (_e, name) => {
      if (name === id) {
        w.close();
        resolve();
      }
    });
  });
  const t0 = performance.now();
  const child = spawn(
    CONMON,
    ['--api-version', '1', '-c', id, '-u', id.slice(0, 16), '-r', RUNC, '-b', bundle, '-p', path.join(bundle, 'pidfile'), '-n', id,
      '--exit-dir', exits, '--socket-dir-path', path.join(work, 's'), '-l', `k8s-file:${path.join(bundle, 'log')}`, '--log-level', 'error',
      '--conmon-pidfile', path.join(bundle, 'conmon.pid'), '--persist-dir', bundle, '--runtime-arg', `--root=${runcRoot}`],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: { _OCI_SYNCPIPE: '3', PATH: process.env.PATH ?? '' }, detached: true, cwd: bundle },
  );
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  // conmon reports the PID on the sync pipe once `runc create` is done.
  await new Promise<void>((resolve, reject) => {
    (child.stdio[3] as NodeJS.ReadableStream).once('data', (b: Buffer) => (/"data": *[1-9]/.test(b.toString()) ? resolve() : reject(new Error(`floor: ${b.toString()} ${stderr}`))));
    child.once('error', reject);
    setTimeout(() => reject(new Error(`floor: no answer from conmon: ${stderr}`)), 20_000).unref();
  });
  child.stderr!.destroy();
  child.unref();
  (child.stdio[3] as NodeJS.ReadableStream & { destroy(): void }).destroy();
  await sh(RUNC, [`--root=${runcRoot}`, 'start', id]);
  await exited;
  await sh(RUNC, [`--root=${runcRoot}`, 'delete', id]);
  const ms = performance.now() - t0;
  await fsp.rm(bundle, { recursive: true, force: true });
  await fsp.rm(path.join(exits, id), { force: true });
  return ms;
}

function pingOnce(socket: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request({ socketPath: socket, path: '/_ping', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Phases of berthd's trace lines logged after `mark`, averaged over `runs`, by trace name. */
function breakdown(log: string, runs: number): Map<string, { total: number; count: number; phases: Record<string, number> }> {
  const out = new Map<string, { total: number; count: number; phases: Record<string, number> }>();
  for (const line of log.split('\n')) {
    const t = parseTraceLine(line);
    if (!t) continue;
    const e = out.get(t.name) ?? { total: 0, count: 0, phases: {} };
    e.total += t.totalMs / runs;
    e.count += 1;
    for (const [k, v] of Object.entries(t.phases)) e.phases[k] = (e.phases[k] ?? 0) + v / runs;
    out.set(t.name, e);
  }
  return out;
}

/** BENCH_NETWORK=both: none and bridge alternating in one daemon; what the bridge adds, pair by pair. */
async function both(runs: number): Promise<void> {
  const hostNet = await snapshotHostNet();
  const d = await startDaemon(['--bridge', 'btbench0', '--bip', '10.239.0.1/24', '--ip-masq=false', '--ip-forward=false']);
  try {
    const { tar } = await busyboxRootfs();
    await docker(d, ['import', tar, 'busybox']);
    await measure(d.host, 0, ['--network', 'none']);
    await measure(d.host, 0, ['--network', 'bridge']);
    const load = (await fsp.readFile('/proc/loadavg', 'utf8')).split(' ')[0];
    const none: number[] = [];
    const bridge: number[] = [];
    // Each run's trace lines (its requests, and its exit, logged before the CLI sees the removal), by network.
    const logs: Record<string, string> = { none: '', bridge: '' };
    let mark = (await d.log()).length;
    for (let i = 0; i < runs; i++) {
      // Which goes first alternates too: a pair's second run follows its first's cleanup.
      const order = i % 2 === 0 ? ['none', 'bridge'] : ['bridge', 'none'];
      for (const net of order) {
        const t0 = performance.now();
        const r = await docker(d, ['run', '--rm', '--network', net, 'busybox', 'true']);
        if (r.code !== 0) throw new Error(`run failed: ${r.stderr}`);
        (net === 'none' ? none : bridge).push(performance.now() - t0);
        const log = await d.log();
        logs[net] += log.slice(mark);
        mark = log.length;
      }
    }
    console.log(`machine load (1 min): ${load} at the start, ${(await fsp.readFile('/proc/loadavg', 'utf8')).split(' ')[0]} at the end`);
    console.log(`berth   run --rm --network none busybox true:   ${fmt(none)}`);
    console.log(`berth   run --rm --network bridge busybox true: ${fmt(bridge)}`);
    const diff = median(bridge.map((b, i) => b - none[i]!));
    console.log(`bridge - none: ${diff >= 0 ? '+' : ''}${diff.toFixed(0)} ms (median of ${runs} pairs; difference of medians ${(median(bridge) - median(none)).toFixed(0)} ms)`);
    for (const net of ['none', 'bridge']) {
      console.log(`berthd's start and exit on ${net} (ms, mean of ${runs} runs):`);
      for (const [name, e] of breakdown(logs[net]!, runs)) {
        if (!/start|exit/.test(name)) continue;
        const phases = Object.entries(e.phases).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
        console.log(`  ${name.padEnd(32)} ${e.total.toFixed(1).padStart(6)}  ${phases}`);
      }
    }
  } finally {
    await d.cleanup();
    await restoreHostNet(hostNet, 'btbench0');
  }
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 20);
  if (process.env.BENCH_NETWORK === 'both') return both(runs);
  const nDetached = Number(process.env.BENCH_DETACHED ?? 50);
  const bridge = process.env.BENCH_NETWORK === 'bridge';
  const hostNet = await snapshotHostNet();
  const d = await startDaemon(bridge ? ['--bridge', 'btbench0', '--bip', '10.239.0.1/24', '--ip-masq=false', '--ip-forward=false'] : []);
  const net = bridge ? 'bridge' : 'none';
  const work = await fsp.mkdtemp(path.join(d.dir, 'floor-'));
  let floorCleanup: (() => Promise<void>) | undefined;
  try {
    const { tar } = await busyboxRootfs();
    await docker(d, ['import', tar, 'busybox']);
    // berth, with the trace lines of the measured runs.
    const warm = await measure(d.host, 0, ['--network', net]);
    void warm;
    const mark = (await d.log()).length;
    const berth = await measure(d.host, runs, ['--network', net]);
    // Let the last exit's trace reach the log.
    await new Promise((r) => setTimeout(r, 300));
    const traces = breakdown((await d.log()).slice(mark), runs + 2);
    const requestsPerRun = [...traces.entries()].filter(([k]) => k !== 'exit').reduce((n, [, v]) => n + v.count, 0) / (runs + 2);

    // The floor, on the spec berth generated.
    const fs = await floorSpec(d, work);
    floorCleanup = fs.cleanup;
    const floor: number[] = [];
    for (let i = 0; i < runs + 2; i++) {
      const ms = await floorRun(work, fs.spec, i);
      if (i >= 2) floor.push(ms);
    }

    // The docker CLI's own cost: one process with one round trip, plus the rest as /_ping round trips.
    const cliProc: number[] = [];
    const pings: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await docker(d, ['version', '--format', '{{.Server.Version}}']);
      cliProc.push(performance.now() - t0);
      pings.push(await pingOnce(d.socket));
    }
    const extraTrips = Math.max(0, Math.round(requestsPerRun) + 1 - 2);
    const cli = median(cliProc) + extraTrips * median(pings);

    console.log(`machine load (1 min): ${(await fsp.readFile('/proc/loadavg', 'utf8')).split(' ')[0]}`);
    console.log(`berth   run --rm --network ${net} busybox true: ${fmt(berth)}`);
    console.log(`floor   conmon+runc create/start/exit/delete:  ${fmt(floor)}`);
    console.log(`cli     docker CLI process + ${Math.round(requestsPerRun) + 1} round trips: ~${cli.toFixed(0)} ms (process with 2 trips ${median(cliProc).toFixed(0)} ms, /_ping ${median(pings).toFixed(2)} ms)`);
    console.log(`ratio berth/floor: ${(median(berth) / median(floor)).toFixed(2)}; (berth - cli)/floor: ${((median(berth) - cli) / median(floor)).toFixed(2)}`);
    const peer = process.env.DOCKER_PEER_HOST;
    if (peer) {
      const p = await measure(peer, runs, ['--network', net]);
      console.log(`peer    run --rm --network ${net} busybox true: ${fmt(p)}`);
      console.log(`ratio berth/peer: ${(median(berth) / median(p)).toFixed(2)}; peer/floor: ${(median(p) / median(floor)).toFixed(2)}`);
    }
    if (nDetached > 0) {
      const each = (x: { first: number; last: number }) => `(first tenth ${x.first.toFixed(0)} ms each, last tenth ${x.last.toFixed(0)} ms)`;
      const b = await detached(d.host, nDetached, ['--network', net]);
      console.log(`berth   ${nDetached} × run -d --network ${net}, one after another: ${(b.total / 1000).toFixed(2)} s ${each(b)}`);
      if (peer) {
        const p = await detached(peer, nDetached, ['--network', net]);
        console.log(`peer    ${nDetached} × run -d --network ${net}, one after another: ${(p.total / 1000).toFixed(2)} s ${each(p)}; ratio berth/peer ${(b.total / p.total).toFixed(2)}`);
      }
    }
    if (!peer) {
      console.log('(set DOCKER_PEER_HOST to compare with a real dockerd)');
    }
    console.log(`berthd's time per run, from its trace lines (ms, mean of ${runs + 2} runs; a phase is its own time, other = not in a span):`);
    for (const [name, e] of traces) {
      const phases = Object.entries(e.phases).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
      console.log(`  ${name.padEnd(32)} ${e.total.toFixed(1).padStart(6)}  ${phases}`);
    }
  } finally {
    await floorCleanup?.().catch(() => undefined);
    await d.cleanup();
    if (bridge) await restoreHostNet(hostNet, 'btbench0');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
