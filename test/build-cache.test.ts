/**
 * The build cache step by step: a rebuild reports "---> Using cache" for
 * every step and makes the same image; a changed file rebuilds from the
 * COPY that takes it; --no-cache; the cache survives a daemon restart; it
 * shows in system df and `docker builder prune` frees it (images built keep
 * their layers).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { berth, docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { makeContext } from './helpers/build.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

/** For each step after FROM: "cache" or "run". */
function stepKinds(out: string): string[] {
  const blocks = out.split(/^Step \d+\/\d+ : /m).slice(2);
  return blocks.map((b) => (/^ ---> Using cache$/m.test(b) ? 'cache' : 'run'));
}

function builtId(out: string): string {
  const m = /Successfully built ([0-9a-f]{12})/.exec(out);
  assert.ok(m, out);
  return m[1]!;
}

const DOCKERFILE = ['FROM busybox', 'ENV A=1', 'COPY first.txt /first.txt', 'RUN cat /first.txt > /derived', 'COPY second/ /second/', 'RUN ls /second > /listing', 'CMD ["cat", "/derived", "/listing"]', ''].join('\n');

test('a rebuild uses the cache for every step; one changed file rebuilds from its COPY on', async () => {
  const ctx = await makeContext({ Dockerfile: DOCKERFILE, 'first.txt': 'one\n', 'second/a': 'a\n', 'second/b': 'b\n', '.dockerignore': 'second/ignored\n', 'second/ignored': 'x\n' });
  const cold = await docker(d, ['build', '-t', 'cached:1', ctx]);
  assert.equal(cold.code, 0, cold.stderr);
  assert.deepEqual(stepKinds(cold.stdout), ['run', 'run', 'run', 'run', 'run', 'run']);
  const warm = await docker(d, ['build', '-t', 'cached:1', ctx]);
  assert.equal(warm.code, 0, warm.stderr);
  assert.deepEqual(stepKinds(warm.stdout), ['cache', 'cache', 'cache', 'cache', 'cache', 'cache']);
  assert.equal(builtId(warm.stdout), builtId(cold.stdout));
  // The berth CLI sends the same context (its .dockerignore too): the same cache applies.
  const viaBerth = await berth(d, ['build', ctx]);
  assert.equal(viaBerth.code, 0, viaBerth.stderr);
  assert.deepEqual(stepKinds(viaBerth.stdout), ['cache', 'cache', 'cache', 'cache', 'cache', 'cache']);
  assert.equal(builtId(viaBerth.stdout), builtId(cold.stdout));

  // A file's content changes: ENV, the first COPY and its RUN stay cached; the second COPY and after rebuild.
  await fsp.writeFile(path.join(ctx, 'second', 'b'), 'changed\n');
  const one = await docker(d, ['build', '-t', 'cached:2', ctx]);
  assert.equal(one.code, 0, one.stderr);
  assert.deepEqual(stepKinds(one.stdout), ['cache', 'cache', 'cache', 'run', 'run', 'run']);
  assert.notEqual(builtId(one.stdout), builtId(cold.stdout));
  // Metadata counts too: the mode of a file.
  await fsp.chmod(path.join(ctx, 'first.txt'), 0o600);
  const mode = await docker(d, ['build', ctx]);
  assert.deepEqual(stepKinds(mode.stdout), ['cache', 'run', 'run', 'run', 'run', 'run']);
  // A build arg that a RUN sees changes its key.
  const noCache = await docker(d, ['build', '--no-cache', ctx]);
  assert.deepEqual(stepKinds(noCache.stdout), ['run', 'run', 'run', 'run', 'run', 'run']);
  const run = await docker(d, ['run', '--rm', 'cached:2']);
  assert.equal(run.stdout, 'one\na\nb\n');
});

test('build args a RUN sees are part of its key', async () => {
  const ctx = await makeContext({ Dockerfile: 'FROM busybox\nARG V=1\nRUN echo $V > /v\n' });
  const a = await docker(d, ['build', '--build-arg', 'V=a', ctx]);
  assert.equal(a.code, 0, a.stderr);
  const again = await docker(d, ['build', '--build-arg', 'V=a', ctx]);
  assert.deepEqual(stepKinds(again.stdout), ['cache', 'cache']);
  const b = await docker(d, ['build', '--build-arg', 'V=b', ctx]);
  assert.deepEqual(stepKinds(b.stdout), ['cache', 'run']);
});

test('the cache survives a daemon restart; system df counts it; builder prune frees it', async () => {
  const ctx = await makeContext({ Dockerfile: 'FROM busybox\nRUN echo persisted > /p\nRUN --mount=type=cache,target=/cache echo kept > /cache/file\n' });
  const first = await docker(d, ['build', '-t', 'persist', ctx]);
  assert.equal(first.code, 0, first.stderr);
  await d.stop();
  await d.restart();
  const after = await docker(d, ['build', '-t', 'persist', ctx]);
  assert.equal(after.code, 0, after.stderr);
  assert.deepEqual(stepKinds(after.stdout), ['cache', 'cache']);

  const df = await docker(d, ['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
  const count = Number(/^Build Cache (\d+)$/m.exec(df.stdout)?.[1]);
  assert.ok(count > 2, df.stdout);
  const dfv = await docker(d, ['system', 'df', '-v']);
  assert.match(dfv.stdout, /exec\.cachemount/);
  assert.match(dfv.stdout, /regular/);

  const prune = await docker(d, ['builder', 'prune', '-f']);
  assert.equal(prune.code, 0, prune.stderr);
  assert.match(prune.stdout, /Total reclaimed space: \S+/);
  const df2 = await docker(d, ['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
  assert.match(df2.stdout, /^Build Cache 0$/m);
  const cold = await docker(d, ['build', ctx]);
  assert.deepEqual(stepKinds(cold.stdout), ['run', 'run']);
  // The tagged image kept its layers through the prune.
  const run = await docker(d, ['run', '--rm', 'persist', 'cat', '/p']);
  assert.equal(run.stdout, 'persisted\n');
});
