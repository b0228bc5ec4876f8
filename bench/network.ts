/**
 * Benchmark: networking, against a berthd started here (temporary roots)
 * and, when DOCKER_PEER_HOST is set, that peer engine (dockerd with
 * docker-proxy) in the same run:
 *  - wrk (Debian's) against busybox httpd behind a published port on
 *    127.0.0.1: requests per second and transfer rate;
 *  - name-resolution latency between two containers on a user-defined
 *    network (200 lookups of the other container's name, per lookup);
 *  - a container start on a user-defined network vs on the default bridge
 *    (median of several, alternating).
 *
 *   npm run build && node dist/bench/network.js [seconds]
 *
 * berth runs with a bridge of its own and no forwarding; test networks get an
 * egress DROP, so no traffic leaves the machine. The peer needs a `busybox`
 * image already.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { docker, startDaemon } from '../test/helpers/daemon.js';
import { restoreHostNet, snapshotHostNet } from '../test/helpers/network.js';
import { busyboxRootfs } from '../test/helpers/rootfs.js';

const execFileP = promisify(execFile);
/** Container starts measured per network (BENCH_STARTS, default 7). */
const STARTS = Number(process.env.BENCH_STARTS ?? 7);

async function must(host: string, args: string[]): Promise<string> {
  const r = await docker({ host }, args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} on ${host}: ${r.stderr}`);
  return r.stdout.trim();
}

async function wrk(host: string, seconds: number): Promise<string> {
  await must(host, ['run', '-d', '--name', 'bench-www', '-p', '127.0.0.1::80', 'busybox', 'sh', '-c', 'mkdir -p /w && echo hello > /w/index.html && exec httpd -f -p 80 -h /w']);
  try {
    const port = (await must(host, ['port', 'bench-www', '80'])).split('\n')[0]!.split(':').pop()!;
    await new Promise((r) => setTimeout(r, 500));
    const { stdout } = await execFileP('wrk', ['-t2', '-c16', `-d${seconds}s`, `http://127.0.0.1:${port}/`]);
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? '?';
    const rate = /Transfer\/sec:\s+(\S+)/.exec(stdout)?.[1] ?? '?';
    return `${rps} req/s, ${rate}/s`;
  } finally {
    await docker({ host }, ['rm', '-f', 'bench-www']);
  }
}

async function dnsAndStart(host: string): Promise<string> {
  await must(host, ['network', 'create', '--subnet', '10.239.99.0/24', 'benchnet']);
  const id = await must(host, ['network', 'inspect', '-f', '{{.Id}}', 'benchnet']);
  const br = `br-${id.slice(0, 12)}`;
  await execFileP('iptables', ['-w', '-I', 'FORWARD', '-i', br, '!', '-o', br, '-j', 'DROP']);
  try {
    // Median of several starts, alternating networks so that load drifts hit both alike.
    const samples: Record<string, number[]> = { bridge: [], benchnet: [] };
    for (let i = 0; i < STARTS; i++) {
      for (const net of ['bridge', 'benchnet']) {
        const t0 = performance.now();
        await must(host, ['run', '-d', '--name', `bench-${net}-${i}`, '--network', net, 'busybox', 'sleep', '600']);
        samples[net]!.push(performance.now() - t0);
        // The last ones stay for the lookups below.
        if (i < STARTS - 1) await must(host, ['rm', '-f', `bench-${net}-${i}`]);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const starts = { bridge: median(samples.bridge!), benchnet: median(samples.benchnet!) };
    // Each pair ran back to back: the median of their differences shrugs off load that drifts between pairs.
    const diff = median(samples.benchnet!.map((v, i) => v - samples.bridge![i]!));
    await must(host, ['run', '-d', '--name', 'bench-peer', '--network', 'benchnet', 'busybox', 'sleep', '600']);
    const t0 = performance.now();
    await must(host, ['exec', `bench-benchnet-${STARTS - 1}`, 'sh', '-c', 'i=0; while [ $i -lt 200 ]; do nslookup bench-peer >/dev/null || exit 1; i=$((i+1)); done']);
    const per = (performance.now() - t0) / 200;
    return `lookup ${per.toFixed(2)} ms (incl. nslookup's start); run -d (median of ${STARTS}) on bridge ${starts.bridge.toFixed(0)} ms, on a user network ${starts.benchnet.toFixed(0)} ms (median of pairwise differences ${diff >= 0 ? '+' : ''}${diff.toFixed(0)} ms)`;
  } finally {
    const names = Array.from({ length: STARTS }, (_, i) => [`bench-bridge-${i}`, `bench-benchnet-${i}`]).flat();
    await docker({ host }, ['rm', '-f', ...names, 'bench-peer']);
    await docker({ host }, ['network', 'rm', 'benchnet']);
    await execFileP('iptables', ['-w', '-D', 'FORWARD', '-i', br, '!', '-o', br, '-j', 'DROP']).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const hostNet = await snapshotHostNet();
  const d = await startDaemon(['--bridge', 'btbench1', '--bip', '10.239.98.1/24', '--ip-masq=false', '--ip-forward=false']);
  try {
    const { tar } = await busyboxRootfs();
    await must(d.host, ['import', tar, 'busybox']);
    console.log(`berth  published port: ${await wrk(d.host, seconds)}`);
    console.log(`berth  ${await dnsAndStart(d.host)}`);
    const peer = process.env.DOCKER_PEER_HOST;
    if (peer) {
      console.log(`dockerd published port: ${await wrk(peer, seconds)}`);
      console.log(`dockerd ${await dnsAndStart(peer)}`);
    }
  } finally {
    await d.cleanup();
    await restoreHostNet(hostNet, 'btbench1');
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
