/**
 * Benchmark (issue: registry client): pull and push of a 5-layer, 200 MB
 * image (5 × 40 MiB of random bytes on busybox) over loopback to Debian's
 * distribution registry, through the docker CLI, against a berthd started
 * here and, when DOCKER_PEER_HOST is set, a real dockerd in the same run:
 * - pull cold (nothing present), a no-op pull (image present: manifest only;
 *   timed through the CLI and as one API request), a pull of a second image
 *   whose layers are all present (manifest + config);
 * - push cold (to a fresh registry: every layer uploaded) and warm (every
 *   layer there: HEADs only).
 * Not a test: it prints timings (median of BENCH_RUNS, default 3).
 *
 *   npm run build && node dist/bench/registry-client.js
 */
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { docker, startDaemonWithBusybox, type TestDaemon } from '../test/helpers/daemon.js';
import { startRegistry, type TestRegistry } from '../test/helpers/distribution-registry.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LAYERS = 5;
const LAYER_BYTES = 40 * 1024 * 1024;
const MT = 'application/vnd.docker.distribution.manifest.v2+json';

async function must(host: string, args: string[]): Promise<string> {
  const r = await docker({ host }, args, { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** One pull through the Engine API, the stream read to its end (no CLI process in the figure). */
function apiPull(host: string, name: string, tag: string): Promise<void> {
  const socketPath = host.replace(/^unix:\/\//, '');
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method: 'POST', path: `/images/create?fromImage=${encodeURIComponent(name)}&tag=${tag}`, headers: { 'X-Registry-Auth': 'e30=' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A second image in the registry with the same layers under another config (a label added). */
async function twin(reg: TestRegistry, repo: string): Promise<void> {
  const m = (await (await fetch(`${reg.url}/v2/${repo}/manifests/1`, { headers: { Accept: MT } })).json()) as { config: { digest: string; size: number } };
  const cfg = JSON.parse(Buffer.from(await (await fetch(`${reg.url}/v2/${repo}/blobs/${m.config.digest}`)).arrayBuffer()).toString()) as { config: { Labels?: Record<string, string> } };
  cfg.config.Labels = { ...cfg.config.Labels, twin: '1' };
  const body = Buffer.from(JSON.stringify(cfg));
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  const up = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(up.headers.get('location')!, reg.url);
  loc.searchParams.set('digest', digest);
  await fetch(loc, { method: 'PUT', body: new Uint8Array(body) });
  const manifest = Buffer.from(JSON.stringify({ ...m, config: { ...m.config, digest, size: body.length } }, null, 3));
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/2`, { method: 'PUT', headers: { 'Content-Type': MT }, body: new Uint8Array(manifest) });
  if (res.status !== 201) throw new Error(`twin manifest: ${res.status}`);
}

async function bench(label: string, host: string, src: TestRegistry): Promise<Record<string, number>> {
  const name = `${src.host}/bench/img`;
  const r: Record<string, number[]> = { pullCold: [], noopCli: [], noopApi: [], pullLayersPresent: [], pushCold: [], pushWarm: [] };
  for (let i = 0; i < RUNS; i++) {
    await must(host, ['rmi', '-f', `${name}:1`, `${name}:2`]).catch(() => undefined);
    // Dangling images only: -a would also delete the busybox the peer's other benches import (and this image's base).
    await must(host, ['image', 'prune', '-f']).catch(() => undefined);
    r.pullCold!.push(await time(() => must(host, ['pull', `${name}:1`])));
    r.noopCli!.push(await time(() => must(host, ['pull', `${name}:1`])));
    r.noopApi!.push(await time(() => apiPull(host, name, '1')));
    r.pullLayersPresent!.push(await time(() => must(host, ['pull', `${name}:2`])));
    const dst = await startRegistry();
    try {
      await must(host, ['tag', `${name}:1`, `${dst.host}/bench/img:1`]);
      r.pushCold!.push(await time(() => must(host, ['push', `${dst.host}/bench/img:1`])));
      r.pushWarm!.push(await time(() => must(host, ['push', `${dst.host}/bench/img:1`])));
      await must(host, ['rmi', `${dst.host}/bench/img:1`]);
    } finally {
      await dst.cleanup();
    }
  }
  const out: Record<string, number> = {};
  const mb = (LAYERS * LAYER_BYTES) / 1e6;
  for (const [k, v] of Object.entries(r)) {
    out[k] = median(v);
    const rate = k === 'pullCold' || k === 'pushCold' ? ` (${(mb / (out[k]! / 1000)).toFixed(0)} MB/s)` : '';
    console.log(`${label} ${k}: ${(out[k]! / 1000).toFixed(3)} s${rate}  [${v.map((x) => (x / 1000).toFixed(3)).join(' ')}]`);
  }
  return out;
}

async function main(): Promise<void> {
  let d: TestDaemon | undefined;
  let src: TestRegistry | undefined;
  try {
    [d, src] = await Promise.all([startDaemonWithBusybox(), startRegistry()]);
    // The image: busybox and five layers of 40 MiB random bytes, built and pushed once by berthd.
    let base = 'busybox';
    for (let i = 1; i <= LAYERS; i++) {
      const c = `layer${i}`;
      await must(d.host, ['run', '--name', c, base, 'sh', '-c', `head -c ${LAYER_BYTES} /dev/urandom > /l${i}`]);
      base = `bench/build:${i}`;
      await must(d.host, ['commit', c, base]);
      await must(d.host, ['rm', c]);
    }
    await must(d.host, ['tag', base, `${src.host}/bench/img:1`]);
    const t = await time(() => must(d!.host, ['push', `${src!.host}/bench/img:1`]));
    console.log(`berth push of the freshly built image (layers gzipped on the fly): ${(t / 1000).toFixed(2)} s`);
    await twin(src, 'bench/img');
    for (let i = 1; i <= LAYERS; i++) await must(d.host, ['rmi', `bench/build:${i}`]).catch(() => undefined);
    await must(d.host, ['rmi', `${src.host}/bench/img:1`]);

    const berth = await bench('berth', d.host, src);
    const peerHost = process.env.DOCKER_PEER_HOST;
    if (peerHost) {
      const peer = await bench('peer', peerHost, src);
      for (const k of Object.keys(berth)) console.log(`speed-up berth vs peer ${k}: ${(peer[k]! / berth[k]!).toFixed(2)}x`);
    } else {
      console.log('(set DOCKER_PEER_HOST to compare with a real dockerd)');
    }
  } finally {
    await Promise.all([d?.cleanup(), src?.cleanup()]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
