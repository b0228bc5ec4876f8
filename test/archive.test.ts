/**
 * docker save / docker load against berthd with the real docker CLI: round
 * trips to a fresh daemon (same IDs and layers), OCI layouts made here and
 * by skopeo, and broken archives that must fail (in the stream, as dockerd) and leave the store
 * exactly as it was.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { DOCKER, docker, runCli, startDaemon, type TestDaemon } from './helpers/daemon.js';
import http from 'node:http';
import { api } from './helpers/http.js';
import { busyboxRootfs } from './helpers/rootfs.js';
import { makeTar, readTar, sha256, type TarFile } from '../src/engine/image/archive/testing.js';

const execFileP = promisify(execFile);

let d1: TestDaemon;
let d2: TestDaemon;
let tmp: string;
let busyboxId = '';
let savedPath = '';
let skopeo = false;

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-archive-'));
  [d1, d2] = await Promise.all([startDaemon(), startDaemon()]);
  const { tar } = await busyboxRootfs();
  const r = await docker(d1, ['import', '-c', 'CMD ["sh"]', tar, 'busybox']);
  assert.equal(r.code, 0, r.stderr);
  busyboxId = r.stdout.trim();
  savedPath = path.join(tmp, 'busybox.tar');
  const s = await docker(d1, ['save', '-o', savedPath, 'busybox']);
  assert.equal(s.code, 0, s.stderr);
  skopeo = await execFileP('skopeo', ['--version']).then(
    () => true,
    () => false,
  );
});

after(async () => {
  await Promise.all([d1?.cleanup(), d2?.cleanup()]);
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

/** Image ID and diff IDs as docker inspect reports them. */
async function identity(d: TestDaemon, name: string): Promise<string> {
  const r = await docker(d, ['image', 'inspect', '-f', '{{.Id}} {{json .RootFS.Layers}}', name]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** Everything a load may change: blobs, ingest, unpacked layers, image list. */
async function storeState(d: TestDaemon): Promise<unknown> {
  const ls = (p: string) => fsp.readdir(path.join(d.dataRoot, p)).then((x) => x.sort(), () => []);
  return {
    blobs: await ls('content/blobs/sha256'),
    ingest: await ls('content/ingest'),
    layers: await ls('overlay2/layers'),
    links: await ls('overlay2/l'),
    images: (await api(d.socket, 'GET', '/images/json')).json(),
  };
}

/** The docker-archive entries of the busybox save, as files that can be rewritten. */
async function savedFiles(): Promise<TarFile[]> {
  return (await readTar(await fsp.readFile(savedPath))).map((e) => ({ name: e.name, type: e.type === 'directory' ? 'directory' : 'file', body: e.body }));
}

test('docker save writes the Docker 25+ layout', async () => {
  const entries = await readTar(await fsp.readFile(savedPath));
  const names = entries.map((e) => e.name);
  for (const n of ['blobs/', 'blobs/sha256/', 'index.json', 'manifest.json', 'oci-layout', 'repositories']) assert.ok(names.includes(n), n);
  const manifest = JSON.parse(entries.find((e) => e.name === 'manifest.json')!.body.toString());
  assert.equal(manifest.length, 1);
  assert.equal(manifest[0].Config, `blobs/sha256/${busyboxId.slice(7)}`);
  assert.deepEqual(manifest[0].RepoTags, ['busybox:latest']);
  for (const e of entries.filter((x) => x.type === 'file' && x.name.startsWith('blobs/sha256/'))) {
    assert.equal(sha256(e.body), `sha256:${path.basename(e.name)}`);
  }
});

test('docker load -i into a fresh daemon gives the same image ID and layers, and the image runs', async () => {
  const r = await docker(d2, ['load', '-i', savedPath]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'Loaded image: busybox:latest\n');
  assert.equal(await identity(d2, 'busybox'), await identity(d1, 'busybox'));
  const run = await docker(d2, ['run', '--rm', 'busybox', 'sh', '-c', 'echo loaded && ls /bin/busybox']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'loaded\n/bin/busybox\n');
});

test('docker save | docker load works through a pipe, also gzip-compressed, and re-tagging is reported', async () => {
  const other = await docker(d2, ['import', (await busyboxRootfs()).tarXz, 'piped:1']);
  assert.equal(other.code, 0, other.stderr);
  const otherId = other.stdout.trim();
  await docker(d1, ['tag', 'busybox', 'piped:1']);
  const sh = `"${DOCKER}" -H ${d1.host} save piped:1 | gzip | "${DOCKER}" -H ${d2.host} load`;
  const r = await runCli('sh', ['-c', sh], d2);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `The image piped:1 already exists, renaming the old one with ID ${otherId} to empty string\nLoaded image: piped:1\n`);
  assert.equal(await identity(d2, 'piped:1'), await identity(d1, 'busybox'));
  await docker(d2, ['rmi', otherId]);
});

test('an OCI image layout with a gzip layer, made here, loads and runs', async () => {
  const base = await fsp.readFile((await busyboxRootfs()).tar);
  const extra = await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/oci-release', body: 'made by a test\n' }]);
  const extraGz = gzipSync(extra);
  const cfg = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['cat', '/etc/oci-release'] },
      rootfs: { type: 'layers', diff_ids: [sha256(base), sha256(extra)] },
      history: [{ created_by: 'base' }, { created_by: 'extra' }],
    }),
  );
  const d = (mediaType: string, b: Buffer) => ({ mediaType, digest: sha256(b), size: b.length });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: d('application/vnd.oci.image.config.v1+json', cfg),
      layers: [d('application/vnd.oci.image.layer.v1.tar', base), d('application/vnd.oci.image.layer.v1.tar+gzip', extraGz)],
    }),
  );
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ ...d('application/vnd.oci.image.manifest.v1+json', manifest), annotations: { 'io.containerd.image.name': 'docker.io/library/ocitest:1', 'org.opencontainers.image.ref.name': '1' } }],
  };
  const blob = (b: Buffer): TarFile => ({ name: `blobs/sha256/${sha256(b).slice(7)}`, body: b });
  const file = path.join(tmp, 'oci.tar');
  await fsp.writeFile(file, await makeTar([{ name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', body: JSON.stringify(index) }, blob(cfg), blob(manifest), blob(base), blob(extraGz)]));
  const r = await docker(d1, ['load', '-i', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'Loaded image: ocitest:1\n');
  assert.equal(await identity(d1, 'ocitest:1'), `${sha256(cfg)} ${JSON.stringify([sha256(base), sha256(extra)])}`);
  const run = await docker(d1, ['run', '--rm', 'ocitest:1']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'made by a test\n');

  // Two images, one sharing the other's base layer, round-trip in one archive.
  const both = path.join(tmp, 'both.tar');
  assert.equal((await docker(d1, ['save', '-o', both, 'ocitest:1', 'busybox:latest'])).code, 0);
  const l = await docker(d2, ['load', '-i', both]);
  assert.equal(l.code, 0, l.stderr);
  assert.equal(l.stdout, 'Loaded image: ocitest:1\nLoaded image: busybox:latest\n');
  assert.equal(await identity(d2, 'ocitest:1'), await identity(d1, 'ocitest:1'));
});

test('POST /images/load?quiet=0 streams progress, then Docker\'s messages', async () => {
  const fresh = await startDaemon();
  try {
    const res = await api(fresh.socket, 'POST', '/v1.51/images/load?quiet=0', await fsp.readFile(savedPath), { 'Content-Type': 'application/x-tar' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    const lines = res.body.toString().trim().split('\r\n').map((l) => JSON.parse(l));
    assert.equal(lines[0].status, 'Loading layer');
    assert.match(lines[0].id, /^[0-9a-f]{12}$/);
    assert.deepEqual(lines[lines.length - 1], { stream: 'Loaded image: busybox:latest\n' });
    const get = await api(fresh.socket, 'GET', `/v1.51/images/${busyboxId}/get`);
    assert.equal(get.status, 200);
    assert.equal(get.headers['content-type'], 'application/x-tar');
  } finally {
    await fresh.cleanup();
  }
});

test('clients hanging up mid-save or mid-load leave berthd running and nothing behind', async () => {
  const fresh = await startDaemon();
  try {
    const fds = async () => (await fsp.readdir(`/proc/${fresh.proc.pid}/fd`)).length;
    const { tar } = await busyboxRootfs();
    assert.equal((await docker(fresh, ['import', tar, 'busybox'])).code, 0);
    const before = await fds();
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ socketPath: fresh.socket, path: '/images/busybox/get' }, (res) => {
          res.on('error', () => undefined);
          res.once('data', () => {
            req.destroy();
            setTimeout(resolve, 200);
          });
        });
        req.on('error', reject);
        req.end();
      });
    }
    const archive = await fsp.readFile(savedPath);
    await new Promise<void>((resolve) => {
      const req = http.request({ socketPath: fresh.socket, path: '/images/load', method: 'POST', headers: { 'Content-Type': 'application/x-tar' } });
      req.on('error', () => undefined);
      req.write(archive.subarray(0, archive.length >> 1), () => setTimeout(() => (req.destroy(), setTimeout(resolve, 300)), 100));
    });
    assert.ok((await fds()) <= before, 'no file handle left open');
    assert.deepEqual(await fsp.readdir(path.join(fresh.dataRoot, 'content', 'ingest')), []);
    const r = await docker(fresh, ['save', '-o', path.join(tmp, 'after.tar'), 'busybox']);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await fresh.cleanup();
  }
});

test('docker save of an unknown image fails with dockerd\'s message', async () => {
  const r = await docker(d1, ['save', '-o', path.join(tmp, 'x.tar'), 'nosuch:tag']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /reference does not exist/);
});

test('skopeo reads berth\'s archive, and its OCI archive loads back into berth', { timeout: 120_000 }, async (t) => {
  if (!skopeo) {
    t.skip('skopeo is not installed (apt-get install -y skopeo)');
    return;
  }
  const dir = path.join(tmp, 'skopeo-oci');
  await execFileP('skopeo', ['--insecure-policy', 'copy', `docker-archive:${savedPath}`, `oci:${dir}`]);
  const index = JSON.parse(await fsp.readFile(path.join(dir, 'index.json'), 'utf8'));
  const manifest = JSON.parse(await fsp.readFile(path.join(dir, 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8'));
  const original = JSON.parse(await fsp.readFile(path.join(d1.dataRoot, 'content', 'blobs', 'sha256', busyboxId.slice(7)), 'utf8'));
  const converted = JSON.parse(await fsp.readFile(path.join(dir, 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8'));
  // skopeo converts to OCI: it rewrites the config (new image ID) and gzips the layer, but the layer contents stay.
  assert.deepEqual(converted.rootfs, original.rootfs);
  assert.equal(manifest.layers.length, 1);

  const ociArchive = path.join(tmp, 'skopeo-oci.tar');
  await execFileP('skopeo', ['--insecure-policy', 'copy', `docker-archive:${savedPath}`, `oci-archive:${ociArchive}`]);
  const entries = await readTar(await fsp.readFile(ociArchive));
  const idx = JSON.parse(entries.find((e) => e.name.replace(/^\.\//, '') === 'index.json')!.body.toString());
  const m = JSON.parse(entries.find((e) => e.name.endsWith(idx.manifests[0].digest.slice(7)))!.body.toString());
  const fresh = await startDaemon();
  try {
    const r = await docker(fresh, ['load', '-i', ociArchive]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Loaded image ID: ${m.config.digest}\n`);
    const layers = (await docker(fresh, ['image', 'inspect', '-f', '{{json .RootFS.Layers}}', m.config.digest])).stdout.trim();
    assert.equal(layers, JSON.stringify(original.rootfs.diff_ids));
    const run = await docker(fresh, ['run', '--rm', m.config.digest, 'echo', 'from skopeo']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'from skopeo\n');

    // skopeo's own docker-archive writer (<hex>.json config, <hex>.tar layers) loads too.
    const dockerArchive = path.join(tmp, 'skopeo-docker.tar');
    await execFileP('skopeo', ['--insecure-policy', 'copy', `oci:${dir}`, `docker-archive:${dockerArchive}:example.com/skopeo/app:2`]);
    const r2 = await docker(fresh, ['load', '-i', dockerArchive]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(r2.stdout, 'Loaded image: example.com/skopeo/app:2\n');
    assert.equal((await docker(fresh, ['image', 'inspect', '-f', '{{json .RootFS.Layers}}', 'example.com/skopeo/app:2'])).stdout.trim(), layers);
  } finally {
    await fresh.cleanup();
  }
});

/** Loads a broken archive both ways (CLI and API): an in-band error / exit 1, and no change at all to the store. */
async function rejected(name: string, archive: Buffer, message: RegExp): Promise<void> {
  const file = path.join(tmp, name);
  await fsp.writeFile(file, archive);
  const before = await storeState(d2);
  const r = await docker(d2, ['load', '-i', file]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, message);
  // dockerd answers 200 and puts the error in the JSON stream (moby's postImagesLoad); clients read errorDetail.
  const res = await api(d2.socket, 'POST', '/v1.51/images/load?quiet=1', archive, { 'Content-Type': 'application/x-tar' });
  assert.equal(res.status, 200, res.body.toString());
  const last = JSON.parse(res.body.toString().trim().split('\r\n').pop()!) as { errorDetail: { message: string }; error: string };
  assert.match(last.errorDetail.message, message);
  assert.equal(last.error, last.errorDetail.message);
  assert.deepEqual(await storeState(d2), before);
}

test('a truncated archive fails in the stream and leaves the store unchanged', async () => {
  const full = await fsp.readFile(savedPath);
  await rejected('truncated.tar', full.subarray(0, Math.floor(full.length * 0.6)), /invalid image archive: unexpected EOF in archive/);
});

test('a blob with the wrong digest fails in the stream and leaves the store unchanged', async () => {
  const files = await savedFiles();
  const layer = files.find((f) => f.name.startsWith('blobs/sha256/') && (f.body as Buffer).length > 100_000)!;
  const body = Buffer.from(layer.body as Buffer);
  body[body.length - 2000] ^= 0xff;
  layer.body = body;
  await rejected('wrong-digest.tar', await makeTar(files), /digest mismatch for blobs\/sha256\/[0-9a-f]{64}/);
});

test('a layer with ../escape fails in the stream and leaves the store unchanged', async () => {
  const evil = await makeTar([{ name: 'tmp/', type: 'directory' }, { name: '../escape', body: 'gotcha' }]);
  const base = await fsp.readFile((await busyboxRootfs()).tar);
  // The escape is in the second layer, so the first one (new to this daemon) is unpacked before it and must go again.
  const changed = await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/fresh', body: 'new' }]);
  const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(base), sha256(changed), sha256(evil)] } }));
  const p = (b: Buffer) => `blobs/sha256/${sha256(b).slice(7)}`;
  const archive = await makeTar([
    { name: p(cfg), body: cfg },
    { name: p(base), body: base },
    { name: p(changed), body: changed },
    { name: p(evil), body: evil },
    { name: 'manifest.json', body: JSON.stringify([{ Config: p(cfg), RepoTags: ['busybox:latest', 'evil:1'], Layers: [p(base), p(changed), p(evil)] }]) },
  ]);
  await rejected('escape.tar', archive, /invalid image archive: layer sha256:[0-9a-f]{64}: .*escape/i);
  assert.ok(!(await fsp.access(path.join(d2.dataRoot, '..', 'escape')).then(() => true, () => false)));
});
