/**
 * Benchmark (issue: builder): `docker build` (the legacy path) of a
 * 10-instruction Dockerfile over a context of 2 000 small files — cold
 * (--no-cache), fully cached, and after one file changed — through the
 * docker CLI against a berthd started here and, when DOCKER_PEER_HOST is
 * set, against that engine in the same run. Median of BENCH_RUNS (default 3).
 * Not a test: it prints timings.
 *
 *   npm run build && node dist/bench/build.js
 */
import { performance } from 'node:perf_hooks';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { docker, startDaemon } from '../test/helpers/daemon.js';
import { busyboxRootfs } from '../test/helpers/rootfs.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const DOCKERFILE = [
  'FROM benchbase',
  'ENV APP=/app',
  'WORKDIR /app',
  'COPY deps/ /app/deps/',
  'RUN ls deps | wc -l > /deps.count',
  'COPY src/ /app/src/',
  'RUN find /app/src -type f | wc -l > /src.count',
  'LABEL bench=1',
  'EXPOSE 8080',
  'CMD ["sh"]',
  '',
].join('\n');

async function must(host: string, args: string[]): Promise<string> {
  const r = await docker({ host }, args, { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function makeContext(dir: string): Promise<string> {
  const ctx = path.join(dir, 'ctx');
  for (const sub of ['deps', 'src']) {
    for (let i = 0; i < 1000; i++) {
      const p = path.join(ctx, sub, `d${i % 20}`, `f${i}.txt`);
      await fsp.mkdir(path.dirname(p), { recursive: true });
      await fsp.writeFile(p, `${sub} file ${i}\n`.repeat(8));
    }
  }
  await fsp.writeFile(path.join(ctx, 'Dockerfile'), DOCKERFILE);
  return ctx;
}

async function median(label: string, fn: (run: number) => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn(i);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)]!;
  console.log(`${label}: ${(ms / 1000).toFixed(2)} s (runs: ${times.map((t) => (t / 1000).toFixed(2)).join(', ')})`);
  return ms;
}

async function bench(name: string, host: string, ctx: string): Promise<Record<string, number>> {
  console.log(`-- ${name}`);
  const { tar } = await busyboxRootfs();
  await must(host, ['import', tar, 'benchbase']);
  const out: Record<string, number> = {};
  out.cold = await median(`${name} cold build (--no-cache)`, async () => void (await must(host, ['build', '--no-cache', '-t', 'benchbuild', ctx])));
  out.cached = await median(`${name} fully cached rebuild`, async () => void (await must(host, ['build', '-t', 'benchbuild', ctx])));
  const changed = path.join(ctx, 'src', 'd7', 'f7.txt');
  out.oneFile = await median(`${name} rebuild after one file changed`, async (run) => {
    await fsp.writeFile(changed, `changed ${name} ${run} ${Date.now()}\n`);
    await must(host, ['build', '-t', 'benchbuild', ctx]);
  });
  await must(host, ['rmi', 'benchbuild', 'benchbase']);
  return out;
}

async function main(): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-bench-build-'));
  const d = await startDaemon();
  try {
    const ctx = await makeContext(dir);
    const berth = await bench('berth', d.host, ctx);
    const peerHost = process.env.DOCKER_PEER_HOST;
    if (peerHost) {
      const peer = await bench('peer', peerHost, ctx);
      for (const k of Object.keys(berth)) console.log(`ratio berth/peer ${k}: ${(berth[k]! / peer[k]!).toFixed(2)}`);
      await must(peerHost, ['builder', 'prune', '-f']).catch(() => undefined);
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
