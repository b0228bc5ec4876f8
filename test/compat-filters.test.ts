/**
 * `label` filters with several values match only objects that carry all of
 * them (AND), as dockerd's filters.Args.MatchKVList does, for containers,
 * images and volumes (the predefined networks carry no labels, so any label
 * filter leaves none). Driven through the docker CLI v28.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { busyboxRootfs } from './helpers/rootfs.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

async function ok(args: string[]): Promise<string> {
  const r = await docker(d, args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const lines = (s: string) => s.split('\n').filter(Boolean).sort();

test('containers: two label filters match only the container with both', async () => {
  await ok(['create', '--name', 'both', '--label', 'a=1', '--label', 'b=2', 'busybox', 'true']);
  await ok(['create', '--name', 'only-a', '--label', 'a=1', 'busybox', 'true']);
  await ok(['create', '--name', 'only-b', '--label', 'b=2', 'busybox', 'true']);
  assert.deepEqual(lines(await ok(['ps', '-a', '--filter', 'label=a=1', '--filter', 'label=b=2', '--format', '{{.Names}}'])), ['both']);
  assert.deepEqual(lines(await ok(['ps', '-a', '--filter', 'label=a', '--filter', 'label=b', '--format', '{{.Names}}'])), ['both']);
  assert.deepEqual(lines(await ok(['ps', '-a', '--filter', 'label=a', '--format', '{{.Names}}'])), ['both', 'only-a']);
  // Other filters stay OR over their values.
  assert.deepEqual(lines(await ok(['ps', '-a', '--filter', 'name=only-a', '--filter', 'name=only-b', '--format', '{{.Names}}'])), ['only-a', 'only-b']);
  // prune takes the same rule.
  const pruned = await ok(['container', 'prune', '-f', '--filter', 'label=a=1', '--filter', 'label=b=2']);
  assert.match(pruned, /Deleted Containers:/);
  assert.deepEqual(lines(await ok(['ps', '-a', '--format', '{{.Names}}'])), ['only-a', 'only-b']);
  await ok(['rm', 'only-a', 'only-b']);
});

test('images: two label filters match only the image with both', async () => {
  const { tar } = await busyboxRootfs();
  await ok(['import', '--change', 'LABEL x=1 y=2', tar, 'lab-both:1']);
  await ok(['import', '--change', 'LABEL x=1', tar, 'lab-x:1']);
  await ok(['import', '--change', 'LABEL y=2', tar, 'lab-y:1']);
  assert.deepEqual(lines(await ok(['images', '--filter', 'label=x=1', '--filter', 'label=y=2', '--format', '{{.Repository}}'])), ['lab-both']);
  assert.deepEqual(lines(await ok(['images', '--filter', 'label=x', '--format', '{{.Repository}}'])), ['lab-both', 'lab-x']);
  await ok(['rmi', 'lab-both:1', 'lab-x:1', 'lab-y:1']);
});

test('volumes: two label filters match only the volume with both', async () => {
  await ok(['volume', 'create', '--label', 'p=1', '--label', 'q=2', 'vboth']);
  await ok(['volume', 'create', '--label', 'p=1', 'vp']);
  await ok(['volume', 'create', '--label', 'q=2', 'vq']);
  assert.deepEqual(lines(await ok(['volume', 'ls', '-q', '--filter', 'label=p=1', '--filter', 'label=q=2'])), ['vboth']);
  assert.deepEqual(lines(await ok(['volume', 'ls', '-q', '--filter', 'label=p', '--filter', 'label=q'])), ['vboth']);
  await ok(['volume', 'rm', 'vboth', 'vp', 'vq']);
});

test('networks: the predefined networks carry no labels', async () => {
  assert.deepEqual(lines(await ok(['network', 'ls', '-q', '--filter', 'label=a'])), []);
  assert.ok(lines(await ok(['network', 'ls', '-q'])).length >= 2);
});
