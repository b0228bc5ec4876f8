/**
 * Benchmark (issues: images, engine core): save and load of a ~100 MB image,
 * and commit of a stopped container with 10 000 small changed files and of
 * one with a single 500 MB file, through the docker CLI against
 * a berthd started here and, when DOCKER_PEER_HOST is set, against that peer
 * engine in the same run. Not a test: it prints timings.
 *
 *   npm run build && node dist/bench/images.js
 *   BENCH_ONLY=commit node dist/bench/images.js     (the commit cases alone)
 *   BENCH_WHO=1 …                                    (also: every thread on the machine that ran during each commit)
 *
 * Each berth commit also prints its trace (berthd runs with -D) and where
 * its wall time went: berthd's threads on a CPU (`cpu`, the main thread's
 * `mainCpu`) and waiting for one (`runq`, `mainRunq`), and the machine's
 * CPU and IO pressure stalls meanwhile. On a shared 2-core machine the
 * commit's CPU is steady run to run and its wait is not: read the ratios.
 */
import { performance } from 'node:perf_hooks';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { docker, startDaemon } from '../test/helpers/daemon.js';
import { busyboxRootfs } from '../test/helpers/rootfs.js';
import { parseTraceLine } from '../src/engine/trace.js';

const sh = promisify(execFile);

async function timed(label: string, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  console.log(`${label}: ${(ms / 1000).toFixed(2)} s`);
  return ms;
}

async function must(host: string, args: string[]): Promise<string> {
  const r = await docker({ host }, args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A 100 MB image: busybox plus 100 MiB of random data in one layer, imported as a tarball. */
async function bigTarball(dir: string): Promise<string> {
  const { dir: rootDir } = await busyboxRootfs();
  const root = path.join(dir, 'big');
  await sh('cp', ['-a', path.join(rootDir, 'rootfs'), root]);
  await sh('sh', ['-c', `head -c 104857600 /dev/urandom > '${root}/blob'`]);
  const tar = path.join(dir, 'big.tar');
  await sh('tar', ['-C', root, '-cf', tar, '.']);
  return tar;
}

/** berthd's threads' time on a CPU and waiting for one (schedstat, ns → ms), and the machine's CPU and IO pressure stall totals (µs → ms). */
async function sched(pid: number | undefined): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  if (pid) {
    let cpu = 0;
    let wait = 0;
    for (const tid of await fsp.readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
      const [run, delay] = (await fsp.readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').catch(() => '0 0')).split(' ').map(Number);
      cpu += run! / 1e6;
      wait += delay! / 1e6;
      if (Number(tid) === pid) {
        out.mainCpu = run! / 1e6;
        out.mainRunq = delay! / 1e6;
      }
    }
    out.cpu = cpu;
    out.runq = wait;
  }
  for (const r of ['cpu', 'io']) {
    const m = /^some .*total=(\d+)/m.exec(await fsp.readFile(`/proc/pressure/${r}`, 'utf8').catch(() => ''));
    if (m) out[`${r}Pressure`] = Number(m[1]) / 1000;
  }
  return out;
}

/** CPU ticks (10 ms) of every thread on the machine: who ran beside a commit (BENCH_WHO). */
async function allTicks(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const pid of await fsp.readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    for (const tid of await fsp.readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
      const st = await fsp.readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
      const close = st.lastIndexOf(')');
      if (close < 0) continue;
      const comm = st.slice(st.indexOf('(') + 1, close);
      const f = st.slice(close + 2).split(' ');
      out.set(`${pid}/${tid} ${comm}`, Number(f[11]) + Number(f[12]));
    }
  }
  return out;
}

/** Commit of a stopped container after `script` changed its files; the container and image go afterwards. */
async function commitCase(label: string, host: string, script: string, log?: () => Promise<string>, pid?: number): Promise<number> {
  const cid = (await must(host, ['create', 'benchsmall:1', 'sh', '-c', script])).trim();
  await must(host, ['start', '-a', cid]);
  const mark = log ? (await log()).length : 0;
  const t0 = process.env.BENCH_WHO ? await allTicks() : undefined;
  const s0 = await sched(pid);
  const ms = await timed(label, async () => void (await must(host, ['commit', cid, 'benchcommit:1'])));
  const s1 = await sched(pid);
  if (t0) {
    const t1 = await allTicks();
    const d = [...t1].map(([k, v]) => [k, v - (t0.get(k) ?? 0)] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).slice(0, 12);
    console.log(`  who (ticks of 10 ms): ${d.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }
  // Wall time is berthd on a CPU, waiting for one, or blocked (IO, locks); pressure: the machine's stalls meanwhile.
  console.log(`  ${Object.keys(s1).map((k) => `${k}=${(s1[k]! - (s0[k] ?? 0)).toFixed(0)}`).join(' ')} ms; load ${(await fsp.readFile('/proc/loadavg', 'utf8')).split(' ')[0]}`);
  if (log) {
    // berthd runs with -D: where the commit request's time went (its trace line may follow the response).
    await new Promise((r) => setTimeout(r, 200));
    for (const line of (await log()).slice(mark).split('\n')) {
      const t = parseTraceLine(line);
      if (t?.name.includes('/commit')) console.log(`  trace ${t.totalMs.toFixed(0)} ms: ${Object.entries(t.phases).map(([k, v]) => `${k}=${v.toFixed(0)}`).join(' ')}`);
    }
  }
  await must(host, ['rm', cid]);
  await must(host, ['rmi', 'benchcommit:1']);
  return ms;
}

async function bench(name: string, host: string, tar: string, dir: string, log?: () => Promise<string>, pid?: number): Promise<Record<string, number>> {
  console.log(`-- ${name}`);
  const out: Record<string, number> = {};
  if (process.env.BENCH_ONLY !== 'commit') {
    await must(host, ['import', tar, 'benchbig:1']);
    const file = path.join(dir, `${name}-save.tar`);
    out.save = await timed(`${name} save 100 MB`, async () => void (await must(host, ['save', '-o', file, 'benchbig:1'])));
    await must(host, ['rmi', 'benchbig:1']);
    out.load = await timed(`${name} load 100 MB`, async () => void (await must(host, ['load', '-i', file])));
    await must(host, ['rmi', 'benchbig:1']);
    await fsp.rm(file, { force: true });
  }
  const { tar: small } = await busyboxRootfs();
  await must(host, ['import', small, 'benchsmall:1']);
  out.commitSmall = await commitCase(`${name} commit 10 000 files`, host, 'mkdir /many && cd /many && i=0; while [ $i -lt 10000 ]; do echo $i > f$i; i=$((i+1)); done', log, pid);
  out.commitBig = await commitCase(`${name} commit one 500 MB file`, host, 'head -c 524288000 /dev/urandom > /big', log, pid);
  await must(host, ['rmi', 'benchsmall:1']);
  return out;
}

async function main(): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-bench-'));
  const d = await startDaemon();
  try {
    const tar = process.env.BENCH_ONLY === 'commit' ? '' : await bigTarball(dir);
    const berth = await bench('berth', d.host, tar, dir, () => d.log(), d.proc.pid);
    const peerHost = process.env.DOCKER_PEER_HOST;
    if (peerHost) {
      const peer = await bench('peer', peerHost, tar, dir);
      for (const k of Object.keys(berth)) console.log(`ratio berth/peer ${k}: ${(berth[k]! / peer[k]!).toFixed(2)}`);
    } else {
      console.log('(set DOCKER_PEER_HOST to compare with a real dockerd)');
    }
  } finally {
    await d.cleanup();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
