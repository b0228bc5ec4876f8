/**
 * Garbage collection against a real berthd: images that share layers, tags
 * and untags, a lease held by a `docker load` in flight across a
 * collection, and a berthd killed (SIGKILL) in the middle of a large sweep,
 * after which every image still referenced is whole and nothing
 * unreferenced is left in the data root.
 *
 * The kill comes after a seeded random delay; the seed is printed
 * (GC_TEST_SEED=<n> repeats a run).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { busyboxRootfs } from './helpers/rootfs.js';
import { makeTar, type TarFile } from '../src/engine/image/archive/testing.js';
import { chainIds } from '../src/engine/snapshot/layers.js';

type Digest = `sha256:${string}`;

let d: TestDaemon;
let baseTar: Buffer;

const sha = (b: Buffer | string): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

before(async () => {
  d = await startDaemonWithBusybox();
  baseTar = await fsp.readFile((await busyboxRootfs()).tar);
});

after(async () => {
  await d?.cleanup();
});

/** A layer with a marker file and `n` small files. */
function layer(name: string, n = 0): Promise<Buffer> {
  const files: TarFile[] = [{ name: `${name}.txt`, body: `marker ${name}\n` }];
  if (n > 0) files.push({ name: `${name}/`, type: 'directory' });
  for (let i = 0; i < n; i++) files.push({ name: `${name}/f${i}`, body: `${name} ${i}\n` });
  return makeTar(files);
}

interface ArchiveImage {
  tag: string;
  /** Layers on top of the busybox base. */
  layers: Buffer[];
}

/** A docker-archive (manifest.json) of images on the busybox base; layer files come first in the tar. */
async function archive(images: ArchiveImage[]): Promise<Buffer> {
  const files = new Map<string, Buffer>();
  const manifest: object[] = [];
  files.set(`${sha(baseTar).slice(7)}.tar`, baseTar);
  for (const img of images) {
    for (const l of img.layers) files.set(`${sha(l).slice(7)}.tar`, l);
  }
  const configs: TarFile[] = [];
  for (const img of images) {
    const all = [baseTar, ...img.layers];
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['sh'] },
        created: '2024-01-01T00:00:00Z',
        history: all.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `${img.tag} layer ${i}` })),
        rootfs: { type: 'layers', diff_ids: all.map((l) => sha(l)) },
      }),
    );
    configs.push({ name: `${sha(config).slice(7)}.json`, body: config });
    manifest.push({ Config: `${sha(config).slice(7)}.json`, RepoTags: [img.tag], Layers: all.map((l) => `${sha(l).slice(7)}.tar`) });
  }
  return makeTar([
    ...[...files].map(([name, body]) => ({ name, body })),
    ...configs,
    { name: 'manifest.json', body: JSON.stringify(manifest) },
  ]);
}

async function load(tar: Buffer): Promise<void> {
  const r = await docker(d, ['load', '-q'], { input: tar, timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
}

async function ls(dir: string): Promise<string[]> {
  return fsp.readdir(path.join(d.dataRoot, dir)).then(
    (x) => x.sort(),
    () => [],
  );
}

/** The blobs, committed snapshots and active snapshots the remaining images and containers account for. */
async function expectedState(): Promise<{ blobs: string[]; layers: string[]; rw: string[] }> {
  const ids = (await docker(d, ['image', 'ls', '-a', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  const blobs = new Set<string>();
  const layers = new Set<string>();
  for (const id of new Set(ids)) {
    const r = await docker(d, ['image', 'inspect', '-f', '{{json .RootFS.Layers}}', id]);
    assert.equal(r.code, 0, r.stderr);
    const diffIds = JSON.parse(r.stdout) as Digest[];
    blobs.add(id.slice(7));
    // Loads and imports keep each layer's uncompressed tar, named by its diff ID.
    for (const di of diffIds) blobs.add(di.slice(7));
    for (const c of chainIds(diffIds)) layers.add(c.slice(7));
  }
  const containers = (await docker(d, ['ps', '-a', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  const rw: string[] = [];
  for (const c of containers) {
    layers.add(createHash('sha256').update(`${c}-init`).digest('hex'));
    rw.push(c);
  }
  return { blobs: [...blobs].sort(), layers: [...layers].sort(), rw: rw.sort() };
}

/** What is on disk matches what the records account for, exactly. */
async function assertNothingLeaked(): Promise<void> {
  const want = await expectedState();
  assert.deepEqual(await ls('content/blobs/sha256'), want.blobs, 'blobs: exactly those of the remaining images');
  assert.deepEqual(await ls('overlay2/layers'), want.layers, 'committed snapshots: the images’ chains and the containers’ init layers');
  assert.deepEqual(await ls('overlay2/rw'), want.rw, 'active snapshots: one per container');
  assert.deepEqual(await ls('content/ingest'), [], 'no ingest left');
  const labels = (await ls('content/labels/sha256')).map((n) => n.replace(/\.json$/, ''));
  for (const l of labels) assert.ok(want.blobs.includes(l), `labels of a blob that is gone: ${l}`);
  // The trash (snapshots being deleted) empties.
  for (let i = 0; i < 100 && (await ls('overlay2/tmp')).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await ls('overlay2/tmp'), []);
}

async function runsAndReads(image: string, file: string, want: string): Promise<void> {
  const r = await docker(d, ['run', '--rm', image, 'cat', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, want);
}

test('images sharing layers: rmi removes only what no other image reaches; untag keeps everything', async () => {
  const tops = await Promise.all(['app1', 'app2', 'app3'].map((n) => layer(n)));
  await load(await archive([
    { tag: 'app1:v1', layers: [tops[0]!] },
    { tag: 'app2:v1', layers: [tops[1]!] },
    { tag: 'app3:v1', layers: [tops[2]!, await layer('app3b')] },
  ]));
  await assertNothingLeaked();
  // A second name, then untagging one: nothing is deleted.
  assert.equal((await docker(d, ['tag', 'app2:v1', 'alias:x'])).code, 0);
  const untag = await docker(d, ['rmi', 'app2:v1']);
  assert.equal(untag.code, 0, untag.stderr);
  assert.match(untag.stdout, /^Untagged: app2:v1\n$/);
  await runsAndReads('alias:x', '/app2.txt', 'marker app2\n');
  // rmi of app3: its two own layers go, top first; the shared base stays.
  const app3Chain = chainIds((JSON.parse((await docker(d, ['image', 'inspect', '-f', '{{json .RootFS.Layers}}', 'app3:v1'])).stdout) as Digest[]));
  const rm = await docker(d, ['rmi', 'app3:v1']);
  assert.equal(rm.code, 0, rm.stderr);
  const deleted = rm.stdout.split('\n').filter((l) => l.startsWith('Deleted: ')).map((l) => l.slice('Deleted: '.length));
  assert.deepEqual(deleted.slice(1), [app3Chain[2], app3Chain[1]], 'the image, then its own layers top first');
  await runsAndReads('busybox', '/etc/group', 'root:x:0:\nnogroup:x:65534:\n');
  await runsAndReads('app1:v1', '/app1.txt', 'marker app1\n');
  await assertNothingLeaked();
  for (const n of ['app1:v1', 'alias:x']) assert.equal((await docker(d, ['rmi', n])).code, 0);
  await assertNothingLeaked();
});

test('a load in flight holds what it has written across a collection (its lease)', async () => {
  const top = await layer('leased', 50);
  const tar = await archive([{ tag: 'leased:v1', layers: [top] }]);
  // The archive's first two entries are the base and the new layer; stop right after them.
  const pad = (n: number) => Math.ceil(n / 512) * 512;
  const cut = 512 + pad(baseTar.length) + 512 + pad(top.length);
  const blobFile = path.join(d.dataRoot, 'content', 'blobs', 'sha256', sha(top).slice(7));
  const req = http.request({ socketPath: d.socket, method: 'POST', path: '/v1.41/images/load?quiet=1', headers: { 'Content-Type': 'application/x-tar' } });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  try {
    req.write(tar.subarray(0, cut));
    let present = false;
    for (let i = 0; i < 200 && !present; i++) {
      present = await fsp.access(blobFile).then(() => true, () => false);
      if (!present) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(present, 'the load wrote the new layer as a blob');
    // A collection now (rmi of a throwaway image runs one) must leave the load's blob alone.
    const throwaway = await docker(d, ['import', '-'], { input: await layer('throwaway') });
    assert.equal(throwaway.code, 0, throwaway.stderr);
    const rm = await docker(d, ['rmi', throwaway.stdout.trim()]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.ok(rm.stdout.includes('Deleted: '), rm.stdout);
    assert.ok(await fsp.access(blobFile).then(() => true, () => false), 'the leased blob survived the collection');
    assert.ok(!(await ls('content/blobs/sha256')).includes(sha(await layer('throwaway')).slice(7)), 'the throwaway layer blob went');
    req.end(tar.subarray(cut));
    const res = await response;
    assert.equal(res.status, 200, res.body);
  } finally {
    req.destroy();
  }
  await runsAndReads('leased:v1', '/leased/f7', 'leased 7\n');
  assert.equal((await docker(d, ['rmi', 'leased:v1'])).code, 0);
  await assertNothingLeaked();
});

/** mulberry32: a small seeded PRNG, so a failing run can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('berthd killed in the middle of a large sweep: nothing referenced is lost, nothing unreferenced is left', async (t) => {
  const seed = Number(process.env.GC_TEST_SEED ?? Date.now() % 1_000_000);
  const rand = prng(seed);
  t.diagnostic(`GC_TEST_SEED=${seed}`);
  console.log(`# gc kill test: GC_TEST_SEED=${seed}`);
  // Keepers: held by containers (prune -a spares images containers use), sharing the base with the doomed.
  const keepTop = await layer('keeper', 20);
  const doomed: ArchiveImage[] = [];
  for (let i = 0; i < 30; i++) doomed.push({ tag: `doomed${i}:v1`, layers: [await layer(`doomed${i}`, 300)] });
  await load(await archive([{ tag: 'keeper:v1', layers: [keepTop] }, ...doomed]));
  for (const img of ['keeper:v1', 'busybox']) {
    const c = await docker(d, ['create', img, 'true']);
    assert.equal(c.code, 0, c.stderr);
  }
  const keeperId = (await docker(d, ['image', 'inspect', '-f', '{{.Id}}', 'keeper:v1'])).stdout.trim();
  assert.equal((await ls('overlay2/layers')).length, 1 + 1 + 30 + 2, 'base, keeper, 30 doomed layers, 2 init layers');

  // One request that deletes 30 images and sweeps their layers; killed after a random delay.
  const prune = docker(d, ['image', 'prune', '-a', '-f'], { timeoutMs: 120_000 });
  const delay = 10 + Math.floor(rand() * 500);
  t.diagnostic(`killing berthd after ${delay} ms`);
  await new Promise((r) => setTimeout(r, delay));
  await d.stop('SIGKILL');
  const pr = await prune;
  t.diagnostic(`prune ${pr.code === 0 ? 'finished before the kill' : 'was cut short'}; ${(await ls('overlay2/layers')).length} layer dirs, ${(await ls('content/blobs/sha256')).length} blobs at the kill`);
  await d.restart();

  // Everything still referenced is whole.
  for (const img of ['keeper:v1', 'busybox']) {
    const r = await docker(d, ['image', 'inspect', '-f', '{{.Id}}', img]);
    assert.equal(r.code, 0, `${img} survives: ${r.stderr}`);
  }
  assert.equal((await docker(d, ['image', 'inspect', '-f', '{{.Id}}', 'keeper:v1'])).stdout.trim(), keeperId);
  await runsAndReads('keeper:v1', '/keeper/f3', 'keeper 3\n');
  await runsAndReads('keeper:v1', '/etc/group', 'root:x:0:\nnogroup:x:65534:\n');
  await runsAndReads('busybox', '/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
  // The containers made before the kill still start.
  for (const c of (await docker(d, ['ps', '-a', '-q'])).stdout.split('\n').filter(Boolean)) {
    const r = await docker(d, ['start', '-a', c]);
    assert.equal(r.code, 0, r.stderr);
  }
  // Whatever the kill interrupted, the restart's collection finished: doomed images are either whole or gone.
  const left = (await docker(d, ['image', 'ls', '--format', '{{.Repository}}'])).stdout.split('\n').filter((n) => n.startsWith('doomed'));
  for (const n of left) await runsAndReads(`${n}:v1`, `/${n}.txt`, `marker ${n}\n`);
  await assertNothingLeaked();
  // And a second prune finishes the job.
  const again = await docker(d, ['image', 'prune', '-a', '-f']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual((await docker(d, ['image', 'ls', '--format', '{{.Repository}}'])).stdout.split('\n').filter((n) => n.startsWith('doomed')), []);
  await assertNothingLeaked();
});
