/**
 * Real clients against `berth registry serve`: Debian's skopeo copies the
 * busybox test image (saved by berthd as an OCI layout) into the registry
 * and back out, digests unchanged, open and through the token flow; and
 * the collector runs while a pull is in progress: the tag and manifest are
 * deleted mid-pull, the pull completes, and the blobs go afterwards.
 * (docker CLI interop goes through berthd's registry client, which lands
 * separately.)
 */
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { berth, BERTH, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { errCode, pushImage, req, sha256, startRegistry, type TestRegistry } from './helpers/berth-registry.js';

const execFileP = promisify(execFile);
let d: TestDaemon | undefined;
let tmp = '';
let layout = '';
const started: TestRegistry[] = [];

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-reginterop-'));
  d = await startDaemonWithBusybox();
  const tar = path.join(tmp, 'busybox.tar');
  const s = await berth(d, ['save', '-o', tar, 'busybox']);
  assert.equal(s.code, 0, s.stderr);
  layout = path.join(tmp, 'layout');
  await fsp.mkdir(layout);
  await execFileP('tar', ['-C', layout, '-xf', tar]);
});
after(async () => {
  for (const r of started) await r.cleanup();
  await d?.cleanup();
  await fsp.rm(tmp, { recursive: true, force: true });
});

async function skopeo(args: string[]): Promise<string> {
  const { stdout } = await execFileP('skopeo', ['--insecure-policy', ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** The manifest digest of the single image in an OCI layout. */
async function layoutManifest(dir: string): Promise<{ digest: string; manifest: { config: { digest: string }; layers: { digest: string }[] } }> {
  const index = JSON.parse(await fsp.readFile(path.join(dir, 'index.json'), 'utf8'));
  const digest = index.manifests[0].digest as string;
  const manifest = JSON.parse(await fsp.readFile(path.join(dir, 'blobs', 'sha256', digest.slice(7)), 'utf8'));
  return { digest, manifest };
}

test('skopeo copy into the registry and back out keeps every digest', { timeout: 180_000 }, async () => {
  const r = await startRegistry([]);
  started.push(r);
  const src = await layoutManifest(layout);
  await skopeo(['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}`, `docker://${r.addr}/library/busybox:latest`]);
  const m = await req(r.addr, 'GET', '/v2/library/busybox/manifests/latest', { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(m.status, 200);
  assert.equal(m.headers['docker-content-digest'], src.digest);
  assert.equal(sha256(m.body), src.digest);
  const inspect = JSON.parse(await skopeo(['inspect', '--tls-verify=false', `docker://${r.addr}/library/busybox:latest`]));
  assert.equal(inspect.Digest, src.digest);
  assert.deepEqual(inspect.Layers, src.manifest.layers.map((l) => l.digest));
  assert.deepEqual(JSON.parse(await skopeo(['list-tags', '--tls-verify=false', `docker://${r.addr}/library/busybox`])).Tags, ['latest']);
  // And back out to a fresh layout: the same manifest, config and layers, byte for byte.
  const out = path.join(tmp, 'out');
  await skopeo(['copy', '--preserve-digests', '--src-tls-verify=false', `docker://${r.addr}/library/busybox:latest`, `oci:${out}:latest`]);
  const back = await layoutManifest(out);
  assert.equal(back.digest, src.digest);
  for (const b of [src.manifest.config.digest, ...src.manifest.layers.map((l) => l.digest)]) {
    assert.equal(sha256(await fsp.readFile(path.join(out, 'blobs', 'sha256', b.slice(7)))), b);
  }
  // Registry to registry (cross-repository within one server: skopeo mounts blobs), then skopeo delete.
  await skopeo(['copy', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${r.addr}/library/busybox:latest`, `docker://${r.addr}/copies/busybox:1`]);
  assert.equal((await req(r.addr, 'HEAD', '/v2/copies/busybox/manifests/1')).headers['docker-content-digest'], src.digest);
  await skopeo(['delete', '--tls-verify=false', `docker://${r.addr}/copies/busybox:1`]);
  assert.equal((await req(r.addr, 'GET', `/v2/copies/busybox/manifests/${src.digest}`)).status, 404);
  assert.equal((await req(r.addr, 'GET', '/v2/library/busybox/manifests/latest')).status, 200);
});

test('skopeo through the token flow (Basic credentials at /token, Bearer at the registry)', { timeout: 180_000 }, async () => {
  const pw = path.join(tmp, 'htpasswd');
  await fsp.writeFile(pw, `ci:${bcrypt.hashSync('secret', 5)}\n`);
  const r = await startRegistry(['--token', '--htpasswd', pw]);
  started.push(r);
  const src = await layoutManifest(layout);
  await assert.rejects(skopeo(['copy', '--dest-tls-verify=false', `oci:${layout}`, `docker://${r.addr}/private/busybox:latest`]));
  await skopeo(['copy', '--preserve-digests', '--dest-tls-verify=false', '--dest-creds', 'ci:secret', `oci:${layout}`, `docker://${r.addr}/private/busybox:latest`]);
  const inspect = JSON.parse(await skopeo(['inspect', '--tls-verify=false', '--creds', 'ci:secret', `docker://${r.addr}/private/busybox:latest`]));
  assert.equal(inspect.Digest, src.digest);
  await assert.rejects(skopeo(['inspect', '--tls-verify=false', '--creds', 'ci:wrong', `docker://${r.addr}/private/busybox:latest`]));
});

test('gc while a pull is running: the pull completes, the blobs go afterwards', { timeout: 240_000 }, async () => {
  const r = await startRegistry(['--gc-grace', '20s', '--gc-interval', '2s']);
  started.push(r);
  const big = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
  const img = await pushImage(r.addr, 'gc/img', 'latest', [big, Buffer.from('second layer')]);
  const keep = await pushImage(r.addr, 'gc/keep', 'latest', [Buffer.from('kept layer')]);
  // The pull starts: manifest, then the big layer's first bytes.
  const m = await req(r.addr, 'GET', '/v2/gc/img/manifests/latest');
  assert.equal(m.status, 200);
  const layers = (m.json().layers as { digest: string }[]).map((l) => l.digest);
  const [host, port] = r.addr.split(':');
  const pulling = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get({ host, port: Number(port), path: `/v2/gc/img/blobs/${layers[0]}`, agent: false }, resolve).on('error', reject);
  });
  const chunks: Buffer[] = [];
  const firstChunk = await new Promise<Buffer>((resolve) => pulling.once('data', resolve));
  pulling.pause();
  chunks.push(firstChunk);
  // Mid-pull: the manifest (and with it the tag) is deleted, and a collection runs.
  assert.equal((await req(r.addr, 'DELETE', `/v2/gc/img/manifests/${img.digest}`)).status, 202);
  assert.equal((await req(r.addr, 'GET', '/v2/gc/img/manifests/latest')).status, 404);
  const gc = await execFileP(process.execPath, ['--', BERTH, 'registry', 'gc', '--root', r.root, '--gc-grace', '20s']);
  assert.match(gc.stdout, /deleted 0 blobs/);
  // The pull completes with the right bytes.
  pulling.resume();
  for await (const c of pulling) chunks.push(c as Buffer);
  assert.equal(sha256(Buffer.concat(chunks)), layers[0]);
  const second = await req(r.addr, 'GET', `/v2/gc/img/blobs/${layers[1]}`);
  assert.equal(second.status, 200);
  assert.equal(sha256(second.body), layers[1]);
  const config = await req(r.addr, 'GET', `/v2/gc/img/blobs/${img.blobs[0]}`);
  assert.equal(sha256(config.body), img.blobs[0]);
  // Afterwards (once the pull's lease and the push's grace are over) the collector takes them:
  // the server's own schedule, and `berth registry gc` beside it.
  let gone = false;
  for (let i = 0; i < 60 && !gone; i++) {
    await new Promise((res) => setTimeout(res, 1000));
    if (i % 5 === 4) await execFileP(process.execPath, ['--', BERTH, 'registry', 'gc', '--root', r.root, '--gc-grace', '20s']);
    // Watched on disk: a GET would itself be pull activity that keeps the lease alive.
    gone = await fsp.access(path.join(r.root, 'content', 'blobs', 'sha256', layers[0]!.slice(7))).then(() => false, () => true);
  }
  assert.ok(gone, 'the deleted image\'s layer was never collected');
  for (const b of [...layers, img.blobs[0]!]) {
    const res = await req(r.addr, 'GET', `/v2/gc/img/blobs/${b}`);
    assert.equal(errCode(res), 'BLOB_UNKNOWN', b);
    await assert.rejects(fsp.access(path.join(r.root, 'content', 'blobs', 'sha256', b.slice(7))));
  }
  // What a tag still reaches is kept.
  const k = await req(r.addr, 'GET', '/v2/gc/keep/manifests/latest');
  assert.equal(k.headers['docker-content-digest'], keep.digest);
  for (const b of keep.blobs) assert.equal((await req(r.addr, 'GET', `/v2/gc/keep/blobs/${b}`)).status, 200);
});
