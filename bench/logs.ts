/**
 * Benchmark (issue: speed, logs): `logs --tail 100` and `logs --since <last
 * minute>` on a container with a 1 GB log, timed over the API (request to
 * last byte), against a berthd started here and, when DOCKER_PEER_HOST is a
 * unix socket, that peer's json-file driver in the same run. Twice for
 * berth: one 1 GB file, and the same log rotated (`--log-opt max-size=100m
 * --log-opt max-file=11`: ten rotated files and the one being written).
 *
 *   npm run build && node dist/bench/logs.js [MB]
 *
 * The log is written directly (conmon would need minutes to print 1 GB):
 * ~100-byte lines whose times span the ten hours up to now, in conmon's
 * k8s-file format for berth and json-file's for the peer (BENCH_PEER_ROOT,
 * default /var/lib/peer-docker, is where its containers live). Long lines
 * come as runs of partial records now and then, as conmon writes them.
 */
import { performance } from 'node:perf_hooks';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { docker, startDaemon } from '../test/helpers/daemon.js';
import { busyboxRootfs } from '../test/helpers/rootfs.js';

const SPAN_MS = 10 * 3600 * 1000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function stamp(ms: number, i: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}.${String((ms % 1000) * 1e6 + (i % 1e6)).padStart(9, '0')}Z`;
}

/**
 * Writes `bytes` of log in `format`, times rising to now; with `parts` > 1,
 * as a rotated log: `<file>.<parts-1>` oldest … `<file>.1`, then `<file>`.
 */
async function writeLog(file: string, bytes: number, format: 'k8s' | 'json', endMs: number, parts = 1): Promise<number> {
  const names = Array.from({ length: parts }, (_, i) => (i === parts - 1 ? file : `${file}.${parts - 1 - i}`));
  let part = 0;
  let fh = await fsp.open(names[0]!, 'w');
  const lineLen = 100;
  const lines = Math.floor(bytes / lineLen);
  const t0 = endMs - SPAN_MS;
  let batch: string[] = [];
  let size = 0;
  for (let i = 0; i < lines; i++) {
    const ms = t0 + Math.floor((i / lines) * SPAN_MS);
    const text = `line ${i} ${'x'.repeat(40)}`;
    const partial = i % 1000 === 999; // a long line split in two records
    if (format === 'k8s') {
      if (partial) batch.push(`${stamp(ms, i)} stdout P ${text}-part-one`);
      batch.push(`${stamp(ms, i)} ${i % 7 === 0 ? 'stderr' : 'stdout'} F ${text}`);
    } else {
      if (partial) batch.push(JSON.stringify({ log: `${text}-part-one`, stream: 'stdout', time: stamp(ms, i) }));
      batch.push(JSON.stringify({ log: `${text}\n`, stream: i % 7 === 0 ? 'stderr' : 'stdout', time: stamp(ms, i) }));
    }
    if (batch.length >= 50_000) {
      const chunk = `${batch.join('\n')}\n`;
      size += Buffer.byteLength(chunk);
      await fh.write(chunk);
      batch = [];
      // Rotated at a record boundary, as conmon cuts.
      if (part < parts - 1 && size >= ((part + 1) * bytes) / parts) {
        await fh.close();
        fh = await fsp.open(names[++part]!, 'w');
      }
    }
  }
  if (batch.length) {
    const chunk = `${batch.join('\n')}\n`;
    size += Buffer.byteLength(chunk);
    await fh.write(chunk);
  }
  await fh.close();
  return size;
}

function getTimed(socket: string, urlPath: string): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http.get({ socketPath: socket, path: urlPath }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ ms: performance.now() - t0, bytes }));
    }).on('error', reject);
  });
}

async function measure(name: string, socket: string, id: string, runs: number, endMs: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  // The log's last minute (writing it takes a while: not the last minute of the clock).
  const since = Math.floor(endMs / 1000) - 60;
  const cases: Record<string, string> = {
    'tail 100': `/containers/${id}/logs?stdout=1&stderr=1&tail=100`,
    'since last minute': `/containers/${id}/logs?stdout=1&stderr=1&since=${since}`,
    'since last minute, tail 100': `/containers/${id}/logs?stdout=1&stderr=1&since=${since}&tail=100`,
  };
  for (const [label, url] of Object.entries(cases)) {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < runs; i++) {
      const r = await getTimed(socket, url);
      times.push(r.ms);
      bytes = r.bytes;
    }
    out[label] = median(times);
    console.log(`${name.padEnd(6)} ${label}: median ${median(times).toFixed(1)} ms (min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}, ${bytes} bytes)`);
  }
  return out;
}

async function main(): Promise<void> {
  const mb = Number(process.argv[2] ?? 1024);
  const runs = 7;
  const endMs = Date.now();
  const d = await startDaemon();
  let peerId: string | undefined;
  const peer = process.env.DOCKER_PEER_HOST;
  try {
    const { tar } = await busyboxRootfs();
    await docker(d, ['import', tar, 'busybox']);
    const id = (await docker(d, ['create', 'busybox', 'true'])).stdout.trim();
    const file = path.join(d.dataRoot, 'containers', id, `${id}-json.log`);
    const size = await writeLog(file, mb * 1024 * 1024, 'k8s', endMs);
    console.log(`berth log: ${(size / 1048576).toFixed(0)} MiB`);
    await measure('warm', d.socket, id, 2, endMs);
    const berth = await measure('berth', d.socket, id, runs, endMs);
    // The same log rotated: eleven files of ~mb/11 each.
    const rid = (await docker(d, ['create', '--log-opt', `max-size=${Math.ceil(mb / 10)}m`, '--log-opt', 'max-file=11', 'busybox', 'true'])).stdout.trim();
    const rfile = path.join(d.dataRoot, 'containers', rid, `${rid}-json.log`);
    const rsize = await writeLog(rfile, mb * 1024 * 1024, 'k8s', endMs, 11);
    console.log(`berth rotated log: ${(rsize / 1048576).toFixed(0)} MiB in 11 files`);
    await measure('warm', d.socket, rid, 2, endMs);
    await measure('rotatd', d.socket, rid, runs, endMs);
    if (peer?.startsWith('unix://')) {
      const r = await docker({ host: peer }, ['create', 'busybox', 'true']);
      if (r.code !== 0) throw new Error(`peer create: ${r.stderr}`);
      peerId = r.stdout.trim();
      const root = process.env.BENCH_PEER_ROOT ?? '/var/lib/peer-docker';
      const pfile = path.join(root, 'containers', peerId, `${peerId}-json.log`);
      await writeLog(pfile, mb * 1024 * 1024, 'json', endMs);
      const p = await measure('peer', peer.slice('unix://'.length), peerId, Math.min(runs, 3), endMs);
      for (const k of Object.keys(berth)) console.log(`ratio berth/peer ${k}: ${(berth[k]! / p[k]!).toFixed(3)}`);
    } else {
      console.log('(set DOCKER_PEER_HOST=unix://… to compare with a real dockerd)');
    }
  } finally {
    if (peerId && peer) await docker({ host: peer }, ['rm', '-f', peerId]);
    await d.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
