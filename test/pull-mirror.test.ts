/**
 * Where pulls come from and what they pick: daemon.json `registry-mirrors`
 * (a dead mirror first, then a local registry holding library/busybox:
 * `docker pull busybox` succeeds with no route to Docker Hub), an image
 * index resolved to this machine's platform or to `--platform`, the
 * distribution inspect endpoint, and `pull -a`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { berth, docker, startDaemon, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { api } from './helpers/http.js';
import { freePort, startRegistry, type TestRegistry } from './helpers/distribution-registry.js';

let src: TestDaemon;
let d: TestDaemon;
let reg: TestRegistry;
let busyboxId = '';

const MT_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

before(async () => {
  [src, reg] = await Promise.all([startDaemonWithBusybox(), startRegistry()]);
  const dead = await freePort();
  const dir = await fsp.mkdtemp(path.join(src.dir, 'cfg-'));
  const cfg = path.join(dir, 'daemon.json');
  await fsp.writeFile(cfg, JSON.stringify({ 'registry-mirrors': [`http://127.0.0.1:${dead}`, `http://${reg.host}`], 'max-concurrent-downloads': 2 }));
  d = await startDaemon(['--config-file', cfg]);
  busyboxId = (await docker(src, ['image', 'inspect', '--format', '{{.Id}}', 'busybox'])).stdout.trim();
  for (const t of [`${reg.host}/library/busybox:latest`, `${reg.host}/multi/bb:1`, `${reg.host}/multi/bb:2`]) {
    assert.equal((await docker(src, ['tag', 'busybox', t])).code, 0);
    const r = await docker(src, ['push', t]);
    assert.equal(r.code, 0, r.stderr);
  }
});

after(async () => {
  await Promise.all([src?.cleanup(), d?.cleanup(), reg?.cleanup()]);
});

test('registry-mirrors: docker pull busybox comes from the mirror (after a dead one), and runs', async () => {
  const r = await docker(d, ['pull', 'busybox']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /latest: Pulling from library\/busybox/);
  assert.match(r.stdout, /Status: Downloaded newer image for busybox:latest/);
  assert.match(r.stdout, /docker\.io\/library\/busybox:latest/);
  const insp = await docker(d, ['image', 'inspect', '--format', '{{.Id}} {{json .RepoTags}}', 'busybox']);
  assert.equal(insp.stdout.trim(), `${busyboxId} ["busybox:latest"]`);
  const run = await docker(d, ['run', '--rm', 'busybox', 'echo', 'from-mirror']);
  assert.equal(run.stdout, 'from-mirror\n', run.stderr);
  // Pushes never go to a mirror: docker.io stays unreachable.
  const push = await docker(d, ['push', 'busybox']);
  assert.notEqual(push.code, 0);
});

async function put(p: string, type: string, body: Buffer): Promise<void> {
  const res = await fetch(`${reg.url}${p}`, { method: 'PUT', headers: { 'Content-Type': type }, body: new Uint8Array(body) });
  assert.ok(res.status === 201 || res.status === 202, `${p}: ${res.status} ${await res.text()}`);
}

test('an index resolves to the host platform, or to --platform; the distribution endpoint lists its platforms', async () => {
  const amd = (await (await fetch(`${reg.url}/v2/multi/bb/manifests/1`, { headers: { Accept: MT_MANIFEST } })).arrayBuffer()) as ArrayBuffer;
  const amdBuf = Buffer.from(amd);
  const m = JSON.parse(amdBuf.toString()) as { config: { digest: string; size: number }; layers: unknown[] };
  // An arm64 twin: the same layers under a config that says arm64.
  const cfg = JSON.parse(Buffer.from(await (await fetch(`${reg.url}/v2/multi/bb/blobs/${m.config.digest}`)).arrayBuffer()).toString()) as Record<string, unknown>;
  const armCfg = Buffer.from(JSON.stringify({ ...cfg, architecture: 'arm64', variant: 'v8' }));
  const armCfgDigest = `sha256:${createHash('sha256').update(armCfg).digest('hex')}`;
  const up = await fetch(`${reg.url}/v2/multi/bb/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(up.headers.get('location')!, reg.url);
  loc.searchParams.set('digest', armCfgDigest);
  assert.equal((await fetch(loc, { method: 'PUT', body: new Uint8Array(armCfg), headers: { 'Content-Type': 'application/octet-stream' } })).status, 201);
  const armManifest = Buffer.from(JSON.stringify({ ...m, config: { ...m.config, digest: armCfgDigest, size: armCfg.length } }));
  const armDigest = `sha256:${createHash('sha256').update(armManifest).digest('hex')}`;
  await put(`/v2/multi/bb/manifests/${armDigest}`, MT_MANIFEST, armManifest);
  const amdDigest = `sha256:${createHash('sha256').update(amdBuf).digest('hex')}`;
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: MT_MANIFEST, digest: armDigest, size: armManifest.length, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
        { mediaType: MT_MANIFEST, digest: amdDigest, size: amdBuf.length, platform: { architecture: 'amd64', os: 'linux' } },
      ],
    }),
  );
  const indexDigest = `sha256:${createHash('sha256').update(index).digest('hex')}`;
  await put('/v2/multi/bb/manifests/multi', 'application/vnd.oci.image.index.v1+json', index);

  const name = `${reg.host}/multi/bb:multi`;
  let r = await docker(d, ['pull', name]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Digest: ${indexDigest}`));
  let insp = await docker(d, ['image', 'inspect', '--format', '{{.Id}} {{.Architecture}}', name]);
  assert.equal(insp.stdout.trim(), `${busyboxId} amd64`);
  // The same image may carry other repositories' digests too (the mirror test pulled it as busybox): the index digest is among them.
  const digests = JSON.parse((await docker(d, ['image', 'inspect', '--format', '{{json .RepoDigests}}', name])).stdout) as string[];
  assert.ok(digests.includes(`${reg.host}/multi/bb@${indexDigest}`), digests.join(' '));
  r = await berth(d, ['pull', '--platform', 'linux/arm64', name]);
  assert.equal(r.code, 0, r.stderr);
  insp = await docker(d, ['image', 'inspect', '--format', '{{.Id}} {{.Architecture}}', name]);
  assert.equal(insp.stdout.trim(), `${armCfgDigest} arm64`);
  r = await docker(d, ['pull', '--platform', 'linux/s390x', name]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no matching manifest for linux\/s390x in the manifest list entries/);

  const dist = await api(d.socket, 'GET', `/distribution/${name}/json`);
  assert.equal(dist.status, 200);
  const body = dist.json() as { Descriptor: { mediaType: string; digest: string; size: number }; Platforms: { architecture: string; os: string }[] };
  assert.deepEqual(body.Descriptor, { mediaType: 'application/vnd.oci.image.index.v1+json', digest: indexDigest, size: index.length });
  assert.deepEqual(body.Platforms.map((p) => `${p.os}/${p.architecture}`), ['linux/arm64', 'linux/amd64']);
});

test('pull -a pulls every tag of the repository', async () => {
  const r = await docker(d, ['pull', '-a', `${reg.host}/multi/bb`]);
  assert.equal(r.code, 0, r.stderr);
  const ls = await docker(d, ['images', '--format', '{{.Tag}}', `${reg.host}/multi/bb`]);
  const tags = ls.stdout.trim().split('\n').sort();
  for (const t of ['1', '2', 'multi']) assert.ok(tags.includes(t), ls.stdout);
});
