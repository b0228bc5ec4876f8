/**
 * Image endpoints where clients notice dockerd's behaviour:
 * - `docker load` of the pre-1.10 archive format (`repositories` and
 *   `<v1 id>/json` + `layer.tar`, no manifest.json), which dockerd 28 still
 *   loads (moby removed it after 28): parents chained, the config rebuilt from
 *   the v1 JSON with dockerd's bytes (so the image ID is dockerd's), tags from
 *   `repositories`;
 * - errors after a JSON stream has begun travel in the stream with HTTP 200
 *   (`load` always; `import` from a URL once "Downloading from" went out).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { docker, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { api } from './helpers/http.js';
import { busyboxRootfs } from './helpers/rootfs.js';
import { makeTar, sha256 } from '../src/engine/image/archive/testing.js';

let d: TestDaemon;
let tmp: string;

before(async () => {
  d = await startDaemon();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-compat-images-'));
});

after(async () => {
  await d?.cleanup();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

const BASE_ID = 'a'.repeat(64);
const CHILD_ID = 'b'.repeat(64);

/** A pre-1.10 `docker save` of two v1 images, child on base, as Docker 1.9 wrote it. */
async function legacyArchive(): Promise<{ archive: Buffer; baseLayer: Buffer; childLayer: Buffer }> {
  const baseLayer = await fsp.readFile((await busyboxRootfs()).tar);
  const childLayer = await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/legacy', body: 'from a v1 image\n' }]);
  const baseJson = {
    id: BASE_ID,
    created: '2015-10-01T10:00:00.000000001Z',
    container_config: { Cmd: ['/bin/sh', '-c', '#(nop) ADD file:rootfs in /'] },
    docker_version: '1.9.1',
    config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
    architecture: 'amd64',
    os: 'linux',
    Size: 1234,
  };
  const childJson = {
    id: CHILD_ID,
    parent: BASE_ID,
    created: '2015-10-02T10:00:00Z',
    container_config: { Cmd: ['/bin/sh', '-c', 'echo legacy > /etc/legacy'] },
    docker_version: '1.9.1',
    author: 'someone <a@b>',
    config: { Env: ['PATH=/bin', 'LEGACY=1'], Cmd: ['cat', '/etc/legacy'] },
    architecture: 'amd64',
    os: 'linux',
    Size: 16,
  };
  const archive = await makeTar([
    { name: `${BASE_ID}/`, type: 'directory' },
    { name: `${BASE_ID}/VERSION`, body: '1.0' },
    { name: `${BASE_ID}/json`, body: JSON.stringify(baseJson) },
    { name: `${BASE_ID}/layer.tar`, body: baseLayer },
    { name: `${CHILD_ID}/`, type: 'directory' },
    { name: `${CHILD_ID}/VERSION`, body: '1.0' },
    { name: `${CHILD_ID}/json`, body: JSON.stringify(childJson) },
    { name: `${CHILD_ID}/layer.tar`, body: childLayer },
    { name: 'repositories', body: JSON.stringify({ legacy: { v1: CHILD_ID }, 'legacy-base': { latest: BASE_ID } }) },
  ]);
  return { archive, baseLayer, childLayer };
}

test('docker load of a pre-1.10 archive: chained images, dockerd\'s config bytes and IDs, tags from repositories', async () => {
  const { archive, baseLayer, childLayer } = await legacyArchive();
  const file = path.join(tmp, 'legacy.tar');
  await fsp.writeFile(file, archive);
  const r = await docker(d, ['load', '-i', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').sort(), ['Loaded image: legacy-base:latest', 'Loaded image: legacy:v1']);

  // The config dockerd's v1.MakeConfigFromV1Config writes: keys sorted, id/parent/Size dropped, rootfs and history added.
  const baseDiff = sha256(baseLayer);
  const childDiff = sha256(childLayer);
  const baseHistory = '{"created":"2015-10-01T10:00:00.000000001Z","created_by":"/bin/sh -c #(nop) ADD file:rootfs in /"}';
  const baseConfig = `{"architecture":"amd64","config":{"Env":["PATH=/bin"],"Cmd":["sh"]},"container_config":{"Cmd":["/bin/sh","-c","#(nop) ADD file:rootfs in /"]},"created":"2015-10-01T10:00:00.000000001Z","docker_version":"1.9.1","history":[${baseHistory}],"os":"linux","rootfs":{"type":"layers","diff_ids":["${baseDiff}"]}}`;
  const childConfig = `{"architecture":"amd64","author":"someone \\u003ca@b\\u003e","config":{"Env":["PATH=/bin","LEGACY=1"],"Cmd":["cat","/etc/legacy"]},"container_config":{"Cmd":["/bin/sh","-c","echo legacy \\u003e /etc/legacy"]},"created":"2015-10-02T10:00:00Z","docker_version":"1.9.1","history":[${baseHistory},{"created":"2015-10-02T10:00:00Z","created_by":"/bin/sh -c echo legacy \\u003e /etc/legacy","author":"someone \\u003ca@b\\u003e"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["${baseDiff}","${childDiff}"]}}`;

  const inspect = await docker(d, ['image', 'inspect', 'legacy:v1', 'legacy-base']);
  assert.equal(inspect.code, 0, inspect.stderr);
  const [child, base] = JSON.parse(inspect.stdout) as { Id: string; Parent: string; RootFS: { Layers: string[] }; Config: { Env: string[] }; Author: string }[];
  assert.equal(base!.Id, sha256(baseConfig));
  assert.equal(child!.Id, sha256(childConfig));
  assert.equal(child!.Parent, base!.Id);
  assert.deepEqual(child!.RootFS.Layers, [baseDiff, childDiff]);
  assert.deepEqual(child!.Config.Env, ['PATH=/bin', 'LEGACY=1']);
  assert.equal(child!.Author, 'someone <a@b>');

  const history = await docker(d, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'legacy:v1']);
  assert.deepEqual(history.stdout.trim().split('\n'), ['/bin/sh -c echo legacy > /etc/legacy', '/bin/sh -c #(nop) ADD file:rootfs in /']);

  const run = await docker(d, ['run', '--rm', 'legacy:v1']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'from a v1 image\n');
  await docker(d, ['rmi', 'legacy:v1', 'legacy-base']);
});

test('a legacy archive whose repositories names a missing image fails and loads nothing', async () => {
  const { archive } = await legacyArchive();
  const broken = Buffer.from(archive.toString('latin1').replace(`"v1":"${CHILD_ID}"`, `"v1":"${'c'.repeat(64)}"`), 'latin1');
  // (same length, so the tar header checksums still hold)
  const res = await api(d.socket, 'POST', '/v1.51/images/load', broken, { 'Content-Type': 'application/x-tar' });
  assert.equal(res.status, 200);
  assert.match(res.body.toString(), new RegExp(`"errorDetail":\\{"message":"invalid target ID: ${'c'.repeat(64)}"\\}`));
  const images = await api(d.socket, 'GET', '/v1.51/images/json');
  assert.deepEqual(images.json(), []);
});

test('load of garbage: HTTP 200 with the error in the stream, through dockerode and the docker CLI', async () => {
  const client = new Docker({ socketPath: d.socket });
  const stream = (await client.loadImage(Readable.from([Buffer.from('this is not a tar archive at all'.repeat(40))]))) as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  const lines = Buffer.concat(chunks).toString().split('\r\n').filter(Boolean).map((l) => JSON.parse(l) as { errorDetail?: { message: string }; error?: string });
  const last = lines.at(-1)!;
  assert.ok(last.errorDetail?.message, JSON.stringify(lines));
  assert.equal(last.error, last.errorDetail!.message);
  assert.deepEqual(Object.keys(last), ['errorDetail', 'error']);

  const file = path.join(tmp, 'garbage.tar');
  await fsp.writeFile(file, 'garbage'.repeat(200));
  const r = await docker(d, ['load', '-i', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /invalid image archive/);
  assert.doesNotMatch(r.stderr, /Error response from daemon/);
});

test('import from a URL: "Downloading from" first, then a failure goes in the stream', async () => {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end('not a tarball either'.repeat(100));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rootfs.tar`;
    const res = await api(d.socket, 'POST', `/v1.51/images/create?fromSrc=${encodeURIComponent(url)}&repo=fromurl`);
    assert.equal(res.status, 200, res.body.toString());
    const lines = res.body.toString().split('\r\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines[0], { status: `Downloading from ${url}` });
    assert.ok((lines.at(-1)!.errorDetail as { message?: string })?.message, JSON.stringify(lines));
    const cli = await docker(d, ['import', url, 'fromurl']);
    assert.equal(cli.code, 1, cli.stdout);
    // A URL that cannot be fetched fails before the stream: the status carries it, as in dockerd.
    const missing = await api(d.socket, 'POST', `/v1.51/images/create?fromSrc=${encodeURIComponent('http://127.0.0.1:1/x.tar')}&repo=fromurl`);
    assert.equal(missing.status, 500);
  } finally {
    server.close();
  }
});
