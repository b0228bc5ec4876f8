/**
 * @module engine/image/archive/save.test
 * `docker save` output: the Docker 25+ layout (OCI layout + manifest.json +
 * repositories), name resolution, and rebuilding a layer tar that is not
 * stored. Needs root (layers are unpacked with owners and devices).
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { EngineError } from '../../errors.js';
import { digestHex } from '../../../common/reference/digest.js';
import { saveImages } from './save.js';
import { collect, openTestStore, readTar, sampleLayer, sha256, type TestStore } from './testing.js';
import { diffTar } from '../../layer/diff.js';

let t: TestStore;
let busyboxId = '';
let otherId = '';

before(async () => {
  t = await openTestStore();
  busyboxId = (await t.images.importTarball(Readable.from([await sampleLayer('one')]), { repo: 'busybox', tag: 'latest' })).id;
  await t.images.tag(busyboxId, 'busybox', '1.36');
  otherId = (await t.images.importTarball(Readable.from([await sampleLayer('two')]), { repo: 'localhost:5000/other', tag: 'v1' })).id;
});

after(async () => {
  await t?.cleanup();
});

test('a saved image has the Docker 25+ layout, in Docker\'s entry order', async () => {
  const entries = await readTar(await collect(await saveImages(t.images, ['busybox:latest'])));
  const img = t.images.store.get(busyboxId as `sha256:${string}`)!;
  const diffId = img.config.rootfs.diff_ids[0]!;
  const names = entries.map((e) => e.name);
  const blobNames = names.filter((n) => n.startsWith('blobs/sha256/') && n !== 'blobs/sha256/');
  assert.deepEqual(names, ['blobs/', 'blobs/sha256/', ...[...blobNames].sort(), 'index.json', 'manifest.json', 'oci-layout', 'repositories']);
  assert.equal(blobNames.length, 3, 'config, layer and OCI manifest');
  for (const e of entries.filter((x) => x.type === 'file' && x.name.startsWith('blobs/'))) {
    assert.equal(sha256(e.body), `sha256:${path.basename(e.name)}`, `${e.name} is named after its digest`);
  }
  const file = (n: string) => entries.find((e) => e.name === n)!.body;
  assert.equal(file('oci-layout').toString(), '{"imageLayoutVersion": "1.0.0"}');

  const manifest = JSON.parse(file('manifest.json').toString());
  assert.ok(file('manifest.json').toString().endsWith(']\n'));
  const layerSize = file(`blobs/sha256/${digestHex(diffId)}`).length;
  assert.deepEqual(manifest, [
    {
      Config: `blobs/sha256/${digestHex(img.id)}`,
      RepoTags: ['busybox:latest'],
      Layers: [`blobs/sha256/${digestHex(diffId)}`],
      LayerSources: { [diffId]: { mediaType: 'application/vnd.oci.image.layer.v1.tar', size: layerSize, digest: diffId } },
    },
  ]);
  assert.deepEqual(JSON.parse(file('repositories').toString()), { busybox: { latest: digestHex(diffId) } });

  const index = JSON.parse(file('index.json').toString());
  assert.equal(index.schemaVersion, 2);
  assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.equal(index.manifests.length, 1);
  const desc = index.manifests[0];
  assert.deepEqual(desc.annotations, {
    'io.containerd.image.name': 'docker.io/library/busybox:latest',
    'org.opencontainers.image.ref.name': 'latest',
  });
  const mBytes = file(`blobs/sha256/${digestHex(desc.digest)}`);
  assert.equal(desc.size, mBytes.length);
  assert.equal(desc.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  const m = JSON.parse(mBytes.toString());
  assert.equal(
    mBytes.toString(),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: img.id, size: file(`blobs/sha256/${digestHex(img.id)}`).length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffId, size: layerSize }],
    }),
  );
  assert.equal(m.config.digest, img.id);
});

test('a repository name saves all its tags; several names share blobs', async () => {
  const entries = await readTar(await collect(await saveImages(t.images, ['busybox', 'localhost:5000/other:v1', busyboxId])));
  const file = (n: string) => entries.find((e) => e.name === n)!.body;
  const manifest = JSON.parse(file('manifest.json').toString());
  assert.deepEqual(
    manifest.map((m: { RepoTags: string[] }) => m.RepoTags),
    [['busybox:1.36', 'busybox:latest'], ['localhost:5000/other:v1']],
  );
  assert.deepEqual(Object.keys(JSON.parse(file('repositories').toString())), ['busybox', 'localhost:5000/other']);
  const index = JSON.parse(file('index.json').toString());
  assert.deepEqual(
    index.manifests.map((d: { annotations: Record<string, string> }) => d.annotations['io.containerd.image.name']),
    ['docker.io/library/busybox:1.36', 'docker.io/library/busybox:latest', 'localhost:5000/other:v1'],
  );
  // Two images: two configs, two layers, two manifests.
  assert.equal(entries.filter((e) => e.type === 'file' && e.name.startsWith('blobs/')).length, 6);
});

test('saving by ID writes no tags and no repositories file', async () => {
  const entries = await readTar(await collect(await saveImages(t.images, [otherId.slice(7, 19)])));
  assert.ok(!entries.some((e) => e.name === 'repositories'));
  const manifest = JSON.parse(entries.find((e) => e.name === 'manifest.json')!.body.toString());
  assert.equal(manifest[0].RepoTags, null);
  const index = JSON.parse(entries.find((e) => e.name === 'index.json')!.body.toString());
  assert.equal(index.manifests[0].annotations, undefined);
});

test('unknown names are 404s with Docker\'s messages', async () => {
  await assert.rejects(saveImages(t.images, ['busybox:nosuch']), (err: EngineError) => err.kind === 'notfound' && err.message === 'reference does not exist');
  await assert.rejects(saveImages(t.images, ['nosuch']), (err: EngineError) => err.kind === 'notfound' && err.message === 'No such image: nosuch');
  await assert.rejects(saveImages(t.images, ['Bad:Name']), (err: EngineError) => err.kind === 'invalid');
});

test('a layer whose tar is not stored is packed again from the snapshot and must match its diff ID', async (tc) => {
  // A layer packed the way commit packs one, so the rebuild can reproduce it byte for byte.
  const src = await fsp.mkdtemp(path.join(t.root, 'src-'));
  tc.after(() => fsp.rm(src, { recursive: true, force: true }));
  await fsp.mkdir(path.join(src, 'app'));
  await fsp.writeFile(path.join(src, 'app', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  await fsp.symlink('run.sh', path.join(src, 'app', 'start'));
  const layerTar = await collect(diffTar(src));
  const img = await t.images.importTarball(Readable.from([layerTar]), { repo: 'rebuilt', tag: 'x' });
  const diffId = img.config.rootfs.diff_ids[0]!;
  assert.equal(diffId, sha256(layerTar));
  await t.images.store.content.delete(diffId);

  const entries = await readTar(await collect(await saveImages(t.images, ['rebuilt:x'])));
  const layer = entries.find((e) => e.name === `blobs/sha256/${digestHex(diffId)}`);
  assert.ok(layer);
  assert.equal(sha256(layer.body), diffId);
  assert.ok(!(await t.images.store.content.info(diffId).then(() => true, () => false)), 'the rebuilt tar is not kept in the store');
  assert.deepEqual(await fsp.readdir(path.join(t.root, 'content', 'ingest')), []);

  // Once the unpacked files no longer match, the rebuilt tar cannot be the layer: a clear error, nothing sent.
  const dir = path.join(t.root, 'overlay2', 'layers', digestHex(diffId), 'diff');
  await fsp.writeFile(path.join(dir, 'app', 'run.sh'), '#!/bin/sh\necho changed\n');
  await assert.rejects(saveImages(t.images, ['rebuilt:x']), (err: EngineError) => {
    assert.equal(err.kind, 'system');
    assert.match(err.message, new RegExp(`layer ${diffId} could not be reproduced: packing its unpacked files again .* gave sha256:`));
    return true;
  });
  assert.deepEqual(await fsp.readdir(path.join(t.root, 'content', 'ingest')), []);
});
