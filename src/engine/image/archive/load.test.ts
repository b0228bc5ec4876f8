/**
 * @module engine/image/archive/load.test
 * `docker load`: round trips through save, pre-25 and OCI layouts (nested
 * index, gzip and zstd layers), Docker's messages, and the all-or-nothing
 * rule: every broken archive is a 400 and leaves the store as it was. Needs
 * root (layers are unpacked with owners and devices).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { EngineError } from '../../errors.js';
import { digestHex, type Digest } from '../../../common/reference/digest.js';
import { loadArchive, progressText, type LoadProgress } from './load.js';
import { saveImages } from './save.js';
import { collect, makeTar, openTestStore, readTar, sampleLayer, sha256, storeState, type TarFile, type TestStore } from './testing.js';

let src: TestStore;
let dst: TestStore;
let saved: Buffer;
let busyboxId: Digest;

before(async () => {
  src = await openTestStore();
  dst = await openTestStore();
  busyboxId = (await src.images.importTarball(Readable.from([await sampleLayer('one')]), { repo: 'busybox', tag: 'latest' })).id;
  saved = await collect(await saveImages(src.images, ['busybox:latest']));
});

after(async () => {
  await src?.cleanup();
  await dst?.cleanup();
});

function config(diffIds: Digest[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      config: { Cmd: ['sh'] },
      created: '2024-01-02T03:04:05Z',
      history: diffIds.map(() => ({ created: '2024-01-02T03:04:05Z', created_by: 'test' })),
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: diffIds },
      ...extra,
    }),
  );
}

function blob(data: Buffer): TarFile {
  return { name: `blobs/sha256/${digestHex(sha256(data))}`, body: data };
}

function desc(mediaType: string, data: Buffer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { mediaType, digest: sha256(data), size: data.length, ...extra };
}

/** An OCI layout: layers given as [stored bytes, media type, uncompressed bytes]. */
async function ociLayout(
  layers: [Buffer, string, Buffer][],
  opts: { annotations?: Record<string, string>; wrap?: (manifestDesc: Record<string, unknown>, files: TarFile[]) => Record<string, unknown> } = {},
): Promise<{ tar: Buffer; configDigest: Digest }> {
  const cfg = config(layers.map(([, , raw]) => sha256(raw)));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: desc('application/vnd.oci.image.config.v1+json', cfg),
      layers: layers.map(([stored, mt]) => desc(mt, stored)),
    }),
  );
  const files: TarFile[] = [blob(cfg), blob(manifest), ...layers.map(([stored]) => blob(stored))];
  let top = desc('application/vnd.oci.image.manifest.v1+json', manifest, opts.annotations ? { annotations: opts.annotations } : {});
  if (opts.wrap) top = opts.wrap(top, files);
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [top] };
  return {
    tar: await makeTar([{ name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', body: JSON.stringify(index) }, ...files]),
    configDigest: sha256(cfg),
  };
}

/** Loads `archive` into `dst` expecting a 400; the store must not have changed. */
async function rejectsUnchanged(archive: Buffer, message: RegExp): Promise<void> {
  const before = await storeState(dst);
  await assert.rejects(loadArchive(dst.images, Readable.from([archive])), (err: EngineError) => {
    assert.equal(err.kind, 'invalid', err.message);
    assert.match(err.message, message);
    return true;
  });
  assert.deepEqual(await storeState(dst), before);
}

test('save then load gives the same image ID, layers and tag', async () => {
  const res = await loadArchive(dst.images, Readable.from([saved]));
  assert.deepEqual(res.messages, ['Loaded image: busybox:latest']);
  assert.deepEqual(res.images, [busyboxId]);
  const a = src.images.store.get(busyboxId)!;
  const b = dst.images.store.get(busyboxId)!;
  assert.deepEqual(b.config, a.config);
  assert.deepEqual(b.layers, a.layers);
  assert.deepEqual(dst.images.store.refsOf(busyboxId), ['docker.io/library/busybox:latest']);
  assert.deepEqual(await dst.images.store.content.readAll(busyboxId), await src.images.store.content.readAll(busyboxId));
  assert.deepEqual((await storeState(dst)).ingest, []);
  // Loading it again changes nothing and says the same.
  const before = await storeState(dst);
  assert.deepEqual((await loadArchive(dst.images, Readable.from([saved]))).messages, ['Loaded image: busybox:latest']);
  assert.deepEqual((await storeState(dst)).layers, before.layers);
  assert.deepEqual((await storeState(dst)).blobs, before.blobs);
});

test('a gzip-compressed archive loads, with progress messages when asked', async () => {
  const t = await openTestStore();
  try {
    const progress: LoadProgress[] = [];
    const res = await loadArchive(t.images, Readable.from([gzipSync(saved)]), { onProgress: (p) => progress.push(p) });
    assert.deepEqual(res.messages, ['Loaded image: busybox:latest']);
    const diffId = src.images.store.get(busyboxId)!.config.rootfs.diff_ids[0]!;
    const last = progress[progress.length - 1]!;
    assert.equal(last.status, 'Loading layer');
    assert.equal(last.id, diffId.slice(7, 19));
    assert.equal(last.progressDetail.current, last.progressDetail.total);
    assert.equal(last.progress, progressText(last.progressDetail.total, last.progressDetail.total));
  } finally {
    await t.cleanup();
  }
});

test('progress text is Docker\'s bar', () => {
  assert.equal(progressText(512, 1024), `[${'='.repeat(25)}>${' '.repeat(25)}]     512B/1.024kB`);
  assert.equal(progressText(2048, 1024), `[${'='.repeat(50)}>] ${'2.048kB'.padStart(8)}`);
});

test('a tag that points elsewhere moves, with Docker\'s rename message', async () => {
  const t = await openTestStore();
  try {
    const other = await t.images.importTarball(Readable.from([await sampleLayer('other')]), { repo: 'busybox', tag: 'latest' });
    const res = await loadArchive(t.images, Readable.from([saved]));
    assert.deepEqual(res.messages, [
      `The image busybox:latest already exists, renaming the old one with ID ${other.id} to empty string`,
      'Loaded image: busybox:latest',
    ]);
    assert.deepEqual(t.images.store.refsOf(other.id), []);
    assert.deepEqual(t.images.store.refsOf(busyboxId), ['docker.io/library/busybox:latest']);
  } finally {
    await t.cleanup();
  }
});

test('an untagged image is reported by ID', async () => {
  const t = await openTestStore();
  try {
    const byId = await collect(await saveImages(src.images, [busyboxId]));
    assert.deepEqual((await loadArchive(t.images, Readable.from([byId]))).messages, [`Loaded image ID: ${busyboxId}`]);
  } finally {
    await t.cleanup();
  }
});

test('a pre-25 docker save layout (<id>/layer.tar, <id>.json, symlinked layers) loads', async () => {
  const t = await openTestStore();
  try {
    const l1 = await sampleLayer('base');
    const l2 = await sampleLayer('top');
    const cfg = config([sha256(l1), sha256(l2), sha256(l1)]);
    const cfgName = `${digestHex(sha256(cfg))}.json`;
    const v1 = ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)];
    const archive = await makeTar([
      { name: `${v1[0]}/`, type: 'directory' },
      { name: `${v1[0]}/VERSION`, body: '1.0' },
      { name: `${v1[0]}/json`, body: '{}' },
      { name: `${v1[0]}/layer.tar`, body: l1 },
      { name: `${v1[1]}/layer.tar`, body: l2 },
      { name: `${v1[2]}/layer.tar`, type: 'symlink', linkname: `../${v1[0]}/layer.tar` },
      { name: cfgName, body: cfg },
      {
        name: 'manifest.json',
        body: JSON.stringify([{ Config: cfgName, RepoTags: ['legacy:1', 'example.com/x/legacy:2'], Layers: v1.map((v) => `${v}/layer.tar`) }]),
      },
      { name: 'repositories', body: JSON.stringify({ legacy: { 1: v1[2] } }) },
    ]);
    const res = await loadArchive(t.images, Readable.from([archive]));
    assert.deepEqual(res.messages, ['Loaded image: legacy:1', 'Loaded image: example.com/x/legacy:2']);
    const img = t.images.store.get(sha256(cfg))!;
    assert.equal(img.layers.length, 3);
    assert.deepEqual(t.images.store.refsOf(img.id), ['docker.io/library/legacy:1', 'example.com/x/legacy:2']);
  } finally {
    await t.cleanup();
  }
});

test('an OCI layout with gzip and zstd layers behind a multi-platform index loads the host\'s image', async () => {
  const t = await openTestStore();
  try {
    const l1 = await sampleLayer('gz');
    const l2 = await sampleLayer('zst');
    const zst = execFileSync('zstd', ['-q', '-c'], { input: l2 });
    const { tar, configDigest } = await ociLayout(
      [
        [gzipSync(l1), 'application/vnd.oci.image.layer.v1.tar+gzip', l1],
        [zst, 'application/vnd.oci.image.layer.v1.tar+zstd', l2],
      ],
      {
        wrap: (amd64, files) => {
          // An arm64 manifest whose blobs are absent: only the host's platform is read.
          const arm = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256('missing'), size: 7, platform: { architecture: 'arm64', os: 'linux' } };
          const idx = Buffer.from(
            JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [arm, { ...amd64, platform: { architecture: 'amd64', os: 'linux' } }] }),
          );
          files.push(blob(idx));
          return desc('application/vnd.oci.image.index.v1+json', idx, { annotations: { 'io.containerd.image.name': 'docker.io/library/multi:1', 'org.opencontainers.image.ref.name': '1' } });
        },
      },
    );
    const res = await loadArchive(t.images, Readable.from([tar]));
    assert.deepEqual(res.messages, ['Loaded image: multi:1']);
    const img = t.images.store.get(configDigest)!;
    assert.deepEqual(img.layers.map((l) => l.blob?.digest), [sha256(l1), sha256(l2)]);
    assert.ok(await t.images.store.content.info(sha256(l2)).then(() => true, () => false), 'the uncompressed tar is stored as the layer blob');
    assert.ok(!(await t.images.store.content.info(sha256(zst)).then(() => true, () => false)), 'the compressed blob is not kept');
  } finally {
    await t.cleanup();
  }
});

test('an OCI layout without a name loads untagged; a whole name in ref.name is used', async () => {
  const t = await openTestStore();
  try {
    const l = await sampleLayer('plain');
    const plain = await ociLayout([[l, 'application/vnd.oci.image.layer.v1.tar', l]], { annotations: { 'org.opencontainers.image.ref.name': 'latest' } });
    assert.deepEqual((await loadArchive(t.images, Readable.from([plain.tar]))).messages, [`Loaded image ID: ${plain.configDigest}`]);
    const named = await ociLayout([[l, 'application/vnd.docker.image.rootfs.diff.tar', l]], { annotations: { 'org.opencontainers.image.ref.name': 'example.com/app:2' } });
    assert.deepEqual((await loadArchive(t.images, Readable.from([named.tar]))).messages, ['Loaded image: example.com/app:2']);
  } finally {
    await t.cleanup();
  }
});

test('a truncated archive is a 400 and changes nothing', async () => {
  await rejectsUnchanged(saved.subarray(0, Math.floor(saved.length / 2) + 100), /invalid image archive: unexpected EOF in archive/);
  const gz = gzipSync(saved);
  await rejectsUnchanged(gz.subarray(0, gz.length - 10), /invalid image archive: unexpected end of file/);
  await rejectsUnchanged(Buffer.alloc(0), /invalid image archive: the archive is empty/);
  await rejectsUnchanged(Buffer.alloc(4096, 'x'), /invalid image archive: not a tar archive/);
});

test('a blob whose content does not match its digest is a 400 and changes nothing', async () => {
  const entries = await readTar(saved);
  const diffId = src.images.store.get(busyboxId)!.config.rootfs.diff_ids[0]!;
  const other = await sampleLayer('tampered');
  const files: TarFile[] = entries.map((e) => ({ name: e.name, type: e.type === 'directory' ? 'directory' : 'file', body: e.name.endsWith(digestHex(diffId)) ? other : e.body }));
  await rejectsUnchanged(await makeTar(files), new RegExp(`digest mismatch for blobs/sha256/${digestHex(diffId)}`));
});

test('a layer that does not match its diff ID is a 400 and changes nothing', async () => {
  const l = await sampleLayer('x');
  const cfg = config([sha256(await sampleLayer('y'))]);
  const archive = await makeTar([
    { name: 'cfg.json', body: cfg },
    { name: 'l/layer.tar', body: l },
    { name: 'manifest.json', body: JSON.stringify([{ Config: 'cfg.json', RepoTags: ['bad:1'], Layers: ['l/layer.tar'] }]) },
  ]);
  await rejectsUnchanged(archive, /invalid diffID for layer 0: expected "sha256:[0-9a-f]{64}", got "sha256:[0-9a-f]{64}"/);
});

test('a layer escaping its root is a 400, and the layers unpacked before it are gone again', async () => {
  const good = await sampleLayer('good-base');
  const evil = await makeTar([{ name: '../escape', body: 'out' }]);
  const cfg = config([sha256(good), sha256(evil)]);
  const archive = await makeTar([
    blob(cfg),
    blob(good),
    blob(evil),
    {
      name: 'manifest.json',
      body: JSON.stringify([{ Config: `blobs/sha256/${digestHex(sha256(cfg))}`, RepoTags: ['busybox:latest'], Layers: [good, evil].map((l) => `blobs/sha256/${digestHex(sha256(l))}`) }]),
    },
  ]);
  await rejectsUnchanged(archive, /invalid image archive: layer sha256:[0-9a-f]{64}: .*escape/i);
});

test('unknown media types, missing blobs and missing manifests are 400s and change nothing', async () => {
  const l = await sampleLayer('mt');
  const weird = await ociLayout([[l, 'application/vnd.example.unknown', l]]);
  await rejectsUnchanged(weird.tar, /unsupported layer media type "application\/vnd.example.unknown"/);
  const files = (await readTar(saved)).filter((e) => !e.name.startsWith('blobs/sha256/') || !e.name.includes(digestHex(busyboxId)));
  await rejectsUnchanged(await makeTar(files.map((e) => ({ name: e.name, type: e.type === 'directory' ? 'directory' : 'file', body: e.body }))), /image config blobs\/sha256\/[0-9a-f]{64} is missing/);
  await rejectsUnchanged(await makeTar([{ name: 'hello.txt', body: 'hi' }]), /neither manifest.json \(docker save\) nor index.json/);
  await rejectsUnchanged(await makeTar([{ name: 'manifest.json', body: 'null' }]), /manifest cannot be null/);
  await rejectsUnchanged(await makeTar([{ name: 'manifest.json', body: '[{' }]), /manifest.json is not valid JSON/);
});

test('berth\'s own archive read as a pure OCI layout (index.json only) keeps every tag', async () => {
  const s = await openTestStore();
  const t = await openTestStore();
  try {
    const id = (await s.images.importTarball(Readable.from([await sampleLayer('oci')]), { repo: 'app', tag: '1' })).id;
    await s.images.tag(id, 'example.com/app', '2');
    const entries = await readTar(await collect(await saveImages(s.images, ['app:1', 'example.com/app:2'])));
    const files: TarFile[] = entries
      .filter((e) => e.name !== 'manifest.json' && e.name !== 'repositories')
      .map((e) => ({ name: e.name, type: e.type === 'directory' ? 'directory' : 'file', body: e.body }));
    const res = await loadArchive(t.images, Readable.from([await makeTar(files)]));
    assert.deepEqual(res.messages, ['Loaded image: app:1', 'Loaded image: example.com/app:2']);
    assert.deepEqual(res.images, [id]);
    assert.deepEqual(t.images.store.refsOf(id), ['docker.io/library/app:1', 'example.com/app:2']);
  } finally {
    await s.cleanup();
    await t.cleanup();
  }
});
