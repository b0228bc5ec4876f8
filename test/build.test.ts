/**
 * docker build / berth build end to end: every instruction through the
 * docker CLI v28 (legacy path with DOCKER_BUILDKIT=0 and by default, as
 * berthd advertises Builder-Version 1) and the berth CLI; the images are
 * then run and inspected. No build leaves a container behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { berth, docker, startDaemonWithBusybox, type TestDaemon } from './helpers/daemon.js';
import { makeContext, stepLines } from './helpers/build.js';

let d: TestDaemon;

before(async () => {
  d = await startDaemonWithBusybox();
});

after(async () => {
  await d?.cleanup();
});

const legacy = { env: { DOCKER_BUILDKIT: '0' } };

interface InspectedImage {
  Id: string;
  Author: string;
  RootFS: { Layers: string[] };
  Config: {
    Cmd: string[] | null;
    Entrypoint: string[] | null;
    WorkingDir: string;
    Env: string[];
    Labels: Record<string, string> | null;
    ExposedPorts?: Record<string, object>;
    Volumes: Record<string, object> | null;
    User: string;
    StopSignal?: string;
    Healthcheck?: unknown;
    Shell?: string[];
    OnBuild: string[] | null;
  };
}

async function inspect(ref: string): Promise<InspectedImage> {
  const r = await docker(d, ['image', 'inspect', ref]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as InspectedImage[])[0]!;
}

async function noContainers(): Promise<void> {
  const ps = await docker(d, ['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Image}} {{.Command}} {{.Status}} {{.Names}}']);
  assert.equal(ps.stdout.trim(), '', 'a build left a container');
}

test('ping advertises the legacy builder', async () => {
  const r = await docker(d, ['version', '--format', '{{.Server.Version}}']);
  assert.equal(r.code, 0, r.stderr);
  // The CLI without DOCKER_BUILDKIT builds through POST /build: the stream below is the proof.
  const ctx = await makeContext({ Dockerfile: 'FROM busybox\nCMD ["true"]\n' });
  const b = await docker(d, ['build', '-t', 'pinged', ctx]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /Step 1\/2 : FROM busybox/);
});

test('RUN, ENV, COPY, WORKDIR, CMD: the legacy stream, the image runs, history reads like dockerd', async () => {
  const ctx = await makeContext({
    Dockerfile: 'FROM busybox\nENV GREETING=hello\nRUN echo "$GREETING world" > /greeting && echo ran\nCOPY f.txt /data/\nWORKDIR /data\nCMD ["cat", "/greeting", "f.txt"]\n',
    'f.txt': 'file content\n',
  });
  const r = await docker(d, ['build', '-t', 'basic:1', ctx], legacy);
  assert.equal(r.code, 0, r.stderr);
  const steps = stepLines(r.stdout);
  assert.equal(steps[0], 'Step 1/6 : FROM busybox');
  assert.match(steps[1]!, /^ ---> [0-9a-f]{12}$/);
  assert.equal(steps[2], 'Step 2/6 : ENV GREETING=hello');
  assert.match(r.stdout, /Step 3\/6 : RUN echo "\$GREETING world" > \/greeting && echo ran\n ---> Running in [0-9a-f]{12}\nran\n ---> Removed intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}\n/);
  // COPY runs no container in dockerd: no "Running in".
  assert.match(r.stdout, /Step 4\/6 : COPY f.txt \/data\/\n ---> [0-9a-f]{12}\n/);
  const built = /Successfully built ([0-9a-f]{12})\n/.exec(r.stdout);
  assert.ok(built, r.stdout);
  assert.match(r.stdout, /Successfully tagged basic:1\n/);
  const img = await inspect('basic:1');
  assert.ok(img.Id.startsWith(`sha256:${built[1]}`));
  assert.deepEqual(img.Config.Cmd, ['cat', '/greeting', 'f.txt']);
  assert.equal(img.Config.WorkingDir, '/data');
  assert.ok((img.Config.Env as string[]).includes('GREETING=hello'));
  const run = await docker(d, ['run', '--rm', 'basic:1']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'hello world\nfile content\n');
  const hist = await docker(d, ['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Size}}', 'basic:1']);
  const rows = hist.stdout.trim().split('\n');
  assert.equal(rows[0], '/bin/sh -c #(nop)  CMD ["cat" "/greeting" "f.txt"]|0B');
  assert.match(rows[2]!, /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/data\/ \|13B$/);
  assert.equal(rows[3], '/bin/sh -c echo "$GREETING world" > /greeting && echo ran|12B');
  assert.equal(rows[4], '/bin/sh -c #(nop)  ENV GREETING=hello|0B');
  // Metadata steps are empty layers: one layer more than busybox (RUN, COPY; WORKDIR /data existed).
  const base = await inspect('busybox');
  assert.equal(img.RootFS.Layers.length, base.RootFS.Layers.length + 2);
  await noContainers();
});

test('metadata instructions: ARG/--build-arg, LABEL, EXPOSE, VOLUME, USER, ENTRYPOINT, STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD, MAINTAINER', async () => {
  const ctx = await makeContext({
    Dockerfile: [
      'ARG BASE=busybox',
      'FROM ${BASE}',
      'MAINTAINER someone@example.com',
      'ARG V=default',
      'ARG UNSET',
      'ENV FROM_ARG=${V} ALT=${UNSET:-fallback} PLUS=${V:+set}',
      'LABEL com.example.a="x y" b=2',
      'EXPOSE 80 53/udp',
      'VOLUME ["/vol"]',
      'STOPSIGNAL SIGINT',
      'HEALTHCHECK --interval=5s --retries=2 CMD true',
      'SHELL ["/bin/sh", "-ec"]',
      'RUN echo "arg=$V" > /arg',
      'USER nobody',
      'ONBUILD RUN echo triggered > /tmp/trig',
      'ENTRYPOINT ["/bin/echo"]',
      '',
    ].join('\n'),
  });
  const r = await docker(d, ['build', '--build-arg', 'V=given', '--build-arg', 'NOPE=1', '-t', 'meta:1', ctx], legacy);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\[Warning\] One or more build-args \[NOPE\] were not consumed/);
  const img = await inspect('meta:1');
  const c = img.Config;
  assert.equal(img.Author, 'someone@example.com');
  for (const e of ['FROM_ARG=given', 'ALT=fallback', 'PLUS=set']) assert.ok(c.Env.includes(e), `${e} in ${c.Env}`);
  assert.deepEqual(c.Labels, { 'com.example.a': 'x y', b: '2' });
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.deepEqual(c.Volumes, { '/vol': {} });
  assert.equal(c.User, 'nobody');
  assert.equal(c.StopSignal, 'SIGINT');
  assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Retries: 2 });
  assert.deepEqual(c.Shell, ['/bin/sh', '-ec']);
  assert.deepEqual(c.OnBuild, ['RUN echo triggered > /tmp/trig']);
  assert.deepEqual(c.Entrypoint, ['/bin/echo']);
  assert.equal(c.Cmd, null);
  const run = await docker(d, ['run', '--rm', '--entrypoint', 'cat', 'meta:1', '/arg']);
  assert.equal(run.stdout, 'arg=given\n');
  // The RUN's history records the build arg it saw, as dockerd does.
  const hist = await docker(d, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'meta:1']);
  assert.match(hist.stdout, /^\|1 V=given \/bin\/sh -ec echo "arg=\$V" > \/arg$/m);

  // ONBUILD fires in a child build and is not passed on.
  const child = await makeContext({ Dockerfile: 'FROM meta:1\nUSER root\n' });
  const rc = await docker(d, ['build', '-t', 'meta-child', child]);
  assert.equal(rc.code, 0, rc.stderr);
  assert.match(rc.stdout, /# Executing 1 build trigger\n/);
  const trig = await docker(d, ['run', '--rm', '--entrypoint', 'cat', 'meta-child', '/tmp/trig']);
  assert.equal(trig.stdout, 'triggered\n');
  assert.equal((await inspect('meta-child')).Config.OnBuild, null);
  await noContainers();
});

test('COPY rules: wildcards, directories, trailing slash, --chown, --chmod, symlinks, .dockerignore', async () => {
  const ctx = await makeContext({
    Dockerfile: [
      'FROM busybox',
      'COPY *.txt /multi/',
      'COPY dir /copied',
      'COPY dir /into-dir/',
      'COPY one.txt /renamed',
      'COPY --chown=nobody:nogroup --chmod=640 one.txt /owned/',
      'COPY link /links/',
      'COPY . /all/',
      'COPY --chown=nobody dir /suid/',
      'RUN ls /multi /copied /into-dir && cat /renamed && stat -c "%U:%G %a" /owned/one.txt /copied/sub/deep && cat /links/link; ls /all',
      // Set-user-ID survives the copy, with a new owner too (chown clears it; the mode is set again after).
      'RUN stat -c "suid %U %a" /copied/sub/tool /suid/sub/tool',
      '',
    ].join('\n'),
    'one.txt': '1\n',
    'two.txt': '2\n',
    'dir/a': 'a\n',
    'dir/sub/deep': { content: 'deep\n', mode: 0o600 },
    'dir/sub/tool': { content: '#!/bin/sh\n', mode: 0o4755 },
    link: { link: 'one.txt' },
    'ignored.log': 'no\n',
    'keep.me': 'yes\n',
    '.dockerignore': '*.log\n',
  });
  const r = await docker(d, ['build', '-t', 'copies', ctx], legacy);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /\/copied:\na\nsub\n/);
  assert.match(r.stdout, /\/into-dir:\na\nsub\n/);
  assert.match(r.stdout, /\/multi:\none.txt\ntwo.txt\n/);
  assert.match(r.stdout, /1\nnobody:nogroup 640\nroot:root 600\n1\n/);
  assert.match(r.stdout, /suid root 4755\nsuid nobody 4755\n/);
  assert.match(r.stdout, /\nkeep.me\n/);
  assert.doesNotMatch(r.stdout, /ignored.log/);
  await noContainers();
});

test('berth build: same steps, -q, --iidfile, several -t, --label, -f elsewhere, - as tarball and as Dockerfile', async (t) => {
  const ctx = await makeContext({ Dockerfile: 'FROM busybox\nRUN echo built-by-berth\nCMD ["echo", "hi"]\n' });
  const r = await berth(d, ['build', '-t', 'bb:1', '-t', 'bb:2', '--label', 'k=v', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Step 1\/4 : FROM busybox\n ---> [0-9a-f]{12}\nStep 2\/4 : RUN echo built-by-berth\n ---> Running in [0-9a-f]{12}\nbuilt-by-berth\n/);
  assert.match(r.stdout, /Step 4\/4 : LABEL "k"="v"/);
  assert.match(r.stdout, /Successfully tagged bb:1\nSuccessfully tagged bb:2\n/);
  assert.deepEqual((await inspect('bb:2')).Config.Labels, { k: 'v' });

  const iidDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bt-iid-'));
  t.after(() => fsp.rm(iidDir, { recursive: true, force: true }));
  const iid = path.join(iidDir, 'iid');
  const q = await berth(d, ['build', '-q', '--iidfile', iid, ctx]);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(await fsp.readFile(iid, 'utf8'), q.stdout.trim());
  const dq = await docker(d, ['build', '-q', ctx]);
  assert.equal(dq.stdout.trim(), q.stdout.trim(), 'the docker CLI and berth agree on the (cached) image');

  // -f outside the context, and -f - (Dockerfile on stdin).
  const other = await makeContext({ 'elsewhere.Dockerfile': 'FROM busybox\nCOPY data /data\n' });
  const data = await makeContext({ data: 'from context\n' });
  const f = await berth(d, ['build', '-t', 'fromfile', '-f', path.join(other, 'elsewhere.Dockerfile'), data]);
  assert.equal(f.code, 0, f.stderr);
  for (const cli of [berth, docker]) {
    const s = await cli(d, ['build', '-t', 'fromstdin', '-f', '-', data], { input: 'FROM busybox\nCOPY data /stdin-data\n' });
    assert.equal(s.code, 0, s.stderr);
    assert.equal((await docker(d, ['run', '--rm', 'fromstdin', 'cat', '/stdin-data'])).stdout, 'from context\n');
  }
  // `-`: only a Dockerfile on stdin, then a whole tarball on stdin.
  const only = await berth(d, ['build', '-t', 'onlydf', '-'], { input: 'FROM busybox\nRUN echo only\n' });
  assert.equal(only.code, 0, only.stderr);
  const { execFileSync } = await import('node:child_process');
  const tarball = execFileSync('tar', ['-C', data, '-c', '.']);
  const withDf = Buffer.concat([tarball]);
  const tctx = await makeContext({ Dockerfile: 'FROM busybox\nCOPY data /t\n', data: 'tarred\n' });
  const tb = execFileSync('tar', ['-C', tctx, '-cz', '.']);
  for (const cli of [berth, docker]) {
    const t = await cli(d, ['build', '-t', 'fromtar', '-'], { input: tb });
    assert.equal(t.code, 0, t.stderr);
    assert.equal((await docker(d, ['run', '--rm', 'fromtar', 'cat', '/t'])).stdout, 'tarred\n');
  }
  assert.ok(withDf.length > 0);
  await noContainers();
});
