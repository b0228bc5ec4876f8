/**
 * docker diff, commit and history against berthd: a container's upper layer
 * becomes one new layer (deletions as whiteouts) over its image's layers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { docker, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { busyboxRootfs } from './helpers/rootfs.js';

let d: TestDaemon;
let baseId = '';

before(async () => {
  d = await startDaemon();
  const { tar } = await busyboxRootfs();
  const r = await docker(d, ['import', tar, 'busybox']);
  assert.equal(r.code, 0, r.stderr);
  baseId = r.stdout.trim();
});

after(async () => {
  await d?.cleanup();
});

test('docker diff lists added, changed and deleted paths; runtime mount points do not show', async () => {
  const r = await docker(d, ['run', '--name', 'changer', 'busybox', 'sh', '-c', 'echo new > /tmp/added; rm /bin/vi; mkdir -p /root/dir; echo x > /root/dir/f']);
  assert.equal(r.code, 0, r.stderr);
  const diff = await docker(d, ['diff', 'changer']);
  assert.equal(diff.code, 0, diff.stderr);
  assert.deepEqual(diff.stdout.trim().split('\n'), ['C /bin', 'D /bin/vi', 'C /root', 'A /root/dir', 'A /root/dir/f', 'C /tmp', 'A /tmp/added']);
});

test('docker commit makes an image whose layer holds only the changes, with deletions kept', async () => {
  const c = await docker(d, ['commit', '-m', 'my change', '-a', 'Tester <t@example.com>', '-c', 'ENV COMMITTED=yes', '-c', 'CMD ["cat", "/tmp/added"]', 'changer', 'committed:1']);
  assert.equal(c.code, 0, c.stderr);
  const id = c.stdout.trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);

  const insp = await docker(d, ['image', 'inspect', '-f', '{{len .RootFS.Layers}} {{.Parent}} {{.Author}} {{.Comment}} {{json .Config.Cmd}}', 'committed:1']);
  assert.equal(insp.stdout.trim(), `2 ${baseId} Tester <t@example.com> my change ["cat","/tmp/added"]`);

  const run = await docker(d, ['run', '--rm', 'committed:1']);
  assert.equal(run.stdout, 'new\n');
  const env = await docker(d, ['run', '--rm', 'committed:1', 'sh', '-c', 'echo $COMMITTED; cat /root/dir/f; ls /bin/vi 2>&1 || true']);
  assert.equal(env.stdout, 'yes\nx\nls: /bin/vi: No such file or directory\n');

  // The base layer is shared, not copied: the new layer is small.
  const hist = await docker(d, ['history', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}', 'committed:1']);
  const rows = hist.stdout.trim().split('\n');
  assert.equal(rows.length, 2);
  const [top, bottom] = rows.map((r) => r.split('|'));
  assert.equal(top![0], id.slice(7, 19));
  assert.match(top![1]!, /sh -c echo new > \/tmp\/added; rm \/bin\/vi/);
  assert.match(top![2]!, /^\d+(\.\d+)?B$|^\d+(\.\d+)?kB$/);
  assert.equal(top![3], 'my change');
  assert.equal(bottom![0], baseId.slice(7, 19));
  assert.equal(bottom![3], 'Imported from -');
});

test('commit of a running container pauses it and keeps it running', async () => {
  assert.equal((await docker(d, ['run', '-d', '--name', 'live', 'busybox', 'sh', '-c', 'echo live > /state; sleep 60'])).code, 0);
  await new Promise((r) => setTimeout(r, 300));
  const c = await docker(d, ['commit', 'live', 'livesnap']);
  assert.equal(c.code, 0, c.stderr);
  assert.equal((await docker(d, ['inspect', '-f', '{{.State.Status}}', 'live'])).stdout.trim(), 'running');
  assert.equal((await docker(d, ['run', '--rm', 'livesnap', 'cat', '/state'])).stdout, 'live\n');
  assert.equal((await docker(d, ['rm', '-f', 'live'])).code, 0);
});

test('commit of an unknown container is a 404', async () => {
  const r = await docker(d, ['commit', 'nosuch', 'x']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /No such container: nosuch/);
});
