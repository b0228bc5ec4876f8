/**
 * Pulls that go wrong, and how a layer arrives: unpacked while it
 * downloads (seen in its work snapshot while the blob is incomplete), a
 * registry that drops the connection mid-layer (the
 * daemon retries with a Range request and finishes), a registry killed
 * mid-pull (the pull fails, the partial download is kept, and the next pull
 * resumes it with a Range request once the registry is back), and a
 * registry serving bad content (a missing blob, a blob whose digest does not
 * match, a layer that unpacks to another diff ID, an unknown manifest media
 * type): a clear error, a non-zero exit, and nothing half-written.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { berth, docker, startDaemon, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { startRegistry, type TestRegistry } from './helpers/distribution-registry.js';
import { makeTar } from '../src/engine/image/archive/testing.js';

let src: TestDaemon;
let d: TestDaemon;
let reg: TestRegistry;
let bigSum = '';

/** What the proxy does to the next blob GET of at least `min` bytes. */
interface Fault {
  mode: 'cut' | 'slow';
  /** Bytes passed before the fault. */
  after: number;
  min: number;
}

let fault: Fault | undefined;
const ranges: string[] = [];
let proxy: http.Server;
/** Responses being slowed down: what a registry that dies takes with it. */
const slowed = new Set<http.ServerResponse>();
let proxyHost = '';

function startProxy(): Promise<void> {
  proxy = http.createServer((req, res) => {
    const isBlob = /\/blobs\/sha256:/.test(req.url ?? '') && req.method === 'GET';
    if (isBlob && req.headers.range) ranges.push(req.headers.range);
    const up = http.request({ host: '127.0.0.1', port: reg.port, path: req.url, method: req.method, headers: { ...req.headers, host: reg.host } }, (ures) => {
      // Redirects and locations name the registry: hand back the proxy's address.
      const headers = { ...ures.headers };
      if (typeof headers.location === 'string') headers.location = headers.location.replace(reg.host, proxyHost);
      res.writeHead(ures.statusCode ?? 502, headers);
      const total = Number(ures.headers['content-length'] ?? 0);
      const f = isBlob && fault && total >= fault.min ? fault : undefined;
      if (!f) {
        ures.pipe(res);
        return;
      }
      if (f.mode === 'cut') fault = undefined;
      else {
        slowed.add(res);
        res.on('close', () => slowed.delete(res));
      }
      let sent = 0;
      ures.on('data', (c: Buffer) => {
        if (f.mode === 'cut' && sent + c.length > f.after) {
          res.write(c.subarray(0, Math.max(0, f.after - sent)));
          sent = f.after;
          ures.destroy();
          res.socket?.destroy();
          return;
        }
        sent += c.length;
        if (!res.write(c) || (f.mode === 'slow' && sent > f.after)) {
          ures.pause();
          // Slow: 64 KiB every 50 ms once past `after`.
          setTimeout(() => ures.resume(), f.mode === 'slow' && sent > f.after ? 50 : 0);
        }
      });
      ures.on('end', () => res.end());
      ures.on('error', () => res.socket?.destroy());
      ures.on('close', () => {
        if (!ures.complete) res.socket?.destroy();
      });
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.socket?.destroy();
    });
    req.pipe(up);
  });
  return new Promise((r) =>
    proxy.listen(0, '127.0.0.1', () => {
      proxyHost = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
      r();
    }),
  );
}

before(async () => {
  [src, reg] = await Promise.all([startDaemonWithBusybox(), startRegistry()]);
  // dockerd's countdown (5 s × failures) with 20 ms seconds, as moby's tests shorten it.
  d = await startDaemon(['--max-download-attempts', '3', '--download-retry-tick-ms', '20']);
  await startProxy();
  // A layer of 6 MB of random bytes: gzip cannot shrink it, so the blob is big enough to cut.
  let r = await docker(src, ['run', '--name', 'big', 'busybox', 'sh', '-c', 'head -c 6000000 /dev/urandom > /big && md5sum /big']);
  assert.equal(r.code, 0, r.stderr);
  bigSum = r.stdout.trim().split(/\s+/)[0]!;
  assert.equal((await docker(src, ['commit', 'big', `${reg.host}/big/img:1`])).code, 0);
  r = await docker(src, ['push', `${reg.host}/big/img:1`]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await Promise.all([src?.cleanup(), d?.cleanup(), reg?.cleanup()]);
  await new Promise((r) => proxy?.close(r));
  await fakeClose?.();
});

test('a connection dropped mid-layer is retried with a Range request and the pull completes', async () => {
  ranges.length = 0;
  fault = { mode: 'cut', after: 2_000_000, min: 3_000_000 };
  const name = `${proxyHost}/big/img:1`;
  const r = await docker(d, ['pull', name]);
  assert.equal(r.code, 0, r.stderr);
  // dockerd's backoff: 5 s after the first failure, counted down to 1.
  assert.match(r.stdout, /Retrying in 5 seconds\n[\s\S]*Retrying in 1 second\n/);
  assert.ok(ranges.some((x) => /^bytes=[1-9]\d*-$/.test(x)), `no Range request: ${JSON.stringify(ranges)}`);
  const run = await docker(d, ['run', '--rm', name, 'md5sum', '/big']);
  assert.equal(run.stdout.split(/\s+/)[0], bigSum, run.stderr);
  assert.equal((await docker(d, ['rmi', name])).code, 0);
  // The collector may take the blobs now: the next test starts from nothing.
  await docker(d, ['image', 'prune', '-f']);
});

test('a layer is unpacked while it downloads: its file grows in a work snapshot before the blob is complete; nothing is left after', async () => {
  ranges.length = 0;
  // Past 1.5 MB the proxy slows the layer to 64 KiB every 50 ms: seconds in which to look.
  fault = { mode: 'slow', after: 1_500_000, min: 3_000_000 };
  const name = `${proxyHost}/big/img:1`;
  const pulling = docker(d, ['pull', name]);
  const ingest = path.join(d.dataRoot, 'content', 'ingest');
  const rw = path.join(d.dataRoot, 'overlay2', 'rw');
  const ingestSize = async () => Math.max(0, ...(await Promise.all((await fsp.readdir(ingest).catch(() => [] as string[])).map((n) => fsp.stat(path.join(ingest, n, 'data')).then((x) => x.size, () => 0)))));
  let seen: { unpacked: number; downloaded: number } | undefined;
  for (let i = 0; i < 400 && !seen; i++) {
    for (const key of (await fsp.readdir(rw).catch(() => [] as string[])).filter((k) => k.startsWith('extract-'))) {
      const unpacked = await fsp.stat(path.join(rw, key, 'diff', 'big')).then((x) => x.size, () => 0);
      const downloaded = await ingestSize();
      // The ingest is still there and short: the blob is not complete (once committed, the ingest is gone).
      if (unpacked > 1_000_000 && downloaded > 0 && downloaded < 6_000_000) seen = { unpacked, downloaded };
    }
    if (!seen) await new Promise((res) => setTimeout(res, 50));
  }
  fault = undefined;
  for (const res of slowed) res.destroy();
  const r = await pulling;
  assert.ok(seen, `no layer was unpacked while its download was under way (pull: ${r.code} ${r.stderr})`);
  // The proxy's slowed response was cut once seen: the pull resumes it (Range) and unpacks the blob instead.
  assert.equal(r.code, 0, r.stderr);
  const run = await docker(d, ['run', '--rm', name, 'md5sum', '/big']);
  assert.equal(run.stdout.split(/\s+/)[0], bigSum, run.stderr);
  assert.deepEqual((await fsp.readdir(rw)).filter((k) => k.startsWith('extract-')), [], 'a work snapshot was left behind');
  assert.equal((await docker(d, ['rmi', name])).code, 0);
  await docker(d, ['image', 'prune', '-f']);
});

test('a layer unpacked while it downloads is the pulled layer', async () => {
  const name = `${proxyHost}/big/img:1`;
  const r = await docker(d, ['pull', name]);
  assert.equal(r.code, 0, r.stderr);
  const run = await docker(d, ['run', '--rm', name, 'md5sum', '/big']);
  assert.equal(run.stdout.split(/\s+/)[0], bigSum, run.stderr);
  assert.deepEqual((await fsp.readdir(path.join(d.dataRoot, 'overlay2', 'rw'))).filter((k) => k.startsWith('extract-')), []);
  assert.equal((await docker(d, ['rmi', name])).code, 0);
  await docker(d, ['image', 'prune', '-f']);
});

test('the registry killed mid-pull: the pull fails, and once it is back the next pull resumes the partial layer', async () => {
  ranges.length = 0;
  fault = { mode: 'slow', after: 1_500_000, min: 3_000_000 };
  const name = `${proxyHost}/big/img:1`;
  const pulling = docker(d, ['pull', name], { env: {} });
  // Kill the registry once the slow layer is well under way.
  const ingest = path.join(d.dataRoot, 'content', 'ingest');
  for (let i = 0; i < 400; i++) {
    const sizes = await Promise.all(
      (await fsp.readdir(ingest).catch(() => [] as string[])).map((n) => fsp.stat(path.join(ingest, n, 'data')).then((s) => s.size, () => 0)),
    );
    if (sizes.some((s) => s > 1_600_000)) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  await reg.kill();
  // The loopback socket buffers may hold the rest of the layer already: the connections die with the registry.
  for (const res of slowed) res.socket?.destroy();
  const r = await pulling;
  assert.notEqual(r.code, 0, `the pull must fail while the registry is gone: ${r.stdout}`);
  assert.notEqual((await docker(d, ['image', 'inspect', name])).code, 0, 'no image recorded from a failed pull');
  fault = undefined;
  await reg.start();
  const again = await berth(d, ['pull', name]);
  assert.equal(again.code, 0, again.stderr);
  assert.ok(ranges.some((x) => /^bytes=[1-9]\d*-$/.test(x)), `the second pull did not resume: ${JSON.stringify(ranges)}`);
  const run = await docker(d, ['run', '--rm', name, 'md5sum', '/big']);
  assert.equal(run.stdout.split(/\s+/)[0], bigSum, run.stderr);
});

// ---- a registry serving bad content

let fakeClose: (() => Promise<void>) | undefined;

function sha(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

async function startFake(): Promise<string> {
  const tar = await makeTar([{ name: 'hello.txt', body: 'hi\n' }]);
  const layer = gzipSync(tar);
  const config = (diffId: string) => Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [diffId] } }));
  const good = config(sha(tar));
  const wrongDiff = config(`sha256:${'1'.repeat(64)}`);
  const corrupt = Buffer.from(layer);
  corrupt[corrupt.length - 5]! ^= 0xff;
  const blobs = new Map<string, Buffer>([
    [sha(layer), layer],
    [sha(good), good],
    [sha(wrongDiff), wrongDiff],
    // Served under the good layer's twin digest, but its bytes differ.
    [`sha256:${'2'.repeat(64)}`, corrupt],
  ]);
  const manifest = (cfg: Buffer, layerDigest: string, size: number) =>
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha(cfg), size: cfg.length }, layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layerDigest, size }] }));
  const manifests: Record<string, { type: string; body: Buffer }> = {
    missing: { type: 'application/vnd.docker.distribution.manifest.v2+json', body: manifest(good, `sha256:${'3'.repeat(64)}`, 100) },
    corrupt: { type: 'application/vnd.docker.distribution.manifest.v2+json', body: manifest(good, `sha256:${'2'.repeat(64)}`, corrupt.length) },
    wrongdiff: { type: 'application/vnd.docker.distribution.manifest.v2+json', body: manifest(wrongDiff, sha(layer), layer.length) },
    weird: { type: 'application/vnd.example.unknown+json', body: Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.example.unknown+json"}') },
  };
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/v2/') return void res.writeHead(200).end('{}');
    let m = /^\/v2\/bad\/img\/manifests\/(.+)$/.exec(url);
    if (m && manifests[m[1]!]) {
      const x = manifests[m[1]!]!;
      res.writeHead(200, { 'Content-Type': x.type, 'Content-Length': x.body.length });
      return void res.end(req.method === 'HEAD' ? undefined : x.body);
    }
    m = /^\/v2\/bad\/img\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url);
    const b = m ? blobs.get(m[1]!) : undefined;
    if (b) {
      res.writeHead(200, { 'Content-Length': b.length });
      return void res.end(b);
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: url.includes('/blobs/') ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN', message: url.includes('/blobs/') ? 'blob unknown to registry' : 'manifest unknown' }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fakeClose = () => new Promise((r) => server.close(() => r()));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

test('bad content: missing blob, digest mismatch, wrong diff ID, unknown media type — an error and nothing stored', async () => {
  const host = await startFake();
  const before = (await docker(d, ['images', '-q', '--no-trunc'])).stdout;
  const blobsBefore = (await fsp.readdir(path.join(d.dataRoot, 'content', 'blobs', 'sha256'))).sort();
  const cases: [string, RegExp][] = [
    ['missing', /blob unknown/],
    ['corrupt', /filesystem layer verification failed for digest sha256:2{64}/],
    ['wrongdiff', /layer digest mismatch/],
    ['weird', /unsupported manifest media type/],
  ];
  for (const [tag, want] of cases) {
    const r = await docker(d, ['pull', `${host}/bad/img:${tag}`]);
    assert.notEqual(r.code, 0, `${tag}: ${r.stdout}`);
    assert.match(r.stderr, want, `${tag}: ${r.stderr}`);
  }
  assert.equal((await docker(d, ['images', '-q', '--no-trunc'])).stdout, before);
  const blobsAfter = await fsp.readdir(path.join(d.dataRoot, 'content', 'blobs', 'sha256'));
  assert.ok(!blobsAfter.includes('2'.repeat(64)), 'a blob that failed verification must never be stored');
  // Verified blobs may stay for a later pull; none of them is an unverified one.
  for (const hex of blobsAfter.filter((b) => !blobsBefore.includes(b))) {
    const data = await fsp.readFile(path.join(d.dataRoot, 'content', 'blobs', 'sha256', hex));
    assert.equal(sha(data), `sha256:${hex}`);
  }
});
