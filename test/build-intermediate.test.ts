/**
 * Intermediate images as dockerd's classic builder leaves them: every
 * step's result is an untagged image whose Parent is the step before's, so
 * `history` shows IDs where it would show `<missing>`, `images -a` lists
 * them (plain `images` and `dangling=true` do not), an intermediate image
 * cannot be removed by ID while it has children, and `rmi` of the final
 * image prunes the chain down to the first image something else needs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { makeContext } from './helpers/build.js';

let d: TestDaemon;
let busyboxId = '';

before(async () => {
  d = await startDaemonWithBusybox();
  busyboxId = (await docker(d, ['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
});

after(async () => {
  await d?.cleanup();
});

async function ok(args: string[]): Promise<string> {
  const r = await docker(d, args);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return r.stdout;
}

/** The short IDs the build printed after each step (" ---> <id>"), the FROM's first. */
function stepIds(out: string): string[] {
  return [...out.matchAll(/^ ---> ([0-9a-f]{12})$/gm)].map((m) => m[1]!);
}

test('each step is an image whose Parent is the step before\'s; history shows their IDs; images -a lists them', async () => {
  const ctx = await makeContext({ Dockerfile: 'FROM busybox\nENV A=1\nRUN echo x > /x\nCMD ["cat", "/x"]\n' });
  const out = await ok(['build', '-t', 'inter:1', ctx]);
  const ids = stepIds(out);
  assert.equal(ids.length, 4, out);
  assert.equal(ids[0], busyboxId.slice(7, 19));
  // Parent links, top down to the base image.
  let cur = 'inter:1';
  for (let i = ids.length - 1; i >= 1; i--) {
    const [id, parent] = (await ok(['image', 'inspect', '-f', '{{.Id}} {{.Parent}}', cur])).trim().split(' ');
    assert.equal(id!.slice(7, 19), ids[i]);
    assert.equal(parent!.slice(7, 19), ids[i - 1]);
    cur = parent!;
  }
  const hist = (await ok(['history', '-q', 'inter:1'])).trim().split('\n');
  assert.deepEqual(hist, [...ids].reverse());
  assert.doesNotMatch(await ok(['history', 'inter:1']), /<missing>/);
  // Listed with -a only; never as dangling.
  const plain = (await ok(['images', '-q', '--no-trunc'])).trim().split('\n').sort();
  assert.equal(plain.length, 2, plain.join(','));
  const all = (await ok(['images', '-a', '-q'])).trim().split('\n');
  for (const id of ids) assert.ok(all.includes(id), `${id} not in images -a`);
  assert.equal((await ok(['images', '-q', '--filter', 'dangling=true'])).trim(), '');
  // A rebuild from the cache gives the same images.
  assert.deepEqual(stepIds(await ok(['build', '-t', 'inter:1', ctx])), ids);
});

test('rmi: an intermediate image by ID is a conflict; the final image takes its untagged parents with it', async () => {
  const ctx = await makeContext({ Dockerfile: 'FROM busybox\nENV B=2\nRUN echo y > /y\n' });
  const ids = stepIds(await ok(['build', '-t', 'inter:2', ctx]));
  const r = await docker(d, ['rmi', ids[1]!]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`conflict: unable to delete ${ids[1]} \\(cannot be forced\\) - image has dependent child images`));
  const out = await ok(['rmi', 'inter:2']);
  const deleted = [...out.matchAll(/^Deleted: sha256:([0-9a-f]{12})/gm)].map((m) => m[1]);
  assert.deepEqual(deleted.slice(0, 2), [ids[2], ids[1]]);
  assert.ok(!deleted.includes(busyboxId.slice(7, 19)), 'the tagged base image went too');
  const all = (await ok(['images', '-a', '-q'])).trim().split('\n');
  assert.ok(!all.includes(ids[1]!) && !all.includes(ids[2]!));
  assert.ok(all.includes(busyboxId.slice(7, 19)));
});

test('rmi of a base image that has children only untags it: it stays as an intermediate image', async () => {
  const out = await ok(['rmi', 'busybox']);
  assert.equal(out.trim(), 'Untagged: busybox:latest');
  const all = (await ok(['images', '-a', '-q'])).trim().split('\n');
  assert.ok(all.includes(busyboxId.slice(7, 19)));
  assert.doesNotMatch(await ok(['history', 'inter:1']), /<missing>/);
});
