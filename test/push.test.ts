/**
 * Push to Debian's distribution registry through the docker CLI v28 and the
 * berth CLI: an imported layer (stored uncompressed) and a committed layer
 * (no blob at all) gzipped on the fly, the manifest and dockerd's messages;
 * a second push HEADs and skips every layer; a push to a sibling repository
 * mounts the layers; `-a` pushes every tag; the pushed image pulls into a
 * fresh daemon with the same ID and runs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { berth, docker, startDaemon, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { startRegistry, type TestRegistry } from './helpers/distribution-registry.js';

let src: TestDaemon;
let d2: TestDaemon;
let reg: TestRegistry;
let name = '';
let imageId = '';

before(async () => {
  [src, d2, reg] = await Promise.all([startDaemonWithBusybox(), startDaemon(), startRegistry()]);
  name = `${reg.host}/push/two`;
  let r = await docker(src, ['run', '--name', 'c1', 'busybox', 'sh', '-c', 'echo pushed-layer > /pushed']);
  assert.equal(r.code, 0, r.stderr);
  r = await docker(src, ['commit', 'c1', `${name}:v1`]);
  assert.equal(r.code, 0, r.stderr);
  imageId = r.stdout.trim();
});

after(async () => {
  await Promise.all([src?.cleanup(), d2?.cleanup(), reg?.cleanup()]);
});

async function manifestOf(repo: string, tag: string): Promise<{ mediaType: string; layers: { mediaType: string; digest: string; size: number }[]; config: { digest: string } }> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
  assert.equal(res.status, 200);
  return (await res.json()) as never;
}

test('docker push: layers gzipped and uploaded, dockerd messages, the manifest in the registry', async () => {
  const r = await docker(src, ['push', `${name}:v1`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`The push refers to repository \\[${name.replace(/\./g, '\\.')}\\]`));
  assert.equal((r.stdout.match(/: Pushed/g) ?? []).length, 2, r.stdout);
  const m = /v1: digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  const manifest = await manifestOf('push/two', 'v1');
  assert.equal(manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.equal(manifest.config.digest, imageId);
  assert.equal(manifest.layers.length, 2);
  for (const l of manifest.layers) assert.equal(l.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
  const insp = await docker(src, ['image', 'inspect', '--format', '{{json .RepoDigests}}', `${name}:v1`]);
  assert.equal(insp.stdout.trim(), `["${name}@${m[1]}"]`);
});

test('a second push skips every layer; a sibling repository mounts them', async () => {
  let r = await berth(src, ['push', `${name}:v1`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((r.stdout.match(/Layer already exists/g) ?? []).length, 2, r.stdout);
  assert.doesNotMatch(r.stdout, /Pushed/);
  const other = `${reg.host}/other/copy:v1`;
  r = await docker(src, ['tag', `${name}:v1`, other]);
  assert.equal(r.code, 0, r.stderr);
  r = await docker(src, ['push', other]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((r.stdout.match(/Mounted from push\/two/g) ?? []).length, 2, r.stdout);
});

test('push -a pushes every tag; the image pulls into a fresh daemon with the same ID and runs', async () => {
  let r = await docker(src, ['tag', `${name}:v1`, `${name}:v2`]);
  assert.equal(r.code, 0, r.stderr);
  r = await berth(src, ['push', '-a', name]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /v1: digest: sha256:/);
  assert.match(r.stdout, /v2: digest: sha256:/);
  const tags = (await (await fetch(`${reg.url}/v2/push/two/tags/list`)).json()) as { tags: string[] };
  assert.deepEqual(tags.tags.sort(), ['v1', 'v2']);
  r = await docker(d2, ['pull', `${name}:v2`]);
  assert.equal(r.code, 0, r.stderr);
  const id = await docker(d2, ['image', 'inspect', '--format', '{{.Id}}', `${name}:v2`]);
  assert.equal(id.stdout.trim(), imageId);
  r = await docker(d2, ['run', '--rm', `${name}:v2`, 'cat', '/pushed']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'pushed-layer\n');
  // A pulled image pushes its stored compressed blobs back as they are: every layer exists.
  r = await docker(d2, ['push', `${name}:v2`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((r.stdout.match(/Layer already exists/g) ?? []).length, 2, r.stdout);
});

test('bad input: a tag that does not exist locally, -a with a tag', async () => {
  let r = await docker(src, ['push', `${name}:nosuch`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /An image does not exist locally with the tag: /);
  r = await berth(src, ['push', '-a', `${name}:v1`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /tag can't be used with --all-tags\/-a/);
});
