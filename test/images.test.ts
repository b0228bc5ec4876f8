/** docker images filters, image prune and system df against berthd. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createReadStream } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { busyboxRootfs } from './helpers/rootfs.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

test('images filters: reference, dangling, before/since, label', async () => {
  assert.equal((await docker(d, ['run', '--name', 'src', 'busybox', 'touch', '/a'])).code, 0);
  const one = (await docker(d, ['commit', '-c', 'LABEL tier=one', 'src', 'app:one'])).stdout.trim();
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await docker(d, ['commit', 'src', 'app:two'])).code, 0);
  assert.equal((await docker(d, ['commit', 'src'])).code, 0); // dangling
  const fmt = ['--format', '{{.Repository}}:{{.Tag}}'];
  assert.deepEqual((await docker(d, ['images', ...fmt, 'app'])).stdout.trim().split('\n').sort(), ['app:one', 'app:two']);
  assert.equal((await docker(d, ['images', ...fmt, '--filter', 'reference=app:o*'])).stdout.trim(), 'app:one');
  assert.equal((await docker(d, ['images', ...fmt, '--filter', 'dangling=true'])).stdout.trim(), '<none>:<none>');
  assert.equal((await docker(d, ['images', ...fmt, '--filter', 'label=tier=one'])).stdout.trim(), 'app:one');
  assert.equal((await docker(d, ['images', ...fmt, '--filter', 'before=app:two'])).stdout.trim().split('\n').sort().join(','), 'app:one,busybox:latest');
  assert.match((await docker(d, ['images', ...fmt, '--filter', 'since=app:one'])).stdout, /app:two/);
  assert.equal((await docker(d, ['images', '-q', 'app:one'])).stdout.trim(), one.slice(7, 19));
});

test('image prune removes dangling images; -a removes every unused one', async () => {
  const p = await docker(d, ['image', 'prune', '-f']);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /deleted: sha256:[0-9a-f]{64}/);
  assert.match(p.stdout, /Total reclaimed space: /);
  assert.equal((await docker(d, ['images', '-q', '--filter', 'dangling=true'])).stdout.trim(), '');

  assert.equal((await docker(d, ['rm', 'src'])).code, 0);
  assert.equal((await docker(d, ['create', '--name', 'user', 'app:two', 'true'])).code, 0);
  const all = await docker(d, ['image', 'prune', '-a', '-f']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /untagged: app:one/);
  const left = (await docker(d, ['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim().split('\n').sort();
  // app:two is used by a container; busybox is app:two's parent.
  assert.deepEqual(left, ['app:two', 'busybox:latest']);
  assert.equal((await docker(d, ['rm', 'user'])).code, 0);
});

test('system df reports images, containers and layer sizes', async () => {
  assert.equal((await docker(d, ['create', 'busybox', 'true'])).code, 0);
  const r = await docker(d, ['system', 'df', '--format', '{{.Type}} {{.TotalCount}} {{.Active}}']);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n');
  assert.match(rows[0]!, /^Images 2 \d$/);
  assert.equal(rows[1], 'Containers 1 0');
});

test('docker import from a URL downloads the tarball (loopback server); a dead URL is an error', async (t) => {
  const { tarXz } = await busyboxRootfs();
  const server = http.createServer((req, res) => {
    if (req.url === '/rootfs.tar.xz') createReadStream(tarXz).pipe(res);
    else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const r = await docker(d, ['import', '-m', 'from the web', `http://127.0.0.1:${port}/rootfs.tar.xz`, 'fromurl:1']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await docker(d, ['run', '--rm', 'fromurl:1', 'echo', 'ok'])).stdout, 'ok\n');
  assert.equal((await docker(d, ['image', 'inspect', '-f', '{{.Comment}}', 'fromurl:1'])).stdout.trim(), 'from the web');
  const missing = await docker(d, ['import', `http://127.0.0.1:${port}/nope.tar`, 'fromurl:2']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /unexpected status 404/);
});
