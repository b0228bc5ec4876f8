/**
 * Multi-stage builds and the BuildKit-only Dockerfile features berth takes
 * through the legacy API: stages, --target (unneeded stages skipped),
 * COPY --from a stage and an image, heredocs, RUN --mount=type=cache and
 * type=bind, RUN --network=none, ADD of local archives in every compression
 * and of a URL (a loopback server).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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

async function runIn(image: string, script: string): Promise<string> {
  const r = await docker(d, ['run', '--rm', image, 'sh', '-c', script]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

test('multi-stage: COPY --from a stage and an image, FROM an earlier stage, --target skips what it does not need', async () => {
  const ctx = await makeContext({
    Dockerfile: [
      'FROM busybox AS build',
      'RUN echo artifact > /artifact',
      'FROM busybox AS unused',
      'RUN echo this stage must not run && false',
      'FROM build AS mid',
      'RUN echo mid > /mid',
      'FROM busybox',
      'COPY --from=build /artifact /from-build',
      'COPY --from=mid /mid /from-mid',
      'COPY --from=busybox /etc/passwd /from-image',
      'CMD ["cat", "/from-build", "/from-mid"]',
      '',
    ].join('\n'),
  });
  const r = await docker(d, ['build', '-t', 'multi', ctx], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.doesNotMatch(r.stdout, /must not run/);
  // Output reads stage after stage, numbered over the stages built.
  assert.match(r.stdout, /^Step 1\/9 : FROM busybox AS build$/m);
  assert.match(r.stdout, /^Step 3\/9 : FROM build AS mid$/m);
  assert.match(r.stdout, /^Step 5\/9 : FROM busybox$/m);
  assert.equal((await docker(d, ['run', '--rm', 'multi'])).stdout, 'artifact\nmid\n');
  assert.match(await runIn('multi', 'cat /from-image'), /^root:x:0:0/);

  const t = await berth(d, ['build', '--target', 'mid', '-t', 'onlymid', ctx]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^Step 4\/4 : RUN echo mid > \/mid$/m);
  assert.equal(await runIn('onlymid', 'cat /artifact /mid'), 'artifact\nmid\n');
});

test('independent stages build in parallel, printed in order', async () => {
  const ctx = await makeContext({
    Dockerfile: ['FROM busybox AS a', 'RUN echo a > /a', 'FROM busybox AS b', 'RUN echo b > /b', 'FROM busybox', 'COPY --from=a /a /a', 'COPY --from=b /b /b', ''].join('\n'),
  });
  const r = await docker(d, ['build', '-t', 'par', ctx]);
  assert.equal(r.code, 0, r.stderr);
  const steps = r.stdout.split('\n').filter((l) => l.startsWith('Step '));
  assert.deepEqual(
    steps.map((l) => l.replace(/^Step (\d+)\/7 : .*$/, '$1')),
    ['1', '2', '3', '4', '5', '6', '7'],
  );
  assert.equal(await runIn('par', 'cat /a /b'), 'a\nb\n');
});

test('heredocs: RUN <<EOF as a script, a command reading a heredoc, COPY <<EOF with and without expansion', async () => {
  const ctx = await makeContext({
    Dockerfile: [
      'FROM busybox',
      'ENV NAME=world',
      'RUN <<EOF',
      'echo "script $NAME" > /script',
      'echo second line >> /script',
      'EOF',
      'RUN cat > /fed <<DATA',
      'fed $NAME',
      'DATA',
      'COPY <<EOT /expanded',
      'hello $NAME',
      'EOT',
      'COPY <<"EOT" /literal',
      'hello $NAME',
      'EOT',
      '',
    ].join('\n'),
  });
  const r = await docker(d, ['build', '-t', 'heredoc', ctx]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(await runIn('heredoc', 'cat /script /fed /expanded /literal'), 'script world\nsecond line\nfed world\nhello world\nhello $NAME\n');
});

test('RUN --mount=type=cache keeps a directory between builds; type=bind from the context and a stage; --network=none', async () => {
  const ctx = await makeContext({
    Dockerfile: [
      'FROM busybox AS tools',
      'RUN echo tool > /tool',
      'FROM busybox',
      'ARG ROUND',
      'RUN --mount=type=cache,target=/var/cache/app echo "round $ROUND" >> /var/cache/app/log && cat /var/cache/app/log > /seen',
      'RUN --mount=type=bind,source=src,target=/src cat /src/input > /bound',
      'RUN --mount=type=bind,from=tools,source=/tool,target=/t cat /t > /from-stage',
      'RUN --network=none ip -o link | cut -d: -f2 | tr -d " " > /links',
      '',
    ].join('\n'),
    'src/input': 'bound input\n',
  });
  const one = await docker(d, ['build', '--build-arg', 'ROUND=1', '-t', 'mounts', ctx]);
  assert.equal(one.code, 0, one.stderr + one.stdout);
  const two = await docker(d, ['build', '--build-arg', 'ROUND=2', '-t', 'mounts', ctx]);
  assert.equal(two.code, 0, two.stderr + two.stdout);
  assert.equal(await runIn('mounts', 'cat /seen'), 'round 1\nround 2\n');
  assert.equal(await runIn('mounts', 'cat /bound /from-stage'), 'bound input\ntool\n');
  assert.equal(await runIn('mounts', 'cat /links'), 'lo\n');
  // The cache mount's contents are not in the image.
  assert.equal(await runIn('mounts', 'ls -A /var/cache/app 2>/dev/null | wc -l'), '0\n');
});

test('ADD: local archives in every compression are unpacked; a URL is downloaded', async () => {
  const src = await makeContext({ 'pkg/hello.txt': 'from archive\n', 'pkg/sub/x': 'x\n' });
  const tarball = execFileSync('tar', ['-C', src, '-c', 'pkg']);
  const files: Record<string, Buffer | string> = {
    'a.tar': tarball,
    'a.tar.gz': execFileSync('gzip', ['-c'], { input: tarball }),
    'a.tar.bz2': execFileSync('bzip2', ['-c'], { input: tarball }),
    'a.tar.xz': execFileSync('xz', ['-c'], { input: tarball }),
    'a.tar.zst': execFileSync('zstd', ['-c', '-q'], { input: tarball }),
    'plain.gz': execFileSync('gzip', ['-c'], { input: Buffer.from('not a tar\n') }),
  };
  const server = http.createServer((req, res) => {
    if (req.url === '/files/remote.txt') {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
      res.end('downloaded\n');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    const ctx = await makeContext({
      ...files,
      Dockerfile: [
        'FROM busybox',
        ...['tar', 'tar.gz', 'tar.bz2', 'tar.xz', 'tar.zst'].map((ext) => `ADD a.${ext} /out/${ext.replace('.', '-')}/`),
        'ADD plain.gz /plain/',
        `ADD http://127.0.0.1:${port}/files/remote.txt /remote/`,
        '',
      ].join('\n'),
    });
    const r = await docker(d, ['build', '-t', 'adds', ctx]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = await runIn('adds', 'for e in tar tar-gz tar-bz2 tar-xz tar-zst; do cat /out/$e/pkg/hello.txt; done; ls /plain; cat /remote/remote.txt; stat -c "%a %Y" /remote/remote.txt');
    assert.equal(out, 'from archive\n'.repeat(5) + 'plain.gz\ndownloaded\n600 1445412480\n');
    const missing = await makeContext({ Dockerfile: `FROM busybox\nADD http://127.0.0.1:${port}/nope /x\n` });
    const m = await docker(d, ['build', missing]);
    assert.equal(m.code, 1);
    assert.match(m.stderr, /failed to GET http:\/\/127\.0\.0\.1:\d+\/nope with status 404/);
  } finally {
    server.close();
  }
  assert.ok(path.isAbsolute(src));
});
