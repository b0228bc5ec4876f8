/**
 * Benchmark (issue: registry server): berth's registry against Debian's
 * distribution registry (`docker-registry`, 2.8) in the same run, with the
 * same client (a small Node client over keep-alive HTTP, below):
 *  - push of a 5-layer, 200 MB image (POST then PUT per blob, then the manifest),
 *  - pull of it (manifest, then every blob, verified by digest),
 *  - 1 000 concurrent GETs of small (1 KiB) blobs,
 *  - server memory at rest (after start, and after the workload): RSS and
 *    its anonymous (private) part, from /proc/<pid>/status.
 * Not a test: it prints figures.
 *
 *   npm run build && node dist/bench/registry-server.js
 *   BENCH_ONLY=berth|distribution node dist/bench/registry-server.js
 */
import { performance } from 'node:perf_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { startRegistry } from '../test/helpers/berth-registry.js';

const LAYERS = 5;
const LAYER_SIZE = 40 * 1024 * 1024;
const SMALL = 1000;

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function request(addr: string, method: string, p: string, body?: Buffer, headers: Record<string, string | number> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const [host, port] = addr.split(':');
  return new Promise((resolve, reject) => {
    const r = http.request({ host, port: Number(port), method, path: p, agent, headers: { ...(body ? { 'Content-Length': body.length } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** GET that only hashes (a pull does not keep a 40 MB layer in memory twice). */
function pullBlob(addr: string, p: string): Promise<string> {
  const [host, port] = addr.split(':');
  return new Promise((resolve, reject) => {
    http
      .get({ host, port: Number(port), path: p, agent }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`GET ${p}: ${res.statusCode}`));
        const h = createHash('sha256');
        res.on('data', (c: Buffer) => h.update(c));
        res.on('end', () => resolve(`sha256:${h.digest('hex')}`));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function pushBlob(addr: string, repo: string, data: Buffer): Promise<string> {
  const d = sha(data);
  const post = await request(addr, 'POST', `/v2/${repo}/blobs/uploads/`);
  if (post.status !== 202) throw new Error(`POST: ${post.status} ${post.body.toString()}`);
  const loc = new URL(post.headers.location!, `http://${addr}`);
  loc.searchParams.set('digest', d);
  const put = await request(addr, 'PUT', loc.pathname + loc.search, data, { 'Content-Type': 'application/octet-stream' });
  if (put.status !== 201) throw new Error(`PUT: ${put.status} ${put.body.toString()}`);
  return d;
}

async function push(addr: string, repo: string, layers: Buffer[]): Promise<void> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map(sha) } }));
  const digests = await Promise.all(layers.map((l) => pushBlob(addr, repo, l)));
  const cd = await pushBlob(addr, repo, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cd, size: config.length },
      layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digests[i], size: l.length })),
    }),
  );
  const r = await request(addr, 'PUT', `/v2/${repo}/manifests/latest`, manifest, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
  if (r.status !== 201) throw new Error(`manifest: ${r.status} ${r.body.toString()}`);
}

async function pull(addr: string, repo: string): Promise<void> {
  const m = await request(addr, 'GET', `/v2/${repo}/manifests/latest`, undefined, { Accept: 'application/vnd.oci.image.manifest.v1+json' });
  const doc = JSON.parse(m.body.toString()) as { config: { digest: string }; layers: { digest: string }[] };
  const all = [doc.config.digest, ...doc.layers.map((l) => l.digest)];
  const got = await Promise.all(all.map((d) => pullBlob(addr, `/v2/${repo}/blobs/${d}`)));
  got.forEach((g, i) => {
    if (g !== all[i]) throw new Error(`digest mismatch on ${all[i]}`);
  });
}

function memory(pid: number): Promise<string> {
  return fsp.readFile(`/proc/${pid}/status`, 'utf8').then((s) => {
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
    return `RSS ${(kb('VmRSS') / 1024).toFixed(1)} MB (anonymous ${(kb('RssAnon') / 1024).toFixed(1)} MB)`;
  });
}

async function timed(label: string, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  console.log(`  ${label}: ${s.toFixed(2)} s`);
  return s;
}

async function workload(name: string, addr: string, pid: number, layers: Buffer[], small: Buffer[]): Promise<Record<string, number | string>> {
  console.log(`-- ${name} (${addr})`);
  await new Promise((r) => setTimeout(r, 1500));
  const idle = await memory(pid);
  console.log(`  memory at rest after start: ${idle}`);
  const mb = (LAYERS * LAYER_SIZE) / 1024 / 1024;
  const p = await timed(`push ${LAYERS} layers, ${mb} MB`, () => push(addr, 'bench/big', layers));
  const q = await timed(`pull ${mb} MB`, () => pull(addr, 'bench/big'));
  const digests: string[] = [];
  for (const b of small.slice(0, 50)) digests.push(await pushBlob(addr, 'bench/small', b));
  const g = await timed(`${SMALL} concurrent small-blob GETs`, async () => {
    const got = await Promise.all(Array.from({ length: SMALL }, (_, i) => pullBlob(addr, `/v2/bench/small/blobs/${digests[i % digests.length]}`)));
    if (got.some((d, i) => d !== digests[i % digests.length])) throw new Error('small blob digest mismatch');
  });
  await new Promise((r) => setTimeout(r, 10_000));
  const after = await memory(pid);
  console.log(`  memory at rest after the workload: ${after}`);
  return { push: mb / p, pull: mb / q, gets: SMALL / g, idle, after };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function startDistribution(dir: string): Promise<{ addr: string; proc: ChildProcess }> {
  const port = await freePort();
  const cfg = path.join(dir, 'config.yml');
  await fsp.writeFile(cfg, ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${path.join(dir, 'data')}`, '  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`, ''].join('\n'));
  const proc = spawn('docker-registry', ['serve', cfg], { stdio: 'ignore' });
  const addr = `127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if ((await request(addr, 'GET', '/v2/').catch(() => ({ status: 0 }))).status === 200) return { addr, proc };
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error('docker-registry did not start');
}

async function main(): Promise<void> {
  const layers = Array.from({ length: LAYERS }, () => randomBytes(LAYER_SIZE));
  const small = Array.from({ length: 50 }, () => randomBytes(1024));
  const results: Record<string, Record<string, number | string>> = {};
  if (process.env.BENCH_ONLY !== 'distribution') {
    const berth = await startRegistry([]);
    try {
      results.berth = await workload('berth registry serve', berth.addr, berth.proc.pid!, layers, small);
    } finally {
      await berth.cleanup();
    }
  }
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bench-distribution-'));
  let dist: { addr: string; proc: ChildProcess } | undefined;
  try {
    if (process.env.BENCH_ONLY !== 'berth') {
      dist = await startDistribution(dir);
      results.distribution = await workload('docker-registry (distribution 2.8)', dist.addr, dist.proc.pid!, layers, small);
    }
  } catch (err) {
    console.log(`docker-registry: ${(err as Error).message} (apt-get install docker-registry)`);
  } finally {
    dist?.proc.kill('SIGTERM');
    await fsp.rm(dir, { recursive: true, force: true });
  }
  agent.destroy();
  console.log('\n| | push MB/s | pull MB/s | small GETs/s | memory at rest (start) | memory at rest (after) |\n| --- | --- | --- | --- | --- | --- |');
  for (const [k, v] of Object.entries(results)) {
    console.log(`| ${k} | ${(v.push as number).toFixed(0)} | ${(v.pull as number).toFixed(0)} | ${(v.gets as number).toFixed(0)} | ${v.idle} | ${v.after} |`);
  }
}

await main();
