/**
 * Benchmark (issue: speed, stats): one-shot stats and the cost of streaming
 * them, against a berthd started here and, when DOCKER_PEER_HOST is a unix
 * socket, that peer engine in the same run:
 *
 * - `GET /containers/{id}/stats?stream=false` over the API, request to last
 *   byte, for each of a few running containers (the first request for a
 *   container apart: berth pairs it with the container's start, later ones
 *   with a kept sample); dockerd's `one-shot=true` beside, for reference;
 * - `docker stats --no-stream` of those containers, end to end through the
 *   docker CLI;
 * - CPU used by the engine while `docker stats` (streaming, every running
 *   container) runs against 100 running containers: berthd with the
 *   processes it reaped; for the peer dockerd, its containerd and the
 *   containerd shims of its containers (all of them take part in stats).
 *
 *   npm run build && node dist/bench/stats.js [containers for the stream, default 100]
 *
 * All containers run `sleep` with --network none. The peer needs a `busybox`
 * image already (e.g. `docker import rootfs.tar busybox`).
 */
import { performance } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import { DOCKER, docker, startDaemon } from '../test/helpers/daemon.js';
import { busyboxRootfs } from '../test/helpers/rootfs.js';

/** Containers timed one by one for the one-shot figures. */
const FEW = 5;
/** One-shot requests per container (after the first). */
const REPEAT = 5;
/** Seconds of `docker stats` streaming over which CPU is counted. */
const STREAM_SECONDS = 20;
const CLK_TCK = 100;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const fmt = (xs: number[]) => `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}, n=${xs.length})`;

async function load(): Promise<string> {
  return (await fsp.readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
}

function getTimed(socket: string, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http.get({ socketPath: socket, path: urlPath }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`${urlPath}: ${res.statusCode}`))));
    }).on('error', reject);
  });
}

/** Starts n detached sleep containers, `parallel` CLI calls at a time; their IDs. */
async function startMany(host: string, n: number, parallel = 4): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        next++;
        const r = await docker({ host }, ['run', '-d', '--network', 'none', 'busybox', 'sleep', '3600']);
        if (r.code !== 0) throw new Error(`run -d on ${host}: ${r.stderr}`);
        ids.push(r.stdout.trim());
      }
    }),
  );
  return ids;
}

/** User + system CPU ticks of a process, with (`children`) the ticks of the children it reaped. */
async function cpuTicks(pid: number, children: boolean): Promise<number> {
  const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return 0;
  // Fields after the command (which may hold spaces) start at field 3.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return f[11]! + f[12]! + (children ? f[13]! + f[14]! : 0);
}

/** PIDs whose command line contains `needle`. */
async function pidsWith(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await fsp.readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const cmd = await fsp.readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(needle)) out.push(Number(e));
  }
  return out;
}

async function oneShot(name: string, host: string, ids: string[]): Promise<Record<string, number>> {
  const socket = host.replace(/^unix:\/\//, '');
  const first: number[] = [];
  const later: number[] = [];
  for (const id of ids) first.push(await getTimed(socket, `/containers/${id}/stats?stream=false`));
  for (let i = 0; i < REPEAT; i++) for (const id of ids) later.push(await getTimed(socket, `/containers/${id}/stats?stream=false`));
  console.log(`${name.padEnd(6)} stats?stream=false, first per container: ${fmt(first)}`);
  console.log(`${name.padEnd(6)} stats?stream=false, later:               ${fmt(later)}`);
  const oneShotTimes: number[] = [];
  for (const id of ids) oneShotTimes.push(await getTimed(socket, `/containers/${id}/stats?stream=false&one-shot=true`));
  console.log(`${name.padEnd(6)} stats?stream=false&one-shot=true:        ${fmt(oneShotTimes)}`);
  const cli: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = await docker({ host }, ['stats', '--no-stream', ...ids]);
    if (r.code !== 0) throw new Error(`stats --no-stream on ${host}: ${r.stderr}`);
    cli.push(performance.now() - t0);
  }
  console.log(`${name.padEnd(6)} docker stats --no-stream (${ids.length} containers): ${fmt(cli)}`);
  return { first: median(first), later: median(later), cli: median(cli) };
}

/** CPU used by `pids` (a function: shims come and go) over STREAM_SECONDS while `docker stats` streams every running container. */
async function streamCpu(name: string, host: string, pids: () => Promise<{ pid: number; children: boolean }[]>): Promise<number> {
  const child = spawn(DOCKER, ['-H', host, 'stats'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  try {
    // Let the CLI open its streams and the first samples arrive.
    await new Promise((r) => setTimeout(r, 5000));
    if (child.exitCode !== null) throw new Error(`docker stats exited: ${stderr}`);
    const sum = async () => {
      let t = 0;
      for (const p of await pids()) t += await cpuTicks(p.pid, p.children);
      return t;
    };
    const t0 = performance.now();
    const c0 = await sum();
    await new Promise((r) => setTimeout(r, STREAM_SECONDS * 1000));
    const c1 = await sum();
    const secs = (performance.now() - t0) / 1000;
    const pct = ((c1 - c0) / CLK_TCK / secs) * 100;
    console.log(`${name.padEnd(6)} CPU while docker stats streams: ${pct.toFixed(1)}% of a core over ${secs.toFixed(0)} s (load ${await load()})`);
    return pct;
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100);
  const d = await startDaemon();
  const peer = process.env.DOCKER_PEER_HOST?.startsWith('unix://') ? process.env.DOCKER_PEER_HOST : undefined;
  const peerIds: string[] = [];
  try {
    const { tar } = await busyboxRootfs();
    await docker(d, ['import', tar, 'busybox']);
    console.log(`machine load: ${await load()}`);

    const few = await startMany(d.host, FEW, 1);
    const berth = await oneShot('berth', d.host, few);
    let p: Record<string, number> | undefined;
    if (peer) {
      peerIds.push(...(await startMany(peer, FEW, 1)));
      p = await oneShot('peer', peer, peerIds);
      for (const k of Object.keys(berth)) console.log(`ratio berth/peer ${k}: ${(berth[k]! / p[k]!).toFixed(3)}`);
    }

    await startMany(d.host, n - FEW);
    console.log(`berth  ${n} containers running`);
    const berthPid = d.proc.pid!;
    await streamCpu('berth', d.host, async () => [{ pid: berthPid, children: true }]);
    if (peer) {
      peerIds.push(...(await startMany(peer, n - FEW)));
      console.log(`peer   ${n} containers running`);
      const dockerdPid = Number((await fsp.readFile(process.env.BENCH_PEER_PIDFILE ?? '/run/peer-docker.pid', 'utf8')).trim());
      const execRoot = process.env.BENCH_PEER_EXEC_ROOT ?? '/run/peer-docker';
      await streamCpu('peer', peer, async () => [
        { pid: dockerdPid, children: false },
        ...(await pidsWith(`${execRoot}/containerd/containerd`)).map((pid) => ({ pid, children: false })),
      ]);
    }
  } finally {
    if (peer && peerIds.length) await docker({ host: peer }, ['rm', '-f', ...peerIds], { timeoutMs: 600_000 });
    await d.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
