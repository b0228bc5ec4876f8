/**
 * Benchmark (issue: containers, scale): N detached `sleep` containers on one
 * machine. Reports how long starting them took, host memory per running
 * container (conmon's RSS plus what else the machine lost), `ps` latency over
 * the API with N containers, and berthd's RSS. Default N = 1000.
 *
 *   npm run build && node dist/bench/scale.js [N]
 *
 * BENCH_NETWORK=bridge puts every container on a bridge of its own (a veth
 * and an address each; no masquerading or forwarding); otherwise
 * --network none.
 */
import { performance } from 'node:perf_hooks';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import { docker, startDaemon } from '../test/helpers/daemon.js';
import { restoreHostNet, snapshotHostNet } from '../test/helpers/network.js';
import { busyboxRootfs } from '../test/helpers/rootfs.js';

function memAvailableKiB(text: string): number {
  return Number(/^MemAvailable:\s+(\d+)/m.exec(text)![1]);
}

async function rssKiB(pid: number): Promise<number> {
  const s = await fsp.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/^VmRSS:\s+(\d+)/m.exec(s)?.[1] ?? 0);
}

function get(socket: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http.get({ socketPath: socket, path }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    }).on('error', reject);
  });
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 1000);
  const bridge = process.env.BENCH_NETWORK === 'bridge';
  const hostNet = await snapshotHostNet();
  // A /20: room for well over 1000 addresses (a Linux bridge takes up to 1024 ports).
  const d = await startDaemon(bridge ? ['--bridge', 'btscale0', '--bip', '10.240.0.1/20', '--ip-masq=false', '--ip-forward=false'] : []);
  const net = bridge ? 'bridge' : 'none';
  try {
    const { tar } = await busyboxRootfs();
    await docker(d, ['import', tar, 'busybox']);
    const before = memAvailableKiB(await fsp.readFile('/proc/meminfo', 'utf8'));
    const t0 = performance.now();
    const parallel = 4;
    let next = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < n) {
          next++;
          const r = await docker(d, ['run', '-d', '--network', net, 'busybox', 'sleep', '3600']);
          if (r.code !== 0) failed++;
        }
      }),
    );
    const startMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 2000));
    const after = memAvailableKiB(await fsp.readFile('/proc/meminfo', 'utf8'));
    const running = (await docker(d, ['ps', '-q'])).stdout.trim().split('\n').filter(Boolean).length;
    const conmons = (await fsp.readdir(`${d.execRoot}/containers`)).length;
    let conmonRss = 0;
    for (const id of await fsp.readdir(`${d.execRoot}/containers`)) {
      const pid = Number(await fsp.readFile(`${d.execRoot}/containers/${id}/conmon.pid`, 'utf8').catch(() => '0'));
      if (pid) conmonRss += await rssKiB(pid);
    }
    const psTimes: number[] = [];
    for (let i = 0; i < 10; i++) psTimes.push(await get(d.socket, '/containers/json'));
    psTimes.sort((a, b) => a - b);
    console.log(`network ${net}: containers requested ${n}, running ${running}, failed ${failed}, conmon dirs ${conmons}`);
    console.log(`start all: ${(startMs / 1000).toFixed(1)} s (${(startMs / n).toFixed(0)} ms each, ${parallel} at a time)`);
    console.log(`host memory per running container: ${((before - after) / running / 1024).toFixed(2)} MiB (MemAvailable drop); conmon RSS ${(conmonRss / running / 1024).toFixed(2)} MiB each`);
    console.log(`ps over the API with ${running} containers: median ${psTimes[5]!.toFixed(0)} ms`);
    console.log(`berthd RSS: ${((await rssKiB(d.proc.pid!)) / 1024).toFixed(0)} MiB`);
  } finally {
    await d.cleanup();
    if (bridge) await restoreHostNet(hostNet, 'btscale0');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
