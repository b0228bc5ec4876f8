/**
 * Benchmark: `docker run --rm busybox true` end to end through the real
 * docker CLI, against a berthd started here (temporary roots) and, when
 * DOCKER_PEER_HOST is set, against that peer engine in the same run.
 *
 *   npm run build && node dist/bench/run-rm.js [runs]
 *
 * BENCH_NETWORK=bridge runs both on their default bridge network (berth with
 * a bridge of its own, no masquerading or forwarding); otherwise both run
 * with --network none. The peer needs a `busybox` image already (e.g.
 * `docker import rootfs.tar busybox`) and, for the bridge, its docker0.
 */
import { performance } from 'node:perf_hooks';
import { docker, startDaemon } from '../test/helpers/daemon.js';
import { restoreHostNet, snapshotHostNet } from '../test/helpers/network.js';
import { busyboxRootfs } from '../test/helpers/rootfs.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

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

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 20);
  const bridge = process.env.BENCH_NETWORK === 'bridge';
  const hostNet = await snapshotHostNet();
  const d = await startDaemon(bridge ? ['--bridge', 'btbench0', '--bip', '10.239.0.1/24', '--ip-masq=false', '--ip-forward=false'] : []);
  const net = bridge ? 'bridge' : 'none';
  try {
    const { tar } = await busyboxRootfs();
    await docker(d, ['import', tar, 'busybox']);
    const berth = await measure(d.host, runs, ['--network', net]);
    const fmt = (xs: number[]) => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, n=${xs.length})`;
    console.log(`berth   run --rm --network ${net} busybox true: ${fmt(berth)}`);
    const peer = process.env.DOCKER_PEER_HOST;
    if (peer) {
      const p = await measure(peer, runs, ['--network', net]);
      console.log(`peer    run --rm --network ${net} busybox true: ${fmt(p)}`);
      console.log(`ratio berth/peer: ${(median(berth) / median(p)).toFixed(2)}`);
    } else {
      console.log('(set DOCKER_PEER_HOST to compare with a real dockerd)');
    }
  } finally {
    await d.cleanup();
    if (bridge) await restoreHostNet(hostNet, 'btbench0');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
