/**
 * Bad input gets Docker's status code and a one-line message, and nothing
 * already stored changes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { docker, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { api } from './helpers/http.js';
import { busyboxRootfs } from './helpers/rootfs.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemon();
  const { tar } = await busyboxRootfs();
  const r = await docker(d, ['import', tar, 'busybox']);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await d?.cleanup();
});

/** Everything berth has stored, to compare before and after a failed request. */
async function snapshot(): Promise<string> {
  const list = async (dir: string) => (await fsp.readdir(dir).catch(() => [] as string[])).sort().join(',');
  const images = (await api(d.socket, 'GET', '/images/json?all=1')).body.toString();
  const containers = (await api(d.socket, 'GET', '/containers/json?all=1')).body.toString();
  return [
    images,
    containers,
    await list(path.join(d.dataRoot, 'content', 'blobs', 'sha256')),
    await list(path.join(d.dataRoot, 'content', 'ingest')),
    await list(path.join(d.dataRoot, 'overlay2', 'layers')),
    // Unpacks in progress would show here; removed containers' layers being deleted in the background (rm-rw-*) are not state.
    (await list(path.join(d.dataRoot, 'overlay2', 'tmp'))).split(',').filter((n) => !n.startsWith('rm-rw-')).join(','),
  ].join('\n');
}

function assertError(r: { status: number; json<T>(): T }, status: number, message: RegExp): void {
  assert.equal(r.status, status);
  const body = r.json<{ message: string }>();
  assert.match(body.message, message);
  assert.ok(!body.message.includes('\n'), 'one-line message');
}

test('/_ping answers GET and HEAD with the negotiation headers', async () => {
  for (const method of ['GET', 'HEAD']) {
    const r = await api(d.socket, method, '/_ping');
    assert.equal(r.status, 200);
    assert.equal(r.headers['api-version'], '1.51');
    assert.equal(r.headers['ostype'], 'linux');
    assert.match(String(r.headers['server']), /^Docker\/28\.\d+\.\d+ \(linux\)$/);
    // The legacy builder is served, so the docker CLI is told to use it (dockerd without BuildKit says the same).
    assert.equal(r.headers['builder-version'], '1');
    assert.equal(r.body.toString(), method === 'GET' ? 'OK' : '');
  }
  const versioned = await api(d.socket, 'GET', '/v1.41/_ping');
  assert.equal(versioned.status, 200);
});

test('API versions outside 1.24..1.51 are refused with 400', async () => {
  assertError(await api(d.socket, 'GET', '/v1.12/version'), 400, /client version 1\.12 is too old\. Minimum supported API version is 1\.24/);
  assertError(await api(d.socket, 'GET', '/v1.99/version'), 400, /client version 1\.99 is too new\. Maximum supported API version is 1\.51/);
  const ok = await api(d.socket, 'GET', '/v1.24/version');
  assert.equal(ok.status, 200);
  assert.equal(ok.json<{ ApiVersion: string }>().ApiVersion, '1.51');
});

test('unknown paths are 404', async () => {
  assertError(await api(d.socket, 'GET', '/nope'), 404, /page not found/);
});

test('malformed JSON on create is a 400 and creates nothing', async () => {
  const before = await snapshot();
  assertError(await api(d.socket, 'POST', '/containers/create', '{"Image": "busybox",'), 400, /invalid JSON/);
  assert.equal(await snapshot(), before);
});

test('unknown container and image are 404 with Docker\'s messages', async () => {
  assertError(await api(d.socket, 'GET', '/containers/nosuch/json'), 404, /^No such container: nosuch$/);
  assertError(await api(d.socket, 'DELETE', '/containers/nosuch'), 404, /^No such container: nosuch$/);
  assertError(await api(d.socket, 'GET', '/images/nosuch/json'), 404, /^No such image: nosuch:latest$/);
  assertError(await api(d.socket, 'POST', '/containers/create', { Image: 'nosuch', Cmd: ['true'] }), 404, /^No such image: nosuch:latest$/);
});

test('a name already in use is a 409 and the first container is untouched', async () => {
  const first = await api(d.socket, 'POST', '/containers/create?name=taken', { Image: 'busybox', Cmd: ['true'] });
  assert.equal(first.status, 201);
  const before = await snapshot();
  assertError(
    await api(d.socket, 'POST', '/containers/create?name=taken', { Image: 'busybox', Cmd: ['true'] }),
    409,
    /^Conflict\. The container name "\/taken" is already in use by container "[0-9a-f]{64}"\./,
  );
  assertError(await api(d.socket, 'POST', '/containers/create?name=bad%20name', { Image: 'busybox', Cmd: ['true'] }), 400, /^Invalid container name \(bad name\)/);
  assert.equal(await snapshot(), before);
  assert.equal((await api(d.socket, 'DELETE', '/containers/taken')).status, 204);
});

test('a container without a command is a 400', async () => {
  assertError(await api(d.socket, 'POST', '/containers/create', { Image: 'busybox' }), 400, /No command specified/);
});

test('invalid references are 400s', async () => {
  assertError(await api(d.socket, 'POST', '/images/busybox/tag?repo=Bad&tag=x'), 400, /invalid reference format: repository name \(library\/Bad\) must be lowercase/);
  assertError(await api(d.socket, 'POST', '/images/busybox/tag?repo=ok&tag=-bad'), 400, /invalid/);
});

test('a corrupt or non-tar import stream is a 400 and leaves the store as it was', async () => {
  const before = await snapshot();
  const notTar = await api(d.socket, 'POST', '/images/create?fromSrc=-&repo=junk', Buffer.from('this is not a tarball at all\n'.repeat(100)), { 'Content-Type': 'application/x-tar' });
  assert.equal(notTar.status, 400, notTar.body.toString());
  const { tar } = await busyboxRootfs();
  const full = await fsp.readFile(tar);
  const truncated = await api(d.socket, 'POST', '/images/create?fromSrc=-&repo=junk', full.subarray(0, Math.floor(full.length / 2)), { 'Content-Type': 'application/x-tar' });
  assert.equal(truncated.status, 400, truncated.body.toString());
  const badGzip = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(100, 7)]);
  const gz = await api(d.socket, 'POST', '/images/create?fromSrc=-&repo=junk', badGzip, { 'Content-Type': 'application/x-tar' });
  assert.ok(gz.status >= 400, `status ${gz.status}`);
  assert.equal(await snapshot(), before);
});

test('starting a running container is a 304; removing it without force a 409', async () => {
  const c = await api(d.socket, 'POST', '/containers/create', { Image: 'busybox', Cmd: ['sleep', '30'] });
  const id = c.json<{ Id: string }>().Id;
  assert.equal((await api(d.socket, 'POST', `/containers/${id}/start`)).status, 204);
  assert.equal((await api(d.socket, 'POST', `/containers/${id}/start`)).status, 304);
  assertError(await api(d.socket, 'DELETE', `/containers/${id}`), 409, /container is running: stop the container before removing or force remove/);
  assert.equal((await api(d.socket, 'DELETE', `/containers/${id}?force=1`)).status, 204);
  assertError(await api(d.socket, 'GET', `/containers/${id}/json`), 404, /No such container/);
});
